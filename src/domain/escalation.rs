//! Escalation tickets: when one opens, rises and resolves, and the outbox of
//! deliveries that tells the ticket system, each event exactly once. Pure:
//! the sweeper claims a delivery, sends it, and records the outcome here.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::sla::{SlaStatus, WorkingTime};
use super::{rfc3339, State, Withdrawal};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Overdue,
    Failed,
    Dropped,
    PayeeMismatch,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Overdue => "overdue",
            Trigger::Failed => "failed",
            Trigger::Dropped => "dropped",
            Trigger::PayeeMismatch => "payee_mismatch",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketEvent {
    Opened,
    Raised,
    Resolved,
}

impl TicketEvent {
    /// The event name receivers see.
    pub fn wire_name(self) -> &'static str {
        match self {
            TicketEvent::Opened => "escalation.opened",
            TicketEvent::Raised => "escalation.raised",
            TicketEvent::Resolved => "escalation.resolved",
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            TicketEvent::Opened => "opened",
            TicketEvent::Raised => "raised",
            TicketEvent::Resolved => "resolved",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Open,
    Resolved,
    /// A delivery gave up after its attempts; support can retry it.
    Dead,
}

impl TicketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Open => "open",
            TicketStatus::Resolved => "resolved",
            TicketStatus::Dead => "dead",
        }
    }

    pub fn parse(raw: &str) -> Option<TicketStatus> {
        [TicketStatus::Open, TicketStatus::Resolved, TicketStatus::Dead].into_iter().find(|s| s.as_str() == raw)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    /// Claimed by a replica until `next_attempt_at`; if that passes without a
    /// result, the attempt's outcome is unknown and another replica retries.
    InFlight,
    Delivered,
    Dead,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    #[serde(with = "rfc3339")]
    pub at: DateTime<Utc>,
    pub outcome: String,
}

/// One event in an outbox (a withdrawal's ticket events, or an incident's:
/// `E` names them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery<E = TicketEvent> {
    pub event: E,
    pub idempotency_key: String,
    pub status: DeliveryStatus,
    #[serde(with = "rfc3339")]
    pub next_attempt_at: DateTime<Utc>,
    pub attempts: Vec<Attempt>,
    /// Attempts allowed before the delivery is dead; support's retry raises it.
    pub attempt_limit: u32,
    /// Who holds the current claim, so only they record its outcome.
    pub claim: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    pub status: TicketStatus,
    pub level: u8,
    pub reason: Trigger,
    #[serde(with = "rfc3339")]
    pub opened_at: DateTime<Utc>,
    #[serde(default, with = "rfc3339::option")]
    pub raised_at: Option<DateTime<Utc>>,
    #[serde(default, with = "rfc3339::option")]
    pub resolved_at: Option<DateTime<Utc>>,
    /// When level 2 is due if the withdrawal is still not completed.
    #[serde(default, with = "rfc3339::option")]
    pub raise_at: Option<DateTime<Utc>>,
    pub ticket_id: Option<String>,
    pub deliveries: Vec<Delivery>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationPolicy {
    pub escalate_again_after: u32,
    pub max_attempts: u32,
    /// How long a claimed delivery may take before others consider it lost.
    pub claim_lease: Duration,
    pub first_retry: Duration,
    pub max_retry: Duration,
}

impl Default for EscalationPolicy {
    fn default() -> Self {
        EscalationPolicy {
            escalate_again_after: 1,
            max_attempts: 8,
            claim_lease: Duration::from_secs(60),
            first_retry: Duration::from_secs(10),
            max_retry: Duration::from_secs(3600),
        }
    }
}

fn trigger_for(withdrawal: &Withdrawal, sla: Option<SlaStatus>) -> Option<Trigger> {
    if withdrawal.chain.payee_mismatch.is_some() {
        return Some(Trigger::PayeeMismatch);
    }
    match withdrawal.state() {
        State::Failed => Some(Trigger::Failed),
        State::Dropped => Some(Trigger::Dropped),
        _ if sla == Some(SlaStatus::Overdue) => Some(Trigger::Overdue),
        _ => None,
    }
}

fn new_delivery(
    withdrawal: &Withdrawal,
    event: TicketEvent,
    now: DateTime<Utc>,
    policy: &EscalationPolicy,
) -> Delivery {
    Delivery::new(event, format!("{}:{}", withdrawal.id, event.as_str()), now, policy)
}

