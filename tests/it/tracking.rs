//! The chain tracker end to end: the real service, a fake Esplora that
//! follows the documented API (blocks, reorgs, evictions, replacements, 429s),
//! a fake Blockbook on the same chain model (reorgs) and a real Ethereum node
//! (ganache).

use std::time::Duration;

use serde_json::{json, Value};
use withdrawal_tracker::chain::ChainError;
use withdrawal_tracker::config::{ExplorerKind, HumanDuration, NetworkChainConfig, TokenConfig};
use withdrawal_tracker::tracker::chain::TrackError;

use crate::support::app::{withdrawal, TestApp, SUPPORT_TOKEN};
use crate::support::chains::{app_following, chain_config, tick, BTC_PAYEE, ETH_PAYEE};
use crate::support::evm_contracts::{init_code, token_runtime, transfer_call, REVERTER};
use crate::support::fake_blockbook::FakeBlockbook;
use crate::support::fake_esplora::{FakeEsplora, Mode};
use crate::support::fake_utxo_chain::{FakeBlock, UtxoFake};
use crate::support::ganache::Ganache;

async fn state_of(app: &TestApp, id: &str) -> Value {
    app.get_withdrawal(id).await
}

fn btc_withdrawal(id: &str, txid: &str, amount: &str) -> Value {
    withdrawal(id, json!({"coin": "BTC", "network": "BTC", "address": BTC_PAYEE, "amount": amount, "tx_hash": txid}))
}

