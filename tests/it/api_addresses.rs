//! The address validator over HTTP, and registration refusing bad destinations.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::app::{expect_error, withdrawal, TestApp, SUPPORT_TOKEN};

const TRON: &str = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
const ETH_CHECKSUMMED: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const XRP_GENESIS: &str = "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh";

async fn validate(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post_json("/v1/addresses/validate", token, &body).await
}

#[tokio::test]
async fn a_valid_address_comes_back_normalized_with_its_kind() {
    let app = TestApp::memory().await;
    let user = app.user_token("alice");
    let lower = ETH_CHECKSUMMED.to_lowercase();
    let response = validate(&app, &user, json!({"network": "ETH", "address": lower})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let verdict: Value = response.json().await.unwrap();
    assert_eq!(verdict["valid"], true);
    assert_eq!(verdict["normalized"], ETH_CHECKSUMMED);
    assert_eq!(verdict["code"], Value::Null);
    assert_eq!(verdict["detected_networks"].as_array().unwrap().iter().filter(|n| n != &"NEAR").count(), 8);
}

#[tokio::test]
async fn a_wrong_network_address_says_where_it_belongs() {
    let app = TestApp::memory().await;
    let verdict: Value =
        validate(&app, SUPPORT_TOKEN, json!({"network": "ETH", "address": TRON})).await.json().await.unwrap();
    assert_eq!(verdict["valid"], false);
    assert_eq!(verdict["code"], "bad_prefix", "a TRON address does not start with 0x: {verdict}");
    assert!(verdict["reason"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!(verdict["detected_networks"], json!(["TRX"]));
}

#[tokio::test]
async fn a_broken_checksum_is_bad_checksum() {
    let app = TestApp::memory().await;
    let flipped = ETH_CHECKSUMMED.replacen("aA", "Aa", 1);
    let verdict: Value =
        validate(&app, SUPPORT_TOKEN, json!({"network": "ETH", "address": flipped})).await.json().await.unwrap();
    assert_eq!(verdict["code"], "bad_checksum");
}

#[tokio::test]
async fn memos_are_checked_per_network() {
    let app = TestApp::memory().await;
    let tag = |memo: &str| json!({"network": "XRP", "address": XRP_GENESIS, "memo": memo});
    let ok: Value = validate(&app, SUPPORT_TOKEN, tag("12345")).await.json().await.unwrap();
    assert_eq!(ok["valid"], true);
    let bad: Value = validate(&app, SUPPORT_TOKEN, tag("4294967296")).await.json().await.unwrap();
    assert_eq!(bad["code"], "bad_memo");
    let on_btc = json!({"network": "TRX", "address": TRON, "memo": "hello"});
    let refused: Value = validate(&app, SUPPORT_TOKEN, on_btc).await.json().await.unwrap();
    assert_eq!(refused["code"], "memo_not_supported");
}

#[tokio::test]
async fn validation_needs_a_token_and_a_known_network() {
    let app = TestApp::memory().await;
    let anonymous = app.client.post(app.url("/v1/addresses/validate")).json(&json!({})).send().await.unwrap();
    expect_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let unknown = validate(&app, SUPPORT_TOKEN, json!({"network": "DOGGO", "address": "x"})).await;
    expect_error(unknown, StatusCode::UNPROCESSABLE_ENTITY, "unknown_network").await;
    let missing = validate(&app, SUPPORT_TOKEN, json!({"network": "BTC"})).await;
    let body = expect_error(missing, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
    assert_eq!(body["error"]["field"], "address");
    let extra = validate(&app, SUPPORT_TOKEN, json!({"network": "BTC", "address": "x", "chain": "main"})).await;
    expect_error(extra, StatusCode::BAD_REQUEST, "bad_request").await;
}

#[tokio::test]
async fn registration_refuses_an_invalid_address_with_the_validators_verdict() {
    let app = TestApp::memory().await;
    let response = app.register(&withdrawal("w-1", json!({"network": "ETH", "address": TRON}))).await;
    let body = expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_address").await;
    assert_eq!(body["error"]["field"], "address");
    assert_eq!(body["error"]["details"]["detected_networks"], json!(["TRX"]));
    assert_eq!(body["error"]["details"]["code"], "bad_prefix", "{body}");
    expect_error(app.get_as("/v1/withdrawals/w-1", SUPPORT_TOKEN).await, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn registration_refuses_a_bad_memo() {
    let app = TestApp::memory().await;
    let response = app.register(&withdrawal("w-1", json!({"memo": "tag-for-tron"}))).await;
    let body = expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_memo").await;
    assert_eq!(body["error"]["field"], "memo");
    assert_eq!(body["error"]["details"]["code"], "memo_not_supported");
    let xrp = withdrawal("w-2", json!({"network": "XRP", "address": XRP_GENESIS, "memo": "-1"}));
    let body = expect_error(app.register(&xrp).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_memo").await;
    assert_eq!(body["error"]["details"]["code"], "bad_memo");
}

#[tokio::test]
async fn registration_stores_the_normalized_address() {
    let app = TestApp::memory().await;
    let body = withdrawal("w-1", json!({"network": "ETH", "address": ETH_CHECKSUMMED.to_lowercase(), "coin": "ETH"}));
    let view: Value = app.register(&body).await.json().await.unwrap();
    assert_eq!(view["address"], ETH_CHECKSUMMED);
    assert_eq!(app.register(&body).await.status(), StatusCode::OK, "the same request is still idempotent");
    let xrp = withdrawal("w-2", json!({"network": "XRP", "address": XRP_GENESIS, "memo": "77", "coin": "XRP"}));
    let view: Value = app.register(&xrp).await.json().await.unwrap();
    assert_eq!(view["memo"], "77");
}

/// Validation and registration agree on memo length: Cosmos counts characters,
/// so a 256-character memo of two-byte characters registers, and one more is
/// refused by both.
#[tokio::test]
async fn registration_takes_the_memo_the_validator_takes() {
    let app = TestApp::memory().await;
    let atom = |id: &str, memo: String| {
        withdrawal(
            id,
            json!({"network": "ATOM", "address": "cosmos1fl48vsnmsdzcv85q5d2q4z5ajdha8yu34mf0eh", "coin": "ATOM", "memo": memo}),
        )
    };
    let longest = "é".repeat(256);
    let view: Value = app.register(&atom("w-1", longest.clone())).await.json().await.unwrap();
    assert_eq!(view["memo"], longest.as_str());
    let response = app.register(&atom("w-2", "é".repeat(257))).await;
    expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
}

#[tokio::test]
async fn networks_lists_all_thirty_with_kinds_and_memo_rules() {
    let app = TestApp::memory().await;
    let user = app.user_token("alice");
    let body: Value = app.get_as("/v1/networks", &user).await.json().await.unwrap();
    let networks = body["networks"].as_array().unwrap();
    assert_eq!(networks.len(), 30);
    let btc = networks.iter().find(|n| n["code"] == "BTC").unwrap();
    let kinds: Vec<&str> = btc["address_kinds"].as_array().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
    assert!(kinds.contains(&"p2tr") && kinds.contains(&"p2wpkh"), "{kinds:?}");
    assert_eq!(btc["memo"]["supported"], false);
    let xrp = networks.iter().find(|n| n["code"] == "XRP").unwrap();
    assert_eq!(xrp["memo"]["rule"], "xrp_destination_tag");
    assert_eq!(xrp["explorer"], Value::Null);
    assert_eq!(xrp["explorer_kinds"], serde_json::json!(["xrpl"]), "followable once configured");
    for network in networks {
        let kinds = network["explorer_kinds"].as_array().unwrap();
        assert!(!kinds.is_empty(), "every network can be followed: {network}");
        assert!(network["default_required_confirmations"].as_u64().unwrap() >= 1);
    }
    assert_eq!(btc["explorer_kinds"], serde_json::json!(["esplora", "blockbook"]));
    let xtz = networks.iter().find(|n| n["code"] == "XTZ").unwrap();
    assert_eq!(
        (xtz["explorer_kinds"][0].as_str(), xtz["default_required_confirmations"].as_u64()),
        (Some("octez"), Some(3))
    );
    expect_error(
        app.client.get(app.url("/v1/networks")).send().await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
}
