//! Why a withdrawal is late and when it will arrive: a pure function of the
//! network's observed statistics (`histogram.rs`), the chain's signals
//! (`signals.rs`) and the withdrawal itself. No I/O: the tracker reads the
//! chain, the store keeps the statistics, this decides.
//!
//! The estimate is a pair of times, `p50` and `p90`: when the withdrawal
//! completes with 50% and 90% probability, and the `basis` it rests on.
//! Waits for blocks are sums of block intervals, taken as a gamma
//! distribution with the observed intervals' mean and variance (exponential,
//! i.e. Poisson arrivals at the target interval, until enough intervals were
//! seen); waits with a history of their own (the exchange's queue, a
//! broadcast transaction's first block) use that history, from where the
//! withdrawal stands now (what is left after the time already waited).

pub mod histogram;
pub mod signals;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{State, Withdrawal};
pub use histogram::{Histogram, Summary};
pub use signals::{ChainSignals, FeeVerdict, Readings, TxReading, TxSignal};

/// Samples a histogram needs before it is trusted over the defaults.
pub const MIN_SAMPLES: f64 = 5.0;
/// The exchange's queue (request to broadcast) before anything was observed:
/// median and 90th percentile, seconds.
const DEFAULT_QUEUE_P50: f64 = 30.0 * 60.0;
const DEFAULT_QUEUE_P90: f64 = 4.0 * 3600.0;
/// Blocks an EVM transaction whose max fee is under the base fee waits,
/// before the fee falls back (no estimate of the fee's path: a rough guess).
const UNDERPRICED_EVM_BLOCKS: f64 = 50.0;
/// Blocks a transaction waiting on an earlier nonce waits (the earlier one
/// must land first).
const STUCK_BLOCKS: f64 = 25.0;
/// Normal z-score of the 90th percentile.
const Z90: f64 = 1.281_551_565_5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Not sent yet: the exchange's queue, then the chain.
    Queue,
    /// Sent, waiting for a block.
    Mempool,
    /// In a block: confirmations to go.
    Confirmations,
    /// Terminal: nothing to estimate.
    None,
}

impl Basis {
    pub const ALL: [Basis; 4] = [Basis::Queue, Basis::Mempool, Basis::Confirmations, Basis::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Queue => "queue",
            Basis::Mempool => "mempool",
            Basis::Confirmations => "confirmations",
            Basis::None => "none",
        }
    }

    /// What a withdrawal in `state` is waiting for.
    pub fn of(state: State) -> Basis {
        match state {
            State::Pending => Basis::Queue,
            State::Broadcast => Basis::Mempool,
            State::Confirming => Basis::Confirmations,
            State::Completed | State::Failed | State::Dropped | State::Cancelled => Basis::None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Eta {
    /// `None` once terminal.
    #[serde(with = "super::rfc3339::option")]
    pub p50: Option<DateTime<Utc>>,
    #[serde(with = "super::rfc3339::option")]
    pub p90: Option<DateTime<Utc>>,
    pub basis: Basis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DelayCode {
    AwaitingSend,
    LowFee,
    NetworkCongested,
    SlowBlocks,
    StuckBehindEarlier,
    ExplorerUnavailable,
    AwaitingConfirmations,
}

impl DelayCode {
    pub const ALL: [DelayCode; 7] = [
        DelayCode::AwaitingSend,
        DelayCode::LowFee,
        DelayCode::NetworkCongested,
        DelayCode::SlowBlocks,
        DelayCode::StuckBehindEarlier,
        DelayCode::ExplorerUnavailable,
        DelayCode::AwaitingConfirmations,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DelayCode::AwaitingSend => "awaiting_send",
            DelayCode::LowFee => "low_fee",
            DelayCode::NetworkCongested => "network_congested",
            DelayCode::SlowBlocks => "slow_blocks",
            DelayCode::StuckBehindEarlier => "stuck_behind_earlier",
            DelayCode::ExplorerUnavailable => "explorer_unavailable",
            DelayCode::AwaitingConfirmations => "awaiting_confirmations",
        }
    }

    pub fn parse(code: &str) -> Option<DelayCode> {
        DelayCode::ALL.into_iter().find(|c| c.as_str() == code)
    }
}

/// The numbers behind a delay, for support (each where it applies).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DelayDetails {
    /// The transaction's fee rate (sat/vB) or max fee (gwei), and what the
    /// next blocks take in the same unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fee: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fee_needed: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fee_unit: Option<&'static str>,
    /// Whether the network is congested too (with a low fee).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub network_congested: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mempool_vsize: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gas_used_ratio: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_interval_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_block_interval_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_latest_nonce: Option<u64>,
    /// How long the exchange usually takes to send (90th percentile), seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usual_send_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delay {
    pub code: DelayCode,
    #[serde(with = "super::rfc3339")]
    pub since: DateTime<Utc>,
    pub details: DelayDetails,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub eta: Eta,
    pub delay: Option<Delay>,
}

/// An estimate as it was given when the withdrawal entered a basis, kept on
/// the record so it can be judged at completion (times in Unix seconds: a
/// record keeps up to three).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedEta {
    pub basis: Basis,
    pub p50: i64,
    pub p90: i64,
}

