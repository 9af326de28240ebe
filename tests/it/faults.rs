//! Redis going away and coming back: 503 with Retry-After, never a 500 or a
//! crash, and recovery without a restart.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::support::app::{expect_error, tron_hash, withdrawal, Backend, TestApp, SUPPORT_TOKEN};
use crate::support::redis::{unique_prefix, RedisServer};

async fn wait_until_ready(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // A pooled keep-alive connection may have been closed by the server
        // while this test was busy elsewhere: that is "try again", not a failure.
        let status = app.client.get(app.url("/readyz")).send().await.map(|r| r.status());
        if matches!(status, Ok(StatusCode::OK)) {
            return;
        }
        assert!(Instant::now() < deadline, "service did not recover (last /readyz {status:?})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

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
    wait_until_ready(&app).await;
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
    wait_until_ready(&app).await;
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
    wait_until_ready(&app).await;

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
    use std::sync::{Arc, Mutex};

    use crate::support::app::{INGEST_TOKEN, JWT_SECRET};

    let mut redis = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let prefix = unique_prefix("kill9");
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
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
    wait_until_ready(&app).await; // Redis may still be loading its AOF
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
