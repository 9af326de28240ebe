//! What the tracker reads for the arrival estimate, from what it reads
//! anyway and a few requests per poll: block intervals from the blocks'
//! own times (shared statistics, `eta.rs`), and the chain's signals (fee
//! levels, backlog, what holds each waiting transaction) asked once per
//! poll, only while something waits, never per withdrawal. The snapshot
//! goes to the store for every replica (`ChainPort::save_signals`).

use chrono::{DateTime, Utc};

use super::{Blocks, ChainTracker};
use crate::chain::Readings;
use crate::domain::eta::signals::MAX_TX_SIGNALS;
use crate::domain::tracking;

/// EVM transactions are normally in the next block: ask about one only
/// once it waited this many target block intervals.
const EVM_WAITING_BLOCKS: u32 = 3;

/// The times of the blocks one tick read, in order, and the intervals
/// between consecutive ones.
#[derive(Debug, Default)]
pub(super) struct BlockTimes {
    pub times: Vec<DateTime<Utc>>,
    pub intervals: Vec<f64>,
}

impl BlockTimes {
    /// A block read at `height` with `time`, after the block read before it
    /// at `previous` (when that is its parent).
    pub fn add(&mut self, previous: Option<(u64, DateTime<Utc>)>, height: u64, time: Option<DateTime<Utc>>) {
        let Some(time) = time else { return };
        if let Some((previous_height, previous_time)) = previous {
            if previous_height + 1 == height && time >= previous_time {
                self.intervals.push((time - previous_time).num_milliseconds() as f64 / 1000.0);
            }
        }
        self.times.push(time);
    }
}

impl Blocks<'_> {
    /// After a successful poll: block intervals to the shared statistics,
    /// then the chain's signals for what still waits, into the network's
    /// snapshot. A failure here costs the estimate, never the tick.
    pub(super) async fn record_signals(&self, blocks: BlockTimes) {
        let now = self.port.now();
        if let Err(error) = self.port.record_block_intervals(&blocks.intervals).await {
            tracing::warn!(network = %self.network, %error, "block intervals not recorded");
        }
        let previous = match self.port.load_signals().await {
            Ok(previous) => previous,
            Err(error) => {
                tracing::warn!(network = %self.network, %error, "chain signals not read");
                return;
            }
        };
        let waiting = match self.waiting(now).await {
            Ok(waiting) => waiting,
            Err(error) => {
                tracing::warn!(network = %self.network, %error, "waiting withdrawals not read");
                return;
            }
        };
        let readings = if waiting.is_empty() {
            Readings::default()
        } else {
            match self.client.signals(&waiting).await {
                Ok(readings) => readings,
                Err(error) => {
                    tracing::warn!(network = %self.network, %error, "chain signals not available");
                    previous.readings.clone()
                }
            }
        };
        let next =
            previous.after_poll(self.network, readings, &waiting, now).with_block_times(blocks.times, self.network);
        if let Err(error) = self.port.save_signals(&next).await {
            tracing::warn!(network = %self.network, %error, "chain signals not saved");
        }
    }

    /// The broadcast transactions not in a block yet (on EVM chains, only
    /// those that missed a few blocks already).
    async fn waiting(&self, now: DateTime<Utc>) -> Result<Vec<String>, crate::store::StoreError> {
        let patience = self.network.target_block_interval() * EVM_WAITING_BLOCKS;
        let patience = chrono::Duration::from_std(patience).unwrap_or_default();
        let broadcast = self.port.broadcast(MAX_TX_SIGNALS).await?;
        Ok(broadcast
            .iter()
            .filter(|w| !self.network.is_evm() || tracking::broadcast_since(w).is_some_and(|at| now - at >= patience))
            .filter_map(|w| w.tx_hash().map(|h| h.as_str().to_owned()))
            .collect())
    }
}

impl ChainTracker {
    /// After a poll that failed on the explorer: we cannot see the chain.
    pub(super) async fn record_explorer_down(&self) {
        let now = self.port.now();
        let result = async {
            let previous = self.port.load_signals().await?;
            self.port.save_signals(&previous.after_failed_poll(now)).await
        };
        if let Err(error) = result.await {
            tracing::warn!(network = %self.network, %error, "explorer outage not recorded");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_come_only_from_consecutive_blocks_with_times() {
        let t = |s: i64| DateTime::<Utc>::from_timestamp(1_700_000_000 + s, 0);
        let mut blocks = BlockTimes::default();
        blocks.add(Some((99, t(0).unwrap())), 100, t(600));
        blocks.add(Some((100, t(600).unwrap())), 101, t(1500));
        blocks.add(Some((101, t(1500).unwrap())), 103, t(2000)); // a gap: no interval
        blocks.add(Some((103, t(2000).unwrap())), 104, None); // no time
        blocks.add(None, 105, t(2100));
        assert_eq!(blocks.intervals, vec![600.0, 900.0]);
        assert_eq!(blocks.times.len(), 4);
    }
}
