//! Where the arrival estimate's inputs live, and how every replica sees the
//! same ones (the estimate itself is `domain::eta`, pure).
//!
//! - Statistics per network, shared by all replicas in bounded memory: a
//!   fixed log-spaced histogram per (network, metric) kept as counters in the
//!   store (`Store::add_counters`, Redis `HINCRBY`), one hash per period of
//!   [`PERIOD`]; a read weighs the previous period by the share of the
//!   current one still to come (a sliding window of one period), and a hash
//!   is deleted two periods after its last addition. Block intervals are
//!   added by the network's tracker, the state durations of a withdrawal by
//!   the writer that completed it. No per-withdrawal history scan.
//! - Chain signals per network: one snapshot (`domain::eta::ChainSignals`)
//!   the tracker holding the network's poll lease writes after each poll
//!   (`eta_signals:<network>` meta).
//! - [`EtaBook`]: each replica's copy of both, read from the store every
//!   [`REFRESH_EVERY`] by [`EtaBook::run`], so a view or a write computes an
//!   estimate without a store round trip.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::domain::eta::{self, histogram, ChainSignals, Histogram, NetworkInputs, NetworkStats};
use crate::domain::{Network, Withdrawal};
use crate::store::{Store, StoreError};

/// The statistics' window.
pub const PERIOD: Duration = Duration::from_secs(12 * 3600);
/// How often each replica reads the statistics and signals again.
pub const REFRESH_EVERY: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    BlockInterval,
    PendingToBroadcast,
    BroadcastToBlock,
}

impl Metric {
    const ALL: [Metric; 3] = [Metric::BlockInterval, Metric::PendingToBroadcast, Metric::BroadcastToBlock];

    fn as_str(self) -> &'static str {
        match self {
            Metric::BlockInterval => "block_interval",
            Metric::PendingToBroadcast => "pending_to_broadcast",
            Metric::BroadcastToBlock => "broadcast_to_block",
        }
    }
}

fn period_of(now: DateTime<Utc>) -> i64 {
    now.timestamp().div_euclid(PERIOD.as_secs() as i64)
}

/// The counter hash of `metric` on `network` for the period `period`.
pub fn stats_name(network: Network, metric: Metric, period: i64) -> String {
    format!("eta:{}:{}:{period}", network.code(), metric.as_str())
}

fn signals_name(network: Network) -> String {
    format!("eta_signals:{}", network.code())
}

/// Adds samples (seconds) of `metric` on `network` to the current period.
pub async fn record(
    store: &dyn Store,
    network: Network,
    metric: Metric,
    samples: &[f64],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut by_bucket: HashMap<u16, u64> = HashMap::new();
    for &seconds in samples.iter().filter(|s| s.is_finite() && **s >= 0.0) {
        *by_bucket.entry(histogram::bucket_of(seconds)).or_insert(0) += 1;
    }
    if by_bucket.is_empty() {
        return Ok(());
    }
    let mut increments: Vec<(String, u64)> = by_bucket.into_iter().map(|(b, n)| (b.to_string(), n)).collect();
    increments.sort();
    store.add_counters(&stats_name(network, metric, period_of(now)), &increments, PERIOD * 2).await
}

/// What a completed withdrawal tells about its network: how long it
/// waited to be sent and for its first block.
pub async fn record_completion(store: &dyn Store, w: &Withdrawal, now: DateTime<Utc>) -> Result<(), StoreError> {
    let (queued, mined) = eta::durations(w);
    if let Some(queued) = queued {
        record(store, w.network, Metric::PendingToBroadcast, &[queued], now).await?;
    }
    if let Some(mined) = mined {
        record(store, w.network, Metric::BroadcastToBlock, &[mined], now).await?;
    }
    Ok(())
}

/// The shared statistics of `network` as of `now`, in one round trip.
pub async fn load_stats(store: &dyn Store, network: Network, now: DateTime<Utc>) -> Result<NetworkStats, StoreError> {
    let current = period_of(now);
    let names: Vec<String> = Metric::ALL
        .iter()
        .flat_map(|&m| [stats_name(network, m, current), stats_name(network, m, current - 1)])
        .collect();
    let read = store.counters(&names).await?;
    let into_period = now.timestamp().rem_euclid(PERIOD.as_secs() as i64) as f64 / PERIOD.as_secs_f64();
    let previous_weight = 1.0 - into_period;
    let histogram = |i: usize| {
        let mut h = Histogram::new();
        h.add_counters(read[2 * i].iter().map(|(f, c)| (f.as_str(), *c)), 1.0);
        h.add_counters(read[2 * i + 1].iter().map(|(f, c)| (f.as_str(), *c)), previous_weight);
        h
    };
    Ok(NetworkStats {
        block_interval: histogram(0),
        pending_to_broadcast: histogram(1),
        broadcast_to_block: histogram(2),
    })
}

