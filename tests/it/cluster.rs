//! The Redis store on a real Redis Cluster (three masters on loopback): the
//! service end to end, replicas, keys on the right master, scripts reloaded
//! after `SCRIPT FLUSH`, a slot moved under a live connection, and a service
//! started before its cluster exists. The store conformance suite runs on the
//! cluster too (`store_conformance.rs`, module `cluster`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use withdrawal_tracker::config::{Config, Secret, SinkKind};
use withdrawal_tracker::domain::{Amount, Network, Registration, UserId, Withdrawal, WithdrawalId};
use withdrawal_tracker::store::{Inserted, RedisStore, Store, StoreError};

use crate::support::app::{expect_error, tron_hash, withdrawal, Backend, TestApp, SUPPORT_TOKEN};
use crate::support::chains::destination;
use crate::support::cluster::ClusterServer;
use crate::support::fakes::WebhookReceiver;
use crate::support::ports::free_port;

const TIMEOUT: Duration = Duration::from_secs(2);

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn webhook(url: &str) -> impl Fn(&mut Config) + '_ {
    move |config| {
        config.tickets.sink = SinkKind::Webhook;
        config.tickets.url = Some(url.to_owned());
        config.tickets.secret = Some(Secret::from("webhook-secret-0123456789"));
    }
}

fn record(id: &str) -> Withdrawal {
    let registration = Registration {
        id: WithdrawalId::parse(id).unwrap(),
        user_id: UserId::parse("alice").unwrap(),
        coin: "BTC".into(),
        destination: destination(Network::Btc),
        amount: Amount::parse("1.5").unwrap(),
        requested_at: Some(at("2026-03-02T09:00:00Z").fixed_offset()),
        tx_hash: None,
    };
    Withdrawal::register(registration, at("2026-03-02T10:00:00Z"))
}

fn store_on(cluster: &ClusterServer, prefix: &str) -> RedisStore {
    let seeds = cluster.seed_urls();
    let seeds: Vec<&str> = seeds.iter().map(String::as_str).collect();
    RedisStore::cluster(&seeds, prefix, TIMEOUT).unwrap()
}

