//! Configuration in two layers. [`Config`] is the file as written (serde,
//! `deny_unknown_fields`, defaults in code), which the environment overrides
//! and tests adjust. [`Config::settings`] converts it once into [`Settings`]:
//! socket addresses, `Network` keys, `Duration`s, resolved chain settings,
//! parsed Redis nodes, the built SLA calendar, typed ticket sink and retention
//! settings. That one pass collects every problem, each naming its key, so a
//! bad file is fixed in one round; startup only reads the typed values.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::chain::ApiKey;
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
pub const ENV_RETENTION_ARCHIVE_SECRET: &str = "TRACKER_RETENTION_ARCHIVE_SECRET";

const MIN_TOKEN_LEN: usize = 16;
const MIN_JWT_SECRET_LEN: usize = 32;
const MAX_JWT_LEEWAY: Duration = Duration::from_secs(60);

/// One problem with the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
    #[error("no config file given: pass --config PATH or set {ENV_CONFIG}")]
    Missing,
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.to_owned(), message: message.into() }
}

/// Every problem found in one configuration, in file order; `Display` puts
/// one per line.
#[derive(Debug)]
pub struct ConfigErrors(Vec<ConfigError>);

impl ConfigErrors {
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The keys named, in order (`Invalid` problems only).
    pub fn keys(&self) -> Vec<&str> {
        keys_of(&self.0)
    }
}

fn keys_of(errors: &[ConfigError]) -> Vec<&str> {
    errors
        .iter()
        .filter_map(|e| match e {
            ConfigError::Invalid { key, .. } => Some(key.as_str()),
            _ => None,
        })
        .collect()
}

/// Whether `key` is one of `refused` or inside one (`a.b` is inside `a`).
fn is_under(key: &str, refused: &[String]) -> bool {
    refused
        .iter()
        .any(|r| key.strip_prefix(r.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '['])))
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        ConfigErrors(vec![error])
    }
}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// Collects problems during the one conversion pass; a section converts to
/// its typed form only if it added none.
#[derive(Default)]
struct Problems(Vec<ConfigError>);

impl Problems {
    fn add(&mut self, key: &str, message: impl Into<String>) {
        self.0.push(invalid(key, message));
    }

    /// `Some(value)`, or `None` with the error recorded.
    fn take<T>(&mut self, result: Result<T, ConfigError>) -> Option<T> {
        result.map_err(|e| self.0.push(e)).ok()
    }

    fn mark(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing was added since `mark`.
    fn clean_since(&self, mark: usize) -> bool {
        self.0.len() == mark
    }
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

/// A duration written as `"250ms"`, `"30s"`, `"5m"`, `"2h"` or `"90d"`; a
/// bare `"0"` is zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn parse(raw: &str) -> Option<Duration> {
        if raw == "0" {
            return Some(Duration::ZERO);
        }
        let split = raw.find(|c: char| !c.is_ascii_digit())?;
        let (number, unit) = raw.split_at(split);
        let number: u64 = number.parse().ok()?;
        match unit {
            "ms" => Some(Duration::from_millis(number)),
            "s" => Some(Duration::from_secs(number)),
            "m" => number.checked_mul(60).map(Duration::from_secs),
            "h" => number.checked_mul(3600).map(Duration::from_secs),
            "d" => number.checked_mul(86_400).map(Duration::from_secs),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        HumanDuration::parse(&raw).map(HumanDuration).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid duration {raw:?}: use e.g. \"250ms\", \"30s\", \"5m\", \"2h\", \"90d\""
            ))
        })
    }
}

/// The file as written. Convert it with [`Config::settings`] before use.
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
    #[serde(default)]
    pub retention: RetentionConfig,
    /// Chain tracking per network code; networks without an entry are tracked
    /// for the SLA only.
    #[serde(default)]
    pub networks: BTreeMap<String, NetworkChainConfig>,
    /// Where relative paths in the file (calendar files) are resolved from.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// The configuration converted and checked: what the service runs on.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    /// A separate `/metrics` listener; `None`: `/metrics` is served on `listen`.
    pub metrics_listen: Option<SocketAddr>,
    pub store: StoreSettings,
    pub log_format: LogFormat,
    /// Log lines queued for the writer thread at most; more are dropped and counted.
    pub log_buffer_lines: usize,
    pub auth: AuthConfig,
    pub rate_limit: RateLimitConfig,
    pub sla: SlaSettings,
    pub tickets: TicketSettings,
    pub retention: RetentionSettings,
    /// Only networks with chain tracking.
    pub networks: BTreeMap<Network, ChainSettings>,
}