/// How an issued estimate fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    ByP50,
    ByP90,
    Late,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::ByP50 => "by_p50",
            Outcome::ByP90 => "by_p90",
            Outcome::Late => "late",
        }
    }
}

impl IssuedEta {
    pub fn judge(&self, completed_at: DateTime<Utc>) -> Outcome {
        let at = completed_at.timestamp();
        if at <= self.p50 {
            Outcome::ByP50
        } else if at <= self.p90 {
            Outcome::ByP90
        } else {
            Outcome::Late
        }
    }
}

/// What the service has observed of one network (every replica reads the
/// same counters from the store).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkStats {
    /// Seconds between consecutive blocks.
    pub block_interval: Histogram,
    /// Seconds from request to broadcast, of completed withdrawals.
    pub pending_to_broadcast: Histogram,
    /// Seconds from broadcast to the first block, of completed withdrawals.
    pub broadcast_to_block: Histogram,
}

/// Everything the estimate needs about a network.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkInputs {
    pub stats: NetworkStats,
    pub signals: ChainSignals,
    /// The configured confirmations (when the record does not say yet).
    pub required_confirmations: Option<u64>,
}

/// The statistics a completed withdrawal adds: (pending to broadcast,
/// broadcast to first block) in seconds, where it went through them.
pub fn durations(w: &Withdrawal) -> (Option<f64>, Option<f64>) {
    let history = w.history();
    let first_broadcast = history.iter().position(|h| h.state == State::Broadcast);
    let queued = first_broadcast
        .filter(|&i| i > 0)
        .map(|i| seconds(history[i].at - w.requested_at.to_utc()))
        .filter(|s| *s >= 0.0);
    // The broadcast that led to the block it completed in: the last one
    // before the last `confirming` (or `completed`, on chains with finality).
    let block_at = history.iter().rposition(|h| h.state == State::Confirming || h.state == State::Completed);
    let mined = block_at.and_then(|b| {
        let sent = history[..b].iter().rposition(|h| h.state == State::Broadcast)?;
        let first_block = history[sent..].iter().find(|h| h.state != State::Broadcast)?;
        Some(seconds(first_block.at - history[sent].at))
    });
    (queued, mined.filter(|s| *s >= 0.0))
}

fn seconds(duration: Duration) -> f64 {
    duration.num_milliseconds() as f64 / 1000.0
}

/// `seconds` after `now`, to the whole second (an estimate has no use for more).
fn after(now: DateTime<Utc>, seconds: f64) -> DateTime<Utc> {
    let at = now + Duration::milliseconds((seconds.clamp(0.0, 3.0e9) * 1000.0).round() as i64);
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

/// A wait as its median and 90th percentile, seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Wait {
    p50: f64,
    p90: f64,
}

impl Wait {
    const ZERO: Wait = Wait { p50: 0.0, p90: 0.0 };

    /// Two waits one after the other. The median of a sum of skewed waits
    /// is more than the sum of their medians: each wait is read as the gamma
    /// distribution with its median and 90th percentile, means and
    /// variances add, and the sum is a gamma distribution again.
    fn then(self, other: Wait) -> Wait {
        let (a, b) = (self.moments(), other.moments());
        gamma_wait((a.0 + b.0, a.1 + b.1))
    }

