//! The withdrawal API over real HTTP, on both stores.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::app::{expect_error, tron_hash, withdrawal, TestApp, INGEST_TOKEN, SUPPORT_TOKEN};

async fn registering_returns_201_with_the_status_view(app: TestApp) {
    let response = app.register(&withdrawal("w-1", json!({}))).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["location"], "/v1/withdrawals/w-1");
    let view: Value = response.json().await.unwrap();
    for field in [
        "id",
        "user_id",
        "coin",
        "network",
        "address",
        "memo",
        "amount",
        "requested_at",
        "state",
        "tx_hash",
        "confirmations",
        "required_confirmations",
        "block_height",
        "explorer_url",
        "completed_at",
        "sla",
        "escalation",
        "message",
        "history",
    ] {
        assert!(view.get(field).is_some(), "status view lacks {field}: {view}");
    }
    assert_eq!(view["state"], "pending");
    assert_eq!(view["amount"], "25.50", "amount text is kept exactly");
    assert_eq!(view["requested_at"], "2026-03-02T09:00:00Z");
    // Monday 09:00 UTC, default calendar (UTC, Sat/Sun weekend, whole days).
    assert_eq!(view["sla"]["at_risk_at"], "2026-03-03T09:00:00Z");
    assert_eq!(view["sla"]["overdue_at"], "2026-03-04T09:00:00Z");
    assert_eq!(view["sla"]["status"], "on_track");
    assert_eq!(view["sla"]["working_days_elapsed"], 0.04, "one hour of a 24-hour working day");
    assert_eq!(view["escalation"], Value::Null);
    assert_eq!(view["history"].as_array().unwrap().len(), 1);
    assert_eq!(app.get_withdrawal("w-1").await, view);
}

