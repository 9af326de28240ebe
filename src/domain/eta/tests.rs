use super::*;
use crate::domain::observation::{NetworkRules, Observation};
use crate::domain::onchain::BlockRef;
use crate::domain::{at, sample_withdrawal};

const T0: &str = "2026-03-02T10:00:00Z";

fn minutes(m: i64) -> Duration {
    Duration::minutes(m)
}

fn rules(required: u64) -> NetworkRules {
    NetworkRules { required_confirmations: required, ..Default::default() }
}

/// A BTC withdrawal requested at T0, in `state`: broadcast at T0, and in a
/// block at height 100 seen from `tip` when confirming.
fn withdrawal(state: State, tip: u64) -> Withdrawal {
    let sent = matches!(state, State::Broadcast | State::Confirming | State::Completed);
    let mut w = sample_withdrawal("w", T0, sent);
    if state == State::Confirming || state == State::Completed {
        let block = BlockRef { height: 100, hash: "b".repeat(64) };
        w.observe(&Observation::InBlock { block, tip }, at(T0) + minutes(5), &rules(3)).unwrap();
    }
    if state == State::Cancelled {
        w.cancel("no", at(T0)).unwrap();
    }
    assert_eq!(w.state(), state);
    w
}

fn txid(w: &Withdrawal) -> String {
    w.tx_hash().unwrap().as_str().to_owned()
}

fn inputs() -> NetworkInputs {
    NetworkInputs { required_confirmations: Some(3), ..Default::default() }
}

/// Signals where `w`'s transaction pays `fee_rate` sat/vB and the next
/// block takes 20, with congestion when `congested`.
fn fee_signals(w: &Withdrawal, fee_rate: f64, congested: bool, now: DateTime<Utc>) -> ChainSignals {
    let mut readings = Readings {
        fee_for_blocks: vec![(1, 20.0), (3, 10.0), (6, 5.0), (144, 1.0)],
        mempool_vsize: Some(if congested { 9_000_000 } else { 500_000 }),
        ..Default::default()
    };
    readings.txs.insert(txid(w), TxReading { fee_rate: Some(fee_rate), ..Default::default() });
    let calm = ChainSignals { fee_history: vec![20.0; 10], ..Default::default() };
    calm.after_poll(Network::Btc, readings, &[txid(w)], now)
}

use crate::domain::Network;

/// Minutes from `now` to a time.
fn in_minutes(now: DateTime<Utc>, t: Option<DateTime<Utc>>) -> f64 {
    (t.unwrap() - now).num_seconds() as f64 / 60.0
}

#[test]
fn the_basis_follows_the_state() {
    let cases = [
        (State::Pending, Basis::Queue),
        (State::Broadcast, Basis::Mempool),
        (State::Confirming, Basis::Confirmations),
        (State::Cancelled, Basis::None),
    ];
    for (state, basis) in cases {
        let w = withdrawal(state, 100);
        let estimate = estimate(&w, &inputs(), at(T0) + minutes(6));
        assert_eq!(estimate.eta.basis, basis, "{state}");
        assert_eq!(estimate.eta.p50.is_none(), basis == Basis::None, "{state}");
    }
}

#[test]
fn defaults_assume_poisson_blocks_at_the_target_interval() {
    let now = at(T0) + minutes(6);
    // (state, tip, p50 minutes range, p90 minutes range): BTC, 600 s blocks,
    // 3 confirmations.
    type Range = (f64, f64);
    let cases: &[(State, u64, Range, Range)] = &[
        // 2 blocks to go: gamma(2) median 16.8 min, p90 38.9 min.
        (State::Confirming, 100, (15.0, 19.0), (36.0, 42.0)),
        // 1 block to go: exponential, median 6.9 min, p90 23 min.
        (State::Confirming, 101, (6.0, 8.0), (21.0, 25.0)),
        // In the mempool: 3 blocks, median 26.7, p90 about 50.
        (State::Broadcast, 0, (24.0, 30.0), (45.0, 56.0)),
    ];
    for &(state, tip, (p50_low, p50_high), (p90_low, p90_high)) in cases {
        let w = withdrawal(state, tip);
        let eta = estimate(&w, &inputs(), now).eta;
        let (p50, p90) = (in_minutes(now, eta.p50), in_minutes(now, eta.p90));
        assert!((p50_low..=p50_high).contains(&p50), "{state} tip {tip}: p50 {p50}");
        assert!((p90_low..=p90_high).contains(&p90), "{state} tip {tip}: p90 {p90}");
    }
}

