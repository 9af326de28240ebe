//! The arrival estimate's chain signals: each explorer's new calls against
//! the fake Esplora (documented shapes) and a real ganache node, and the
//! tracker turning them, and block times, into delays and statistics.

use std::time::Duration;

use serde_json::{json, Value};
use withdrawal_tracker::chain::{BlockChain, ClientConfig, EsploraClient, EvmClient};
use withdrawal_tracker::config::ExplorerKind;
use withdrawal_tracker::domain::Network;

use crate::support::app::{Backend, TestApp, SUPPORT_TOKEN};
use crate::support::chains::{chain_config, BTC_PAYEE};
use crate::support::fake_esplora::{fake_hash, FakeEsplora, Mode};
use crate::support::ganache::{Ganache, FUNDED};

fn esplora(fake: &FakeEsplora) -> EsploraClient {
    EsploraClient::new(ClientConfig::new([fake.base_url.clone()], Duration::from_millis(500)))
}

#[tokio::test]
async fn esplora_signals_read_the_mempool_the_fee_estimates_and_the_lookups_fee_rate() {
    let fake = FakeEsplora::start(3).await;
    let low = fake.broadcast(&[(&fake_hash("in", 1), 0)], &[(Some(BTC_PAYEE), 50_000)]);
    let high = fake.broadcast(&[(&fake_hash("in", 2), 0)], &[(Some(BTC_PAYEE), 60_000)]);
    fake.set_fees(|s| {
        s.fee_rates.insert(low.clone(), 2.0);
        s.fee_rates.insert(high.clone(), 30.0);
        s.backlog_vsize = 4_000_000;
    });
    let client = esplora(&fake);
    // The lookup the tracker makes anyway carries the fee rate.
    client.transaction(&low).await.unwrap().unwrap();
    let before = fake.requests();
    let readings = client.signals(&[low.clone(), high.clone()]).await.unwrap();
    // /mempool, /fee-estimates, and /v1/fees/mempool-blocks (404: Blockstream's server).
    assert_eq!(fake.requests() - before, 3);
    assert_eq!(readings.mempool_vsize, Some(4_000_000 + 281));
    assert_eq!(readings.fee_for_blocks.first(), Some(&(1, 20.0)));
    assert_eq!(readings.fee_for_blocks.last(), Some(&(1008, 1.0)));
    assert!(readings.fee_for_blocks.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(readings.next_block_min_fee, None);
    let rate = readings.txs[&low].fee_rate.unwrap();
    assert!((rate - 2.0).abs() < 0.01, "{rate}");
    assert!(!readings.txs.contains_key(&high), "never looked up: no request for it either");
    // The missing endpoint is remembered: two requests from now on.
    let before = fake.requests();
    client.signals(std::slice::from_ref(&low)).await.unwrap();
    assert_eq!(fake.requests() - before, 2);
    let paths: Vec<String> = fake.log().iter().rev().take(2).map(|r| r.path.clone()).collect();
    assert!(paths.contains(&"/mempool".to_owned()) && paths.contains(&"/fee-estimates".to_owned()), "{paths:?}");

    // mempool.space offers the projected blocks: the next one's lowest fee.
    fake.set_fees(|s| s.mempool_blocks = Some(vec![4.0, 6.5, 9.0, 12.0, 40.0]));
    let readings = esplora(&fake).signals(&[]).await.unwrap();
    assert_eq!(readings.next_block_min_fee, Some(4.0));
}

#[tokio::test]
async fn evm_signals_read_the_fee_history_and_the_senders_nonces_on_ganache() {
    let node = Ganache::start().await;
    let client = EvmClient::new(ClientConfig::new([node.url.clone()], Duration::from_secs(5)), 20);
    node.mine().await;
    node.rpc("miner_stop", json!([])).await;
    // Two transactions of one sender wait: the second waits on the first.
    let first = node.send(Some("0x1111111111111111111111111111111111111111"), 1_000, "0x").await;
    let second = node.send(Some("0x1111111111111111111111111111111111111111"), 2_000, "0x").await;
    let readings = client.signals(&[first.clone(), second.clone()]).await.unwrap();
    let base_fee = readings.base_fee_gwei.expect("eth_feeHistory's next base fee");
    assert!(base_fee > 0.0, "{base_fee}");
    let ratio = readings.gas_used_ratio.expect("gasUsedRatio");
    assert!((0.0..=1.0).contains(&ratio), "{ratio}");
    let (a, b) = (&readings.txs[&first], &readings.txs[&second]);
    let latest = a.sender_latest_nonce.unwrap();
    assert_eq!(a.nonce, Some(latest), "the first is next in line");
    assert_eq!(b.nonce, Some(latest + 1), "the second waits on the first");
    // ganache answers `pending` as `latest` while its miner is stopped (a
    // node with a pool counts the two waiting ones): never below it.
    assert!(b.sender_pending_nonce.unwrap() >= latest);
    assert!(a.max_fee_gwei.unwrap() >= base_fee, "ganache prices it to be mined");
    // Once mined, nothing waits.
    node.mine().await;
    let readings = client.signals(&[first, second]).await.unwrap();
    assert!(readings.txs.is_empty(), "{:?}", readings.txs);
    let _ = FUNDED;
}

async fn view(app: &TestApp, id: &str) -> Value {
    app.service.eta.refresh(app.service.store.as_ref(), &[Network::Btc], app.clock_now()).await.unwrap();
    app.get_as(&format!("/v1/withdrawals/{id}"), SUPPORT_TOKEN).await.json().await.unwrap()
}

#[tokio::test]
async fn the_tracker_turns_signals_and_block_times_into_delays_and_statistics() {
    let fake = FakeEsplora::start(3).await;
    let app = TestApp::spawn_with(Backend::Memory, {
        let config = chain_config(ExplorerKind::Esplora, &fake.base_url, 2);
        move |c| {
            c.networks.insert("BTC".into(), config);
        }
    })
    .await;
    let tracker = &app.chain_trackers[0];
    // Eleven blocks ten minutes apart, the first read by the first poll.
    let start = 1_800_000_000;
    fake.mine_at(&[], start);
    tracker.tick().await.unwrap();
    for i in 1..=10 {
        fake.mine_at(&[], start + 600 * i);
    }
    let low = fake.broadcast(&[(&fake_hash("in", 7), 0)], &[(Some(BTC_PAYEE), 70_000)]);
    fake.set_fees(|s| {
        s.fee_rates.insert(low.clone(), 2.0);
    });
    let registration = json!({
        "id": "w-low", "user_id": "alice", "coin": "BTC", "network": "BTC", "address": BTC_PAYEE,
        "amount": "0.0007", "tx_hash": low,
    });
    assert_eq!(app.register(&registration).await.status(), 201);
    tracker.tick().await.unwrap();

    let stats =
        withdrawal_tracker::eta::load_stats(app.service.store.as_ref(), Network::Btc, app.clock_now()).await.unwrap();
    assert_eq!(stats.block_interval.count(), 10.0, "ten intervals, each from the block read before");
    let p50 = stats.block_interval.quantile(0.5).unwrap();
    assert!((512.0..=609.0).contains(&p50), "{p50}");

    let seen = view(&app, "w-low").await;
    assert_eq!(seen["eta"]["basis"], "mempool");
    assert_eq!(seen["delay"]["code"], "low_fee", "{seen}");
    assert_eq!(seen["delay"]["details"]["fee_needed"], 20.0);
    assert!(seen["message"].as_str().unwrap().contains("fee is below"), "{}", seen["message"]);

    // The explorer goes away: the delay is ours.
    fake.set_mode(Mode::Down);
    assert!(tracker.tick().await.is_err());
    let blind = view(&app, "w-low").await;
    assert_eq!(blind["delay"]["code"], "explorer_unavailable");
    // Back, and the fee bumped (the same transaction, for the fake): on track.
    fake.set_mode(Mode::Normal);
    fake.set_fees(|s| {
        s.fee_rates.insert(low.clone(), 25.0);
    });
    let page: Value = app.get_as("/v1/overdue?delay=explorer_unavailable", SUPPORT_TOKEN).await.json().await.unwrap();
    assert!(page["items"].as_array().unwrap().is_empty(), "not overdue: not in the list");
    tracker.tick().await.unwrap();
    let back = view(&app, "w-low").await;
    assert_eq!(back["delay"]["code"], "low_fee", "the fee rate is the one the lookup saw: {back}");
}