    /// Mean and variance of the gamma distribution with this median and
    /// 90th percentile.
    fn moments(self) -> (f64, f64) {
        if self.p90 <= 0.0 {
            return (0.0, 0.0);
        }
        if self.p50 <= 0.0 {
            // Nothing but a tail: an exponential with that 90th percentile.
            let mean = self.p90 / std::f64::consts::LN_10;
            return (mean, mean * mean);
        }
        let shape = shape_for_ratio((self.p90 / self.p50).max(1.0));
        let c = 1.0 / (9.0 * shape);
        let scale = self.p50 / (shape * (1.0 - c).powi(3));
        (shape * scale, shape * scale * scale)
    }
}

/// The smallest gamma shape the quantile approximation reads sensibly.
const MIN_SHAPE: f64 = 0.2;

/// The largest shape considered: a wait with p90 = p50 is read as this
/// sharp a distribution.
const MAX_SHAPE: f64 = 1.0e6;

/// The gamma shape whose Wilson-Hilferty p90 / p50 is `ratio` (at least 1),
/// within [`MIN_SHAPE`, `MAX_SHAPE`].
///
/// With `c = 1 / (9 shape)` the ratio is `((1 - c + Z90 sqrt(c)) / (1 - c))^3`,
/// which falls as the shape grows; with `k = ratio^(1/3) - 1` and
/// `s = sqrt(c)` it is the quadratic `k s^2 + Z90 s - k = 0`, whose positive
/// root is `2k / (Z90 + sqrt(Z90^2 + 4k^2))` (written so that `k = 0` gives
/// `s = 0`, an unbounded shape). Solved in closed form: the estimate runs on
/// every view (a bisection on the shape, 34 halvings to a relative 1e-9,
/// was 5% of a `GET`'s CPU in the binary; `tests` hold the two equal).
fn shape_for_ratio(ratio: f64) -> f64 {
    let k = ratio.cbrt() - 1.0;
    if !k.is_finite() {
        return MIN_SHAPE;
    }
    let s = 2.0 * k / (Z90 + Z90.hypot(2.0 * k));
    let c = s * s;
    if c <= 0.0 {
        return MAX_SHAPE;
    }
    (1.0 / (9.0 * c)).clamp(MIN_SHAPE, MAX_SHAPE)
}

/// The median and 90th percentile of the gamma distribution with this mean
/// and variance (Wilson-Hilferty's approximation).
fn gamma_wait((mean, variance): (f64, f64)) -> Wait {
    if mean <= 0.0 {
        return Wait::ZERO;
    }
    if variance <= 0.0 {
        return Wait { p50: mean, p90: mean };
    }
    let shape = (mean * mean / variance).max(MIN_SHAPE);
    let scale = mean / shape;
    let quantile = |z: f64| {
        let c = 1.0 / (9.0 * shape);
        shape * scale * (1.0 - c + z * c.sqrt()).max(0.0).powi(3)
    };
    Wait { p50: quantile(0.0), p90: quantile(Z90) }
}

/// Mean and variance of one block interval, seconds: observed, or
/// exponential at the target.
fn block_interval(w: &Withdrawal, stats: &NetworkStats) -> (f64, f64) {
    match stats.block_interval.summary() {
        Some(s) if s.count >= MIN_SAMPLES * 2.0 && s.mean > 0.0 => (s.mean, s.variance.max(s.mean * s.mean * 0.01)),
        _ => {
            let target = w.network.target_block_interval().as_secs_f64();
            (target, target * target)
        }
    }
}

/// The time `blocks` more blocks take: a gamma distribution with the
/// interval's mean and variance (Wilson-Hilferty's quantiles).
fn blocks_wait(blocks: f64, (mean, variance): (f64, f64)) -> Wait {
    if blocks <= 0.0 {
        return Wait::ZERO;
    }
    gamma_wait((blocks * mean, blocks * variance))
}

