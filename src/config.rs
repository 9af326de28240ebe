//! Typed configuration: read once at start, validated in one pass, every
//! problem reported with the key that caused it.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub const ENV_CONFIG: &str = "TRACKER_CONFIG";
pub const ENV_LISTEN: &str = "TRACKER_LISTEN";
pub const ENV_REDIS_URL: &str = "TRACKER_REDIS_URL";

const MIN_TOKEN_LEN: usize = 16;
const MIN_JWT_SECRET_LEN: usize = 32;
const MAX_JWT_LEEWAY: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("config key `{key}`: {message}")]
    Invalid { key: String, message: String },
    #[error("no config file given: pass --config PATH or set {ENV_CONFIG}")]
    Missing,
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.to_owned(), message: message.into() }
}

/// A value that must never be printed: `Debug` shows only that it is set.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

/// A duration written as `"250ms"`, `"30s"`, `"5m"` or `"2h"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn parse(raw: &str) -> Option<Duration> {
        let split = raw.find(|c: char| !c.is_ascii_digit())?;
        let (number, unit) = raw.split_at(split);
        let number: u64 = number.parse().ok()?;
        match unit {
            "ms" => Some(Duration::from_millis(number)),
            "s" => Some(Duration::from_secs(number)),
            "m" => number.checked_mul(60).map(Duration::from_secs),
            "h" => number.checked_mul(3600).map(Duration::from_secs),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        HumanDuration::parse(&raw).map(HumanDuration).ok_or_else(|| {
            serde::de::Error::custom(format!("invalid duration {raw:?}: use e.g. \"250ms\", \"30s\", \"5m\", \"2h\""))
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_listen")]
    pub listen: String,
    /// No URL: the in-memory store, which keeps nothing across restarts.
    #[serde(default)]
    pub redis_url: Option<Secret>,
    #[serde(default = "default_key_prefix")]
    pub key_prefix: String,
    /// How long one store operation may take before the request gets a 503.
    #[serde(default = "default_store_timeout")]
    pub store_timeout: HumanDuration,
    pub auth: AuthConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    #[serde(default)]
    pub ingest_tokens: Vec<Secret>,
    #[serde(default)]
    pub support_tokens: Vec<Secret>,
    pub user_jwt_secret: Secret,
    /// Clock skew allowed on a user JWT's `exp` and `nbf`.
    #[serde(default = "default_jwt_leeway")]
    pub jwt_leeway: HumanDuration,
}

fn default_listen() -> String {
    "127.0.0.1:8080".to_owned()
}

fn default_key_prefix() -> String {
    "wt".to_owned()
}

fn default_store_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(2))
}

fn default_jwt_leeway() -> HumanDuration {
    HumanDuration(Duration::from_secs(30))
}

impl Config {
    /// Reads the file named by `path` (or `TRACKER_CONFIG`), applies the
    /// environment overrides and validates the result.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let path = match path {
            Some(path) => path.to_owned(),
            None => std::env::var_os(ENV_CONFIG).map(PathBuf::from).ok_or(ConfigError::Missing)?,
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
        let mut config = Config::parse_toml(&text, &path.display().to_string())?;
        config.apply_env(|key| std::env::var(key).ok());
        config.validate()?;
        Ok(config)
    }

    pub fn parse_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse { path: origin.to_owned(), message: e.to_string() })
    }

    /// `TRACKER_REDIS_URL=""` selects the in-memory store.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) {
        if let Some(listen) = var(ENV_LISTEN) {
            self.listen = listen;
        }
        if let Some(url) = var(ENV_REDIS_URL) {
            self.redis_url = (!url.is_empty()).then_some(Secret(url));
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        if let Some(url) = &self.redis_url {
            let url = url.expose();
            if !(url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("unix://")) {
                return Err(invalid("redis_url", "must start with redis://, rediss:// or unix://"));
            }
        }
        let prefix_ok = !self.key_prefix.is_empty()
            && self.key_prefix.len() <= 32
            && self.key_prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b));
        if !prefix_ok {
            return Err(invalid("key_prefix", "must be 1-32 characters of A-Z a-z 0-9 _ - . :"));
        }
        if self.store_timeout.0.is_zero() {
            return Err(invalid("store_timeout", "must be greater than zero"));
        }
        self.auth.validate()
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen
            .parse()
            .map_err(|_| invalid("listen", format!("{:?} is not an address such as 127.0.0.1:8080", self.listen)))
    }
}

