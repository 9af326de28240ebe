//! Each network's status, kept in the store so every replica shows the same:
//! support's maintenance declarations (compare-and-set on the network's
//! record, so concurrent declarations lose no history), and the chain's
//! health as the polling replica reports it. Every replica reads the records
//! into a cache the views and the SLA use without a store round trip.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::clock::Clock;
use crate::domain::escalation::{EscalationPolicy, OutboxClaim, SendOutcome};
use crate::domain::incident::{IncidentError, IncidentEvent, IncidentRules, Outcomes, Sighting, StepReport};
use crate::domain::network_status::{
    observed_status, ChainHealth, HealthRules, NetworkRecord, NetworkStatus, NetworkStatusError, Pause, Reason,
};
use crate::domain::{FieldError, Network};
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    #[error(transparent)]
    Rule(#[from] NetworkStatusError),
    #[error(transparent)]
    Incident(#[from] IncidentError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the network's record keeps changing under us")]
    Contended,
}

/// What support sends to declare maintenance.
#[derive(Debug, Clone)]
pub struct Declaration {
    pub reason: Reason,
    pub expected_end: Option<DateTime<Utc>>,
    pub suspends_withdrawals: bool,
    pub by: String,
}

impl Declaration {
    /// From the API's body or the console's form: the reasons, and the
    /// expected end as RFC 3339 text (absent: none; anything else, blank
    /// too, must be a time).
    pub fn parse(
        reason_en: &str,
        reason_zh: &str,
        expected_end: Option<&str>,
        suspends_withdrawals: bool,
        by: String,
    ) -> Result<Declaration, FieldError> {
        let expected_end = match expected_end {
            None => None,
            Some(text) => Some(
                DateTime::parse_from_rfc3339(text)
                    .map_err(|_| FieldError::new("expected_end", "expected_end must be an RFC 3339 time"))?
                    .to_utc(),
            ),
        };
        Ok(Declaration { reason: Reason::parse(reason_en, reason_zh)?, expected_end, suspends_withdrawals, by })
    }
}

/// One network as the status endpoint shows it.
#[derive(Debug, Clone)]
pub struct NetworkSnapshot {
    pub network: Network,
    pub record: Arc<NetworkRecord>,
    pub health: Option<ChainHealth>,
}

pub struct NetworkBoard {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    records: RwLock<BTreeMap<Network, Arc<NetworkRecord>>>,
    health: RwLock<BTreeMap<Network, ChainHealth>>,
    /// `sla.pause_during_maintenance`.
    pause_sla: bool,
    /// The exchange's zone (the SLA calendar's), for times in notices.
    zone: Tz,
}

const MAX_WRITE_ATTEMPTS: usize = 16;

fn record_name(network: Network) -> String {
    format!("network:{}", network.code())
}

fn health_name(network: Network) -> String {
    format!("health:{}", network.code())
}

impl NetworkBoard {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, metrics: Arc<Metrics>, pause_sla: bool, zone: Tz) -> Self {
        NetworkBoard { store, clock, metrics, records: RwLock::default(), health: RwLock::default(), pause_sla, zone }
    }

    pub fn zone(&self) -> Tz {
        self.zone
    }

    pub fn pauses_sla(&self) -> bool {
        self.pause_sla
    }

    /// The cached record (an empty one before anything was declared).
    pub fn record(&self, network: Network) -> Arc<NetworkRecord> {
        let records = self.records.read().unwrap_or_else(|e| e.into_inner());
        records.get(&network).cloned().unwrap_or_default()
    }

    /// The maintenance windows the SLA skips on `network`: none unless
    /// `sla.pause_during_maintenance` is on.
    pub fn sla_pauses(&self, network: Network) -> Vec<Pause> {
        if !self.pause_sla {
            return Vec::new();
        }
        let records = self.records.read().unwrap_or_else(|e| e.into_inner());
        records.get(&network).map(|r| r.pauses.clone()).unwrap_or_default()
    }

    pub fn snapshot(&self) -> Vec<NetworkSnapshot> {
        let health = self.health.read().unwrap_or_else(|e| e.into_inner());
        Network::ALL
            .iter()
            .map(|&network| NetworkSnapshot {
                network,
                record: self.record(network),
                health: health.get(&network).cloned(),
            })
            .collect()
    }

    /// Reads every network's record and health from the store: what other
    /// replicas declared and saw.
    pub async fn reload(&self) -> Result<(), StoreError> {
        for network in Network::ALL {
            if let Some(record) = self.read_record(network).await?.1 {
                self.cache(network, record);
            }
            if let Some(text) = self.store.get_meta(&health_name(network)).await? {
                if let Ok(health) = serde_json::from_str::<ChainHealth>(&text) {
                    self.health.write().unwrap_or_else(|e| e.into_inner()).insert(network, health);
                }
            }
        }
        Ok(())
    }

    pub async fn declare_maintenance(
        &self,
        network: Network,
        declaration: Declaration,
    ) -> Result<Arc<NetworkRecord>, BoardError> {
        self.change(network, |record, now| {
            Ok(record.declare(
                declaration.reason.clone(),
                declaration.expected_end,
                declaration.suspends_withdrawals,
                &declaration.by,
                now,
            )?)
        })
        .await
        .map(|(record, ())| record)
    }

    pub async fn end_maintenance(&self, network: Network, by: &str) -> Result<Arc<NetworkRecord>, BoardError> {
        self.change(network, |record, now| Ok(record.end_maintenance(by, now)?)).await.map(|(record, ())| record)
    }

    /// Support opens an incident on `network` by hand.
    pub async fn declare_incident(
        &self,
        network: Network,
        reason: Reason,
        by: &str,
        policy: &EscalationPolicy,
    ) -> Result<Arc<NetworkRecord>, BoardError> {
        let (record, ()) = self
            .change(network, |record, now| {
                record.declare_incident(network, reason.clone(), by, policy, now)?;
                Ok(())
            })
            .await?;
        let cause = crate::domain::incident::IncidentCause::Declared;
        self.metrics.incidents_opened.with_label_values(&[network.code(), cause.as_str()]).inc();
        Ok(record)
    }

    /// Support closes the open incident on `network`, with its withdrawals'
    /// outcomes as read just before.
    pub async fn close_incident(
        &self,
        network: Network,
        outcomes: Outcomes,
        by: &str,
        policy: &EscalationPolicy,
    ) -> Result<Arc<NetworkRecord>, BoardError> {
        let (record, cause) = self
            .change(network, |record, now| Ok(record.close_incident(outcomes.clone(), by, policy, now)?.cause))
            .await?;
        self.metrics.incidents_closed.with_label_values(&[network.code(), cause.as_str()]).inc();
        Ok(record)
    }

    /// One round of the incident rules on `network` (compare-and-set, so
    /// replicas racing here open one incident and count each withdrawal once).
    pub async fn step_incidents(
        &self,
        network: Network,
        sighting: &Sighting,
        rules: &IncidentRules,
        policy: &EscalationPolicy,
    ) -> Result<StepReport, BoardError> {
        let (_, report) = self
            .change(network, |record, now| Ok(record.step_incidents(network, sighting, rules, policy, now)))
            .await?;
        let code = network.code();
        if let Some(cause) = report.opened {
            self.metrics.incidents_opened.with_label_values(&[code, cause.as_str()]).inc();
        }
        if let Some(cause) = report.closed {
            self.metrics.incidents_closed.with_label_values(&[code, cause.as_str()]).inc();
        }
        if report.attached > 0 {
            self.metrics.withdrawals_grouped.with_label_values(&[code]).inc_by(report.attached);
        }
        Ok(report)
    }

    /// Claims the next due incident event on `network` for `owner`.
    pub async fn claim_incident_event(
        &self,
        network: Network,
        owner: &str,
        policy: &EscalationPolicy,
    ) -> Result<Option<(Arc<NetworkRecord>, String, OutboxClaim<IncidentEvent>)>, BoardError> {
        if !self.record(network).incident_events_waiting() {
            return Ok(None);
        }
        let (record, claim) =
            self.change(network, |record, now| Ok(record.claim_incident_event(owner, policy, now))).await?;
        Ok(claim.map(|(incident, claim)| (record, incident, claim)))
    }

    /// Records how a claimed incident event went.
    pub async fn record_incident_outcome(
        &self,
        network: Network,
        claimed: (&str, &str, &str),
        outcome: SendOutcome,
        policy: &EscalationPolicy,
        jitter: f64,
    ) -> Result<bool, BoardError> {
        let (incident, key, owner) = claimed;
        let (_, recorded) = self
            .change(network, |record, now| {
                Ok(record.record_incident_outcome(incident, key, owner, outcome.clone(), policy, jitter, now))
            })
            .await?;
        Ok(recorded)
    }

    /// The polling replica's report after each poll: the tip it saw, or why
    /// it saw nothing. Health is written only when it changes (a new tip, a
    /// failure starting or ending), the status record only when the status
    /// the health implies changes.
    pub async fn report_poll(
        &self,
        network: Network,
        outcome: Result<u64, String>,
        rules: HealthRules,
        congested: bool,
    ) -> Result<(), BoardError> {
        let now = self.clock.now();
        let known = self.health.read().unwrap_or_else(|e| e.into_inner()).get(&network).cloned();
        let mut health = match known {
            Some(health) => health,
            None => match self.store.get_meta(&health_name(network)).await? {
                Some(text) => serde_json::from_str(&text).unwrap_or_else(|_| ChainHealth::empty()),
                None => ChainHealth::empty(),
            },
        };
        let before = health.clone();
        match &outcome {
            Ok(tip) => health.polled(*tip, now),
            Err(error) => health.failed(error, now),
        }
        // `last_ok_at` moves on every poll: not worth a write by itself.
        let worth_writing = (health.tip_height, health.failing_since.is_some(), &health.last_error)
            != (before.tip_height, before.failing_since.is_some(), &before.last_error);
        if worth_writing {
            let text = serde_json::to_string(&health).expect("health serializes");
            self.store.set_meta(&health_name(network), &text).await?;
        }
        let (status, note) = observed_status(&health, rules, congested, now);
        self.health.write().unwrap_or_else(|e| e.into_inner()).insert(network, health);
        if self.record(network).observed.map(|o| o.status) != Some(status) {
            self.change(network, |record, now| {
                record.observe(status, &note, now);
                Ok(())
            })
            .await?;
        }
        Ok(())
    }

    /// Applies `edit` to the stored record by compare-and-set, retrying on
    /// a concurrent change; the cache follows. An edit that changes nothing
    /// writes nothing.
    async fn change<T>(
        &self,
        network: Network,
        mut edit: impl FnMut(&mut NetworkRecord, DateTime<Utc>) -> Result<T, BoardError>,
    ) -> Result<(Arc<NetworkRecord>, T), BoardError> {
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let (raw, current) = self.read_record(network).await?;
            let before = current.clone();
            let mut next = current.unwrap_or_default();
            let result = edit(&mut next, self.clock.now())?;
            if before.as_ref() == Some(&next) {
                return Ok((self.cache(network, next), result));
            }
            let text = serde_json::to_string(&next).expect("a network record serializes");
            if self.store.swap_meta(&record_name(network), raw.as_deref(), &text).await? {
                return Ok((self.cache(network, next), result));
            }
        }
        Err(BoardError::Contended)
    }

    /// The stored text (for the compare-and-set) and the record it holds.
    async fn read_record(&self, network: Network) -> Result<(Option<String>, Option<NetworkRecord>), StoreError> {
        let raw = self.store.get_meta(&record_name(network)).await?;
        let record = raw.as_deref().and_then(|text| serde_json::from_str(text).ok());
        Ok((raw, record))
    }

    fn cache(&self, network: Network, record: NetworkRecord) -> Arc<NetworkRecord> {
        let status = record.status().0;
        let incident_open = i64::from(record.open_incident().is_some());
        self.metrics.incidents_open.with_label_values(&[network.code()]).set(incident_open);
        for candidate in NetworkStatus::ALL {
            self.metrics
                .network_status
                .with_label_values(&[network.code(), candidate.as_str()])
                .set(i64::from(candidate == status));
        }
        let record = Arc::new(record);
        self.records.write().unwrap_or_else(|e| e.into_inner()).insert(network, record.clone());
        record
    }
}
