//! A network's status as the exchange's status page and users see it:
//! operational, degraded (we see less of the chain), congested, halted (no
//! new block for far longer than usual), or in maintenance (declared by
//! support). Pure: the tracker's health reports, support's declarations and
//! the time are inputs; `networks` keeps them in the store.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, Offset, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::message::Language;
use super::{rfc3339, Network};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkStatus {
    Operational,
    Degraded,
    Congested,
    Halted,
    Maintenance,
}

impl NetworkStatus {
    pub const ALL: [NetworkStatus; 5] = [
        NetworkStatus::Operational,
        NetworkStatus::Degraded,
        NetworkStatus::Congested,
        NetworkStatus::Halted,
        NetworkStatus::Maintenance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NetworkStatus::Operational => "operational",
            NetworkStatus::Degraded => "degraded",
            NetworkStatus::Congested => "congested",
            NetworkStatus::Halted => "halted",
            NetworkStatus::Maintenance => "maintenance",
        }
    }
}

/// Support's words for users, in both languages the service speaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub en: String,
    pub zh: String,
}

impl Reason {
    /// At most this many characters per language: it is shown in one line.
    pub const MAX_CHARS: usize = 200;

    pub fn parse(en: &str, zh: &str) -> Result<Reason, super::FieldError> {
        let check = |field: &'static str, text: &str| {
            let text = text.trim();
            if text.is_empty() {
                return Err(super::FieldError::new(field, format!("{field} must not be empty")));
            }
            if text.chars().count() > Self::MAX_CHARS || text.chars().any(char::is_control) {
                return Err(super::FieldError::new(
                    field,
                    format!("{field} must be at most {} characters, without control characters", Self::MAX_CHARS),
                ));
            }
            Ok(text.to_owned())
        };
        Ok(Reason { en: check("reason_en", en)?, zh: check("reason_zh", zh)? })
    }

    fn in_language(&self, language: Language) -> &str {
        match language {
            Language::English => &self.en,
            Language::SimplifiedChinese => &self.zh,
        }
    }
}

/// Maintenance declared by support.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Maintenance {
    pub reason: Reason,
    #[serde(with = "rfc3339")]
    pub since: DateTime<Utc>,
    #[serde(with = "rfc3339::option", default)]
    pub expected_end: Option<DateTime<Utc>>,
    /// The exchange holds withdrawals on this network meanwhile.
    pub suspends_withdrawals: bool,
    pub declared_by: String,
}

/// A stretch of declared maintenance; `end: None` while it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    #[serde(with = "rfc3339")]
    pub start: DateTime<Utc>,
    #[serde(with = "rfc3339::option", default)]
    pub end: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    #[serde(with = "rfc3339")]
    pub at: DateTime<Utc>,
    pub status: NetworkStatus,
    pub note: String,
    /// Who made it: support's name for a declaration, `tracker` for what the
    /// chain showed.
    pub by: String,
}

/// What the store keeps per network: the declaration, the maintenance
/// windows the SLA may pause for, and the history of every change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkRecord {
    #[serde(default)]
    pub maintenance: Option<Maintenance>,
    #[serde(default)]
    pub pauses: Vec<Pause>,
    /// Oldest first; at most [`NetworkRecord::MAX_HISTORY`].
    #[serde(default)]
    pub history: Vec<StatusChange>,
    /// What the tracker's health showed last, and since when.
    #[serde(default)]
    pub observed: Option<Observed>,
    /// The open incident (last) and the newest closed ones: `incident.rs`.
    #[serde(default)]
    pub incidents: Vec<super::incident::Incident>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    pub status: NetworkStatus,
    #[serde(with = "rfc3339")]
    pub since: DateTime<Utc>,
}

/// The tracker's name in the history.
pub const TRACKER: &str = "tracker";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkStatusError {
    #[error("the network is not in maintenance")]
    NotInMaintenance,
    #[error("expected_end must be later than now")]
    EndInThePast,
}

impl NetworkRecord {
    pub const MAX_HISTORY: usize = 200;
    /// Pauses older than this no longer move any open withdrawal's deadline
    /// that matters (records expire long before).
    pub const KEEP_PAUSES_FOR: chrono::TimeDelta = chrono::TimeDelta::days(120);