#[derive(Debug, Clone)]
pub struct StoreSettings {
    pub backend: StoreBackend,
    pub key_prefix: String,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreBackend {
    /// Nothing persists across restarts.
    Memory,
    Redis(Secret),
    /// The seed nodes of a Redis Cluster, at least one.
    Cluster(Vec<Secret>),
}

#[derive(Debug, Clone)]
pub struct SlaSettings {
    pub calendar: WorkingCalendar,
    pub policy: SlaPolicy,
    pub sweep_interval: Duration,
    pub escalate_again_after: u32,
}

#[derive(Debug, Clone)]
pub struct TicketSettings {
    pub sink: SinkSettings,
    pub max_attempts: u32,
    pub timeout: Duration,
}

/// Where tickets go, with exactly what that sink needs.
#[derive(Debug, Clone)]
pub enum SinkSettings {
    None,
    Webhook { url: String, secret: Secret },
    Zendesk(ZendeskConfig),
    Jira(JiraConfig),
}

#[derive(Debug, Clone)]
pub struct RetentionSettings {
    /// Zero keeps terminal withdrawals forever.
    pub terminal_for: Duration,
    /// Zero keeps no tombstone.
    pub tombstone_for: Duration,
    pub interval: Duration,
    pub archive: Option<ArchiveSettings>,
}

#[derive(Debug, Clone)]
pub enum ArchiveSettings {
    File { dir: PathBuf },
    Url { url: String, secret: Secret, timeout: Duration, max_attempts: u32 },
}

/// How one network is followed on chain, its explorer checked against it.
#[derive(Debug, Clone)]
pub struct ChainSettings {
    pub explorer: ExplorerKind,
    pub urls: Vec<String>,
    /// `api_key` with its `api_key_header`.
    pub api_key: Option<ApiKey>,
    pub requests_per_second: f64,
    pub poll_interval: Duration,
    pub request_timeout: Duration,
    /// The configured value or the network's default.
    pub required_confirmations: u64,
    pub drop_after: Duration,
    pub batch_size: usize,
    pub tokens: BTreeMap<String, TokenConfig>,
    pub discover: bool,
    pub discover_interval: Duration,
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
    fn settings(&self, code: &str, problems: &mut Problems) -> Option<(Network, ChainSettings)> {
        let key = |field: &str| format!("networks.{code}.{field}");
        let mark = problems.mark();
        let network = Network::parse(code);
        match network {
            None => problems.add(&format!("networks.{code}"), "is not a network code"),
            Some(network) if !self.explorer.serves(network) => {
                problems.add(&key("explorer"), format!("{} does not serve {network}", self.explorer.as_str()))
            }
            Some(_) => {}
        }
        if self.urls.is_empty() {
            problems.add(&key("urls"), "needs at least one URL");
        }
        for (index, url) in self.urls.iter().enumerate() {
            problems.take(check_url(&key(&format!("urls[{index}]")), url));
        }
        let api_key = match (&self.api_key_header, &self.api_key) {
            (Some(header), Some(value)) => Some(ApiKey { header: header.clone(), value: value.clone() }),
            (None, None) => None,
            (Some(_), None) => {
                problems.add(&key("api_key"), "api_key and api_key_header go together");
                None
            }
            (None, Some(_)) => {
                problems.add(&key("api_key_header"), "api_key and api_key_header go together");
                None
            }
        };
        if !(self.requests_per_second.is_finite() && self.requests_per_second > 0.0) {
            problems.add(&key("requests_per_second"), "must be a positive number");
        }
        if self.poll_interval.0 < Duration::from_millis(50) {
            problems.add(&key("poll_interval"), "must be at least 50ms");
        }
        if self.request_timeout.0.is_zero() {
            problems.add(&key("request_timeout"), "must be greater than zero");
        }
        if self.required_confirmations == Some(0) {
            problems.add(&key("required_confirmations"), "must be at least 1");
        }
        if self.batch_size == 0 {
            problems.add(&key("batch_size"), "must be at least 1");
        }
        let network = network.filter(|_| problems.clean_since(mark))?;
        let settings = ChainSettings {
            explorer: self.explorer,
            urls: self.urls.clone(),
            api_key,
            requests_per_second: self.requests_per_second,
            poll_interval: self.poll_interval.0,
            request_timeout: self.request_timeout.0,
            required_confirmations: self.required_confirmations(network),
            drop_after: self.drop_after.0,
            batch_size: self.batch_size,
            tokens: self.tokens.clone(),
            discover: self.discover,
            discover_interval: self.discover_interval.0,
        };
        Some((network, settings))
    }

