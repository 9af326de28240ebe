//! The chain tracker end to end on Tezos (fake Octez node) and Filecoin
//! (fake Lotus node): broadcast -> confirming -> completed, failed, payee
//! mismatches (address, amount), dropped (Tezos: past the operation's TTL;
//! Filecoin: replaced), discovery of a Tezos payment registered without a
//! hash, and `/v1/networks` naming each explorer.

use std::time::Duration;

use serde_json::{json, Value};
use std::collections::BTreeMap;

use withdrawal_tracker::config::{ExplorerKind, HumanDuration, NetworkChainConfig, TokenConfig};

use crate::chain_lotus::{FIL_OTHER, FIL_PAYEE};
use crate::chain_octez::{XTZ_OTHER, XTZ_PAYEE};
use crate::support::app::{withdrawal, TestApp, SUPPORT_TOKEN};
use crate::support::chains::{app_following, chain_config, tick};
use crate::support::fake_lotus::{message_cid, send, FakeLotus, FilMessage};
use crate::support::fake_octez::{op_hash, transfer, usdt_transfer, FakeOctez, Transfer, USDT_CONTRACT};

const XTZ_HEAD: u64 = 8_000_000;

fn states(view: &Value) -> Vec<&str> {
    view["history"].as_array().unwrap().iter().map(|h| h["state"].as_str().unwrap()).collect()
}

fn last_reason(view: &Value) -> String {
    view["history"].as_array().unwrap().last().unwrap()["reason"].as_str().unwrap_or_default().to_owned()
}

/// The network's defaults: confirmations from the network, not the test.
fn config(explorer: ExplorerKind, url: &str) -> NetworkChainConfig {
    let mut config = chain_config(explorer, url, 1);
    config.required_confirmations = None;
    config
}

async fn register(app: &TestApp, network: &str, id: &str, address: &str, amount: &str, tx: Option<&str>) {
    let mut body = json!({"coin": network, "network": network, "address": address, "amount": amount});
    if let Some(tx) = tx {
        body["tx_hash"] = json!(tx);
    }
    let response = app.register(&withdrawal(id, body)).await;
    assert!(response.status().is_success(), "{id}: {}", response.text().await.unwrap());
}

/// `/v1/networks` names the network's explorer and its confirmations, and
/// the explorer's requests are counted under its name.
async fn assert_explorer_shown(app: &TestApp, code: &str, explorer: &str, confirmations: u64) {
    let body: Value = app.get_as("/v1/networks", SUPPORT_TOKEN).await.json().await.unwrap();
    let network = body["networks"].as_array().unwrap().iter().find(|n| n["code"] == code).unwrap().clone();
    assert_eq!(
        (network["explorer"].as_str(), network["required_confirmations"].as_u64()),
        (Some(explorer), Some(confirmations))
    );
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let counted = metrics.lines().any(|line| {
        line.starts_with("withdrawal_tracker_explorer_requests_total{")
            && line.contains(&format!("explorer=\"{explorer}\""))
            && line.contains(&format!("network=\"{code}\""))
            && line.contains("outcome=\"ok\"")
    });
    assert!(counted, "{metrics}");
}

#[tokio::test]
async fn a_tezos_withdrawal_is_completed_with_two_blocks_on_top_and_a_failed_one_fails() {
    let node = FakeOctez::start(XTZ_HEAD).await;
    let app = app_following("XTZ", config(ExplorerKind::Octez, &node.base_url)).await;
    tick(&app).await;
    register(&app, "XTZ", "w-xtz", XTZ_PAYEE, "1.5", Some(&op_hash(1))).await;
    register(&app, "XTZ", "w-failed", XTZ_PAYEE, "2", Some(&op_hash(2))).await;
    let mut failed = transfer(2, XTZ_PAYEE, 2_000_000, XTZ_HEAD);
    failed.transfers[0].status = "failed".into();
    node.inject(vec![transfer(1, XTZ_PAYEE, 1_500_000, XTZ_HEAD), failed]);
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-xtz").await["state"], "broadcast", "in the mempool");

    node.bake(&[op_hash(1).as_str(), op_hash(2).as_str()], vec![]);
    tick(&app).await;
    let view = app.get_withdrawal("w-xtz").await;
    assert_eq!((view["state"].as_str(), view["confirmations"].as_u64()), (Some("confirming"), Some(1)), "{view}");
    assert_eq!(app.get_withdrawal("w-failed").await["state"], "failed");

    node.bake(&[], vec![]);
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-xtz").await["state"], "confirming", "one block on top is not final");
    node.bake(&[], vec![]);
    tick(&app).await;
    let view = app.get_withdrawal("w-xtz").await;
    assert_eq!((view["state"].as_str(), &view["payee_mismatch"]), (Some("completed"), &Value::Null), "{view}");
    assert_eq!(states(&view), ["pending", "broadcast", "confirming", "completed"]);
    assert_explorer_shown(&app, "XTZ", "octez", 3).await;
}