/// A wait with a history of its own, from where it stands after `elapsed`
/// seconds; past everything the history knows, as long again as it waited.
fn history_wait(histogram: &Histogram, elapsed: f64, default: Wait) -> Wait {
    if histogram.count() >= MIN_SAMPLES {
        if let (Some(p50), Some(p90)) =
            (histogram.remaining_quantile(elapsed, 0.5), histogram.remaining_quantile(elapsed, 0.9))
        {
            return Wait { p50, p90 };
        }
        return Wait { p50: elapsed * 0.5, p90: elapsed * 2.0 };
    }
    if elapsed < default.p50 {
        return Wait { p50: default.p50 - elapsed, p90: default.p90 - elapsed };
    }
    Wait { p50: elapsed * 0.5, p90: (default.p90 - elapsed).max(elapsed * 2.0) }
}

/// The queue's usual 90th percentile, seconds (observed or the default).
fn usual_send(stats: &NetworkStats) -> f64 {
    // The summary's p90 and count (computed once per read of the inputs).
    match stats.pending_to_broadcast.summary() {
        Some(summary) if summary.count >= MIN_SAMPLES => summary.p90,
        _ => DEFAULT_QUEUE_P90,
    }
}

fn required(w: &Withdrawal, inputs: &NetworkInputs) -> u64 {
    w.chain()
        .required_confirmations
        .or(inputs.required_confirmations)
        .unwrap_or_else(|| w.network.default_required_confirmations())
        .max(1)
}

/// When the current transaction entered `broadcast` last.
fn broadcast_at(w: &Withdrawal) -> Option<DateTime<Utc>> {
    w.history().iter().rev().find(|h| h.state == State::Broadcast).map(|h| h.at)
}

/// The wait for a broadcast transaction's first block: a number of blocks
/// (by its fee, or by what holds it), or what broadcast transactions of this
/// network took (from where this one stands).
enum Inclusion {
    Blocks(f64),
    Observed(Wait),
}

fn inclusion(w: &Withdrawal, inputs: &NetworkInputs, elapsed: f64) -> Inclusion {
    let signals = &inputs.signals;
    if let Some(tx) = w.tx_hash().and_then(|h| signals.txs.get(h.as_str())) {
        if tx.stuck_since.is_some() {
            return Inclusion::Blocks(STUCK_BLOCKS);
        }
        let low = matches!(signals.fee_verdict(&tx.reading), FeeVerdict::Low { .. });
        if low && tx.reading.max_fee_gwei.is_some() {
            return Inclusion::Blocks(UNDERPRICED_EVM_BLOCKS);
        }
        if let Some(blocks) = tx.reading.fee_rate.and_then(|fee| signals.blocks_for_fee(fee)) {
            return Inclusion::Blocks(blocks);
        }
    }
    let observed = &inputs.stats.broadcast_to_block;
    if observed.count() >= MIN_SAMPLES {
        return Inclusion::Observed(history_wait(observed, elapsed, Wait::ZERO));
    }
    // Nothing known: the next block (memoryless, whatever the wait so far).
    Inclusion::Blocks(1.0)
}

/// The estimate and the delay of `w` at `now`.
pub fn estimate(w: &Withdrawal, inputs: &NetworkInputs, now: DateTime<Utc>) -> Estimate {
    let basis = Basis::of(w.state());
    let interval = block_interval(w, &inputs.stats);
    let need = required(w, inputs);
    let wait = match basis {
        Basis::None => {
            return Estimate { eta: Eta { p50: None, p90: None, basis }, delay: None };
        }
        Basis::Queue => {
            let elapsed = seconds(now - w.requested_at.to_utc());
            let default = Wait { p50: DEFAULT_QUEUE_P50, p90: DEFAULT_QUEUE_P90 };
            let queue = history_wait(&inputs.stats.pending_to_broadcast, elapsed, default);
            let chain = match inclusion(w, inputs, 0.0) {
                Inclusion::Blocks(blocks) => blocks_wait(blocks + (need - 1) as f64, interval),
                Inclusion::Observed(first) => first.then(blocks_wait((need - 1) as f64, interval)),
            };
            queue.then(chain)
        }
        Basis::Mempool => {
            let elapsed = broadcast_at(w).map_or(0.0, |at| seconds(now - at).max(0.0));
            match inclusion(w, inputs, elapsed) {
                Inclusion::Blocks(blocks) => blocks_wait(blocks + (need - 1) as f64, interval),
                Inclusion::Observed(first) => first.then(blocks_wait((need - 1) as f64, interval)),
            }
        }
        Basis::Confirmations => {
            let have = w.chain().confirmations.unwrap_or(1);
            blocks_wait(need.saturating_sub(have).max(1) as f64, interval)
        }
    };
    let eta = Eta { p50: Some(after(now, wait.p50)), p90: Some(after(now, wait.p90.max(wait.p50))), basis };
    let delay = delay(w, inputs, basis, now);
    Estimate { eta, delay }
}