    fn required_confirmations(&self, network: Network) -> u64 {
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
    fn check(&self, problems: &mut Problems) {
        if !(self.per_token_per_second.is_finite() && self.per_token_per_second > 0.0) {
            problems.add("rate_limit.per_token_per_second", "must be a positive number");
        }
        if self.per_token_burst == 0 {
            problems.add("rate_limit.per_token_burst", "must be at least 1");
        }
        if self.failed_auth_per_ip_per_minute == 0 {
            problems.add("rate_limit.failed_auth_per_ip_per_minute", "must be at least 1");
        }
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
    /// Reads the calendar files and builds the calendar; every unreadable
    /// file is reported, and the calendar's own first problem.
    fn calendar(&self, base_dir: &Path, problems: &mut Problems) -> Option<WorkingCalendar> {
        let mark = problems.mark();
        let mut files = Vec::new();
        for (index, path) in self.calendars.iter().enumerate() {
            let key = format!("sla.calendars[{index}]");
            let full = base_dir.join(path);
            match std::fs::read_to_string(&full) {
                Ok(text) => match load_calendar_file(&text) {
                    Ok(file) => files.push(file),
                    Err(e) => problems.add(&key, format!("{}: {e}", full.display())),
                },
                Err(e) => problems.add(&key, format!("cannot read {}: {e}", full.display())),
            }
        }
        let calendar = CalendarConfig {
            timezone: self.timezone.clone(),
            weekend: self.weekend.clone(),
            working_hours: self.working_hours.clone(),
            holidays: self.holidays.clone(),
            make_up_workdays: self.make_up_workdays.clone(),
        };
        let built = WorkingCalendar::from_config(&calendar, &files).map_err(|e| match e.key() {
            Some(key) => invalid(key, e.to_string()),
            None => invalid("sla", e.to_string()),
        });
        problems.take(built).filter(|_| problems.clean_since(mark))
    }

    fn settings(&self, base_dir: &Path, problems: &mut Problems) -> Option<SlaSettings> {
        let mark = problems.mark();
        if self.at_risk_after > self.overdue_after {
            problems.add("sla.at_risk_after", "must not be greater than sla.overdue_after");
        }
        let mut extra_working_days = BTreeMap::new();
        for (code, days) in &self.extra_working_days {
            match Network::parse(code) {
                Some(network) => {
                    extra_working_days.insert(network, *days);
                }
                None => problems.add(&format!("sla.extra_working_days.{code}"), "is not a network code"),
            }
        }
        if self.sweep_interval.0 < Duration::from_millis(100) {
            problems.add("sla.sweep_interval", "must be at least 100ms");
        }
        let calendar = self.calendar(base_dir, problems)?;
        problems.clean_since(mark).then_some(SlaSettings {
            calendar,
            policy: SlaPolicy {
                at_risk_after: self.at_risk_after,
                overdue_after: self.overdue_after,
                extra_working_days,
            },
            sweep_interval: self.sweep_interval.0,
            escalate_again_after: self.escalate_again_after,
        })
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

/// `[retention]`: how long terminal withdrawals stay in the store.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// A terminal withdrawal is deleted this long after it became terminal;
    /// `"0"` keeps everything forever.
    pub terminal_for: HumanDuration,
    /// How long an expired id is remembered, so ingest and support are told
    /// it expired rather than that it never existed; `"0"` keeps none.
    pub tombstone_for: HumanDuration,
    /// How often the retention job looks for expired withdrawals.
    pub interval: HumanDuration,
    /// Where each record goes before it is deleted; none: nowhere.
    pub archive: Option<ArchiveConfig>,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            terminal_for: HumanDuration(Duration::from_secs(90 * 86_400)),
            tombstone_for: HumanDuration(Duration::from_secs(30 * 86_400)),
            interval: HumanDuration(Duration::from_secs(60)),
            archive: None,
        }
    }
}

/// `[retention.archive]`: one JSON line per record in a file per day, or a
/// signed POST per record.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ArchiveConfig {
    /// Appends to `<dir>/withdrawals-YYYY-MM-DD.jsonl` (the UTC day of the expiry).
    File { dir: PathBuf },
    /// POSTs the record with `Idempotency-Key` and `X-Tracker-Signature`.
    Url {
        url: String,
        /// Or `TRACKER_RETENTION_ARCHIVE_SECRET`.
        #[serde(default)]
        secret: Secret,
        #[serde(default = "default_archive_timeout")]
        timeout: HumanDuration,
        #[serde(default = "default_archive_attempts")]
        max_attempts: u32,
    },
}

fn default_archive_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(10))
}

fn default_archive_attempts() -> u32 {
    5
}