    /// Declares maintenance, or updates the one in force (its start stays).
    pub fn declare(
        &mut self,
        reason: Reason,
        expected_end: Option<DateTime<Utc>>,
        suspends_withdrawals: bool,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), NetworkStatusError> {
        if expected_end.is_some_and(|end| end <= now) {
            return Err(NetworkStatusError::EndInThePast);
        }
        let since = self.maintenance.as_ref().map_or(now, |m| m.since);
        let note = match &self.maintenance {
            Some(_) => format!("maintenance updated: {}", reason.en),
            None => format!("maintenance declared: {}", reason.en),
        };
        if self.maintenance.is_none() {
            self.pauses.push(Pause { start: now, end: None });
        }
        self.maintenance =
            Some(Maintenance { reason, since, expected_end, suspends_withdrawals, declared_by: by.to_owned() });
        self.push_history(StatusChange { at: now, status: NetworkStatus::Maintenance, note, by: by.to_owned() });
        Ok(())
    }

    pub fn end_maintenance(&mut self, by: &str, now: DateTime<Utc>) -> Result<(), NetworkStatusError> {
        if self.maintenance.take().is_none() {
            return Err(NetworkStatusError::NotInMaintenance);
        }
        if let Some(open) = self.pauses.iter_mut().rev().find(|p| p.end.is_none()) {
            open.end = Some(now);
        }
        self.pauses.retain(|p| p.end.is_none_or(|end| now - end < Self::KEEP_PAUSES_FOR));
        let status = self.observed.map_or(NetworkStatus::Operational, |o| o.status);
        self.push_history(StatusChange { at: now, status, note: "maintenance ended".into(), by: by.to_owned() });
        Ok(())
    }

    /// Records what the chain shows; `true` when that changed (and is in the
    /// history).
    pub fn observe(&mut self, status: NetworkStatus, note: &str, now: DateTime<Utc>) -> bool {
        if self.observed.is_some_and(|o| o.status == status) {
            return false;
        }
        self.observed = Some(Observed { status, since: now });
        self.push_history(StatusChange { at: now, status, note: note.to_owned(), by: TRACKER.into() });
        true
    }

    /// The status shown: declared maintenance first, then what the chain shows.
    pub fn status(&self) -> (NetworkStatus, Option<DateTime<Utc>>) {
        match (&self.maintenance, self.observed) {
            (Some(m), _) => (NetworkStatus::Maintenance, Some(m.since)),
            (None, Some(o)) => (o.status, Some(o.since)),
            (None, None) => (NetworkStatus::Operational, None),
        }
    }

    pub(super) fn push_history(&mut self, change: StatusChange) {
        self.history.push(change);
        let excess = self.history.len().saturating_sub(Self::MAX_HISTORY);
        self.history.drain(..excess);
    }
}

/// What the tracker last saw of its chain, kept in the store by the replica
/// that polls it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHealth {
    pub tip_height: Option<u64>,
    /// When the tip last moved (when it was first seen, at start).
    #[serde(with = "rfc3339::option", default)]
    pub tip_changed_at: Option<DateTime<Utc>>,
    #[serde(with = "rfc3339::option", default)]
    pub last_ok_at: Option<DateTime<Utc>>,
    /// The first of the failures in a row, and the newest one's text.
    #[serde(with = "rfc3339::option", default)]
    pub failing_since: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl ChainHealth {
    pub fn empty() -> ChainHealth {
        ChainHealth { tip_height: None, tip_changed_at: None, last_ok_at: None, failing_since: None, last_error: None }
    }

    pub fn polled(&mut self, tip_height: u64, now: DateTime<Utc>) {
        if self.tip_height != Some(tip_height) {
            self.tip_height = Some(tip_height);
            self.tip_changed_at = Some(now);
        }
        self.last_ok_at = Some(now);
        self.failing_since = None;
        self.last_error = None;
    }

    pub fn failed(&mut self, error: &str, now: DateTime<Utc>) {
        self.failing_since.get_or_insert(now);
        self.last_error = Some(error.chars().take(300).collect());
    }
}

