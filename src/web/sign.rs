//! Signed values the web pages hand out: the console's session cookie, its
//! CSRF tokens, and the user status links. Pure: the caller passes the key
//! and the time. Each kind of value is signed under its own label, so one
//! can never stand in for another.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::WithdrawalId;

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8], label: &str, payload: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(label.as_bytes());
    mac.update(b"\0");
    mac.update(payload);
    mac.finalize().into_bytes().into()
}

fn verify(key: &[u8], label: &str, payload: &[u8], signature: &[u8]) -> bool {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(label.as_bytes());
    mac.update(b"\0");
    mac.update(payload);
    mac.verify_slice(signature).is_ok()
}

/// `payload.signature`, both base64url without padding.
fn seal(key: &[u8], label: &str, payload: &str) -> String {
    let signature = mac(key, label, payload.as_bytes());
    format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(signature))
}

fn open(key: &[u8], label: &str, sealed: &str) -> Option<String> {
    let (payload, signature) = sealed.split_once('.')?;
    let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    verify(key, label, &payload, &signature).then_some(())?;
    String::from_utf8(payload).ok()
}

/// Who signed in to the console: with a support token, or named by the SSO
/// proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    SupportToken,
    Sso(String),
}

impl Identity {
    pub fn label(&self) -> &str {
        match self {
            Identity::SupportToken => "support token",
            Identity::Sso(name) => name,
        }
    }
}

/// A console session: who, until when, and a random id the CSRF token is
/// bound to (a new sign-in gets a new one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub identity: Identity,
    pub expires_at: DateTime<Utc>,
    pub id: String,
}

const SESSION_LABEL: &str = "console-session-v1";
const CSRF_LABEL: &str = "console-csrf-v1";
const LOGIN_LABEL: &str = "console-login-v1";
const LINK_LABEL: &str = "status-link-v1";

impl Session {
    pub fn new(identity: Identity, expires_at: DateTime<Utc>) -> Session {
        Session { identity, expires_at, id: random_id() }
    }

    /// The cookie value. Holds no token: only who, until when, and the id.
    pub fn to_cookie(&self, key: &[u8]) -> String {
        let who = match &self.identity {
            Identity::SupportToken => "t:".to_owned(),
            Identity::Sso(name) => format!("s:{name}"),
        };
        seal(key, SESSION_LABEL, &format!("{}|{}|{}", self.expires_at.timestamp(), self.id, who))
    }

    /// A cookie this key signed and that has not expired at `now`.
    pub fn from_cookie(key: &[u8], cookie: &str, now: DateTime<Utc>) -> Option<Session> {
        let payload = open(key, SESSION_LABEL, cookie)?;
        let mut parts = payload.splitn(3, '|');
        let expires: i64 = parts.next()?.parse().ok()?;
        let id = parts.next()?.to_owned();
        let identity = match parts.next()? {
            "t:" => Identity::SupportToken,
            who => Identity::Sso(who.strip_prefix("s:")?.to_owned()),
        };
        let expires_at = DateTime::from_timestamp(expires, 0)?;
        (now < expires_at).then_some(Session { identity, expires_at, id })
    }

    /// The token every state-changing form of this session carries.
    pub fn csrf_token(&self, key: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(&mac(key, CSRF_LABEL, self.id.as_bytes())[..24])
    }

    pub fn csrf_matches(&self, key: &[u8], token: Option<&str>) -> bool {
        let Some(token) = token else { return false };
        let Ok(raw) = URL_SAFE_NO_PAD.decode(token) else { return false };
        raw.len() == 24 && {
            use subtle::ConstantTimeEq;
            bool::from(raw.ct_eq(&mac(key, CSRF_LABEL, self.id.as_bytes())[..24]))
        }
    }
}

/// The sign-in form's CSRF token, bound to a random nonce in a short-lived
/// cookie (there is no session yet to bind it to).
pub fn login_csrf(key: &[u8], nonce: &str) -> String {
    URL_SAFE_NO_PAD.encode(&mac(key, LOGIN_LABEL, nonce.as_bytes())[..24])
}

pub fn login_csrf_matches(key: &[u8], nonce: Option<&str>, token: Option<&str>) -> bool {
    match (nonce, token) {
        (Some(nonce), Some(token)) if !nonce.is_empty() => {
            use subtle::ConstantTimeEq;
            bool::from(login_csrf(key, nonce).as_bytes().ct_eq(token.as_bytes()))
        }
        _ => false,
    }
}

/// 128 random bits, base64url.
pub fn random_id() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

/// What a status link names: one withdrawal, until when, and optionally the
/// user's time zone. Nothing else (no user id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLink {
    pub withdrawal_id: WithdrawalId,
    pub expires_at: DateTime<Utc>,
    pub time_zone: Option<chrono_tz::Tz>,
}

impl StatusLink {
    /// The `{link}` path segment: base64url payload, a dot, the signature.
    pub fn mint(&self, key: &[u8]) -> String {
        let zone = self.time_zone.map(|z| z.name()).unwrap_or("");
        seal(key, LINK_LABEL, &format!("{}|{}|{}", self.withdrawal_id, self.expires_at.timestamp(), zone))
    }

