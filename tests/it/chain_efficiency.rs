//! How many explorer requests the tracker spends per completed withdrawal:
//! counted at the (fake or proxied) server, so the figures are exact and
//! repeatable. Printed for docs/PERFORMANCE.md; the targets are
//! asserted (BTC at most 1.05, ETH at most 0.1).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use serde_json::json;
use withdrawal_tracker::config::ExplorerKind;
use withdrawal_tracker::domain::Network;

use crate::support::app::{Backend, TestApp};
use crate::support::chains::{chain_config, completed, register_sent, BTC_PAYEE, ETH_PAYEE};
use crate::support::fake_esplora::{fake_hash, FakeEsplora};
use crate::support::ganache::Ganache;

/// 10,000 withdrawals, each its own transaction; a block every 10 minutes
/// takes 2,500 of them; the tracker polls every 30 s; 2 confirmations.
#[tokio::test]
async fn bitcoin_costs_about_one_request_per_completed_withdrawal() {
    const WITHDRAWALS: usize = 10_000;
    const PER_BLOCK: usize = 2_500;
    const TICKS_PER_BLOCK: usize = 20;
    let esplora = FakeEsplora::start(3).await;
    let app = TestApp::spawn_with(Backend::Memory, {
        let config = chain_config(ExplorerKind::Esplora, &esplora.base_url, 2);
        move |c| {
            c.networks.insert("BTC".into(), config);
        }
    })
    .await;
    let tracker = &app.chain_trackers[0];
    app.wait_for_first_poll(tracker.network().code()).await;
    tracker.tick().await.unwrap();
    let mut txids = Vec::with_capacity(WITHDRAWALS);
    for i in 0..WITHDRAWALS {
        let input = fake_hash("utxo", i as u64);
        let sats = 10_000 + i as u64;
        let txid = esplora.broadcast(&[(input.as_str(), 0)], &[(Some(BTC_PAYEE), sats)]);
        let amount = format!("0.{sats:08}");
        register_sent(&app, &format!("w-{i}"), Network::Btc, "BTC", BTC_PAYEE, &amount, &txid).await;
        txids.push(txid);
    }
    let before = esplora.requests();
    let mut mined = 0;
    let mut blocks = 0;
    while completed(&app, Network::Btc).await < WITHDRAWALS as u64 {
        for _ in 0..TICKS_PER_BLOCK {
            tracker.tick().await.unwrap();
        }
        let next: Vec<&str> = txids[mined..(mined + PER_BLOCK).min(WITHDRAWALS)].iter().map(String::as_str).collect();
        mined += next.len();
        esplora.mine(&next);
        blocks += 1;
        assert!(blocks < 20, "the tracker stalled");
    }
    let requests = esplora.requests() - before;
    let per_completed = requests as f64 / WITHDRAWALS as f64;
    println!("BTC: {requests} requests for {WITHDRAWALS} completed withdrawals over {blocks} blocks: {per_completed:.4} per completed");
    assert!(per_completed <= 1.05, "{per_completed}");
}