/// When a network counts as halted or degraded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthRules {
    /// No new block for this long.
    pub halted_after: Duration,
    /// The explorer failing for this long.
    pub degraded_after: Duration,
}

impl HealthRules {
    /// Halted: no block for about ten usual block intervals (at least 10
    /// minutes, so a fast chain's short hiccup is not a halt); degraded: the
    /// explorer failing for three poll intervals (at least a minute).
    pub fn defaults(network: Network, poll_interval: Duration) -> HealthRules {
        let halted_after = (network.target_block_interval() * 10).max(Duration::from_secs(600));
        HealthRules { halted_after, degraded_after: (poll_interval * 3).max(Duration::from_secs(60)) }
    }
}

/// What the chain shows, from the tracker's health report and whether the
/// arrival estimate's signals call the network congested, and a short note
/// for the history. We seeing less comes first, then a halt, then congestion.
pub fn observed_status(
    health: &ChainHealth,
    rules: HealthRules,
    congested: bool,
    now: DateTime<Utc>,
) -> (NetworkStatus, String) {
    let for_at_least = |since: Option<DateTime<Utc>>, limit: Duration| {
        since.is_some_and(|since| (now - since).to_std().is_ok_and(|elapsed| elapsed >= limit))
    };
    if for_at_least(health.failing_since, rules.degraded_after) {
        let error = health.last_error.as_deref().unwrap_or("unknown error");
        return (NetworkStatus::Degraded, format!("explorer failing: {error}"));
    }
    if for_at_least(health.tip_changed_at, rules.halted_after) {
        let height = health.tip_height.map_or_else(|| "?".to_owned(), |h| h.to_string());
        return (NetworkStatus::Halted, format!("no new block since height {height}"));
    }
    if congested {
        return (NetworkStatus::Congested, "fees or the backlog well above normal".to_owned());
    }
    (NetworkStatus::Operational, "blocks flowing".to_owned())
}

/// The sentence a withdrawal's view adds when its network is in maintenance
/// or halted; `None` otherwise. Times in the exchange's zone, written with
/// its UTC offset ("14:00 UTC+8").
pub fn notice(network: Network, record: &NetworkRecord, language: Language, zone: Tz) -> Option<String> {
    let name = network.display_name();
    match (record.status().0, &record.maintenance) {
        (NetworkStatus::Maintenance, Some(m)) => {
            let reason = m.reason.in_language(language);
            let end = m.expected_end.map(|end| local_time(end, zone));
            Some(match (language, m.suspends_withdrawals, end) {
                (Language::English, true, Some(end)) => {
                    format!("{name} withdrawals are paused ({reason}), expected to resume at {end}.")
                }
                (Language::English, true, None) => format!("{name} withdrawals are paused ({reason})."),
                (Language::English, false, Some(end)) => {
                    format!("The {name} network is under maintenance ({reason}), expected to end at {end}.")
                }
                (Language::English, false, None) => format!("The {name} network is under maintenance ({reason})."),
                (Language::SimplifiedChinese, true, Some(end)) => {
                    format!("{name} 提现已暂停（{reason}），预计于 {end} 恢复。")
                }
                (Language::SimplifiedChinese, true, None) => format!("{name} 提现已暂停（{reason}）。"),
                (Language::SimplifiedChinese, false, Some(end)) => {
                    format!("{name} 网络正在维护（{reason}），预计于 {end} 结束。")
                }
                (Language::SimplifiedChinese, false, None) => format!("{name} 网络正在维护（{reason}）。"),
            })
        }
        (NetworkStatus::Halted, _) => {
            Some(match language {
                Language::English => {
                    format!("The {name} network has stopped producing blocks; your withdrawal will continue when it resumes.")
                }
                Language::SimplifiedChinese => format!("{name} 网络已暂停出块，网络恢复后您的提现将继续处理。"),
            })
        }
        _ => {
            let incident = record.open_incident()?;
            let reason = incident.reason.as_ref().map(|r| r.in_language(language));
            Some(match (language, reason) {
                (Language::English, Some(reason)) => {
                    format!("{name} withdrawals are delayed by a known problem ({reason}); we are working on it.")
                }
                (Language::English, None) => {
                    format!("{name} withdrawals are delayed by a known problem; we are working on it.")
                }
                (Language::SimplifiedChinese, Some(reason)) => {
                    format!("{name} 提现因已知问题（{reason}）出现延迟，我们正在处理。")
                }
                (Language::SimplifiedChinese, None) => format!("{name} 提现因已知问题出现延迟，我们正在处理。"),
            })
        }
    }
}

