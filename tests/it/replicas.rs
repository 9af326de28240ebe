//! Several service instances on one Redis, and restarts: nothing lost, no
//! two instances disagreeing.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use withdrawal_tracker::config::{ExplorerKind, HumanDuration, Secret};

use crate::support::app::{tron_hash, withdrawal, Backend, TestApp, SUPPORT_TOKEN};
use crate::support::chains::{chain_config, BTC_PAYEE};
use crate::support::escalation::{at, OVERDUE};
use crate::support::fake_esplora::{fake_hash, FakeEsplora, LoggedRequest, Mode as FakeMode};
use crate::support::fakes::WebhookReceiver;
use crate::support::redis::{unique_prefix, RedisServer};

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
/// The tracker's: two polls.
const POLL_LEASE: Duration = Duration::from_millis(1000);

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
/// sending it the API key `replica-{i}`, so the fake can tell who asks; with
/// the webhook sink at `webhook`, if given.
async fn btc_replica(esplora: &FakeEsplora, prefix: &str, i: usize, webhook: Option<&str>) -> TestApp {
    let mut chain = chain_config(ExplorerKind::Esplora, &esplora.base_url, 2);
    chain.poll_interval = HumanDuration(POLL);
    chain.api_key_header = Some("x-api-key".into());
    chain.api_key = Some(Secret::from(replica_key(i).as_str()));
    TestApp::spawn_with(Backend::Redis(RedisServer::shared(), prefix.to_owned()), |c| {
        if let Some(url) = webhook {
            crate::support::escalation::webhook(url)(c);
        }
        // Every withdrawal's own ticket is under test here, not the grouping
        // of a storm of them into one incident (tests/it/incidents.rs).
        c.incidents.automatic = false;
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
    let a = btc_replica(&esplora, &prefix, 0, None).await;
    let _b = btc_replica(&esplora, &prefix, 1, None).await;
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

/// A holder backing off from a throttling explorer keeps the lease through
/// its wait: the `Retry-After` holds for the deployment, not for one replica.
#[tokio::test]
async fn a_backoff_holds_for_every_replica() {
    let esplora = FakeEsplora::start(3).await;
    let prefix = unique_prefix("backoff");
    let _a = btc_replica(&esplora, &prefix, 0, None).await;
    let _b = btc_replica(&esplora, &prefix, 1, None).await;
    assert!(within_deadline(async || !esplora.log().is_empty()).await, "someone polls");
    let retry_after = Duration::from_secs(4);
    let before = esplora.log().len();
    esplora.set_mode(FakeMode::RateLimited(retry_after.as_secs()));
    assert!(within_deadline(async || esplora.log().len() > before).await, "the explorer is asked and refuses");
    let refused = esplora.log()[before].at;
    // Well past two lease periods, short of the Retry-After.
    tokio::time::sleep_until((refused + retry_after - POLL).into()).await;
    let early: Vec<_> = esplora
        .log()
        .into_iter()
        .filter(|r| r.at > refused + Duration::from_millis(200) && r.at < refused + retry_after - POLL)
        .collect();
    assert!(early.is_empty(), "no replica asked again before Retry-After: {early:?}");
}

// ---- Three replicas under load ----

const ITEMS: usize = 270;
const LOAD_CLIENTS: usize = 6;
const ITEM_PAUSE: Duration = Duration::from_millis(25);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Pays exactly what was asked: tracked to completion, no ticket.
    Paid,
    /// Pays less: flagged when first seen, so a ticket opens at once; it
    /// stays open when the withdrawal completes (the money went elsewhere)
    /// and is raised when the clocks jump.
    Short,
    /// Never broadcast: goes overdue, gets a ticket, is cancelled.
    Stuck,
}

struct Item {
    n: usize,
    id: String,
    kind: Kind,
    sats: u64,
    /// The hash reaches the tracker only once the transaction has all its
    /// confirmations: first seen, it completes at once. Every eighth item of
    /// each load client, some of them short.
    reported_late: bool,
}

fn items() -> Vec<Item> {
    (0..ITEMS)
        .map(|n| {
            let kind = match n % 9 {
                0 => Kind::Short,
                8 => Kind::Stuck,
                _ => Kind::Paid,
            };
            Item { n, id: format!("w-{n}"), kind, sats: 100_000 + n as u64, reported_late: (n / LOAD_CLIENTS) % 8 == 1 }
        })
        .collect()
}

impl Item {
    fn registration(&self) -> Value {
        let amount = format!("{}.{:08}", self.sats / 100_000_000, self.sats % 100_000_000);
        withdrawal(&self.id, json!({"coin": "BTC", "network": "BTC", "address": BTC_PAYEE, "amount": amount}))
    }

    fn paid_sats(&self) -> u64 {
        match self.kind {
            Kind::Short => self.sats - 1_000,
            _ => self.sats,
        }
    }
}

/// The replicas a load is spread over, round robin. One taken out of
/// rotation can be stopped once the requests it serves are answered, so the
/// load never sees a connection the test itself cut.
struct Rotation<'a> {
    apps: Vec<&'a TestApp>,
    live: Vec<AtomicBool>,
    in_flight: Vec<AtomicUsize>,
}

/// A replica serving one request of the load.
struct InUse<'a> {
    app: &'a TestApp,
    in_flight: &'a AtomicUsize,
}