/// A counting proxy in front of ganache: every HTTP request (a JSON-RPC
/// batch counts once) is one request to the explorer.
async fn counting_proxy(upstream: String) -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let shared = (count.clone(), upstream, reqwest::Client::new());
    let server = HttpServer::new(move || {
        let (count, upstream, client) = shared.clone();
        App::new().default_service(web::to(move |body: web::Bytes| {
            let (count, upstream, client) = (count.clone(), upstream.clone(), client.clone());
            async move {
                count.fetch_add(1, Ordering::Relaxed);
                let answer =
                    client.post(&upstream).header("content-type", "application/json").body(body).send().await.unwrap();
                HttpResponse::Ok().content_type("application/json").body(answer.bytes().await.unwrap())
            }
        }))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    (format!("http://127.0.0.1:{port}"), count)
}

/// 40 blocks of 50 withdrawals each, one poll per block, ETH's 64 confirmations.
#[tokio::test]
async fn ether_costs_a_fraction_of_a_request_per_completed_withdrawal() {
    const BLOCKS_WITH_WITHDRAWALS: usize = 40;
    const PER_BLOCK: usize = 50;
    const REQUIRED: u64 = 64;
    let node = Ganache::start().await;
    let (proxy, count) = counting_proxy(node.url.clone()).await;
    let app = TestApp::spawn_with(Backend::Memory, {
        let config = chain_config(ExplorerKind::Evm, &proxy, REQUIRED);
        move |c| {
            c.networks.insert("ETH".into(), config);
        }
    })
    .await;
    let tracker = &app.chain_trackers[0];
    app.wait_for_first_poll(tracker.network().code()).await;
    tracker.tick().await.unwrap();
    node.rpc("miner_stop", json!([])).await;
    let before = count.load(Ordering::Relaxed);
    let total = BLOCKS_WITH_WITHDRAWALS * PER_BLOCK;
    let mut n = 0;
    let mut blocks = 0;
    while completed(&app, Network::Eth).await < total as u64 {
        if n < total {
            for _ in 0..PER_BLOCK {
                let wei = 1_000_000_000_000_000 + n as u128;
                let txid = node.send(Some(ETH_PAYEE), wei, "0x").await;
                register_sent(&app, &format!("w-{n}"), Network::Eth, "ETH", ETH_PAYEE, &format!("0.{wei:018}"), &txid)
                    .await;
                n += 1;
            }
        }
        node.mine().await;
        blocks += 1;
        tracker.tick().await.unwrap();
        assert!(blocks < 200, "the tracker stalled");
    }
    let requests = count.load(Ordering::Relaxed) - before;
    let per_completed = requests as f64 / total as f64;
    println!("ETH: {requests} requests for {total} completed withdrawals over {blocks} blocks: {per_completed:.4} per completed");
    assert!(per_completed <= 0.1, "{per_completed}");
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// Polkadot Asset Hub through Sidecar: a finalized block every 6 s, the
/// tracker polling every 30 s (5 blocks a poll: the head with its block,
/// then the 4 before it), 40 blocks of 50 withdrawals each. Details come
/// from the blocks read: nothing per withdrawal.
#[tokio::test]
async fn polkadot_costs_a_fraction_of_a_request_per_completed_withdrawal() {
    use crate::support::fake_sidecar::{dot_address, FakeSidecar, BASE_HEIGHT};
    const BLOCKS_WITH_WITHDRAWALS: usize = 40;
    const PER_BLOCK: usize = 50;
    const BLOCKS_PER_POLL: usize = 5;
    let fake = FakeSidecar::start(BASE_HEIGHT + 10).await;
    let app = TestApp::spawn_with(Backend::Memory, {
        let config = chain_config(ExplorerKind::Sidecar, &fake.base_url, 1);
        move |c| {
            c.networks.insert("DOT".into(), config);
        }
    })
    .await;
    let tracker = &app.chain_trackers[0];
    app.wait_for_first_poll(tracker.network().code()).await;
    tracker.tick().await.unwrap();
    let payee = dot_address("user");
    let before = fake.requests();
    let total = BLOCKS_WITH_WITHDRAWALS * PER_BLOCK;
    let mut n = 0;
    let mut blocks = 0;
    while completed(&app, Network::Dot).await < total as u64 {
        for _ in 0..BLOCKS_PER_POLL {
            let mut hashes = Vec::new();
            while n < total && hashes.len() < PER_BLOCK {
                let planck = 10_000_000_000 + n as u128;
                let hash = fake.transfer(&payee, planck);
                register_sent(&app, &format!("w-{n}"), Network::Dot, "DOT", &payee, &format!("1.{:010}", n), &hash)
                    .await;
                hashes.push(hash);
                n += 1;
            }
            let hashes: Vec<&str> = hashes.iter().map(String::as_str).collect();
            fake.produce(&hashes);
            blocks += 1;
        }
        tracker.tick().await.unwrap();
        assert!(blocks < 200, "the tracker stalled");
    }
    let requests = fake.requests() - before;
    let per_completed = requests as f64 / total as f64;
    println!("DOT: {requests} requests for {total} completed withdrawals over {blocks} blocks: {per_completed:.4} per completed");
    // One request per block read, none per withdrawal; the app's own poller
    // ticks once at start and may overlap the first measured polls (a few
    // blocks read twice).
    assert!((blocks..=blocks + BLOCKS_PER_POLL + 1).contains(&requests), "{requests} requests for {blocks} blocks");
    assert!(per_completed <= 0.03, "{per_completed}");
}

/// Stellar, ledger-driven: `pending` withdrawals (env `XLM_PENDING`, 2,000
/// by default; docs/PERFORMANCE.md has 10,000), each its own transaction,
/// registered before any ledger holds them (Horizon knows no pending
/// transactions, so each first lookup finds nothing); 20 ledgers take them,
/// one poll per ledger. The payee check comes from the ledger's payments
/// with their transactions joined: no lookup per match.
#[tokio::test]
async fn stellar_costs_about_one_request_per_completed_withdrawal() {
    use crate::support::fake_horizon::{payment, tx_hash, FakeHorizon};
    const PAYEE: &str = "GCEZWKCA5VLDNRLN3RPRJMRZOX3Z6G5CHCGSNFHEYVXM3XOJMDS674JZ";
    let pending: usize = std::env::var("XLM_PENDING").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000);
    let per_ledger = pending.div_ceil(20);
    let horizon = FakeHorizon::start(55_000_000).await;
    let app = TestApp::spawn_with(Backend::Memory, {
        let config = chain_config(ExplorerKind::Horizon, &horizon.base_url, 1);
        move |c| {
            c.networks.insert("XLM".into(), config);
        }
    })
    .await;
    let tracker = &app.chain_trackers[0];
    app.wait_for_first_poll(tracker.network().code()).await;
    tracker.tick().await.unwrap();
    let mut txs = Vec::with_capacity(pending);
    for i in 0..pending {
        let amount = format!("1.{i:07}");
        register_sent(&app, &format!("w-{i}"), Network::Xlm, "XLM", PAYEE, &amount, &tx_hash(i as u64)).await;
        txs.push(payment(i as u64, PAYEE, &amount, None, None));
    }
    let before = horizon.requests();
    let mut ledgers = 0;
    let mut txs = txs.into_iter();
    while completed(&app, Network::Xlm).await < pending as u64 {
        tracker.tick().await.unwrap();
        horizon.close_ledger(txs.by_ref().take(per_ledger).collect());
        ledgers += 1;
        assert!(ledgers < 40, "the tracker stalled");
    }
    let requests = horizon.requests() - before;
    let per_completed = requests as f64 / pending as f64;
    println!("XLM: {requests} requests for {pending} completed withdrawals over {ledgers} ledgers: {per_completed:.4} per completed");
    assert!(per_completed <= 1.1, "{per_completed}");
}

/// TON, status-driven: `TON_PENDING` withdrawals (200 by default), each
/// registered with its external message hash before it lands; 10 masterchain
/// blocks take them (wallet and recipient transactions in the same block),
/// one poll per block. toncenter v3 looks transactions up one message at a
/// time, so a withdrawal costs one request per poll while it waits, and two
/// (its wallet's and its recipient's transactions) once it lands; the
/// details of a final one come from that same status read.
#[tokio::test]
async fn ton_costs_a_request_per_poll_while_pending() {
    use crate::support::fake_toncenter::{friendly, raw_account, FakeToncenter, Payout};
    let pending: u64 = std::env::var("TON_PENDING").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let blocks = 10;
    let per_block = pending.div_ceil(blocks);
    let center = FakeToncenter::start(48_000_000).await;
    let app = TestApp::spawn_with(Backend::Memory, {
        let config = chain_config(ExplorerKind::Toncenter, &center.base_url, 1);
        move |c| {
            c.networks.insert("TON".into(), config);
        }
    })
    .await;
    let tracker = &app.chain_trackers[0];
    app.wait_for_first_poll(tracker.network().code()).await;
    tracker.tick().await.unwrap();
    let user = raw_account("user", 1);
    for n in 0..pending {
        let amount = format!("1.{n:09}");
        let external = crate::support::fake_toncenter::external_hash(n);
        register_sent(&app, &format!("w-{n}"), Network::Ton, "TON", &friendly(&user), &amount, &external).await;
    }
    let before = center.requests();
    let mut polls = 0;
    let mut landed = 0;
    while completed(&app, Network::Ton).await < pending {
        tracker.tick().await.unwrap();
        center.advance(1);
        let seqno = center.seqno();
        for n in landed..(landed + per_block).min(pending) {
            center.pay(&Payout::ton(n, &user, 1_000_000_000 + n, None), seqno, Some(seqno));
        }
        landed = (landed + per_block).min(pending);
        polls += 1;
        assert!(polls < 30, "the tracker stalled");
    }
    let requests = center.requests() - before;
    let per_completed = requests as f64 / pending as f64;
    println!("TON: {requests} requests for {pending} completed withdrawals over {polls} polls: {per_completed:.4} per completed");
    // 5.5 polls waiting on average (one request each; as a transaction hash
    // too the first and every tenth time), 2 when it lands, the tip and one
    // masterchain read per batch of 20 per poll: about 9.
    assert!(per_completed <= 10.0, "{per_completed}");
}