impl RetentionConfig {
    fn settings(&self, problems: &mut Problems) -> Option<RetentionSettings> {
        let mark = problems.mark();
        if self.interval.0 < Duration::from_millis(100) {
            problems.add("retention.interval", "must be at least 100ms");
        }
        let archive = match &self.archive {
            None => None,
            Some(ArchiveConfig::File { dir }) => Some(ArchiveSettings::File { dir: dir.clone() }),
            Some(ArchiveConfig::Url { url, secret, timeout, max_attempts }) => {
                problems.take(check_url("retention.archive.url", url));
                if secret.expose().len() < MIN_TOKEN_LEN {
                    problems.add("retention.archive.secret", format!("must be at least {MIN_TOKEN_LEN} bytes"));
                }
                if timeout.0.is_zero() {
                    problems.add("retention.archive.timeout", "must be greater than zero");
                }
                if *max_attempts == 0 {
                    problems.add("retention.archive.max_attempts", "must be at least 1");
                }
                Some(ArchiveSettings::Url {
                    url: url.clone(),
                    secret: secret.clone(),
                    timeout: timeout.0,
                    max_attempts: *max_attempts,
                })
            }
        };
        problems.clean_since(mark).then_some(RetentionSettings {
            terminal_for: self.terminal_for.0,
            tombstone_for: self.tombstone_for.0,
            interval: self.interval.0,
            archive,
        })
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
    fn settings(&self, problems: &mut Problems) -> Option<TicketSettings> {
        let mark = problems.mark();
        if self.max_attempts == 0 {
            problems.add("tickets.max_attempts", "must be at least 1");
        }
        let sink = match self.sink {
            SinkKind::None => Some(SinkSettings::None),
            SinkKind::Webhook => {
                let url = match &self.url {
                    Some(url) => problems.take(check_url("tickets.url", url)).map(|()| url.clone()),
                    None => {
                        problems.add("tickets.url", "is required for the webhook sink");
                        None
                    }
                };
                let secret = match &self.secret {
                    Some(secret) if secret.expose().len() >= MIN_TOKEN_LEN => Some(secret.clone()),
                    _ => {
                        problems.add(
                            "tickets.secret",
                            format!("the webhook sink needs a secret of at least {MIN_TOKEN_LEN} bytes"),
                        );
                        None
                    }
                };
                url.zip(secret).map(|(url, secret)| SinkSettings::Webhook { url, secret })
            }
            SinkKind::Zendesk => match &self.zendesk {
                Some(zendesk) => problems
                    .take(check_url("tickets.zendesk.base_url", &zendesk.base_url))
                    .map(|()| SinkSettings::Zendesk(zendesk.clone())),
                None => {
                    problems.add("tickets.zendesk", "is required for the zendesk sink");
                    None
                }
            },
            SinkKind::Jira => match &self.jira {
                Some(jira) => problems
                    .take(check_url("tickets.jira.base_url", &jira.base_url))
                    .map(|()| SinkSettings::Jira(jira.clone())),
                None => {
                    problems.add("tickets.jira", "is required for the jira sink");
                    None
                }
            },
        };
        let sink = sink.filter(|_| problems.clean_since(mark))?;
        Some(TicketSettings { sink, max_attempts: self.max_attempts, timeout: self.timeout.0 })
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
    /// environment overrides and converts the result, reporting every
    /// problem.
    pub fn load(path: Option<&Path>) -> Result<Settings, ConfigErrors> {
        let path = match path {
            Some(path) => path.to_owned(),
            None => std::env::var_os(ENV_CONFIG).map(PathBuf::from).ok_or(ConfigError::Missing)?,
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
        let (config, mut errors) = Config::parse_lenient(&text, &path.display().to_string());
        // The entries that did parse are still checked, so one run shows
        // every problem; a key already refused is not reported twice.
        if let Some(mut config) = config {
            config.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            config.apply_env(|key| std::env::var(key).ok());
            match config.settings() {
                Ok(settings) if errors.is_empty() => return Ok(settings),
                Ok(_) => {}
                Err(more) => {
                    let refused: Vec<String> = keys_of(&errors).into_iter().map(str::to_owned).collect();
                    let new = |e: &ConfigError| keys_of(std::slice::from_ref(e)).iter().all(|k| !is_under(k, &refused));
                    errors.extend(more.into_iter().filter(new));
                }
            }
        }
        Err(ConfigErrors(errors))
    }

    /// The file as written, or every entry that does not fit its shape.
    pub fn parse_toml(text: &str, origin: &str) -> Result<Config, ConfigErrors> {
        match Config::parse_lenient(text, origin) {
            (Some(config), problems) if problems.is_empty() => Ok(config),
            (_, problems) => Err(ConfigErrors(problems)),
        }
    }

    /// Deserializes the file. When that fails past the TOML syntax, each
    /// top-level key, each field of a section and each `[networks.X]` is
    /// tried on its own, so every misfit is named; the config is then what
    /// remains without them (if it still deserializes).
    fn parse_lenient(text: &str, origin: &str) -> (Option<Config>, Vec<ConfigError>) {
        let mut problems = Problems::default();
        let whole_error = match toml::from_str::<Config>(text) {
            Ok(config) => return (Some(config), Vec::new()),
            Err(error) => error,
        };
        let parse_error = |message: String| ConfigError::Parse { path: origin.to_owned(), message };
        let Ok(mut table) = toml::from_str::<toml::Table>(text) else {
            return (None, vec![parse_error(whole_error.to_string())]);
        };
        let fits = |key: &str, value: &toml::Value| -> Result<(), String> {
            let mut probe = toml::Table::new();
            probe.insert("auth".to_owned(), toml::Value::Table(toml::Table::new()));
            probe.insert(key.to_owned(), value.clone());
            toml::Value::Table(probe).try_into::<Config>().map(drop).map_err(|e| e.message().to_owned())
        };
        for (key, value) in table.clone() {
            let nested = matches!(key.as_str(), "auth" | "rate_limit" | "sla" | "tickets" | "retention" | "networks");
            match value {
                toml::Value::Table(fields) if nested => {
                    for (field, field_value) in fields {
                        let one = toml::Value::Table(toml::Table::from_iter([(field.clone(), field_value)]));
                        if let Err(message) = fits(&key, &one) {
                            problems.add(&format!("{key}.{field}"), message);
                            if let Some(toml::Value::Table(section)) = table.get_mut(&key) {
                                section.remove(&field);
                            }
                        }
                    }
                }
                value => {
                    if let Err(message) = fits(&key, &value) {
                        problems.add(&key, message);
                        table.remove(&key);
                    }
                }
            }
        }
        match (toml::Value::Table(table).try_into::<Config>(), problems.0) {
            // Nothing misfits on its own (e.g. `[auth]` is missing): the file's error.
            (_, problems) if problems.is_empty() => (None, vec![parse_error(whole_error.to_string())]),
            (Ok(config), problems) => (Some(config), problems),
            (Err(rest), mut problems) => {
                problems.push(parse_error(rest.message().to_owned()));
                (None, problems)
            }
        }
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
        if let (Some(value), Some(ArchiveConfig::Url { secret, .. })) =
            (var(ENV_RETENTION_ARCHIVE_SECRET), self.retention.archive.as_mut())
        {
            *secret = Secret(value);
        }
    }

    /// Converts the file into the settings the service runs on, in one pass
    /// that reports every problem, each naming its key.
    pub fn settings(&self) -> Result<Settings, ConfigErrors> {
        let mut problems = Problems::default();
        let listen = problems.take(self.listen_addr());
        let metrics_listen = problems.take(self.metrics_addr());
        let store = self.store_settings(&mut problems);
        if self.log_buffer_lines == 0 {
            problems.add("log_buffer_lines", "must be at least 1");
        }
        self.auth.check(&mut problems);
        self.rate_limit.check(&mut problems);
        let sla = self.sla.settings(&self.base_dir, &mut problems);
        let mut networks = BTreeMap::new();
        for (code, chain) in &self.networks {
            if let Some((network, settings)) = chain.settings(code, &mut problems) {
                networks.insert(network, settings);
            }
        }
        let retention = self.retention.settings(&mut problems);
        let tickets = self.tickets.settings(&mut problems);
        match (listen, metrics_listen, store, sla, retention, tickets) {
            (Some(listen), Some(metrics_listen), Some(store), Some(sla), Some(retention), Some(tickets))
                if problems.0.is_empty() =>
            {
                Ok(Settings {
                    listen,
                    metrics_listen,
                    store,
                    log_format: self.log_format,
                    log_buffer_lines: self.log_buffer_lines,
                    auth: self.auth.clone(),
                    rate_limit: self.rate_limit.clone(),
                    sla,
                    tickets,
                    retention,
                    networks,
                })
            }
            _ => Err(ConfigErrors(problems.0)),
        }
    }

    /// The Redis URLs of `redis_url`: one for a single server, the seed
    /// nodes (comma-separated) for a cluster. Empty without `redis_url`.
    fn redis_nodes(&self) -> Vec<&str> {
        self.redis_url
            .as_ref()
            .map(|url| url.expose().split(',').map(str::trim).filter(|node| !node.is_empty()).collect())
            .unwrap_or_default()
    }

    fn store_settings(&self, problems: &mut Problems) -> Option<StoreSettings> {
        let mark = problems.mark();
        let backend = self.redis_backend(problems);
        let prefix_ok = !self.key_prefix.is_empty()
            && self.key_prefix.len() <= 32
            && self.key_prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b));
        if !prefix_ok {
            problems.add("key_prefix", "must be 1-32 characters of A-Z a-z 0-9 _ - . :");
        }
        if self.store_timeout.0.is_zero() {
            problems.add("store_timeout", "must be greater than zero");
        }
        let backend = backend.filter(|_| problems.clean_since(mark))?;
        Some(StoreSettings { backend, key_prefix: self.key_prefix.clone(), timeout: self.store_timeout.0 })
    }

    /// Never echoes a URL: it may carry a password.
    fn redis_backend(&self, problems: &mut Problems) -> Option<StoreBackend> {
        let Some(url) = &self.redis_url else {
            if self.redis_cluster {
                problems.add("redis_cluster", "needs redis_url: the cluster's seed nodes");
                return None;
            }
            return Some(StoreBackend::Memory);
        };
        if !self.redis_cluster {
            let raw = url.expose();
            if raw.contains(',') {
                problems.add("redis_url", "a list of nodes needs redis_cluster = true");
                return None;
            }
            if !(raw.starts_with("redis://") || raw.starts_with("rediss://") || raw.starts_with("unix://")) {
                problems.add("redis_url", "must start with redis://, rediss:// or unix://");
                return None;
            }
            return Some(StoreBackend::Redis(url.clone()));
        }
        let nodes = self.redis_nodes();
        if nodes.is_empty() {
            problems.add("redis_url", "names no cluster node");
            return None;
        }
        let mark = problems.mark();
        for (i, node) in nodes.iter().enumerate() {
            if !(node.starts_with("redis://") || node.starts_with("rediss://")) {
                problems.add(&format!("redis_url[{i}]"), "a cluster node must start with redis:// or rediss://");
            }
        }
        if nodes.iter().any(|n| n.starts_with("rediss://")) && !nodes.iter().all(|n| n.starts_with("rediss://")) {
            problems.add("redis_url", "cluster nodes must all use redis:// or all rediss://");
        }
        problems.clean_since(mark).then(|| StoreBackend::Cluster(nodes.into_iter().map(Secret::from).collect()))
    }

    fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen
            .parse()
            .map_err(|_| invalid("listen", format!("{:?} is not an address such as 127.0.0.1:8080", self.listen)))
    }

