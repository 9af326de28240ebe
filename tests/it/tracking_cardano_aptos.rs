//! The chain tracker end to end on Cardano (a fake Blockfrost: blocks,
//! confirmations, reorgs, expiry by slot, discovery by address) and Aptos
//! (a fake fullnode: committed is final, expiry by ledger time):
//! broadcast → confirming → completed, failed, dropped, payee_mismatch.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use withdrawal_tracker::config::{ExplorerKind, HumanDuration, NetworkChainConfig, TokenConfig};

use crate::chain_aptos::USDT_METADATA;
use crate::chain_blockfrost::ADA_PAYEE;
use crate::support::app::{withdrawal, TestApp, SUPPORT_TOKEN};
use crate::support::chains::{app_following, chain_config, tick};
use crate::support::fake_aptos::{account, tx_hash, AptTx, FakeAptos, BASE_TIME_SECS};
use crate::support::fake_blockfrost::{fake_hash, slot_of, AdaOutput, FakeBlockfrost};
use crate::support::fake_utxo_chain::UtxoFake;

/// USDM on Cardano: policy id + hex asset name.
const USDM: &str = "c48cbb3d5e57ed56e276bc45f99ab39abe94e6cd7ac39fb402da47ad0014df105553444d";
const ELSEWHERE: &str =
    "addr1q9ld26v2lv8wvrxxmvg90pn8n8n5k6tdst06q2s856rwmvnueldzuuqmnsye359fqrk8hwvenjnqultn7djtrlft7jnq7dy7wv";

async fn view(app: &TestApp, id: &str) -> Value {
    app.get_withdrawal(id).await
}

fn last_reason(view: &Value) -> String {
    view["history"].as_array().unwrap().last().unwrap()["reason"].as_str().unwrap_or_default().to_owned()
}

fn ada(id: &str, coin: &str, amount: &str, tx: Option<&str>) -> Value {
    let mut body = json!({"coin": coin, "network": "ADA", "address": ADA_PAYEE, "amount": amount});
    if let Some(tx) = tx {
        body["tx_hash"] = json!(tx);
    }
    withdrawal(id, body)
}

fn ada_config(fake: &FakeBlockfrost, required: Option<u64>) -> NetworkChainConfig {
    let mut config = chain_config(ExplorerKind::Blockfrost, &fake.base_url, 1);
    config.required_confirmations = required;
    config.tokens = BTreeMap::from([("USDM".to_owned(), TokenConfig { contract: USDM.into(), decimals: 6 })]);
    config
}

fn input(n: u64) -> String {
    fake_hash("ada-e2e-input", n)
}

#[tokio::test]
async fn a_cardano_withdrawal_goes_broadcast_confirming_completed_and_a_failed_one_fails() {
    let fake = FakeBlockfrost::start(3).await;
    let app = app_following("ADA", ada_config(&fake, Some(3))).await;
    tick(&app).await;
    let good = fake.submit(&[(input(1).as_str(), 0)], &[AdaOutput::ada(ADA_PAYEE, 1_500_000)], None);
    let usdm = fake.submit(
        &[(input(2).as_str(), 0)],
        &[AdaOutput::ada(ADA_PAYEE, 1_200_000).with_asset(USDM, 25_500_000)],
        None,
    );
    let bad = fake.submit_failing(&[(input(3).as_str(), 0)], &[AdaOutput::ada(ADA_PAYEE, 2_000_000)]);
    app.register(&ada("w-ada", "ADA", "1.5", Some(&good))).await;
    app.register(&ada("w-usdm", "USDM", "25.5", Some(&usdm))).await;
    app.register(&ada("w-bad", "ADA", "2", Some(&bad))).await;
    tick(&app).await;
    assert_eq!(view(&app, "w-ada").await["state"], "broadcast", "not in a block yet");

    let block = fake.mine(&[&good, &usdm, &bad]);
    tick(&app).await;
    let w = view(&app, "w-ada").await;
    assert_eq!((w["state"].as_str(), w["block_height"].as_u64()), (Some("confirming"), Some(block.height)));
    assert_eq!((w["confirmations"].as_u64(), w["required_confirmations"].as_u64()), (Some(1), Some(3)));
    assert_eq!(view(&app, "w-bad").await["state"], "failed", "valid_contract false");

    fake.mine(&[]);
    fake.mine(&[]);
    tick(&app).await;
    for id in ["w-ada", "w-usdm"] {
        let w = view(&app, id).await;
        assert_eq!((w["state"].as_str(), &w["payee_mismatch"]), (Some("completed"), &Value::Null), "{w}");
        let states: Vec<&str> = w["history"].as_array().unwrap().iter().map(|h| h["state"].as_str().unwrap()).collect();
        assert_eq!(states, ["pending", "broadcast", "confirming", "completed"]);
    }
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.lines().any(|l| l.starts_with("withdrawal_tracker_explorer_requests_total")
            && l.contains("network=\"ADA\"")
            && l.contains("explorer=\"blockfrost\"")
            && l.contains("outcome=\"not_found\"")),
        "the lookups before inclusion are counted as not_found"
    );
    assert!(metrics.contains(&format!("withdrawal_tracker_chain_tip_height{{network=\"ADA\"}} {}", block.height + 2)));
}