/// Why `w` is late, if it is: the first reason that applies, in order of
/// what explains most (our own blindness first, normal progress last).
fn delay(w: &Withdrawal, inputs: &NetworkInputs, basis: Basis, now: DateTime<Utc>) -> Option<Delay> {
    let signals = &inputs.signals;
    let network = w.network;
    let on_chain = matches!(basis, Basis::Mempool | Basis::Confirmations);
    let dated = |code, since, details| Some(Delay { code, since, details });
    if basis == Basis::Queue {
        let usual = usual_send(&inputs.stats);
        let since = after(w.requested_at.to_utc(), usual);
        let details = DelayDetails { usual_send_seconds: Some(usual.round()), ..Default::default() };
        return if now > since { dated(DelayCode::AwaitingSend, since, details) } else { None };
    }
    if !on_chain {
        return None;
    }
    if let Some(since) = signals.explorer_down_since {
        return dated(DelayCode::ExplorerUnavailable, since, DelayDetails::default());
    }
    let congested = signals.congested_since;
    if basis == Basis::Mempool {
        let tx = w.tx_hash().and_then(|h| signals.txs.get(h.as_str()));
        if let Some((tx, since)) = tx.and_then(|tx| Some((tx, tx.stuck_since?))) {
            let details = DelayDetails {
                nonce: tx.reading.nonce,
                sender_latest_nonce: tx.reading.sender_latest_nonce,
                ..Default::default()
            };
            return dated(DelayCode::StuckBehindEarlier, since, details);
        }
        if let Some((tx, since)) = tx.and_then(|tx| Some((tx, tx.low_fee_since?))) {
            let mut details = DelayDetails { network_congested: congested.is_some(), ..Default::default() };
            if let FeeVerdict::Low { have, need } = signals.fee_verdict(&tx.reading) {
                details.fee = Some(have);
                details.fee_needed = Some(need);
                details.fee_unit = Some(if tx.reading.max_fee_gwei.is_some() { "gwei" } else { "sat/vB" });
            }
            return dated(DelayCode::LowFee, since, details);
        }
        if let Some(since) = congested {
            let details = DelayDetails {
                mempool_vsize: signals.readings.mempool_vsize,
                gas_used_ratio: signals.readings.gas_used_ratio,
                ..Default::default()
            };
            return dated(DelayCode::NetworkCongested, since, details);
        }
    }
    if let Some(since) = signals.slow_blocks_since {
        let details = DelayDetails {
            block_interval_seconds: signals.recent_block_interval().map(f64::round),
            target_block_interval_seconds: Some(network.target_block_interval().as_secs_f64()),
            ..Default::default()
        };
        return dated(DelayCode::SlowBlocks, since, details);
    }
    let promised = w.eta_issued.iter().find(|issued| issued.basis == basis)?;
    let since = DateTime::<Utc>::from_timestamp(promised.p90, 0)?;
    if now > since {
        return dated(DelayCode::AwaitingConfirmations, since, DelayDetails::default());
    }
    None
}

