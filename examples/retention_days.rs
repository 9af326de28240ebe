//! Simulated days against a real Redis, for `scripts/bench-retention.sh`:
//! withdrawals arrive at a steady rate, are broadcast, land in a block two
//! minutes later and complete ten minutes after that (one in twenty is
//! cancelled instead, five minutes after registration); the real retention
//! job (`tracker::retention`) runs every simulated hour. Time is a
//! `ManualClock`, so 30 days take seconds. After each day it prints Redis
//! `used_memory` and what the store holds.
//!
//! Tombstones are Redis keys with a TTL, which runs on the wall clock, not
//! the simulated one: a run would keep all of them. So the days run without
//! tombstones, and the tombstone's own cost is measured at the end (10,000
//! records inserted, then expired with a tombstone each).
//!
//! Usage: retention_days REDIS_URL KEY_PREFIX DAYS PER_DAY RETENTION_DAYS

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use withdrawal_tracker::clock::{Clock, ManualClock};
use withdrawal_tracker::domain::address::ValidatedAddress;
use withdrawal_tracker::domain::calendar::{CalendarConfig, WorkingCalendar};
use withdrawal_tracker::domain::escalation::EscalationPolicy;
use withdrawal_tracker::domain::observation::{NetworkRules, Observation};
use withdrawal_tracker::domain::onchain::BlockRef;
use withdrawal_tracker::domain::sla::SlaPolicy;
use withdrawal_tracker::domain::{Amount, Network, Registration, TxHash, UserId, Withdrawal, WithdrawalId};
use withdrawal_tracker::metrics::Metrics;
use withdrawal_tracker::networks::NetworkBoard;
use withdrawal_tracker::service::Service;
use withdrawal_tracker::store::{IndexKey, RedisStore, Store};
use withdrawal_tracker::tracker::retention::{Retention, RetentionSettings};

const REQUIRED_CONFIRMATIONS: u64 = 20;
const TOMBSTONE_SAMPLE: usize = 10_000;

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    InBlock(usize),
    /// In the block at this height.
    Completed(usize, u64),
    Cancelled(usize),
}

fn id(i: usize) -> WithdrawalId {
    WithdrawalId::parse(&format!("w-{i:07}")).unwrap()
}

