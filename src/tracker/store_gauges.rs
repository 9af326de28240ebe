//! Exports the store-wide gauges (withdrawals by state, SLA status, pending
//! and dead deliveries) from one replica at a time: the holder of the
//! `metrics` lease. The others export nothing for those families, so
//! `sum by (network, state) (withdrawal_tracker_withdrawals)` counts each
//! withdrawal once whatever the replica count.

use std::sync::Arc;
use std::time::Duration;

use crate::domain::escalation::TicketStatus;
use crate::domain::sla::SlaStatus;
use crate::domain::{Network, State};
use crate::service::Service;
use crate::store::{IndexKey, StoreError};

#[derive(Clone)]
pub struct StoreGauges {
    service: Arc<Service>,
    owner: String,
    interval: Duration,
}

impl StoreGauges {
    pub fn new(service: Arc<Service>, owner: String, interval: Duration) -> StoreGauges {
        StoreGauges { service, owner, interval }
    }

    pub async fn run(self) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            self.refresh_once().await;
        }
    }

    pub async fn refresh_once(&self) {
        let metrics = &self.service.metrics;
        let store = &self.service.store;
        let up = store.ping().await.is_ok();
        metrics.store_up.set(up as i64);
        // The lease outlives two missed refreshes, then another replica takes over.
        let held = store.try_lease("metrics", &self.owner, self.interval * 3).await.unwrap_or_default();
        if !held {
            self.stop_exporting();
            return;
        }
        if let Err(error) = self.export().await {
            tracing::warn!(%error, "cannot refresh store-wide gauges");
            self.stop_exporting();
        }
    }

    fn stop_exporting(&self) {
        let metrics = &self.service.metrics;
        metrics.store_gauges_exporter.set(0);
        metrics.withdrawals.reset();
        metrics.sla.reset();
    }

    async fn export(&self) -> Result<(), StoreError> {
        let metrics = &self.service.metrics;
        let by_state: Vec<(State, Network)> =
            State::ALL.into_iter().flat_map(|s| Network::ALL.into_iter().map(move |n| (s, n))).collect();
        let by_sla: Vec<(SlaStatus, Network)> =
            SlaStatus::OPEN.into_iter().flat_map(|s| Network::ALL.into_iter().map(move |n| (s, n))).collect();
        let mut indexes: Vec<IndexKey> = by_state.iter().map(|(s, n)| IndexKey::StateNetwork(*s, *n)).collect();
        indexes.extend(by_sla.iter().map(|(s, n)| IndexKey::Sla(*s, *n)));
        indexes.push(IndexKey::OutboxPending);
        indexes.push(IndexKey::Tickets(TicketStatus::Dead));
        let counts = self.service.store.count(&indexes).await?;

        for ((state, network), count) in by_state.iter().zip(&counts) {
            metrics.withdrawals.with_label_values(&[network.code(), state.as_str()]).set(*count as i64);
        }
        let sla_counts = &counts[by_state.len()..];
        for ((status, network), count) in by_sla.iter().zip(sla_counts) {
            metrics.sla.with_label_values(&[network.code(), status.as_str()]).set(*count as i64);
        }
        metrics.deliveries_pending.set(counts[counts.len() - 2] as i64);
        metrics.deliveries_dead.set(counts[counts.len() - 1] as i64);
        metrics.store_gauges_exporter.set(1);
        Ok(())
    }
}
