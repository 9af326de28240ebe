//! The SLA sweeper: reads what is due from the deadlines index (never all
//! records), moves SLA status, raises escalations and delivers the outbox.
//! Safe with several replicas: every step is a compare-and-set, and a
//! delivery is claimed by one replica before it is sent.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

use crate::domain::escalation::{self, Claimed};
use crate::domain::incident::IncidentRules;
use crate::domain::message::Language;
use crate::domain::WithdrawalId;
use crate::service::{Service, ServiceError};
use crate::tickets::text::TicketText;
use crate::tickets::{TicketRequest, TicketSink};
use crate::tracker::incidents::{DeskReport, IncidentDesk};
use crate::view::{ViewContext, WithdrawalView};

/// Records handled per sweep; the rest wait for the next one.
const SWEEP_BATCH: usize = 500;

#[derive(Clone)]
pub struct Sweeper {
    service: Arc<Service>,
    sink: Arc<dyn TicketSink>,
    /// This replica's name in delivery claims.
    owner: String,
    incidents: IncidentDesk,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub examined: usize,
    pub delivered: usize,
    pub failed_deliveries: usize,
    pub incidents: DeskReport,
}

impl Sweeper {
    pub fn new(service: Arc<Service>, sink: Arc<dyn TicketSink>, incident_rules: IncidentRules) -> Sweeper {
        let owner = format!("replica-{:016x}", rand::rng().random::<u64>());
        let incidents = IncidentDesk::new(service.clone(), sink.clone(), incident_rules, owner.clone());
        Sweeper { service, sink, owner, incidents }
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn service(&self) -> Arc<Service> {
        self.service.clone()
    }

    /// Brings stored deadlines in line with the configured calendar before
    /// the first sweep, retrying while the store is unreachable.
    pub async fn prepare(&self, calendar_fingerprint: &str, retry_every: Duration) {
        loop {
            match self.service.recompute_deadlines_if_calendar_changed(calendar_fingerprint).await {
                Ok(_) => return,
                Err(error) => {
                    tracing::warn!(%error, "cannot check SLA deadlines yet");
                    tokio::time::sleep(retry_every).await;
                }
            }
        }
    }

    pub async fn run(self, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(error) = self.sweep_once().await {
                tracing::warn!(%error, "sweep failed; retrying next interval");
            }
        }
    }

    pub async fn sweep_once(&self) -> Result<SweepReport, ServiceError> {
        let _timer = self.service.metrics.sweep_duration.start_timer();
        let mut report = SweepReport::default();
        let due = self.service.store.due(self.service.now(), SWEEP_BATCH).await?;
        // Incidents first: a withdrawal that goes late in this sweep joins
        // an incident opened in it rather than opening a ticket of its own.
        match self.incidents.round(&due).await {
            Ok(incidents) => report.incidents = incidents,
            Err(error) => tracing::warn!(%error, "incident round failed; the sweep goes on"),
        }
        for withdrawal in due {
            report.examined += 1;
            match self.process(&withdrawal.id).await {
                Ok(Some(true)) => report.delivered += 1,
                Ok(Some(false)) => report.failed_deliveries += 1,
                Ok(None) => {}
                Err(ServiceError::NotFound) => {}
                Err(error) => tracing::warn!(withdrawal_id = %withdrawal.id, %error, "sweep step failed"),
            }
        }
        Ok(report)
    }

    /// Refreshes one record and, if a delivery is due, sends it. Returns
    /// whether a delivery was attempted and if it succeeded.
    async fn process(&self, id: &WithdrawalId) -> Result<Option<bool>, ServiceError> {
        let policy = &self.service.escalation;
        let mut claimed: Option<Claimed> = None;
        let record = self
            .service
            .modify(id, |w| {
                let now = self.service.now();
                self.service.refresh(w, now);
                claimed = escalation::claim(w, &self.owner, policy, now);
                Ok(())
            })
            .await?;
        let Some(claimed) = claimed else { return Ok(None) };

        let context = ViewContext::new(&self.service, Language::English);
        let view = WithdrawalView::new(&record, &context).to_json();
        let text = TicketText::new(&claimed, &view);
        let outcome =
            self.sink.send(&TicketRequest { claimed: &claimed, withdrawal: &record, view: &view, text: &text }).await;
        let delivered = matches!(outcome, escalation::SendOutcome::Delivered { .. });
        let result = match &outcome {
            escalation::SendOutcome::Delivered { .. } => "delivered",
            escalation::SendOutcome::Retry { .. } => "retry",
            escalation::SendOutcome::GiveUp { .. } => "gave_up",
        };
        let event = match claimed.event {
            escalation::TicketEvent::Opened => "opened",
            escalation::TicketEvent::Raised => "raised",
            escalation::TicketEvent::Resolved => "resolved",
        };
        self.service.metrics.escalations.with_label_values(&[self.sink.name(), event, result]).inc();
        tracing::info!(
            withdrawal_id = %id,
            event = claimed.event.wire_name(),
            sink = self.sink.name(),
            delivered,
            "ticket delivery attempted"
        );
        let jitter: f64 = rand::rng().random();
        self.service
            .modify(id, |w| {
                escalation::record_outcome(
                    w,
                    &claimed.idempotency_key,
                    &self.owner,
                    outcome.clone(),
                    policy,
                    jitter,
                    self.service.now(),
                );
                Ok(())
            })
            .await?;
        Ok(Some(delivered))
    }
}