#[test]
fn observed_block_intervals_replace_the_target() {
    let now = at(T0) + minutes(6);
    let w = withdrawal(State::Confirming, 100);
    let mut fast = inputs();
    for _ in 0..50 {
        fast.stats.block_interval.record(60.0);
    }
    let eta = estimate(&w, &fast, now).eta;
    // Two one-minute blocks, nearly regular: about two minutes.
    let p50 = in_minutes(now, eta.p50);
    assert!((1.5..=2.5).contains(&p50), "{p50}");
    assert!(in_minutes(now, eta.p90) < 3.0);
}

#[test]
fn the_queue_uses_what_the_exchange_usually_takes_from_where_it_stands() {
    let w = withdrawal(State::Pending, 0);
    let mut observed = inputs();
    for minutes in 1..=60 {
        observed.stats.pending_to_broadcast.record(f64::from(minutes) * 60.0);
    }
    // Right after the request: about half an hour in the queue, plus the chain.
    let now = at(T0);
    let early = estimate(&w, &observed, now);
    assert_eq!(early.eta.basis, Basis::Queue);
    assert!(early.delay.is_none());
    let p50 = in_minutes(now, early.eta.p50);
    assert!((45.0..=75.0).contains(&p50), "{p50}");
    // Fifty minutes on, what is left of the queue is short.
    let later = at(T0) + minutes(50);
    let p50_later = in_minutes(later, estimate(&w, &observed, later).eta.p50);
    assert!(p50_later < p50, "{p50_later} < {p50}");
    // Past what it usually takes: awaiting_send since the usual p90.
    let late = at(T0) + minutes(70);
    let delay = estimate(&w, &observed, late).delay.expect("late");
    assert_eq!(delay.code, DelayCode::AwaitingSend);
    assert!(delay.since > at(T0) + minutes(50) && delay.since < late, "{:?}", delay.since);
    assert!(delay.details.usual_send_seconds.is_some());
    // With nothing observed, the default queue (4 hours at p90) decides.
    assert!(estimate(&w, &inputs(), late).delay.is_none());
    let delay = estimate(&w, &inputs(), at(T0) + minutes(250)).delay.unwrap();
    assert_eq!((delay.code, delay.since), (DelayCode::AwaitingSend, at(T0) + minutes(240)));
}

#[test]
fn delay_codes_table() {
    let now = at(T0) + minutes(30);
    let broadcast = withdrawal(State::Broadcast, 0);
    let confirming = withdrawal(State::Confirming, 100);
    let with = |signals: ChainSignals| NetworkInputs { signals, ..inputs() };
    let slow_blocks = {
        let times = (0..7).map(|i| at(T0) + minutes(40 * i));
        ChainSignals { read_at: Some(now), ..Default::default() }.with_block_times(times, Network::Btc)
    };
    let down = ChainSignals::default().after_failed_poll(at(T0) + minutes(20));
    let evm_stuck = |w: &Withdrawal| {
        let mut readings = Readings::default();
        readings.txs.insert(
            txid(w),
            TxReading { nonce: Some(9), sender_latest_nonce: Some(8), max_fee_gwei: Some(5.0), ..Default::default() },
        );
        ChainSignals::default().after_poll(Network::Btc, readings, &[txid(w)], at(T0) + minutes(10))
    };
    let cases: Vec<(&str, &Withdrawal, NetworkInputs, Option<DelayCode>)> = vec![
        ("on track", &broadcast, inputs(), None),
        ("low fee", &broadcast, with(fee_signals(&broadcast, 2.0, false, now)), Some(DelayCode::LowFee)),
        ("low fee, congested", &broadcast, with(fee_signals(&broadcast, 2.0, true, now)), Some(DelayCode::LowFee)),
        (
            "enough fee, congested",
            &broadcast,
            with(fee_signals(&broadcast, 30.0, true, now)),
            Some(DelayCode::NetworkCongested),
        ),
        ("enough fee, calm", &broadcast, with(fee_signals(&broadcast, 30.0, false, now)), None),
        ("slow blocks in the mempool", &broadcast, with(slow_blocks.clone()), Some(DelayCode::SlowBlocks)),
        ("slow blocks while confirming", &confirming, with(slow_blocks), Some(DelayCode::SlowBlocks)),
        ("explorer down", &confirming, with(down.clone()), Some(DelayCode::ExplorerUnavailable)),
        (
            "explorer down beats low fee",
            &broadcast,
            with(ChainSignals {
                explorer_down_since: down.explorer_down_since,
                ..fee_signals(&broadcast, 2.0, false, now)
            }),
            Some(DelayCode::ExplorerUnavailable),
        ),
        ("waiting on an earlier nonce", &broadcast, with(evm_stuck(&broadcast)), Some(DelayCode::StuckBehindEarlier)),
        (
            "congestion does not hold up a confirming one",
            &confirming,
            with(fee_signals(&broadcast, 30.0, true, now)),
            None,
        ),
    ];
    for (name, w, inputs, code) in cases {
        let delay = estimate(w, &inputs, now).delay;
        assert_eq!(delay.as_ref().map(|d| d.code), code, "{name}: {delay:?}");
        if let Some(delay) = delay {
            assert!(delay.since <= now, "{name}: since {:?}", delay.since);
        }
    }
}