impl<E> Delivery<E> {
    /// Due at once; `idempotency_key` names the event for the receiver.
    pub fn new(event: E, idempotency_key: String, now: DateTime<Utc>, policy: &EscalationPolicy) -> Delivery<E> {
        Delivery {
            event,
            idempotency_key,
            status: DeliveryStatus::Pending,
            next_attempt_at: now,
            attempts: Vec::new(),
            attempt_limit: policy.max_attempts,
            claim: None,
        }
    }
}

/// Where a late withdrawal's escalation goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// A ticket of its own.
    Own,
    /// Its network has an open incident: lateness is that incident's one
    /// ticket, not one per withdrawal (failures, drops and wrong payments
    /// still get their own).
    InIncident,
}

/// Opens, raises or resolves the withdrawal's ticket as its state and SLA
/// require. At most one ticket per withdrawal; each event is queued once.
pub fn evaluate(
    withdrawal: &mut Withdrawal,
    sla: Option<SlaStatus>,
    calendar: &dyn WorkingTime,
    policy: &EscalationPolicy,
    now: DateTime<Utc>,
) {
    evaluate_grouped(withdrawal, sla, Grouping::Own, calendar, policy, now);
}

/// [`evaluate`], with lateness held back while the network's incident is open.
pub fn evaluate_grouped(
    withdrawal: &mut Withdrawal,
    sla: Option<SlaStatus>,
    grouping: Grouping,
    calendar: &dyn WorkingTime,
    policy: &EscalationPolicy,
    now: DateTime<Utc>,
) {
    let terminal = withdrawal.state().is_terminal();
    match withdrawal.escalation.take() {
        None => {
            // A wrong payment first seen when it already completes the withdrawal
            // (a lagging tracker, one confirmation, a chain's own finality) still
            // escalates at once.
            let opens = |reason: &Trigger| {
                (!terminal || *reason == Trigger::PayeeMismatch)
                    && !(*reason == Trigger::Overdue && grouping == Grouping::InIncident)
            };
            if let Some(reason) = trigger_for(withdrawal, sla).filter(opens) {
                let delivery = new_delivery(withdrawal, TicketEvent::Opened, now, policy);
                withdrawal.escalation = Some(Escalation {
                    status: TicketStatus::Open,
                    level: 1,
                    reason,
                    opened_at: now,
                    raised_at: None,
                    resolved_at: None,
                    raise_at: Some(calendar.add_working_days(now, policy.escalate_again_after)),
                    ticket_id: None,
                    deliveries: vec![delivery],
                });
            }
        }
        Some(mut escalation) => {
            if escalation.resolved_at.is_none() {
                if settles(withdrawal) {
                    escalation.resolved_at = Some(now);
                    escalation.raise_at = None;
                    escalation.deliveries.push(new_delivery(withdrawal, TicketEvent::Resolved, now, policy));
                } else if escalation.level == 1 && escalation.raise_at.is_some_and(|at| now >= at) {
                    escalation.level = 2;
                    escalation.raised_at = Some(now);
                    escalation.raise_at = None;
                    escalation.deliveries.push(new_delivery(withdrawal, TicketEvent::Raised, now, policy));
                }
            }
            escalation.status = ticket_status(&escalation);
            withdrawal.escalation = Some(escalation);
        }
    }
}

/// Whether the withdrawal's outcome closes its ticket. Completed by a
/// transaction that pays the wrong address or amount is not the money
/// arriving: that ticket stays with support (and is raised like any other)
/// until a new transaction completes the withdrawal or it is cancelled.
fn settles(withdrawal: &Withdrawal) -> bool {
    match withdrawal.state() {
        State::Completed => withdrawal.chain.payee_mismatch.is_none(),
        state => state.is_terminal(),
    }
}

fn ticket_status(escalation: &Escalation) -> TicketStatus {
    if escalation.deliveries.iter().any(|d| d.status == DeliveryStatus::Dead) {
        TicketStatus::Dead
    } else if escalation.resolved_at.is_some() {
        TicketStatus::Resolved
    } else {
        TicketStatus::Open
    }
}

/// A delivery claimed from an outbox: what to send, and whether an earlier
/// attempt may have reached the sink (look before creating).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxClaim<E> {
    pub event: E,
    pub idempotency_key: String,
    pub uncertain: bool,
}

