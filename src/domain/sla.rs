//! The working-day SLA: deadlines from the calendar, and where a withdrawal
//! stands against them. Pure: the calendar and the time are inputs.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{rfc3339, Network, State, Withdrawal};

/// Working time arithmetic; implemented by the working-day calendar.
pub trait WorkingTime: Send + Sync {
    /// The instant `days` working days after `start`.
    fn add_working_days(&self, start: DateTime<Utc>, days: u32) -> DateTime<Utc>;
    /// Working time between two instants, in working days.
    fn working_days_between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> f64;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaPolicy {
    pub at_risk_after: u32,
    pub overdue_after: u32,
    /// Slow chains get more working days on both thresholds.
    pub extra_working_days: BTreeMap<Network, u32>,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        SlaPolicy { at_risk_after: 1, overdue_after: 2, extra_working_days: BTreeMap::new() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaStatus {
    OnTrack,
    AtRisk,
    Overdue,
    /// Completed by `overdue_at`.
    Met,
    /// Completed after `overdue_at`.
    Breached,
    /// Cancelled: the clock no longer runs.
    Stopped,
}

impl SlaStatus {
    pub const OPEN: [SlaStatus; 3] = [SlaStatus::OnTrack, SlaStatus::AtRisk, SlaStatus::Overdue];

    pub fn as_str(self) -> &'static str {
        match self {
            SlaStatus::OnTrack => "on_track",
            SlaStatus::AtRisk => "at_risk",
            SlaStatus::Overdue => "overdue",
            SlaStatus::Met => "met",
            SlaStatus::Breached => "breached",
            SlaStatus::Stopped => "stopped",
        }
    }
}

/// What the store keeps: the deadlines, and the status as of the last time
/// the sweeper (or a state change) looked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaDeadlines {
    #[serde(with = "rfc3339")]
    pub at_risk_at: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub overdue_at: DateTime<Utc>,
    pub status: SlaStatus,
}

impl SlaPolicy {
    pub fn deadlines(&self, calendar: &dyn WorkingTime, network: Network, requested_at: DateTime<Utc>) -> SlaDeadlines {
        let extra = self.extra_working_days.get(&network).copied().unwrap_or(0);
        SlaDeadlines {
            at_risk_at: calendar.add_working_days(requested_at, self.at_risk_after + extra),
            overdue_at: calendar.add_working_days(requested_at, self.overdue_after + extra),
            status: SlaStatus::OnTrack,
        }
    }
}

/// Where a withdrawal stands at `now`. `failed` and `dropped` keep the clock
/// running: the user still has no money.
pub fn status_at(deadlines: &SlaDeadlines, withdrawal: &Withdrawal, now: DateTime<Utc>) -> SlaStatus {
    match (withdrawal.state(), withdrawal.completed_at()) {
        (State::Cancelled, _) => SlaStatus::Stopped,
        (State::Completed, Some(done)) if done <= deadlines.overdue_at => SlaStatus::Met,
        (State::Completed, _) => SlaStatus::Breached,
        _ if now >= deadlines.overdue_at => SlaStatus::Overdue,
        _ if now >= deadlines.at_risk_at => SlaStatus::AtRisk,
        _ => SlaStatus::OnTrack,
    }
}

/// The next instant the SLA status of a non-terminal withdrawal changes.
pub fn next_threshold(deadlines: &SlaDeadlines, withdrawal: &Withdrawal, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if withdrawal.state().is_terminal() {
        return None;
    }
    [deadlines.at_risk_at, deadlines.overdue_at].into_iter().find(|t| *t > now)
}

/// When the clock stopped: completion, cancellation, or still running.
pub fn clock_end(withdrawal: &Withdrawal, now: DateTime<Utc>) -> DateTime<Utc> {
    match withdrawal.state() {
        State::Completed => withdrawal.completed_at().unwrap_or(now),
        State::Cancelled => withdrawal.history().last().map_or(now, |h| h.at),
        _ => now,
    }
}

/// Working days elapsed, rounded to two decimals as the API shows them.
pub fn working_days_elapsed(calendar: &dyn WorkingTime, withdrawal: &Withdrawal, now: DateTime<Utc>) -> f64 {
    let days = calendar.working_days_between(withdrawal.requested_at.to_utc(), clock_end(withdrawal, now));
    (days * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TxHash;
    use crate::domain::{at, default_calendar as calendar};

    /// Requested Friday 2026-03-06 10:00 UTC.
    fn friday_withdrawal() -> Withdrawal {
        crate::domain::sample_withdrawal("w", "2026-03-06T10:00:00Z", false)
    }

    #[test]
    fn deadlines_skip_the_weekend_and_slow_chains_get_extra_days() {
        let w = friday_withdrawal();
        let policy = SlaPolicy::default();
        let d = policy.deadlines(&calendar(), Network::Btc, w.requested_at.to_utc());
        assert_eq!(d.at_risk_at, at("2026-03-09T10:00:00Z"));
        assert_eq!(d.overdue_at, at("2026-03-10T10:00:00Z"));
        let slow = SlaPolicy { extra_working_days: [(Network::Btc, 1)].into(), ..SlaPolicy::default() };
        assert_eq!(
            slow.deadlines(&calendar(), Network::Btc, w.requested_at.to_utc()).overdue_at,
            at("2026-03-11T10:00:00Z")
        );
        assert_eq!(
            slow.deadlines(&calendar(), Network::Eth, w.requested_at.to_utc()).overdue_at,
            at("2026-03-10T10:00:00Z")
        );
    }

    #[test]
    fn status_follows_time_and_state() {
        let cal = calendar();
        let mut w = friday_withdrawal();
        let d = SlaPolicy::default().deadlines(&cal, w.network, w.requested_at.to_utc());
        assert_eq!(status_at(&d, &w, at("2026-03-09T09:59:59Z")), SlaStatus::OnTrack);
        assert_eq!(status_at(&d, &w, at("2026-03-09T10:00:00Z")), SlaStatus::AtRisk);
        assert_eq!(status_at(&d, &w, at("2026-03-10T10:00:00Z")), SlaStatus::Overdue);
        assert_eq!(next_threshold(&d, &w, at("2026-03-07T00:00:00Z")), Some(d.at_risk_at));
        assert_eq!(next_threshold(&d, &w, at("2026-03-09T12:00:00Z")), Some(d.overdue_at));
        assert_eq!(next_threshold(&d, &w, at("2026-03-11T00:00:00Z")), None);

        let hash = TxHash::parse(Network::Btc, &"ab".repeat(32)).unwrap();
        w.set_tx_hash(hash, at("2026-03-06T11:00:00Z")).unwrap();
        w.transition(State::Failed, "reverted", at("2026-03-06T12:00:00Z")).unwrap();
        assert_eq!(status_at(&d, &w, at("2026-03-10T10:00:00Z")), SlaStatus::Overdue, "failed keeps the clock running");
        w.transition(State::Cancelled, "refunded", at("2026-03-09T10:00:00Z")).unwrap();
        assert_eq!(status_at(&d, &w, at("2026-03-20T00:00:00Z")), SlaStatus::Stopped);
        assert_eq!(next_threshold(&d, &w, at("2026-03-07T00:00:00Z")), None);
        assert_eq!(working_days_elapsed(&cal, &w, at("2026-03-20T00:00:00Z")), 1.0, "Fri 10:00 to Mon 10:00");
    }

    #[test]
    fn completion_is_met_or_breached_against_overdue_at() {
        let cal = calendar();
        let complete_at = |when: &str| {
            let mut w = friday_withdrawal();
            let hash = TxHash::parse(Network::Btc, &"ab".repeat(32)).unwrap();
            w.set_tx_hash(hash, at("2026-03-06T11:00:00Z")).unwrap();
            w.transition(State::Completed, "confirmed", at(when)).unwrap();
            w
        };
        let w = complete_at("2026-03-10T10:00:00Z");
        let d = SlaPolicy::default().deadlines(&cal, w.network, w.requested_at.to_utc());
        assert_eq!(status_at(&d, &w, at("2026-04-01T00:00:00Z")), SlaStatus::Met, "on the deadline is in time");
        let late = complete_at("2026-03-10T10:00:01Z");
        assert_eq!(status_at(&d, &late, at("2026-04-01T00:00:00Z")), SlaStatus::Breached);
        assert_eq!(working_days_elapsed(&cal, &w, at("2026-04-01T00:00:00Z")), 2.0, "the clock stopped at completion");
    }
}