    fn metrics_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
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
    fn check(&self, problems: &mut Problems) {
        for (key, tokens) in
            [("auth.ingest_tokens", &self.ingest_tokens), ("auth.support_tokens", &self.support_tokens)]
        {
            for (index, token) in tokens.iter().enumerate() {
                let token = token.expose();
                if token.len() < MIN_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_graphic()) {
                    problems.add(
                        &format!("{key}[{index}]"),
                        format!("tokens must be at least {MIN_TOKEN_LEN} printable characters without spaces"),
                    );
                }
            }
        }
        let shared = self.ingest_tokens.iter().any(|t| self.support_tokens.contains(t));
        if shared {
            problems.add("auth.support_tokens", "a token cannot be both an ingest and a support token");
        }
        if self.user_jwt_secret.expose().len() < MIN_JWT_SECRET_LEN {
            problems.add(
                "auth.user_jwt_secret",
                format!("must be at least {MIN_JWT_SECRET_LEN} bytes (in the file or {ENV_USER_JWT_SECRET})"),
            );
        }
        if self.jwt_leeway.0 > MAX_JWT_LEEWAY {
            problems.add("auth.jwt_leeway", "must be at most 60s");
        }
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

    /// The file as written, once it converts to settings.
    fn check(text: &str) -> Result<Config, ConfigErrors> {
        let config = Config::parse_toml(text, "test.toml")?;
        config.settings()?;
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
        let without = format!("{without}\n[retention.archive]\nkind = \"url\"\nurl = \"https://archive\"\n");
        let mut config = Config::parse_toml(&without, "t").unwrap();
        assert!(config.settings().unwrap_err().to_string().contains("auth.user_jwt_secret"));
        config.apply_env(|k| match k {
            ENV_USER_JWT_SECRET => Some("from-the-environment-0123456789abcdef".into()),
            ENV_INGEST_TOKENS => Some("ingest-from-env-0123456789, second-ingest-0123456789".into()),
            ENV_TICKETS_SECRET => Some("webhook-secret-0123456789".into()),
            ENV_RETENTION_ARCHIVE_SECRET => Some("archive-secret-0123456789".into()),
            _ => None,
        });
        config.settings().unwrap();
        assert_eq!(config.auth.ingest_tokens.len(), 2);
        assert_eq!(config.auth.ingest_tokens[1].expose(), "second-ingest-0123456789");
        assert_eq!(config.tickets.secret.unwrap().expose(), "webhook-secret-0123456789");
        let Some(ArchiveConfig::Url { secret, .. }) = &config.retention.archive else { panic!("a url archive") };
        assert_eq!(secret.expose(), "archive-secret-0123456789");
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let shown = format!("{:?}", check(GOOD).unwrap());
        assert!(!shown.contains("0123456789abcdef0123456789abcdef"));
        assert!(!shown.contains("ingest-token-0123456789"));
    }

