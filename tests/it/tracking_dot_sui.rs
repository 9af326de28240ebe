//! The chain tracker end to end on Polkadot (Asset Hub, through a fake
//! Substrate API Sidecar) and Sui (a fake GraphQL RPC service): completed,
//! failed, dropped, the payee check (address, amount, asset), discovery of
//! payments registered without a hash (DOT from blocks, SUI by address), and
//! `/v1/networks`.

use std::time::Duration;

use serde_json::{json, Value};
use withdrawal_tracker::chain::ChainError;
use withdrawal_tracker::config::{ExplorerKind, HumanDuration, NetworkChainConfig, TokenConfig};
use withdrawal_tracker::tracker::chain::TrackError;

use crate::support::app::{withdrawal, TestApp, SUPPORT_TOKEN};
use crate::support::chains::{app_following, chain_config, tick};
use crate::support::fake_sidecar::{dot_address, DotCall, FakeSidecar, Mode, BASE_HEIGHT, USDT_ASSET};
use crate::support::fake_sui::{self, digest, sui_address, FakeSui, BASE_CHECKPOINT, BASE_EPOCH, SUI, USDC};

async fn register(app: &TestApp, body: Value) {
    let response = app.register(&body).await;
    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
}

fn states(view: &Value) -> Vec<&str> {
    view["history"].as_array().unwrap().iter().map(|h| h["state"].as_str().unwrap()).collect()
}

fn last_reason(view: &Value) -> &str {
    view["history"].as_array().unwrap().last().unwrap()["reason"].as_str().unwrap()
}

async fn explorer_of(app: &TestApp, code: &str) -> (Option<String>, Option<u64>) {
    let networks: Value = app.get_as("/v1/networks", SUPPORT_TOKEN).await.json().await.unwrap();
    let network = networks["networks"].as_array().unwrap().iter().find(|n| n["code"] == code).unwrap().clone();
    (network["explorer"].as_str().map(str::to_owned), network["required_confirmations"].as_u64())
}

fn dot_config(fake: &FakeSidecar) -> NetworkChainConfig {
    let mut config = chain_config(ExplorerKind::Sidecar, &fake.base_url, 1);
    config.tokens.insert("USDT".into(), TokenConfig { contract: USDT_ASSET.to_string(), decimals: 6 });
    config
}

fn dot(id: &str, coin: &str, address: &str, amount: &str, tx: Option<&str>) -> Value {
    withdrawal(
        id,
        json!({"coin": coin, "network": "DOT", "address": address, "amount": amount, "tx_hash": tx.map(str::to_owned)}),
    )
}