#[tokio::test]
async fn cardano_defaults_to_fifteen_confirmations_and_shows_its_explorer() {
    let fake = FakeBlockfrost::start(3).await;
    let app = app_following("ADA", ada_config(&fake, None)).await;
    let networks: Value = app.get_as("/v1/networks", SUPPORT_TOKEN).await.json().await.unwrap();
    let ada = networks["networks"].as_array().unwrap().iter().find(|n| n["code"] == "ADA").unwrap().clone();
    assert_eq!((ada["explorer"].as_str(), ada["required_confirmations"].as_u64()), (Some("blockfrost"), Some(15)));
}

#[tokio::test]
async fn a_cardano_payment_to_the_wrong_address_amount_or_asset_is_flagged() {
    let fake = FakeBlockfrost::start(3).await;
    let app = app_following("ADA", ada_config(&fake, Some(1))).await;
    tick(&app).await;
    let cases = [
        ("w-address", "ADA", "1.5", AdaOutput::ada(ELSEWHERE, 1_500_000)),
        ("w-amount", "ADA", "1.5", AdaOutput::ada(ADA_PAYEE, 1_499_999)),
        ("w-asset", "USDM", "1.5", AdaOutput::ada(ADA_PAYEE, 1_500_000)),
        (
            "w-other-asset",
            "USDM",
            "1.5",
            AdaOutput::ada(ADA_PAYEE, 1_000_000).with_asset(&format!("{}00", "ab".repeat(28)), 1_500_000),
        ),
    ];
    let mut txids = Vec::new();
    for (n, (id, coin, amount, output)) in cases.iter().enumerate() {
        let txid = fake.submit(&[(input(10 + n as u64).as_str(), 0)], std::slice::from_ref(output), None);
        app.register(&ada(id, coin, amount, Some(&txid))).await;
        txids.push(txid);
    }
    let refs: Vec<&str> = txids.iter().map(String::as_str).collect();
    fake.mine(&refs);
    tick(&app).await;
    for (id, ..) in cases {
        let w = view(&app, id).await;
        assert!(w["payee_mismatch"].as_str().is_some(), "{id}: {w}");
    }
    app.sweeper.sweep_once().await.unwrap();
    assert_eq!(view(&app, "w-amount").await["escalation"]["reason"], "payee_mismatch");
}

