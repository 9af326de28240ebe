//! Several service instances on one Redis, and restarts: nothing lost, no
//! two instances disagreeing.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use withdrawal_tracker::config::{ExplorerKind, HumanDuration, Secret};

use crate::support::app::{tron_hash, withdrawal, Backend, TestApp};
use crate::support::fake_esplora::{fake_hash, FakeEsplora, Mode as FakeMode};
use crate::support::redis::{unique_prefix, RedisServer};
use crate::tracking::{chain_config, BTC_PAYEE};

#[tokio::test]
async fn restarting_the_service_loses_nothing() {
    let redis = RedisServer::shared();
    let prefix = unique_prefix("restart");
    let first = TestApp::spawn(Backend::Redis(redis, prefix.clone())).await;
    for i in 0..5 {
        first.register(&withdrawal(&format!("w-{i}"), json!({}))).await;
    }
    first.patch("w-1", &json!({"tx_hash": tron_hash("aa")})).await;
    first.patch("w-2", &json!({"state": "cancelled", "reason": "fraud check"})).await;
    let mut before = Vec::new();
    for i in 0..5 {
        before.push(first.get_withdrawal(&format!("w-{i}")).await);
    }
    first.handle.stop(true).await;
    drop(first);

    let second = TestApp::spawn(Backend::Redis(redis, prefix)).await;
    for (i, view) in before.iter().enumerate() {
        assert_eq!(&second.get_withdrawal(&format!("w-{i}")).await, view);
    }
}

#[tokio::test]
async fn two_instances_agree_on_every_record() {
    let redis = RedisServer::shared();
    let prefix = unique_prefix("agree");
    let a = TestApp::spawn(Backend::Redis(redis, prefix.clone())).await;
    let b = TestApp::spawn(Backend::Redis(redis, prefix)).await;
    a.register(&withdrawal("w-1", json!({}))).await;
    assert_eq!(b.register(&withdrawal("w-1", json!({}))).await.status(), StatusCode::OK, "idempotent across replicas");
    b.patch("w-1", &json!({"tx_hash": tron_hash("aa")})).await;
    assert_eq!(a.get_withdrawal("w-1").await, b.get_withdrawal("w-1").await);
    assert_eq!(a.get_withdrawal("w-1").await["state"], "broadcast");
}

#[tokio::test]
async fn racing_instances_never_both_win_a_conflicting_change() {
    let redis = RedisServer::shared();
    let prefix = unique_prefix("race");
    let a = TestApp::spawn(Backend::Redis(redis, prefix.clone())).await;
    let b = TestApp::spawn(Backend::Redis(redis, prefix)).await;
    let count = 20;
    for i in 0..count {
        a.register(&withdrawal(&format!("w-{i}"), json!({}))).await;
    }
    // From pending both "broadcast" and "cancelled" are allowed, but not both
    // one after the other: exactly one replica may win each withdrawal.
    let mut races = Vec::new();
    for i in 0..count {
        let id = format!("w-{i}");
        races.push(async {
            let (set_hash, cancel) = (json!({"tx_hash": tron_hash("aa")}), json!({"state": "cancelled"}));
            let (broadcast, cancel) = tokio::join!(a.patch(&id, &set_hash), b.patch(&id, &cancel));
            (id, broadcast.status(), cancel.status())
        });
    }
    for (id, broadcast, cancel) in futures_util::future::join_all(races).await {
        let view: Value = a.get_withdrawal(&id).await;
        let history = view["history"].as_array().unwrap();
        assert_eq!(history.len(), 2, "{id}: exactly one transition landed: {view}");
        match (broadcast, cancel) {
            (StatusCode::OK, StatusCode::CONFLICT) => assert_eq!(view["state"], "broadcast"),
            (StatusCode::CONFLICT, StatusCode::OK) => assert_eq!(view["state"], "cancelled"),
            other => panic!("{id}: both or neither won: {other:?}"),
        }
    }
}

