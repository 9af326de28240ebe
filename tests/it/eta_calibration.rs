//! Calibration of the arrival estimate: simulated Bitcoin chains replayed
//! through the real tracker (`ChainTracker::tick`) and service against the
//! fake Esplora, on a `ManualClock`: Poisson block arrivals at the 600 s
//! target, withdrawals arriving at random (half of them through the
//! exchange's queue first), and per scenario a congestion episode where
//! low-fee transactions wait several blocks, a fee bump (CPFP: the
//! transaction lands early, its own fee unchanged), or an explorer outage.
//! Every estimate a withdrawal was given (one per basis) is judged at its
//! completion, as `withdrawal_tracker_eta_outcomes_total` judges it.
//!
//! The figures in docs/PERFORMANCE.md come from `scripts/bench-eta-calibration.sh`
//! (`ETA_CALIBRATION_HOURS=48`); the test itself runs a short replay and
//! checks that the calibration machinery counts correctly (the outcome
//! counters agree with the records), not how good the estimate is.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use withdrawal_tracker::config::ExplorerKind;
use withdrawal_tracker::domain::eta::Basis;
use withdrawal_tracker::domain::{Network, State, WithdrawalId};

use crate::support::app::{Backend, TestApp};
use crate::support::chains::{chain_config, BTC_PAYEE};
use crate::support::fake_esplora::{fake_hash, quiet_fee_estimates, FakeEsplora, Mode};

const BLOCK_SECONDS: f64 = 600.0;
const POLL_SECONDS: i64 = 60;
const ARRIVAL_SECONDS: f64 = 180.0;
const QUEUE_SECONDS: f64 = 900.0;
const NORMAL_FEE: f64 = 25.0;
const LOW_FEE: f64 = 8.0;

#[derive(Debug, Clone, Copy)]
struct Scenario {
    name: &'static str,
    /// Hours into the run, start and end.
    congestion: Option<(f64, f64)>,
    /// Share of withdrawals sent at the low fee.
    low_fee_share: f64,
    /// Low-fee transactions are bumped (CPFP) this many seconds after broadcast.
    bump_after: Option<f64>,
    outage: Option<(f64, f64)>,
}

const SCENARIOS: [Scenario; 4] = [
    Scenario { name: "steady", congestion: None, low_fee_share: 0.0, bump_after: None, outage: None },
    Scenario { name: "congestion", congestion: Some((0.25, 0.75)), low_fee_share: 0.3, bump_after: None, outage: None },
    Scenario {
        name: "fee bump",
        congestion: Some((0.25, 0.75)),
        low_fee_share: 0.3,
        bump_after: Some(1800.0),
        outage: None,
    },
    Scenario {
        name: "explorer outage",
        congestion: None,
        low_fee_share: 0.0,
        bump_after: None,
        outage: Some((0.5, 0.55)),
    },
];

struct Tx {
    txid: String,
    /// Seconds into the run it is broadcast; the blocks it waits for once sent.
    sent: f64,
    blocks_to_wait: u32,
    fee: f64,
    bumped: bool,
    blocks_seen: u32,
    mined: bool,
}

/// An exponential wait with this mean.
fn exponential(rng: &mut StdRng, mean: f64) -> f64 {
    -mean * (1.0 - rng.random::<f64>()).ln()
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    judged: u64,
    by_p50: u64,
    by_p90: u64,
}

#[derive(Debug, Default)]
struct Report {
    withdrawals: usize,
    completed: usize,
    by_basis: BTreeMap<&'static str, Tally>,
    /// |completed - p50| of every judged estimate, seconds.
    errors: Vec<f64>,
}

impl Report {
    fn total(&self) -> Tally {
        self.by_basis.values().fold(Tally::default(), |a, t| Tally {
            judged: a.judged + t.judged,
            by_p50: a.by_p50 + t.by_p50,
            by_p90: a.by_p90 + t.by_p90,
        })
    }

    fn median_error_minutes(&mut self) -> f64 {
        self.errors.sort_by(f64::total_cmp);
        self.errors.get(self.errors.len() / 2).copied().unwrap_or(0.0) / 60.0
    }