#[tokio::test]
async fn a_bitcoin_withdrawal_goes_broadcast_confirming_completed() {
    let esplora = FakeEsplora::start(5).await;
    let app = app_following("BTC", chain_config(ExplorerKind::Esplora, &esplora.base_url, 2)).await;
    tick(&app).await;
    let txid = esplora.broadcast(
        &[("aa".repeat(32).as_str(), 0)],
        &[(Some(BTC_PAYEE), 50_000_000), (Some("1BoatSLRHtKNngkdXEeobR76b53LETtpyT"), 7_000)],
    );
    app.register(&btc_withdrawal("w-1", &txid, "0.5")).await;

    tick(&app).await;
    let view = state_of(&app, "w-1").await;
    assert_eq!(view["state"], "broadcast", "in the mempool");
    assert_eq!(view["payee_mismatch"], Value::Null);

    let block = esplora.mine(&[&txid]);
    tick(&app).await;
    let view = state_of(&app, "w-1").await;
    assert_eq!(view["state"], "confirming");
    assert_eq!(view["block_height"], block.height);
    assert_eq!((view["confirmations"].as_u64(), view["required_confirmations"].as_u64()), (Some(1), Some(2)));

    esplora.mine(&[]);
    tick(&app).await;
    let view = state_of(&app, "w-1").await;
    assert_eq!(view["state"], "completed");
    assert_eq!(view["confirmations"], 2);
    let states: Vec<&str> = view["history"].as_array().unwrap().iter().map(|h| h["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["pending", "broadcast", "confirming", "completed"]);

    let networks: Value = app.get_as("/v1/networks", SUPPORT_TOKEN).await.json().await.unwrap();
    let btc = networks["networks"].as_array().unwrap().iter().find(|n| n["code"] == "BTC").unwrap().clone();
    assert_eq!((btc["explorer"].as_str(), btc["required_confirmations"].as_u64()), (Some("esplora"), Some(2)));
}

/// The tracker's index keeps only the end of each hash (`store/in_flight.rs`):
/// a block transaction whose hash ends like another watched one's must not
/// move that other withdrawal, even one whose payment was already checked.
#[tokio::test]
async fn a_hash_ending_like_a_mined_one_leaves_its_withdrawal_where_it_was() {
    let esplora = FakeEsplora::start(5).await;
    let app = app_following("BTC", chain_config(ExplorerKind::Esplora, &esplora.base_url, 2)).await;
    tick(&app).await;
    let txid = esplora.broadcast(&[("bb".repeat(32).as_str(), 0)], &[(Some(BTC_PAYEE), 50_000_000)]);
    let look_alike = format!("{}{}", "f".repeat(54), &txid[54..]);
    esplora.broadcast_as(&look_alike, &[("cc".repeat(32).as_str(), 0)], &[(Some(BTC_PAYEE), 50_000_000)]);
    app.register(&btc_withdrawal("w-mined", &txid, "0.5")).await;
    app.register(&btc_withdrawal("w-look-alike", &look_alike, "0.5")).await;
    tick(&app).await;
    assert_eq!(state_of(&app, "w-look-alike").await["payee_mismatch"], Value::Null, "looked up, paid right");

    esplora.mine(&[&txid]);
    tick(&app).await;
    assert_eq!(state_of(&app, "w-mined").await["state"], "confirming");
    let other = state_of(&app, "w-look-alike").await;
    assert_eq!((other["state"].as_str(), other["block_height"].as_u64()), (Some("broadcast"), None));
}

#[tokio::test]
async fn a_reorg_sends_a_confirming_withdrawal_back_and_a_stale_block_completes_nothing() {
    let esplora = FakeEsplora::start(5).await;
    let app = app_following("BTC", chain_config(ExplorerKind::Esplora, &esplora.base_url, 2)).await;
    tick(&app).await;
    let txid = esplora.broadcast(&[("bb".repeat(32).as_str(), 1)], &[(Some(BTC_PAYEE), 100_000)]);
    app.register(&btc_withdrawal("w-1", &txid, "0.001")).await;
    esplora.mine(&[&txid]);
    tick(&app).await;
    assert_eq!(state_of(&app, "w-1").await["state"], "confirming");

    // The block holding it is replaced by a longer branch without it: on the
    // old branch this tip would be its second confirmation, enough to complete.
    esplora.reorg(1);
    tick(&app).await;
    let view = state_of(&app, "w-1").await;
    assert_eq!(view["state"], "broadcast", "{view}");
    assert!(view["history"].as_array().unwrap().last().unwrap()["reason"]
        .as_str()
        .unwrap()
        .contains("left the best chain"));
    assert_eq!(view["confirmations"], Value::Null);

    // Mined again in the new branch; completes only there.
    esplora.mine(&[&txid]);
    esplora.mine(&[]);
    esplora.mine(&[]);
    tick(&app).await;
    let view = state_of(&app, "w-1").await;
    assert_eq!(view["state"], "completed", "{view}");
}

#[tokio::test]
async fn a_transaction_paying_the_wrong_amount_is_flagged_and_escalated() {
    let esplora = FakeEsplora::start(5).await;
    let app = app_following("BTC", chain_config(ExplorerKind::Esplora, &esplora.base_url, 2)).await;
    tick(&app).await;
    let txid = esplora.broadcast(&[("cc".repeat(32).as_str(), 0)], &[(Some(BTC_PAYEE), 49_000_000)]);
    app.register(&btc_withdrawal("w-1", &txid, "0.5")).await;
    tick(&app).await;
    let view = state_of(&app, "w-1").await;
    let mismatch = view["payee_mismatch"].as_str().expect("flagged");
    assert!(mismatch.contains("50000000") && mismatch.contains("49000000"), "{mismatch}");
    app.sweeper.sweep_once().await.unwrap();
    let view = state_of(&app, "w-1").await;
    assert_eq!(view["escalation"]["reason"], "payee_mismatch");
}

#[tokio::test]
async fn an_evicted_transaction_is_dropped_and_a_double_spend_is_a_replacement() {
    let esplora = FakeEsplora::start(5).await;
    let app = app_following("BTC", chain_config(ExplorerKind::Esplora, &esplora.base_url, 2)).await;
    tick(&app).await;
    let input = "dd".repeat(32);
    let first = esplora.broadcast(&[(input.as_str(), 0)], &[(Some(BTC_PAYEE), 10_000)]);
    let lonely = esplora.broadcast(&[("ee".repeat(32).as_str(), 0)], &[(Some(BTC_PAYEE), 20_000)]);
    app.register(&btc_withdrawal("w-replaced", &first, "0.0001")).await;
    app.register(&btc_withdrawal("w-evicted", &lonely, "0.0002")).await;
    tick(&app).await;

    // A fee bump spends the same input; the node forgets the first; the other is evicted.
    let bump = esplora.broadcast(&[(input.as_str(), 0)], &[(Some(BTC_PAYEE), 9_000)]);
    esplora.evict(&first);
    esplora.evict(&lonely);
    esplora.mine(&[&bump]);
    tick(&app).await;
    assert_eq!(state_of(&app, "w-evicted").await["state"], "broadcast", "not before drop_after");

    app.clock.set(app.clock_now() + chrono::Duration::hours(7));
    tick(&app).await;
    let replaced = state_of(&app, "w-replaced").await;
    assert_eq!(replaced["state"], "dropped");
    let reason = replaced["history"].as_array().unwrap().last().unwrap()["reason"].as_str().unwrap().to_owned();
    assert_eq!(reason, format!("replaced by {bump}"));
    let evicted = state_of(&app, "w-evicted").await;
    assert_eq!(evicted["state"], "dropped");
    assert!(evicted["history"].as_array().unwrap().last().unwrap()["reason"].as_str().unwrap().contains("not seen"));
}

#[tokio::test]
async fn an_explorer_storm_never_corrupts_state_and_tracking_resumes() {
    let esplora = FakeEsplora::start(5).await;
    let app = app_following("BTC", chain_config(ExplorerKind::Esplora, &esplora.base_url, 2)).await;
    tick(&app).await;
    let txid = esplora.broadcast(&[("ff".repeat(32).as_str(), 0)], &[(Some(BTC_PAYEE), 10_000)]);
    app.register(&btc_withdrawal("w-1", &txid, "0.0001")).await;
    esplora.mine(&[&txid]);
    for mode in [Mode::RateLimited(7), Mode::Down, Mode::Malformed] {
        esplora.set_mode(mode);
        let error = app.chain_trackers[0].tick().await.expect_err("an error, not a state change");
        let expected = match mode {
            Mode::RateLimited(_) => matches!(error, TrackError::Chain(ChainError::RateLimited { .. })),
            Mode::Down => matches!(error, TrackError::Chain(ChainError::Unavailable(_))),
            _ => matches!(error, TrackError::Chain(ChainError::BadResponse(_))),
        };
        assert!(expected, "{mode:?} answered {error:?}");
        let view = state_of(&app, "w-1").await;
        assert_eq!(view["state"], "broadcast", "{mode:?} changed nothing");
    }
    esplora.set_mode(Mode::Normal);
    tick(&app).await;
    assert_eq!(state_of(&app, "w-1").await["state"], "confirming");
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for outcome in ["rate_limited", "server_error", "ok"] {
        let sample = format!(
            "withdrawal_tracker_explorer_requests_total{{explorer=\"esplora\",network=\"BTC\",outcome=\"{outcome}\"}}"
        );
        assert!(metrics.contains(&sample), "missing {sample}");
    }
    assert!(metrics.contains("withdrawal_tracker_chain_tip_height{network=\"BTC\"}"));
}

fn eth(ganache: &Ganache, required: u64) -> NetworkChainConfig {
    chain_config(ExplorerKind::Evm, &ganache.url, required)
}

#[tokio::test]
async fn an_ether_withdrawal_completes_on_a_real_node_and_a_revert_fails() {
    let node = Ganache::start().await;
    let app = app_following("ETH", eth(&node, 3)).await;
    tick(&app).await;
    let txid = node.send(Some(ETH_PAYEE), 1_500_000_000_000_000_000, "0x").await;
    app.register(&withdrawal(
        "w-eth",
        json!({"coin": "ETH", "network": "ETH", "address": ETH_PAYEE, "amount": "1.5", "tx_hash": txid}),
    ))
    .await;
    tick(&app).await;
    let view = state_of(&app, "w-eth").await;
    assert_eq!((view["state"].as_str(), view["confirmations"].as_u64()), (Some("confirming"), Some(1)), "{view}");
    assert_eq!(view["payee_mismatch"], Value::Null);
    node.mine().await;
    tick(&app).await;
    assert_eq!(state_of(&app, "w-eth").await["confirmations"], 2);
    node.mine().await;
    tick(&app).await;
    assert_eq!(state_of(&app, "w-eth").await["state"], "completed");

    // A withdrawal whose transaction reverts fails.
    let reverter = node.deploy(&init_code(REVERTER)).await;
    let reverted = node.send(Some(&reverter), 1, "0x").await;
    app.register(&withdrawal("w-revert", json!({"coin": "ETH", "network": "ETH", "address": ETH_PAYEE, "amount": "0.000000000000000001", "tx_hash": reverted}))).await;
    tick(&app).await;
    let view = state_of(&app, "w-revert").await;
    assert_eq!(view["state"], "failed", "{view}");
    app.sweeper.sweep_once().await.unwrap();
    assert_eq!(state_of(&app, "w-revert").await["escalation"]["reason"], "failed");
}

#[tokio::test]
async fn a_token_withdrawal_is_checked_through_its_transfer_log() {
    let node = Ganache::start().await;
    let token = node.deploy(&init_code(&token_runtime())).await;
    let mut config = chain_config(ExplorerKind::Evm, &node.url, 1);
    config.tokens.insert("USDT".into(), TokenConfig { contract: token.clone(), decimals: 6 });
    let app = app_following("ETH", config).await;
    tick(&app).await;
    let good = node.send(Some(&token), 0, &transfer_call(ETH_PAYEE, 25_500_000)).await;
    let short = node.send(Some(&token), 0, &transfer_call(ETH_PAYEE, 25_000_000)).await;
    let usdt = |id: &str, tx: &str| {
        withdrawal(id, json!({"coin": "USDT", "network": "ETH", "address": ETH_PAYEE, "amount": "25.5", "tx_hash": tx}))
    };
    app.register(&usdt("w-good", &good)).await;
    app.register(&usdt("w-short", &short)).await;
    tick(&app).await;
    let view = state_of(&app, "w-good").await;
    assert_eq!((view["state"].as_str(), &view["payee_mismatch"]), (Some("completed"), &Value::Null), "{view}");
    let view = state_of(&app, "w-short").await;
    let mismatch = view["payee_mismatch"].as_str().expect("25.0 is not 25.5");
    assert!(mismatch.contains("25500000") && mismatch.contains("25000000"), "{mismatch}");
}

#[tokio::test]
async fn a_solana_withdrawal_completes_when_finalized_and_a_failed_one_fails() {
    use crate::support::fake_solana::{pubkey, signature, sol_transfer, FakeSolana};
    let node = FakeSolana::start(300_000_000).await;
    let app = app_following("SOL", chain_config(ExplorerKind::Solana, &node.url, 1)).await;
    let (payer, payee) = (pubkey("exchange-hot-wallet"), pubkey("user-wallet"));
    let (good, bad) = (signature(1), signature(2));
    let sol = |id: &str, tx: &str| {
        withdrawal(id, json!({"coin": "SOL", "network": "SOL", "address": payee, "amount": "1.5", "tx_hash": tx}))
    };
    app.register(&sol("w-good", &good)).await;
    app.register(&sol("w-bad", &bad)).await;
    tick(&app).await;
    assert_eq!(state_of(&app, "w-good").await["state"], "broadcast", "unknown to the node yet");

    let mut tx = sol_transfer(300_000_000, &payer, &payee, 1_500_000_000);
    tx.level = "confirmed";
    node.add(&good, tx);
    let mut failed = sol_transfer(300_000_000, &payer, &payee, 1_500_000_000);
    failed.err = json!({"InstructionError": [0, "InsufficientFunds"]});
    node.add(&bad, failed);
    tick(&app).await;
    assert_eq!(state_of(&app, "w-good").await["state"], "confirming", "confirmed is not final");
    assert_eq!(state_of(&app, "w-bad").await["state"], "failed");

    node.set_level(&good, "finalized");
    tick(&app).await;
    let view = state_of(&app, "w-good").await;
    assert_eq!((view["state"].as_str(), &view["payee_mismatch"]), (Some("completed"), &Value::Null), "{view}");
}

#[tokio::test]
async fn an_xrp_withdrawal_needs_its_destination_tag() {
    use crate::support::fake_xrpl::{payment, tx_hash, FakeXrpl};
    const GENESIS: &str = "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh";
    let node = FakeXrpl::start(90_000_000).await;
    let app = app_following("XRP", chain_config(ExplorerKind::Xrpl, &node.url, 1)).await;
    let (right, wrong) = (tx_hash(1), tx_hash(2));
    let xrp = |id: &str, tx: &str| {
        withdrawal(
            id,
            json!({"coin": "XRP", "network": "XRP", "address": GENESIS, "memo": "77", "amount": "25", "tx_hash": tx}),
        )
    };
    app.register(&xrp("w-right", &right)).await;
    app.register(&xrp("w-wrong", &wrong)).await;
    node.add(&right, payment(Some(89_999_990), GENESIS, Some(77), 25_000_000));
    node.add(&wrong, payment(Some(89_999_991), GENESIS, Some(78), 25_000_000));
    tick(&app).await;
    let view = state_of(&app, "w-right").await;
    assert_eq!((view["state"].as_str(), &view["payee_mismatch"]), (Some("completed"), &Value::Null), "{view}");
    let view = state_of(&app, "w-wrong").await;
    assert!(view["payee_mismatch"].as_str().is_some(), "tag 78 is not 77: {view}");
}

#[tokio::test]
async fn a_bitcoin_payment_registered_without_a_hash_is_discovered_but_an_older_one_is_not() {
    let esplora = FakeEsplora::start(5).await;
    let mut config = chain_config(ExplorerKind::Esplora, &esplora.base_url, 2);
    config.discover = true;
    config.discover_interval = HumanDuration(Duration::from_secs(60));
    let app = app_following("BTC", config).await;
    // An earlier payment of the same amount to the same address: not this withdrawal's.
    let old = esplora.broadcast(&[("01".repeat(32).as_str(), 0)], &[(Some(BTC_PAYEE), 30_000_000)]);
    esplora.mine(&[&old]);
    tick(&app).await;
    app.register(&withdrawal("w-1", json!({"coin": "BTC", "network": "BTC", "address": BTC_PAYEE, "amount": "0.3"})))
        .await;
    tick(&app).await;
    app.clock.set(app.clock_now() + chrono::Duration::minutes(2));
    tick(&app).await;
    assert_eq!(state_of(&app, "w-1").await["state"], "pending", "the old payment is not claimed");

    let paid = esplora.broadcast(&[("02".repeat(32).as_str(), 0)], &[(Some(BTC_PAYEE), 30_000_000)]);
    esplora.mine(&[&paid]);
    app.clock.set(app.clock_now() + chrono::Duration::minutes(2));
    tick(&app).await;
    let view = state_of(&app, "w-1").await;
    assert_eq!(view["tx_hash"], paid);
    assert_eq!(view["state"], "confirming", "{view}");
    let reasons: Vec<&str> =
        view["history"].as_array().unwrap().iter().map(|h| h["reason"].as_str().unwrap()).collect();
    assert!(reasons.contains(&format!("discovered on chain: transaction {paid}").as_str()), "{reasons:?}");
}

#[tokio::test]
async fn an_ether_payment_registered_without_a_hash_is_discovered_from_its_block() {
    let node = Ganache::start().await;
    let mut config = eth(&node, 2);
    config.discover = true;
    let app = app_following("ETH", config).await;
    tick(&app).await;
    app.register(&withdrawal(
        "w-eth",
        json!({"coin": "ETH", "network": "ETH", "address": ETH_PAYEE, "amount": "0.25"}),
    ))
    .await;
    let txid = node.send(Some(ETH_PAYEE), 250_000_000_000_000_000, "0x").await;
    tick(&app).await;
    let view = state_of(&app, "w-eth").await;
    assert_eq!((view["tx_hash"].as_str(), view["state"].as_str()), (Some(txid.as_str()), Some("confirming")), "{view}");
    assert!(view["history"][1]["reason"].as_str().unwrap().starts_with("discovered on chain"));
    node.mine().await;
    tick(&app).await;
    assert_eq!(state_of(&app, "w-eth").await["state"], "completed");
}

#[tokio::test]
async fn a_solana_transaction_past_its_last_valid_height_is_dropped() {
    use crate::support::fake_solana::{pubkey, signature, FakeSolana};
    let node = FakeSolana::start(300_000_000).await;
    let app = app_following("SOL", chain_config(ExplorerKind::Solana, &node.url, 1)).await;
    let payee = pubkey("user-wallet");
    app.register(&withdrawal("w-1", json!({"coin": "SOL", "network": "SOL", "address": payee, "amount": "2"}))).await;
    let height = node.state.lock().unwrap().block_height;
    let patched = app.patch("w-1", &json!({"tx_hash": signature(9), "last_valid_height": height + 150})).await;
    assert_eq!(patched.status(), reqwest::StatusCode::OK);
    tick(&app).await;
    assert_eq!(state_of(&app, "w-1").await["state"], "broadcast", "not landed yet, not expired yet");
    node.advance(151);
    tick(&app).await;
    let view = state_of(&app, "w-1").await;
    assert_eq!(view["state"], "dropped", "{view}");
    assert_eq!(view["history"].as_array().unwrap().last().unwrap()["reason"], "expired before inclusion");

    let misplaced = app.patch("w-1", &json!({"state": "cancelled", "last_valid_height": 5})).await;
    assert_eq!(misplaced.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
}

// Reorgs, each noticed on the very next poll: the tip replaced at the same
// height, two blocks replaced under a tip of the same height, and a tip that
// goes back one block. The same scenarios run on both UTXO explorer fakes
// (one chain model) and on a real node (ganache's evm_snapshot/evm_revert).

/// A UTXO network followed through one of the fakes.
struct UtxoNet {
    code: &'static str,
    explorer: ExplorerKind,
    payee: &'static str,
}

const BTC_ON_ESPLORA: UtxoNet = UtxoNet { code: "BTC", explorer: ExplorerKind::Esplora, payee: BTC_PAYEE };
/// A valid Dogecoin P2PKH address.
const DOGE_ON_BLOCKBOOK: UtxoNet =
    UtxoNet { code: "DOGE", explorer: ExplorerKind::Blockbook, payee: "DUMh1rPrXTrCN2Z9EHsLPg7b78rACHB2h7" };

async fn reorg_tick(app: &TestApp) -> withdrawal_tracker::tracker::chain::TickReport {
    app.chain_trackers[0].tick().await.expect("the tick succeeds")
}

fn last_entry(view: &Value) -> (&str, &str) {
    let last = view["history"].as_array().unwrap().last().unwrap();
    (last["state"].as_str().unwrap(), last["reason"].as_str().unwrap())
}

fn states(view: &Value) -> Vec<&str> {
    view["history"].as_array().unwrap().iter().map(|h| h["state"].as_str().unwrap()).collect()
}

/// The block hash the tracker recorded for `id` (the view shows only the height).
async fn recorded_block_hash(app: &TestApp, id: &str) -> Option<String> {
    let id = withdrawal_tracker::domain::WithdrawalId::parse(id).unwrap();
    app.service.store.get(&id).await.unwrap().expect("registered").chain().block_hash.clone()
}

/// An app following `net` through `fake`, and withdrawal `w-1` whose
/// transaction the tracker saw in the tip block: 1 confirmation of `required`.
async fn confirming_in_the_tip<F: UtxoFake>(fake: &F, net: &UtxoNet, required: u64) -> (TestApp, String, FakeBlock) {
    let app = app_following(net.code, chain_config(net.explorer, fake.base_url(), required)).await;
    tick(&app).await;
    let input = "ab".repeat(32);
    let txid = fake.with_chain(|c| c.broadcast(&[(input.as_str(), 0)], &[(Some(net.payee), 100_000)]));
    let body = json!({"coin": net.code, "network": net.code, "address": net.payee, "amount": "0.001", "tx_hash": txid});
    app.register(&withdrawal("w-1", body)).await;
    let block = fake.with_chain(|c| c.mine(&[&txid]));
    tick(&app).await;
    let view = state_of(&app, "w-1").await;
    assert_eq!((view["state"].as_str(), view["confirmations"].as_u64()), (Some("confirming"), Some(1)), "{view}");
    assert_eq!(view["block_height"], block.height);
    (app, txid, block)
}

/// The view of a withdrawal sent back to `broadcast` because `stale` left the best chain.
fn assert_back_to_broadcast(view: &Value, stale: &FakeBlock) {
    assert_eq!(view["state"], "broadcast", "{view}");
    assert_eq!((&view["confirmations"], &view["block_height"]), (&Value::Null, &Value::Null), "{view}");
    let reason = format!("block {} {} left the best chain", stale.height, stale.hash);
    assert_eq!(last_entry(view), ("broadcast", reason.as_str()));
}

async fn utxo_tip_replaced_at_the_same_height<F: UtxoFake>(fake: &F, net: &UtxoNet) {
    let (app, txid, mined) = confirming_in_the_tip(fake, net, 2).await;
    // A competing block without the transaction takes the tip's height.
    let stale = fake.with_chain(|c| c.reorg_with(1, &[&[]]));
    assert_eq!(stale[0].hash, mined.hash);
    let report = reorg_tick(&app).await;
    assert_back_to_broadcast(&state_of(&app, "w-1").await, &mined);
    assert_eq!(report.reorged, 1, "noticed on the next poll, before any new block");

    // A block on top would give the stale block its second confirmation: nothing completes.
    fake.with_chain(|c| c.mine(&[]));
    assert_eq!(reorg_tick(&app).await.reorged, 0);
    assert_eq!(state_of(&app, "w-1").await["state"], "broadcast");

    let again = fake.with_chain(|c| c.mine(&[&txid]));
    tick(&app).await;
    let view = state_of(&app, "w-1").await;
    assert_eq!((view["state"].as_str(), view["block_height"].as_u64()), (Some("confirming"), Some(again.height)));
    assert_eq!(states(&view), ["pending", "broadcast", "confirming", "broadcast", "confirming"]);
}

async fn utxo_tip_replaced_by_a_block_with_the_same_transaction<F: UtxoFake>(fake: &F, net: &UtxoNet) {
    let (app, txid, mined) = confirming_in_the_tip(fake, net, 2).await;
    fake.with_chain(|c| c.reorg_with(1, &[&[&txid]]));
    let replacement = fake.with_chain(|c| c.tip().clone());
    let report = reorg_tick(&app).await;
    let view = state_of(&app, "w-1").await;
    assert_eq!((view["state"].as_str(), view["confirmations"].as_u64()), (Some("confirming"), Some(1)), "{view}");
    assert_eq!(view["block_height"], mined.height);
    assert_eq!(recorded_block_hash(&app, "w-1").await, Some(replacement.hash), "in the block that replaced it");
    let history = view["history"].as_array().unwrap();
    let stale = &history[history.len() - 2];
    assert_eq!(stale["reason"], format!("block {} {} left the best chain", mined.height, mined.hash));
    assert_eq!(last_entry(&view), ("confirming", format!("in block {}", mined.height).as_str()));
    assert_eq!(report.reorged, 1);
}

async fn utxo_two_blocks_replaced_under_a_tip_of_the_same_height<F: UtxoFake>(fake: &F, net: &UtxoNet) {
    let (app, _, mined) = confirming_in_the_tip(fake, net, 3).await;
    fake.with_chain(|c| c.mine(&[]));
    tick(&app).await;
    assert_eq!(state_of(&app, "w-1").await["confirmations"], 2);
    let stale = fake.with_chain(|c| c.reorg_with(2, &[&[], &[]]));
    assert_eq!(stale[0].hash, mined.hash);
    let report = reorg_tick(&app).await;
    assert_back_to_broadcast(&state_of(&app, "w-1").await, &mined);
    assert_eq!(report.reorged, 1);

    // The third block the stale one would have counted completes nothing.
    fake.with_chain(|c| c.mine(&[]));
    tick(&app).await;
    assert_eq!(state_of(&app, "w-1").await["state"], "broadcast");
}

async fn utxo_tip_back_by_one_block<F: UtxoFake>(fake: &F, net: &UtxoNet) {
    let (app, txid, mined) = confirming_in_the_tip(fake, net, 2).await;
    fake.with_chain(|c| c.reorg_with(1, &[]));
    assert_eq!(fake.with_chain(|c| c.tip().height), mined.height - 1);
    let report = reorg_tick(&app).await;
    assert_back_to_broadcast(&state_of(&app, "w-1").await, &mined);
    assert_eq!(report.reorged, 1);

    // Mined again at the same height, in another block.
    let again = fake.with_chain(|c| c.mine(&[&txid]));
    assert_eq!(again.height, mined.height);
    tick(&app).await;
    let view = state_of(&app, "w-1").await;
    assert_eq!((view["state"].as_str(), view["confirmations"].as_u64()), (Some("confirming"), Some(1)), "{view}");
    assert_eq!(recorded_block_hash(&app, "w-1").await, Some(again.hash));
}

#[tokio::test]
async fn esplora_a_tip_replaced_at_the_same_height_is_a_reorg_on_the_next_poll() {
    utxo_tip_replaced_at_the_same_height(&FakeEsplora::start(5).await, &BTC_ON_ESPLORA).await;
}

#[tokio::test]
async fn blockbook_a_tip_replaced_at_the_same_height_is_a_reorg_on_the_next_poll() {
    utxo_tip_replaced_at_the_same_height(&FakeBlockbook::start(5).await, &DOGE_ON_BLOCKBOOK).await;
}

#[tokio::test]
async fn esplora_a_tip_replaced_by_a_block_with_the_same_transaction_moves_it_there() {
    utxo_tip_replaced_by_a_block_with_the_same_transaction(&FakeEsplora::start(5).await, &BTC_ON_ESPLORA).await;
}

#[tokio::test]
async fn blockbook_a_tip_replaced_by_a_block_with_the_same_transaction_moves_it_there() {
    utxo_tip_replaced_by_a_block_with_the_same_transaction(&FakeBlockbook::start(5).await, &DOGE_ON_BLOCKBOOK).await;
}

#[tokio::test]
async fn esplora_two_blocks_replaced_under_a_tip_of_the_same_height_are_a_reorg_on_the_next_poll() {
    utxo_two_blocks_replaced_under_a_tip_of_the_same_height(&FakeEsplora::start(5).await, &BTC_ON_ESPLORA).await;
}

#[tokio::test]
async fn blockbook_two_blocks_replaced_under_a_tip_of_the_same_height_are_a_reorg_on_the_next_poll() {
    utxo_two_blocks_replaced_under_a_tip_of_the_same_height(&FakeBlockbook::start(5).await, &DOGE_ON_BLOCKBOOK).await;
}

#[tokio::test]
async fn esplora_a_tip_back_by_one_block_is_a_reorg_on_the_next_poll() {
    utxo_tip_back_by_one_block(&FakeEsplora::start(5).await, &BTC_ON_ESPLORA).await;
}

#[tokio::test]
async fn blockbook_a_tip_back_by_one_block_is_a_reorg_on_the_next_poll() {
    utxo_tip_back_by_one_block(&FakeBlockbook::start(5).await, &DOGE_ON_BLOCKBOOK).await;
}

/// A withdrawal can be seen in a block the tracker has not read yet: its
/// first lookup finds it there while the tracker is still catching up (it
/// reads at most 50 blocks per tick). When that block is replaced before the
/// tracker reads its height, the block read there says it left.
#[tokio::test]
async fn a_block_replaced_before_the_tracker_read_its_height_completes_nothing() {
    let esplora = FakeEsplora::start(5).await;
    let app = app_following("BTC", chain_config(ExplorerKind::Esplora, &esplora.base_url, 8)).await;
    tick(&app).await;
    for _ in 0..55 {
        esplora.mine(&[]);
    }
    let txid = esplora.broadcast(&[("ac".repeat(32).as_str(), 0)], &[(Some(BTC_PAYEE), 100_000)]);
    app.register(&btc_withdrawal("w-1", &txid, "0.001")).await;
    let mined = esplora.mine(&[&txid]);
    for _ in 0..5 {
        esplora.mine(&[]);
    }
    let report = reorg_tick(&app).await;
    assert_eq!(report.blocks, 50, "still catching up");
    let view = state_of(&app, "w-1").await;
    assert_eq!((view["state"].as_str(), view["confirmations"].as_u64()), (Some("confirming"), Some(6)), "{view}");

    // Its block and the five above are replaced by six others: the tip's height stays.
    esplora.with_chain(|c| c.reorg_with(6, &[&[], &[], &[], &[], &[], &[]]));
    let report = reorg_tick(&app).await;
    let view = state_of(&app, "w-1").await;
    let reason = format!("block {} {} left the best chain", mined.height, mined.hash);
    assert_eq!((view["state"].as_str(), last_entry(&view).1), (Some("broadcast"), reason.as_str()), "{view}");
    assert_eq!(report.reorged, 1);
    esplora.mine(&[]);
    esplora.mine(&[]);
    tick(&app).await;
    assert_eq!(state_of(&app, "w-1").await["state"], "broadcast", "8 blocks above the stale one complete nothing");
}

/// An app following ETH on `node`, and withdrawal `w-eth` whose transaction
/// (1.5 ETH, repeatable after a revert) is in the tip block as the tracker
/// saw it; the snapshot taken before it was sent; its block (height, hash).
async fn eth_confirming_in_the_tip(node: &Ganache, required: u64) -> (TestApp, String, String, (u64, String)) {
    let app = app_following("ETH", eth(node, required)).await;
    tick(&app).await;
    let snapshot = node.snapshot().await;
    let txid = node.send_repeatable(ETH_PAYEE, 1_500_000_000_000_000_000).await;
    let body = json!({"coin": "ETH", "network": "ETH", "address": ETH_PAYEE, "amount": "1.5", "tx_hash": txid});
    app.register(&withdrawal("w-eth", body)).await;
    tick(&app).await;
    let view = state_of(&app, "w-eth").await;
    assert_eq!((view["state"].as_str(), view["confirmations"].as_u64()), (Some("confirming"), Some(1)), "{view}");
    let height = view["block_height"].as_u64().unwrap();
    let hash = node.block_hash(height).await;
    assert_eq!(recorded_block_hash(&app, "w-eth").await.as_deref(), Some(hash.as_str()));
    (app, txid, snapshot, (height, hash))
}

fn assert_eth_back_to_broadcast(view: &Value, (height, hash): &(u64, String)) {
    assert_eq!(view["state"], "broadcast", "{view}");
    assert_eq!((&view["confirmations"], &view["block_height"]), (&Value::Null, &Value::Null), "{view}");
    let reason = format!("block {height} {hash} left the best chain");
    assert_eq!(last_entry(view), ("broadcast", reason.as_str()));
}

#[tokio::test]
async fn ganache_a_tip_replaced_at_the_same_height_is_a_reorg_on_the_next_poll() {
    let node = Ganache::start().await;
    let (app, txid, snapshot, stale) = eth_confirming_in_the_tip(&node, 2).await;
    node.revert(&snapshot).await;
    node.mine().await;
    assert_ne!(node.block_hash(stale.0).await, stale.1, "another block at the same height");
    let report = reorg_tick(&app).await;
    assert_eth_back_to_broadcast(&state_of(&app, "w-eth").await, &stale);
    assert_eq!(report.reorged, 1);

    // The same signed transaction lands in the next block.
    assert_eq!(node.send_repeatable(ETH_PAYEE, 1_500_000_000_000_000_000).await, txid);
    tick(&app).await;
    let view = state_of(&app, "w-eth").await;
    assert_eq!((view["state"].as_str(), view["block_height"].as_u64()), (Some("confirming"), Some(stale.0 + 1)));
    assert_eq!(states(&view), ["pending", "broadcast", "confirming", "broadcast", "confirming"]);
}

#[tokio::test]
async fn ganache_two_blocks_replaced_under_a_tip_of_the_same_height_are_a_reorg_on_the_next_poll() {
    let node = Ganache::start().await;
    let (app, _, snapshot, stale) = eth_confirming_in_the_tip(&node, 3).await;
    node.mine().await;
    tick(&app).await;
    assert_eq!(state_of(&app, "w-eth").await["confirmations"], 2);
    node.revert(&snapshot).await;
    node.mine().await;
    node.mine().await;
    let report = reorg_tick(&app).await;
    assert_eth_back_to_broadcast(&state_of(&app, "w-eth").await, &stale);
    assert_eq!(report.reorged, 1);

    // The third block the stale one would have counted completes nothing.
    node.mine().await;
    tick(&app).await;
    assert_eq!(state_of(&app, "w-eth").await["state"], "broadcast");
}

#[tokio::test]
async fn ganache_a_tip_back_by_one_block_is_a_reorg_on_the_next_poll() {
    let node = Ganache::start().await;
    let (app, txid, snapshot, stale) = eth_confirming_in_the_tip(&node, 2).await;
    node.revert(&snapshot).await;
    let report = reorg_tick(&app).await;
    assert_eth_back_to_broadcast(&state_of(&app, "w-eth").await, &stale);
    assert_eq!(report.reorged, 1, "the tip is one block lower");

    // Mined again at the same height, in another block (a later timestamp:
    // the same transaction on the same parent in the same second would
    // rebuild the very block that left).
    node.rpc("evm_increaseTime", json!([15])).await;
    assert_eq!(node.send_repeatable(ETH_PAYEE, 1_500_000_000_000_000_000).await, txid);
    tick(&app).await;
    let view = state_of(&app, "w-eth").await;
    assert_eq!((view["state"].as_str(), view["block_height"].as_u64()), (Some("confirming"), Some(stale.0)));
    let again = recorded_block_hash(&app, "w-eth").await.unwrap();
    assert_ne!(again, stale.1);
    assert_eq!(again, node.block_hash(stale.0).await);
}
