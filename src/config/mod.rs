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

use crate::domain::calendar::{load_calendar_file, CalendarConfig, WorkingCalendar};
use crate::domain::sla::SlaPolicy;
use crate::domain::Network;

mod console;
mod incidents;
mod networks;
mod problems;
mod retention;
mod tickets;

pub use console::{ConsoleConfig, ConsoleSettings, SsoSettings, MIN_CONSOLE_SECRET_LEN};
pub use incidents::IncidentsConfig;
pub use networks::{ChainSettings, ExplorerKind, NetworkChainConfig, TokenConfig};
pub use retention::{ArchiveConfig, ArchiveSettings, RetentionConfig, RetentionSettings};
pub use tickets::{JiraConfig, SinkKind, SinkSettings, TicketSettings, TicketsConfig, ZendeskConfig};

use problems::{invalid, is_under, keys_of, Problems};
pub use problems::{ConfigError, ConfigErrors};

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
pub const ENV_CONSOLE_SESSION_SECRET: &str = "TRACKER_CONSOLE_SESSION_SECRET";
pub const ENV_STATUS_LINK_SECRET: &str = "TRACKER_STATUS_LINK_SECRET";

const MIN_TOKEN_LEN: usize = 16;
const MIN_JWT_SECRET_LEN: usize = 32;
const MAX_JWT_LEEWAY: Duration = Duration::from_secs(60);

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
    #[serde(default)]
    pub incidents: IncidentsConfig,
    /// The support console and the user status pages; absent: neither.
    #[serde(default)]
    pub console: Option<ConsoleConfig>,
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
    pub incidents: crate::domain::incident::IncidentRules,
    /// `None`: no console and no status pages.
    pub console: Option<ConsoleSettings>,
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
    /// Declared maintenance does not count as working time on its network.
    pub pause_during_maintenance: bool,
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
    /// Declared maintenance does not count as working time for withdrawals
    /// on its network: their deadlines move by the paused working time.
    pub pause_during_maintenance: bool,
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
            pause_during_maintenance: false,
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
            pause_during_maintenance: self.pause_during_maintenance,
        })
    }
}

fn check_url(key: &str, url: &str) -> Result<(), ConfigError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(invalid(key, "must be an http:// or https:// URL"))
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
            let nested = matches!(
                key.as_str(),
                "auth" | "rate_limit" | "sla" | "tickets" | "retention" | "console" | "networks"
            );
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
        if let Some(console) = self.console.as_mut() {
            if let Some(secret) = var(ENV_CONSOLE_SESSION_SECRET) {
                console.session_secret = Secret(secret);
            }
            if let Some(secret) = var(ENV_STATUS_LINK_SECRET) {
                console.status_link_secret = Secret(secret);
            }
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
        let incidents = self.incidents.settings(&mut problems);
        let tickets = self.tickets.settings(&mut problems);
        let console = self.console.as_ref().map(|c| c.settings(listen, &self.sla.timezone, &mut problems));
        match (listen, metrics_listen, store, sla, retention, tickets, console) {
            (Some(listen), Some(metrics_listen), Some(store), Some(sla), Some(retention), Some(tickets), console)
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
                    incidents,
                    console: console.flatten(),
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
mod tests;