/// Claims the next delivery of an outbox if it is due (or its previous
/// claim expired). Deliveries go out in order: a later event needs the
/// ticket the earlier one created.
pub fn claim_next<E: Copy>(
    deliveries: &mut [Delivery<E>],
    owner: &str,
    policy: &EscalationPolicy,
    now: DateTime<Utc>,
) -> Option<OutboxClaim<E>> {
    let delivery = deliveries.iter_mut().find(|d| d.status != DeliveryStatus::Delivered)?;
    let due = matches!(delivery.status, DeliveryStatus::Pending | DeliveryStatus::InFlight)
        && delivery.next_attempt_at <= now;
    if !due {
        return None;
    }
    let uncertain = delivery.status == DeliveryStatus::InFlight || !delivery.attempts.is_empty();
    if delivery.status == DeliveryStatus::InFlight {
        delivery.attempts.push(Attempt { at: now, outcome: "no result before the claim expired".into() });
    }
    delivery.status = DeliveryStatus::InFlight;
    delivery.claim = Some(owner.to_owned());
    delivery.next_attempt_at = now + policy.claim_lease;
    Some(OutboxClaim { event: delivery.event, idempotency_key: delivery.idempotency_key.clone(), uncertain })
}

/// Records the outcome of `owner`'s claim on `key` in an outbox: `None` when
/// the claim is no longer theirs (it expired and someone else took it),
/// else the ticket a delivery named.
pub fn record_in<E>(
    deliveries: &mut [Delivery<E>],
    key: &str,
    owner: &str,
    outcome: SendOutcome,
    policy: &EscalationPolicy,
    jitter: f64,
    now: DateTime<Utc>,
) -> Option<Option<String>> {
    let delivery = deliveries.iter_mut().find(|d| d.idempotency_key == key)?;
    if delivery.status != DeliveryStatus::InFlight || delivery.claim.as_deref() != Some(owner) {
        return None;
    }
    delivery.claim = None;
    match outcome {
        SendOutcome::Delivered { ticket_id } => {
            delivery.attempts.push(Attempt { at: now, outcome: "delivered".into() });
            delivery.status = DeliveryStatus::Delivered;
            return Some(ticket_id);
        }
        SendOutcome::Retry { reason, retry_after } => {
            delivery.attempts.push(Attempt { at: now, outcome: reason });
            if delivery.attempts.len() as u32 >= delivery.attempt_limit {
                delivery.status = DeliveryStatus::Dead;
            } else {
                let wait = backoff(delivery.attempts.len() as u32, policy, jitter).max(retry_after.unwrap_or_default());
                delivery.status = DeliveryStatus::Pending;
                delivery.next_attempt_at = now + wait;
            }
        }
        SendOutcome::GiveUp { reason } => {
            delivery.attempts.push(Attempt { at: now, outcome: reason });
            delivery.status = DeliveryStatus::Dead;
        }
    }
    Some(None)
}

/// Dead deliveries get a fresh set of attempts; false when none was dead.
pub fn retry_dead_in<E>(deliveries: &mut [Delivery<E>], policy: &EscalationPolicy, now: DateTime<Utc>) -> bool {
    let mut retried = false;
    for delivery in deliveries.iter_mut().filter(|d| d.status == DeliveryStatus::Dead) {
        delivery.status = DeliveryStatus::Pending;
        delivery.next_attempt_at = now;
        delivery.attempt_limit = delivery.attempts.len() as u32 + policy.max_attempts;
        retried = true;
    }
    retried
}

/// When an outbox next needs attention: its next delivery's due time.
pub fn next_due_in<E>(deliveries: &[Delivery<E>]) -> Option<DateTime<Utc>> {
    deliveries
        .iter()
        .find(|d| d.status != DeliveryStatus::Delivered)
        .filter(|d| d.status != DeliveryStatus::Dead)
        .map(|d| d.next_attempt_at)
}

/// A delivery this replica has claimed and must now send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub event: TicketEvent,
    pub idempotency_key: String,
    pub level: u8,
    pub reason: Trigger,
    pub ticket_id: Option<String>,
    /// An earlier attempt may have reached the sink: look before creating.
    pub uncertain: bool,
}