#[test]
fn a_low_fee_says_what_it_pays_and_what_is_taken() {
    let now = at(T0) + minutes(30);
    let w = withdrawal(State::Broadcast, 0);
    let estimate = estimate(&w, &NetworkInputs { signals: fee_signals(&w, 2.0, true, now), ..inputs() }, now);
    let delay = estimate.delay.unwrap();
    assert_eq!(delay.since, now);
    assert_eq!(
        (delay.details.fee, delay.details.fee_needed, delay.details.fee_unit, delay.details.network_congested),
        (Some(2.0), Some(20.0), Some("sat/vB"), true)
    );
    // 2 sat/vB gets in within 144 blocks by the estimates, not 6: a long wait.
    assert!(in_minutes(now, estimate.eta.p50) > 6.0 * 60.0);
}

#[test]
fn a_fee_bump_shortens_the_wait() {
    let now = at(T0) + minutes(30);
    let w = withdrawal(State::Broadcast, 0);
    let cases = [(2.0, 144.0), (5.0, 6.0), (12.0, 3.0), (25.0, 1.0)];
    let mut last = f64::INFINITY;
    for (fee, blocks) in cases {
        let inputs = NetworkInputs { signals: fee_signals(&w, fee, false, now), ..inputs() };
        let p50 = in_minutes(now, estimate(&w, &inputs, now).eta.p50);
        // The inclusion wait plus two confirmations, at 10 minutes a block.
        let expected = (blocks + 2.0) * 10.0;
        assert!((p50 / expected - 1.0).abs() < 0.25, "fee {fee}: p50 {p50} vs about {expected}");
        assert!(p50 < last);
        last = p50;
    }
}

#[test]
fn running_past_the_estimate_is_awaiting_confirmations() {
    let mut w = withdrawal(State::Confirming, 100);
    assert!(issue(&mut w, &inputs(), at(T0) + minutes(5)));
    assert!(!issue(&mut w, &inputs(), at(T0) + minutes(6)), "once per basis");
    let promised = w.eta_issued[0];
    assert_eq!(promised.basis, Basis::Confirmations);
    let before = DateTime::<Utc>::from_timestamp(promised.p90 - 60, 0).unwrap();
    assert_eq!(estimate(&w, &inputs(), before).delay, None);
    let past = DateTime::<Utc>::from_timestamp(promised.p90 + 60, 0).unwrap();
    let delay = estimate(&w, &inputs(), past).delay.unwrap();
    assert_eq!(delay.code, DelayCode::AwaitingConfirmations);
    assert_eq!(delay.since.timestamp(), promised.p90);
}

#[test]
fn issued_estimates_are_judged_at_completion() {
    let issued = IssuedEta { basis: Basis::Mempool, p50: 1000, p90: 2000 };
    let cases = [
        (999, Outcome::ByP50),
        (1000, Outcome::ByP50),
        (1500, Outcome::ByP90),
        (2000, Outcome::ByP90),
        (2001, Outcome::Late),
    ];
    for (completed, outcome) in cases {
        assert_eq!(issued.judge(DateTime::<Utc>::from_timestamp(completed, 0).unwrap()), outcome, "{completed}");
    }
    let mut cancelled = withdrawal(State::Cancelled, 0);
    assert!(!issue(&mut cancelled, &inputs(), at(T0)));
}

#[test]
fn durations_come_from_the_history() {
    // Requested at T0, broadcast 20 minutes later, in a block 15 minutes after that.
    let mut w = sample_withdrawal("w", T0, false);
    let hash = crate::domain::TxHash::parse(Network::Btc, &"cd".repeat(32)).unwrap();
    w.set_tx_hash(hash, at(T0) + minutes(20)).unwrap();
    let block = BlockRef { height: 100, hash: "b".repeat(64) };
    w.observe(&Observation::InBlock { block, tip: 100 }, at(T0) + minutes(35), &rules(3)).unwrap();
    assert_eq!(durations(&w), (Some(1200.0), Some(900.0)));
    // Registered with its hash at its request time: no time in the queue,
    // and not in a block yet.
    let sent = sample_withdrawal("w", T0, true);
    assert_eq!(durations(&sent), (Some(0.0), None));
}

#[test]
fn delay_codes_round_trip() {
    for code in DelayCode::ALL {
        assert_eq!(DelayCode::parse(code.as_str()), Some(code));
        assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
    }
    assert_eq!(DelayCode::parse("late"), None);
}
