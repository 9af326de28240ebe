//! The working-day SLA: deadlines from the calendar, and where a withdrawal
//! stands against them. Pure: the calendar and the time are inputs.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Network, State, Withdrawal};

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
    pub at_risk_at: DateTime<Utc>,
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
    match (withdrawal.state, withdrawal.completed_at) {
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
    if withdrawal.state.is_terminal() {
        return None;
    }
    [deadlines.at_risk_at, deadlines.overdue_at].into_iter().find(|t| *t > now)
}

/// When the clock stopped: completion, cancellation, or still running.
pub fn clock_end(withdrawal: &Withdrawal, now: DateTime<Utc>) -> DateTime<Utc> {
    match withdrawal.state {
        State::Completed => withdrawal.completed_at.unwrap_or(now),
        State::Cancelled => withdrawal.history.last().map_or(now, |h| h.at),
        _ => now,
    }
}

/// Working days elapsed, rounded to two decimals as the API shows them.
pub fn working_days_elapsed(calendar: &dyn WorkingTime, withdrawal: &Withdrawal, now: DateTime<Utc>) -> f64 {
    let days = calendar.working_days_between(withdrawal.requested_at.to_utc(), clock_end(withdrawal, now));
    (days * 100.0).round() / 100.0
}
