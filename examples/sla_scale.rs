//! Scale benchmark for the SLA sweeper and the overdue list (see
//! `scripts/bench-sla-scale.sh`, which starts the Redis this talks to).
//!
//! Loads records through the Redis store, then measures:
//! - the cost of sweeping K due records in a store of N, for two N: the
//!   sweeper reads the deadlines index, so the cost should follow K, not N;
//! - `GET /v1/overdue?limit=100` latency over HTTP against the real server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use withdrawal_tracker::clock::ManualClock;
use withdrawal_tracker::config::Config;
use withdrawal_tracker::domain::address::ValidatedAddress;
use withdrawal_tracker::domain::escalation::DeliveryStatus;
use withdrawal_tracker::domain::{Amount, Network, Registration, UserId, Withdrawal, WithdrawalId};
use withdrawal_tracker::service::Service;
use withdrawal_tracker::startup::Application;
use withdrawal_tracker::store::RedisStore;
use withdrawal_tracker::tickets::NoSink;
use withdrawal_tracker::tracker::sweeper::Sweeper;

const SUPPORT_TOKEN: &str = "bench-support-token-0123456789";

fn config(redis_url: &str, prefix: &str) -> Config {
    let text = format!(
        r#"
        listen = "127.0.0.1:0"
        redis_url = "{redis_url}"
        key_prefix = "{prefix}"
        store_timeout = "5s"
        [auth]
        support_tokens = ["{SUPPORT_TOKEN}"]
        user_jwt_secret = "bench-user-jwt-secret-0123456789abcdef"
        [sla]
        sweep_interval = "1h"
        "#
    );
    Config::parse_toml(&text, "bench").unwrap()
}

/// Wednesday noon: no weekend within the deadlines used here.
fn load_time() -> DateTime<Utc> {
    "2026-03-04T12:00:00Z".parse().unwrap()
}

fn build(redis_url: &str, prefix: &str, clock: Arc<ManualClock>) -> Application {
    let config = config(redis_url, prefix);
    let store = Arc::new(RedisStore::new(redis_url, prefix, Duration::from_secs(5)).unwrap());
    Application::build_with(config.settings().unwrap(), store, Arc::new(NoSink), clock).unwrap()
}

/// Half the records are overdue with their ticket already delivered; half
/// were requested in the last 20 hours and are on track.
fn record(service: &Service, i: usize) -> Withdrawal {
    let now = load_time();
    let seconds_ago =
        if i % 2 == 0 { 3 * 86_400 + (i as i64 * 7919) % (5 * 86_400) } else { (i as i64 * 104_729) % 72_000 };
    let networks = [
        (Network::Trx, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
        (Network::Eth, "0xdAC17F958D2ee523a2206206994597C13D831ec7"),
        (Network::Btc, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
        (Network::Sol, "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"),
    ];
    let (network, address) = networks[(i / 2) % networks.len()];
    let registration = Registration {
        id: WithdrawalId::parse(&format!("w-{i:08}")).unwrap(),
        user_id: UserId::parse(&format!("u-{}", i % 50_000)).unwrap(),
        coin: if i % 3 == 0 { "USDT".into() } else { "ETH".into() },
        destination: ValidatedAddress::parse(network, address, None).unwrap(),
        amount: Amount::parse(&format!("{}.{}", i % 10_000, i % 100)).unwrap_or_else(|_| Amount::parse("1").unwrap()),
        requested_at: Some((now - chrono::Duration::seconds(seconds_ago)).fixed_offset()),
        tx_hash: None,
    };
    let mut w = Withdrawal::register(registration, now);
    service.refresh(&mut w, now);
    if let Some(escalation) = w.escalation.as_mut() {
        for delivery in &mut escalation.deliveries {
            delivery.status = DeliveryStatus::Delivered;
        }
        escalation.ticket_id = Some(format!("T-{i}"));
        service.refresh(&mut w, now);
    }
    w
}

async fn load(service: &Service, records: usize) -> Vec<DateTime<Utc>> {
    let started = Instant::now();
    let deadlines: Vec<Option<DateTime<Utc>>> = stream::iter(0..records)
        .map(|i| async move {
            let w = record(service, i);
            service.store.insert(&w).await.unwrap();
            w.next_deadline_at
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let elapsed = started.elapsed();
    println!(
        "loaded {records} records in {:.1}s ({:.0}/s)",
        elapsed.as_secs_f64(),
        records as f64 / elapsed.as_secs_f64()
    );
    let mut deadlines: Vec<DateTime<Utc>> = deadlines.into_iter().flatten().collect();
    deadlines.sort();
    deadlines
}

/// Moves the clock to the K-th earliest deadline and sweeps until nothing is
/// due; returns the time per processed record.
async fn sweep_cost(sweeper: &Sweeper, clock: &ManualClock, deadlines: &[DateTime<Utc>], due: usize) -> Duration {
    clock.set(deadlines[due - 1]);
    let started = Instant::now();
    let mut examined = 0;
    loop {
        let report = sweeper.sweep_once().await.unwrap();
        if report.examined == 0 {
            break;
        }
        examined += report.examined;
    }
    let elapsed = started.elapsed();
    println!("  swept {examined} due records in {:.1} ms", elapsed.as_secs_f64() * 1000.0);
    elapsed / examined.max(1) as u32
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn overdue_latency(port: u16, path: &str, requests: usize) {
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}{path}");
    let mut timings = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        let response = client.get(&url).bearer_auth(SUPPORT_TOKEN).send().await.unwrap();
        assert!(response.status().is_success());
        let body: serde_json::Value = response.json().await.unwrap();
        timings.push(started.elapsed());
        assert_eq!(body["items"].as_array().unwrap().len(), 100, "a full page");
    }
    timings.sort();
    println!(
        "  GET {path}: p50 {:.2} ms, p99 {:.2} ms over {requests} requests",
        percentile(&timings, 0.5).as_secs_f64() * 1000.0,
        percentile(&timings, 0.99).as_secs_f64() * 1000.0
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let redis_url = args.get(1).expect("usage: sla_scale REDIS_URL [LARGE] [SMALL] [DUE]").clone();
    let large: usize = args.get(2).map_or(1_000_000, |v| v.parse().unwrap());
    let small: usize = args.get(3).map_or(100_000, |v| v.parse().unwrap());
    let due: usize = args.get(4).map_or(1_000, |v| v.parse().unwrap());

    let mut per_record = Vec::new();
    for (records, prefix) in [(small, "bench-small"), (large, "bench-large")] {
        println!("store of {records} records:");
        let clock = Arc::new(ManualClock::new(load_time()));
        let app = build(&redis_url, prefix, clock.clone());
        let (service, sweeper, port) = (app.service(), app.sweeper(), app.port());
        let deadlines = load(&service, records).await;
        let cost = sweep_cost(&sweeper, &clock, &deadlines, due).await;
        println!("  {:.1} us per due record", cost.as_secs_f64() * 1e6);
        per_record.push(cost);
        if records == large {
            tokio::spawn(app.run_until_stopped());
            tokio::time::sleep(Duration::from_millis(300)).await;
            overdue_latency(port, "/v1/overdue?limit=100", 1000).await;
            overdue_latency(port, "/v1/overdue?limit=100&network=ETH", 1000).await;
            overdue_latency(port, "/v1/overdue?limit=100&coin=USDT&min_amount=100", 1000).await;
        }
    }
    let ratio = per_record[1].as_secs_f64() / per_record[0].as_secs_f64();
    println!(
        "sweep cost per due record, {large} vs {small} records: ratio {ratio:.2} (1.0 = independent of store size)"
    );
}
