//! The chain tracker end to end on NEAR (a fake NEAR RPC node) and the
//! Cosmos Hub (a fake Cosmos SDK REST gateway): broadcast -> (confirming) ->
//! completed, failed, dropped as expired, and payee mismatches (address,
//! amount, asset, and the ATOM memo), NEP-141 USDT and IBC USDC included;
//! discovery of an ATOM payment registered without a hash.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use withdrawal_tracker::config::{ExplorerKind, HumanDuration, NetworkChainConfig, TokenConfig};

use crate::support::app::{withdrawal, TestApp, SUPPORT_TOKEN};
use crate::support::chains::{app_following, chain_config, tick};
use crate::support::fake_cosmos::{self, cosmos_address, FakeCosmos, USDC_DENOM};
use crate::support::fake_near::{self, ft_transfer, transfer, FakeNear, FINALITY_LAG, HOT_WALLET, USDT_CONTRACT};

const ONE_NEAR: u128 = 1_000_000_000_000_000_000_000_000;

fn states(view: &Value) -> Vec<&str> {
    view["history"].as_array().unwrap().iter().map(|h| h["state"].as_str().unwrap()).collect()
}

fn last_reason(view: &Value) -> String {
    view["history"].as_array().unwrap().last().unwrap()["reason"].as_str().unwrap_or("").to_owned()
}

async fn register(app: &TestApp, body: Value) {
    let response = app.register(&body).await;
    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
}

async fn assert_explorer_shown(app: &TestApp, code: &str, explorer: &str) {
    let body: Value = app.get_as("/v1/networks", SUPPORT_TOKEN).await.json().await.unwrap();
    let network = body["networks"].as_array().unwrap().iter().find(|n| n["code"] == code).unwrap().clone();
    assert_eq!((network["explorer"].as_str(), network["required_confirmations"].as_u64()), (Some(explorer), Some(1)));
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let counted = metrics.lines().any(|line| {
        line.starts_with("withdrawal_tracker_explorer_requests_total{")
            && line.contains(&format!("explorer=\"{explorer}\""))
            && line.contains(&format!("network=\"{code}\""))
            && line.contains("outcome=\"ok\"")
    });
    assert!(counted, "requests counted per network and explorer: {metrics}");
}

fn near_config(url: &str) -> NetworkChainConfig {
    let mut config = chain_config(ExplorerKind::NearRpc, url, 1);
    config.required_confirmations = None;
    config.senders = vec![HOT_WALLET.to_owned()];
    config.tokens =
        BTreeMap::from([("USDT".to_owned(), TokenConfig { contract: USDT_CONTRACT.to_owned(), decimals: 6 })]);
    config
}

fn near(id: &str, coin: &str, to: &str, amount: &str, tx: Option<&str>) -> Value {
    withdrawal(id, json!({"coin": coin, "network": "NEAR", "address": to, "amount": amount, "tx_hash": tx}))
}

#[tokio::test]
async fn a_near_withdrawal_goes_broadcast_confirming_completed_once_its_receipts_are_final() {
    let fake = FakeNear::start(fake_near::BASE_HEIGHT).await;
    let app = app_following("NEAR", near_config(&fake.base_url)).await;
    let native = fake.submit(transfer(1, "bob.near", 3 * ONE_NEAR / 2));
    let usdt = fake_near::tx_hash(2);
    register(&app, near("w-near", "NEAR", "bob.near", "1.5", Some(&native))).await;
    register(&app, near("w-usdt", "USDT", "bob.near", "25.5", Some(&usdt))).await;
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-near").await["state"], "broadcast", "in the pool");

    let included = fake.send(transfer(1, "bob.near", 3 * ONE_NEAR / 2));
    fake.send(ft_transfer(2, USDT_CONTRACT, "bob.near", 25_500_000, None));
    tick(&app).await;
    let view = app.get_withdrawal("w-near").await;
    assert_eq!(view["state"], "confirming", "executed, not final: {view}");

    fake.produce(FINALITY_LAG + 2);
    tick(&app).await;
    for id in ["w-near", "w-usdt"] {
        let view = app.get_withdrawal(id).await;
        assert_eq!((view["state"].as_str(), &view["payee_mismatch"]), (Some("completed"), &Value::Null), "{view}");
    }
    let view = app.get_withdrawal("w-near").await;
    assert_eq!(states(&view), ["pending", "broadcast", "confirming", "completed"]);
    assert_eq!(view["block_height"].as_u64(), Some(included + 1), "the credit's block: {view}");
    assert_explorer_shown(&app, "NEAR", "near_rpc").await;
}

