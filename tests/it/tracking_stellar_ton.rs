//! The chain tracker end to end on Stellar (fake Horizon) and TON (fake
//! toncenter v3): broadcast -> (confirming) -> completed, failed, dropped,
//! and payee mismatches (address, amount, asset, memo), USDC and USDT
//! included; discovery of a Stellar payment registered without a hash.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use withdrawal_tracker::config::{ExplorerKind, HumanDuration, NetworkChainConfig, TokenConfig};

use crate::support::app::{withdrawal, TestApp, SUPPORT_TOKEN};
use crate::support::chains::{app_following, chain_config, tick};
use crate::support::fake_horizon::{closed_at, payment, tx_hash, FakeHorizon, USDC_ISSUER};
use crate::support::fake_toncenter::{friendly, raw_account, FakeToncenter, Outcome, Payout, USDT_MASTER};

fn states(view: &Value) -> Vec<&str> {
    view["history"].as_array().unwrap().iter().map(|h| h["state"].as_str().unwrap()).collect()
}

const XLM_PAYEE: &str = "GCEZWKCA5VLDNRLN3RPRJMRZOX3Z6G5CHCGSNFHEYVXM3XOJMDS674JZ";
const XLM_OTHER: &str = "GAYOLLLUIZE4DZMBB2ZBKGBUBZLIOYU6XFLW37GBP2VZD3ABNXCW4BVA";

fn horizon_config(url: &str) -> NetworkChainConfig {
    let mut config = chain_config(ExplorerKind::Horizon, url, 1);
    config.required_confirmations = None;
    config.tokens =
        BTreeMap::from([("USDC".to_owned(), TokenConfig { contract: format!("USDC:{USDC_ISSUER}"), decimals: 7 })]);
    config
}

fn xlm(id: &str, coin: &str, memo: &str, amount: &str, tx: &str) -> Value {
    withdrawal(
        id,
        json!({"coin": coin, "network": "XLM", "address": XLM_PAYEE, "memo": memo, "amount": amount, "tx_hash": tx}),
    )
}

#[tokio::test]
async fn a_stellar_withdrawal_completes_in_its_ledger_and_a_failed_one_fails() {
    let horizon = FakeHorizon::start(55_000_000).await;
    let app = app_following("XLM", horizon_config(&horizon.base_url)).await;
    tick(&app).await;
    app.register(&xlm("w-xlm", "XLM", "12345", "25.5", &tx_hash(1))).await;
    app.register(&xlm("w-usdc", "USDC", "777", "10", &tx_hash(2))).await;
    app.register(&xlm("w-failed", "XLM", "1", "1", &tx_hash(3))).await;
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-xlm").await["state"], "broadcast", "Horizon knows no pending transactions");

    let mut failed = payment(3, XLM_PAYEE, "1.0000000", None, Some(("id", "1")));
    failed.successful = false;
    horizon.close_ledger(vec![
        payment(1, XLM_PAYEE, "25.5000000", None, Some(("id", "12345"))),
        payment(2, XLM_PAYEE, "10.0000000", Some("USDC"), Some(("text", "777"))),
        failed,
    ]);
    let before = horizon.requests();
    tick(&app).await;
    assert_eq!(horizon.requests() - before, 3, "tip, ledger, one page of payments: no lookups");
    for id in ["w-xlm", "w-usdc"] {
        let view = app.get_withdrawal(id).await;
        assert_eq!((view["state"].as_str(), &view["payee_mismatch"]), (Some("completed"), &Value::Null), "{view}");
        assert_eq!(states(&view), ["pending", "broadcast", "confirming", "completed"], "a closed ledger is final");
    }
    assert_eq!(app.get_withdrawal("w-failed").await["state"], "failed");
    assert_explorer_shown(&app, "XLM", "horizon").await;
}

/// `/v1/networks` names the network's explorer and its confirmations, and
/// the explorer's requests are counted under its name.
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
    assert!(counted, "{metrics}");
}