fn explorer_requests(metrics: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("withdrawal_tracker_explorer_requests_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

async fn scrape(app: &TestApp) -> String {
    app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap()
}

/// Two replicas with the same network: only the lease holder talks to the
/// explorer; when it dies, the other takes over within two lease periods.
#[tokio::test]
async fn one_replica_polls_a_network_and_another_takes_over_when_it_dies() {
    let esplora = FakeEsplora::start(3).await;
    let poll = Duration::from_millis(500);
    let lease = poll * 2;
    let mut config = chain_config(ExplorerKind::Esplora, &esplora.base_url, 2);
    config.poll_interval = HumanDuration(poll);
    let prefix = unique_prefix("pollease");
    let spawn = |config: withdrawal_tracker::config::NetworkChainConfig| {
        TestApp::spawn_with(Backend::Redis(RedisServer::shared(), prefix.clone()), move |c| {
            c.networks.insert("BTC".into(), config);
        })
    };
    let a = spawn(config.clone()).await;
    let b = spawn(config).await;
    tokio::time::sleep(poll * 4).await;
    let (from_a, from_b) = (explorer_requests(&scrape(&a).await), explorer_requests(&scrape(&b).await));
    assert!((from_a > 0) != (from_b > 0), "exactly one replica polls: a={from_a} b={from_b}");
    let (holder, standby) = if from_a > 0 { (a, b) } else { (b, a) };

    holder.handle.stop(false).await;
    let stopped = Instant::now();
    let before = explorer_requests(&scrape(&standby).await);
    assert_eq!(before, 0);
    loop {
        if explorer_requests(&scrape(&standby).await) > 0 {
            break;
        }
        assert!(stopped.elapsed() < lease * 2 + poll, "no takeover within two lease periods");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---- Replicas that tell the fake explorer who they are ----

const POLL: Duration = Duration::from_millis(500);

/// Whether `done` comes true within a deadline generous enough for a loaded machine.
async fn within_deadline(mut done: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !done().await {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    true
}

fn replica_key(i: usize) -> String {
    format!("replica-{i}")
}

/// Replica `i` on `prefix`, following BTC on `esplora` every `POLL` and
/// sending it the API key `replica-{i}`, so the fake can tell who asks.
async fn btc_replica(esplora: &FakeEsplora, prefix: &str, i: usize) -> TestApp {
    let mut chain = chain_config(ExplorerKind::Esplora, &esplora.base_url, 2);
    chain.poll_interval = HumanDuration(POLL);
    chain.api_key_header = Some("x-api-key".into());
    chain.api_key = Some(Secret::from(replica_key(i).as_str()));
    TestApp::spawn_with(Backend::Redis(RedisServer::shared(), prefix.to_owned()), |c| {
        c.networks.insert("BTC".into(), chain);
    })
    .await
}

/// A tick far longer than the poll lease keeps it: the holder renews the
/// lease while it ticks, so no other replica starts polling beside it.
#[tokio::test]
async fn a_tick_longer_than_the_poll_lease_keeps_it() {
    let esplora = FakeEsplora::start(3).await;
    let prefix = unique_prefix("longtick");
    let a = btc_replica(&esplora, &prefix, 0).await;
    let _b = btc_replica(&esplora, &prefix, 1).await;
    // Each new transaction is looked up once, a quarter second apiece: one
    // tick takes well over two seconds, the lease one.
    esplora.set_mode(FakeMode::Slow(Duration::from_millis(250)));
    for n in 0..10u64 {
        let input = fake_hash("longtick", n);
        let txid = esplora.broadcast(&[(input.as_str(), 0)], &[(Some(BTC_PAYEE), 100_000 + n)]);
        let amount = format!("0.{:08}", 100_000 + n);
        let body = json!({"coin": "BTC", "network": "BTC", "address": BTC_PAYEE, "amount": amount, "tx_hash": txid});
        assert_eq!(a.register(&withdrawal(&format!("w-{n}"), body)).await.status(), StatusCode::CREATED);
    }
    let looked_up = within_deadline(async || esplora.log().iter().filter(|r| r.path.starts_with("/tx/")).count() >= 10);
    assert!(looked_up.await, "every transaction is looked up");
    let keys: std::collections::BTreeSet<Option<String>> = esplora.log().into_iter().map(|r| r.api_key).collect();
    assert_eq!(keys.len(), 1, "one replica polled all along: {keys:?}");
}