fn ids(page: &Value) -> Vec<&str> {
    page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn the_service_runs_end_to_end_on_a_redis_cluster() {
    let cluster = ClusterServer::shared();
    let receiver = WebhookReceiver::start().await;
    let backend = Backend::Cluster(cluster.seeds(), cluster.prefix("e2e"));
    let app = TestApp::spawn_with(backend, webhook(&receiver.url)).await;
    assert_eq!(app.client.get(app.url("/readyz")).send().await.unwrap().status(), StatusCode::OK);

    assert_eq!(app.register(&withdrawal("w-1", json!({}))).await.status(), StatusCode::CREATED);
    assert_eq!(app.register(&withdrawal("w-1", json!({}))).await.status(), StatusCode::OK, "idempotent");
    expect_error(app.register(&withdrawal("w-1", json!({"amount": "9"}))).await, StatusCode::CONFLICT, "conflict")
        .await;
    let bob = json!({"user_id": "bob", "requested_at": "2026-03-02T09:30:00Z"});
    assert_eq!(app.register(&withdrawal("w-2", bob)).await.status(), StatusCode::CREATED);

    assert_eq!(app.patch("w-1", &json!({"tx_hash": tron_hash("ab")})).await.status(), StatusCode::OK);
    assert_eq!(app.get_withdrawal("w-1").await["state"], "broadcast");
    let cancel = app.patch("w-1", &json!({"state": "cancelled", "reason": "too late"})).await;
    expect_error(cancel, StatusCode::CONFLICT, "invalid_transition").await;

    let all: Value = app.get_as("/v1/withdrawals", SUPPORT_TOKEN).await.json().await.unwrap();
    assert_eq!(ids(&all), ["w-2", "w-1"], "newest first");
    let broadcast: Value =
        app.get_as("/v1/withdrawals?state=broadcast&network=TRX", SUPPORT_TOKEN).await.json().await.unwrap();
    assert_eq!(ids(&broadcast), ["w-1"]);
    let bobs: Value = app.get_as("/v1/withdrawals", &app.user_token("bob")).await.json().await.unwrap();
    assert_eq!(ids(&bobs), ["w-2"]);
    let first: Value = app.get_as("/v1/withdrawals?limit=1", SUPPORT_TOKEN).await.json().await.unwrap();
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let second: Value =
        app.get_as(&format!("/v1/withdrawals?limit=1&cursor={cursor}"), SUPPORT_TOKEN).await.json().await.unwrap();
    assert_eq!((ids(&first), ids(&second)), (vec!["w-2"], vec!["w-1"]));

    // Overdue Wednesday 09:00 (requested Monday 09:00): one ticket each, once.
    app.clock.set(at("2026-03-04T10:00:00Z"));
    app.sweeper.sweep_once().await.unwrap();
    app.sweeper.sweep_once().await.unwrap();
    let mut keys: Vec<String> = receiver.accepted().iter().map(|r| r.idempotency_key.clone()).collect();
    keys.sort();
    assert_eq!(keys, ["w-1:opened", "w-2:opened"]);
    let overdue: Value = app.get_as("/v1/overdue", SUPPORT_TOKEN).await.json().await.unwrap();
    assert_eq!(overdue["items"].as_array().unwrap().len(), 2, "{overdue}");
    let open: Value = app.get_as("/v1/tickets?status=open", SUPPORT_TOKEN).await.json().await.unwrap();
    assert_eq!(open["items"].as_array().unwrap().len(), 2, "{open}");
    assert!(open["items"].as_array().unwrap().iter().all(|t| t["deliveries"][0]["status"] == "delivered"));
    let view = app.get_withdrawal("w-2").await;
    assert_eq!((&view["sla"]["status"], &view["escalation"]["status"]), (&json!("overdue"), &json!("open")));
}

#[tokio::test]
async fn two_instances_on_a_cluster_agree_and_escalate_once() {
    let cluster = ClusterServer::shared();
    let receiver = WebhookReceiver::start().await;
    let prefix = cluster.prefix("agree");
    let a = TestApp::spawn_with(Backend::Cluster(cluster.seeds(), prefix.clone()), webhook(&receiver.url)).await;
    // The second instance knows only one seed node and discovers the rest.
    let one_seed = cluster.seed_urls()[2].clone();
    let b = TestApp::spawn_with(Backend::Cluster(one_seed, prefix), webhook(&receiver.url)).await;

    a.register(&withdrawal("w-1", json!({}))).await;
    assert_eq!(b.register(&withdrawal("w-1", json!({}))).await.status(), StatusCode::OK, "idempotent across replicas");
    b.patch("w-1", &json!({"tx_hash": tron_hash("aa")})).await;
    assert_eq!(a.get_withdrawal("w-1").await, b.get_withdrawal("w-1").await);
    assert_eq!(a.get_withdrawal("w-1").await["state"], "broadcast");

    let (set_hash, cancel) = (json!({"tx_hash": tron_hash("bb")}), json!({"state": "cancelled"}));
    a.register(&withdrawal("w-2", json!({}))).await;
    let (broadcast, cancelled) = tokio::join!(a.patch("w-2", &set_hash), b.patch("w-2", &cancel));
    let mut statuses = [broadcast.status(), cancelled.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT], "exactly one replica wins");

    for app in [&a, &b] {
        app.clock.set(at("2026-03-04T10:00:00Z"));
    }
    let (swept_a, swept_b) = tokio::join!(a.sweeper.sweep_once(), b.sweeper.sweep_once());
    swept_a.unwrap();
    swept_b.unwrap();
    let opened: Vec<String> = receiver.accepted().iter().map(|r| r.idempotency_key.clone()).collect();
    assert!(opened.iter().filter(|k| *k == "w-1:opened").count() == 1, "one ticket for w-1: {opened:?}");
    assert_eq!(a.get_withdrawal("w-1").await, b.get_withdrawal("w-1").await);
}

#[tokio::test]
async fn each_prefix_lives_on_one_master_and_prefixes_spread_over_all() {
    let cluster = ClusterServer::shared();
    for master in 0..cluster.nodes.len() {
        let prefix = cluster.prefix_on("spread", master);
        let store = store_on(cluster, &prefix);
        let mut w = record("w-1");
        w.next_deadline_at = Some(at("2026-03-03T09:00:00Z"));
        assert_eq!(store.insert(&w).await.unwrap(), Inserted::Created);
        for (i, node) in cluster.nodes.iter().enumerate() {
            let keys: Vec<String> =
                redis::cmd("KEYS").arg(format!("{{{prefix}}}*")).query(&mut node.connection()).unwrap();
            let expected = if i == master { 6 } else { 0 };
            assert_eq!(keys.len(), expected, "master {i} for a prefix of master {master}: {keys:?}");
        }
    }
}

#[tokio::test]
async fn scripts_are_loaded_again_after_a_script_flush_on_every_node() {
    let cluster = ClusterServer::shared();
    let store = store_on(cluster, &cluster.prefix("noscript"));
    let w = record("w-1");
    store.insert(&w).await.unwrap();
    for node in &cluster.nodes {
        let _: () = redis::cmd("SCRIPT").arg("FLUSH").query(&mut node.connection()).unwrap();
    }
    // EVALSHA answers NOSCRIPT; the store loads the script and runs it.
    let mut next = w.clone();
    next.cancel("flushed", at("2026-03-02T11:00:00Z")).unwrap();
    next.version += 1;
    assert_eq!(store.update(&w, &next).await.unwrap(), withdrawal_tracker::store::Updated::Written);
    assert_eq!(store.insert(&record("w-2")).await.unwrap(), Inserted::Created);
    assert_eq!(store.get(&w.id).await.unwrap(), Some(next));
    assert!(store.try_lease("metrics", "me", Duration::from_secs(5)).await.unwrap());
}

