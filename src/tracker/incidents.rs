//! The incident desk, run by every replica's sweeper before its sweep: per
//! network, shows the incident rules (`domain/incident.rs`) whether the
//! chain is halted and which withdrawals are overdue, then sends the
//! incidents' due events to the ticket sink. Every change is a
//! compare-and-set on the network's record and every event is claimed
//! before it is sent, so replicas open one incident and send each event once.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rand::Rng;

use crate::domain::escalation::SendOutcome;
use crate::domain::incident::{IncidentRules, Sighting};
use crate::domain::network_status::NetworkStatus;
use crate::domain::sla::SlaStatus;
use crate::domain::{Network, Withdrawal};
use crate::networks::BoardError;
use crate::service::{OverdueQuery, Service, ServiceError};
use crate::tickets::text::IncidentText;
use crate::tickets::{IncidentRequest, TicketSink};

/// Overdue withdrawals read per network and round: more than an incident lists.
const MAX_OVERDUE_READ: usize = crate::domain::incident::Incident::MAX_LISTED;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeskReport {
    pub opened: usize,
    pub closed: usize,
    pub delivered: usize,
    pub failed_deliveries: usize,
}

#[derive(Clone)]
pub struct IncidentDesk {
    service: Arc<Service>,
    sink: Arc<dyn TicketSink>,
    rules: IncidentRules,
    owner: String,
}

impl IncidentDesk {
    pub fn new(service: Arc<Service>, sink: Arc<dyn TicketSink>, rules: IncidentRules, owner: String) -> Self {
        IncidentDesk { service, sink, rules, owner }
    }

    /// One round over every network. `due` is what the sweep is about to
    /// handle: withdrawals crossing their overdue deadline in it count as
    /// overdue already, so a storm opens its incident before their tickets.
    pub async fn round(&self, due: &[Withdrawal]) -> Result<DeskReport, DeskError> {
        let board = &self.service.networks;
        // What other replicas declared and opened, before anything is decided.
        board.reload().await?;
        let now = self.service.now();
        let counts = self.service.sla_counts(&[SlaStatus::Overdue]).await?;
        let mut report = DeskReport::default();
        for network in Network::ALL {
            let crossing: Vec<(String, DateTime<Utc>)> = due
                .iter()
                .filter(|w| w.network == network && !w.state().is_terminal())
                .filter_map(|w| w.sla.as_ref().map(|d| (w.id.as_str().to_owned(), d.overdue_at)))
                .filter(|(_, overdue_at)| *overdue_at <= now)
                .collect();
            let overdue = counts.iter().find(|(n, _, _)| *n == network).map_or(0, |(_, _, count)| *count);
            let record = board.record(network);
            let halted = record.status().0 == NetworkStatus::Halted;
            let idle = overdue == 0 && crossing.is_empty() && !halted && record.open_incident().is_none();
            if !idle {
                self.step(network, halted, crossing, &mut report).await?;
            }
            if board.record(network).incident_events_waiting() {
                self.deliver(network, &mut report).await?;
            }
        }
        Ok(report)
    }

    async fn step(
        &self,
        network: Network,
        halted: bool,
        crossing: Vec<(String, DateTime<Utc>)>,
        report: &mut DeskReport,
    ) -> Result<(), DeskError> {
        let board = &self.service.networks;
        let policy = &self.service.escalation;
        let mut overdue = self.overdue_on(network).await?;
        for (id, at) in crossing {
            if !overdue.iter().any(|(known, _)| *known == id) {
                overdue.push((id, at));
            }
        }
        let mut sighting = Sighting { halted, overdue, outcomes: None };
        let mut step = board.step_incidents(network, &sighting, &self.rules, policy).await?;
        if step.needs_outcomes {
            if let Some(incident) = board.record(network).open_incident() {
                sighting.outcomes = Some(self.service.incident_outcomes(incident).await?);
            }
            step = board.step_incidents(network, &sighting, &self.rules, policy).await?;
        }
        if let Some(cause) = step.opened {
            report.opened += 1;
            tracing::warn!(%network, cause = cause.as_str(), late = step.attached, "incident opened");
        }
        if step.closed.is_some() {
            report.closed += 1;
            tracing::info!(%network, "incident closed: its cause cleared");
            // The withdrawals still late get tickets of their own now.
            self.service.refresh_open_on(network).await?;
        }
        Ok(())
    }

    /// The network's overdue withdrawals in flight, most late first.
    async fn overdue_on(&self, network: Network) -> Result<Vec<(String, DateTime<Utc>)>, ServiceError> {
        let mut overdue = Vec::new();
        let mut after = None;
        loop {
            let query =
                OverdueQuery { network: Some(network), coin: None, min_amount: None, delay: None, after, limit: 500 };
            let page = self.service.overdue(&query).await?;
            overdue
                .extend(page.items.iter().filter_map(|w| Some((w.id.as_str().to_owned(), w.sla.as_ref()?.overdue_at))));
            match page.next {
                Some(next) if overdue.len() < MAX_OVERDUE_READ => after = Some(next),
                _ => return Ok(overdue),
            }
        }
    }

    /// Sends the network's due incident events, one claim at a time.
    async fn deliver(&self, network: Network, report: &mut DeskReport) -> Result<(), DeskError> {
        let board = &self.service.networks;
        let policy = &self.service.escalation;
        while let Some((record, incident_id, claim)) = board.claim_incident_event(network, &self.owner, policy).await? {
            let incident = record.incidents.iter().find(|i| i.id == incident_id).expect("claimed from this record");
            let text = IncidentText::new(incident, &claim.idempotency_key);
            let request = IncidentRequest { claim: &claim, incident, text: &text };
            let outcome = self.sink.send_incident(&request).await;
            let result = match &outcome {
                SendOutcome::Delivered { .. } => {
                    report.delivered += 1;
                    "delivered"
                }
                SendOutcome::Retry { .. } => {
                    report.failed_deliveries += 1;
                    "retry"
                }
                SendOutcome::GiveUp { .. } => {
                    report.failed_deliveries += 1;
                    "gave_up"
                }
            };
            self.service
                .metrics
                .incident_events
                .with_label_values(&[self.sink.name(), claim.event.as_str(), result])
                .inc();
            tracing::info!(
                incident = incident_id.as_str(),
                event = claim.event.wire_name(),
                sink = self.sink.name(),
                result,
                "incident delivery attempted"
            );
            let jitter: f64 = rand::rng().random();
            let claimed = (incident_id.as_str(), claim.idempotency_key.as_str(), self.owner.as_str());
            board.record_incident_outcome(network, claimed, outcome.clone(), policy, jitter).await?;
            if !matches!(outcome, SendOutcome::Delivered { .. }) {
                // A failed event waits for its backoff; the next round retries.
                break;
            }
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Board(#[from] BoardError),
}

impl From<crate::store::StoreError> for DeskError {
    fn from(error: crate::store::StoreError) -> Self {
        DeskError::Service(error.into())
    }
}
