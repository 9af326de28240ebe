//! The working-day SLA: deadlines from the calendar, and where a withdrawal
//! stands against them. Pure: the calendar and the time are inputs.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::network_status::Pause;
use super::{rfc3339, Network, State, Withdrawal};

/// Working time arithmetic; implemented by the working-day calendar.
pub trait WorkingTime: Send + Sync {
    /// The instant `days` working days after `start`.
    fn add_working_days(&self, start: DateTime<Utc>, days: u32) -> DateTime<Utc>;
    /// Working time between two instants, in working days.
    fn working_days_between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> f64;
    /// The instant `seconds` of working time after `start`.
    fn add_working_seconds(&self, start: DateTime<Utc>, seconds: i64) -> DateTime<Utc>;
    /// Working time between two instants, in whole seconds.
    fn working_seconds_between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> i64;
    /// One working day of working time, in seconds.
    fn working_day_seconds(&self) -> i64;
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

impl SlaPolicy {
    /// [`Self::deadlines`] where the working time inside `pauses` (declared
    /// maintenance, with `sla.pause_during_maintenance`) does not count: each
    /// deadline is the first instant by which that much unpaused working time
    /// has accrued. A pause still open counts up to `now`, so the deadline
    /// keeps moving while it lasts.
    pub fn deadlines_with_pauses(
        &self,
        calendar: &dyn WorkingTime,
        network: Network,
        requested_at: DateTime<Utc>,
        pauses: &[Pause],
        now: DateTime<Utc>,
    ) -> SlaDeadlines {
        let extra = self.extra_working_days.get(&network).copied().unwrap_or(0);
        let day = calendar.working_day_seconds();
        let deadline = |days: u32| unpaused_deadline(calendar, requested_at, i64::from(days) * day, pauses, now);
        SlaDeadlines {
            at_risk_at: deadline(self.at_risk_after + extra),
            overdue_at: deadline(self.overdue_after + extra),
            status: SlaStatus::OnTrack,
        }
    }
}

/// The first instant after `start` by which `working` seconds of working
/// time outside `pauses` have accrued. Each round adds the paused working
/// time found before the current candidate; the candidate only moves later,
/// and stops once no further pause time falls before it.
fn unpaused_deadline(
    calendar: &dyn WorkingTime,
    start: DateTime<Utc>,
    working: i64,
    pauses: &[Pause],
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let mut deadline = calendar.add_working_seconds(start, working);
    // Each round either stops or takes in at least one more pause.
    for _ in 0..=pauses.len() {
        let paused = paused_working_seconds(calendar, start, deadline, pauses, now);
        let next = calendar.add_working_seconds(start, working.saturating_add(paused));
        if next == deadline {
            break;
        }
        deadline = next;
    }
    deadline
}

/// Working seconds inside `pauses` between `from` and `to` (overlapping
/// pauses count once).
pub fn paused_working_seconds(
    calendar: &dyn WorkingTime,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    pauses: &[Pause],
    now: DateTime<Utc>,
) -> i64 {
    let mut spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = pauses
        .iter()
        .map(|p| (p.start.max(from), p.end.unwrap_or(now).min(to)))
        .filter(|(start, end)| start < end)
        .collect();
    spans.sort();
    let mut total = 0;
    let mut covered_until = from;
    for (start, end) in spans {
        let start = start.max(covered_until);
        if start < end {
            total += calendar.working_seconds_between(start, end);
            covered_until = end;
        }
    }
    total
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

    /// Shanghai, 09:00-18:00 working hours, weekends off, 2026-05-01 a
    /// holiday and Saturday 2026-05-09 a make-up working day.
    fn office_calendar() -> crate::domain::calendar::WorkingCalendar {
        let config = crate::domain::calendar::CalendarConfig {
            timezone: "Asia/Shanghai".into(),
            working_hours: "09:00-18:00".into(),
            holidays: vec!["2026-05-01".into()],
            make_up_workdays: vec!["2026-05-09".into()],
            ..Default::default()
        };
        crate::domain::calendar::WorkingCalendar::from_config(&config, &[]).unwrap()
    }

    fn pause(start: &str, end: Option<&str>) -> Pause {
        Pause { start: at(start), end: end.map(at) }
    }

    #[test]
    fn a_pause_moves_each_deadline_by_exactly_the_working_time_it_covers() {
        let cal = office_calendar();
        let policy = SlaPolicy::default();
        // Wednesday 2026-04-29 10:00 Shanghai (02:00 UTC).
        let requested = at("2026-04-29T02:00:00Z");
        let plain = policy.deadlines(&cal, Network::Trx, requested);
        let now = at("2026-06-01T00:00:00Z");
        assert_eq!(policy.deadlines_with_pauses(&cal, Network::Trx, requested, &[], now), plain);
        // Maintenance from Thursday 16:00 to Monday 11:00 Shanghai: across the
        // Friday holiday and the weekend it covers 2 h on Thursday and 2 h on
        // Monday, nothing else.
        let window = pause("2026-04-30T08:00:00Z", Some("2026-05-04T03:00:00Z"));
        assert_eq!(paused_working_seconds(&cal, requested, now, &[window], now), 4 * 3600);
        let paused = policy.deadlines_with_pauses(&cal, Network::Trx, requested, &[window], now);
        // at_risk (Thursday 10:00) comes before the pause: it stays. overdue
        // (Monday 10:00, the Friday a holiday) moves by all 4 h, to 14:00.
        assert_eq!((plain.at_risk_at, paused.at_risk_at), (at("2026-04-30T02:00:00Z"), plain.at_risk_at));
        assert_eq!((plain.overdue_at, paused.overdue_at), (at("2026-05-04T02:00:00Z"), at("2026-05-04T06:00:00Z")));
        assert_eq!(cal.working_seconds_between(plain.overdue_at, paused.overdue_at), 4 * 3600);
    }

    #[test]
    fn a_pause_after_the_deadline_or_outside_working_hours_moves_nothing_and_an_open_one_runs_to_now() {
        let cal = office_calendar();
        let policy = SlaPolicy::default();
        let requested = at("2026-04-29T02:00:00Z");
        let plain = policy.deadlines(&cal, Network::Trx, requested);
        let late = pause("2026-06-01T00:00:00Z", Some("2026-06-02T00:00:00Z"));
        let weekend = pause("2026-05-02T00:00:00Z", Some("2026-05-03T12:00:00Z"));
        let now = at("2026-06-10T00:00:00Z");
        assert_eq!(policy.deadlines_with_pauses(&cal, Network::Trx, requested, &[late, weekend], now), plain);
        // Open since Wednesday 15:00 Shanghai, now Thursday 12:00: 3 h + 3 h.
        let open = pause("2026-04-29T07:00:00Z", None);
        let now = at("2026-04-30T04:00:00Z");
        let moving = policy.deadlines_with_pauses(&cal, Network::Trx, requested, &[open], now);
        assert_eq!(cal.working_seconds_between(plain.overdue_at, moving.overdue_at), 6 * 3600);
        // Overlapping pauses count once; the make-up Saturday counts as working time.
        let both = [
            pause("2026-05-08T01:00:00Z", Some("2026-05-09T10:00:00Z")),
            pause("2026-05-09T01:00:00Z", Some("2026-05-09T05:00:00Z")),
        ];
        let friday_requested = at("2026-05-08T01:00:00Z");
        assert_eq!(
            paused_working_seconds(
                &cal,
                friday_requested,
                at("2026-06-01T00:00:00Z"),
                &both,
                at("2026-06-01T00:00:00Z")
            ),
            2 * 9 * 3600,
            "all of Friday and of the make-up Saturday"
        );
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