#[tokio::test]
async fn a_tezos_block_that_leaves_the_best_chain_sends_its_withdrawal_back_until_the_new_branch_holds_it() {
    let node = FakeOctez::start(XTZ_HEAD).await;
    let app = app_following("XTZ", config(ExplorerKind::Octez, &node.base_url)).await;
    tick(&app).await;
    register(&app, "XTZ", "w-1", XTZ_PAYEE, "1", Some(&op_hash(1))).await;
    let level = node.bake(&[], vec![transfer(1, XTZ_PAYEE, 1_000_000, XTZ_HEAD)]);
    tick(&app).await;
    let view = app.get_withdrawal("w-1").await;
    assert_eq!((view["state"].as_str(), view["block_height"].as_u64()), (Some("confirming"), Some(level)));

    // Another block at that level, without it; the next block of that branch holds it.
    node.reorg_from(level);
    node.bake(&[], vec![]);
    let moved = node.bake(&[op_hash(1).as_str()], vec![]);
    tick(&app).await;
    let view = app.get_withdrawal("w-1").await;
    assert_eq!((view["state"].as_str(), view["block_height"].as_u64()), (Some("confirming"), Some(moved)), "{view}");
    assert!(states(&view).contains(&"broadcast") && states(&view).len() > 4, "back, then on again: {view}");
    node.bake(&[], vec![]);
    node.bake(&[], vec![]);
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-1").await["state"], "completed");
    assert_ne!(node.hash_at(level), crate::support::fake_octez::block_hash(level));
}

#[tokio::test]
async fn a_tezos_payment_to_the_wrong_address_or_amount_is_flagged() {
    let node = FakeOctez::start(XTZ_HEAD).await;
    let app = app_following("XTZ", config(ExplorerKind::Octez, &node.base_url)).await;
    tick(&app).await;
    register(&app, "XTZ", "w-address", XTZ_PAYEE, "5", Some(&op_hash(1))).await;
    register(&app, "XTZ", "w-amount", XTZ_PAYEE, "5", Some(&op_hash(2))).await;
    register(&app, "XTZ", "w-right", XTZ_PAYEE, "5", Some(&op_hash(3))).await;
    let mut batch = transfer(3, XTZ_OTHER, 1, XTZ_HEAD);
    batch.transfers.push(Transfer { to: XTZ_PAYEE.into(), mutez: 5_000_000, status: "applied".into(), token: None });
    node.bake(
        &[],
        vec![transfer(1, XTZ_OTHER, 5_000_000, XTZ_HEAD), transfer(2, XTZ_PAYEE, 5_000_001, XTZ_HEAD), batch],
    );
    tick(&app).await;
    for id in ["w-address", "w-amount"] {
        let view = app.get_withdrawal(id).await;
        assert!(view["payee_mismatch"].as_str().is_some(), "{id}: {view}");
        assert_eq!(view["escalation"]["reason"], "payee_mismatch", "{id}");
    }
    assert_eq!(app.get_withdrawal("w-right").await["payee_mismatch"], Value::Null, "paid within a batch");
}

#[tokio::test]
async fn a_tezos_usdt_withdrawal_is_checked_through_its_fa2_transfer() {
    let node = FakeOctez::start(XTZ_HEAD).await;
    let mut config = config(ExplorerKind::Octez, &node.base_url);
    let usdt = TokenConfig { contract: format!("{USDT_CONTRACT}:0"), decimals: 6 };
    config.tokens = BTreeMap::from([("USDT".to_owned(), usdt)]);
    let app = app_following("XTZ", config).await;
    tick(&app).await;
    let usdt = |id: &str, n: u64| {
        withdrawal(
            id,
            json!({"coin": "USDT", "network": "XTZ", "address": XTZ_PAYEE, "amount": "12.5", "tx_hash": op_hash(n)}),
        )
    };
    for (id, n) in [("w-usdt", 1), ("w-less", 2), ("w-tez", 3)] {
        assert!(app.register(&usdt(id, n)).await.status().is_success());
    }
    node.bake(
        &[],
        vec![
            usdt_transfer(1, XTZ_PAYEE, 12_500_000, XTZ_HEAD),
            usdt_transfer(2, XTZ_PAYEE, 12_499_999, XTZ_HEAD),
            transfer(3, XTZ_PAYEE, 12_500_000, XTZ_HEAD),
        ],
    );
    for _ in 0..3 {
        tick(&app).await;
        node.bake(&[], vec![]);
    }
    tick(&app).await;
    let view = app.get_withdrawal("w-usdt").await;
    assert_eq!((view["state"].as_str(), &view["payee_mismatch"]), (Some("completed"), &Value::Null), "{view}");
    for id in ["w-less", "w-tez"] {
        let view = app.get_withdrawal(id).await;
        assert!(view["payee_mismatch"].as_str().is_some(), "{id}: {view}");
    }
}