/// Claims the withdrawal's next delivery if it is due (or its previous
/// claim expired).
pub fn claim(
    withdrawal: &mut Withdrawal,
    owner: &str,
    policy: &EscalationPolicy,
    now: DateTime<Utc>,
) -> Option<Claimed> {
    let escalation = withdrawal.escalation.as_mut()?;
    let claim = claim_next(&mut escalation.deliveries, owner, policy, now)?;
    Some(Claimed {
        event: claim.event,
        idempotency_key: claim.idempotency_key,
        level: escalation.level,
        reason: escalation.reason,
        ticket_id: escalation.ticket_id.clone(),
        uncertain: claim.uncertain,
    })
}

/// What came of sending a claimed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Delivered { ticket_id: Option<String> },
    Retry { reason: String, retry_after: Option<Duration> },
    GiveUp { reason: String },
}

/// Records the outcome of `owner`'s claim on `key`. Returns false when the
/// claim is no longer theirs (it expired and someone else took it).
pub fn record_outcome(
    withdrawal: &mut Withdrawal,
    key: &str,
    owner: &str,
    outcome: SendOutcome,
    policy: &EscalationPolicy,
    jitter: f64,
    now: DateTime<Utc>,
) -> bool {
    let Some(escalation) = withdrawal.escalation.as_mut() else { return false };
    let Some(ticket_id) = record_in(&mut escalation.deliveries, key, owner, outcome, policy, jitter, now) else {
        return false;
    };
    if ticket_id.is_some() {
        escalation.ticket_id = ticket_id;
    }
    escalation.status = ticket_status(escalation);
    true
}

/// Exponential backoff with jitter: `jitter` in [0, 1) spreads retries of
/// many deliveries so they do not all hit a recovering sink at once.
pub fn backoff(attempts: u32, policy: &EscalationPolicy, jitter: f64) -> Duration {
    let exponential = policy.first_retry.saturating_mul(2u32.saturating_pow(attempts.saturating_sub(1).min(20)));
    let capped = exponential.min(policy.max_retry);
    capped.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0))
}

/// Support's retry of dead deliveries: they get a fresh set of attempts.
pub fn retry_dead(withdrawal: &mut Withdrawal, policy: &EscalationPolicy, now: DateTime<Utc>) -> bool {
    let Some(escalation) = withdrawal.escalation.as_mut() else { return false };
    let retried = retry_dead_in(&mut escalation.deliveries, policy, now);
    escalation.status = ticket_status(escalation);
    retried
}

/// Support closes an open ticket by hand (e.g. a wrong payment settled with
/// the user some other way): the sink hears `resolved` as it would from the
/// withdrawal's own outcome. False when there is no open ticket.
pub fn resolve_by_hand(withdrawal: &mut Withdrawal, policy: &EscalationPolicy, now: DateTime<Utc>) -> bool {
    let Some(mut escalation) = withdrawal.escalation.take() else { return false };
    let open = escalation.resolved_at.is_none();
    if open {
        escalation.resolved_at = Some(now);
        escalation.raise_at = None;
        escalation.deliveries.push(new_delivery(withdrawal, TicketEvent::Resolved, now, policy));
        escalation.status = ticket_status(&escalation);
    }
    withdrawal.escalation = Some(escalation);
    open
}