fn local_time(at: DateTime<Utc>, zone: Tz) -> String {
    let local = at.with_timezone(&zone);
    let offset: FixedOffset = local.offset().fix();
    let seconds = offset.local_minus_utc();
    let (sign, hours, minutes) = (if seconds < 0 { '-' } else { '+' }, seconds.abs() / 3600, seconds.abs() % 3600 / 60);
    let zone_text = if minutes == 0 { format!("UTC{sign}{hours}") } else { format!("UTC{sign}{hours}:{minutes:02}") };
    format!("{} {zone_text}", local.format("%Y-%m-%d %H:%M"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::at;

    fn reason() -> Reason {
        Reason::parse("network upgrade", "网络升级").unwrap()
    }

    #[test]
    fn maintenance_is_declared_updated_and_ended_with_history_and_one_pause() {
        let mut record = NetworkRecord::default();
        let t0 = at("2026-03-06T02:00:00Z");
        record.declare(reason(), Some(at("2026-03-06T06:00:00Z")), true, "alice", t0).unwrap();
        assert_eq!(record.status(), (NetworkStatus::Maintenance, Some(t0)));
        record.declare(reason(), Some(at("2026-03-06T08:00:00Z")), true, "bob", at("2026-03-06T03:00:00Z")).unwrap();
        assert_eq!(record.maintenance.as_ref().unwrap().since, t0, "an update keeps the start");
        assert_eq!(record.pauses, vec![Pause { start: t0, end: None }]);
        let end = at("2026-03-06T07:00:00Z");
        record.end_maintenance("carol", end).unwrap();
        assert_eq!(record.pauses, vec![Pause { start: t0, end: Some(end) }]);
        assert_eq!(record.status().0, NetworkStatus::Operational);
        let who: Vec<&str> = record.history.iter().map(|c| c.by.as_str()).collect();
        assert_eq!(who, ["alice", "bob", "carol"]);
        assert_eq!(record.end_maintenance("carol", end), Err(NetworkStatusError::NotInMaintenance));
        assert_eq!(record.declare(reason(), Some(end), false, "dave", end), Err(NetworkStatusError::EndInThePast));
    }

    #[test]
    fn reasons_are_one_line_in_both_languages() {
        assert!(Reason::parse("", "x").is_err());
        assert!(Reason::parse("x", " ").is_err());
        assert!(Reason::parse("a\nb", "x").is_err());
        assert!(Reason::parse(&"a".repeat(201), "x").is_err());
        assert_eq!(Reason::parse(" upgrade ", "升级").unwrap().en, "upgrade");
    }

    #[test]
    fn the_chain_is_halted_degraded_or_operational_by_its_health() {
        let rules = HealthRules { halted_after: Duration::from_secs(3600), degraded_after: Duration::from_secs(60) };
        let mut health = ChainHealth::empty();
        health.polled(100, at("2026-03-06T00:00:00Z"));
        assert_eq!(observed_status(&health, rules, false, at("2026-03-06T00:59:59Z")).0, NetworkStatus::Operational);
        assert_eq!(observed_status(&health, rules, false, at("2026-03-06T01:00:00Z")).0, NetworkStatus::Halted);
        assert_eq!(observed_status(&health, rules, true, at("2026-03-06T01:00:00Z")).0, NetworkStatus::Halted);
        health.polled(101, at("2026-03-06T01:00:05Z"));
        assert_eq!(observed_status(&health, rules, false, at("2026-03-06T01:00:10Z")).0, NetworkStatus::Operational);
        assert_eq!(observed_status(&health, rules, true, at("2026-03-06T01:00:10Z")).0, NetworkStatus::Congested);
        health.failed("HTTP 503", at("2026-03-06T01:01:00Z"));
        health.failed("HTTP 502", at("2026-03-06T01:01:30Z"));
        assert_eq!(observed_status(&health, rules, false, at("2026-03-06T01:01:59Z")).0, NetworkStatus::Operational);
        let (status, note) = observed_status(&health, rules, true, at("2026-03-06T01:02:00Z"));
        assert_eq!((status, note.as_str()), (NetworkStatus::Degraded, "explorer failing: HTTP 502"));
        assert!(HealthRules::defaults(Network::Btc, Duration::from_secs(30)).halted_after >= Duration::from_secs(6000));
        assert_eq!(
            HealthRules::defaults(Network::Trx, Duration::from_secs(3)).halted_after,
            Duration::from_secs(600),
            "at least ten minutes"
        );
    }

    #[test]
    fn observed_changes_enter_the_history_once() {
        let mut record = NetworkRecord::default();
        assert!(record.observe(NetworkStatus::Halted, "no new block", at("2026-03-06T00:00:00Z")));
        assert!(!record.observe(NetworkStatus::Halted, "no new block", at("2026-03-06T00:01:00Z")));
        assert!(record.observe(NetworkStatus::Operational, "blocks flowing", at("2026-03-06T00:02:00Z")));
        assert_eq!(record.history.len(), 2);
        for minute in 0..300 {
            let status = if minute % 2 == 0 { NetworkStatus::Halted } else { NetworkStatus::Operational };
            record.observe(status, "flap", at("2026-03-06T01:00:00Z") + chrono::TimeDelta::minutes(minute));
        }
        assert_eq!(record.history.len(), NetworkRecord::MAX_HISTORY, "bounded");
    }

    #[test]
    fn the_notice_names_the_network_the_reason_and_the_expected_end_in_the_exchange_zone() {
        let mut record = NetworkRecord::default();
        let zone: Tz = "Asia/Shanghai".parse().unwrap();
        assert_eq!(notice(Network::Trx, &record, Language::English, zone), None);
        record.declare(reason(), Some(at("2026-03-06T06:00:00Z")), true, "alice", at("2026-03-06T02:00:00Z")).unwrap();
        assert_eq!(
            notice(Network::Trx, &record, Language::English, zone).unwrap(),
            "TRON withdrawals are paused (network upgrade), expected to resume at 2026-03-06 14:00 UTC+8."
        );
        assert_eq!(
            notice(Network::Trx, &record, Language::SimplifiedChinese, zone).unwrap(),
            "TRON 提现已暂停（网络升级），预计于 2026-03-06 14:00 UTC+8 恢复。"
        );
        record.end_maintenance("alice", at("2026-03-06T05:00:00Z")).unwrap();
        record.observe(NetworkStatus::Halted, "no new block", at("2026-03-06T05:00:00Z"));
        assert!(notice(Network::Trx, &record, Language::English, zone).unwrap().contains("stopped producing blocks"));
        record.observe(NetworkStatus::Operational, "blocks flowing", at("2026-03-06T05:30:00Z"));
        let policy = crate::domain::escalation::EscalationPolicy::default();
        let hot_wallet = Reason::parse("hot wallet refill", "热钱包补充").unwrap();
        record.declare_incident(Network::Trx, hot_wallet, "alice", &policy, at("2026-03-06T05:40:00Z")).unwrap();
        assert_eq!(
            notice(Network::Trx, &record, Language::English, zone).unwrap(),
            "TRON withdrawals are delayed by a known problem (hot wallet refill); we are working on it."
        );
        assert_eq!(
            notice(Network::Trx, &record, Language::SimplifiedChinese, zone).unwrap(),
            "TRON 提现因已知问题（热钱包补充）出现延迟，我们正在处理。"
        );
        let utc: Tz = "UTC".parse().unwrap();
        let mut record = NetworkRecord::default();
        record.declare(reason(), Some(at("2026-03-06T06:30:00Z")), false, "a", at("2026-03-06T02:00:00Z")).unwrap();
        assert!(notice(Network::Btc, &record, Language::English, utc).unwrap().ends_with("2026-03-06 06:30 UTC+0."));
    }
}