async fn an_identical_resend_is_idempotent_and_a_different_one_conflicts(app: TestApp) {
    let body = withdrawal("w-1", json!({}));
    assert_eq!(app.register(&body).await.status(), StatusCode::CREATED);
    let again = app.register(&body).await;
    assert_eq!(again.status(), StatusCode::OK);
    let view: Value = again.json().await.unwrap();
    assert_eq!(view["history"].as_array().unwrap().len(), 1, "nothing was registered twice");

    let different = withdrawal("w-1", json!({"amount": "25.5"}));
    expect_error(app.register(&different).await, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(app.get_withdrawal("w-1").await["amount"], "25.50", "the original stands");
}

async fn requested_at_defaults_to_now(app: TestApp) {
    let response = app.register(&withdrawal("w-1", json!({"requested_at": null}))).await;
    let view: Value = response.json().await.unwrap();
    assert_eq!(view["requested_at"], "2026-03-02T10:00:00Z");
    // Resending without requested_at is the same registration.
    let again = app.register(&withdrawal("w-1", json!({"requested_at": null}))).await;
    assert_eq!(again.status(), StatusCode::OK);
}

async fn registering_with_a_hash_starts_broadcast_with_an_explorer_link(app: TestApp) {
    let hash = tron_hash("AB");
    let response = app.register(&withdrawal("w-1", json!({"tx_hash": hash}))).await;
    let view: Value = response.json().await.unwrap();
    assert_eq!(view["state"], "broadcast");
    assert_eq!(view["tx_hash"], tron_hash("ab"));
    assert_eq!(view["explorer_url"], format!("https://tronscan.org/#/transaction/{}", tron_hash("ab")));
}

async fn patch_moves_through_the_state_machine(app: TestApp) {
    app.register(&withdrawal("w-1", json!({}))).await;
    let response = app.patch("w-1", &json!({"tx_hash": tron_hash("aa")})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let view: Value = response.json().await.unwrap();
    assert_eq!(view["state"], "broadcast");
    assert_eq!(view["history"][1]["state"], "broadcast");

    // The same hash again changes nothing.
    let same: Value = app.patch("w-1", &json!({"tx_hash": tron_hash("aa")})).await.json().await.unwrap();
    assert_eq!(same["history"].as_array().unwrap().len(), 2);

    let body = expect_error(
        app.patch("w-1", &json!({"tx_hash": tron_hash("bb")})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("broadcast"), "{message}");

    let body = expect_error(
        app.patch("w-1", &json!({"state": "cancelled", "reason": "user changed their mind"})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("broadcast") && message.contains("cancelled"), "names both states: {message}");
}

async fn cancel_records_the_reason_and_is_terminal(app: TestApp) {
    app.register(&withdrawal("w-1", json!({}))).await;
    let view: Value =
        app.patch("w-1", &json!({"state": "cancelled", "reason": "risk review rejected"})).await.json().await.unwrap();
    assert_eq!(view["state"], "cancelled");
    assert_eq!(view["history"][1]["reason"], "risk review rejected");
    assert_eq!(app.patch("w-1", &json!({"state": "cancelled"})).await.status(), StatusCode::OK);
    expect_error(
        app.patch("w-1", &json!({"tx_hash": tron_hash("aa")})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
}

/// The view is written by hand (`view::json`): text that needs escaping
/// must come back exactly, in the view, the list and the content type.
async fn text_that_needs_escaping_comes_back_as_sent(app: TestApp) {
    app.register(&withdrawal("w-1", json!({}))).await;
    let reason = "said \"no\"\\ then\n\tleft \u{1}; 中文";
    app.patch("w-1", &json!({"state": "cancelled", "reason": reason})).await;
    let response = app.get_as("/v1/withdrawals/w-1", SUPPORT_TOKEN).await;
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = response.text().await.unwrap();
    assert!(body.contains(r#"said \"no\"\\ then\n\tleft \u0001; 中文"#), "escaped as serde_json does: {body}");
    let view: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(view["history"][1]["reason"], reason);
    let page: Value = app.get_as("/v1/withdrawals?state=cancelled", SUPPORT_TOKEN).await.json().await.unwrap();
    assert_eq!(page["items"][0]["history"][1]["reason"], reason);
    assert_eq!(page["next_cursor"], Value::Null);
}

async fn a_new_hash_after_failure_goes_back_to_broadcast(app: TestApp) {
    app.register(&withdrawal("w-1", json!({"tx_hash": tron_hash("aa")}))).await;
    // The chain tracker (a later issue) marks failures; here we do it through the service.
    let id = withdrawal_tracker::domain::WithdrawalId::parse("w-1").unwrap();
    let now = app.clock_now();
    app.service
        .modify(&id, |w| Ok(w.transition(withdrawal_tracker::domain::State::Failed, "reverted", now)?))
        .await
        .unwrap();
    let view: Value = app.patch("w-1", &json!({"tx_hash": tron_hash("bb")})).await.json().await.unwrap();
    assert_eq!(view["state"], "broadcast");
    assert_eq!(view["tx_hash"], tron_hash("bb"));
    let states: Vec<&str> = view["history"].as_array().unwrap().iter().map(|h| h["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["pending", "broadcast", "failed", "broadcast"]);
}

async fn patch_of_an_unknown_withdrawal_is_404(app: TestApp) {
    expect_error(app.patch("nope", &json!({"state": "cancelled"})).await, StatusCode::NOT_FOUND, "not_found").await;
}

async fn list_pages_newest_first_with_filters(app: TestApp) {
    for i in 0..7 {
        let at = format!("2026-03-02T0{i}:00:00Z");
        let user = if i % 2 == 0 { "alice" } else { "bob" };
        app.register(&withdrawal(&format!("w-{i}"), json!({"requested_at": at, "user_id": user}))).await;
    }
    app.patch("w-2", &json!({"state": "cancelled"})).await;

    let mut seen = Vec::new();
    let mut path = "/v1/withdrawals?limit=3".to_owned();
    loop {
        let page: Value = app.get_as(&path, SUPPORT_TOKEN).await.json().await.unwrap();
        seen.extend(page["items"].as_array().unwrap().iter().map(|w| w["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/withdrawals?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["w-6", "w-5", "w-4", "w-3", "w-2", "w-1", "w-0"]);

    let page: Value =
        app.get_as("/v1/withdrawals?user_id=alice&state=pending", SUPPORT_TOKEN).await.json().await.unwrap();
    let ids: Vec<&str> = page["items"].as_array().unwrap().iter().map(|w| w["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["w-6", "w-4", "w-0"]);
    let page: Value =
        app.get_as("/v1/withdrawals?state=cancelled&network=TRX", SUPPORT_TOKEN).await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let page: Value = app.get_as("/v1/withdrawals?network=BTC", SUPPORT_TOKEN).await.json().await.unwrap();
    assert!(page["items"].as_array().unwrap().is_empty());
}

macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test]
            async fn $name() {
                super::$name(crate::support::app::TestApp::memory().await).await
            })*
        }
        mod redis {
            $(#[tokio::test]
            async fn $name() {
                super::$name(crate::support::app::TestApp::redis(stringify!($name)).await).await
            })*
        }
    };
}

on_both_stores!(
    registering_returns_201_with_the_status_view,
    an_identical_resend_is_idempotent_and_a_different_one_conflicts,
    requested_at_defaults_to_now,
    registering_with_a_hash_starts_broadcast_with_an_explorer_link,
    patch_moves_through_the_state_machine,
    cancel_records_the_reason_and_is_terminal,
    text_that_needs_escaping_comes_back_as_sent,
    a_new_hash_after_failure_goes_back_to_broadcast,
    patch_of_an_unknown_withdrawal_is_404,
    list_pages_newest_first_with_filters,
);

// Bad input: the same on any store, so these run on memory.

#[tokio::test]
async fn invalid_fields_are_422_naming_the_field() {
    let app = TestApp::memory().await;
    let cases = [
        (json!({"id": "has space"}), "id"),
        (json!({"id": "x".repeat(65)}), "id"),
        (json!({"user_id": "a/b"}), "user_id"),
        (json!({"amount": "-1"}), "amount"),
        (json!({"amount": "0"}), "amount"),
        (json!({"amount": "1e5"}), "amount"),
        (json!({"amount": "1".repeat(37)}), "amount"),
        (json!({"amount": 12.5}), "amount"),
        (json!({"requested_at": "2026-03-02 09:00"}), "requested_at"),
        (json!({"requested_at": "2026-03-02T09:00:00"}), "requested_at"),
        (json!({"tx_hash": "0xnothex"}), "tx_hash"),
        (json!({"coin": ""}), "coin"),
        (json!({"address": "has space"}), "address"),
        (json!({"amount": null}), "amount"),
        (json!({"user_id": null}), "user_id"),
    ];
    for (overrides, field) in cases {
        let response = app.register(&withdrawal("w-1", overrides.clone())).await;
        let body = expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
        assert_eq!(body["error"]["field"], field, "{overrides}");
    }
    expect_error(app.get_as("/v1/withdrawals/w-1", SUPPORT_TOKEN).await, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn unknown_networks_are_422_unknown_network() {
    let app = TestApp::memory().await;
    for network in ["XXX", "eth", "ERC20", ""] {
        let response = app.register(&withdrawal("w-1", json!({"network": network}))).await;
        let body = expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, "unknown_network").await;
        assert_eq!(body["error"]["field"], "network");
    }
}

#[tokio::test]
async fn malformed_json_and_unknown_fields_are_400() {
    let app = TestApp::memory().await;
    let send = |body: &'static str| {
        app.client
            .post(app.url("/v1/withdrawals"))
            .bearer_auth(INGEST_TOKEN)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for body in
        ["{", "", "[]", "null", "\"w\"", r#"["w-1","alice","USDT","TRX","T","m","1","2026-03-02T09:00:00Z","aa"]"#]
    {
        expect_error(send(body).await.unwrap(), StatusCode::BAD_REQUEST, "bad_request").await;
    }
    let response = app.register(&withdrawal("w-1", json!({"colour": "blue"}))).await;
    let body = expect_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
    assert_eq!(body["error"]["field"], "colour");
    let response = app.patch("w-1", &json!({"tx_hash": tron_hash("aa"), "extra": 1})).await;
    assert_eq!(expect_error(response, StatusCode::BAD_REQUEST, "bad_request").await["error"]["field"], "extra");
}

#[tokio::test]
async fn bodies_over_64_kib_are_413_and_other_media_types_415() {
    let app = TestApp::memory().await;
    let huge = withdrawal("w-1", json!({"memo": "m".repeat(70 * 1024)}));
    expect_error(app.register(&huge).await, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let chunked = app
        .client
        .post(app.url("/v1/withdrawals"))
        .bearer_auth(INGEST_TOKEN)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_stream(70 * 1024)))
        .send()
        .await
        .unwrap();
    expect_error(chunked, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let form = app
        .client
        .post(app.url("/v1/withdrawals"))
        .bearer_auth(INGEST_TOKEN)
        .header("content-type", "text/plain")
        .body(withdrawal("w-1", json!({})).to_string())
        .send()
        .await
        .unwrap();
    expect_error(form, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
    expect_error(app.get_as("/v1/withdrawals/w-1", SUPPORT_TOKEN).await, StatusCode::NOT_FOUND, "not_found").await;
}

/// A body without Content-Length, so the limit must hold while streaming.
fn futures_stream(bytes: usize) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    let chunk = vec![b' '; 1024];
    futures_util::stream::iter((0..bytes / 1024).map(move |_| Ok(chunk.clone())))
}

#[tokio::test]
async fn patch_bodies_are_checked() {
    let app = TestApp::memory().await;
    app.register(&withdrawal("w-1", json!({}))).await;
    let cases = [
        (json!({}), "tx_hash"),
        (json!({"state": "completed"}), "state"),
        (json!({"state": "cancelled", "tx_hash": tron_hash("aa")}), "state"),
        (json!({"state": "cancelled", "reason": ""}), "reason"),
        (json!({"state": "cancelled", "reason": "r".repeat(501)}), "reason"),
        (json!({"tx_hash": "short"}), "tx_hash"),
    ];
    for (body, field) in cases {
        let error =
            expect_error(app.patch("w-1", &body).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
        assert_eq!(error["error"]["field"], field, "{body}");
    }
    assert_eq!(app.get_withdrawal("w-1").await["state"], "pending", "nothing changed");
}

#[tokio::test]
async fn list_parameters_are_checked() {
    let app = TestApp::memory().await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("state=done", "state"),
        ("cursor=not-a-cursor", "cursor"),
        ("user_id=a%2Fb", "user_id"),
    ] {
        let response = app.get_as(&format!("/v1/withdrawals?{query}"), SUPPORT_TOKEN).await;
        let body = expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
        assert_eq!(body["error"]["field"], field, "{query}");
    }
    let response = app.get_as("/v1/withdrawals?network=NOPE", SUPPORT_TOKEN).await;
    expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, "unknown_network").await;
    let response = app.get_as("/v1/withdrawals?sort=asc", SUPPORT_TOKEN).await;
    assert_eq!(expect_error(response, StatusCode::BAD_REQUEST, "bad_request").await["error"]["field"], "sort");
    let page: Value = app.get_as("/v1/withdrawals?limit=500", SUPPORT_TOKEN).await.json().await.unwrap();
    assert_eq!(page, json!({"items": [], "next_cursor": null}));
}

#[tokio::test]
async fn messages_follow_accept_language() {
    let app = TestApp::memory().await;
    app.register(&withdrawal("w-1", json!({}))).await;
    let get = |lang: Option<&'static str>| {
        let mut request = app.client.get(app.url("/v1/withdrawals/w-1")).bearer_auth(SUPPORT_TOKEN);
        if let Some(lang) = lang {
            request = request.header("accept-language", lang);
        }
        request.send()
    };
    let english = get(None).await.unwrap();
    assert_eq!(english.headers()["content-language"], "en");
    let english: Value = english.json().await.unwrap();
    let chinese = get(Some("zh-CN,zh;q=0.9,en;q=0.8")).await.unwrap();
    assert_eq!(chinese.headers()["content-language"], "zh-CN");
    let chinese: Value = chinese.json().await.unwrap();
    let plain_zh: Value = get(Some("zh")).await.unwrap().json().await.unwrap();
    assert!(english["message"].as_str().unwrap().contains("withdrawal"));
    assert!(chinese["message"].as_str().unwrap().contains("提现"));
    assert_eq!(plain_zh["message"], chinese["message"]);
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let app = TestApp::memory().await;
    expect_error(app.get_as("/v2/withdrawals", SUPPORT_TOKEN).await, StatusCode::NOT_FOUND, "not_found").await;
    let delete = app.client.delete(app.url("/v1/withdrawals/w-1")).bearer_auth(INGEST_TOKEN).send().await.unwrap();
    assert_eq!(delete.headers()["allow"], "GET, PATCH");
    expect_error(delete, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    let trace = app.client.request(reqwest::Method::TRACE, app.url("/healthz")).send().await.unwrap();
    assert_eq!(trace.headers()["allow"], "GET");
    expect_error(trace, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
}

#[tokio::test]
async fn health_and_readiness_need_no_token() {
    let app = TestApp::memory().await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
}