#[tokio::test]
async fn a_failed_near_transaction_fails_and_wrong_payments_are_flagged() {
    let fake = FakeNear::start(fake_near::BASE_HEIGHT).await;
    let app = app_following("NEAR", near_config(&fake.base_url)).await;
    let mut failing = transfer(1, "bob.near", ONE_NEAR);
    failing.success = false;
    let cases = [
        ("w-failed", "NEAR", "1", failing),
        ("w-address", "NEAR", "1", transfer(2, "eve.near", ONE_NEAR)),
        ("w-amount", "NEAR", "1", transfer(3, "bob.near", ONE_NEAR - 1)),
        ("w-token", "USDT", "1", ft_transfer(4, "fake-usdt.near", "bob.near", 1_000_000, None)),
        ("w-asset", "USDT", "1", transfer(5, "bob.near", 1_000_000)),
    ];
    for (id, coin, amount, tx) in cases {
        let hash = tx.hash.clone();
        fake.send(tx);
        register(&app, near(id, coin, "bob.near", amount, Some(&hash))).await;
    }
    fake.produce(FINALITY_LAG + 2);
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-failed").await["state"], "failed");
    for (id, shows) in
        [("w-address", "eve.near"), ("w-amount", "999999999999999999999999"), ("w-token", "fake-usdt.near")]
    {
        let view = app.get_withdrawal(id).await;
        let mismatch = view["payee_mismatch"].as_str().unwrap_or_else(|| panic!("{id} flagged: {view}"));
        assert!(mismatch.contains(shows), "{id}: {mismatch}");
    }
    assert!(app.get_withdrawal("w-asset").await["payee_mismatch"].as_str().is_some());
}

#[tokio::test]
async fn a_near_transaction_past_its_validity_period_is_dropped_as_expired() {
    let fake = FakeNear::start(fake_near::BASE_HEIGHT).await;
    let app = app_following("NEAR", near_config(&fake.base_url)).await;
    register(&app, near("w-1", "NEAR", "bob.near", "1", None)).await;
    // The exchange's reference block + 86400, as it recorded at signing.
    let last_valid = fake.final_height() + 1;
    let patched = app.patch("w-1", &json!({"tx_hash": fake_near::tx_hash(1), "last_valid_height": last_valid})).await;
    assert_eq!(patched.status(), reqwest::StatusCode::OK);
    tick(&app).await;
    fake.produce(1);
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-1").await["state"], "broadcast", "not past it yet");
    fake.produce(1);
    tick(&app).await;
    let view = app.get_withdrawal("w-1").await;
    assert_eq!(view["state"], "dropped", "{view}");
    assert_eq!(last_reason(&view), "expired before inclusion");
}

fn atom_config(url: &str) -> NetworkChainConfig {
    let mut config = chain_config(ExplorerKind::CosmosRest, url, 1);
    config.required_confirmations = None;
    config.tokens = BTreeMap::from([("USDC".to_owned(), TokenConfig { contract: USDC_DENOM.to_owned(), decimals: 6 })]);
    config
}

fn atom(id: &str, coin: &str, to: &str, memo: &str, amount: &str, tx: Option<&str>) -> Value {
    withdrawal(
        id,
        json!({"coin": coin, "network": "ATOM", "address": to, "memo": memo, "amount": amount,
               "tx_hash": tx.map(str::to_ascii_lowercase)}),
    )
}