/// Records the estimate on entering a new basis (once per basis: a reorg
/// back to the mempool keeps the first), so it is judged at completion.
/// True when it added one.
pub fn issue(w: &mut Withdrawal, inputs: &NetworkInputs, now: DateTime<Utc>) -> bool {
    let basis = Basis::of(w.state());
    if basis == Basis::None || w.eta_issued.iter().any(|issued| issued.basis == basis) {
        return false;
    }
    let eta = estimate(w, inputs, now).eta;
    let (Some(p50), Some(p90)) = (eta.p50, eta.p90) else { return false };
    w.eta_issued.push(IssuedEta { basis, p50: p50.timestamp(), p90: p90.timestamp() });
    true
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod wait_tests {
    use super::*;

    /// The bisection the closed form replaced (geometric, to a relative 1e-9).
    fn shape_by_bisection(ratio: f64) -> f64 {
        let ratio_at = |shape: f64| {
            let c = 1.0 / (9.0 * shape);
            ((1.0 - c + Z90 * c.sqrt()) / (1.0 - c)).powi(3)
        };
        let (mut low, mut high) = (MIN_SHAPE, MAX_SHAPE);
        while high / low > 1.0 + 1.0e-9 {
            let middle = (low * high).sqrt();
            if ratio_at(middle) > ratio {
                low = middle;
            } else {
                high = middle;
            }
        }
        (low * high).sqrt()
    }

    #[test]
    fn the_shape_in_closed_form_is_the_bisections() {
        // Ratios from 1 (a sharp wait) past the smallest shape's (about 12.6),
        // finely near 1, where the shape is steepest.
        let mut ratios = vec![1.0, 1.0 + 1e-12, 1.0 + 1e-9, 1.0 + 1e-6, 1.001, 1.01, 1e6, 1e300, f64::INFINITY];
        ratios.extend((0..2000).map(|i| 1.0 + f64::from(i) * 0.01));
        for ratio in ratios {
            let (closed, bisected) = (shape_for_ratio(ratio), shape_by_bisection(ratio));
            assert!((closed / bisected - 1.0).abs() < 2e-9, "ratio {ratio}: {closed} against {bisected}");
            assert!((MIN_SHAPE..=MAX_SHAPE).contains(&closed), "ratio {ratio}: {closed}");
        }
        // Each wait read back through its shape keeps its median (to a
        // relative 1e-9) and, where the shape is not clamped, its 90th
        // percentile (1e-6); the view rounds to the second.
        for (p50, p90) in [(600.0, 1380.0), (1800.0, 14_400.0), (30.0, 31.0), (5.0, 5.0), (100.0, 5000.0)] {
            let wait = Wait { p50, p90 };
            let back = gamma_wait(wait.moments());
            assert!((back.p50 / p50 - 1.0).abs() < 1e-9, "{wait:?} read back as {back:?}");
            if p90 / p50 > 1.01 && p90 / p50 < 12.0 {
                assert!((back.p90 / p90 - 1.0).abs() < 1e-6, "{wait:?} read back as {back:?}");
            }
        }
    }

    #[test]
    fn waits_read_as_gamma_distributions_add_up() {
        let exponential = blocks_wait(1.0, (600.0, 360_000.0));
        // Wilson-Hilferty for an exponential: median 0.70 (true 0.69), p90 2.28 (true 2.30).
        assert!((exponential.p50 / 600.0 - 0.70).abs() < 0.02, "{exponential:?}");
        assert!((exponential.p90 / 600.0 - 2.28).abs() < 0.03, "{exponential:?}");
        // Read back as moments: the exponential's mean and variance.
        let (mean, variance) = exponential.moments();
        assert!((mean / 600.0 - 1.0).abs() < 0.02 && (variance / 360_000.0 - 1.0).abs() < 0.05, "{mean} {variance}");
        // Two exponential waits one after the other: gamma(2), median 1.68 (not 2 x 0.69).
        let two = exponential.then(exponential);
        let direct = blocks_wait(2.0, (600.0, 360_000.0));
        assert!((two.p50 / direct.p50 - 1.0).abs() < 0.03, "{two:?} {direct:?}");
        assert!((two.p90 / direct.p90 - 1.0).abs() < 0.03, "{two:?} {direct:?}");
        // Nothing added to a wait leaves it as it was.
        let same = exponential.then(Wait::ZERO);
        assert!((same.p50 / exponential.p50 - 1.0).abs() < 0.02 && (same.p90 / exponential.p90 - 1.0).abs() < 0.02);
        assert_eq!(Wait::ZERO.then(Wait::ZERO), Wait::ZERO);
    }
}