    /// A link this key signed, not expired at `now`; anything else is `None`
    /// (the page answers the same 404 for tampered, expired and unknown).
    pub fn verify(key: &[u8], link: &str, now: DateTime<Utc>) -> Option<StatusLink> {
        let payload = open(key, LINK_LABEL, link)?;
        let mut parts = payload.split('|');
        let withdrawal_id = WithdrawalId::parse(parts.next()?).ok()?;
        let expires_at = DateTime::from_timestamp(parts.next()?.parse().ok()?, 0)?;
        let time_zone = match parts.next()? {
            "" => None,
            name => Some(name.parse().ok()?),
        };
        if parts.next().is_some() || now >= expires_at {
            return None;
        }
        Some(StatusLink { withdrawal_id, expires_at, time_zone })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"test-key-0123456789abcdef0123456789";

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_session_round_trips_until_it_expires() {
        for identity in [Identity::SupportToken, Identity::Sso("ann@example.com".into())] {
            let session = Session::new(identity, at("2026-03-02T18:00:00Z"));
            let cookie = session.to_cookie(KEY);
            assert_eq!(Session::from_cookie(KEY, &cookie, at("2026-03-02T17:59:59Z")), Some(session.clone()));
            assert_eq!(Session::from_cookie(KEY, &cookie, at("2026-03-02T18:00:00Z")), None, "expired");
            assert_eq!(
                Session::from_cookie(b"another-key-0123456789abcdef012345", &cookie, at("2026-03-02T10:00:00Z")),
                None
            );
        }
    }

    #[test]
    fn a_tampered_session_is_refused() {
        let session = Session::new(Identity::SupportToken, at("2026-03-02T18:00:00Z"));
        let cookie = session.to_cookie(KEY);
        let (payload, signature) = cookie.split_once('.').unwrap();
        let longer = URL_SAFE_NO_PAD.encode(format!("{}|{}|t:", at("2030-01-01T00:00:00Z").timestamp(), session.id));
        for forged in [
            format!("{longer}.{signature}"),
            format!("{payload}.{}", "A".repeat(43)),
            payload.to_owned(),
            String::new(),
        ] {
            assert_eq!(Session::from_cookie(KEY, &forged, at("2026-03-02T10:00:00Z")), None, "{forged}");
        }
    }

    #[test]
    fn csrf_tokens_are_per_session() {
        let one = Session::new(Identity::SupportToken, at("2026-03-02T18:00:00Z"));
        let two = Session::new(Identity::SupportToken, at("2026-03-02T18:00:00Z"));
        let token = one.csrf_token(KEY);
        assert!(one.csrf_matches(KEY, Some(&token)));
        assert!(!two.csrf_matches(KEY, Some(&token)), "another session's token");
        assert!(!one.csrf_matches(KEY, None));
        assert!(!one.csrf_matches(KEY, Some("")));
        assert!(!one.csrf_matches(KEY, Some(&one.csrf_token(b"another-key-0123456789abcdef012345"))));
    }

    #[test]
    fn login_csrf_is_bound_to_its_nonce() {
        let token = login_csrf(KEY, "nonce-1");
        assert!(login_csrf_matches(KEY, Some("nonce-1"), Some(&token)));
        assert!(!login_csrf_matches(KEY, Some("nonce-2"), Some(&token)));
        assert!(!login_csrf_matches(KEY, None, Some(&token)));
        assert!(!login_csrf_matches(KEY, Some(""), Some(&login_csrf(KEY, ""))));
        assert!(!login_csrf_matches(KEY, Some("nonce-1"), None));
    }

    #[test]
    fn status_links_verify_until_they_expire_and_not_when_changed() {
        let link = StatusLink {
            withdrawal_id: WithdrawalId::parse("w-1").unwrap(),
            expires_at: at("2026-03-09T10:00:00Z"),
            time_zone: Some(chrono_tz::Europe::Berlin),
        };
        let text = link.mint(KEY);
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)), "URL-safe: {text}");
        assert_eq!(StatusLink::verify(KEY, &text, at("2026-03-09T09:59:59Z")), Some(link.clone()));
        assert_eq!(StatusLink::verify(KEY, &text, at("2026-03-09T10:00:00Z")), None, "expired");
        assert_eq!(StatusLink::verify(b"another-key-0123456789abcdef012345", &text, at("2026-03-02T10:00:00Z")), None);
        let (_, signature) = text.split_once('.').unwrap();
        let other = URL_SAFE_NO_PAD.encode(format!("w-2|{}|", at("2026-03-09T10:00:00Z").timestamp()));
        assert_eq!(StatusLink::verify(KEY, &format!("{other}.{signature}"), at("2026-03-02T10:00:00Z")), None);
        let no_zone = StatusLink { time_zone: None, ..link };
        assert_eq!(StatusLink::verify(KEY, &no_zone.mint(KEY), at("2026-03-02T10:00:00Z")), Some(no_zone));
    }

    #[test]
    fn a_session_cookie_is_not_a_status_link() {
        let session = Session::new(Identity::Sso("w-1".into()), at("2026-03-09T10:00:00Z"));
        assert_eq!(StatusLink::verify(KEY, &session.to_cookie(KEY), at("2026-03-02T10:00:00Z")), None);
    }
}
