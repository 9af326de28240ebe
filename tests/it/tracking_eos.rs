//! The chain tracker end to end on a real EOS node (`support/nodeos.rs`):
//! real `eosio.token` and USDT transfers with memos go broadcast ->
//! confirming -> completed once irreversible; a deferred transfer that
//! overdraws fails; the wrong payee, quantity, asset or memo is flagged; a
//! transaction that never lands is dropped as expired once the irreversible
//! block's time passes its `expiration`, not before; a payment registered
//! without a hash is discovered in the blocks.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use withdrawal_tracker::config::{ExplorerKind, HumanDuration, NetworkChainConfig, TokenConfig};

use crate::support::app::{withdrawal, TestApp, SUPPORT_TOKEN};
use crate::support::chains::{app_following, chain_config, tick};
use crate::support::nodeos::{Nodeos, HOT_WALLET};

fn eos_config(url: &str) -> NetworkChainConfig {
    let mut config = chain_config(ExplorerKind::Antelope, url, 1);
    config.required_confirmations = None;
    // At most 20 s for EOS (two blocks a second, 50 read per poll); the
    // tests tick by hand besides.
    config.poll_interval = HumanDuration(Duration::from_secs(20));
    config.request_timeout = HumanDuration(Duration::from_secs(5));
    config.tokens =
        BTreeMap::from([("USDT".to_owned(), TokenConfig { contract: "USDT:tethertether".to_owned(), decimals: 4 })]);
    config
}

fn eos(id: &str, coin: &str, to: &str, memo: &str, amount: &str, tx: Option<&str>) -> Value {
    let mut body = json!({"coin": coin, "network": "EOS", "address": to, "memo": memo, "amount": amount});
    if let Some(tx) = tx {
        body["tx_hash"] = json!(tx);
    }
    withdrawal(id, body)
}

fn states(view: &Value) -> Vec<&str> {
    view["history"].as_array().unwrap().iter().map(|h| h["state"].as_str().unwrap()).collect()
}

