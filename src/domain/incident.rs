//! Incidents: one problem on a network that makes many withdrawals late (a
//! halted chain, a storm of overdue withdrawals, or one support declares),
//! escalated as one parent ticket instead of one per withdrawal, the way
//! Alertmanager groups alerts and Zendesk links incidents to a problem.
//! Pure: the incident desk (`incidents.rs`) reads what the network shows,
//! and this module decides when an incident opens, which withdrawals it
//! takes in, when its ticket hears an update, and when it closes. Every
//! event goes through an outbox like a withdrawal's (`escalation`), so it
//! is delivered exactly once.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::escalation::{self, Delivery, EscalationPolicy, OutboxClaim, SendOutcome};
use super::network_status::{NetworkRecord, Reason, StatusChange, TRACKER};
use super::{rfc3339, Network};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentCause {
    /// The chain stopped producing blocks.
    Halted,
    /// At least `incidents.min_overdue` withdrawals went overdue within
    /// `incidents.window`.
    Overdue,
    /// Opened by support; closes only by hand.
    Declared,
}

impl IncidentCause {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentCause::Halted => "halted",
            IncidentCause::Overdue => "overdue",
            IncidentCause::Declared => "declared",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentEvent {
    Opened,
    Updated,
    Closed,
}

impl IncidentEvent {
    /// The event name receivers see.
    pub fn wire_name(self) -> &'static str {
        match self {
            IncidentEvent::Opened => "incident.opened",
            IncidentEvent::Updated => "incident.updated",
            IncidentEvent::Closed => "incident.closed",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentEvent::Opened => "opened",
            IncidentEvent::Updated => "updated",
            IncidentEvent::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// `<NETWORK>-<opening time, UTC, to the second>`: one per network and
    /// second, the same on every replica that would open it.
    pub id: String,
    pub network: Network,
    pub cause: IncidentCause,
    /// What support reads: what opened it.
    pub note: String,
    /// Support's words for users (declared incidents).
    #[serde(default)]
    pub reason: Option<Reason>,
    #[serde(with = "rfc3339")]
    pub opened_at: DateTime<Utc>,
    pub opened_by: String,
    #[serde(with = "rfc3339::option", default)]
    pub closed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub closed_by: Option<String>,
    /// Since when the cause has been gone; it closes `settle_for` later.
    #[serde(with = "rfc3339::option", default)]
    pub cause_cleared_at: Option<DateTime<Utc>>,
    /// The late withdrawals it took in (at most [`Incident::MAX_LISTED`];
    /// `truncated` once more went late).
    pub affected: BTreeSet<String>,
    #[serde(default)]
    pub truncated: bool,
    /// At the close: the affected withdrawals that completed, and those
    /// still in flight (they get tickets of their own).
    #[serde(default)]
    pub recovered: Vec<String>,
    #[serde(default)]
    pub still_late: Vec<String>,
    /// How many were affected as of the newest event queued.
    pub reported_count: u64,
    #[serde(with = "rfc3339::option", default)]
    pub last_update_at: Option<DateTime<Utc>>,
    pub updates: u32,
    pub ticket_id: Option<String>,
    pub deliveries: Vec<Delivery<IncidentEvent>>,
}

impl Incident {
    pub const MAX_LISTED: usize = 5000;

    pub fn affected_count(&self) -> u64 {
        self.affected.len() as u64
    }

    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }

