//! What the chain says about how fast things move now, per network: read by
//! the network's tracker once per poll (never per withdrawal), judged here,
//! and kept in the store as one snapshot per network that every replica reads.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::Network;

/// Fee readings kept to judge "above normal" against.
pub const FEE_HISTORY: usize = 48;
/// Block times kept to judge "slower than the target".
pub const RECENT_BLOCKS: usize = 7;
/// Transactions whose own signals a snapshot carries at most.
pub const MAX_TX_SIGNALS: usize = 2000;

/// A backlog of this many blocks' worth of waiting transactions is congestion.
const CONGESTED_BACKLOG_BLOCKS: f64 = 3.0;
/// Fees this many times their recent median are congestion.
const CONGESTED_FEE_FACTOR: f64 = 3.0;
/// EVM blocks this full, on average, are congestion.
const CONGESTED_GAS_USED: f64 = 0.9;
/// Recent blocks this many times slower than the target are slow.
const SLOW_BLOCKS_FACTOR: f64 = 2.0;

/// One poll's readings, as the chain client reports them (all optional:
/// each explorer offers what it offers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Readings {
    /// Virtual bytes waiting in the mempool (Esplora `/mempool` `vsize`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mempool_vsize: Option<u64>,
    /// Fee rate (sat/vB) to be included within N blocks (Esplora
    /// `/fee-estimates`), by N ascending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fee_for_blocks: Vec<(u32, f64)>,
    /// The lowest fee rate (sat/vB) the next projected block takes
    /// (mempool.space `/v1/fees/mempool-blocks`, first block's `feeRange[0]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_block_min_fee: Option<f64>,
    /// EVM: the next block's base fee, in gwei (`eth_feeHistory`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_fee_gwei: Option<f64>,
    /// EVM: how full the latest blocks were, 0 to 1 (`gasUsedRatio`, averaged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas_used_ratio: Option<f64>,
    /// What this poll learned of single waiting transactions, by id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub txs: BTreeMap<String, TxReading>,
}

/// What the chain says of one waiting transaction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TxReading {
    /// Its fee rate, sat/vB (Esplora `fee / (weight / 4)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_rate: Option<f64>,
    /// EVM: `maxFeePerGas`, or `gasPrice` for a legacy transaction, in gwei.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_fee_gwei: Option<f64>,
    /// EVM: its nonce, and the sender's latest (mined) nonce count: a
    /// nonce above that count waits on an earlier transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_latest_nonce: Option<u64>,
    /// EVM: the sender's nonce count including its pending transactions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_pending_nonce: Option<u64>,
}

impl TxReading {
    /// Merges a newer reading over this one (what it did not say stays).
    fn update(&mut self, newer: &TxReading) {
        self.fee_rate = newer.fee_rate.or(self.fee_rate);
        self.max_fee_gwei = newer.max_fee_gwei.or(self.max_fee_gwei);
        self.nonce = newer.nonce.or(self.nonce);
        self.sender_latest_nonce = newer.sender_latest_nonce.or(self.sender_latest_nonce);
        self.sender_pending_nonce = newer.sender_pending_nonce.or(self.sender_pending_nonce);
    }
}

/// One network's snapshot: the latest readings, a short history to judge
/// them against, and since when each condition holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChainSignals {
    #[serde(default, with = "crate::domain::rfc3339::option")]
    pub read_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub readings: Readings,
    /// Recent fee readings (sat/vB next-block fee, or gwei base fee), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fee_history: Vec<f64>,
    /// Times of the latest blocks, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent_blocks: Vec<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::domain::rfc3339::option")]
    pub explorer_down_since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::domain::rfc3339::option")]
    pub congested_since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::domain::rfc3339::option")]
    pub slow_blocks_since: Option<DateTime<Utc>>,
    /// Per waiting transaction: the latest reading and since when it has been
    /// short on fee or waiting on an earlier nonce.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub txs: BTreeMap<String, TxSignal>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TxSignal {
    #[serde(default)]
    pub reading: TxReading,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::domain::rfc3339::option")]
    pub low_fee_since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::domain::rfc3339::option")]
    pub stuck_since: Option<DateTime<Utc>>,
}

/// Why a transaction waits, from its own reading against the network's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FeeVerdict {
    /// Enough (or nothing known).
    Enough,
    /// Below what the next block takes: `have` against `need` (sat/vB or gwei).
    Low { have: f64, need: f64 },
}