impl std::ops::Deref for InUse<'_> {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        self.app
    }
}

impl Drop for InUse<'_> {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl<'a> Rotation<'a> {
    fn new(apps: Vec<&'a TestApp>) -> Self {
        let live = apps.iter().map(|_| AtomicBool::new(true)).collect();
        let in_flight = apps.iter().map(|_| AtomicUsize::new(0)).collect();
        Rotation { apps, live, in_flight }
    }

    /// The `n`th replica in rotation, or the next live one.
    fn pick(&self, n: usize) -> InUse<'_> {
        for k in 0..self.apps.len() {
            let i = (n + k) % self.apps.len();
            // Counted before the check, so `retire` never misses a request.
            self.in_flight[i].fetch_add(1, Ordering::SeqCst);
            if self.live[i].load(Ordering::SeqCst) {
                return InUse { app: self.apps[i], in_flight: &self.in_flight[i] };
            }
            self.in_flight[i].fetch_sub(1, Ordering::SeqCst);
        }
        panic!("no replica left in rotation");
    }

    fn live(&self) -> Vec<&'a TestApp> {
        self.apps.iter().zip(&self.live).filter(|(_, live)| live.load(Ordering::SeqCst)).map(|(app, _)| *app).collect()
    }

    /// Takes replica `i` out of rotation; returns once its last request is answered.
    async fn retire(&self, i: usize) {
        self.live[i].store(false, Ordering::SeqCst);
        while self.in_flight[i].load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// What the exchange does for one withdrawal, each step on another replica:
/// register it, broadcast its transaction and PATCH the hash (not for a
/// stuck one; for some only once it is confirmed), read it back, now and
/// then list.
async fn drive(item: &Item, rotation: &Rotation<'_>, esplora: &FakeEsplora, mempool: &Mutex<Vec<String>>) {
    let registered = rotation.pick(item.n).register(&item.registration()).await.status();
    assert_eq!(registered, StatusCode::CREATED, "{}", item.id);
    if item.kind != Kind::Stuck {
        let input = fake_hash("input", item.n as u64);
        let txid = esplora.broadcast(&[(input.as_str(), 0)], &[(Some(BTC_PAYEE), item.paid_sats())]);
        mempool.lock().unwrap().push(txid.clone());
        if item.reported_late {
            assert!(within_deadline(async || esplora.confirmations(&txid) >= 2).await, "{} is mined", item.id);
        }
        let patched = rotation.pick(item.n + 1).patch(&item.id, &json!({"tx_hash": txid})).await.status();
        assert_eq!(patched, StatusCode::OK, "{}", item.id);
    }
    let view = rotation.pick(item.n + 2).get_withdrawal(&item.id).await;
    let possible: &[&str] = match item.kind {
        Kind::Stuck => &["pending"],
        _ => &["broadcast", "confirming", "completed"],
    };
    assert!(possible.contains(&view["state"].as_str().unwrap()), "{view}");
    if item.n % 10 == 0 {
        let listed = rotation.pick(item.n).get_as("/v1/withdrawals?network=BTC&limit=50", SUPPORT_TOKEN).await;
        assert_eq!(listed.status(), StatusCode::OK);
    }
}

/// Mines whatever was broadcast since the last block, every 250 ms, until `stop`.
async fn mine_until(esplora: &FakeEsplora, mempool: &Mutex<Vec<String>>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let txids = std::mem::take(&mut *mempool.lock().unwrap());
        esplora.mine(&txids.iter().map(String::as_str).collect::<Vec<_>>());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Every live replica's sweeper at once, again and again, until `stop`.
async fn sweep_until(rotation: &Rotation<'_>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        sweep_all(&rotation.live()).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sweep_all(apps: &[&TestApp]) {
    let sweeps = apps.iter().map(|app| app.sweeper.sweep_once());
    for result in futures_util::future::join_all(sweeps).await {
        result.expect("a sweep succeeds");
    }
}

/// Which of `apps` have talked to the explorer, by their own metrics.
async fn pollers(apps: &[&TestApp]) -> Vec<usize> {
    let mut polling = Vec::new();
    for (i, app) in apps.iter().enumerate() {
        if explorer_requests(&scrape(app).await) > 0 {
            polling.push(i);
        }
    }
    polling
}

/// Who talked to the explorer, by API key, in turn: first and last request.
fn eras(log: &[LoggedRequest]) -> Vec<(String, Instant, Instant)> {
    let mut eras: Vec<(String, Instant, Instant)> = Vec::new();
    for request in log {
        let key = request.api_key.clone().expect("every replica sends its key");
        match eras.iter_mut().find(|(k, _, _)| *k == key) {
            Some(era) => era.2 = request.at,
            None => eras.push((key, request.at, request.at)),
        }
    }
    eras
}

/// Ticket events the webhook got: (idempotency key, reason), in arrival order.
fn ticket_events(receiver: &WebhookReceiver) -> Vec<(String, String)> {
    receiver
        .accepted()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_str(&r.body).unwrap();
            (r.idempotency_key.clone(), body["reason"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

/// Three replicas on one Redis prefix under a load spread across them: one
/// polls the explorer at a time, and when it is stopped mid-load another
/// takes over within two lease periods and one poll; every withdrawal's
/// history is exactly its path; every ticket event reaches the webhook
/// exactly once, with all sweepers running at the same time.
#[tokio::test]
async fn three_replicas_under_load_poll_once_transition_once_and_ticket_once() {
    let started = Instant::now();
    let esplora = FakeEsplora::start(5).await;
    let receiver = WebhookReceiver::start().await;
    let prefix = unique_prefix("threeload");
    let spawn = |i: usize| btc_replica(&esplora, &prefix, i, Some(&receiver.url));
    let first = [spawn(0).await, spawn(1).await, spawn(2).await];
    let items = items();
    let of_kind = |kind: Kind| items.iter().filter(move |item| item.kind == kind);
    let tracked = items.len() - of_kind(Kind::Stuck).count();
    let mempool = Mutex::new(Vec::new());

    // Load on all three; the poll lease holder is stopped halfway through it.
    let rotation = Rotation::new(first.iter().collect());
    let (handled, stop) = (AtomicUsize::new(0), AtomicBool::new(false));
    let load = futures_util::future::join_all((0..LOAD_CLIENTS).map(|client| {
        let (items, rotation, esplora, mempool, handled) = (&items, &rotation, &esplora, &mempool, &handled);
        async move {
            for item in items.iter().skip(client).step_by(LOAD_CLIENTS) {
                drive(item, rotation, esplora, mempool).await;
                handled.fetch_add(1, Ordering::SeqCst);
                // Paced so the load spans several polls, on each side of the stop.
                tokio::time::sleep(ITEM_PAUSE).await;
            }
        }
    }));
    let stop_the_poller = async {
        assert!(within_deadline(async || handled.load(Ordering::SeqCst) >= ITEMS / 2).await, "half the load");
        let holder_key = esplora.log().last().and_then(|r| r.api_key.clone()).expect("a replica polls");
        let holder = (0..3).find(|i| replica_key(*i) == holder_key).unwrap();
        let all: Vec<&TestApp> = first.iter().collect();
        assert_eq!(pollers(&all).await, [holder], "one replica polls, by their own metrics too");
        rotation.retire(holder).await;
        first[holder].handle.stop(false).await;
        let stopped = Instant::now();
        let mut taken_over = None;
        let successor_polls = within_deadline(async || {
            taken_over = esplora.log().iter().find(|r| r.api_key.as_deref() != Some(holder_key.as_str())).map(|r| r.at);
            taken_over.is_some()
        });
        assert!(successor_polls.await, "another replica polls");
        let after = taken_over.unwrap().saturating_duration_since(stopped);
        assert!(after <= POLL_LEASE * 2 + POLL, "took over {after:?} after the stop");
        holder
    };
    let track_and_ticket = async {
        let (_, holder) = tokio::join!(load, stop_the_poller);
        let shorts = of_kind(Kind::Short).count();
        let (mut completed, mut tickets) = (0, 0);
        let done = within_deadline(async || {
            completed = rotation.pick(0).list_all("&network=BTC&state=completed").await.len();
            tickets = receiver.accepted().len();
            completed == tracked && tickets >= shorts
        });
        assert!(done.await, "{completed} of {tracked} completed, {tickets} of {shorts} mismatch tickets opened");
        stop.store(true, Ordering::SeqCst);
        holder
    };
    let (holder, (), ()) =
        tokio::join!(track_and_ticket, sweep_until(&rotation, &stop), mine_until(&esplora, &mempool, &stop));

    // The stopped replica is replaced; the stuck withdrawals go overdue on all
    // three sweepers at once, then are cancelled.
    let replacement = spawn(3).await;
    let survivors: Vec<usize> = (0..3).filter(|i| *i != holder).collect();
    let apps: Vec<&TestApp> = survivors.iter().map(|i| &first[*i]).chain([&replacement]).collect();
    let app_keys: Vec<String> = survivors.iter().copied().chain([3]).map(replica_key).collect();
    for app in &apps {
        app.clock.set(at(OVERDUE));
    }
    let rotation = Rotation::new(apps.clone());
    let stop = AtomicBool::new(false);
    let stuck = of_kind(Kind::Stuck).count();
    let overdue_then_cancelled = async {
        let overdue = within_deadline(async || {
            ticket_events(&receiver).iter().filter(|(_, reason)| reason == "overdue").count() >= stuck
        });
        assert!(overdue.await, "every stuck withdrawal gets an overdue ticket");
        let cancels = of_kind(Kind::Stuck).map(|item| async {
            let cancelled =
                rotation.pick(item.n).patch(&item.id, &json!({"state": "cancelled", "reason": "stuck"})).await;
            assert_eq!(cancelled.status(), StatusCode::OK, "{}", item.id);
        });
        futures_util::future::join_all(cancels).await;
        // Stuck ones open and resolve; short-paid ones open and, past the
        // jump, are raised (completed to the wrong payee is not the money arriving).
        let expected = 2 * (stuck + of_kind(Kind::Short).count());
        assert!(within_deadline(async || receiver.accepted().len() >= expected).await, "every ticket event sent");
        stop.store(true, Ordering::SeqCst);
    };
    tokio::join!(overdue_then_cancelled, sweep_until(&rotation, &stop));
    for _ in 0..3 {
        sweep_all(&apps).await;
    }

    // Each ticket event exactly once across all replicas, with its reason.
    let events = ticket_events(&receiver);
    let mut keys: Vec<String> = events.iter().map(|(key, _)| key.clone()).collect();
    keys.sort();
    let mut expected: Vec<String> = items
        .iter()
        .flat_map(|item| match item.kind {
            Kind::Paid => vec![],
            // Still wrong after the jump to the overdue date: raised, not resolved.
            Kind::Short => vec![format!("{}:opened", item.id), format!("{}:raised", item.id)],
            Kind::Stuck => vec![format!("{}:opened", item.id), format!("{}:resolved", item.id)],
        })
        .collect();
    expected.sort();
    assert_eq!(keys, expected, "each event exactly once across the replicas");
    for item in items.iter().filter(|item| item.kind != Kind::Paid) {
        let opened = format!("{}:opened", item.id);
        let reason = if item.kind == Kind::Short { "payee_mismatch" } else { "overdue" };
        let arrival = |key: &str| events.iter().position(|(k, _)| k == key).unwrap();
        assert_eq!(events[arrival(&opened)].1, reason, "{}", item.id);
        let next = format!("{}:{}", item.id, if item.kind == Kind::Short { "raised" } else { "resolved" });
        assert!(arrival(&opened) < arrival(&next), "{}: opened, then {next}", item.id);
    }

    // Every withdrawal's history is exactly its path: nothing lost, nothing twice.
    let listed = apps[0].list_all("&network=BTC").await;
    assert_eq!(listed.len(), ITEMS);
    for item in &items {
        let view = &listed[&item.id];
        let states: Vec<&str> =
            view["history"].as_array().unwrap().iter().map(|h| h["state"].as_str().unwrap()).collect();
        let path: &[&str] = match item.kind {
            Kind::Stuck => &["pending", "cancelled"],
            _ => &["pending", "broadcast", "confirming", "completed"],
        };
        assert_eq!(states, path, "{view}");
        assert_eq!(view["payee_mismatch"].is_string(), item.kind == Kind::Short, "{view}");
        let ticket = match item.kind {
            Kind::Paid => Value::Null,
            Kind::Short => json!("open"),
            Kind::Stuck => json!("resolved"),
        };
        assert_eq!(view["escalation"]["status"], ticket, "{view}");
    }

    // Explorer traffic: one replica at a time, as the explorer saw it and by
    // the replicas' own metrics; no transaction fetched more often than one
    // poller would (its lookup, its details when matched unverified in a
    // block, once more if the stop cut a lookup short); no more tip polls
    // than one poller makes in the time.
    let log = esplora.log();
    let eras = eras(&log);
    let turns: Vec<&str> = eras.iter().map(|(key, _, _)| key.as_str()).collect();
    assert_eq!(turns.len(), 2, "the first holder, then one successor: {turns:?}");
    assert_eq!(turns[0], replica_key(holder));
    assert!(eras[0].2 < eras[1].1, "the successor started after the holder's last request: {turns:?}");
    let polling: Vec<&str> = pollers(&apps).await.into_iter().map(|i| app_keys[i].as_str()).collect();
    assert_eq!(polling, [turns[1]], "by the replicas' own metrics too");
    let mut lookups: BTreeMap<&str, usize> = BTreeMap::new();
    for request in &log {
        if let Some(txid) = request.path.strip_prefix("/tx/") {
            *lookups.entry(txid).or_default() += 1;
        }
    }
    let most = lookups.iter().max_by_key(|(_, n)| **n).unwrap();
    assert!(*most.1 <= 3, "{} looked up {} times", most.0, most.1);
    let tip_polls = log.iter().filter(|r| r.path == "/blocks/tip/hash").count();
    let one_poller = (started.elapsed().as_millis() / POLL.as_millis()) as usize + 2;
    assert!(tip_polls <= one_poller, "{tip_polls} tip polls; one poller makes at most {one_poller}");
}