    #[test]
    fn retention_defaults_to_90_days_and_checks_its_archive() {
        let config = check(GOOD).unwrap();
        assert_eq!(config.retention.terminal_for.0, Duration::from_secs(90 * 86_400));
        assert!(config.retention.archive.is_none());
        let forever = check(&format!("{GOOD}\n[retention]\nterminal_for = \"0\"\n")).unwrap();
        assert!(forever.retention.terminal_for.0.is_zero());
        let file =
            format!("{GOOD}\n[retention]\nterminal_for = \"7d\"\narchive = {{ kind = \"file\", dir = \"/tmp/a\" }}\n");
        assert!(matches!(check(&file).unwrap().retention.archive, Some(ArchiveConfig::File { .. })));
        let weak = format!("{GOOD}\n[retention.archive]\nkind = \"url\"\nurl = \"https://a\"\nsecret = \"short\"\n");
        assert!(check(&weak).unwrap_err().to_string().contains("retention.archive.secret"));
        let unknown = format!("{GOOD}\n[retention.archive]\nkind = \"file\"\ndir = \"/a\"\nurl = \"https://a\"\n");
        assert!(check(&unknown).is_err(), "a file archive takes no url");
    }

    #[test]
    fn three_mistakes_are_all_reported_with_their_keys() {
        let text = format!(
            "metrics_listen = \"everywhere\"\n{GOOD}\n[networks.BTC]\nexplorer = \"esplora\"\n\
             urls = [\"http://x\"]\npoll_interval = \"10ms\"\n[tickets]\nmax_attempts = 0\n"
        );
        let errors = check(&text).unwrap_err();
        assert_eq!(errors.keys(), ["metrics_listen", "networks.BTC.poll_interval", "tickets.max_attempts"], "{errors}");
        let lines: Vec<String> = errors.to_string().lines().map(str::to_owned).collect();
        assert_eq!(lines.len(), 3, "{errors}");
        assert!(lines[1].starts_with("networks.BTC.poll_interval: "), "{errors}");
    }