#[tokio::test]
async fn a_stellar_payment_to_the_wrong_payee_amount_asset_or_memo_is_flagged() {
    let horizon = FakeHorizon::start(55_000_000).await;
    let app = app_following("XLM", horizon_config(&horizon.base_url)).await;
    tick(&app).await;
    let cases = [
        ("w-address", payment(1, XLM_OTHER, "5.0000000", None, Some(("id", "9")))),
        ("w-amount", payment(2, XLM_PAYEE, "5.0000001", None, Some(("id", "9")))),
        ("w-asset", payment(3, XLM_PAYEE, "5.0000000", Some("USDC"), Some(("id", "9")))),
        ("w-memo", payment(4, XLM_PAYEE, "5.0000000", None, Some(("id", "8")))),
        ("w-right", payment(5, XLM_PAYEE, "5.0000000", None, Some(("id", "9")))),
    ];
    for (n, (id, _)) in cases.iter().enumerate() {
        app.register(&xlm(id, "XLM", "9", "5", &tx_hash(n as u64 + 1))).await;
    }
    horizon.close_ledger(cases.iter().map(|(_, tx)| tx.clone()).collect());
    tick(&app).await;
    for (id, _) in &cases[..4] {
        let view = app.get_withdrawal(id).await;
        assert!(view["payee_mismatch"].as_str().is_some(), "{id}: {view}");
        assert_eq!(view["escalation"]["reason"], "payee_mismatch", "{id}");
    }
    assert_eq!(app.get_withdrawal("w-right").await["payee_mismatch"], Value::Null);
}

#[tokio::test]
async fn a_stellar_transaction_no_ledger_ever_held_is_dropped() {
    let horizon = FakeHorizon::start(55_000_000).await;
    let mut config = horizon_config(&horizon.base_url);
    config.drop_after = HumanDuration(Duration::from_secs(600));
    let app = app_following("XLM", config).await;
    tick(&app).await;
    app.register(&xlm("w-lost", "XLM", "1", "1", &tx_hash(1))).await;
    tick(&app).await;
    app.clock.set(app.clock_now() + chrono::Duration::minutes(11));
    horizon.close_ledger(vec![]);
    tick(&app).await;
    let view = app.get_withdrawal("w-lost").await;
    assert_eq!(view["state"], "dropped", "{view}");
}

#[tokio::test]
async fn a_stellar_transaction_is_kept_until_a_ledger_closes_past_its_time_bounds_then_dropped_as_expired() {
    let horizon = FakeHorizon::start(55_000_000).await;
    let mut config = horizon_config(&horizon.base_url);
    config.drop_after = HumanDuration(Duration::from_secs(600));
    let app = app_following("XLM", config).await;
    tick(&app).await;
    let latest = 55_000_000;
    let body = json!({"coin": "XLM", "network": "XLM", "address": XLM_PAYEE, "memo": "1", "amount": "1"});
    app.register(&withdrawal("w-1", body)).await;
    let max_time = closed_at(latest + 2) as u64;
    let patched = app.patch("w-1", &json!({"tx_hash": tx_hash(1), "last_valid_height": max_time})).await;
    assert_eq!(patched.status(), reqwest::StatusCode::OK);
    tick(&app).await;
    for _ in 0..2 {
        app.clock.set(app.clock_now() + chrono::Duration::minutes(11));
        horizon.close_ledger(vec![]);
        tick(&app).await;
        let view = app.get_withdrawal("w-1").await;
        assert_eq!(view["state"], "broadcast", "unseen past drop_after, but a ledger may still include it: {view}");
    }
    app.clock.set(app.clock_now() + chrono::Duration::minutes(11));
    horizon.close_ledger(vec![]);
    tick(&app).await;
    let view = app.get_withdrawal("w-1").await;
    assert_eq!(view["state"], "dropped", "{view}");
    assert_eq!(view["history"].as_array().unwrap().last().unwrap()["reason"], "expired before inclusion");
}