#[tokio::test]
async fn a_tezos_operation_past_its_branchs_ttl_is_dropped_as_expired() {
    let node = FakeOctez::start(XTZ_HEAD).await;
    let mut config = config(ExplorerKind::Octez, &node.base_url);
    config.drop_after = HumanDuration(Duration::from_secs(600));
    let app = app_following("XTZ", config).await;
    tick(&app).await;
    register(&app, "XTZ", "w-1", XTZ_PAYEE, "1", Some(&op_hash(1))).await;
    // Branched 239 levels back: level XTZ_HEAD + 1 is the last that may hold it.
    node.inject(vec![transfer(1, XTZ_PAYEE, 1_000_000, XTZ_HEAD - 239)]);
    tick(&app).await;
    app.clock.set(app.clock_now() + chrono::Duration::minutes(11));
    node.bake(&[], vec![]);
    tick(&app).await;
    let view = app.get_withdrawal("w-1").await;
    assert_eq!(view["state"], "broadcast", "unseen past drop_after, but the next block may still hold it: {view}");

    app.clock.set(app.clock_now() + chrono::Duration::minutes(11));
    node.bake(&[], vec![]);
    tick(&app).await;
    let view = app.get_withdrawal("w-1").await;
    assert_eq!(view["state"], "dropped", "{view}");
    assert_eq!(last_reason(&view), "expired before inclusion");
}

#[tokio::test]
async fn a_tezos_operation_the_node_never_saw_is_dropped_once_the_patched_last_level_passes() {
    let node = FakeOctez::start(XTZ_HEAD).await;
    let mut config = config(ExplorerKind::Octez, &node.base_url);
    config.drop_after = HumanDuration(Duration::from_secs(600));
    let app = app_following("XTZ", config).await;
    tick(&app).await;
    register(&app, "XTZ", "w-1", XTZ_PAYEE, "1", None).await;
    let patched = app.patch("w-1", &json!({"tx_hash": op_hash(1), "last_valid_height": XTZ_HEAD + 1})).await;
    assert!(patched.status().is_success());
    tick(&app).await;
    app.clock.set(app.clock_now() + chrono::Duration::minutes(11));
    node.bake(&[], vec![]);
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-1").await["state"], "broadcast");
    app.clock.set(app.clock_now() + chrono::Duration::minutes(11));
    node.bake(&[], vec![]);
    tick(&app).await;
    let view = app.get_withdrawal("w-1").await;
    assert_eq!((view["state"].as_str(), last_reason(&view)), (Some("dropped"), "expired before inclusion".into()));
}

#[tokio::test]
async fn a_tezos_payment_registered_without_a_hash_is_discovered_in_a_block() {
    let node = FakeOctez::start(XTZ_HEAD).await;
    let mut config = config(ExplorerKind::Octez, &node.base_url);
    config.discover = true;
    let app = app_following("XTZ", config).await;
    tick(&app).await;
    register(&app, "XTZ", "w-1", XTZ_PAYEE, "3", None).await;
    node.bake(&[], vec![transfer(1, XTZ_PAYEE, 3_000_000, XTZ_HEAD)]);
    for _ in 0..3 {
        tick(&app).await;
        node.bake(&[], vec![]);
    }
    tick(&app).await;
    let view = app.get_withdrawal("w-1").await;
    assert_eq!(
        (view["tx_hash"].as_str(), view["state"].as_str()),
        (Some(op_hash(1).as_str()), Some("completed")),
        "{view}"
    );
}

const FIL_HEAD: u64 = 4_500_000;
const ONE_FIL: u128 = 1_000_000_000_000_000_000;