#[tokio::test]
async fn an_atom_withdrawal_completes_once_committed_and_a_failed_one_fails() {
    let fake = FakeCosmos::start(fake_cosmos::BASE_HEIGHT).await;
    let app = app_following("ATOM", atom_config(&fake.base_url)).await;
    let user = cosmos_address("user");
    let (atom_hash, usdc_hash, failed_hash) =
        (fake_cosmos::tx_hash(1), fake_cosmos::tx_hash(2), fake_cosmos::tx_hash(3));
    register(&app, atom("w-atom", "ATOM", &user, "104729", "1.5", Some(&atom_hash))).await;
    register(&app, atom("w-usdc", "USDC", &user, "104730", "25.5", Some(&usdc_hash))).await;
    register(&app, atom("w-failed", "ATOM", &user, "104731", "1", Some(&failed_hash))).await;
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-atom").await["state"], "broadcast", "not committed yet");

    fake.commit(fake_cosmos::send(1, &user, &[("uatom", 1_500_000)], "104729"));
    fake.commit(fake_cosmos::send(2, &user, &[(USDC_DENOM, 25_500_000)], "104730"));
    let mut failing = fake_cosmos::send(3, &user, &[("uatom", 1_000_000)], "104731");
    failing.code = 5;
    fake.commit(failing);
    tick(&app).await;
    for id in ["w-atom", "w-usdc"] {
        let view = app.get_withdrawal(id).await;
        assert_eq!((view["state"].as_str(), &view["payee_mismatch"]), (Some("completed"), &Value::Null), "{view}");
    }
    let view = app.get_withdrawal("w-atom").await;
    assert_eq!(states(&view), ["pending", "broadcast", "completed"], "final at once: {view}");
    assert_eq!(app.get_withdrawal("w-failed").await["state"], "failed");
    assert_explorer_shown(&app, "ATOM", "cosmos_rest").await;
}

#[tokio::test]
async fn an_atom_payment_with_another_memo_address_amount_or_denom_is_flagged() {
    let fake = FakeCosmos::start(fake_cosmos::BASE_HEIGHT).await;
    let app = app_following("ATOM", atom_config(&fake.base_url)).await;
    let (user, other) = (cosmos_address("user"), cosmos_address("other"));
    let cases = [
        ("w-memo", "ATOM", fake_cosmos::send(1, &user, &[("uatom", 1_000_000)], "999")),
        ("w-no-memo", "ATOM", fake_cosmos::send(2, &user, &[("uatom", 1_000_000)], "")),
        ("w-address", "ATOM", fake_cosmos::send(3, &other, &[("uatom", 1_000_000)], "42")),
        ("w-amount", "ATOM", fake_cosmos::send(4, &user, &[("uatom", 999_999)], "42")),
        ("w-denom", "USDC", fake_cosmos::send(5, &user, &[("ibc/0000", 1_000_000)], "42")),
    ];
    for (id, coin, tx) in cases {
        let hash = tx.hash.clone();
        fake.commit(tx);
        register(&app, atom(id, coin, &user, "42", "1", Some(&hash))).await;
    }
    tick(&app).await;
    for (id, shows) in [
        ("w-memo", user.as_str()),
        ("w-no-memo", user.as_str()),
        ("w-address", other.as_str()),
        ("w-amount", "999999"),
        ("w-denom", "ibc/0000"),
    ] {
        let view = app.get_withdrawal(id).await;
        let mismatch = view["payee_mismatch"].as_str().unwrap_or_else(|| panic!("{id} flagged: {view}"));
        assert!(mismatch.contains(shows), "{id}: {mismatch}");
    }
}

#[tokio::test]
async fn an_atom_transaction_past_its_timeout_height_is_dropped_as_expired() {
    let fake = FakeCosmos::start(fake_cosmos::BASE_HEIGHT).await;
    let app = app_following("ATOM", atom_config(&fake.base_url)).await;
    let user = cosmos_address("user");
    register(&app, atom("w-1", "ATOM", &user, "7", "1", None)).await;
    let hash = fake_cosmos::tx_hash(1).to_ascii_lowercase();
    let patched = app.patch("w-1", &json!({"tx_hash": hash, "last_valid_height": fake.height() + 1})).await;
    assert_eq!(patched.status(), reqwest::StatusCode::OK);
    tick(&app).await;
    fake.produce(1);
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-1").await["state"], "broadcast", "at its timeout height: not past it");
    fake.produce(1);
    tick(&app).await;
    let view = app.get_withdrawal("w-1").await;
    assert_eq!(view["state"], "dropped", "{view}");
    assert_eq!(last_reason(&view), "expired before inclusion");
}

