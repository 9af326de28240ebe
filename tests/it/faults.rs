//! Redis going away and coming back: 503 with Retry-After, never a 500 or a
//! crash, and recovery without a restart.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::app::{expect_error, tron_hash, withdrawal, Backend, TestApp, INGEST_TOKEN, SUPPORT_TOKEN};
use crate::support::fake_esplora::fake_hash;
use crate::support::redis::{unique_prefix, RedisServer};

async fn expect_unavailable(response: reqwest::Response) {
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    expect_error(response, StatusCode::SERVICE_UNAVAILABLE, "store_unavailable").await;
    let seconds: u64 = retry_after.expect("Retry-After is set").parse().expect("Retry-After is whole seconds");
    assert!(seconds >= 1);
}

#[tokio::test]
async fn a_redis_outage_is_503_with_retry_after_and_the_service_recovers_by_itself() {
    let mut redis = RedisServer::start();
    let app = TestApp::spawn(Backend::Redis(&redis, unique_prefix("outage"))).await;
    assert_eq!(app.register(&withdrawal("w-1", json!({}))).await.status(), StatusCode::CREATED);

    redis.kill();
    expect_unavailable(app.get_as("/v1/withdrawals/w-1", SUPPORT_TOKEN).await).await;
    expect_unavailable(app.register(&withdrawal("w-2", json!({}))).await).await;
    expect_unavailable(app.patch("w-1", &json!({"tx_hash": tron_hash("aa")})).await).await;
    expect_unavailable(app.get_as("/v1/withdrawals", SUPPORT_TOKEN).await).await;
    expect_unavailable(app.client.get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), StatusCode::OK, "still alive");

    redis.restart();
    app.wait_until_ready().await;
    assert_eq!(app.register(&withdrawal("w-2", json!({}))).await.status(), StatusCode::CREATED);
    assert_eq!(app.get_withdrawal("w-2").await["state"], "pending");
}

