//! The chain tracker end to end on Algorand (fake algod and indexer) and
//! Hedera (fake mirror node): broadcast -> completed (USDC too), a failure,
//! payee mismatches (address, amount, asset; Hedera's memo), expiry as
//! `dropped`, discovery of an Algorand payment registered without a hash,
//! and `/v1/networks`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use withdrawal_tracker::config::{ExplorerKind, HumanDuration, NetworkChainConfig, TokenConfig};

use crate::chain_algod::{OTHER as ALGO_OTHER, PAYEE as ALGO_PAYEE};
use crate::chain_hedera_mirror::{OTHER as HBAR_OTHER, PAYEE as HBAR_PAYEE};
use crate::support::app::{withdrawal, TestApp, SUPPORT_TOKEN};
use crate::support::chains::{app_following, chain_config, tick};
use crate::support::fake_algod::{payment, tx_id, FakeAlgod, USDC_ASA};
use crate::support::fake_hedera_mirror::{block_start, sdk_id, transfer, FakeMirror, USDC_TOKEN};

fn states(view: &Value) -> Vec<&str> {
    view["history"].as_array().unwrap().iter().map(|h| h["state"].as_str().unwrap()).collect()
}

async fn register(app: &TestApp, body: Value) {
    let response = app.register(&body).await;
    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
}

/// `/v1/networks` names the network's explorer with one confirmation, and
/// its requests are counted under that name.
async fn assert_explorer_shown(app: &TestApp, code: &str, explorer: &str) {
    let body: Value = app.get_as("/v1/networks", SUPPORT_TOKEN).await.json().await.unwrap();
    let network = body["networks"].as_array().unwrap().iter().find(|n| n["code"] == code).unwrap().clone();
    assert_eq!((network["explorer"].as_str(), network["required_confirmations"].as_u64()), (Some(explorer), Some(1)));
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let counted = metrics.lines().any(|line| {
        line.starts_with("withdrawal_tracker_explorer_requests_total{")
            && line.contains(&format!("explorer=\"{explorer}\""))
            && line.contains(&format!("network=\"{code}\""))
    });
    assert!(counted, "{metrics}");
}

const ALGO_LATEST: u64 = 46_000_000;

fn algo_config(fake: &FakeAlgod) -> NetworkChainConfig {
    let mut config = chain_config(ExplorerKind::Algod, &fake.base_url, 1);
    config.indexer_urls = vec![fake.indexer_url.clone()];
    config.required_confirmations = None;
    config.tokens = BTreeMap::from([("USDC".to_owned(), TokenConfig { contract: USDC_ASA.to_string(), decimals: 6 })]);
    config
}

fn algo(id: &str, coin: &str, to: &str, amount: &str, tx: Option<&str>) -> Value {
    let mut body = json!({"coin": coin, "network": "ALGO", "address": to, "amount": amount});
    if let Some(tx) = tx {
        body["tx_hash"] = json!(tx);
    }
    withdrawal(id, body)
}

#[tokio::test]
async fn an_algorand_withdrawal_completes_in_its_round_and_a_rejected_one_fails() {
    let fake = FakeAlgod::start(ALGO_LATEST).await;
    let app = app_following("ALGO", algo_config(&fake)).await;
    tick(&app).await;
    fake.submit(payment(1, ALGO_PAYEE, 25_500_000, None, Some("thanks")));
    fake.submit(payment(2, ALGO_PAYEE, 10_000_000, Some(USDC_ASA), None));
    fake.submit(payment(3, ALGO_PAYEE, 1_000_000, None, None));
    fake.reject(&tx_id(3), "TransactionPool.Remember: transaction: overspend");
    register(&app, algo("w-algo", "ALGO", ALGO_PAYEE, "25.5", Some(&tx_id(1).to_ascii_lowercase()))).await;
    register(&app, algo("w-usdc", "USDC", ALGO_PAYEE, "10", Some(&tx_id(2)))).await;
    register(&app, algo("w-failed", "ALGO", ALGO_PAYEE, "1", Some(&tx_id(3)))).await;
    tick(&app).await;
    let view = app.get_withdrawal("w-algo").await;
    assert_eq!((view["state"].as_str(), view["tx_hash"].as_str()), (Some("broadcast"), Some(tx_id(1).as_str())));
    let failed = app.get_withdrawal("w-failed").await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert_eq!(failed["history"].as_array().unwrap().last().unwrap()["reason"], "the node rejected the transaction");

    fake.next_round(vec![], &[tx_id(1), tx_id(2)]);
    let before = fake.requests();
    tick(&app).await;
    assert_eq!(fake.requests() - before, 4, "tip (status, health, hash), the round's block: no lookups");
    for id in ["w-algo", "w-usdc"] {
        let view = app.get_withdrawal(id).await;
        assert_eq!((view["state"].as_str(), &view["payee_mismatch"]), (Some("completed"), &Value::Null), "{view}");
        assert_eq!(states(&view), ["pending", "broadcast", "confirming", "completed"], "a certified round is final");
    }
    assert_explorer_shown(&app, "ALGO", "algod").await;
}

