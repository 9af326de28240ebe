//! Typed configuration: read once at start, validated in one pass, every
//! problem reported with the key that caused it.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::domain::calendar::{load_calendar_file, CalendarConfig, WorkingCalendar};
use crate::domain::sla::SlaPolicy;
use crate::domain::Network;

pub const ENV_CONFIG: &str = "TRACKER_CONFIG";
pub const ENV_LISTEN: &str = "TRACKER_LISTEN";
pub const ENV_REDIS_URL: &str = "TRACKER_REDIS_URL";
/// Secrets may come from the environment (e.g. a Kubernetes Secret) instead
/// of the file; token lists are comma-separated.
pub const ENV_INGEST_TOKENS: &str = "TRACKER_INGEST_TOKENS";
pub const ENV_SUPPORT_TOKENS: &str = "TRACKER_SUPPORT_TOKENS";
pub const ENV_USER_JWT_SECRET: &str = "TRACKER_USER_JWT_SECRET";
pub const ENV_TICKETS_SECRET: &str = "TRACKER_TICKETS_SECRET";
pub const ENV_ZENDESK_API_TOKEN: &str = "TRACKER_ZENDESK_API_TOKEN";
pub const ENV_JIRA_API_TOKEN: &str = "TRACKER_JIRA_API_TOKEN";

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
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
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
    /// `redis_url` names the seed nodes of a Redis Cluster (comma-separated;
    /// one is enough, the others are discovered).
    #[serde(default)]
    pub redis_cluster: bool,
    #[serde(default = "default_key_prefix")]
    pub key_prefix: String,
    /// How long one store operation may take before the request gets a 503.
    #[serde(default = "default_store_timeout")]
    pub store_timeout: HumanDuration,
    /// Serve `/metrics` here instead of on `listen`.
    #[serde(default)]
    pub metrics_listen: Option<String>,
    #[serde(default)]
    pub log_format: LogFormat,
    /// Log lines waiting for the writer thread; past this, lines are
    /// dropped (and counted in `log_lines_dropped_total`), never waited for.
    #[serde(default = "default_log_buffer_lines")]
    pub log_buffer_lines: usize,
    pub auth: AuthConfig,
    #[serde(default)]
    pub rate_limit: RateLimitConfig,
    #[serde(default)]
    pub sla: SlaConfig,
    #[serde(default)]
    pub tickets: TicketsConfig,
    /// Chain tracking per network code; networks without an entry are tracked
    /// for the SLA only.
    #[serde(default)]
    pub networks: BTreeMap<String, NetworkChainConfig>,
    /// Where relative paths in the file (calendar files) are resolved from.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExplorerKind {
    Esplora,
    Blockbook,
    Evm,
    Tron,
    Solana,
    Xrpl,
}

impl ExplorerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExplorerKind::Esplora => "esplora",
            ExplorerKind::Blockbook => "blockbook",
            ExplorerKind::Evm => "evm",
            ExplorerKind::Tron => "tron",
            ExplorerKind::Solana => "solana",
            ExplorerKind::Xrpl => "xrpl",
        }
    }

    fn serves(self, network: Network) -> bool {
        use Network::*;
        match self {
            ExplorerKind::Esplora => matches!(network, Btc | Ltc),
            ExplorerKind::Blockbook => matches!(network, Btc | Ltc | Doge | Bch | Dash | Zec),
            ExplorerKind::Evm => network.is_evm(),
            ExplorerKind::Tron => network == Trx,
            ExplorerKind::Solana => network == Sol,
            ExplorerKind::Xrpl => network == Xrp,
        }
    }
}