/// When the outbox next needs attention: the next delivery's due time, or
/// when level 2 is due.
pub fn next_due(escalation: &Escalation) -> Option<DateTime<Utc>> {
    [next_due_in(&escalation.deliveries), escalation.raise_at].into_iter().flatten().min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{at, default_calendar as calendar};
    use crate::domain::{Network, TxHash};

    fn withdrawal() -> Withdrawal {
        crate::domain::sample_withdrawal("w-1", "2026-03-02T10:00:00Z", true)
    }

    fn policy() -> EscalationPolicy {
        EscalationPolicy { max_attempts: 3, ..EscalationPolicy::default() }
    }

    fn events(w: &Withdrawal) -> Vec<TicketEvent> {
        w.escalation.as_ref().map(|e| e.deliveries.iter().map(|d| d.event).collect()).unwrap_or_default()
    }

    #[test]
    fn nothing_opens_while_on_track() {
        let mut w = withdrawal();
        evaluate(&mut w, Some(SlaStatus::AtRisk), &calendar(), &policy(), at("2026-03-03T10:00:00Z"));
        assert!(w.escalation.is_none());
    }

    #[test]
    fn overdue_opens_once_raises_once_and_completion_resolves() {
        let (cal, policy) = (calendar(), policy());
        let mut w = withdrawal();
        let t1 = at("2026-03-04T10:00:00Z");
        evaluate(&mut w, Some(SlaStatus::Overdue), &cal, &policy, t1);
        evaluate(&mut w, Some(SlaStatus::Overdue), &cal, &policy, t1);
        assert_eq!(events(&w), [TicketEvent::Opened]);
        let escalation = w.escalation.as_ref().unwrap();
        assert_eq!((escalation.level, escalation.reason), (1, Trigger::Overdue));
        assert_eq!(escalation.raise_at, Some(at("2026-03-05T10:00:00Z")));

        evaluate(&mut w, Some(SlaStatus::Overdue), &cal, &policy, at("2026-03-05T09:59:59Z"));
        assert_eq!(events(&w).len(), 1, "not yet a working day later");
        evaluate(&mut w, Some(SlaStatus::Overdue), &cal, &policy, at("2026-03-05T10:00:00Z"));
        evaluate(&mut w, Some(SlaStatus::Overdue), &cal, &policy, at("2026-03-06T10:00:00Z"));
        assert_eq!(events(&w), [TicketEvent::Opened, TicketEvent::Raised]);
        assert_eq!(w.escalation.as_ref().unwrap().level, 2);

        w.transition(State::Completed, "confirmed", at("2026-03-06T11:00:00Z")).unwrap();
        evaluate(&mut w, Some(SlaStatus::Breached), &cal, &policy, at("2026-03-06T11:00:00Z"));
        evaluate(&mut w, Some(SlaStatus::Breached), &cal, &policy, at("2026-03-07T11:00:00Z"));
        assert_eq!(events(&w), [TicketEvent::Opened, TicketEvent::Raised, TicketEvent::Resolved]);
        assert_eq!(w.escalation.as_ref().unwrap().status, TicketStatus::Resolved, "decided, the delivery follows");
    }

    #[test]
    fn lateness_in_an_open_incident_waits_for_it_and_failures_do_not() {
        let (cal, policy) = (calendar(), policy());
        let late = at("2026-03-04T10:00:00Z");
        let mut w = withdrawal();
        evaluate_grouped(&mut w, Some(SlaStatus::Overdue), Grouping::InIncident, &cal, &policy, late);
        assert!(w.escalation.is_none(), "the incident's ticket covers it");
        evaluate_grouped(&mut w, Some(SlaStatus::Overdue), Grouping::Own, &cal, &policy, late);
        assert_eq!(events(&w), [TicketEvent::Opened], "the incident closed and it is still late");

        let mut w = withdrawal();
        w.transition(State::Failed, "reverted", late).unwrap();
        evaluate_grouped(&mut w, Some(SlaStatus::Overdue), Grouping::InIncident, &cal, &policy, late);
        assert_eq!(w.escalation.as_ref().unwrap().reason, Trigger::Failed);
    }

    #[test]
    fn failures_and_payee_mismatches_open_at_once() {
        let (cal, policy) = (calendar(), policy());
        let mut w = withdrawal();
        w.transition(State::Failed, "reverted", at("2026-03-02T11:00:00Z")).unwrap();
        evaluate(&mut w, Some(SlaStatus::OnTrack), &cal, &policy, at("2026-03-02T11:00:00Z"));
        assert_eq!(w.escalation.as_ref().unwrap().reason, Trigger::Failed);

        let mut w = withdrawal();
        w.chain.payee_mismatch = Some("pays 0.5 BTC to bc1q...".into());
        evaluate(&mut w, Some(SlaStatus::OnTrack), &cal, &policy, at("2026-03-02T11:00:00Z"));
        assert_eq!(w.escalation.as_ref().unwrap().reason, Trigger::PayeeMismatch);
    }

    #[test]
    fn a_payee_mismatch_seen_only_at_completion_still_opens_a_ticket_that_stays_open() {
        let (cal, policy) = (calendar(), policy());
        let now = at("2026-03-02T11:00:00Z");
        let mut w = withdrawal();
        w.chain.payee_mismatch = Some("pays 0.5 BTC to bc1q...".into());
        w.transition(State::Completed, "2 confirmations", now).unwrap();
        evaluate(&mut w, Some(SlaStatus::Met), &cal, &policy, now);
        assert_eq!(w.escalation.as_ref().unwrap().reason, Trigger::PayeeMismatch);
        evaluate(&mut w, Some(SlaStatus::Met), &cal, &policy, now);
        evaluate(&mut w, Some(SlaStatus::Met), &cal, &policy, now);
        assert_eq!(events(&w), [TicketEvent::Opened], "the money went elsewhere: nothing to resolve");
        assert_eq!(w.escalation.as_ref().unwrap().status, TicketStatus::Open);

        let mut w = withdrawal();
        w.transition(State::Completed, "2 confirmations", now).unwrap();
        evaluate(&mut w, Some(SlaStatus::Breached), &cal, &policy, now);
        assert!(w.escalation.is_none(), "completing late is no ticket by itself");
    }

    #[test]
    fn a_payee_mismatch_ticket_resolves_on_a_right_payment_or_a_refund_not_on_the_wrong_one() {
        let (cal, policy) = (calendar(), policy());
        let now = at("2026-03-02T11:00:00Z");
        let mut paid_elsewhere = crate::domain::sample_withdrawal("w-1", "2026-03-02T10:00:00Z", true);
        paid_elsewhere.chain.payee_mismatch = Some("pays 0.5 BTC to bc1q...".into());
        evaluate(&mut paid_elsewhere, Some(SlaStatus::OnTrack), &cal, &policy, now);
        paid_elsewhere.transition(State::Confirming, "in block", now).unwrap();
        paid_elsewhere.transition(State::Completed, "confirmed", now).unwrap();
        evaluate(&mut paid_elsewhere, Some(SlaStatus::Met), &cal, &policy, now);
        assert_eq!(events(&paid_elsewhere), [TicketEvent::Opened]);

        // The wrong transaction fails; the exchange sends a right one, which completes.
        let mut paid_again = crate::domain::sample_withdrawal("w-2", "2026-03-02T10:00:00Z", true);
        paid_again.chain.payee_mismatch = Some("pays 0.5 BTC to bc1q...".into());
        evaluate(&mut paid_again, Some(SlaStatus::OnTrack), &cal, &policy, now);
        paid_again.transition(State::Failed, "reverted", now).unwrap();
        paid_again.set_tx_hash(TxHash::parse(Network::Btc, &"cd".repeat(32)).unwrap(), now).unwrap();
        paid_again.transition(State::Completed, "confirmed", now).unwrap();
        evaluate(&mut paid_again, Some(SlaStatus::Met), &cal, &policy, now);
        assert_eq!(events(&paid_again), [TicketEvent::Opened, TicketEvent::Resolved]);

        let mut refunded = crate::domain::sample_withdrawal("w-3", "2026-03-02T10:00:00Z", true);
        refunded.chain.payee_mismatch = Some("pays 0.5 BTC to bc1q...".into());
        evaluate(&mut refunded, Some(SlaStatus::OnTrack), &cal, &policy, now);
        refunded.transition(State::Failed, "reverted", now).unwrap();
        refunded.cancel("refunded", now).unwrap();
        evaluate(&mut refunded, Some(SlaStatus::OnTrack), &cal, &policy, now);
        assert_eq!(events(&refunded), [TicketEvent::Opened, TicketEvent::Resolved]);
    }

    #[test]
    fn support_resolves_an_open_ticket_once_and_nothing_else() {
        let (cal, policy) = (calendar(), policy());
        let now = at("2026-03-02T11:00:00Z");
        let mut w = withdrawal();
        assert!(!resolve_by_hand(&mut w, &policy, now), "no ticket");
        w.chain.payee_mismatch = Some("pays 0.5 BTC to bc1q...".into());
        evaluate(&mut w, Some(SlaStatus::OnTrack), &cal, &policy, now);
        assert!(resolve_by_hand(&mut w, &policy, now));
        assert!(!resolve_by_hand(&mut w, &policy, now), "already resolved");
        assert_eq!(events(&w), [TicketEvent::Opened, TicketEvent::Resolved]);
        let escalation = w.escalation.as_ref().unwrap();
        assert_eq!(
            (escalation.status, escalation.resolved_at, escalation.raise_at),
            (TicketStatus::Resolved, Some(now), None)
        );
        evaluate(&mut w, Some(SlaStatus::Overdue), &cal, &policy, at("2026-03-09T11:00:00Z"));
        assert_eq!(events(&w).len(), 2, "a resolved ticket is neither raised nor reopened");
    }

    #[test]
    fn a_claim_is_exclusive_and_outcomes_are_recorded_by_the_claimant_only() {
        let (cal, policy) = (calendar(), policy());
        let mut w = withdrawal();
        let now = at("2026-03-04T10:00:00Z");
        evaluate(&mut w, Some(SlaStatus::Overdue), &cal, &policy, now);
        let claimed = claim(&mut w, "a", &policy, now).unwrap();
        assert!(!claimed.uncertain);
        assert_eq!(claimed.idempotency_key, "w-1:opened");
        assert_eq!(claim(&mut w, "b", &policy, now), None, "in flight: nobody else may take it");
        let delivered = SendOutcome::Delivered { ticket_id: Some("42".into()) };
        assert!(!record_outcome(&mut w, "w-1:opened", "b", delivered.clone(), &policy, 0.5, now));
        assert!(record_outcome(&mut w, "w-1:opened", "a", delivered.clone(), &policy, 0.5, now));
        assert!(!record_outcome(&mut w, "w-1:opened", "a", delivered, &policy, 0.5, now), "only once");
        assert_eq!(w.escalation.as_ref().unwrap().ticket_id.as_deref(), Some("42"));
        assert_eq!(claim(&mut w, "a", &policy, now), None, "nothing left to deliver");
    }

    #[test]
    fn an_expired_claim_is_taken_over_as_uncertain() {
        let (cal, policy) = (calendar(), policy());
        let mut w = withdrawal();
        let now = at("2026-03-04T10:00:00Z");
        evaluate(&mut w, Some(SlaStatus::Overdue), &cal, &policy, now);
        claim(&mut w, "a", &policy, now).unwrap();
        let later = now + policy.claim_lease;
        let taken = claim(&mut w, "b", &policy, later).unwrap();
        assert!(taken.uncertain, "a may have reached the sink before dying");
        assert!(!record_outcome(
            &mut w,
            &taken.idempotency_key,
            "a",
            SendOutcome::Delivered { ticket_id: None },
            &policy,
            0.0,
            later
        ));
    }

    #[test]
    fn retries_back_off_honour_retry_after_and_die_after_the_limit() {
        let (cal, policy) = (calendar(), policy());
        let mut w = withdrawal();
        let mut now = at("2026-03-04T10:00:00Z");
        evaluate(&mut w, Some(SlaStatus::Overdue), &cal, &policy, now);
        let slow_down = std::time::Duration::from_secs(600);
        for attempt in 1..=3 {
            let claimed = claim(&mut w, "a", &policy, now).expect("due");
            let retry_after = (attempt == 1).then_some(slow_down);
            let outcome = SendOutcome::Retry { reason: "HTTP 503".into(), retry_after };
            record_outcome(&mut w, &claimed.idempotency_key, "a", outcome, &policy, 0.5, now);
            let delivery = &w.escalation.as_ref().unwrap().deliveries[0];
            if attempt == 1 {
                assert_eq!(delivery.next_attempt_at, now + slow_down, "Retry-After wins over a shorter backoff");
            }
            now = delivery.next_attempt_at;
        }
        let escalation = w.escalation.as_ref().unwrap();
        assert_eq!(escalation.deliveries[0].status, DeliveryStatus::Dead);
        assert_eq!(escalation.status, TicketStatus::Dead);
        assert_eq!(next_due(escalation), escalation.raise_at, "a dead delivery is not due");

        assert!(retry_dead(&mut w, &policy, now));
        let escalation = w.escalation.as_ref().unwrap();
        assert_eq!(escalation.deliveries[0].status, DeliveryStatus::Pending);
        assert_eq!(escalation.deliveries[0].attempt_limit, 6);
        assert_eq!(escalation.status, TicketStatus::Open);
        assert!(claim(&mut w, "a", &policy, now).unwrap().uncertain);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = EscalationPolicy::default();
        let secs = |attempts, jitter| backoff(attempts, &policy, jitter).as_secs_f64();
        assert_eq!(secs(1, 0.5), 10.0);
        assert_eq!(secs(2, 0.5), 20.0);
        assert_eq!(secs(3, 0.0), 32.0);
        assert_eq!(secs(30, 0.5), 3600.0);
        assert!(secs(30, 1.0) <= 3600.0 * 1.2);
    }
}