impl ChainSignals {
    /// The next-block fee level this network is judged by: the projected
    /// next block's minimum, else the one-block estimate, else the base fee.
    pub fn fee_level(&self) -> Option<f64> {
        let r = &self.readings;
        r.next_block_min_fee.or_else(|| r.fee_for_blocks.first().map(|(_, fee)| *fee)).or(r.base_fee_gwei)
    }

    /// The median of the recent fee readings.
    pub fn median_fee(&self) -> Option<f64> {
        median(&self.fee_history)
    }

    /// Mean seconds between the recent blocks.
    pub fn recent_block_interval(&self) -> Option<f64> {
        let (first, last) = (self.recent_blocks.first()?, self.recent_blocks.last()?);
        let gaps = self.recent_blocks.len().checked_sub(1).filter(|n| *n > 0)?;
        Some((*last - *first).num_milliseconds() as f64 / 1000.0 / gaps as f64)
    }

    /// How a transaction's own fee compares with what the next blocks take.
    pub fn fee_verdict(&self, tx: &TxReading) -> FeeVerdict {
        let r = &self.readings;
        if let (Some(have), Some(need)) = (tx.max_fee_gwei, r.base_fee_gwei) {
            if have < need {
                return FeeVerdict::Low { have, need };
            }
        }
        let need = r.next_block_min_fee.or_else(|| r.fee_for_blocks.first().map(|(_, fee)| *fee));
        if let (Some(have), Some(need)) = (tx.fee_rate, need) {
            if have < need {
                return FeeVerdict::Low { have, need };
            }
        }
        FeeVerdict::Enough
    }

    /// Blocks until a transaction paying `fee_rate` is likely included, by
    /// the explorer's fee estimates: the smallest target whose fee it pays;
    /// past the largest target, half as long again.
    pub fn blocks_for_fee(&self, fee_rate: f64) -> Option<f64> {
        let estimates = &self.readings.fee_for_blocks;
        let (largest, _) = estimates.last()?;
        let found = estimates.iter().find(|(_, fee)| fee_rate >= *fee).map(|(blocks, _)| f64::from(*blocks));
        Some(found.unwrap_or(f64::from(*largest) * 1.5))
    }

    /// Whether a snapshot says the network is congested now: a backlog of
    /// several blocks, fees far above their recent median, or full EVM blocks.
    pub fn congested(&self, network: Network) -> bool {
        let r = &self.readings;
        let backlog = r
            .mempool_vsize
            .zip(block_capacity_vbytes(network))
            .is_some_and(|(vsize, capacity)| vsize as f64 > CONGESTED_BACKLOG_BLOCKS * capacity);
        let fees = self
            .fee_level()
            .zip(self.median_fee())
            .is_some_and(|(now, median)| median > 0.0 && now >= CONGESTED_FEE_FACTOR * median);
        let full = r.gas_used_ratio.is_some_and(|ratio| ratio >= CONGESTED_GAS_USED);
        backlog || fees || full
    }

    /// Whether the recent blocks came much slower than the network's target.
    pub fn slow_blocks(&self, network: Network) -> bool {
        let target = network.target_block_interval().as_secs_f64();
        self.recent_block_interval().is_some_and(|interval| interval > SLOW_BLOCKS_FACTOR * target)
    }

    /// The next snapshot from this one: `readings` of a successful poll at
    /// `now` (the fee level joins the history, the conditions keep their
    /// start while they last), for transactions still `waiting`.
    pub fn after_poll(&self, network: Network, readings: Readings, waiting: &[String], now: DateTime<Utc>) -> Self {
        let mut next = ChainSignals {
            read_at: Some(now),
            fee_history: self.fee_history.clone(),
            recent_blocks: self.recent_blocks.clone(),
            ..ChainSignals::default()
        };
        let tx_readings = readings.txs.clone();
        next.readings = Readings { txs: BTreeMap::new(), ..readings };
        if let Some(level) = next.fee_level() {
            next.fee_history.push(level);
            let excess = next.fee_history.len().saturating_sub(FEE_HISTORY);
            next.fee_history.drain(..excess);
        }
        next.congested_since = next.congested(network).then(|| self.congested_since.unwrap_or(now));
        next.slow_blocks_since = next.slow_blocks(network).then(|| self.slow_blocks_since.unwrap_or(now));
        for txid in waiting.iter().take(MAX_TX_SIGNALS) {
            let mut signal = self.txs.get(txid).cloned().unwrap_or_default();
            if let Some(newer) = tx_readings.get(txid) {
                signal.reading.update(newer);
            }
            let low = matches!(next.fee_verdict(&signal.reading), FeeVerdict::Low { .. });
            signal.low_fee_since = low.then(|| signal.low_fee_since.unwrap_or(now));
            let stuck = waits_on_earlier(&signal.reading);
            signal.stuck_since = stuck.then(|| signal.stuck_since.unwrap_or(now));
            if signal != TxSignal::default() {
                next.txs.insert(txid.clone(), signal);
            }
        }
        next
    }

