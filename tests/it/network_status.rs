//! Network status end to end: maintenance declared by support through the
//! API and shown to every role and in the user's language, the SLA pausing
//! for it, and a chain that stops producing blocks turning `halted` (on the
//! fake Esplora, with the clock set by the test).

use std::time::Duration;

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{json, Value};
use withdrawal_tracker::config::{Config, ExplorerKind};

use crate::support::app::{expect_error, withdrawal, Backend, TestApp, INGEST_TOKEN, SUPPORT_TOKEN};
use crate::support::chains::{chain_config, BTC_PAYEE};
use crate::support::escalation::at;
use crate::support::fake_esplora::{FakeEsplora, Mode};

fn declaration(expected_end: &str) -> Value {
    json!({
        "reason_en": "network upgrade",
        "reason_zh": "网络升级",
        "expected_end": expected_end,
        "suspends_withdrawals": true,
        "by": "alice@support",
    })
}

async fn status_of(app: &TestApp, token: &str, network: &str) -> Value {
    let response = app.get_as("/v1/networks/status", token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["networks"].as_array().unwrap().len(), 30, "every network");
    body["networks"].as_array().unwrap().iter().find(|n| n["network"] == network).unwrap().clone()
}

async fn user_view(app: &TestApp, id: &str, language: &str) -> Value {
    let response = app
        .client
        .get(app.url(&format!("/v1/withdrawals/{id}")))
        .bearer_auth(app.user_token("alice"))
        .header("Accept-Language", language)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn maintenance_is_declared_shown_to_every_role_and_told_to_users_in_both_languages() {
    let app = TestApp::memory().await;
    assert_eq!(app.register(&withdrawal("w-trx", json!({}))).await.status(), StatusCode::CREATED);
    let path = "/v1/networks/TRX/maintenance";

    let refused = app.post_json(path, INGEST_TOKEN, &declaration("2026-03-02T14:00:00Z")).await;
    expect_error(refused, StatusCode::FORBIDDEN, "forbidden").await;
    let no_chinese = json!({"reason_en": "upgrade", "reason_zh": " ", "by": "alice"});
    let body = expect_error(
        app.post_json(path, SUPPORT_TOKEN, &no_chinese).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    )
    .await;
    assert_eq!(body["error"]["field"], "reason_zh");
    let blank = app.post_json(path, SUPPORT_TOKEN, &declaration("")).await;
    let body = expect_error(blank, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
    assert_eq!(body["error"]["field"], "expected_end", "an empty string is no time (null or absent is none)");
    let past = app.post_json(path, SUPPORT_TOKEN, &declaration("2026-03-02T09:00:00Z")).await;
    let body = expect_error(past, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
    assert_eq!(body["error"]["field"], "expected_end");
    let lower_case =
        app.post_json("/v1/networks/trx/maintenance", SUPPORT_TOKEN, &declaration("2026-03-02T14:00:00Z")).await;
    expect_error(lower_case, StatusCode::UNPROCESSABLE_ENTITY, "unknown_network").await;
    assert_eq!(status_of(&app, SUPPORT_TOKEN, "TRX").await["status"], "operational", "refusals changed nothing");

    // 06:00 UTC is 14:00 in the exchange's zone (the test calendar is UTC).
    let declared = app.post_json(path, SUPPORT_TOKEN, &declaration("2026-03-02T14:00:00Z")).await;
    assert_eq!(declared.status(), StatusCode::OK);
    let declared: Value = declared.json().await.unwrap();
    assert_eq!(
        (declared["status"].as_str(), declared["since"].as_str()),
        (Some("maintenance"), Some("2026-03-02T10:00:00Z"))
    );

    let for_user = status_of(&app, &app.user_token("alice"), "TRX").await;
    assert_eq!(for_user["status"], "maintenance");
    assert_eq!(for_user["maintenance"]["reason"], json!({"en": "network upgrade", "zh": "网络升级"}));
    assert_eq!(for_user["maintenance"]["expected_end"], "2026-03-02T14:00:00Z");
    assert!(for_user["maintenance"].get("declared_by").is_none(), "users see no support names: {for_user}");
    let for_support = status_of(&app, SUPPORT_TOKEN, "TRX").await;
    assert_eq!(for_support["maintenance"]["declared_by"], "alice@support");
    assert_eq!(status_of(&app, SUPPORT_TOKEN, "BTC").await["status"], "operational");

    let english = user_view(&app, "w-trx", "en").await;
    assert_eq!(english["network_notice"]["status"], "maintenance");
    assert!(
        english["message"]
            .as_str()
            .unwrap()
            .ends_with("TRON withdrawals are paused (network upgrade), expected to resume at 2026-03-02 14:00 UTC+0."),
        "{english}"
    );
    let chinese = user_view(&app, "w-trx", "zh-CN").await;
    assert!(
        chinese["message"]
            .as_str()
            .unwrap()
            .contains("TRON 提现已暂停（网络升级），预计于 2026-03-02 14:00 UTC+0 恢复。"),
        "{chinese}"
    );

    app.clock.set(at("2026-03-02T13:00:00Z"));
    let end = app.post_json("/v1/networks/TRX/maintenance/end", SUPPORT_TOKEN, &json!({"by": "bob@support"})).await;
    assert_eq!(end.status(), StatusCode::OK);
    assert_eq!(status_of(&app, &app.user_token("alice"), "TRX").await["status"], "operational");
    assert_eq!(user_view(&app, "w-trx", "en").await["network_notice"], Value::Null);
    let again = app.post_json("/v1/networks/TRX/maintenance/end", SUPPORT_TOKEN, &json!({"by": "bob"})).await;
    expect_error(again, StatusCode::CONFLICT, "not_in_maintenance").await;

    let history: Value = app.get_as("/v1/networks/TRX/history", SUPPORT_TOKEN).await.json().await.unwrap();
    let changes: Vec<(&str, &str, &str)> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["at"].as_str().unwrap(), c["status"].as_str().unwrap(), c["by"].as_str().unwrap()))
        .collect();
    assert_eq!(
        changes,
        [
            ("2026-03-02T13:00:00Z", "operational", "bob@support"),
            ("2026-03-02T10:00:00Z", "maintenance", "alice@support"),
        ],
        "newest first, with who made each change"
    );
    let user_history = app.get_as("/v1/networks/TRX/history", &app.user_token("alice")).await;
    expect_error(user_history, StatusCode::FORBIDDEN, "forbidden").await;
}

async fn overdue_at(app: &TestApp, id: &str) -> (String, Value) {
    let view = app.get_withdrawal(id).await;
    (view["sla"]["overdue_at"].as_str().unwrap().to_owned(), view["sla"]["paused_working_days"].clone())
}

/// Declared maintenance from Monday 11:00 to 15:00 (UTC, whole-day working
/// windows): with the pause on, both deadlines move by exactly those 4 h.
#[tokio::test]
async fn with_pause_during_maintenance_the_deadlines_move_by_exactly_the_paused_working_time() {
    let redis = crate::support::redis::RedisServer::shared();
    let prefix = crate::support::redis::unique_prefix("maintenance_pause");
    let app =
        TestApp::spawn_with(Backend::Redis(redis, prefix), |c: &mut Config| c.sla.pause_during_maintenance = true)
            .await;
    let unpaused = TestApp::memory().await;
    for app in [&app, &unpaused] {
        app.register(&withdrawal("w-1", json!({"requested_at": "2026-03-02T10:00:00Z"}))).await;
        assert_eq!(overdue_at(app, "w-1").await, ("2026-03-04T10:00:00Z".to_owned(), Value::Null));
        app.clock.set(at("2026-03-02T11:00:00Z"));
        let declared =
            app.post_json("/v1/networks/TRX/maintenance", SUPPORT_TOKEN, &declaration("2026-03-02T16:00:00Z")).await;
        assert_eq!(declared.status(), StatusCode::OK);
        app.clock.set(at("2026-03-02T15:00:00Z"));
        let ended = app.post_json("/v1/networks/TRX/maintenance/end", SUPPORT_TOKEN, &json!({"by": "bob"})).await;
        assert_eq!(ended.status(), StatusCode::OK);
    }
    // The open withdrawals' deadlines move in the background after the end.
    let mut moved = overdue_at(&app, "w-1").await;
    for _ in 0..100 {
        if moved.0 != "2026-03-04T10:00:00Z" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        moved = overdue_at(&app, "w-1").await;
    }
    assert_eq!(moved, ("2026-03-04T14:00:00Z".to_owned(), json!(0.17)), "4 h of a 24 h working day");
    assert_eq!(app.get_withdrawal("w-1").await["sla"]["at_risk_at"], "2026-03-03T14:00:00Z");
    assert_eq!(overdue_at(&unpaused, "w-1").await, ("2026-03-04T10:00:00Z".to_owned(), Value::Null), "pause off");

    // A withdrawal registered after the maintenance is not moved by it.
    app.register(&withdrawal("w-2", json!({"requested_at": "2026-03-02T15:00:00Z"}))).await;
    assert_eq!(overdue_at(&app, "w-2").await, ("2026-03-04T15:00:00Z".to_owned(), Value::Null));
}

#[tokio::test]
async fn a_chain_that_stops_producing_blocks_is_halted_until_blocks_flow_again() {
    let esplora = FakeEsplora::start(5).await;
    let config = chain_config(ExplorerKind::Esplora, &esplora.base_url, 2);
    let app = TestApp::spawn_with(Backend::Memory, move |c: &mut Config| {
        c.networks.insert("BTC".into(), config);
    })
    .await;
    let txid = esplora.broadcast(&[("aa".repeat(32).as_str(), 0)], &[(Some(BTC_PAYEE), 50_000_000)]);
    let body = withdrawal(
        "w-btc",
        json!({"coin": "BTC", "network": "BTC", "address": BTC_PAYEE, "amount": "0.5", "tx_hash": txid}),
    );
    app.register(&body).await;
    let tracker = &app.chain_trackers[0];
    let tip = tracker.tick().await.unwrap().tip_height;
    assert_eq!(status_of(&app, SUPPORT_TOKEN, "BTC").await["status"], "operational");

    // Bitcoin aims at a block per 10 minutes: halted after ten of them.
    app.clock.set(app.clock_now() + TimeDelta::minutes(99));
    tracker.tick().await.unwrap();
    assert_eq!(status_of(&app, SUPPORT_TOKEN, "BTC").await["status"], "operational", "99 minutes is slow, not halted");
    app.clock.set(app.clock_now() + TimeDelta::minutes(2));
    tracker.tick().await.unwrap();
    let halted = status_of(&app, SUPPORT_TOKEN, "BTC").await;
    assert_eq!((halted["status"].as_str(), halted["chain"]["tip_height"].as_u64()), (Some("halted"), Some(tip)));
    let view = user_view(&app, "w-btc", "en").await;
    assert_eq!(view["network_notice"]["status"], "halted");
    assert!(view["message"].as_str().unwrap().contains("The Bitcoin network has stopped producing blocks"), "{view}");
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains(r#"withdrawal_tracker_network_status{network="BTC",status="halted"} 1"#), "{metrics}");

    esplora.mine(&[&txid]);
    tracker.tick().await.unwrap();
    assert_eq!(status_of(&app, SUPPORT_TOKEN, "BTC").await["status"], "operational");
    assert_eq!(user_view(&app, "w-btc", "en").await["network_notice"], Value::Null);

    // An explorer failing for three poll intervals (3 h here): degraded, with
    // its error for support only.
    esplora.set_mode(Mode::Down);
    assert!(tracker.tick().await.is_err());
    app.clock.set(app.clock_now() + TimeDelta::hours(3));
    assert!(tracker.tick().await.is_err());
    let degraded = status_of(&app, SUPPORT_TOKEN, "BTC").await;
    assert_eq!(degraded["status"], "degraded");
    assert!(degraded["chain"]["last_error"].as_str().is_some_and(|e| !e.is_empty()), "{degraded}");
    assert!(status_of(&app, &app.user_token("alice"), "BTC").await.get("chain").is_none());

    let history: Value = app.get_as("/v1/networks/BTC/history", SUPPORT_TOKEN).await.json().await.unwrap();
    let statuses: Vec<&str> =
        history["history"].as_array().unwrap().iter().map(|c| c["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["degraded", "operational", "halted", "operational"], "newest first");
}
