//! Who is calling: configured ingest and support tokens, or a user's HS256 JWT.
//! Pure: the HTTP layer hands in the bearer token and the current time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::AuthConfig;
use crate::domain::UserId;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The exchange's back office: registers and updates withdrawals.
    Ingest,
    /// Support staff: read everything, list across users.
    Support,
    /// An end user, through the exchange's app: only their own withdrawals.
    User(UserId),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("unknown token")]
    UnknownToken,
    #[error("malformed JWT")]
    Malformed,
    #[error("JWT algorithm must be HS256")]
    WrongAlgorithm,
    #[error("JWT signature does not verify")]
    BadSignature,
    #[error("JWT has expired")]
    Expired,
    #[error("JWT is not valid yet")]
    NotYetValid,
    #[error("JWT claim `{0}` is missing or invalid")]
    BadClaim(&'static str),
}

pub struct Authenticator {
    ingest_digests: Vec<[u8; 32]>,
    support_digests: Vec<[u8; 32]>,
    jwt_secret: Vec<u8>,
    leeway_seconds: i64,
}

/// Tokens are compared as SHA-256 digests so every comparison has the same
/// length and runs in constant time.
fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn matches_any(candidate: &[u8; 32], known: &[[u8; 32]]) -> bool {
    // Fold over every token instead of stopping early: timing reveals nothing.
    known.iter().fold(subtle::Choice::from(0), |found, k| found | k.ct_eq(candidate)).into()
}

impl Authenticator {
    pub fn new(config: &AuthConfig) -> Self {
        Authenticator {
            ingest_digests: config.ingest_tokens.iter().map(|t| digest(t.expose())).collect(),
            support_digests: config.support_tokens.iter().map(|t| digest(t.expose())).collect(),
            jwt_secret: config.user_jwt_secret.expose().as_bytes().to_vec(),
            leeway_seconds: config.jwt_leeway.0.as_secs() as i64,
        }
    }

    /// `authorization` is the raw `Authorization` header value, if any.
    pub fn authenticate(&self, authorization: Option<&str>, now_unix: i64) -> Result<Caller, AuthError> {
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Missing)?;
        let token_digest = digest(token);
        if matches_any(&token_digest, &self.ingest_digests) {
            return Ok(Caller::Ingest);
        }
        if matches_any(&token_digest, &self.support_digests) {
            return Ok(Caller::Support);
        }
        if token.matches('.').count() == 2 {
            return self.verify_user_jwt(token, now_unix).map(Caller::User);
        }
        Err(AuthError::UnknownToken)
    }

    fn verify_user_jwt(&self, token: &str, now_unix: i64) -> Result<UserId, AuthError> {
        let mut parts = token.split('.');
        let (header, payload, signature) = match (parts.next(), parts.next(), parts.next()) {
            (Some(h), Some(p), Some(s)) => (h, p, s),
            _ => return Err(AuthError::Malformed),
        };
        let header: Value = decode_json(header)?;
        if header.get("alg").and_then(Value::as_str) != Some("HS256") {
            return Err(AuthError::WrongAlgorithm);
        }
        if header.get("crit").is_some() {
            return Err(AuthError::Malformed);
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| AuthError::Malformed)?;
        let mut mac = HmacSha256::new_from_slice(&self.jwt_secret).expect("HMAC takes any key length");
        mac.update(&token.as_bytes()[..header_and_payload_len(token)]);
        mac.verify_slice(&signature).map_err(|_| AuthError::BadSignature)?;

        let claims: Value = decode_json(payload)?;
        let exp = numeric_date(&claims, "exp")?.ok_or(AuthError::BadClaim("exp"))?;
        if now_unix > exp + self.leeway_seconds {
            return Err(AuthError::Expired);
        }
        if let Some(nbf) = numeric_date(&claims, "nbf")? {
            if now_unix + self.leeway_seconds < nbf {
                return Err(AuthError::NotYetValid);
            }
        }
        let sub = claims.get("sub").and_then(Value::as_str).ok_or(AuthError::BadClaim("sub"))?;
        UserId::parse(sub).map_err(|_| AuthError::BadClaim("sub"))
    }
}

fn header_and_payload_len(token: &str) -> usize {
    token.rfind('.').expect("checked: two dots")
}

fn decode_json(part: &str) -> Result<Value, AuthError> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| AuthError::Malformed)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| AuthError::Malformed)?;
    value.is_object().then_some(value).ok_or(AuthError::Malformed)
}

fn numeric_date(claims: &Value, name: &'static str) -> Result<Option<i64>, AuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            .or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or(AuthError::BadClaim(name)),
    }
}