/// `[networks.<CODE>]`: how one network is followed on chain.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkChainConfig {
    pub explorer: ExplorerKind,
    /// Tried in order: the next one when a request cannot get an answer.
    pub urls: Vec<String>,
    /// Header carrying `api_key` (providers differ), e.g. `x-api-key`.
    #[serde(default)]
    pub api_key_header: Option<String>,
    #[serde(default)]
    pub api_key: Option<Secret>,
    /// Never exceeded, across all of this replica's requests to the network.
    #[serde(default = "default_requests_per_second")]
    pub requests_per_second: f64,
    #[serde(default = "default_poll_interval")]
    pub poll_interval: HumanDuration,
    #[serde(default = "default_request_timeout")]
    pub request_timeout: HumanDuration,
    /// Defaults per network (BTC 2, ETH 64, ...).
    #[serde(default)]
    pub required_confirmations: Option<u64>,
    /// A broadcast transaction no explorer has seen this long is dropped.
    #[serde(default = "default_drop_after")]
    pub drop_after: HumanDuration,
    /// JSON-RPC calls per batch (EVM).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Tokens by coin code (e.g. `USDT`): contract and decimals, for payee
    /// checks through `Transfer` logs.
    #[serde(default)]
    pub tokens: BTreeMap<String, TokenConfig>,
    /// Look for the payment of pending withdrawals registered without a hash.
    #[serde(default)]
    pub discover: bool,
    /// How often discovery looks at one address again (UTXO explorers; EVM
    /// discovers from the blocks it reads anyway).
    #[serde(default = "default_discover_interval")]
    pub discover_interval: HumanDuration,
}

fn default_discover_interval() -> HumanDuration {
    HumanDuration(Duration::from_secs(300))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    pub contract: String,
    pub decimals: u32,
}

fn default_requests_per_second() -> f64 {
    5.0
}

fn default_poll_interval() -> HumanDuration {
    HumanDuration(Duration::from_secs(30))
}

fn default_request_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(10))
}

fn default_drop_after() -> HumanDuration {
    HumanDuration(Duration::from_secs(6 * 3600))
}

fn default_batch_size() -> usize {
    50
}

impl NetworkChainConfig {
    fn validate(&self, code: &str) -> Result<(), ConfigError> {
        let key = |field: &str| format!("networks.{code}.{field}");
        let network =
            Network::parse(code).ok_or_else(|| invalid(&format!("networks.{code}"), "is not a network code"))?;
        if !self.explorer.serves(network) {
            return Err(invalid(&key("explorer"), format!("{} does not serve {network}", self.explorer.as_str())));
        }
        if self.urls.is_empty() {
            return Err(invalid(&key("urls"), "needs at least one URL"));
        }
        for (index, url) in self.urls.iter().enumerate() {
            check_url(&key(&format!("urls[{index}]")), url)?;
        }
        if self.api_key.is_some() != self.api_key_header.is_some() {
            return Err(invalid(&key("api_key_header"), "api_key and api_key_header go together"));
        }
        if !(self.requests_per_second.is_finite() && self.requests_per_second > 0.0) {
            return Err(invalid(&key("requests_per_second"), "must be a positive number"));
        }
        if self.poll_interval.0 < Duration::from_millis(50) || self.request_timeout.0.is_zero() {
            return Err(invalid(&key("poll_interval"), "must be at least 50ms, and request_timeout above zero"));
        }
        if self.required_confirmations == Some(0) || self.batch_size == 0 {
            return Err(invalid(&key("required_confirmations"), "confirmations and batch_size must be at least 1"));
        }
        Ok(())
    }

    pub fn required_confirmations(&self, network: Network) -> u64 {
        self.required_confirmations.unwrap_or_else(|| network.default_required_confirmations())
    }
}

/// `[rate_limit]`: per replica.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests per second each token may make, sustained.
    pub per_token_per_second: f64,
    /// Requests a token may make at once before the rate applies.
    pub per_token_burst: u32,
    /// Failed authentications per minute from one IP before it is refused.
    pub failed_auth_per_ip_per_minute: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig { per_token_per_second: 50.0, per_token_burst: 200, failed_auth_per_ip_per_minute: 30 }
    }
}