    fn print(&mut self, name: &str) {
        let share = |n: u64, of: u64| if of == 0 { 0.0 } else { n as f64 * 100.0 / of as f64 };
        let total = self.total();
        let error = self.median_error_minutes();
        println!(
            "| {name} | {} | {} | {} | {:.1}% | {:.1}% | {error:.1} |",
            self.withdrawals,
            self.completed,
            total.judged,
            share(total.by_p50, total.judged),
            share(total.by_p90, total.judged)
        );
        for (basis, t) in &self.by_basis {
            println!(
                "|   {basis} | | | {} | {:.1}% | {:.1}% | |",
                t.judged,
                share(t.by_p50, t.judged),
                share(t.by_p90, t.judged)
            );
        }
    }
}

/// Replays `scenario` for `hours` of simulated time (then lets what is in
/// flight finish) and judges every estimate given.
async fn replay(scenario: Scenario, hours: f64, seed: u64) -> (Report, TestApp) {
    let fake = FakeEsplora::start(3).await;
    let app = TestApp::spawn_with(Backend::Memory, {
        let config = chain_config(ExplorerKind::Esplora, &fake.base_url, 2);
        move |c| {
            c.networks.insert("BTC".into(), config);
        }
    })
    .await;
    let tracker = app.chain_trackers[0].clone();
    let mut rng = StdRng::seed_from_u64(seed);
    let t0: DateTime<Utc> = app.clock_now();
    // The tip the tracker starts from, at the start of simulated time.
    fake.mine_at(&[], t0.timestamp());
    let at = |seconds: f64| t0 + Duration::milliseconds((seconds * 1000.0) as i64);
    let end = hours * 3600.0;
    let drain = end + 4.0 * 3600.0;
    let in_window = |window: Option<(f64, f64)>, t: f64| window.is_some_and(|(a, b)| t >= a * end && t < b * end);

    let mut next_block = exponential(&mut rng, BLOCK_SECONDS);
    let mut next_arrival = exponential(&mut rng, ARRIVAL_SECONDS);
    let mut queued: Vec<(f64, String)> = Vec::new(); // (broadcast at, id)
    let mut txs: Vec<Tx> = Vec::new();
    let mut n = 0u64;
    tracker.tick().await.unwrap();
    let mut now = 0.0;
    while now < drain {
        now += POLL_SECONDS as f64;
        app.clock.set(at(now));
        let congested = in_window(scenario.congestion, now);
        fake.set_fees(|s| {
            s.fee_estimates = if congested {
                vec![(1, 60.0), (2, 40.0), (3, 25.0), (6, LOW_FEE), (12, 5.0), (144, 2.0)]
            } else {
                quiet_fee_estimates()
            };
            s.backlog_vsize = if congested { 6_000_000 } else { 300_000 };
        });
        // New withdrawals: half registered with their transaction, half
        // pending in the exchange's queue first.
        while next_arrival <= now && next_arrival < end {
            let id = format!("w-{n}");
            n += 1;
            let registration = json!({
                "id": id, "user_id": "u", "coin": "BTC", "network": "BTC", "address": BTC_PAYEE,
                "amount": format!("0.{:08}", 10_000 + n), "requested_at": at(next_arrival).to_rfc3339(),
            });
            let sent = next_arrival + if rng.random::<bool>() { exponential(&mut rng, QUEUE_SECONDS) } else { 0.0 };
            assert_eq!(app.register(&registration).await.status(), 201);
            queued.push((sent, id));
            next_arrival += exponential(&mut rng, ARRIVAL_SECONDS);
        }
        // Broadcasts due.
        let (due, later): (Vec<_>, Vec<_>) = queued.drain(..).partition(|(sent, _)| *sent <= now);
        queued = later;
        for (sent, id) in due {
            let low = rng.random::<f64>() < scenario.low_fee_share;
            let fee = if low { LOW_FEE } else { NORMAL_FEE };
            let input = fake_hash("sim-in", n * 1000 + txs.len() as u64);
            let sats = 10_000 + txs.len() as u64;
            let txid = fake.broadcast(&[(input.as_str(), 0)], &[(Some(BTC_PAYEE), sats)]);
            fake.set_fees(|s| {
                s.fee_rates.insert(txid.clone(), fee);
            });
            let blocks_to_wait = if low && in_window(scenario.congestion, sent) { rng.random_range(3..=8) } else { 1 };
            app.patch(&id, &json!({"tx_hash": txid})).await;
            // The amount registered is what the transaction pays (the payee check).
            txs.push(Tx { txid, sent, blocks_to_wait, fee, bumped: false, blocks_seen: 0, mined: false });
        }
        // A fee bump: the low-fee transactions land in the next block.
        if let Some(after) = scenario.bump_after {
            for tx in txs.iter_mut().filter(|t| t.fee == LOW_FEE && !t.mined && !t.bumped && now - t.sent >= after) {
                tx.bumped = true;
                tx.blocks_to_wait = tx.blocks_seen + 1;
            }
        }
        // Blocks due: each takes what waited long enough.
        while next_block <= now {
            let mut included = Vec::new();
            for tx in txs.iter_mut().filter(|t| !t.mined && t.sent <= next_block) {
                tx.blocks_seen += 1;
                if tx.blocks_seen >= tx.blocks_to_wait {
                    tx.mined = true;
                    included.push(tx.txid.clone());
                }
            }
            let refs: Vec<&str> = included.iter().map(String::as_str).collect();
            fake.mine_at(&refs, at(next_block).timestamp());
            next_block += exponential(&mut rng, BLOCK_SECONDS);
        }
        let down = in_window(scenario.outage, now);
        fake.set_mode(if down { Mode::Down } else { Mode::Normal });
        let _ = tracker.tick().await; // fails during the outage, as it would
        app.service.eta.refresh(app.service.store.as_ref(), &[Network::Btc], at(now)).await.unwrap();
    }
    fake.set_mode(Mode::Normal);

    let mut report = Report { withdrawals: n as usize, ..Report::default() };
    for i in 0..n {
        let id = WithdrawalId::parse(&format!("w-{i}")).unwrap();
        let w = app.service.store.get(&id).await.unwrap().unwrap();
        if w.state() != State::Completed {
            continue;
        }
        report.completed += 1;
        let completed = w.completed_at().unwrap().timestamp();
        for issued in &w.eta_issued {
            let tally = report.by_basis.entry(issued.basis.as_str()).or_default();
            tally.judged += 1;
            tally.by_p50 += u64::from(completed <= issued.p50);
            tally.by_p90 += u64::from(completed <= issued.p90);
            report.errors.push((completed - issued.p50).abs() as f64);
        }
    }
    (report, app)
}