    fn new(
        network: Network,
        cause: IncidentCause,
        note: String,
        reason: Option<Reason>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Self {
        Incident {
            id: format!("{}-{}", network.code(), now.format("%Y%m%dT%H%M%SZ")),
            network,
            cause,
            note,
            reason,
            opened_at: now,
            opened_by: by.to_owned(),
            closed_at: None,
            closed_by: None,
            cause_cleared_at: None,
            affected: BTreeSet::new(),
            truncated: false,
            recovered: Vec::new(),
            still_late: Vec::new(),
            reported_count: 0,
            last_update_at: None,
            updates: 0,
            ticket_id: None,
            deliveries: Vec::new(),
        }
    }

    fn queue(&mut self, event: IncidentEvent, policy: &EscalationPolicy, now: DateTime<Utc>) {
        let key = match event {
            IncidentEvent::Updated => {
                self.updates += 1;
                format!("incident:{}:updated:{}", self.id, self.updates)
            }
            _ => format!("incident:{}:{}", self.id, event.as_str()),
        };
        self.reported_count = self.affected_count();
        self.last_update_at = Some(now);
        self.deliveries.push(Delivery::new(event, key, now, policy));
    }

    /// Takes in late withdrawals it does not hold yet; how many were new.
    fn attach<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) -> u64 {
        let mut added = 0;
        for id in ids {
            if self.affected.contains(id) {
                continue;
            }
            if self.affected.len() >= Self::MAX_LISTED {
                self.truncated = true;
                continue;
            }
            self.affected.insert(id.to_owned());
            added += 1;
        }
        added
    }

    fn close(&mut self, outcomes: Outcomes, by: &str, policy: &EscalationPolicy, now: DateTime<Utc>) {
        self.closed_at = Some(now);
        self.closed_by = Some(by.to_owned());
        self.recovered = outcomes.recovered;
        self.still_late = outcomes.still_late;
        self.queue(IncidentEvent::Closed, policy, now);
    }

    fn settled(&self) -> bool {
        !self.is_open() && escalation::next_due_in(&self.deliveries).is_none()
    }
}

/// `[incidents]`: when incidents open, how often their ticket hears of new
/// withdrawals, and how long a cleared cause must stay cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncidentRules {
    /// Open incidents from what the network shows (off: by hand only).
    pub automatic: bool,
    pub min_overdue: u64,
    pub window: Duration,
    pub update_interval: Duration,
    pub settle_for: Duration,
}

impl Default for IncidentRules {
    fn default() -> Self {
        IncidentRules {
            automatic: true,
            min_overdue: 10,
            window: Duration::from_secs(2 * 3600),
            update_interval: Duration::from_secs(300),
            settle_for: Duration::from_secs(15 * 60),
        }
    }
}

/// What the incident desk saw on one network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sighting {
    pub halted: bool,
    /// The network's overdue, not terminal withdrawals with their `overdue_at`.
    pub overdue: Vec<(String, DateTime<Utc>)>,
    /// The open incident's withdrawals as they ended, read when it may close.
    pub outcomes: Option<Outcomes>,
}

/// The affected withdrawals at a close.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcomes {
    pub recovered: Vec<String>,
    pub still_late: Vec<String>,
}

/// What a step changed, for metrics and for the desk's next moves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepReport {
    pub opened: Option<IncidentCause>,
    pub attached: u64,
    pub closed: Option<IncidentCause>,
    /// The cause has cleared long enough: read the outcomes and step again.
    pub needs_outcomes: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncidentError {
    #[error("the network already has an open incident")]
    AlreadyOpen,
    #[error("the network has no open incident")]
    NoneOpen,
}

/// At most this many incidents are kept per network (the open one, and the
/// newest closed ones whose events went out).
pub const MAX_KEPT: usize = 10;

impl NetworkRecord {
    pub fn open_incident(&self) -> Option<&Incident> {
        self.incidents.last().filter(|i| i.is_open())
    }

    fn open_incident_mut(&mut self) -> Option<&mut Incident> {
        self.incidents.last_mut().filter(|i| i.is_open())
    }

    fn start_incident(&mut self, incident: Incident, policy: &EscalationPolicy, now: DateTime<Utc>) {
        let note = format!("incident {} opened: {}", incident.id, incident.note);
        self.note_history(&note, &incident.opened_by.clone(), now);
        let mut incident = incident;
        incident.queue(IncidentEvent::Opened, policy, now);
        self.incidents.push(incident);
        while self.incidents.len() > MAX_KEPT && self.incidents[0].settled() {
            self.incidents.remove(0);
        }
    }