#[tokio::test]
async fn a_filecoin_withdrawal_is_completed_once_f3_finalizes_it_and_a_failed_one_fails() {
    let node = FakeLotus::start(FIL_HEAD, Some(5)).await;
    let app = app_following("FIL", config(ExplorerKind::Lotus, &node.base_url)).await;
    register(&app, "FIL", "w-fil", FIL_PAYEE, "1.5", Some(&message_cid(1))).await;
    register(&app, "FIL", "w-failed", FIL_PAYEE, "1", Some(&message_cid(2))).await;
    node.push(vec![send(1, FIL_PAYEE, 3 * ONE_FIL / 2), send(2, FIL_PAYEE, ONE_FIL)]);
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-fil").await["state"], "broadcast");
    node.execute(&[(&message_cid(1), 0), (&message_cid(2), 16)]);
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-fil").await["state"], "confirming", "in a tipset F3 has not finalized");
    assert_eq!(app.get_withdrawal("w-failed").await["state"], "confirming", "the exit code counts once final");
    node.advance(5);
    tick(&app).await;
    let view = app.get_withdrawal("w-fil").await;
    assert_eq!((view["state"].as_str(), &view["payee_mismatch"]), (Some("completed"), &Value::Null), "{view}");
    assert_eq!(states(&view), ["pending", "broadcast", "confirming", "completed"]);
    assert_eq!(app.get_withdrawal("w-failed").await["state"], "failed");
    assert_explorer_shown(&app, "FIL", "lotus", 1).await;
}

#[tokio::test]
async fn a_filecoin_payment_to_the_wrong_address_or_amount_is_flagged() {
    let node = FakeLotus::start(FIL_HEAD, Some(0)).await;
    let app = app_following("FIL", config(ExplorerKind::Lotus, &node.base_url)).await;
    register(&app, "FIL", "w-address", FIL_PAYEE, "2", Some(&message_cid(1))).await;
    register(&app, "FIL", "w-amount", FIL_PAYEE, "2", Some(&message_cid(2))).await;
    register(&app, "FIL", "w-right", FIL_PAYEE, "2", Some(&message_cid(3))).await;
    node.push(vec![
        send(1, FIL_OTHER, 2 * ONE_FIL),
        send(2, FIL_PAYEE, 2 * ONE_FIL - 1),
        send(3, FIL_PAYEE, 2 * ONE_FIL),
    ]);
    node.execute(&[(&message_cid(1), 0), (&message_cid(2), 0), (&message_cid(3), 0)]);
    tick(&app).await;
    for id in ["w-address", "w-amount"] {
        let view = app.get_withdrawal(id).await;
        assert!(view["payee_mismatch"].as_str().is_some(), "{id}: {view}");
        assert_eq!(view["escalation"]["reason"], "payee_mismatch", "{id}");
    }
    let right = app.get_withdrawal("w-right").await;
    assert_eq!((right["state"].as_str(), &right["payee_mismatch"]), (Some("completed"), &Value::Null));
}

#[tokio::test]
async fn a_filecoin_message_whose_nonce_another_used_is_dropped_as_replaced() {
    let node = FakeLotus::start(FIL_HEAD, Some(0)).await;
    let app = app_following("FIL", config(ExplorerKind::Lotus, &node.base_url)).await;
    register(&app, "FIL", "w-bumped", FIL_PAYEE, "1", Some(&message_cid(1))).await;
    register(&app, "FIL", "w-other", FIL_PAYEE, "1", Some(&message_cid(2))).await;
    let bumped = FilMessage { cid: message_cid(101), gas_fee_cap: 300_000, ..send(1, FIL_PAYEE, ONE_FIL) };
    let other = FilMessage { cid: message_cid(102), to: FIL_OTHER.into(), ..send(2, FIL_PAYEE, ONE_FIL) };
    node.push(vec![send(1, FIL_PAYEE, ONE_FIL), send(2, FIL_PAYEE, ONE_FIL), bumped, other]);
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-other").await["state"], "broadcast");
    node.execute(&[(&message_cid(101), 0), (&message_cid(102), 0)]);
    tick(&app).await;
    let view = app.get_withdrawal("w-bumped").await;
    assert_eq!(view["state"], "dropped", "{view}");
    assert_eq!(last_reason(&view), format!("replaced by {}", message_cid(101)));
    let view = app.get_withdrawal("w-other").await;
    assert_eq!(
        (view["state"].as_str(), last_reason(&view)),
        (Some("dropped"), "replaced by another transaction".into())
    );
}