#[tokio::test]
async fn a_stellar_payment_registered_without_a_hash_is_discovered() {
    let horizon = FakeHorizon::start(55_000_000).await;
    let mut config = horizon_config(&horizon.base_url);
    config.discover = true;
    config.discover_interval = HumanDuration(Duration::from_secs(60));
    let app = app_following("XLM", config).await;
    horizon.close_ledger(vec![payment(1, XLM_PAYEE, "3.0000000", None, Some(("id", "5")))]);
    tick(&app).await;
    let body = json!({"coin": "XLM", "network": "XLM", "address": XLM_PAYEE, "memo": "5", "amount": "3"});
    app.register(&withdrawal("w-1", body)).await;
    tick(&app).await;
    app.clock.set(app.clock_now() + chrono::Duration::minutes(2));
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-1").await["state"], "pending", "the older payment is not claimed");

    horizon.close_ledger(vec![payment(2, XLM_PAYEE, "3.0000000", None, Some(("id", "5")))]);
    app.clock.set(app.clock_now() + chrono::Duration::minutes(2));
    tick(&app).await;
    let view = app.get_withdrawal("w-1").await;
    assert_eq!(view["tx_hash"], tx_hash(2), "{view}");
    assert_eq!(view["state"], "completed", "{view}");
}

fn toncenter_config(url: &str) -> NetworkChainConfig {
    let mut config = chain_config(ExplorerKind::Toncenter, url, 1);
    config.required_confirmations = None;
    config.tokens =
        BTreeMap::from([("USDT".to_owned(), TokenConfig { contract: USDT_MASTER.to_owned(), decimals: 6 })]);
    config
}

fn ton(id: &str, coin: &str, to: &str, memo: &str, amount: &str, tx: &str) -> Value {
    withdrawal(
        id,
        json!({"coin": coin, "network": "TON", "address": friendly(to), "memo": memo, "amount": amount, "tx_hash": tx}),
    )
}

#[tokio::test]
async fn a_ton_withdrawal_goes_broadcast_confirming_completed() {
    let center = FakeToncenter::start(48_000_000).await;
    let app = app_following("TON", toncenter_config(&center.base_url)).await;
    let seqno = center.seqno();
    let user = raw_account("user", 1);
    let external = center.pay(&Payout::ton(1, &user, 1_500_000_000, Some("order 7")), seqno, None);
    let usdt = center.pay(&Payout::usdt(2, &user, 25_500_000, Some("order 8")), seqno - 1, Some(seqno));
    app.register(&ton("w-ton", "TON", &user, "order 7", "1.5", &external)).await;
    app.register(&ton("w-usdt", "USDT", &user, "order 8", "25.5", &usdt)).await;
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-ton").await["state"], "confirming", "the recipient's transaction is not in yet");
    let view = app.get_withdrawal("w-usdt").await;
    assert_eq!((view["state"].as_str(), &view["payee_mismatch"]), (Some("completed"), &Value::Null), "{view}");

    center.deliver(1, seqno + 1);
    center.advance(1);
    tick(&app).await;
    let view = app.get_withdrawal("w-ton").await;
    assert_eq!((view["state"].as_str(), &view["payee_mismatch"]), (Some("completed"), &Value::Null), "{view}");
    assert_eq!(states(&view), ["pending", "broadcast", "confirming", "completed"]);
    assert_explorer_shown(&app, "TON", "toncenter").await;
}

#[tokio::test]
async fn a_ton_payout_that_bounced_fails_and_a_wrong_one_is_flagged() {
    let center = FakeToncenter::start(48_000_000).await;
    let app = app_following("TON", toncenter_config(&center.base_url)).await;
    let seqno = center.seqno();
    let (user, other) = (raw_account("user", 1), raw_account("user", 2));
    let bounced = Payout::ton(1, &user, 1_000_000_000, Some("a")).turning_out(Outcome::Bounced);
    let cases = [
        ("w-bounced", "TON", "1", bounced),
        ("w-address", "TON", "1", Payout::ton(2, &other, 1_000_000_000, Some("a"))),
        ("w-amount", "TON", "1", Payout::ton(3, &user, 999_999_999, Some("a"))),
        ("w-asset", "TON", "1", Payout::usdt(4, &user, 1_000_000_000, Some("a"))),
        ("w-memo", "TON", "1", Payout::ton(5, &user, 1_000_000_000, Some("b"))),
        ("w-usdt-amount", "USDT", "1", Payout::usdt(6, &user, 1_000_001, Some("a"))),
    ];
    for (id, coin, amount, payout) in &cases {
        let hash = center.pay(payout, seqno - 1, Some(seqno));
        app.register(&ton(id, coin, &user, "a", amount, &hash)).await;
    }
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-bounced").await["state"], "failed");
    for (id, ..) in &cases[1..] {
        let view = app.get_withdrawal(id).await;
        assert!(view["payee_mismatch"].as_str().is_some(), "{id}: {view}");
    }
}