    fn note_history(&mut self, note: &str, by: &str, now: DateTime<Utc>) {
        let status = self.status().0;
        self.push_history(StatusChange { at: now, status, note: note.to_owned(), by: by.to_owned() });
    }

    /// Support opens an incident by hand.
    pub fn declare_incident(
        &mut self,
        network: Network,
        reason: Reason,
        by: &str,
        policy: &EscalationPolicy,
        now: DateTime<Utc>,
    ) -> Result<&Incident, IncidentError> {
        if self.open_incident().is_some() {
            return Err(IncidentError::AlreadyOpen);
        }
        let note = format!("declared by {by}: {}", reason.en);
        let incident = Incident::new(network, IncidentCause::Declared, note, Some(reason), by, now);
        self.start_incident(incident, policy, now);
        Ok(self.incidents.last().expect("just pushed"))
    }

    /// Support closes the open incident by hand.
    pub fn close_incident(
        &mut self,
        outcomes: Outcomes,
        by: &str,
        policy: &EscalationPolicy,
        now: DateTime<Utc>,
    ) -> Result<&Incident, IncidentError> {
        let incident = self.open_incident_mut().ok_or(IncidentError::NoneOpen)?;
        incident.close(outcomes, by, policy, now);
        let note = format!("incident {} closed", incident.id);
        self.note_history(&note, by, now);
        Ok(self.incidents.last().expect("it was open"))
    }

    /// One round of the incident desk on this network: opens an incident
    /// when the network halts or lateness piles up, takes in the late
    /// withdrawals, queues an update at most once per `update_interval`,
    /// and closes the incident once its cause has stayed cleared for
    /// `settle_for` (and the outcomes were read).
    pub fn step_incidents(
        &mut self,
        network: Network,
        sighting: &Sighting,
        rules: &IncidentRules,
        policy: &EscalationPolicy,
        now: DateTime<Utc>,
    ) -> StepReport {
        let mut report = StepReport::default();
        let overdue_ids = || sighting.overdue.iter().map(|(id, _)| id.as_str());
        if self.open_incident().is_none() {
            if !rules.automatic {
                return report;
            }
            let window = chrono::TimeDelta::from_std(rules.window).unwrap_or(chrono::TimeDelta::MAX);
            let recent = sighting.overdue.iter().filter(|(_, at)| now - *at <= window).count() as u64;
            let (cause, note) = if sighting.halted {
                (IncidentCause::Halted, "the chain stopped producing blocks".to_owned())
            } else if recent >= rules.min_overdue.max(1) {
                (IncidentCause::Overdue, format!("{recent} withdrawals went overdue within {}", human(rules.window)))
            } else {
                return report;
            };
            let mut incident = Incident::new(network, cause, note, None, TRACKER, now);
            report.attached = incident.attach(overdue_ids());
            report.opened = Some(cause);
            self.start_incident(incident, policy, now);
            return report;
        }
        let incident = self.open_incident_mut().expect("checked above");
        report.attached = incident.attach(overdue_ids());
        let cause_present = match incident.cause {
            IncidentCause::Halted => sighting.halted,
            IncidentCause::Overdue => sighting.overdue.len() as u64 >= rules.min_overdue.max(1),
            IncidentCause::Declared => true,
        };
        if cause_present {
            incident.cause_cleared_at = None;
        } else {
            let cleared = *incident.cause_cleared_at.get_or_insert(now);
            if (now - cleared).to_std().is_ok_and(|for_how_long| for_how_long >= rules.settle_for) {
                match &sighting.outcomes {
                    Some(outcomes) => {
                        let cause = incident.cause;
                        incident.close(outcomes.clone(), TRACKER, policy, now);
                        let note = format!("incident {} closed: cause cleared", incident.id);
                        self.note_history(&note, TRACKER, now);
                        report.closed = Some(cause);
                    }
                    None => report.needs_outcomes = true,
                }
                return report;
            }
        }
        let interval = chrono::TimeDelta::from_std(rules.update_interval).unwrap_or(chrono::TimeDelta::MAX);
        let quiet_long_enough = incident.last_update_at.is_none_or(|last| now - last >= interval);
        if incident.affected_count() > incident.reported_count && quiet_long_enough {
            incident.queue(IncidentEvent::Updated, policy, now);
        }
        report
    }