#[tokio::test]
async fn the_service_starts_while_redis_is_down_and_becomes_ready_when_it_appears() {
    let mut redis = RedisServer::start();
    redis.kill();
    let app = TestApp::spawn(Backend::Redis(&redis, unique_prefix("late"))).await;
    expect_unavailable(app.client.get(app.url("/readyz")).send().await.unwrap()).await;
    expect_unavailable(app.register(&withdrawal("w-1", json!({}))).await).await;

    redis.restart();
    app.wait_until_ready().await;
    assert_eq!(app.register(&withdrawal("w-1", json!({}))).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_write_refused_during_an_outage_leaves_nothing_behind() {
    // Persisted Redis, so what was written before the outage survives it.
    let mut redis = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let prefix = unique_prefix("nohalf");
    let app = TestApp::spawn(Backend::Redis(&redis, prefix.clone())).await;
    app.register(&withdrawal("w-1", json!({}))).await;
    redis.kill();
    expect_unavailable(app.patch("w-1", &json!({"tx_hash": tron_hash("aa")})).await).await;
    expect_unavailable(app.register(&withdrawal("w-2", json!({}))).await).await;
    redis.restart();
    app.wait_until_ready().await;

    let view = app.get_withdrawal("w-1").await;
    assert_eq!(view["state"], "pending", "the refused PATCH did not land");
    assert_eq!(view["history"].as_array().unwrap().len(), 1);
    expect_error(app.get_as("/v1/withdrawals/w-2", SUPPORT_TOKEN).await, StatusCode::NOT_FOUND, "not_found").await;
    let mut conn = redis.connection();
    let mut keys: Vec<String> = redis::cmd("KEYS").arg(format!("{{{prefix}}}*")).query(&mut conn).unwrap();
    // The service's meta and lease keys come and go in the background; records and indexes are what count.
    keys.retain(|k| !k.contains(":meta:") && !k.contains(":lease:"));
    keys.sort();
    let expected: Vec<String> =
        ["counts", "idx:all", "idx:deadlines", "idx:sn:pending:TRX", "idx:undiscovered:TRX", "idx:user:alice", "w:w-1"]
            .iter()
            .map(|suffix| format!("{{{prefix}}}:{suffix}"))
            .collect();
    assert_eq!(keys, expected, "one record and its indexes, nothing half-written");
    let counts: Vec<(String, i64)> =
        redis::cmd("HGETALL").arg(format!("{{{prefix}}}:counts")).query(&mut conn).unwrap();
    assert_eq!(counts, [("sla:on_track:TRX".to_owned(), 1)], "counted once, by the write that landed");
}

/// `kill -9` of the real service binary in the middle of a stream of
/// registrations, then `kill -9` of Redis itself: with AOF and
/// `appendfsync always`, every acknowledged withdrawal is there afterwards.
#[tokio::test]
async fn kill_9_loses_no_acknowledged_registration() {
    use std::process::{Command, Stdio};
    use std::sync::Arc;

    use crate::support::app::JWT_SECRET;

    let mut redis = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let prefix = unique_prefix("kill9");
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::ports::free_port();
    let config = dir.path().join("tracker.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\nredis_url = \"{}\"\nkey_prefix = \"{prefix}\"\nlog_format = \"json\"\n\
             [auth]\ningest_tokens = [\"{INGEST_TOKEN}\"]\nuser_jwt_secret = \"{JWT_SECRET}\"\n\
             [rate_limit]\nper_token_per_second = 100000\nper_token_burst = 100000\n",
            redis.url()
        ),
    )
    .unwrap();
    let mut service = Command::new(env!("CARGO_BIN_EXE_withdrawal-tracker"))
        .args(["--config", config.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.get(format!("{base}/readyz")).send().await.map(|r| r.status()).ok() != Some(StatusCode::OK) {
        assert!(Instant::now() < deadline, "the service did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let (client, base, acknowledged) = (client.clone(), base.clone(), acknowledged.clone());
            tokio::spawn(async move {
                for n in 0.. {
                    let id = format!("w-{writer}-{n}");
                    let body = withdrawal(&id, json!({}));
                    let sent = client
                        .post(format!("{base}/v1/withdrawals"))
                        .bearer_auth(INGEST_TOKEN)
                        .json(&body)
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status() == StatusCode::CREATED => {
                            acknowledged.lock().unwrap().push(id)
                        }
                        _ => return,
                    }
                }
            })
        })
        .collect();
    while acknowledged.lock().unwrap().len() < 200 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    service.kill().unwrap(); // SIGKILL
    service.wait().unwrap();
    for writer in writers {
        writer.await.unwrap();
    }
    redis.restart(); // SIGKILL, then start again from the AOF

    let app = TestApp::spawn(Backend::Redis(&redis, prefix)).await;
    app.wait_until_ready().await; // Redis may still be loading its AOF
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 200);
    for id in &acknowledged {
        let view = app.get_withdrawal(id).await;
        assert_eq!(view["state"], "pending", "{id}");
    }
    let mut listed = 0;
    let mut path = "/v1/withdrawals?limit=500".to_owned();
    loop {
        let page: serde_json::Value = app.get_as(&path, SUPPORT_TOKEN).await.json().await.unwrap();
        listed += page["items"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/withdrawals?limit=500&cursor={cursor}"),
            None => break,
        }
    }
    assert!(listed >= acknowledged.len(), "every acknowledged record is in its indexes ({listed} listed)");
}

// ---- Redis killed under load ----

/// Where the outage stood when a request of the load was sent.
const UP: usize = 0;
const DOWN: usize = 1;
/// Redis is starting again; `/readyz` has not said so yet.
const RESTARTING: usize = 2;
/// `/readyz` answered 200 again.
const RECOVERED: usize = 3;
const PHASES: [&str; 4] = ["up", "down", "restarting", "recovered"];

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    ok: usize,
    unavailable: usize,
}