impl RateLimitConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if !(self.per_token_per_second.is_finite() && self.per_token_per_second > 0.0) {
            return Err(invalid("rate_limit.per_token_per_second", "must be a positive number"));
        }
        if self.per_token_burst == 0 {
            return Err(invalid("rate_limit.per_token_burst", "must be at least 1"));
        }
        if self.failed_auth_per_ip_per_minute == 0 {
            return Err(invalid("rate_limit.failed_auth_per_ip_per_minute", "must be at least 1"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable on a terminal, JSON lines otherwise.
    #[default]
    Auto,
    Text,
    Json,
}

/// `[sla]`: the working-day calendar and the thresholds held against it.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlaConfig {
    /// IANA zone the working day is counted in.
    pub timezone: String,
    pub weekend: Vec<String>,
    /// `"HH:MM-HH:MM"`.
    pub working_hours: String,
    pub holidays: Vec<String>,
    /// Working days even on a weekend or holiday (China's adjusted weekends).
    pub make_up_workdays: Vec<String>,
    /// Calendar files merged in, relative to the config file.
    pub calendars: Vec<PathBuf>,
    pub at_risk_after: u32,
    pub overdue_after: u32,
    /// Extra working days per network code, for slow chains.
    pub extra_working_days: BTreeMap<String, u32>,
    pub sweep_interval: HumanDuration,
    /// Working days after level 1 until a still-open ticket is raised.
    pub escalate_again_after: u32,
}

impl Default for SlaConfig {
    fn default() -> Self {
        let calendar = CalendarConfig::default();
        SlaConfig {
            timezone: calendar.timezone,
            weekend: calendar.weekend,
            working_hours: calendar.working_hours,
            holidays: calendar.holidays,
            make_up_workdays: calendar.make_up_workdays,
            calendars: Vec::new(),
            at_risk_after: 1,
            overdue_after: 2,
            extra_working_days: BTreeMap::new(),
            sweep_interval: HumanDuration(Duration::from_secs(30)),
            escalate_again_after: 1,
        }
    }
}

impl SlaConfig {
    /// Reads the calendar files and builds the calendar; errors name the key.
    pub fn build_calendar(&self, base_dir: &Path) -> Result<WorkingCalendar, ConfigError> {
        let mut files = Vec::new();
        for (index, path) in self.calendars.iter().enumerate() {
            let key = format!("sla.calendars[{index}]");
            let full = base_dir.join(path);
            let text = std::fs::read_to_string(&full)
                .map_err(|e| invalid(&key, format!("cannot read {}: {e}", full.display())))?;
            files.push(load_calendar_file(&text).map_err(|e| invalid(&key, format!("{}: {e}", full.display())))?);
        }
        let calendar = CalendarConfig {
            timezone: self.timezone.clone(),
            weekend: self.weekend.clone(),
            working_hours: self.working_hours.clone(),
            holidays: self.holidays.clone(),
            make_up_workdays: self.make_up_workdays.clone(),
        };
        WorkingCalendar::from_config(&calendar, &files).map_err(|e| match e.key() {
            Some(key) => invalid(key, e.to_string()),
            None => invalid("sla", e.to_string()),
        })
    }

    pub fn policy(&self) -> SlaPolicy {
        let extra = self
            .extra_working_days
            .iter()
            .filter_map(|(code, days)| Network::parse(code).map(|n| (n, *days)))
            .collect();
        SlaPolicy { at_risk_after: self.at_risk_after, overdue_after: self.overdue_after, extra_working_days: extra }
    }

    fn validate(&self, base_dir: &Path) -> Result<(), ConfigError> {
        if self.at_risk_after > self.overdue_after {
            return Err(invalid("sla.at_risk_after", "must not be greater than sla.overdue_after"));
        }
        if let Some(code) = self.extra_working_days.keys().find(|code| Network::parse(code).is_none()) {
            return Err(invalid(&format!("sla.extra_working_days.{code}"), "is not a network code"));
        }
        if self.sweep_interval.0 < Duration::from_millis(100) {
            return Err(invalid("sla.sweep_interval", "must be at least 100ms"));
        }
        self.build_calendar(base_dir).map(|_| ())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SinkKind {
    /// Escalations are recorded, not sent.
    #[default]
    None,
    Webhook,
    Zendesk,
    Jira,
}

/// `[tickets]`: where escalation tickets go.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TicketsConfig {
    pub sink: SinkKind,
    /// Webhook URL (sink = "webhook").
    pub url: Option<String>,
    /// HMAC-SHA256 key for the webhook's `X-Tracker-Signature`.
    pub secret: Option<Secret>,
    /// Attempts per event before it is dead (support can retry it).
    pub max_attempts: u32,
    /// Per request to the ticket system.
    pub timeout: HumanDuration,
    pub zendesk: Option<ZendeskConfig>,
    pub jira: Option<JiraConfig>,
}

impl Default for TicketsConfig {
    fn default() -> Self {
        TicketsConfig {
            sink: SinkKind::None,
            url: None,
            secret: None,
            max_attempts: 8,
            timeout: HumanDuration(Duration::from_secs(10)),
            zendesk: None,
            jira: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZendeskConfig {
    /// e.g. `https://acme.zendesk.com`
    pub base_url: String,
    pub email: String,
    pub api_token: Secret,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JiraConfig {
    /// e.g. `https://acme.atlassian.net`
    pub base_url: String,
    pub email: String,
    pub api_token: Secret,
    pub project_key: String,
    #[serde(default = "default_issue_type")]
    pub issue_type: String,
    /// Name of the transition that closes an issue, if its target status is
    /// not in Jira's "done" category.
    #[serde(default = "default_done_transition")]
    pub done_transition: String,
}

fn default_issue_type() -> String {
    "Task".to_owned()
}

fn default_done_transition() -> String {
    "Done".to_owned()
}

fn check_url(key: &str, url: &str) -> Result<(), ConfigError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(invalid(key, "must be an http:// or https:// URL"))
    }
}

impl TicketsConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.max_attempts == 0 {
            return Err(invalid("tickets.max_attempts", "must be at least 1"));
        }
        match self.sink {
            SinkKind::None => Ok(()),
            SinkKind::Webhook => {
                check_url(
                    "tickets.url",
                    self.url.as_deref().ok_or_else(|| invalid("tickets.url", "is required for the webhook sink"))?,
                )?;
                match &self.secret {
                    Some(secret) if secret.expose().len() >= MIN_TOKEN_LEN => Ok(()),
                    _ => Err(invalid(
                        "tickets.secret",
                        format!("the webhook sink needs a secret of at least {MIN_TOKEN_LEN} bytes"),
                    )),
                }
            }
            SinkKind::Zendesk => {
                let zendesk = self
                    .zendesk
                    .as_ref()
                    .ok_or_else(|| invalid("tickets.zendesk", "is required for the zendesk sink"))?;
                check_url("tickets.zendesk.base_url", &zendesk.base_url)
            }
            SinkKind::Jira => {
                let jira =
                    self.jira.as_ref().ok_or_else(|| invalid("tickets.jira", "is required for the jira sink"))?;
                check_url("tickets.jira.base_url", &jira.base_url)
            }
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    #[serde(default)]
    pub ingest_tokens: Vec<Secret>,
    #[serde(default)]
    pub support_tokens: Vec<Secret>,
    #[serde(default)]
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

fn default_log_buffer_lines() -> usize {
    16_384
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
        config.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
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
        let list = |raw: String| raw.split(',').map(str::trim).filter(|t| !t.is_empty()).map(Secret::from).collect();
        if let Some(tokens) = var(ENV_INGEST_TOKENS) {
            self.auth.ingest_tokens = list(tokens);
        }
        if let Some(tokens) = var(ENV_SUPPORT_TOKENS) {
            self.auth.support_tokens = list(tokens);
        }
        if let Some(secret) = var(ENV_USER_JWT_SECRET) {
            self.auth.user_jwt_secret = Secret(secret);
        }
        if let Some(secret) = var(ENV_TICKETS_SECRET) {
            self.tickets.secret = Some(Secret(secret));
        }
        if let (Some(token), Some(zendesk)) = (var(ENV_ZENDESK_API_TOKEN), self.tickets.zendesk.as_mut()) {
            zendesk.api_token = Secret(token);
        }
        if let (Some(token), Some(jira)) = (var(ENV_JIRA_API_TOKEN), self.tickets.jira.as_mut()) {
            jira.api_token = Secret(token);
        }
    }

    /// The Redis URLs of `redis_url`: one for a single server, the seed
    /// nodes (comma-separated) for a cluster. Empty without `redis_url`.
    pub fn redis_nodes(&self) -> Vec<&str> {
        self.redis_url
            .as_ref()
            .map(|url| url.expose().split(',').map(str::trim).filter(|node| !node.is_empty()).collect())
            .unwrap_or_default()
    }

    /// Never echoes a URL: it may carry a password.
    fn validate_redis(&self) -> Result<(), ConfigError> {
        let Some(url) = &self.redis_url else {
            if self.redis_cluster {
                return Err(invalid("redis_cluster", "needs redis_url: the cluster's seed nodes"));
            }
            return Ok(());
        };
        let nodes = self.redis_nodes();
        if !self.redis_cluster {
            if url.expose().contains(',') {
                return Err(invalid("redis_url", "a list of nodes needs redis_cluster = true"));
            }
            let url = url.expose();
            if !(url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("unix://")) {
                return Err(invalid("redis_url", "must start with redis://, rediss:// or unix://"));
            }
            return Ok(());
        }
        if nodes.is_empty() {
            return Err(invalid("redis_url", "names no cluster node"));
        }
        for (i, node) in nodes.iter().enumerate() {
            if !(node.starts_with("redis://") || node.starts_with("rediss://")) {
                return Err(invalid(
                    &format!("redis_url[{i}]"),
                    "a cluster node must start with redis:// or rediss://",
                ));
            }
        }
        if nodes.iter().any(|n| n.starts_with("rediss://")) && !nodes.iter().all(|n| n.starts_with("rediss://")) {
            return Err(invalid("redis_url", "cluster nodes must all use redis:// or all rediss://"));
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        self.metrics_addr()?;
        self.validate_redis()?;
        let prefix_ok = !self.key_prefix.is_empty()
            && self.key_prefix.len() <= 32
            && self.key_prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b));
        if !prefix_ok {
            return Err(invalid("key_prefix", "must be 1-32 characters of A-Z a-z 0-9 _ - . :"));
        }
        if self.store_timeout.0.is_zero() {
            return Err(invalid("store_timeout", "must be greater than zero"));
        }
        if self.log_buffer_lines == 0 {
            return Err(invalid("log_buffer_lines", "must be at least 1"));
        }
        self.auth.validate()?;
        self.rate_limit.validate()?;
        self.sla.validate(&self.base_dir)?;
        for (code, network) in &self.networks {
            network.validate(code)?;
        }
        self.tickets.validate()
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen
            .parse()
            .map_err(|_| invalid("listen", format!("{:?} is not an address such as 127.0.0.1:8080", self.listen)))
    }

    pub fn metrics_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        self.metrics_listen
            .as_deref()
            .map(|raw| {
                raw.parse()
                    .map_err(|_| invalid("metrics_listen", format!("{raw:?} is not an address such as 0.0.0.0:9090")))
            })
            .transpose()
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
            return Err(invalid(
                "auth.user_jwt_secret",
                format!("must be at least {MIN_JWT_SECRET_LEN} bytes (in the file or {ENV_USER_JWT_SECRET})"),
            ));
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
            (format!("redis_url = \"redis://a:1,redis://b:1\"\n{GOOD}"), "redis_url"),
            (format!("redis_cluster = true\n{GOOD}"), "redis_cluster"),
            (format!("redis_cluster = true\nredis_url = \"redis://a:1, unix:///x\"\n{GOOD}"), "redis_url[1]"),
            (format!("redis_cluster = true\nredis_url = \" , \"\n{GOOD}"), "redis_url"),
            (format!("redis_cluster = true\nredis_url = \"redis://a:1,rediss://b:1\"\n{GOOD}"), "redis_url"),
            (format!("redis_cluster = \"yes\"\n{GOOD}"), "redis_cluster"),
            (format!("{GOOD}\njwt_leeway = \"5m\""), "auth.jwt_leeway"),
            (format!("store_timeout = \"soon\"\n{GOOD}"), "store_timeout"),
            (format!("metrics_listen = \"everywhere\"\n{GOOD}"), "metrics_listen"),
            (format!("log_format = \"xml\"\n{GOOD}"), "log_format"),
            (format!("log_buffer_lines = 0\n{GOOD}"), "log_buffer_lines"),
            (format!("{GOOD}\n[rate_limit]\nper_token_per_second = 0"), "rate_limit.per_token_per_second"),
            (format!("{GOOD}\n[networks.BTC]\nexplorer = \"evm\"\nurls = [\"http://x\"]"), "networks.BTC.explorer"),
            (format!("{GOOD}\n[networks.ETH]\nexplorer = \"evm\"\nurls = []"), "networks.ETH.urls"),
            (format!("{GOOD}\n[networks.NOPE]\nexplorer = \"evm\"\nurls = [\"http://x\"]"), "networks.NOPE"),
            (format!("{GOOD}\n[sla]\ntimezone = \"Mars/Olympus\""), "sla.timezone"),
            (format!("{GOOD}\n[sla]\nworking_hours = \"18:00-09:00\""), "sla.working_hours"),
            (format!("{GOOD}\n[sla]\nholidays = [\"2026-13-01\"]"), "sla.holidays[0]"),
            (format!("{GOOD}\n[sla]\ncalendars = [\"nope.toml\"]"), "sla.calendars[0]"),
            (format!("{GOOD}\n[sla.extra_working_days]\nDOGGO = 1"), "sla.extra_working_days.DOGGO"),
            (format!("{GOOD}\n[tickets]\nsink = \"webhook\""), "tickets.url"),
            (format!("{GOOD}\n[tickets]\nsink = \"webhook\"\nurl = \"http://x\""), "tickets.secret"),
            (format!("{GOOD}\n[tickets]\nsink = \"jira\""), "tickets.jira"),
            (format!("{GOOD}\n[tickets]\nsink = \"carrier-pigeon\""), "sink"),
        ];
        for (text, key) in cases {
            let err = check(&text).unwrap_err().to_string();
            assert!(err.contains(key), "expected {key} in {err}");
        }
    }

    #[test]
    fn redis_nodes_are_one_url_or_the_cluster_seeds() {
        let single = check(&format!("redis_url = \"redis://h:6379/0\"\n{GOOD}")).unwrap();
        assert_eq!(single.redis_nodes(), ["redis://h:6379/0"]);
        assert!(!single.redis_cluster);
        let seeds = "redis_url = \"redis://a:7000, redis://b:7001,\"";
        let cluster = check(&format!("redis_cluster = true\n{seeds}\n{GOOD}")).unwrap();
        assert_eq!(cluster.redis_nodes(), ["redis://a:7000", "redis://b:7001"]);
        let one_seed = check(&format!("redis_cluster = true\nredis_url = \"rediss://cfg.example:6379\"\n{GOOD}"));
        assert_eq!(one_seed.unwrap().redis_nodes(), ["rediss://cfg.example:6379"]);
        assert!(check(GOOD).unwrap().redis_nodes().is_empty());
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
    fn secrets_may_come_from_the_environment() {
        let without = GOOD.replace("user_jwt_secret = \"0123456789abcdef0123456789abcdef\"", "");
        let mut config = Config::parse_toml(&without, "t").unwrap();
        assert!(config.validate().unwrap_err().to_string().contains("auth.user_jwt_secret"));
        config.apply_env(|k| match k {
            ENV_USER_JWT_SECRET => Some("from-the-environment-0123456789abcdef".into()),
            ENV_INGEST_TOKENS => Some("ingest-from-env-0123456789, second-ingest-0123456789".into()),
            ENV_TICKETS_SECRET => Some("webhook-secret-0123456789".into()),
            _ => None,
        });
        config.validate().unwrap();
        assert_eq!(config.auth.ingest_tokens.len(), 2);
        assert_eq!(config.auth.ingest_tokens[1].expose(), "second-ingest-0123456789");
        assert_eq!(config.tickets.secret.unwrap().expose(), "webhook-secret-0123456789");
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

    use proptest::prelude::*;

    /// The parts of a valid config the generator varies, and the file it writes.
    #[derive(Debug, Clone)]
    struct Generated {
        port: u16,
        key_prefix: String,
        store_timeout_ms: u64,
        log_format: (&'static str, LogFormat),
        ingest: Vec<String>,
        support: Vec<String>,
        secret: String,
        leeway_s: u64,
        timezone: &'static str,
        at_risk_after: u32,
        overdue_after: u32,
        sweep_ms: u64,
        extra: BTreeMap<String, u32>,
    }

    impl Generated {
        fn toml(&self) -> String {
            let list = |items: &[String]| items.iter().map(|t| format!("{t:?}")).collect::<Vec<_>>().join(", ");
            let extra = self.extra.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ");
            format!(
                "listen = \"127.0.0.1:{}\"\nkey_prefix = {:?}\nstore_timeout = \"{}ms\"\nlog_format = {:?}\n\
                 [auth]\ningest_tokens = [{}]\nsupport_tokens = [{}]\nuser_jwt_secret = {:?}\njwt_leeway = \"{}s\"\n\
                 [sla]\ntimezone = {:?}\nat_risk_after = {}\noverdue_after = {}\nsweep_interval = \"{}ms\"\n\
                 extra_working_days = {{ {} }}\n",
                self.port,
                self.key_prefix,
                self.store_timeout_ms,
                self.log_format.0,
                list(&self.ingest),
                list(&self.support),
                self.secret,
                self.leeway_s,
                self.timezone,
                self.at_risk_after,
                self.overdue_after,
                self.sweep_ms,
                extra,
            )
        }
    }

    fn valid_config() -> impl Strategy<Value = Generated> {
        let log_format = prop_oneof![
            Just(("json", LogFormat::Json)),
            Just(("text", LogFormat::Text)),
            Just(("auto", LogFormat::Auto))
        ];
        let network = proptest::sample::select(Network::ALL.iter().map(|n| n.code().to_owned()).collect::<Vec<_>>());
        (
            (any::<u16>(), "[A-Za-z0-9_.:-]{1,32}", 1u64..100_000, log_format),
            (
                proptest::collection::vec("i[A-Za-z0-9!#-&(-/:-@^_|~]{15,40}", 0..3),
                proptest::collection::vec("s[A-Za-z0-9!#-&(-/:-@^_|~]{15,40}", 0..3),
                "[ -~]{32,64}",
                0u64..=60,
            ),
            (
                proptest::sample::select(vec!["UTC", "Asia/Shanghai", "America/New_York", "Europe/London"]),
                0u32..5,
                0u32..5,
                100u64..600_000,
                proptest::collection::btree_map(network, 0u32..5, 0..4),
            ),
        )
            .prop_map(
                |((port, key_prefix, store_timeout_ms, log_format), (ingest, support, secret, leeway_s), sla)| {
                    let (timezone, at_risk_after, more, sweep_ms, extra) = sla;
                    Generated {
                        port,
                        key_prefix,
                        store_timeout_ms,
                        log_format,
                        ingest,
                        support,
                        secret,
                        leeway_s,
                        timezone,
                        at_risk_after,
                        overdue_after: at_risk_after + more,
                        sweep_ms,
                        extra,
                    }
                },
            )
    }

    /// Lines that look like our config, some right, some not: known and unknown
    /// keys, tables, values of every TOML type, and plain noise.
    fn toml_ish() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            proptest::sample::select(vec![
                "listen",
                "redis_url",
                "key_prefix",
                "store_timeout",
                "metrics_listen",
                "log_format",
                "ingest_tokens",
                "support_tokens",
                "user_jwt_secret",
                "jwt_leeway",
                "timezone",
                "weekend",
                "working_hours",
                "holidays",
                "make_up_workdays",
                "calendars",
                "at_risk_after",
                "overdue_after",
                "extra_working_days",
                "sweep_interval",
                "escalate_again_after",
                "sink",
                "url",
                "secret",
                "max_attempts",
                "timeout",
                "base_url",
                "api_token",
            ])
            .prop_map(str::to_owned),
            "[a-z_]{1,12}",
        ];
        let value = prop_oneof![
            "\"[ -!#-\\[\\]-~]{0,40}\"",
            any::<i64>().prop_map(|n| n.to_string()),
            "[0-9]{1,6}(ms|s|m|h|d)?".prop_map(|v| format!("{v:?}")),
            Just("true".to_owned()),
            Just("[\"a\", 1]".to_owned()),
            Just("[\"sat\", \"sun\", \"funday\"]".to_owned()),
            Just("{ DOGE = 1, MOON = 2 }".to_owned()),
            Just("1.5e300".to_owned()),
            Just("1979-05-27T07:32:00Z".to_owned()),
        ];
        let line = prop_oneof![
            4 => (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
            1 => proptest::sample::select(vec!["[auth]", "[sla]", "[tickets]", "[tickets.jira]", "[tickets.zendesk]", "[other]", "[[auth]]"]).prop_map(str::to_owned),
            1 => ".{0,30}",
        ];
        proptest::collection::vec(line, 0..12).prop_map(|lines| lines.join("\n"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn valid_random_configs_round_trip(g in valid_config()) {
            let text = g.toml();
            let config = check(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert_eq!(config.listen_addr().unwrap().port(), g.port);
            prop_assert_eq!(&config.key_prefix, &g.key_prefix);
            prop_assert_eq!(config.store_timeout.0, Duration::from_millis(g.store_timeout_ms));
            prop_assert_eq!(config.log_format, g.log_format.1);
            let exposed = |tokens: &[Secret]| tokens.iter().map(|t| t.expose().to_owned()).collect::<Vec<_>>();
            prop_assert_eq!(exposed(&config.auth.ingest_tokens), g.ingest.clone());
            prop_assert_eq!(exposed(&config.auth.support_tokens), g.support.clone());
            prop_assert_eq!(config.auth.user_jwt_secret.expose(), g.secret.as_str());
            prop_assert_eq!(config.auth.jwt_leeway.0, Duration::from_secs(g.leeway_s));
            prop_assert_eq!(config.sla.timezone.as_str(), g.timezone);
            prop_assert_eq!((config.sla.at_risk_after, config.sla.overdue_after), (g.at_risk_after, g.overdue_after));
            prop_assert_eq!(config.sla.sweep_interval.0, Duration::from_millis(g.sweep_ms));
            prop_assert_eq!(&config.sla.extra_working_days, &g.extra);
            // Secrets never show in Debug output.
            let shown = format!("{config:?}");
            prop_assert!(!shown.contains(&g.secret));
        }

        /// One bad value in an otherwise valid file: the error names that key.
        #[test]
        fn one_bad_value_is_named(g in valid_config(), pick in 0usize..7, noise in "[a-z ]{0,10}", n in 61u64..100_000) {
            let mut bad = g.clone();
            let key = match pick {
                0 => { bad.key_prefix = format!("{} {}", g.key_prefix, noise); "key_prefix" }
                1 => { bad.key_prefix = "k".repeat(33 + noise.len()); "key_prefix" }
                2 => { bad.secret = g.secret[..(n as usize % 32)].to_owned(); "auth.user_jwt_secret" }
                3 => { bad.leeway_s = n; "auth.jwt_leeway" }
                4 => { bad.ingest = vec![format!("i{}", &noise.replace(' ', "")[..noise.replace(' ', "").len().min(14)])]; "auth.ingest_tokens[0]" }
                5 => { bad.at_risk_after = g.overdue_after + 1 + (n as u32 % 5); "sla.at_risk_after" }
                _ => { bad.sweep_ms = n % 100; "sla.sweep_interval" }
            };
            let err = check(&bad.toml()).unwrap_err();
            prop_assert!(matches!(&err, ConfigError::Invalid { .. }), "{}", err);
            prop_assert!(err.to_string().contains(key), "expected {} in {}", key, err);
        }

        #[test]
        fn arbitrary_toml_ish_text_never_panics(text in toml_ish()) {
            match check(&text) {
                Ok(config) => prop_assert!(config.listen_addr().is_ok()),
                Err(ConfigError::Invalid { key, message }) => {
                    prop_assert!(!key.is_empty() && !message.is_empty());
                }
                Err(ConfigError::Parse { message, .. }) => {
                    // Past the syntax, every refusal names the key or field at fault.
                    if let Ok(table) = toml::from_str::<toml::Table>(&text) {
                        // toml quotes the offending line, so a nested key shows there.
                        let line_keys = text.lines().filter_map(|l| l.split_once('=')).map(|(k, _)| k.trim());
                        let names_a_key = message.contains('`')
                            || table.keys().any(|k| message.contains(k.as_str()))
                            || line_keys.filter(|k| !k.is_empty()).any(|k| message.contains(k));
                        prop_assert!(names_a_key, "{}\n--- for ---\n{}", message, text);
                    }
                }
                Err(other) => prop_assert!(false, "unexpected error {}", other),
            }
        }
    }
}