/// Moves one slot with its keys to another master, as `redis-cli --cluster
/// reshard` does.
fn move_slot(cluster: &ClusterServer, slot: u16, from: usize, to: usize) {
    let id =
        |i: usize| -> String { redis::cmd("CLUSTER").arg("MYID").query(&mut cluster.nodes[i].connection()).unwrap() };
    let (from_id, to_id) = (id(from), id(to));
    let mut source = cluster.nodes[from].connection();
    let mut target = cluster.nodes[to].connection();
    let _: () =
        redis::cmd("CLUSTER").arg("SETSLOT").arg(slot).arg("IMPORTING").arg(&from_id).query(&mut target).unwrap();
    let _: () = redis::cmd("CLUSTER").arg("SETSLOT").arg(slot).arg("MIGRATING").arg(&to_id).query(&mut source).unwrap();
    let keys: Vec<String> = redis::cmd("CLUSTER").arg("GETKEYSINSLOT").arg(slot).arg(1000).query(&mut source).unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("MIGRATE")
            .arg("127.0.0.1")
            .arg(cluster.nodes[to].port)
            .arg("")
            .arg(0)
            .arg(5000)
            .arg("KEYS")
            .arg(&keys)
            .query(&mut source)
            .unwrap();
    }
    for node in &cluster.nodes {
        let _: () = redis::cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg("NODE")
            .arg(&to_id)
            .query(&mut node.connection())
            .unwrap();
    }
}

#[tokio::test]
async fn a_store_follows_a_slot_moved_to_another_master() {
    // A cluster of its own: moving a slot of the shared one could disturb
    // other tests whose prefixes share it.
    let cluster = ClusterServer::start();
    let prefix = cluster.prefix_on("moved", 0);
    let store = store_on(&cluster, &prefix);
    let w = record("w-1");
    store.insert(&w).await.unwrap();
    let slot: u16 =
        redis::cmd("CLUSTER").arg("KEYSLOT").arg(&prefix).query(&mut cluster.nodes[0].connection()).unwrap();

    move_slot(&cluster, slot, 0, 1);
    // The store's slot map still says master 0, which now answers MOVED.
    assert_eq!(store.get(&w.id).await.unwrap(), Some(w.clone()));
    assert_eq!(store.insert(&record("w-2")).await.unwrap(), Inserted::Created);
    let mut next = w.clone();
    next.cancel("moved", at("2026-03-02T11:00:00Z")).unwrap();
    next.version += 1;
    assert_eq!(store.update(&w, &next).await.unwrap(), withdrawal_tracker::store::Updated::Written);
    let on_new_master: Vec<String> =
        redis::cmd("KEYS").arg(format!("{{{prefix}}}*")).query(&mut cluster.nodes[1].connection()).unwrap();
    assert!(on_new_master.len() >= 2, "{on_new_master:?}");
    let on_old_master: Vec<String> =
        redis::cmd("KEYS").arg(format!("{{{prefix}}}*")).query(&mut cluster.nodes[0].connection()).unwrap();
    assert!(on_old_master.is_empty(), "{on_old_master:?}");
}

#[tokio::test]
async fn the_service_starts_before_its_cluster_exists_and_becomes_ready_when_it_does() {
    let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
    let seeds: Vec<String> = ports.iter().map(|(port, _)| format!("redis://127.0.0.1:{port}")).collect();
    let app = TestApp::spawn(Backend::Cluster(seeds.join(","), "late".into())).await;
    let not_ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    expect_error(not_ready, StatusCode::SERVICE_UNAVAILABLE, "store_unavailable").await;
    let refused = app.register(&withdrawal("w-1", json!({}))).await;
    expect_error(refused, StatusCode::SERVICE_UNAVAILABLE, "store_unavailable").await;
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);

    let seed_refs: Vec<&str> = seeds.iter().map(String::as_str).collect();
    let store = RedisStore::cluster(&seed_refs, "late", TIMEOUT).unwrap();
    assert!(matches!(store.ping().await, Err(StoreError::Unavailable(_))));

    let _cluster = ClusterServer::start_on(&ports);
    app.wait_until_ready().await;
    assert_eq!(app.register(&withdrawal("w-1", json!({}))).await.status(), StatusCode::CREATED);
    assert_eq!(app.get_withdrawal("w-1").await["state"], "pending");
    store.ping().await.expect("the store connects once the cluster is up");
}