#[tokio::test]
async fn a_dot_withdrawal_completes_in_its_finalized_block_and_wrong_payments_are_flagged() {
    let fake = FakeSidecar::start(BASE_HEIGHT + 3).await;
    let app = app_following("DOT", dot_config(&fake)).await;
    tick(&app).await;
    let payee = dot_address("user");
    let good = fake.transfer(&payee, 15_000_000_000);
    let failed = fake.submit(DotCall::Balances { dest: payee.clone(), planck: 15_000_000_000 }, false);
    let elsewhere = fake.transfer(&dot_address("someone-else"), 15_000_000_000);
    let short = fake.transfer(&payee, 14_999_999_999);
    let usdt = fake.asset_transfer(USDT_ASSET, &payee, 25_500_000);
    let other_asset = fake.asset_transfer(1337, &payee, 25_500_000);
    let batch = fake.submit(
        DotCall::BatchAll(vec![
            DotCall::Balances { dest: dot_address("second"), planck: 20_000_000_000 },
            DotCall::Asset { id: USDT_ASSET, target: dot_address("third"), amount: 7_000_000 },
        ]),
        true,
    );
    register(&app, dot("w-good", "DOT", &payee, "1.5", Some(&good))).await;
    register(&app, dot("w-failed", "DOT", &payee, "1.5", Some(&failed))).await;
    register(&app, dot("w-elsewhere", "DOT", &payee, "1.5", Some(&elsewhere))).await;
    register(&app, dot("w-short", "DOT", &payee, "1.5", Some(&short))).await;
    register(&app, dot("w-usdt", "USDT", &payee, "25.50", Some(&usdt))).await;
    register(&app, dot("w-other-asset", "USDT", &payee, "25.50", Some(&other_asset))).await;
    register(&app, dot("w-batch-dot", "DOT", &dot_address("second"), "2", Some(&batch))).await;
    register(&app, dot("w-batch-usdt", "USDT", &dot_address("third"), "7", Some(&batch))).await;
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-good").await["state"], "broadcast", "not in a block yet");

    let block = fake.produce(&[&good, &failed, &elsewhere, &short, &usdt, &other_asset, &batch]);
    tick(&app).await;
    let view = app.get_withdrawal("w-good").await;
    assert_eq!(states(&view), ["pending", "broadcast", "confirming", "completed"], "{view}");
    assert_eq!((view["block_height"].as_u64(), &view["payee_mismatch"]), (Some(block.number), &Value::Null));
    assert_eq!(app.get_withdrawal("w-failed").await["state"], "failed");
    let view = app.get_withdrawal("w-usdt").await;
    assert_eq!((view["state"].as_str(), &view["payee_mismatch"]), (Some("completed"), &Value::Null), "{view}");
    for (id, shows) in [("w-elsewhere", dot_address("someone-else")), ("w-short", "14999999999".to_owned())] {
        let view = app.get_withdrawal(id).await;
        let mismatch = view["payee_mismatch"].as_str().unwrap_or_else(|| panic!("{id} flagged: {view}"));
        assert!(mismatch.contains("15000000000") && mismatch.contains(&shows), "{mismatch}");
    }
    for id in ["w-batch-dot", "w-batch-usdt"] {
        let view = app.get_withdrawal(id).await;
        assert_eq!((view["state"].as_str(), &view["payee_mismatch"]), (Some("completed"), &Value::Null), "{view}");
    }
    let mismatch = app.get_withdrawal("w-other-asset").await["payee_mismatch"].as_str().unwrap().to_owned();
    assert!(mismatch.contains("(token 1337)"), "{mismatch}");

    assert_eq!(explorer_of(&app, "DOT").await, (Some("sidecar".to_owned()), Some(1)));
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let requests = metrics.lines().find(|l| {
        l.starts_with("withdrawal_tracker_explorer_requests_total{")
            && l.contains(r#"explorer="sidecar""#)
            && l.contains(r#"network="DOT""#)
            && l.contains(r#"outcome="ok""#)
    });
    assert!(requests.is_some_and(|l| !l.ends_with(" 0")), "counted per network and explorer: {metrics}");
    assert!(metrics.contains(&format!(r#"withdrawal_tracker_chain_tip_height{{network="DOT"}} {}"#, block.number)));
}

#[tokio::test]
async fn a_throttled_sidecar_stops_the_tick_with_its_retry_after_and_changes_nothing() {
    let fake = FakeSidecar::start(BASE_HEIGHT + 3).await;
    let app = app_following("DOT", dot_config(&fake)).await;
    tick(&app).await;
    let payee = dot_address("user");
    let xt = fake.transfer(&payee, 10_000_000_000);
    register(&app, dot("w-1", "DOT", &payee, "1", Some(&xt))).await;
    fake.produce(&[&xt]);
    fake.set_mode(Mode::RateLimited(7));
    let error = app.chain_trackers[0].tick().await.unwrap_err();
    assert!(
        matches!(error, TrackError::Chain(ChainError::RateLimited { retry_after: Some(wait) }) if wait == Duration::from_secs(7)),
        "{error:?}"
    );
    assert_eq!(app.get_withdrawal("w-1").await["state"], "broadcast");
    fake.set_mode(Mode::Normal);
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-1").await["state"], "completed");
}

#[tokio::test]
async fn a_dot_payment_registered_without_a_hash_is_discovered_in_its_block() {
    let fake = FakeSidecar::start(BASE_HEIGHT + 3).await;
    let mut config = dot_config(&fake);
    config.discover = true;
    let app = app_following("DOT", config).await;
    tick(&app).await;
    let payee = dot_address("user");
    register(&app, dot("w-1", "USDT", &payee, "100", None)).await;
    let wrong = fake.asset_transfer(USDT_ASSET, &payee, 99_000_000);
    let paid = fake.asset_transfer(USDT_ASSET, &payee, 100_000_000);
    fake.produce(&[&wrong, &paid]);
    tick(&app).await;
    let view = app.get_withdrawal("w-1").await;
    assert_eq!((view["tx_hash"].as_str(), view["state"].as_str()), (Some(paid.as_str()), Some("completed")), "{view}");
    assert!(view["history"][1]["reason"].as_str().unwrap().starts_with("discovered on chain"));
}

#[tokio::test]
async fn a_dot_transaction_past_its_mortal_era_is_dropped_as_expired_and_one_without_is_dropped_unseen() {
    let fake = FakeSidecar::start(BASE_HEIGHT + 3).await;
    let mut config = dot_config(&fake);
    config.drop_after = HumanDuration(Duration::from_secs(60));
    let app = app_following("DOT", config).await;
    tick(&app).await;
    let payee = dot_address("user");
    let lost = fake.transfer(&payee, 10_000_000_000);
    let unknown = fake.transfer(&payee, 20_000_000_000);
    register(&app, dot("w-mortal", "DOT", &payee, "1", None)).await;
    register(&app, dot("w-unknown", "DOT", &payee, "2", Some(&unknown))).await;
    // Signed at the head with a 64-block era: valid up to 63 blocks on.
    let last_valid = fake.head().number + 63;
    let patched = app.patch("w-mortal", &json!({"tx_hash": lost, "last_valid_height": last_valid})).await;
    assert_eq!(patched.status(), reqwest::StatusCode::OK);
    tick(&app).await;

    fake.advance(60);
    app.clock.set(app.clock_now() + chrono::Duration::minutes(2));
    tick(&app).await;
    let view = app.get_withdrawal("w-mortal").await;
    assert_eq!(view["state"], "broadcast", "its era has not ended: it may still be included");
    let view = app.get_withdrawal("w-unknown").await;
    assert_eq!((view["state"].as_str(), last_reason(&view)), (Some("dropped"), "not seen by the explorer for 1m"));

    fake.advance(4);
    assert!(fake.head().number > last_valid);
    app.clock.set(app.clock_now() + chrono::Duration::minutes(2));
    tick(&app).await;
    let view = app.get_withdrawal("w-mortal").await;
    assert_eq!(view["state"], "dropped", "{view}");
    assert_eq!(last_reason(&view), "expired before inclusion");
}

fn sui_config(fake: &FakeSui) -> NetworkChainConfig {
    let mut config = chain_config(ExplorerKind::SuiGraphql, &fake.base_url, 1);
    config.tokens.insert("USDC".into(), TokenConfig { contract: USDC.into(), decimals: 6 });
    config
}

fn sui(id: &str, coin: &str, address: &str, amount: &str, tx: Option<&str>) -> Value {
    withdrawal(
        id,
        json!({"coin": coin, "network": "SUI", "address": address, "amount": amount, "tx_hash": tx.map(str::to_owned)}),
    )
}

#[tokio::test]
async fn a_sui_withdrawal_completes_once_checkpointed_and_wrong_payments_are_flagged() {
    let fake = FakeSui::start(BASE_CHECKPOINT).await;
    let app = app_following("SUI", sui_config(&fake)).await;
    app.wait_for_first_poll("SUI").await;
    let payee = sui_address("user");
    register(&app, sui("w-good", "SUI", &payee, "1.5", Some(&digest(1)))).await;
    register(&app, sui("w-failed", "SUI", &payee, "1.5", Some(&digest(2)))).await;
    register(&app, sui("w-usdc", "USDC", &payee, "25.5", Some(&digest(3)))).await;
    register(&app, sui("w-wrong-coin", "USDC", &payee, "25.5", Some(&digest(4)))).await;
    register(&app, sui("w-elsewhere", "SUI", &payee, "1.5", Some(&digest(5)))).await;
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-good").await["state"], "broadcast", "not executed yet");

    fake.execute(fake_sui::transfer(1, &payee, 1_500_000_000, SUI));
    fake.execute(fake_sui::failed(2));
    fake.execute(fake_sui::transfer(3, &payee, 25_500_000, USDC));
    fake.execute(fake_sui::transfer(4, &payee, 25_500_000, SUI));
    fake.execute(fake_sui::transfer(5, &sui_address("someone-else"), 1_500_000_000, SUI));
    let before = fake.requests();
    tick(&app).await;
    // The tip, then one query for all five with their details (not one more
    // per final transaction).
    assert_eq!(fake.requests() - before, 2);
    let view = app.get_withdrawal("w-good").await;
    assert_eq!((view["state"].as_str(), &view["payee_mismatch"]), (Some("completed"), &Value::Null), "{view}");
    assert_eq!(app.get_withdrawal("w-failed").await["state"], "failed");
    assert_eq!(app.get_withdrawal("w-usdc").await["payee_mismatch"], Value::Null);
    let wrong_coin = app.get_withdrawal("w-wrong-coin").await;
    assert!(wrong_coin["payee_mismatch"].as_str().unwrap().contains("25500000 to"), "{wrong_coin}");
    let elsewhere = app.get_withdrawal("w-elsewhere").await;
    assert!(elsewhere["payee_mismatch"].as_str().unwrap().contains(&sui_address("someone-else")), "{elsewhere}");

    assert_eq!(explorer_of(&app, "SUI").await, (Some("sui_graphql".to_owned()), Some(1)));
}

#[tokio::test]
async fn a_sui_transaction_past_its_last_valid_epoch_is_dropped() {
    let fake = FakeSui::start(BASE_CHECKPOINT).await;
    let app = app_following("SUI", sui_config(&fake)).await;
    register(&app, sui("w-1", "SUI", &sui_address("user"), "2", None)).await;
    let patched = app.patch("w-1", &json!({"tx_hash": digest(7), "last_valid_height": BASE_EPOCH})).await;
    assert_eq!(patched.status(), reqwest::StatusCode::OK);
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-1").await["state"], "broadcast", "its epoch is still the current one");
    fake.next_epoch();
    tick(&app).await;
    let view = app.get_withdrawal("w-1").await;
    assert_eq!(view["state"], "dropped", "{view}");
    assert_eq!(last_reason(&view), "expired before inclusion");
}

#[tokio::test]
async fn a_sui_payment_registered_without_a_hash_is_discovered_but_an_older_one_is_not() {
    let fake = FakeSui::start(BASE_CHECKPOINT).await;
    let mut config = sui_config(&fake);
    config.discover = true;
    config.discover_interval = HumanDuration(Duration::from_secs(60));
    let app = app_following("SUI", config).await;
    let payee = sui_address("user");
    fake.execute(fake_sui::transfer(1, &payee, 3_000_000, USDC));
    register(&app, sui("w-1", "USDC", &payee, "3", None)).await;
    tick(&app).await;
    app.clock.set(app.clock_now() + chrono::Duration::minutes(2));
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-1").await["state"], "pending", "the older payment is not claimed");

    fake.execute(fake_sui::transfer(2, &payee, 3_000_000, USDC));
    app.clock.set(app.clock_now() + chrono::Duration::minutes(2));
    tick(&app).await;
    let view = app.get_withdrawal("w-1").await;
    assert_eq!(
        (view["tx_hash"].as_str(), view["state"].as_str()),
        (Some(digest(2).as_str()), Some("completed")),
        "{view}"
    );
    assert!(view["history"][1]["reason"].as_str().unwrap().starts_with("discovered on chain"));
}