#[tokio::test]
async fn a_cardano_transaction_is_dropped_as_expired_once_the_chain_passes_its_last_valid_slot() {
    let fake = FakeBlockfrost::start(3).await;
    let mut config = ada_config(&fake, Some(2));
    config.drop_after = HumanDuration(Duration::from_secs(60));
    let app = app_following("ADA", config).await;
    tick(&app).await;
    app.register(&ada("w-1", "ADA", "3", None)).await;
    let tip = fake.with_chain(|c| c.tip().height);
    // invalid_hereafter is two blocks ahead: its last valid slot is the one before.
    let last_valid = slot_of(tip + 2) - 1;
    let patched = app.patch("w-1", &json!({"tx_hash": "ab".repeat(32), "last_valid_height": last_valid})).await;
    assert_eq!(patched.status(), reqwest::StatusCode::OK);
    tick(&app).await;
    app.clock.set(app.clock_now() + chrono::Duration::minutes(5));
    fake.mine(&[]);
    tick(&app).await;
    assert_eq!(view(&app, "w-1").await["state"], "broadcast", "unseen past drop_after, but still valid");

    // The next look, another drop_after later, finds the chain past it.
    fake.mine(&[]);
    app.clock.set(app.clock_now() + chrono::Duration::minutes(5));
    tick(&app).await;
    let w = view(&app, "w-1").await;
    assert_eq!(w["state"], "dropped", "{w}");
    assert_eq!(last_reason(&w), "expired before inclusion");
}

#[tokio::test]
async fn a_cardano_reorg_sends_a_withdrawal_back_and_its_new_block_completes_it() {
    let fake = FakeBlockfrost::start(3).await;
    let app = app_following("ADA", ada_config(&fake, Some(2))).await;
    tick(&app).await;
    let txid = fake.submit(&[(input(20).as_str(), 0)], &[AdaOutput::ada(ADA_PAYEE, 4_000_000)], None);
    app.register(&ada("w-1", "ADA", "4", Some(&txid))).await;
    fake.mine(&[&txid]);
    tick(&app).await;
    assert_eq!(view(&app, "w-1").await["state"], "confirming");

    // A longer branch without it (its transaction back in the mempool).
    fake.with_chain(|c| c.reorg_with(1, &[&[], &[]]));
    tick(&app).await;
    let w = view(&app, "w-1").await;
    assert_eq!(w["state"], "broadcast", "{w}");
    assert!(last_reason(&w).contains("left the best chain"), "{w}");

    fake.mine(&[&txid]);
    fake.mine(&[]);
    tick(&app).await;
    let w = view(&app, "w-1").await;
    assert_eq!(w["state"], "completed", "{w}");
}

#[tokio::test]
async fn a_cardano_payment_registered_without_a_hash_is_discovered_from_the_address_history() {
    let fake = FakeBlockfrost::start(3).await;
    let mut config = ada_config(&fake, Some(1));
    config.discover = true;
    config.discover_interval = HumanDuration(Duration::from_secs(60));
    let app = app_following("ADA", config).await;
    let old = fake.submit(&[(input(30).as_str(), 0)], &[AdaOutput::ada(ADA_PAYEE, 7_000_000)], None);
    fake.mine(&[&old]);
    tick(&app).await;
    app.register(&ada("w-1", "ADA", "7", None)).await;
    tick(&app).await;
    app.clock.set(app.clock_now() + chrono::Duration::minutes(2));
    tick(&app).await;
    assert_eq!(view(&app, "w-1").await["state"], "pending", "an older payment is not this one");

    let paid = fake.submit(&[(input(31).as_str(), 0)], &[AdaOutput::ada(ADA_PAYEE, 7_000_000)], None);
    fake.mine(&[&paid]);
    app.clock.set(app.clock_now() + chrono::Duration::minutes(2));
    tick(&app).await;
    let w = view(&app, "w-1").await;
    assert_eq!(w["tx_hash"], paid);
    assert!(matches!(w["state"].as_str(), Some("confirming" | "completed")), "{w}");
}

fn apt_config(node: &FakeAptos) -> NetworkChainConfig {
    let mut config = chain_config(ExplorerKind::Aptos, &node.base_url, 1);
    config.required_confirmations = None;
    config.tokens = BTreeMap::from([("USDT".to_owned(), TokenConfig { contract: USDT_METADATA.into(), decimals: 6 })]);
    config
}

fn apt(id: &str, coin: &str, to: &str, amount: &str, tx: &str) -> Value {
    withdrawal(id, json!({"coin": coin, "network": "APT", "address": to, "amount": amount, "tx_hash": tx}))
}