#[tokio::test]
async fn an_algorand_payment_to_the_wrong_payee_amount_or_asset_is_flagged() {
    let fake = FakeAlgod::start(ALGO_LATEST).await;
    let app = app_following("ALGO", algo_config(&fake)).await;
    tick(&app).await;
    let cases = [
        ("w-address", "ALGO", payment(1, ALGO_OTHER, 5_000_000, None, None)),
        ("w-amount", "ALGO", payment(2, ALGO_PAYEE, 5_000_001, None, None)),
        ("w-asset", "ALGO", payment(3, ALGO_PAYEE, 5_000_000, Some(USDC_ASA), None)),
        ("w-usdc-asset", "USDC", payment(4, ALGO_PAYEE, 5_000_000, Some(31_566_705), None)),
        ("w-right", "USDC", payment(5, ALGO_PAYEE, 5_000_000, Some(USDC_ASA), None)),
    ];
    for (n, (id, coin, _)) in cases.iter().enumerate() {
        register(&app, algo(id, coin, ALGO_PAYEE, "5", Some(&tx_id(n as u64 + 1)))).await;
    }
    fake.next_round(cases.iter().map(|(.., tx)| tx.clone()).collect(), &[]);
    tick(&app).await;
    for (id, ..) in &cases[..4] {
        let view = app.get_withdrawal(id).await;
        assert!(view["payee_mismatch"].as_str().is_some(), "{id}: {view}");
        assert_eq!(view["escalation"]["reason"], "payee_mismatch", "{id}");
    }
    let right = app.get_withdrawal("w-right").await;
    assert_eq!((right["state"].as_str(), &right["payee_mismatch"]), (Some("completed"), &Value::Null));
}

