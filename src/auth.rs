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
        self.authenticate_with_digest(authorization, now_unix).map(|(caller, _)| caller)
    }

    /// [`Authenticator::authenticate`], with the SHA-256 digest of the token
    /// it checked (what the rate limiter keys the token's budget by, so the
    /// token is not hashed twice).
    pub fn authenticate_with_digest(
        &self,
        authorization: Option<&str>,
        now_unix: i64,
    ) -> Result<(Caller, [u8; 32]), AuthError> {
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Missing)?;
        let token_digest = digest(token);
        if matches_any(&token_digest, &self.ingest_digests) {
            return Ok((Caller::Ingest, token_digest));
        }
        if matches_any(&token_digest, &self.support_digests) {
            return Ok((Caller::Support, token_digest));
        }
        if token.matches('.').count() == 2 {
            return self.verify_user_jwt(token, now_unix).map(|user| (Caller::User(user), token_digest));
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
        // Saturating: a signed `exp` near i64::MAX (or 1e300, read as i64::MAX) must
        // not overflow.
        if now_unix > exp.saturating_add(self.leeway_seconds) {
            return Err(AuthError::Expired);
        }
        if let Some(nbf) = numeric_date(&claims, "nbf")? {
            if now_unix.saturating_add(self.leeway_seconds) < nbf {
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

    /// Three base64url segments whose header and claims decode to JSON of any shape.
    fn jwt_like() -> impl Strategy<Value = String> {
        let json = prop_oneof![
            Just(r#"{"alg":"HS256"}"#.to_owned()),
            Just(r#"{"alg":"none"}"#.to_owned()),
            Just(r#"{"alg":"HS256","crit":["exp"]}"#.to_owned()),
            Just(r#"{"sub":"u","exp":1e400}"#.to_owned()),
            Just(r#"{"sub":"u","exp":-9223372036854775808,"nbf":9223372036854775807}"#.to_owned()),
            Just("[]".to_owned()),
            ".{0,40}",
        ];
        (json.clone(), json, proptest::collection::vec(any::<u8>(), 0..40)).prop_map(|(h, c, sig)| {
            format!("{}.{}.{}", URL_SAFE_NO_PAD.encode(h), URL_SAFE_NO_PAD.encode(c), URL_SAFE_NO_PAD.encode(sig))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_single_character_change_to_a_valid_token_fails(index in any::<proptest::sample::Index>(), replacement in 0x21u8..0x7f) {
            let token = mint_user_jwt(SECRET, "alice", NOW + 3600);
            let header = format!("Bearer {token}");
            prop_assert_eq!(auth(&header), Ok(Caller::User(UserId::parse("alice").unwrap())));
            let mut bytes = token.into_bytes();
            let at = index.index(bytes.len());
            prop_assume!(bytes[at] != replacement);
            bytes[at] = replacement;
            let tampered = String::from_utf8(bytes).unwrap();
            let header = format!("Bearer {tampered}");
            let result = auth(&header);
            prop_assert!(result.is_err(), "{} passed as {:?}", tampered, result);
        }

        #[test]
        fn truncated_or_extended_tokens_fail(cut in 1usize..40, extra in "[A-Za-z0-9_-]{1,4}") {
            let token = mint_user_jwt(SECRET, "alice", NOW + 3600);
            let truncated = format!("Bearer {}", &token[..token.len() - cut.min(token.len() - 1)]);
            let extended = format!("Bearer {token}{extra}");
            prop_assert!(auth(&truncated).is_err());
            prop_assert!(auth(&extended).is_err());
        }

        #[test]
        fn arbitrary_headers_never_panic(header in ".{0,300}") {
            let _ = authenticator().authenticate(Some(&header), NOW);
        }

        #[test]
        fn structured_garbage_never_panics_or_passes(token in jwt_like(), now in any::<i64>()) {
            let header = format!("Bearer {token}");
            prop_assert!(authenticator().authenticate(Some(&header), now).is_err());
        }

        /// Signed tokens with any `exp` and `nbf` (integers of any size, floats)
        /// agree with the rule computed in wide integers, and never overflow.
        #[test]
        fn signed_claims_of_any_size_follow_the_reference(
            exp in prop_oneof![any::<i64>(), Just(i64::MAX), Just(i64::MIN), NOW - 100..NOW + 100],
            nbf in proptest::option::of(prop_oneof![any::<i64>(), Just(i64::MAX), NOW - 100..NOW + 100]),
            as_float in any::<bool>(),
        ) {
            let number = |n: i64| if as_float { format!("{:e}", n as f64) } else { n.to_string() };
            let nbf_claim = nbf.map_or(String::new(), |n| format!(r#","nbf":{}"#, number(n)));
            let claims = format!(r#"{{"sub":"bob","exp":{}{nbf_claim}}}"#, number(exp));
            let token = forge(r#"{"alg":"HS256"}"#, &claims, SECRET);
            // Floats are read back the way serde_json and `as` read them.
            let read = |n: i64| if as_float { (n as f64) as i64 } else { n };
            let (exp, nbf) = (read(exp) as i128, nbf.map(|n| read(n) as i128));
            let now = NOW as i128;
            let expected = if now > exp + 30 {
                Err(AuthError::Expired)
            } else if nbf.is_some_and(|nbf| now + 30 < nbf) {
                Err(AuthError::NotYetValid)
            } else {
                Ok(Caller::User(UserId::parse("bob").unwrap()))
            };
            let header = format!("Bearer {token}");
            prop_assert_eq!(auth(&header), expected, "{}", claims);
        }

        /// With 30 s of leeway a token is good until `exp + 30` inclusive and
        /// from `nbf - 30` inclusive, and not one second beyond.
        #[test]
        fn exp_and_nbf_boundaries_are_exact(exp in 1_000_000i64..4_000_000_000, lifetime in 0i64..100_000) {
            let nbf = exp - lifetime;
            let token = forge(r#"{"alg":"HS256"}"#, &format!(r#"{{"sub":"bob","exp":{exp},"nbf":{nbf}}}"#), SECRET);
            let at = |now: i64| authenticator().authenticate(Some(&format!("Bearer {token}")), now);
            prop_assert!(at(exp + 30).is_ok());
            prop_assert_eq!(at(exp + 31), Err(AuthError::Expired));
            prop_assert!(at(nbf - 30).is_ok());
            prop_assert_eq!(at(nbf - 31), Err(AuthError::NotYetValid));
            let other = forge(r#"{"alg":"HS256"}"#, &format!(r#"{{"sub":"bob","exp":{exp},"nbf":{nbf}}}"#), "another-secret-0123456789abcdef");
            let header = format!("Bearer {other}");
            prop_assert_eq!(authenticator().authenticate(Some(&header), exp), Err(AuthError::BadSignature));
        }
    }
}