/// Ticks until `done` holds for the withdrawal's view (the node makes a
/// block every half second; irreversible one block later).
async fn tick_until(app: &TestApp, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        tick(app).await;
        let view = app.get_withdrawal(id).await;
        if done(&view) {
            return view;
        }
        assert!(Instant::now() < deadline, "{id} did not get there within 30 s: {view}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn real_eos_and_usdt_withdrawals_complete_once_irreversible() {
    let node = Nodeos::shared();
    let app = app_following("EOS", eos_config(&node.url)).await;
    tick(&app).await;
    let payee = node.new_account("payee");
    app.register(&eos("w-eos", "EOS", &payee, "order 7", "1.5", None)).await;
    app.register(&eos("w-usdt", "USDT", &payee, "order 8", "25.25", None)).await;
    let coins = node.transfer(HOT_WALLET, &payee, "1.5000 EOS", "order 7");
    let dollars = node.transfer(HOT_WALLET, &payee, "25.2500 USDT", "order 8");
    for (id, tx) in [("w-eos", &coins.id), ("w-usdt", &dollars.id)] {
        assert_eq!(app.patch(id, &json!({"tx_hash": tx})).await.status(), reqwest::StatusCode::OK);
    }
    for id in ["w-eos", "w-usdt"] {
        let view = tick_until(&app, id, |v| v["state"] == "completed").await;
        assert_eq!(view["payee_mismatch"], Value::Null, "{view}");
        assert_eq!(states(&view), ["pending", "broadcast", "confirming", "completed"], "{view}");
    }
    let view = app.get_withdrawal("w-eos").await;
    assert_eq!(view["confirmations"], 1, "final at the irreversible block: {view}");
    assert_eq!(view["block_height"], coins.block, "{view}");

    // A hash sent only after the tracker read its block: the lookup finds it.
    let late = node.transfer(HOT_WALLET, &payee, "0.5000 EOS", "order 9");
    node.wait_irreversible(late.block).await;
    tick(&app).await;
    app.register(&eos("w-late", "EOS", &payee, "order 9", "0.5", Some(&late.id))).await;
    let view = tick_until(&app, "w-late", |v| v["state"] == "completed").await;
    assert_eq!((view["payee_mismatch"].clone(), view["block_height"].clone()), (Value::Null, json!(late.block)));

    let body: Value = app.get_as("/v1/networks", SUPPORT_TOKEN).await.json().await.unwrap();
    let network = body["networks"].as_array().unwrap().iter().find(|n| n["code"] == "EOS").unwrap().clone();
    assert_eq!((network["explorer"].as_str(), network["required_confirmations"].as_u64()), (Some("antelope"), Some(1)));
}

#[tokio::test]
async fn a_real_deferred_transfer_that_overdraws_fails() {
    let node = Nodeos::shared();
    let app = app_following("EOS", eos_config(&node.url)).await;
    tick(&app).await;
    let (spender, payee) = (node.new_account("spend"), node.new_account("payee"));
    node.transfer(HOT_WALLET, &spender, "1.0000 EOS", "float");
    let delayed = node.delayed_transfer(&spender, &payee, "1.0000 EOS", "later", 1);
    node.transfer(&spender, HOT_WALLET, "1.0000 EOS", "spent first");
    app.register(&eos("w-1", "EOS", &payee, "later", "1", Some(&delayed.id))).await;
    let view = tick_until(&app, "w-1", |v| v["state"] != "broadcast").await;
    assert_eq!(view["state"], "failed", "hard_fail on chain: {view}");
}

#[tokio::test]
async fn real_transfers_to_the_wrong_payee_quantity_asset_or_memo_are_flagged() {
    let node = Nodeos::shared();
    let app = app_following("EOS", eos_config(&node.url)).await;
    tick(&app).await;
    let (payee, other) = (node.new_account("payee"), node.new_account("other"));
    let cases = [
        ("w-to", node.transfer(HOT_WALLET, &other, "2.0000 EOS", "9")),
        ("w-quantity", node.transfer(HOT_WALLET, &payee, "2.0001 EOS", "9")),
        ("w-asset", node.transfer(HOT_WALLET, &payee, "2.0000 USDT", "9")),
        ("w-memo", node.transfer(HOT_WALLET, &payee, "2.0000 EOS", "8")),
        ("w-right", node.transfer(HOT_WALLET, &payee, "2.0000 EOS", "9")),
    ];
    for (id, pushed) in &cases {
        app.register(&eos(id, "EOS", &payee, "9", "2", Some(&pushed.id))).await;
    }
    for (id, _) in &cases[..4] {
        let view = tick_until(&app, id, |v| v["state"] == "completed").await;
        assert!(view["payee_mismatch"].as_str().is_some(), "{id}: {view}");
        assert_eq!(view["escalation"]["reason"], "payee_mismatch", "{id}");
    }
    let right = tick_until(&app, "w-right", |v| v["state"] == "completed").await;
    assert_eq!(right["payee_mismatch"], Value::Null, "{right}");
    let memo = app.get_withdrawal("w-memo").await;
    assert!(memo["payee_mismatch"].as_str().unwrap().contains("20000 base units"), "{memo}");
}

#[tokio::test]
async fn a_real_transaction_that_never_lands_is_dropped_once_the_irreversible_block_passes_its_expiration() {
    let node = Nodeos::shared();
    let mut config = eos_config(&node.url);
    config.drop_after = HumanDuration(Duration::from_secs(600));
    let app = app_following("EOS", config).await;
    tick(&app).await;
    let payee = node.new_account("payee");
    let unsent = node.sign_only(&["transfer", HOT_WALLET, &payee, "1.0000 EOS", "5"], 8);
    app.register(&eos("w-1", "EOS", &payee, "5", "1", None)).await;
    let patch = json!({"tx_hash": unsent.id, "last_valid_height": unsent.expiration});
    assert_eq!(app.patch("w-1", &patch).await.status(), reqwest::StatusCode::OK);
    app.clock.set(app.clock_now() + chrono::Duration::minutes(11));
    tick(&app).await;
    let view = app.get_withdrawal("w-1").await;
    assert_eq!(view["state"], "broadcast", "unseen past drop_after, but a block may still include it: {view}");

    node.wait_irreversible_after(unsent.expiration).await;
    // A still-pending answer restarted the drop clock.
    app.clock.set(app.clock_now() + chrono::Duration::minutes(11));
    tick(&app).await;
    let view = app.get_withdrawal("w-1").await;
    assert_eq!(view["state"], "dropped", "{view}");
    assert_eq!(view["history"].as_array().unwrap().last().unwrap()["reason"], "expired before inclusion");
}

#[tokio::test]
async fn a_real_payment_registered_without_a_hash_is_discovered_in_its_block() {
    let node = Nodeos::shared();
    let mut config = eos_config(&node.url);
    config.discover = true;
    let app = app_following("EOS", config).await;
    let payee = node.new_account("payee");
    let older = node.transfer(HOT_WALLET, &payee, "3.0000 EOS", "5");
    node.wait_irreversible(older.block).await;
    tick(&app).await;
    app.register(&eos("w-1", "EOS", &payee, "5", "3", None)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-1").await["state"], "pending", "the older payment is not claimed");

    let paid = node.transfer(HOT_WALLET, &payee, "3.0000 EOS", "5");
    let view = tick_until(&app, "w-1", |v| v["state"] == "completed").await;
    assert_eq!(view["tx_hash"], paid.id, "{view}");
}

/// A node without `get_transaction_status` (most public API nodes): the
/// transaction is still found in its block; one whose block was read before
/// its hash arrived is found among the blocks the client keeps (the last
/// 128, about a minute), and past them it cannot be: dropped as unseen after
/// `drop_after` (register hashes as they are broadcast).
#[tokio::test]
async fn without_the_status_index_a_withdrawal_completes_from_its_block() {
    use crate::support::fake_antelope::{transfer, tx_id, FakeAntelope};
    let fake = FakeAntelope::start(1_000).await;
    fake.state.lock().unwrap().status_index = false;
    let mut config = eos_config(&fake.base_url);
    config.drop_after = HumanDuration(Duration::from_secs(600));
    let app = app_following("EOS", config).await;
    tick(&app).await;
    app.register(&eos("w-1", "EOS", "payee", "7", "1", Some(&tx_id(1)))).await;
    tick(&app).await;
    let height = fake.produce(vec![transfer(1, "eosio.token", "payee", "1.0000 EOS", "7")]);
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-1").await["state"], "broadcast", "in a reversible block: not yet");
    fake.finalize(height);
    tick(&app).await;
    let view = app.get_withdrawal("w-1").await;
    assert_eq!(states(&view), ["pending", "broadcast", "confirming", "completed"], "{view}");

    let late = fake.produce(vec![transfer(2, "eosio.token", "payee", "2.0000 EOS", "7")]);
    fake.finalize(late);
    tick(&app).await;
    app.register(&eos("w-2", "EOS", "payee", "7", "2", Some(&tx_id(2)))).await;
    tick(&app).await;
    app.clock.set(app.clock_now() + chrono::Duration::minutes(11));
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-2").await["state"], "completed", "still remembered with the block read");

    let old = fake.produce(vec![transfer(3, "eosio.token", "payee", "3.0000 EOS", "7")]);
    fake.finalize(old + 130);
    for _ in 0..4 {
        tick(&app).await;
    }
    app.register(&eos("w-3", "EOS", "payee", "7", "3", Some(&tx_id(3)))).await;
    tick(&app).await;
    app.clock.set(app.clock_now() + chrono::Duration::minutes(11));
    tick(&app).await;
    let view = app.get_withdrawal("w-3").await;
    assert_eq!(view["state"], "dropped", "a block read too long ago, and no status index: {view}");
}