#[tokio::test]
async fn an_algorand_transaction_past_its_last_valid_round_is_dropped_as_expired() {
    let fake = FakeAlgod::start(ALGO_LATEST).await;
    let mut config = algo_config(&fake);
    config.drop_after = HumanDuration(Duration::from_secs(600));
    let app = app_following("ALGO", config).await;
    tick(&app).await;
    let mut doomed = payment(1, ALGO_PAYEE, 1_000_000, None, None);
    doomed.last_valid = ALGO_LATEST + 2;
    fake.submit(doomed);
    register(&app, algo("w-1", "ALGO", ALGO_PAYEE, "1", Some(&tx_id(1)))).await;
    tick(&app).await;
    app.clock.set(app.clock_now() + chrono::Duration::minutes(11));
    fake.next_round(vec![], &[]);
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-1").await["state"], "broadcast", "round 2 of its window: still valid");
    fake.next_round(vec![], &[]);
    fake.next_round(vec![], &[]);
    fake.reject(&tx_id(1), "TransactionPool.Remember: txn dead: round 46000003 outside of 45999002--46000002");
    // Still pending reset the drop clock: the next check is `drop_after` later.
    app.clock.set(app.clock_now() + chrono::Duration::minutes(11));
    tick(&app).await;
    let view = app.get_withdrawal("w-1").await;
    assert_eq!(view["state"], "dropped", "{view}");
    let reason = view["history"].as_array().unwrap().last().unwrap()["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("expired"), "{reason}");
}

#[tokio::test]
async fn an_algorand_payment_registered_without_a_hash_is_discovered_in_its_round() {
    let fake = FakeAlgod::start(ALGO_LATEST).await;
    let mut config = algo_config(&fake);
    config.discover = true;
    let app = app_following("ALGO", config).await;
    tick(&app).await;
    register(&app, algo("w-1", "USDC", ALGO_PAYEE, "100", None)).await;
    let wrong = payment(1, ALGO_PAYEE, 99_000_000, Some(USDC_ASA), None);
    let paid = payment(2, ALGO_PAYEE, 100_000_000, Some(USDC_ASA), None);
    fake.next_round(vec![wrong, paid], &[]);
    tick(&app).await;
    let view = app.get_withdrawal("w-1").await;
    assert_eq!(
        (view["tx_hash"].as_str(), view["state"].as_str()),
        (Some(tx_id(2).as_str()), Some("completed")),
        "{view}"
    );
    assert!(view["history"][1]["reason"].as_str().unwrap().starts_with("discovered on chain"));
}

const HBAR_LATEST: u64 = 70_000_000;

fn hbar_config(fake: &FakeMirror) -> NetworkChainConfig {
    let mut config = chain_config(ExplorerKind::HederaMirror, &fake.base_url, 1);
    config.required_confirmations = None;
    config.tokens = BTreeMap::from([("USDC".to_owned(), TokenConfig { contract: USDC_TOKEN.to_owned(), decimals: 6 })]);
    config
}

fn hbar(id: &str, coin: &str, memo: &str, amount: &str, tx: &str) -> Value {
    withdrawal(
        id,
        json!({"coin": coin, "network": "HBAR", "address": HBAR_PAYEE, "memo": memo, "amount": amount, "tx_hash": tx}),
    )
}

#[tokio::test]
async fn a_hedera_withdrawal_completes_at_consensus_and_a_failed_one_fails() {
    let fake = FakeMirror::start(HBAR_LATEST).await;
    let app = app_following("HBAR", hbar_config(&fake)).await;
    let start = block_start(HBAR_LATEST);
    register(&app, hbar("w-hbar", "HBAR", "order 7", "25.5", &sdk_id(1, start))).await;
    register(&app, hbar("w-usdc", "USDC", "order 8", "10", &sdk_id(2, start))).await;
    register(&app, hbar("w-failed", "HBAR", "order 9", "1", &sdk_id(3, start))).await;
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-hbar").await["state"], "broadcast", "not at consensus yet");

    let mut failed = transfer(3, start, HBAR_PAYEE, 100_000_000, None, "order 9");
    failed.result = "INSUFFICIENT_PAYER_BALANCE".to_owned();
    let mut usdc = transfer(2, start, HBAR_PAYEE, 10_000_000, Some(USDC_TOKEN), "order 8");
    usdc.duplicated = true;
    fake.next_block(vec![transfer(1, start, HBAR_PAYEE, 2_550_000_000, None, "order 7"), usdc, failed]);
    let before = fake.requests();
    tick(&app).await;
    assert_eq!(fake.requests() - before, 7, "the tip, then each transaction and its block");
    for id in ["w-hbar", "w-usdc"] {
        let view = app.get_withdrawal(id).await;
        assert_eq!((view["state"].as_str(), &view["payee_mismatch"]), (Some("completed"), &Value::Null), "{view}");
    }
    assert_eq!(app.get_withdrawal("w-failed").await["state"], "failed");
    assert_explorer_shown(&app, "HBAR", "hedera_mirror").await;
}

#[tokio::test]
async fn a_hedera_payment_to_the_wrong_payee_amount_asset_or_memo_is_flagged() {
    let fake = FakeMirror::start(HBAR_LATEST).await;
    let app = app_following("HBAR", hbar_config(&fake)).await;
    let start = block_start(HBAR_LATEST);
    let cases = [
        ("w-address", transfer(1, start, HBAR_OTHER, 500_000_000, None, "9")),
        ("w-amount", transfer(2, start, HBAR_PAYEE, 500_000_001, None, "9")),
        ("w-asset", transfer(3, start, HBAR_PAYEE, 500_000_000, Some(USDC_TOKEN), "9")),
        ("w-memo", transfer(4, start, HBAR_PAYEE, 500_000_000, None, "8")),
        ("w-right", transfer(5, start, HBAR_PAYEE, 500_000_000, None, "9")),
    ];
    for (n, (id, _)) in cases.iter().enumerate() {
        register(&app, hbar(id, "HBAR", "9", "5", &sdk_id(n as u64 + 1, start))).await;
    }
    fake.next_block(cases.iter().map(|(_, tx)| tx.clone()).collect());
    tick(&app).await;
    for (id, _) in &cases[..4] {
        let view = app.get_withdrawal(id).await;
        assert!(view["payee_mismatch"].as_str().is_some(), "{id}: {view}");
        assert_eq!(view["escalation"]["reason"], "payee_mismatch", "{id}");
    }
    assert_eq!(app.get_withdrawal("w-right").await["payee_mismatch"], Value::Null);
}

#[tokio::test]
async fn a_hedera_transaction_is_dropped_as_expired_once_the_mirror_passed_its_valid_window() {
    let fake = FakeMirror::start(HBAR_LATEST).await;
    let app = app_following("HBAR", hbar_config(&fake)).await;
    let start = block_start(HBAR_LATEST) + 4;
    register(&app, hbar("w-1", "HBAR", "m", "1", &sdk_id(1, start))).await;
    tick(&app).await;
    fake.advance_to(start + 120);
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-1").await["state"], "broadcast", "within the longest valid duration");
    fake.advance_to(start + 182);
    tick(&app).await;
    let view = app.get_withdrawal("w-1").await;
    assert_eq!(view["state"], "dropped", "{view}");
    let reason = view["history"].as_array().unwrap().last().unwrap()["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("expired"), "{reason}");
}

#[tokio::test]
async fn a_hedera_payment_registered_without_a_hash_is_discovered_but_an_older_one_is_not() {
    let fake = FakeMirror::start(HBAR_LATEST).await;
    let mut config = hbar_config(&fake);
    config.discover = true;
    config.discover_interval = HumanDuration(Duration::from_secs(60));
    let app = app_following("HBAR", config).await;
    let start = block_start(HBAR_LATEST);
    fake.next_block(vec![transfer(1, start, HBAR_PAYEE, 300_000_000, None, "m")]);
    let body = json!({"coin": "HBAR", "network": "HBAR", "address": HBAR_PAYEE, "memo": "m", "amount": "3"});
    register(&app, withdrawal("w-1", body)).await;
    tick(&app).await;
    app.clock.set(app.clock_now() + chrono::Duration::minutes(2));
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-1").await["state"], "pending", "the older payment is not claimed");

    let other_memo = transfer(2, start + 2, HBAR_PAYEE, 300_000_000, None, "n");
    fake.next_block(vec![other_memo, transfer(3, start + 2, HBAR_PAYEE, 300_000_000, None, "m")]);
    app.clock.set(app.clock_now() + chrono::Duration::minutes(2));
    tick(&app).await;
    let view = app.get_withdrawal("w-1").await;
    let id = format!("0.0.1001-{}-000000003", start + 2);
    assert_eq!((view["tx_hash"].as_str(), view["state"].as_str()), (Some(id.as_str()), Some("completed")), "{view}");
    assert!(view["history"][1]["reason"].as_str().unwrap().starts_with("discovered on chain"));
}

#[tokio::test]
async fn an_algorand_transaction_the_pool_throws_out_later_fails_at_the_drop_check() {
    let fake = FakeAlgod::start(ALGO_LATEST).await;
    let mut config = algo_config(&fake);
    config.drop_after = HumanDuration(Duration::from_secs(600));
    let app = app_following("ALGO", config).await;
    tick(&app).await;
    fake.submit(payment(1, ALGO_PAYEE, 1_000_000, None, None));
    register(&app, algo("w-1", "ALGO", ALGO_PAYEE, "1", Some(&tx_id(1)))).await;
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-1").await["state"], "broadcast", "waiting in the pool");
    fake.reject(&tx_id(1), "TransactionPool.Remember: transaction: fee 1000 below threshold");
    app.clock.set(app.clock_now() + chrono::Duration::minutes(11));
    fake.next_round(vec![], &[]);
    tick(&app).await;
    let view = app.get_withdrawal("w-1").await;
    assert_eq!(view["state"], "failed", "{view}");
    assert_eq!(view["history"].as_array().unwrap().last().unwrap()["reason"], "the node rejected the transaction");
}