pub async fn load_signals(store: &dyn Store, network: Network) -> Result<ChainSignals, StoreError> {
    let raw = store.get_meta(&signals_name(network)).await?;
    Ok(raw.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default())
}

pub async fn save_signals(store: &dyn Store, network: Network, signals: &ChainSignals) -> Result<(), StoreError> {
    let text = serde_json::to_string(signals).expect("signals serialize");
    store.set_meta(&signals_name(network), &text).await
}

/// Each replica's copy of every network's estimate inputs.
#[derive(Default)]
pub struct EtaBook {
    /// The configured confirmations per network.
    required: HashMap<Network, u64>,
    inputs: RwLock<HashMap<Network, Arc<NetworkInputs>>>,
}

impl EtaBook {
    pub fn new(required: HashMap<Network, u64>) -> EtaBook {
        EtaBook { required, inputs: RwLock::new(HashMap::new()) }
    }

    /// The inputs for `network` as last read (defaults before the first read).
    pub fn inputs(&self, network: Network) -> Arc<NetworkInputs> {
        let found = self.inputs.read().unwrap_or_else(|e| e.into_inner()).get(&network).cloned();
        found.unwrap_or_else(|| {
            Arc::new(NetworkInputs {
                required_confirmations: self.required.get(&network).copied(),
                ..NetworkInputs::default()
            })
        })
    }

    pub fn set(&self, network: Network, stats: NetworkStats, signals: ChainSignals) {
        let inputs = NetworkInputs { stats, signals, required_confirmations: self.required.get(&network).copied() };
        self.inputs.write().unwrap_or_else(|e| e.into_inner()).insert(network, Arc::new(inputs));
    }

    /// Reads `networks`' statistics and signals from the store.
    pub async fn refresh(&self, store: &dyn Store, networks: &[Network], now: DateTime<Utc>) -> Result<(), StoreError> {
        for &network in networks {
            let stats = load_stats(store, network, now).await?;
            let signals = load_signals(store, network).await?;
            self.set(network, stats, signals);
        }
        Ok(())
    }

    /// Refreshes forever (every network with a tracker, and any network
    /// with withdrawals but no tracker gets the defaults).
    pub async fn run(
        self: Arc<Self>,
        store: Arc<dyn Store>,
        networks: Vec<Network>,
        clock: Arc<dyn crate::clock::Clock>,
    ) {
        loop {
            if let Err(error) = self.refresh(store.as_ref(), &networks, clock.now()).await {
                tracing::warn!(%error, "arrival estimate inputs not refreshed");
            }
            tokio::time::sleep(REFRESH_EVERY).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn samples_are_shared_through_the_store_and_the_previous_period_fades() {
        let store = MemoryStore::new();
        // Period boundaries fall on multiples of 12 hours since the epoch.
        let start = at("2026-03-02T00:00:00Z");
        record(&store, Network::Btc, Metric::BlockInterval, &[600.0; 10], start).await.unwrap();
        record(&store, Network::Btc, Metric::BlockInterval, &[-1.0, f64::NAN], start).await.unwrap();
        let stats = load_stats(&store, Network::Btc, start + chrono::Duration::hours(1)).await.unwrap();
        assert_eq!(stats.block_interval.count(), 10.0);
        assert_eq!(stats.pending_to_broadcast.count(), 0.0);
        // Three quarters into the next period, the first counts a quarter.
        let later = start + chrono::Duration::hours(21);
        record(&store, Network::Btc, Metric::BlockInterval, &[60.0; 4], later).await.unwrap();
        let stats = load_stats(&store, Network::Btc, later).await.unwrap();
        assert!((stats.block_interval.count() - 6.5).abs() < 1e-9, "{}", stats.block_interval.count());
        // Another network sees none of it.
        assert_eq!(load_stats(&store, Network::Ltc, later).await.unwrap().block_interval.count(), 0.0);
    }

    #[tokio::test]
    async fn the_book_serves_the_defaults_until_it_has_read() {
        let store = MemoryStore::new();
        let book = EtaBook::new(HashMap::from([(Network::Btc, 3)]));
        assert_eq!(book.inputs(Network::Btc).required_confirmations, Some(3));
        let now = at("2026-03-02T10:00:00Z");
        let signals = ChainSignals::default().after_failed_poll(now);
        save_signals(&store, Network::Btc, &signals).await.unwrap();
        record(&store, Network::Btc, Metric::BroadcastToBlock, &[300.0], now).await.unwrap();
        book.refresh(&store, &[Network::Btc], now).await.unwrap();
        let inputs = book.inputs(Network::Btc);
        assert_eq!(inputs.signals.explorer_down_since, Some(now));
        assert_eq!(inputs.stats.broadcast_to_block.count(), 1.0);
        assert_eq!(inputs.required_confirmations, Some(3));
    }
}