#[tokio::test]
async fn a_ton_message_past_its_valid_until_is_dropped_as_expired() {
    let center = FakeToncenter::start(48_000_000).await;
    let app = app_following("TON", toncenter_config(&center.base_url)).await;
    let user = raw_account("user", 1);
    let body = json!({"coin": "TON", "network": "TON", "address": friendly(&user), "memo": "m", "amount": "1"});
    app.register(&withdrawal("w-1", body)).await;
    let valid_until = FakeToncenter::time_of(center.seqno()) + 60;
    let hash = crate::support::fake_toncenter::external_hash(1);
    let patched = app.patch("w-1", &json!({"tx_hash": hash, "last_valid_height": valid_until})).await;
    assert_eq!(patched.status(), reqwest::StatusCode::OK);
    tick(&app).await;
    assert_eq!(app.get_withdrawal("w-1").await["state"], "broadcast", "not in, not expired yet");
    center.advance(13);
    tick(&app).await;
    let view = app.get_withdrawal("w-1").await;
    assert_eq!(view["state"], "dropped", "{view}");
    assert_eq!(view["history"].as_array().unwrap().last().unwrap()["reason"], "expired before inclusion");
}

#[tokio::test]
async fn a_ton_payment_registered_without_a_hash_is_discovered_but_an_older_one_is_not() {
    let center = FakeToncenter::start(48_000_000).await;
    let mut config = toncenter_config(&center.base_url);
    config.discover = true;
    config.discover_interval = HumanDuration(Duration::from_secs(60));
    let app = app_following("TON", config).await;
    let seqno = center.seqno();
    let user = raw_account("user", 1);
    // Earlier payments of the same amounts with the same comments: not these withdrawals'.
    center.pay(&Payout::ton(1, &user, 2_000_000_000, Some("d")), seqno - 2, Some(seqno - 1));
    center.pay(&Payout::usdt(2, &user, 5_000_000, Some("u")), seqno - 2, Some(seqno - 1));
    tick(&app).await;
    let body = |coin: &str, memo: &str, amount: &str| json!({"coin": coin, "network": "TON", "address": friendly(&user), "memo": memo, "amount": amount});
    app.register(&withdrawal("w-ton", body("TON", "d", "2"))).await;
    app.register(&withdrawal("w-usdt", body("USDT", "u", "5"))).await;
    tick(&app).await;
    app.clock.set(app.clock_now() + chrono::Duration::minutes(2));
    tick(&app).await;
    for id in ["w-ton", "w-usdt"] {
        assert_eq!(app.get_withdrawal(id).await["state"], "pending", "{id}: the older payment is not claimed");
    }

    center.advance(1);
    center.pay(&Payout::ton(3, &user, 2_000_000_000, Some("d")), seqno + 1, Some(seqno + 1));
    center.pay(&Payout::usdt(4, &user, 5_000_000, Some("u")), seqno + 1, Some(seqno + 1));
    app.clock.set(app.clock_now() + chrono::Duration::minutes(2));
    tick(&app).await;
    for (id, n) in [("w-ton", 3), ("w-usdt", 4)] {
        let view = app.get_withdrawal(id).await;
        assert_eq!(view["tx_hash"], Payout::wallet_hash(n), "{id}: named by the paying wallet's transaction");
        assert_eq!((view["state"].as_str(), &view["payee_mismatch"]), (Some("completed"), &Value::Null), "{view}");
        assert!(view["history"][1]["reason"].as_str().unwrap().starts_with("discovered on chain"), "{view}");
    }
}