    /// Claims the next due event of any incident's outbox.
    pub fn claim_incident_event(
        &mut self,
        owner: &str,
        policy: &EscalationPolicy,
        now: DateTime<Utc>,
    ) -> Option<(String, OutboxClaim<IncidentEvent>)> {
        self.incidents.iter_mut().find_map(|incident| {
            escalation::claim_next(&mut incident.deliveries, owner, policy, now).map(|c| (incident.id.clone(), c))
        })
    }

    /// Records how `owner`'s claimed incident event went; false when the
    /// claim is no longer theirs.
    #[allow(clippy::too_many_arguments)]
    pub fn record_incident_outcome(
        &mut self,
        incident_id: &str,
        key: &str,
        owner: &str,
        outcome: SendOutcome,
        policy: &EscalationPolicy,
        jitter: f64,
        now: DateTime<Utc>,
    ) -> bool {
        let Some(incident) = self.incidents.iter_mut().find(|i| i.id == incident_id) else { return false };
        match escalation::record_in(&mut incident.deliveries, key, owner, outcome, policy, jitter, now) {
            None => false,
            Some(ticket) => {
                if ticket.is_some() {
                    incident.ticket_id = ticket;
                }
                true
            }
        }
    }

    /// Whether any incident event waits to go out (now or later).
    pub fn incident_events_waiting(&self) -> bool {
        self.incidents.iter().any(|i| escalation::next_due_in(&i.deliveries).is_some())
    }
}