#[tokio::test]
async fn an_aptos_withdrawal_completes_once_committed_a_failed_one_fails_and_a_wrong_one_is_flagged() {
    let node = FakeAptos::start(0).await;
    let app = app_following("APT", apt_config(&node)).await;
    let (hot, user, stranger) = (account("exchange"), account("user"), account("stranger"));
    let cases = [
        ("w-apt", "APT", "1.5", AptTx::apt_transfer(&hot, &user, 150_000_000), true),
        ("w-usdt", "USDT", "25.5", AptTx::fa_transfer(&hot, USDT_METADATA, &user, 25_500_000), true),
        ("w-failed", "APT", "1", AptTx::apt_transfer(&hot, &user, 100_000_000), false),
        ("w-address", "APT", "1", AptTx::apt_transfer(&hot, &stranger, 100_000_000), true),
        ("w-amount", "USDT", "25.5", AptTx::fa_transfer(&hot, USDT_METADATA, &user, 25_499_999), true),
        ("w-asset", "USDT", "1.5", AptTx::apt_transfer(&hot, &user, 1_500_000), true),
    ];
    for (n, (id, coin, amount, tx, _)) in cases.iter().enumerate() {
        let hash = tx_hash(100 + n as u64);
        node.submit(&hash, tx.clone());
        app.register(&apt(id, coin, &user, amount, &hash)).await;
    }
    tick(&app).await;
    assert_eq!(view(&app, "w-apt").await["state"], "broadcast", "pending in the mempool");

    for (n, (.., success)) in cases.iter().enumerate() {
        node.commit(&tx_hash(100 + n as u64), *success);
    }
    tick(&app).await;
    for id in ["w-apt", "w-usdt"] {
        let w = view(&app, id).await;
        assert_eq!((w["state"].as_str(), &w["payee_mismatch"]), (Some("completed"), &Value::Null), "{id}: {w}");
    }
    assert_eq!(view(&app, "w-failed").await["state"], "failed");
    for id in ["w-address", "w-amount", "w-asset"] {
        let w = view(&app, id).await;
        assert!(w["payee_mismatch"].as_str().is_some(), "{id}: {w}");
    }
    let networks: Value = app.get_as("/v1/networks", SUPPORT_TOKEN).await.json().await.unwrap();
    let apt = networks["networks"].as_array().unwrap().iter().find(|n| n["code"] == "APT").unwrap().clone();
    assert_eq!(apt["explorer"], "aptos");
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.lines().any(|l| l.starts_with("withdrawal_tracker_explorer_requests_total")
        && l.contains("explorer=\"aptos\"")
        && l.contains("outcome=\"ok\"")));
}

#[tokio::test]
async fn an_aptos_transaction_past_its_expiration_is_dropped_as_expired() {
    let node = FakeAptos::start(0).await;
    let app = app_following("APT", apt_config(&node)).await;
    let (hot, user) = (account("exchange"), account("user"));
    let (pending, unknown) = (tx_hash(200), tx_hash(201));
    node.submit(&pending, AptTx::apt_transfer(&hot, &user, 100_000_000).expiring_at(BASE_TIME_SECS + 30));
    app.register(&apt("w-pending", "APT", &user, "1", &pending)).await;
    app.register(&withdrawal("w-unknown", json!({"coin": "APT", "network": "APT", "address": user, "amount": "2"})))
        .await;
    let patched = app.patch("w-unknown", &json!({"tx_hash": unknown, "last_valid_height": BASE_TIME_SECS + 30})).await;
    assert_eq!(patched.status(), reqwest::StatusCode::OK);
    tick(&app).await;
    assert_eq!(view(&app, "w-pending").await["state"], "broadcast");
    assert_eq!(view(&app, "w-unknown").await["state"], "broadcast");

    node.advance(400, 31);
    tick(&app).await;
    for id in ["w-pending", "w-unknown"] {
        let w = view(&app, id).await;
        assert_eq!(w["state"], "dropped", "{id}: {w}");
        assert_eq!(last_reason(&w), "expired before inclusion");
    }
}
