//! Who may do what: roles, user isolation, and bad tokens.

use reqwest::StatusCode;
use serde_json::{json, Value};
use withdrawal_tracker::auth::mint_user_jwt;

use crate::support::app::{expect_error, withdrawal, TestApp, INGEST_TOKEN, JWT_SECRET, SUPPORT_TOKEN};

#[tokio::test]
async fn missing_or_bad_tokens_are_401() {
    let app = TestApp::memory().await;
    app.register(&withdrawal("w-1", json!({}))).await;
    let no_token = app.client.get(app.url("/v1/withdrawals/w-1")).send().await.unwrap();
    let body = expect_error(no_token, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert!(body["error"].get("field").is_none());
    let expired = mint_user_jwt(JWT_SECRET, "alice", app.clock_now().timestamp() - 120);
    let wrong_key = mint_user_jwt("some-other-secret-some-other-secret", "alice", app.clock_now().timestamp() + 60);
    for token in ["nonsense-token-0123456789", expired.as_str(), wrong_key.as_str(), "a.b.c"] {
        let response = app.get_as("/v1/withdrawals/w-1", token).await;
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        expect_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
}

#[tokio::test]
async fn only_ingest_may_register_and_patch() {
    let app = TestApp::memory().await;
    let alice = app.user_token("alice");
    for token in [SUPPORT_TOKEN, alice.as_str()] {
        let response = app.post_json("/v1/withdrawals", token, &withdrawal("w-1", json!({}))).await;
        expect_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    }
    app.register(&withdrawal("w-1", json!({}))).await;
    for token in [SUPPORT_TOKEN, alice.as_str()] {
        let response = app
            .client
            .patch(app.url("/v1/withdrawals/w-1"))
            .bearer_auth(token)
            .json(&json!({"state": "cancelled"}))
            .send()
            .await
            .unwrap();
        expect_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    }
    assert_eq!(app.get_withdrawal("w-1").await["state"], "pending");
}

#[tokio::test]
async fn a_user_sees_their_own_withdrawal_and_nobody_elses() {
    let app = TestApp::memory().await;
    app.register(&withdrawal("w-alice", json!({"user_id": "alice"}))).await;
    app.register(&withdrawal("w-bob", json!({"user_id": "bob"}))).await;
    let alice = app.user_token("alice");

    let own = app.get_as("/v1/withdrawals/w-alice", &alice).await;
    assert_eq!(own.status(), StatusCode::OK);
    let others =
        expect_error(app.get_as("/v1/withdrawals/w-bob", &alice).await, StatusCode::NOT_FOUND, "not_found").await;
    let missing =
        expect_error(app.get_as("/v1/withdrawals/w-none", &alice).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(others, missing, "someone else's withdrawal looks exactly like a missing one");

    for token in [SUPPORT_TOKEN, INGEST_TOKEN] {
        assert_eq!(app.get_as("/v1/withdrawals/w-bob", token).await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn a_user_lists_only_their_own() {
    let app = TestApp::memory().await;
    app.register(&withdrawal("w-alice", json!({"user_id": "alice"}))).await;
    app.register(&withdrawal("w-bob", json!({"user_id": "bob"}))).await;
    let alice = app.user_token("alice");

    for path in ["/v1/withdrawals", "/v1/withdrawals?user_id=alice"] {
        let page: Value = app.get_as(path, &alice).await.json().await.unwrap();
        let ids: Vec<&str> = page["items"].as_array().unwrap().iter().map(|w| w["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["w-alice"], "{path}");
    }
    expect_error(app.get_as("/v1/withdrawals?user_id=bob", &alice).await, StatusCode::FORBIDDEN, "forbidden").await;
    expect_error(app.get_as("/v1/withdrawals", INGEST_TOKEN).await, StatusCode::FORBIDDEN, "forbidden").await;
    let page: Value = app.get_as("/v1/withdrawals", SUPPORT_TOKEN).await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn each_token_has_a_rate_limit() {
    use crate::support::app::Backend;
    let app = TestApp::spawn_with(Backend::Memory, |c| {
        c.rate_limit.per_token_per_second = 0.5;
        c.rate_limit.per_token_burst = 3;
    })
    .await;
    for _ in 0..3 {
        assert_eq!(app.get_as("/v1/networks", SUPPORT_TOKEN).await.status(), StatusCode::OK);
    }
    let limited = app.get_as("/v1/networks", SUPPORT_TOKEN).await;
    let retry_after: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(retry_after, 2, "one token every two seconds");
    expect_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_eq!(
        app.get_as("/v1/networks", INGEST_TOKEN).await.status(),
        StatusCode::OK,
        "other tokens are not affected"
    );
    assert_eq!(
        app.client.get(app.url("/healthz")).send().await.unwrap().status(),
        StatusCode::OK,
        "probes are not limited"
    );
}

#[tokio::test]
async fn an_ip_that_keeps_failing_authentication_is_refused() {
    use crate::support::app::Backend;
    let app = TestApp::spawn_with(Backend::Memory, |c| c.rate_limit.failed_auth_per_ip_per_minute = 5).await;
    for attempt in 0..5 {
        let response = app.get_as("/v1/networks", &format!("guess-{attempt}-0123456789")).await;
        expect_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    let refused = app.get_as("/v1/networks", "guess-6-0123456789").await;
    assert!(refused.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    expect_error(refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Refused before the token is even checked: brute force learns nothing more.
    let valid = app.get_as("/v1/networks", SUPPORT_TOKEN).await;
    expect_error(valid, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}