impl AuthConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        for (key, tokens) in
            [("auth.ingest_tokens", &self.ingest_tokens), ("auth.support_tokens", &self.support_tokens)]
        {
            for (index, token) in tokens.iter().enumerate() {
                let token = token.expose();
                if token.len() < MIN_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(invalid(
                        &format!("{key}[{index}]"),
                        format!("tokens must be at least {MIN_TOKEN_LEN} printable characters without spaces"),
                    ));
                }
            }
        }
        let shared = self.ingest_tokens.iter().any(|t| self.support_tokens.contains(t));
        if shared {
            return Err(invalid("auth.support_tokens", "a token cannot be both an ingest and a support token"));
        }
        if self.user_jwt_secret.expose().len() < MIN_JWT_SECRET_LEN {
            return Err(invalid("auth.user_jwt_secret", format!("must be at least {MIN_JWT_SECRET_LEN} bytes")));
        }
        if self.jwt_leeway.0 > MAX_JWT_LEEWAY {
            return Err(invalid("auth.jwt_leeway", "must be at most 60s"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        listen = "127.0.0.1:0"
        [auth]
        ingest_tokens = ["ingest-token-0123456789"]
        support_tokens = ["support-token-0123456789"]
        user_jwt_secret = "0123456789abcdef0123456789abcdef"
    "#;

    fn check(text: &str) -> Result<Config, ConfigError> {
        let config = Config::parse_toml(text, "test.toml")?;
        config.validate()?;
        Ok(config)
    }

    #[test]
    fn a_minimal_file_gets_defaults() {
        let config = check(GOOD).unwrap();
        assert_eq!(config.key_prefix, "wt");
        assert!(config.redis_url.is_none());
        assert_eq!(config.store_timeout.0, Duration::from_secs(2));
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = check(&GOOD.replace("listen =", "lisen =")).unwrap_err().to_string();
        assert!(err.contains("lisen"), "{err}");
        let err = check(&format!("{GOOD}\nextra = 1")).unwrap_err().to_string();
        assert!(err.contains("extra"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let cases = [
            (GOOD.replace("127.0.0.1:0", "nowhere"), "listen"),
            (GOOD.replace("0123456789abcdef0123456789abcdef", "short"), "auth.user_jwt_secret"),
            (GOOD.replace("ingest-token-0123456789", "short"), "auth.ingest_tokens[0]"),
            (format!("key_prefix = \"a b\"\n{GOOD}"), "key_prefix"),
            (format!("redis_url = \"http://x\"\n{GOOD}"), "redis_url"),
            (format!("{GOOD}\njwt_leeway = \"5m\""), "auth.jwt_leeway"),
            (format!("store_timeout = \"soon\"\n{GOOD}"), "store_timeout"),
        ];
        for (text, key) in cases {
            let err = check(&text).unwrap_err().to_string();
            assert!(err.contains(key), "expected {key} in {err}");
        }
    }

    #[test]
    fn env_overrides_listen_and_redis() {
        let mut config = check(GOOD).unwrap();
        config.apply_env(|k| match k {
            ENV_LISTEN => Some("0.0.0.0:9999".into()),
            ENV_REDIS_URL => Some("redis://127.0.0.1:1/".into()),
            _ => None,
        });
        assert_eq!(config.listen, "0.0.0.0:9999");
        assert_eq!(config.redis_url.as_ref().unwrap().expose(), "redis://127.0.0.1:1/");
        config.apply_env(|k| (k == ENV_REDIS_URL).then(String::new));
        assert!(config.redis_url.is_none());
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let shown = format!("{:?}", check(GOOD).unwrap());
        assert!(!shown.contains("0123456789abcdef0123456789abcdef"));
        assert!(!shown.contains("ingest-token-0123456789"));
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(HumanDuration::parse("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(HumanDuration::parse("30s"), Some(Duration::from_secs(30)));
        assert_eq!(HumanDuration::parse("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(HumanDuration::parse("30"), None);
        assert_eq!(HumanDuration::parse("s"), None);
    }
}