fn registration(i: usize, broadcast: bool) -> Registration {
    // Real transaction hashes do not compress: a digest, not `i` padded.
    let hash: String = Sha256::digest(i.to_le_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    Registration {
        id: id(i),
        user_id: UserId::parse(&format!("u-{}", i % 20_000)).unwrap(),
        coin: "USDT".into(),
        destination: ValidatedAddress::parse(Network::Trx, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", None).unwrap(),
        amount: Amount::parse(&format!("{}.{:02}", 10 + i % 5000, i % 100)).unwrap(),
        requested_at: None,
        tx_hash: broadcast.then(|| TxHash::parse(Network::Trx, &hash).unwrap()),
    }
}

async fn used_memory(redis: &mut redis::aio::ConnectionManager) -> u64 {
    let info: String = redis::cmd("INFO").arg("memory").query_async(redis).await.unwrap();
    info.lines().find_map(|l| l.strip_prefix("used_memory:")).unwrap().trim().parse().unwrap()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (url, prefix) = (&args[1], &args[2]);
    let days: i64 = args[3].parse().unwrap();
    let per_day: usize = args[4].parse().unwrap();
    let retention_days: u64 = args[5].parse().unwrap();
    let start: DateTime<Utc> = "2026-01-05T00:00:00Z".parse().unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let store: Arc<dyn Store> = Arc::new(RedisStore::new(url, prefix, Duration::from_secs(5)).unwrap());
    let metrics = Arc::new(Metrics::new());
    let networks = NetworkBoard::new(store.clone(), clock.clone(), metrics.clone(), false, chrono_tz::UTC);
    let service = Arc::new(Service {
        store: store.clone(),
        calendar: Arc::new(WorkingCalendar::from_config(&CalendarConfig::default(), &[]).unwrap()),
        sla: SlaPolicy::default(),
        escalation: EscalationPolicy::default(),
        clock: clock.clone(),
        metrics,
        networks: Arc::new(networks),
        eta: Default::default(),
    });
    let settings = RetentionSettings {
        terminal_for: Duration::from_secs(retention_days * 86_400),
        tombstone_for: Duration::ZERO,
        interval: Duration::from_secs(3600),
    };
    let retention = Retention::new(service.clone(), None, settings);
    let mut redis = redis::aio::ConnectionManager::new(redis::Client::open(url.as_str()).unwrap()).await.unwrap();

    let spacing = chrono::Duration::milliseconds(86_400_000 / per_day as i64);
    let mut steps: BinaryHeap<Reverse<(DateTime<Utc>, Step)>> = BinaryHeap::new();
    let mut next_retention_run = start + chrono::Duration::hours(1);
    let (mut registered, mut expired, mut height) = (0usize, 0usize, 1_000u64);
    println!("| day | registered | in store | terminal index | expired so far | used_memory (bytes) | MiB |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for day in 1..=days {
        let day_end = start + chrono::Duration::days(day);
        loop {
            let arrival = start + spacing * registered as i32;
            let next_step = steps.peek().map(|Reverse((at, _))| *at);
            let now = [Some(arrival), next_step, Some(next_retention_run)].into_iter().flatten().min().unwrap();
            if now >= day_end {
                break;
            }
            clock.set(now);
            if now == next_retention_run {
                let report = retention.expire_once().await.unwrap();
                expired += report.expired;
                next_retention_run += chrono::Duration::hours(1);
            } else if Some(now) == next_step {
                let Reverse((_, step)) = steps.pop().unwrap();
                height += 1;
                let block_hash = |block: u64| format!("{block:064x}");
                let rules = NetworkRules { required_confirmations: REQUIRED_CONFIRMATIONS, ..NetworkRules::default() };
                let in_block = |height: u64, tip: u64| Observation::InBlock {
                    block: BlockRef { height, hash: block_hash(height) },
                    tip,
                };
                match step {
                    Step::InBlock(i) => {
                        let block = height;
                        let seen = |w: &mut Withdrawal| Ok(w.observe(&in_block(block, block), now, &rules)?);
                        service.modify(&id(i), seen).await.unwrap();
                        steps.push(Reverse((now + chrono::Duration::minutes(10), Step::Completed(i, block))));
                    }
                    Step::Completed(i, block) => {
                        let tip = block + REQUIRED_CONFIRMATIONS;
                        let confirmed = |w: &mut Withdrawal| Ok(w.observe(&in_block(block, tip), now, &rules)?);
                        service.modify(&id(i), confirmed).await.unwrap();
                    }
                    Step::Cancelled(i) => {
                        let cancel = |w: &mut Withdrawal| Ok(w.cancel("rejected by risk review", now).map(|_| ())?);
                        service.modify(&id(i), cancel).await.unwrap();
                    }
                }
            } else {
                let i = registered;
                let cancelled = i % 20 == 19;
                service.register(registration(i, !cancelled)).await.unwrap();
                let step = if cancelled {
                    (now + chrono::Duration::minutes(5), Step::Cancelled(i))
                } else {
                    (now + chrono::Duration::minutes(2), Step::InBlock(i))
                };
                steps.push(Reverse(step));
                registered += 1;
            }
        }
        let counts = store.count(&[IndexKey::All, IndexKey::Terminal]).await.unwrap();
        let used = used_memory(&mut redis).await;
        println!(
            "| {day} | {registered} | {} | {} | {expired} | {used} | {:.1} |",
            counts[0],
            counts[1],
            used as f64 / (1024.0 * 1024.0)
        );
    }

    // The tombstone's own cost: records inserted, then expired with one each.
    let before = used_memory(&mut redis).await;
    let now = clock.now();
    let mut sample = Vec::with_capacity(TOMBSTONE_SAMPLE);
    for n in 0..TOMBSTONE_SAMPLE {
        let mut w = Withdrawal::register(registration(90_000_000 + n, false), now);
        w.cancel("sample", now).unwrap();
        store.insert(&w).await.unwrap();
        sample.push(w);
    }
    for w in &sample {
        store.expire(w, now, Duration::from_secs(30 * 86_400)).await.unwrap();
    }
    let after = used_memory(&mut redis).await;
    println!();
    println!(
        "tombstones: {TOMBSTONE_SAMPLE} cost {} bytes, {} bytes each",
        after - before,
        (after - before) / TOMBSTONE_SAMPLE as u64
    );
}