fn human(duration: Duration) -> String {
    let minutes = duration.as_secs() / 60;
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::at;
    use crate::domain::escalation::DeliveryStatus;

    fn rules() -> IncidentRules {
        IncidentRules {
            automatic: true,
            min_overdue: 3,
            window: Duration::from_secs(3600),
            update_interval: Duration::from_secs(300),
            settle_for: Duration::from_secs(600),
        }
    }

    fn overdue(ids: &[&str], at_: &str) -> Vec<(String, DateTime<Utc>)> {
        ids.iter().map(|id| (id.to_string(), at(at_))).collect()
    }

    fn events(record: &NetworkRecord) -> Vec<(String, IncidentEvent)> {
        record
            .incidents
            .iter()
            .flat_map(|i| i.deliveries.iter().map(|d| (d.idempotency_key.clone(), d.event)))
            .collect()
    }

    #[test]
    fn a_halt_opens_one_incident_that_takes_in_the_late_and_closes_after_the_cause_stays_cleared() {
        let (policy, rules) = (EscalationPolicy::default(), rules());
        let mut record = NetworkRecord::default();
        let t0 = at("2026-03-04T10:00:00Z");
        let halted = Sighting { halted: true, ..Sighting::default() };
        let report = record.step_incidents(Network::Btc, &halted, &rules, &policy, t0);
        assert_eq!(report.opened, Some(IncidentCause::Halted));
        assert_eq!(record.step_incidents(Network::Btc, &halted, &rules, &policy, t0).opened, None, "one at a time");
        let incident = record.open_incident().unwrap();
        assert_eq!(incident.id, "BTC-20260304T100000Z");

        // Late withdrawals join; the ticket hears of them once per interval.
        let late = Sighting { halted: true, overdue: overdue(&["w-1", "w-2"], "2026-03-04T10:01:00Z"), outcomes: None };
        let report = record.step_incidents(Network::Btc, &late, &rules, &policy, at("2026-03-04T10:02:00Z"));
        assert_eq!(report.attached, 2);
        assert_eq!(events(&record).len(), 1, "the opened event went out less than 5 minutes ago");
        record.step_incidents(Network::Btc, &late, &rules, &policy, at("2026-03-04T10:05:00Z"));
        let more =
            Sighting { halted: true, overdue: overdue(&["w-1", "w-2", "w-3"], "2026-03-04T10:06:00Z"), outcomes: None };
        record.step_incidents(Network::Btc, &more, &rules, &policy, at("2026-03-04T10:06:00Z"));
        record.step_incidents(Network::Btc, &more, &rules, &policy, at("2026-03-04T10:07:00Z"));
        let keys: Vec<String> = events(&record).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["incident:BTC-20260304T100000Z:opened", "incident:BTC-20260304T100000Z:updated:1"]);
        assert_eq!(record.open_incident().unwrap().affected_count(), 3);

        // Blocks flow again: it closes 10 minutes later, with the outcomes.
        let flowing = Sighting { halted: false, overdue: overdue(&["w-3"], "2026-03-04T10:06:00Z"), outcomes: None };
        assert_eq!(
            record.step_incidents(Network::Btc, &flowing, &rules, &policy, at("2026-03-04T11:00:00Z")),
            StepReport::default()
        );
        let early = record.step_incidents(Network::Btc, &flowing, &rules, &policy, at("2026-03-04T11:09:59Z"));
        assert!(!early.needs_outcomes);
        let due = record.step_incidents(Network::Btc, &flowing, &rules, &policy, at("2026-03-04T11:10:00Z"));
        assert!(due.needs_outcomes && due.closed.is_none());
        let outcomes = Outcomes { recovered: vec!["w-1".into(), "w-2".into()], still_late: vec!["w-3".into()] };
        let with_outcomes = Sighting { outcomes: Some(outcomes.clone()), ..flowing };
        let closed = record.step_incidents(Network::Btc, &with_outcomes, &rules, &policy, at("2026-03-04T11:10:30Z"));
        assert_eq!(closed.closed, Some(IncidentCause::Halted));
        let incident = record.incidents.last().unwrap();
        assert_eq!(
            (incident.recovered.clone(), incident.still_late.clone()),
            (outcomes.recovered, outcomes.still_late)
        );
        assert_eq!(events(&record).last().unwrap().1, IncidentEvent::Closed);
        assert!(record.open_incident().is_none());
        assert!(record.history.iter().any(|c| c.note.contains("closed")));
    }

    #[test]
    fn lateness_piling_up_within_the_window_opens_an_incident_and_a_returning_cause_restarts_the_settling() {
        let (policy, rules) = (EscalationPolicy::default(), rules());
        let mut record = NetworkRecord::default();
        let now = at("2026-03-04T12:00:00Z");
        let old = Sighting { overdue: overdue(&["a", "b", "c"], "2026-03-04T10:00:00Z"), ..Sighting::default() };
        assert_eq!(
            record.step_incidents(Network::Trx, &old, &rules, &policy, now).opened,
            None,
            "late, but not lately"
        );
        let mut storm = old.clone();
        storm.overdue.extend(overdue(&["d", "e", "f"], "2026-03-04T11:30:00Z"));
        let report = record.step_incidents(Network::Trx, &storm, &rules, &policy, now);
        assert_eq!((report.opened, report.attached), (Some(IncidentCause::Overdue), 6));
        assert!(record.open_incident().unwrap().note.starts_with("3 withdrawals went overdue within 1 h"));

        let fewer = Sighting { overdue: overdue(&["a", "b"], "2026-03-04T10:00:00Z"), ..Sighting::default() };
        record.step_incidents(Network::Trx, &fewer, &rules, &policy, at("2026-03-04T12:10:00Z"));
        record.step_incidents(Network::Trx, &storm, &rules, &policy, at("2026-03-04T12:15:00Z"));
        let report = record.step_incidents(Network::Trx, &fewer, &rules, &policy, at("2026-03-04T12:21:00Z"));
        assert!(!report.needs_outcomes, "the cause came back at 12:15: settling starts again at 12:21");
        assert!(
            record.step_incidents(Network::Trx, &fewer, &rules, &policy, at("2026-03-04T12:31:00Z")).needs_outcomes
        );
    }

    #[test]
    fn declared_incidents_open_and_close_by_hand_only() {
        let (policy, rules) = (EscalationPolicy::default(), rules());
        let mut record = NetworkRecord::default();
        let reason = Reason::parse("hot wallet refill", "热钱包补充").unwrap();
        let now = at("2026-03-04T12:00:00Z");
        record.declare_incident(Network::Eth, reason.clone(), "alice", &policy, now).unwrap();
        assert_eq!(record.declare_incident(Network::Eth, reason, "bob", &policy, now), Err(IncidentError::AlreadyOpen));
        let quiet = Sighting::default();
        let report = record.step_incidents(Network::Eth, &quiet, &rules, &policy, at("2026-03-05T12:00:00Z"));
        assert!(!report.needs_outcomes && record.open_incident().is_some(), "no cause to clear");
        record.close_incident(Outcomes::default(), "bob", &policy, at("2026-03-05T13:00:00Z")).unwrap();
        assert_eq!(record.incidents[0].closed_by.as_deref(), Some("bob"));
        assert_eq!(
            record.close_incident(Outcomes::default(), "bob", &policy, now).err(),
            Some(IncidentError::NoneOpen)
        );
        let manual_only = IncidentRules { automatic: false, ..rules };
        let halted = Sighting { halted: true, ..Sighting::default() };
        assert_eq!(record.step_incidents(Network::Eth, &halted, &manual_only, &policy, now).opened, None);
    }

    #[test]
    fn each_event_is_claimed_once_in_order_and_the_ticket_is_kept() {
        let policy = EscalationPolicy::default();
        let mut record = NetworkRecord::default();
        let now = at("2026-03-04T12:00:00Z");
        let halted = Sighting { halted: true, ..Sighting::default() };
        record.step_incidents(Network::Btc, &halted, &rules(), &policy, now);
        let (id, claim) = record.claim_incident_event("replica-a", &policy, now).unwrap();
        assert_eq!(claim.event, IncidentEvent::Opened);
        assert!(record.claim_incident_event("replica-b", &policy, now).is_none(), "claimed by a");
        assert!(!record.record_incident_outcome(
            &id,
            &claim.idempotency_key,
            "replica-b",
            SendOutcome::Delivered { ticket_id: None },
            &policy,
            0.5,
            now
        ));
        let delivered = SendOutcome::Delivered { ticket_id: Some("35436".into()) };
        assert!(record.record_incident_outcome(&id, &claim.idempotency_key, "replica-a", delivered, &policy, 0.5, now));
        assert_eq!(record.incidents[0].ticket_id.as_deref(), Some("35436"));
        assert_eq!(record.incidents[0].deliveries[0].status, DeliveryStatus::Delivered);
        assert!(!record.incident_events_waiting());
    }

    #[test]
    fn old_settled_incidents_make_room_and_long_lists_are_bounded() {
        let policy = EscalationPolicy::default();
        let mut record = NetworkRecord::default();
        for hour in 0..(MAX_KEPT as i64 + 3) {
            let now = at("2026-03-04T00:00:00Z") + chrono::TimeDelta::hours(hour);
            let reason = Reason::parse("x", "x").unwrap();
            record.declare_incident(Network::Btc, reason, "a", &policy, now).unwrap();
            record.close_incident(Outcomes::default(), "a", &policy, now).unwrap();
            for incident in &mut record.incidents {
                for d in &mut incident.deliveries {
                    d.status = DeliveryStatus::Delivered;
                }
            }
        }
        assert_eq!(record.incidents.len(), MAX_KEPT);
        let ids: Vec<String> = (0..Incident::MAX_LISTED + 10).map(|i| format!("w-{i}")).collect();
        let mut incident =
            Incident::new(Network::Btc, IncidentCause::Halted, String::new(), None, "t", at("2026-03-04T00:00:00Z"));
        assert_eq!(incident.attach(ids.iter().map(String::as_str)), Incident::MAX_LISTED as u64);
        assert_eq!(incident.attach(ids.iter().map(String::as_str)), 0, "known ones are not counted again");
        assert!(incident.truncated);
    }
}