    #[test]
    fn every_problem_in_one_section_is_reported() {
        let text = format!(
            "{GOOD}\n[networks.ETH]\nexplorer = \"tron\"\nurls = [\"ftp://x\"]\nrequest_timeout = \"0\"\n\
             batch_size = 0\napi_key = \"k\"\n[networks.NOPE]\nexplorer = \"evm\"\nurls = []\n\
             [sla]\nat_risk_after = 3\nsweep_interval = \"1ms\"\nextra_working_days = {{ MOON = 1 }}\n"
        );
        let errors = check(&text.replace("127.0.0.1:0", "nowhere")).unwrap_err();
        assert_eq!(
            errors.keys(),
            [
                "listen",
                "sla.at_risk_after",
                "sla.extra_working_days.MOON",
                "sla.sweep_interval",
                "networks.ETH.explorer",
                "networks.ETH.urls[0]",
                "networks.ETH.api_key_header",
                "networks.ETH.request_timeout",
                "networks.ETH.batch_size",
                "networks.NOPE",
                "networks.NOPE.urls",
            ],
            "{errors}"
        );
    }

    #[test]
    fn every_misfit_in_the_file_is_named() {
        let text = format!(
            "log_format = \"xml\"\ncolour = \"blue\"\n{GOOD}\n[sla]\nsweep_interval = \"fast\"\nat_risk_after = 1\n\
             [networks.ETH]\nexplorer = \"evm\"\nurls = [\"http://x\"]\nnonsense = 1\n\
             [tickets]\nsink = \"carrier-pigeon\"\n"
        );
        let errors = check(&text).unwrap_err();
        assert_eq!(
            errors.keys(),
            ["colour", "log_format", "networks.ETH", "sla.sweep_interval", "tickets.sink"],
            "{errors}"
        );
        assert!(errors.to_string().contains("nonsense"), "{errors}");
    }