/// The outcome counters the completing writer exported, by basis.
fn counted(app: &TestApp) -> BTreeMap<&'static str, Tally> {
    let metrics = &app.service.metrics.eta_outcomes;
    let mut by_basis = BTreeMap::new();
    for basis in Basis::ALL {
        let get = |outcome: &str| metrics.with_label_values(&["BTC", basis.as_str(), outcome]).get();
        let (p50, p90, late) = (get("by_p50"), get("by_p90"), get("late"));
        if p50 + p90 + late > 0 {
            by_basis.insert(basis.as_str(), Tally { judged: p50 + p90 + late, by_p50: p50, by_p90: p50 + p90 });
        }
    }
    by_basis
}

#[tokio::test]
async fn the_calibration_replay_counts_every_estimate_once() {
    let hours: f64 = std::env::var("ETA_CALIBRATION_HOURS").map_or(2.0, |h| h.parse().expect("hours"));
    let scenarios: Vec<Scenario> =
        if std::env::var("ETA_CALIBRATION_HOURS").is_ok() { SCENARIOS.to_vec() } else { vec![SCENARIOS[1]] };
    println!("| scenario | withdrawals | completed | estimates judged | by p50 | by p90 | median abs. error (min) |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (i, scenario) in scenarios.into_iter().enumerate() {
        let (mut report, app) = replay(scenario, hours, 15 + i as u64).await;
        report.print(scenario.name);
        // Every withdrawal completes once the simulation drains.
        assert_eq!(report.completed, report.withdrawals, "{}", scenario.name);
        assert!(report.withdrawals > 0);
        // The counters exported by the completing writer agree with the records.
        let counted = counted(&app);
        let from_records: BTreeMap<&'static str, (u64, u64, u64)> =
            report.by_basis.iter().map(|(b, t)| (*b, (t.judged, t.by_p50, t.by_p90))).collect();
        let from_counters: BTreeMap<&'static str, (u64, u64, u64)> =
            counted.iter().map(|(b, t)| (*b, (t.judged, t.by_p50, t.by_p90))).collect();
        assert_eq!(from_counters, from_records, "{}", scenario.name);
        // Every withdrawal was estimated on each basis it went through.
        assert!(report.total().judged >= report.completed as u64 * 2, "{}", scenario.name);
    }
}