/// What the load clients were told, shared between them.
#[derive(Default)]
struct Ledger {
    /// By phase, of the requests sent and answered within it.
    tallies: [Tally; 4],
    /// Requests answered in a later phase than they were sent in: one sent
    /// while Redis was down may wait out a reconnect and succeed once it is
    /// back, so these belong to no phase.
    straddling: Tally,
    /// Registrations answered 201.
    acknowledged: Vec<String>,
    /// Withdrawal -> the state a PATCH asked for, and whether it was answered 200 (else 503: unknown).
    patches: HashMap<String, (&'static str, bool)>,
    /// Answers that are neither the expected one nor a proper 503.
    violations: Vec<String>,
}

/// The expected answer's body, `None` for a proper `503 store_unavailable`
/// with `Retry-After`, or what was wrong.
async fn judge(sent: reqwest::Result<reqwest::Response>, expected: StatusCode) -> Result<Option<Value>, String> {
    let response = sent.map_err(|e| format!("no answer from the service: {e}"))?;
    let status = response.status();
    let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let body: Value = response.json().await.map_err(|e| format!("{status} without a JSON body: {e}"))?;
    match status {
        _ if status == expected => Ok(Some(body)),
        StatusCode::SERVICE_UNAVAILABLE
            if body["error"]["code"] == "store_unavailable" && retry_after.is_some_and(|s| s >= 1) =>
        {
            Ok(None)
        }
        _ => Err(format!("{status} (Retry-After {retry_after:?}): {body}")),
    }
}

/// One client of the load: registers, reads, lists and PATCHes its own
/// withdrawals in turn until `stop`, recording every answer.
async fn load_client(app: &TestApp, client: usize, phase: &AtomicUsize, stop: &AtomicBool, ledger: &Mutex<Ledger>) {
    let mut mine: Vec<String> = Vec::new();
    let mut unpatched: VecDeque<String> = VecDeque::new();
    for n in 0usize.. {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let sent_in = phase.load(Ordering::SeqCst);
        let (what, verdict) = match n % 4 {
            0 => {
                let id = format!("w-{client}-{n}");
                let sent = app.client.post(app.url("/v1/withdrawals")).bearer_auth(INGEST_TOKEN);
                let verdict = judge(sent.json(&withdrawal(&id, json!({}))).send().await, StatusCode::CREATED).await;
                if let Ok(Some(_)) = verdict {
                    ledger.lock().unwrap().acknowledged.push(id.clone());
                    mine.push(id.clone());
                    unpatched.push_back(id.clone());
                }
                (format!("POST {id}"), verdict)
            }
            1 if !mine.is_empty() => {
                let id = &mine[(n / 4) % mine.len()];
                let sent = app.client.get(app.url(&format!("/v1/withdrawals/{id}"))).bearer_auth(SUPPORT_TOKEN);
                let verdict = match judge(sent.send().await, StatusCode::OK).await {
                    Ok(Some(view)) if view["id"] != id.as_str() => Err(format!("another withdrawal: {view}")),
                    other => other,
                };
                (format!("GET {id}"), verdict)
            }
            3 if !unpatched.is_empty() => {
                let id = unpatched.pop_front().unwrap();
                let (target, body) = match n % 8 {
                    3 => ("broadcast", json!({"tx_hash": fake_hash(&id, 0)})),
                    _ => ("cancelled", json!({"state": "cancelled", "reason": "load test"})),
                };
                let sent = app.client.patch(app.url(&format!("/v1/withdrawals/{id}"))).bearer_auth(INGEST_TOKEN);
                let verdict = judge(sent.json(&body).send().await, StatusCode::OK).await;
                if let Ok(answer) = &verdict {
                    ledger.lock().unwrap().patches.insert(id.clone(), (target, answer.is_some()));
                }
                (format!("PATCH {id} to {target}"), verdict)
            }
            _ => {
                let sent = app.client.get(app.url("/v1/withdrawals?limit=20")).bearer_auth(SUPPORT_TOKEN);
                ("GET /v1/withdrawals".to_owned(), judge(sent.send().await, StatusCode::OK).await)
            }
        };
        let answered_in = phase.load(Ordering::SeqCst);
        {
            let mut ledger = ledger.lock().unwrap();
            let tally = if answered_in == sent_in { &mut ledger.tallies[sent_in] } else { &mut ledger.straddling };
            match verdict {
                Ok(Some(_)) => tally.ok += 1,
                Ok(None) => tally.unavailable += 1,
                Err(problem) => ledger.violations.push(format!("{what} while {}: {problem}", PHASES[sent_in])),
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The record is one whole change or another, never part of one: its history
/// is exactly the path to its state, and the hash goes with `broadcast`.
fn assert_whole(view: &Value) {
    let states: Vec<&str> = view["history"].as_array().unwrap().iter().map(|h| h["state"].as_str().unwrap()).collect();
    let (expected, has_hash): (&[&str], bool) = match view["state"].as_str().unwrap() {
        "pending" => (&["pending"], false),
        "broadcast" => (&["pending", "broadcast"], true),
        "cancelled" => (&["pending", "cancelled"], false),
        other => panic!("no request asked for {other}: {view}"),
    };
    assert_eq!(states, expected, "history matches the state: {view}");
    assert_eq!(view["tx_hash"].is_string(), has_hash, "the hash goes with broadcast: {view}");
}

/// Several clients keep registering, reading, listing and PATCHing while
/// Redis (AOF, fsync always) is killed and started again: every answer is the
/// expected one or a proper 503, the service never restarts, and what was
/// acknowledged is all there, whole and in its indexes.
#[tokio::test]
async fn redis_killed_under_load_loses_no_acknowledged_write_and_serves_again_without_a_restart() {
    const CLIENTS: usize = 6;
    let redis = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let app = TestApp::spawn(Backend::Redis(&redis, unique_prefix("killload"))).await;
    let (phase, stop, ledger) = (AtomicUsize::new(UP), AtomicBool::new(false), Mutex::new(Ledger::default()));

    let conductor = async {
        let mut redis = redis;
        let deadline = Instant::now() + Duration::from_secs(20);
        while ledger.lock().unwrap().acknowledged.len() < 40 {
            assert!(Instant::now() < deadline, "the load did not get going");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        redis.kill();
        phase.store(DOWN, Ordering::SeqCst);
        expect_unavailable(app.client.get(app.url("/readyz")).send().await.unwrap()).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        expect_unavailable(app.client.get(app.url("/readyz")).send().await.unwrap()).await;
        assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), StatusCode::OK, "alive");

        phase.store(RESTARTING, Ordering::SeqCst);
        // Off the runtime: the load goes on while Redis replays its AOF.
        let redis = tokio::task::spawn_blocking(move || {
            redis.restart();
            redis
        })
        .await
        .unwrap();
        app.wait_until_ready().await;
        phase.store(RECOVERED, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        stop.store(true, Ordering::SeqCst);
        redis
    };
    let clients = (0..CLIENTS).map(|client| load_client(&app, client, &phase, &stop, &ledger));
    let (_redis, _) = tokio::join!(conductor, futures_util::future::join_all(clients));

    let ledger = ledger.into_inner().unwrap();
    let shown = &ledger.violations[..ledger.violations.len().min(10)];
    assert!(ledger.violations.is_empty(), "{} unexpected answers, first: {shown:#?}", ledger.violations.len());
    let [up, down, _, recovered] = ledger.tallies;
    assert!(up.ok > 0 && down.unavailable > 0, "the load ran and felt the outage: {:?}", ledger.tallies);
    assert_eq!(down.ok, 0, "nothing is acknowledged while the store is gone: {:?}", ledger.tallies);
    println!("answered in a later phase than sent: {:?}", ledger.straddling);
    assert!(recovered.ok > 0, "the load succeeds again: {:?}", ledger.tallies);
    assert_eq!(recovered.unavailable, 0, "once ready, every request succeeds: {:?}", ledger.tallies);

    // Everything that exists (acknowledged or not) is whole, and every index agrees.
    let all = app.list_all("").await;
    all.values().for_each(assert_whole);
    for id in &ledger.acknowledged {
        assert!(all.contains_key(id), "acknowledged {id} is listed");
        let view = app.get_withdrawal(id).await;
        let (state, history) = (view["state"].as_str().unwrap(), view["history"].as_array().unwrap().len());
        match ledger.patches.get(id) {
            None => assert_eq!((state, history), ("pending", 1), "{id}: nothing was asked of it"),
            Some((target, true)) => assert_eq!(state, *target, "{id}: the acknowledged PATCH holds"),
            Some((target, false)) => assert!(state == *target || state == "pending", "{id}: {state}"),
        }
        if state == "broadcast" {
            assert_eq!(view["tx_hash"], fake_hash(id, 0), "{id}");
        }
    }
    for filter in ["&user_id=alice", "&network=TRX"] {
        let listed: Vec<String> = app.list_all(filter).await.into_keys().collect();
        assert_eq!(listed, all.keys().cloned().collect::<Vec<_>>(), "the {filter} index holds every record");
    }
    let mut by_state = BTreeMap::new();
    for state in ["pending", "broadcast", "cancelled"] {
        for filter in [format!("&state={state}"), format!("&state={state}&network=TRX")] {
            let listed = app.list_all(&filter).await;
            assert!(listed.values().all(|v| v["state"] == state), "{filter} lists only {state}");
            by_state.insert(filter, listed.into_keys().collect::<Vec<_>>());
        }
    }
    for network_too in [false, true] {
        let mut union: Vec<&String> =
            by_state.iter().filter(|(f, _)| f.contains("network") == network_too).flat_map(|(_, ids)| ids).collect();
        union.sort();
        assert_eq!(union, all.keys().collect::<Vec<_>>(), "the state indexes hold every record once");
    }
}