    /// The snapshot after a poll that could not reach the explorer at `now`.
    pub fn after_failed_poll(&self, now: DateTime<Utc>) -> Self {
        ChainSignals { explorer_down_since: Some(self.explorer_down_since.unwrap_or(now)), ..self.clone() }
    }

    /// Adds the times of newly read blocks (oldest first); keeps the latest few.
    pub fn with_block_times(mut self, times: impl IntoIterator<Item = DateTime<Utc>>, network: Network) -> Self {
        self.recent_blocks.extend(times);
        let excess = self.recent_blocks.len().saturating_sub(RECENT_BLOCKS);
        self.recent_blocks.drain(..excess);
        let now = self.read_at.unwrap_or_else(|| self.recent_blocks.last().copied().unwrap_or_default());
        self.slow_blocks_since = self.slow_blocks(network).then(|| self.slow_blocks_since.unwrap_or(now));
        self
    }
}

/// An EVM transaction whose nonce is above the sender's mined count waits
/// on an earlier transaction of the same sender.
fn waits_on_earlier(tx: &TxReading) -> bool {
    tx.nonce.zip(tx.sender_latest_nonce).is_some_and(|(nonce, latest)| nonce > latest)
}

/// Virtual bytes one block holds (Bitcoin family), for the backlog.
pub fn block_capacity_vbytes(network: Network) -> Option<f64> {
    use Network::*;
    match network {
        Btc | Ltc => Some(1_000_000.0),
        Bch => Some(32_000_000.0),
        Doge | Dash | Zec => Some(2_000_000.0),
        _ => None,
    }
}

fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    Some(if sorted.len() % 2 == 0 { (sorted[middle - 1] + sorted[middle]) / 2.0 } else { sorted[middle] })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::at;

    fn readings(mempool_vsize: Option<u64>, fee: f64) -> Readings {
        Readings { mempool_vsize, fee_for_blocks: vec![(1, fee), (6, fee / 2.0), (144, 1.0)], ..Readings::default() }
    }

    #[test]
    fn congestion_is_a_backlog_high_fees_or_full_blocks() {
        let calm =
            ChainSignals { readings: readings(Some(500_000), 10.0), fee_history: vec![10.0; 5], ..Default::default() };
        let cases = [
            ("calm", calm.clone(), Network::Btc, false),
            (
                "backlog of 5 blocks",
                ChainSignals { readings: readings(Some(5_000_000), 10.0), ..calm.clone() },
                Network::Btc,
                true,
            ),
            ("fees 4x the median", ChainSignals { readings: readings(None, 40.0), ..calm.clone() }, Network::Btc, true),
            (
                "EVM blocks 95% full",
                ChainSignals {
                    readings: Readings { gas_used_ratio: Some(0.95), base_fee_gwei: Some(20.0), ..Default::default() },
                    fee_history: vec![20.0],
                    ..Default::default()
                },
                Network::Eth,
                true,
            ),
            (
                "EVM blocks half full",
                ChainSignals {
                    readings: Readings { gas_used_ratio: Some(0.5), base_fee_gwei: Some(20.0), ..Default::default() },
                    fee_history: vec![20.0],
                    ..Default::default()
                },
                Network::Eth,
                false,
            ),
        ];
        for (name, signals, network, congested) in cases {
            assert_eq!(signals.congested(network), congested, "{name}");
        }
    }

    #[test]
    fn a_condition_keeps_its_start_while_it_lasts() {
        let t0 = at("2026-03-02T10:00:00Z");
        let t1 = at("2026-03-02T10:05:00Z");
        let t2 = at("2026-03-02T10:10:00Z");
        let calm = ChainSignals { fee_history: vec![10.0; 10], ..Default::default() };
        let first = calm.after_poll(Network::Btc, readings(Some(9_000_000), 10.0), &[], t0);
        assert_eq!(first.congested_since, Some(t0));
        let second = first.after_poll(Network::Btc, readings(Some(9_000_000), 10.0), &[], t1);
        assert_eq!(second.congested_since, Some(t0));
        let third = second.after_poll(Network::Btc, readings(Some(100_000), 10.0), &[], t2);
        assert_eq!(third.congested_since, None);
        assert_eq!(third.fee_history.len(), 13);
    }

    #[test]
    fn low_fee_and_stuck_transactions_are_followed_while_they_wait() {
        let t0 = at("2026-03-02T10:00:00Z");
        let t1 = at("2026-03-02T10:05:00Z");
        let mut first = readings(None, 20.0);
        first.txs.insert("a".into(), TxReading { fee_rate: Some(3.0), ..Default::default() });
        first.txs.insert("b".into(), TxReading { fee_rate: Some(25.0), ..Default::default() });
        first.txs.insert("gone".into(), TxReading { fee_rate: Some(1.0), ..Default::default() });
        let waiting = ["a".to_owned(), "b".to_owned()];
        let signals = ChainSignals::default().after_poll(Network::Btc, first, &waiting, t0);
        assert_eq!(signals.txs["a"].low_fee_since, Some(t0));
        assert_eq!(signals.txs["b"].low_fee_since, None);
        assert!(!signals.txs.contains_key("gone"));
        // The next poll says nothing new of "a": its reading and start stay.
        let signals = signals.after_poll(Network::Btc, readings(None, 20.0), &waiting, t1);
        assert_eq!(signals.txs["a"].low_fee_since, Some(t0));
        assert_eq!(signals.fee_verdict(&signals.txs["a"].reading), FeeVerdict::Low { have: 3.0, need: 20.0 });

        let mut evm = Readings { base_fee_gwei: Some(30.0), ..Default::default() };
        evm.txs.insert(
            "c".into(),
            TxReading { max_fee_gwei: Some(50.0), nonce: Some(7), sender_latest_nonce: Some(5), ..Default::default() },
        );
        let signals = ChainSignals::default().after_poll(Network::Eth, evm, &["c".to_owned()], t0);
        assert_eq!(signals.txs["c"].stuck_since, Some(t0));
        assert_eq!(signals.txs["c"].low_fee_since, None);
    }

    #[test]
    fn fee_estimates_say_how_many_blocks_a_fee_waits() {
        let signals = ChainSignals { readings: readings(None, 20.0), ..Default::default() };
        let cases = [(25.0, 1.0), (12.0, 6.0), (2.0, 144.0), (0.5, 216.0)];
        for (fee, blocks) in cases {
            assert_eq!(signals.blocks_for_fee(fee), Some(blocks), "{fee}");
        }
        assert_eq!(ChainSignals::default().blocks_for_fee(5.0), None);
    }

    #[test]
    fn slow_blocks_and_outages_are_dated() {
        let t0 = at("2026-03-02T10:00:00Z");
        let times: Vec<_> = (0..7).map(|i| t0 + chrono::Duration::minutes(30 * i)).collect();
        let signals = ChainSignals { read_at: Some(t0), ..Default::default() }.with_block_times(times, Network::Btc);
        assert_eq!(signals.recent_block_interval(), Some(1800.0));
        assert_eq!(signals.slow_blocks_since, Some(t0));
        let fast: Vec<_> = (0..7).map(|i| t0 + chrono::Duration::minutes(10 * i)).collect();
        let signals = ChainSignals { read_at: Some(t0), ..Default::default() }.with_block_times(fast, Network::Btc);
        assert_eq!(signals.slow_blocks_since, None);

        let down = signals.after_failed_poll(t0).after_failed_poll(t0 + chrono::Duration::minutes(5));
        assert_eq!(down.explorer_down_since, Some(t0));
        let up = down.after_poll(Network::Btc, Readings::default(), &[], t0 + chrono::Duration::minutes(10));
        assert_eq!(up.explorer_down_since, None);
    }
}