    #[test]
    fn load_reports_misfits_and_bad_values_together() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let text = "listen = \"nowhere\"\ncolour = \"blue\"\n[auth]\nuser_jwt_secret = 5\n\
                    [tickets]\nsink = \"jira\"\njira = { base_url = \"https://j\" }\nmax_attempts = 0\n";
        std::fs::write(file.path(), text).unwrap();
        let errors = Config::load(Some(file.path())).unwrap_err();
        // Each key once: the refused secret and Jira table are not reported
        // again as missing.
        assert_eq!(
            errors.keys(),
            ["auth.user_jwt_secret", "colour", "tickets.jira", "listen", "tickets.max_attempts"],
            "{errors}"
        );
        let unreadable = Config::load(Some(Path::new("/nonexistent/tracker.toml"))).unwrap_err();
        assert!(matches!(unreadable.iter().collect::<Vec<_>>()[..], [ConfigError::Read { .. }]));
    }

    #[test]
    fn settings_are_typed() {
        let text = format!(
            "redis_cluster = true\nredis_url = \"redis://a:7000, redis://b:7001\"\nmetrics_listen = \"0.0.0.0:9090\"\n\
             {GOOD}\n[sla]\nextra_working_days = {{ DOGE = 1 }}\nsweep_interval = \"5s\"\n\
             [networks.ETH]\nexplorer = \"evm\"\nurls = [\"http://eth\"]\npoll_interval = \"2s\"\n\
             api_key_header = \"x-api-key\"\napi_key = \"key-0123\"\n\
             [networks.BTC]\nexplorer = \"esplora\"\nurls = [\"http://btc\"]\nrequired_confirmations = 3\n\
             [tickets]\nsink = \"webhook\"\nurl = \"https://hooks\"\nsecret = \"webhook-secret-0123456789\"\n\
             [retention]\ntombstone_for = \"1d\"\narchive = {{ kind = \"url\", url = \"https://a\", \
             secret = \"archive-secret-0123456789\" }}\n"
        );
        let settings = Config::parse_toml(&text, "t").unwrap().settings().unwrap();
        assert_eq!(settings.listen, "127.0.0.1:0".parse::<SocketAddr>().unwrap());
        assert_eq!(settings.metrics_listen, Some("0.0.0.0:9090".parse().unwrap()));
        let StoreBackend::Cluster(nodes) = &settings.store.backend else { panic!("a cluster") };
        assert_eq!(nodes.iter().map(Secret::expose).collect::<Vec<_>>(), ["redis://a:7000", "redis://b:7001"]);
        assert_eq!(settings.store.timeout, Duration::from_secs(2));
        assert_eq!(settings.sla.policy.extra_working_days, BTreeMap::from([(Network::Doge, 1)]));
        assert_eq!(settings.sla.sweep_interval, Duration::from_secs(5));
        assert_eq!(settings.networks.keys().copied().collect::<Vec<_>>(), [Network::Btc, Network::Eth]);
        let eth = &settings.networks[&Network::Eth];
        assert_eq!((eth.explorer, eth.required_confirmations), (ExplorerKind::Evm, 64), "the network's default");
        assert_eq!(eth.poll_interval, Duration::from_secs(2));
        let key = eth.api_key.as_ref().unwrap();
        assert_eq!((key.header.as_str(), key.value.expose()), ("x-api-key", "key-0123"));
        assert_eq!(settings.networks[&Network::Btc].required_confirmations, 3);
        let SinkSettings::Webhook { url, secret } = &settings.tickets.sink else { panic!("a webhook") };
        assert_eq!((url.as_str(), secret.expose()), ("https://hooks", "webhook-secret-0123456789"));
        assert_eq!(settings.tickets.timeout, Duration::from_secs(10));
        assert_eq!(settings.retention.tombstone_for, Duration::from_secs(86_400));
        let Some(ArchiveSettings::Url { max_attempts, timeout, .. }) = &settings.retention.archive else {
            panic!("a url archive")
        };
        assert_eq!((*max_attempts, *timeout), (5, Duration::from_secs(10)));
        let single = check(&format!("redis_url = \"redis://h:6379/0\"\n{GOOD}")).unwrap().settings().unwrap();
        assert_eq!(single.store.backend, StoreBackend::Redis(Secret::from("redis://h:6379/0")));
        assert_eq!(check(GOOD).unwrap().settings().unwrap().store.backend, StoreBackend::Memory);
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(HumanDuration::parse("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(HumanDuration::parse("30s"), Some(Duration::from_secs(30)));
        assert_eq!(HumanDuration::parse("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(HumanDuration::parse("90d"), Some(Duration::from_secs(90 * 86_400)));
        assert_eq!(HumanDuration::parse("0"), Some(Duration::ZERO));
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
            let errors = check(&bad.toml()).unwrap_err();
            prop_assert_eq!(errors.len(), 1, "{}", errors);
            let err = errors.iter().next().unwrap();
            prop_assert!(matches!(err, ConfigError::Invalid { .. }), "{}", err);
            prop_assert!(err.to_string().contains(key), "expected {} in {}", key, err);
        }

        #[test]
        fn arbitrary_toml_ish_text_never_panics(text in toml_ish()) {
            let errors = match check(&text) {
                Ok(config) => {
                    prop_assert!(config.listen_addr().is_ok());
                    return Ok(());
                }
                Err(errors) => errors,
            };
            prop_assert!(!errors.is_empty());
            for error in errors {
                match error {
                    ConfigError::Invalid { key, message } => {
                        prop_assert!(!key.is_empty() && !message.is_empty());
                    }
                    ConfigError::Parse { message, .. } => {
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
                    other => prop_assert!(false, "unexpected error {}", other),
                }
            }
        }
    }
}
