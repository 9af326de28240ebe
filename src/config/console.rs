//! `[console]`: the support console and the user status page (`src/web/`):
//! the secrets that sign sessions and status links, how long each lasts,
//! whether cookies may go over plain HTTP, and an optional SSO proxy.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Deserialize;

use super::{HumanDuration, Problems, Secret};

/// Shortest secret accepted for signing sessions and links.
pub const MIN_CONSOLE_SECRET_LEN: usize = 32;

/// `[console]` as written. Absent: no console and no status pages (their
/// routes answer 404).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// HMAC-SHA256 key of the session cookie and the CSRF tokens (or
    /// `TRACKER_CONSOLE_SESSION_SECRET`).
    #[serde(default)]
    pub session_secret: Secret,
    /// HMAC-SHA256 key of `/status/{link}` links (or
    /// `TRACKER_STATUS_LINK_SECRET`). Changing it revokes every link.
    #[serde(default)]
    pub status_link_secret: Secret,
    /// How long a console sign-in lasts.
    #[serde(default = "default_session_ttl")]
    pub session_ttl: HumanDuration,
    /// How long a minted status link works unless the mint asks for less.
    #[serde(default = "default_status_link_ttl")]
    pub status_link_ttl: HumanDuration,
    /// The cookies go without `Secure`: only for a console served over
    /// plain HTTP on a loopback `listen` address (development).
    #[serde(default)]
    pub plain_http: bool,
    /// The IANA zone support reads deadlines in; default `sla.timezone`.
    #[serde(default)]
    pub support_time_zone: Option<String>,
    /// A header set by an SSO proxy with the signed-in person
    /// (e.g. `X-Forwarded-Email`), believed only from `trusted_proxies`.
    #[serde(default)]
    pub sso_header: Option<String>,
    /// The proxies' addresses (the TCP peer, not a forwarded header).
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

fn default_session_ttl() -> HumanDuration {
    HumanDuration(Duration::from_secs(8 * 3600))
}

fn default_status_link_ttl() -> HumanDuration {
    HumanDuration(Duration::from_secs(7 * 86_400))
}

/// `[console]` converted and checked.
#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    pub session_secret: Secret,
    pub status_link_secret: Secret,
    pub session_ttl: Duration,
    pub status_link_ttl: Duration,
    /// Cookies carry `Secure` unless this is set.
    pub plain_http: bool,
    pub support_time_zone: chrono_tz::Tz,
    pub sso: Option<SsoSettings>,
}

#[derive(Debug, Clone)]
pub struct SsoSettings {
    /// Lower case, as actix looks headers up.
    pub header: String,
    pub trusted_proxies: Vec<IpAddr>,
}

impl ConsoleConfig {
    pub(super) fn settings(
        &self,
        listen: Option<SocketAddr>,
        sla_time_zone: &str,
        problems: &mut Problems,
    ) -> Option<ConsoleSettings> {
        let mark = problems.mark();
        for (key, secret) in
            [("console.session_secret", &self.session_secret), ("console.status_link_secret", &self.status_link_secret)]
        {
            if secret.expose().len() < MIN_CONSOLE_SECRET_LEN {
                problems.add(key, format!("must be at least {MIN_CONSOLE_SECRET_LEN} bytes"));
            }
        }
        if self.session_secret.expose() == self.status_link_secret.expose() && !self.session_secret.expose().is_empty()
        {
            problems.add("console.status_link_secret", "must differ from console.session_secret");
        }
        if self.session_ttl.0 < Duration::from_secs(60) || self.session_ttl.0 > Duration::from_secs(7 * 86_400) {
            problems.add("console.session_ttl", "must be from 1m to 7d");
        }
        if self.status_link_ttl.0 < Duration::from_secs(60) || self.status_link_ttl.0 > Duration::from_secs(90 * 86_400)
        {
            problems.add("console.status_link_ttl", "must be from 1m to 90d");
        }
        if self.plain_http && listen.is_some_and(|addr| !addr.ip().is_loopback()) {
            problems.add("console.plain_http", "only for a loopback listen address (cookies would travel unprotected)");
        }
        let zone_name = self.support_time_zone.as_deref().unwrap_or(sla_time_zone);
        let support_time_zone = match zone_name.parse::<chrono_tz::Tz>() {
            Ok(zone) => Some(zone),
            Err(_) => {
                problems.add("console.support_time_zone", format!("{zone_name:?} is not an IANA time zone"));
                None
            }
        };
        let sso = match &self.sso_header {
            None => {
                if !self.trusted_proxies.is_empty() {
                    problems.add("console.trusted_proxies", "needs console.sso_header");
                }
                None
            }
            Some(header) => {
                let valid_name =
                    !header.is_empty() && header.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !valid_name {
                    problems.add("console.sso_header", "must be an HTTP header name");
                }
                if self.trusted_proxies.is_empty() {
                    problems.add("console.trusted_proxies", "must name the SSO proxy's addresses");
                }
                let mut proxies = Vec::new();
                for (index, raw) in self.trusted_proxies.iter().enumerate() {
                    match raw.parse::<IpAddr>() {
                        Ok(ip) => proxies.push(ip),
                        Err(_) => problems.add(&format!("console.trusted_proxies[{index}]"), "is not an IP address"),
                    }
                }
                Some(SsoSettings { header: header.to_ascii_lowercase(), trusted_proxies: proxies })
            }
        };
        let support_time_zone = support_time_zone?;
        problems.clean_since(mark).then(|| ConsoleSettings {
            session_secret: self.session_secret.clone(),
            status_link_secret: self.status_link_secret.clone(),
            session_ttl: self.session_ttl.0,
            status_link_ttl: self.status_link_ttl.0,
            plain_http: self.plain_http,
            support_time_zone,
            sso,
        })
    }
}