#[tokio::test]
async fn an_atom_payment_registered_without_a_hash_is_discovered_by_its_memo() {
    let fake = FakeCosmos::start(fake_cosmos::BASE_HEIGHT).await;
    let mut config = atom_config(&fake.base_url);
    config.discover = true;
    config.discover_interval = HumanDuration(Duration::from_secs(60));
    let app = app_following("ATOM", config).await;
    let user = cosmos_address("user");
    // An earlier payment of the same amount with another memo is not this one's.
    fake.commit(fake_cosmos::send(1, &user, &[("uatom", 2_000_000)], "other"));
    tick(&app).await;
    register(&app, atom("w-1", "ATOM", &user, "555", "2", None)).await;
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-1").await["state"], "pending");

    fake.commit(fake_cosmos::send(2, &user, &[("uatom", 2_000_000)], "555"));
    // Newer, same amount, another deposit tag: someone else's.
    fake.commit(fake_cosmos::send(3, &user, &[("uatom", 2_000_000)], "556"));
    app.clock.set(app.clock_now() + chrono::Duration::minutes(2));
    tick(&app).await;
    tick(&app).await;
    let view = app.get_withdrawal("w-1").await;
    assert_eq!(view["tx_hash"], fake_cosmos::tx_hash(2).to_ascii_lowercase(), "{view}");
    assert_eq!((view["state"].as_str(), &view["payee_mismatch"]), (Some("completed"), &Value::Null), "{view}");
    assert!(view["history"][1]["reason"].as_str().unwrap().starts_with("discovered on chain"), "{view}");
}

#[tokio::test]
async fn a_throttled_explorer_stops_the_tick_with_its_retry_after_and_changes_nothing() {
    use withdrawal_tracker::chain::ChainError;
    use withdrawal_tracker::tracker::chain::TrackError;
    let fake = FakeCosmos::start(fake_cosmos::BASE_HEIGHT).await;
    let app = app_following("ATOM", atom_config(&fake.base_url)).await;
    let user = cosmos_address("user");
    let hash = fake_cosmos::tx_hash(1);
    register(&app, atom("w-1", "ATOM", &user, "9", "1", Some(&hash))).await;
    fake.commit(fake_cosmos::send(1, &user, &[("uatom", 1_000_000)], "9"));
    fake.set_mode(fake_cosmos::Mode::RateLimited(7));
    let error = app.chain_trackers[0].tick().await.unwrap_err();
    assert!(
        matches!(error, TrackError::Chain(ChainError::RateLimited { retry_after: Some(wait) }) if wait == Duration::from_secs(7)),
        "{error:?}"
    );
    assert_eq!(app.get_withdrawal("w-1").await["state"], "broadcast");
    fake.set_mode(fake_cosmos::Mode::Normal);
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-1").await["state"], "completed");

    // NEAR: a node still syncing is passed over for the next URL.
    let (behind, synced) =
        (FakeNear::start(fake_near::BASE_HEIGHT).await, FakeNear::start(fake_near::BASE_HEIGHT).await);
    behind.set_mode(fake_near::Mode::NotSynced);
    let mut config = near_config(&behind.base_url);
    config.urls.push(synced.base_url.clone());
    let app = app_following("NEAR", config).await;
    let tx = transfer(1, "bob.near", ONE_NEAR);
    let hash = tx.hash.clone();
    synced.send(tx);
    synced.produce(FINALITY_LAG + 2);
    register(&app, near("w-1", "NEAR", "bob.near", "1", Some(&hash))).await;
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-1").await["state"], "completed");
}
