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
        let status = app.client.get(app.url("/readyz")).send().await.unwrap().status();
        if status == StatusCode::OK {
            return;
        }
        assert!(Instant::now() < deadline, "service did not recover (last /readyz {status})");
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
        ["idx:all", "idx:deadlines", "idx:net:TRX", "idx:sla:on_track:TRX", "idx:sn:pending:TRX", "idx:state:pending"]
            .iter()
            .chain(&["idx:user:alice", "w:w-1"])
            .map(|suffix| format!("{{{prefix}}}:{suffix}"))
            .collect();
    assert_eq!(keys, expected, "one record and its indexes, nothing half-written");
}