/// Signs a user token the way the exchange's app backend would; used by the
/// `mint-user-token` command and by tests.
pub fn mint_user_jwt(secret: &str, user_id: &str, expires_at_unix: i64) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = serde_json::json!({ "sub": user_id, "exp": expires_at_unix });
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{payload}");
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{HumanDuration, Secret};
    use proptest::prelude::*;
    use std::time::Duration;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    const NOW: i64 = 1_780_000_000;

    fn authenticator() -> Authenticator {
        Authenticator::new(&AuthConfig {
            ingest_tokens: vec![Secret::from("ingest-token-0123456789")],
            support_tokens: vec![Secret::from("support-token-0123456789")],
            user_jwt_secret: Secret::from(SECRET),
            jwt_leeway: HumanDuration(Duration::from_secs(30)),
        })
    }

    fn auth(header: &str) -> Result<Caller, AuthError> {
        authenticator().authenticate(Some(header), NOW)
    }

    fn forge(header_json: &str, claims_json: &str, secret: &str) -> String {
        let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header_json), URL_SAFE_NO_PAD.encode(claims_json));
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn configured_tokens_map_to_roles() {
        assert_eq!(auth("Bearer ingest-token-0123456789"), Ok(Caller::Ingest));
        assert_eq!(auth("Bearer support-token-0123456789"), Ok(Caller::Support));
        assert_eq!(auth("Bearer support-token-012345678"), Err(AuthError::UnknownToken));
        assert_eq!(auth("Basic support-token-0123456789"), Err(AuthError::Missing));
        assert_eq!(authenticator().authenticate(None, NOW), Err(AuthError::Missing));
    }

    #[test]
    fn a_valid_user_jwt_names_the_user() {
        let token = mint_user_jwt(SECRET, "user-7", NOW + 60);
        assert_eq!(auth(&format!("Bearer {token}")), Ok(Caller::User(UserId::parse("user-7").unwrap())));
    }

    #[test]
    fn expiry_is_required_and_enforced_with_leeway() {
        assert!(auth(&format!("Bearer {}", mint_user_jwt(SECRET, "u", NOW - 29))).is_ok());
        assert_eq!(auth(&format!("Bearer {}", mint_user_jwt(SECRET, "u", NOW - 31))), Err(AuthError::Expired));
        let no_exp = forge(r#"{"alg":"HS256"}"#, r#"{"sub":"u"}"#, SECRET);
        assert_eq!(auth(&format!("Bearer {no_exp}")), Err(AuthError::BadClaim("exp")));
        let future =
            forge(r#"{"alg":"HS256"}"#, &format!(r#"{{"sub":"u","exp":{},"nbf":{}}}"#, NOW + 999, NOW + 100), SECRET);
        assert_eq!(auth(&format!("Bearer {future}")), Err(AuthError::NotYetValid));
    }

    #[test]
    fn other_algorithms_and_keys_are_refused() {
        let claims = format!(r#"{{"sub":"u","exp":{}}}"#, NOW + 60);
        let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#), URL_SAFE_NO_PAD.encode(&claims));
        assert_eq!(auth(&format!("Bearer {none}")), Err(AuthError::WrongAlgorithm));
        let hs512 = forge(r#"{"alg":"HS512"}"#, &claims, SECRET);
        assert_eq!(auth(&format!("Bearer {hs512}")), Err(AuthError::WrongAlgorithm));
        let wrong_key = forge(r#"{"alg":"HS256"}"#, &claims, "another-secret-another-secret-xx");
        assert_eq!(auth(&format!("Bearer {wrong_key}")), Err(AuthError::BadSignature));
        let bad_sub = forge(r#"{"alg":"HS256"}"#, &format!(r#"{{"sub":"a/b","exp":{}}}"#, NOW + 60), SECRET);
        assert_eq!(auth(&format!("Bearer {bad_sub}")), Err(AuthError::BadClaim("sub")));
    }

    #[test]
    fn a_tampered_payload_fails_the_signature() {
        let token = mint_user_jwt(SECRET, "alice", NOW + 60);
        let parts: Vec<&str> = token.split('.').collect();
        let evil = URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"bob","exp":{}}}"#, NOW + 60));
        let tampered = format!("{}.{}.{}", parts[0], evil, parts[2]);
        assert_eq!(auth(&format!("Bearer {tampered}")), Err(AuthError::BadSignature));
    }

    proptest! {
        #[test]
        fn arbitrary_tokens_never_panic_or_pass(token in "[A-Za-z0-9._-]{0,200}") {
            let result = authenticator().authenticate(Some(&format!("Bearer {token}")), NOW);
            prop_assert!(result.is_err());
        }
    }
}
