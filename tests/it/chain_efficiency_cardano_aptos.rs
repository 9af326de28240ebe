//! Explorer requests per completed withdrawal on Cardano (Blockfrost) and
//! Aptos, counted at the fake server. The number of pending withdrawals is
//! `WT_EFFICIENCY_PENDING` (default 2,500; docs/PERFORMANCE.md has the
//! 10,000 figures and the command). Printed for the docs; the bounds the
//! designs give are asserted.

use withdrawal_tracker::config::ExplorerKind;
use withdrawal_tracker::domain::Network;

use crate::chain_blockfrost::ADA_PAYEE;
use crate::support::app::{Backend, TestApp};
use crate::support::chains::{by_endpoint, chain_config, completed, register_sent};
use crate::support::fake_aptos::{account, tx_hash, AptTx, FakeAptos};
use crate::support::fake_blockfrost::{fake_hash, AdaOutput, FakeBlockfrost};

fn pending() -> usize {
    std::env::var("WT_EFFICIENCY_PENDING").ok().and_then(|n| n.parse().ok()).unwrap_or(2_500)
}

/// Every withdrawal its own transaction, registered before it is in a
/// block; blocks of at most 250 of them (a full 90 kB Cardano block of
/// simple payments); one poll per block; 15 confirmations.
#[tokio::test]
async fn cardano_requests_per_completed_withdrawal() {
    const PER_BLOCK: usize = 250;
    let n = pending();
    let fake = FakeBlockfrost::start(3).await;
    let app = TestApp::spawn_with(Backend::Memory, {
        let config = chain_config(ExplorerKind::Blockfrost, &fake.base_url, 15);
        move |c| {
            c.networks.insert("ADA".into(), config);
        }
    })
    .await;
    let tracker = &app.chain_trackers[0];
    app.wait_for_first_poll(tracker.network().code()).await;
    tracker.tick().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut txids = Vec::with_capacity(n);
    for i in 0..n {
        let lovelace = 1_000_000 + i as u64;
        let txid = fake.submit(
            &[(fake_hash("ada-bench", i as u64).as_str(), 0)],
            &[AdaOutput::ada(ADA_PAYEE, lovelace)],
            None,
        );
        register_sent(
            &app,
            &format!("w-{i}"),
            Network::Ada,
            "ADA",
            ADA_PAYEE,
            &format!("{}.{:06}", lovelace / 1_000_000, lovelace % 1_000_000),
            &txid,
        )
        .await;
        txids.push(txid);
    }
    let before = fake.requests();
    let (mut mined, mut blocks) = (0, 0);
    while completed(&app, Network::Ada).await < n as u64 {
        tracker.tick().await.unwrap();
        let next: Vec<&str> = txids[mined..(mined + PER_BLOCK).min(n)].iter().map(String::as_str).collect();
        mined += next.len();
        fake.mine(&next);
        blocks += 1;
        assert!(blocks < n / PER_BLOCK + 40, "the tracker stalled");
    }
    let requests = fake.requests() - before;
    println!("ADA by endpoint: {:?}", by_endpoint(&fake.paths()[before..]));
    let per_completed = requests as f64 / n as f64;
    println!(
        "ADA: {requests} requests for {n} completed withdrawals over {blocks} blocks: {per_completed:.4} per completed"
    );
    // One lookup before inclusion (Blockfrost cannot see the mempool: a
    // 404); the outputs come with the block's CBOR.
    assert!(per_completed <= 1.1, "{per_completed}");
}

/// Withdrawals arrive 500 per poll, each committed before the next poll
/// (Aptos commits within a second or two; the poll interval is longer).
#[tokio::test]
async fn aptos_requests_per_completed_withdrawal() {
    const PER_POLL: usize = 500;
    let n = pending();
    let node = FakeAptos::start(0).await;
    let app = TestApp::spawn_with(Backend::Memory, {
        let config = chain_config(ExplorerKind::Aptos, &node.base_url, 1);
        move |c| {
            c.networks.insert("APT".into(), config);
        }
    })
    .await;
    let tracker = &app.chain_trackers[0];
    app.wait_for_first_poll(tracker.network().code()).await;
    let (hot, user) = (account("exchange"), account("user"));
    // The app's own tracker task polls once as it starts (then waits its
    // hour-long interval): let that poll pass before counting.
    tracker.tick().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let before = node.requests();
    let (mut registered, mut polls) = (0, 0);
    while completed(&app, Network::Apt).await < n as u64 {
        for i in registered..(registered + PER_POLL).min(n) {
            let octas = 100_000_000 + i as u64;
            let hash = tx_hash(10_000 + i as u64);
            node.submit(&hash, AptTx::apt_transfer(&hot, &user, octas));
            register_sent(
                &app,
                &format!("w-{i}"),
                Network::Apt,
                "APT",
                &user,
                &format!("{}.{:08}", octas / 100_000_000, octas % 100_000_000),
                &hash,
            )
            .await;
            node.commit(&hash, true);
        }
        registered = (registered + PER_POLL).min(n);
        tracker.tick().await.unwrap();
        polls += 1;
        assert!(polls < n / PER_POLL + 10, "the tracker stalled");
    }
    let requests = node.requests() - before;
    println!("APT by endpoint: {:?}", by_endpoint(&node.paths()[before..]));
    let per_completed = requests as f64 / n as f64;
    println!(
        "APT: {requests} requests for {n} completed withdrawals over {polls} polls: {per_completed:.4} per completed"
    );
    assert!(per_completed <= 1.1, "{per_completed}");
}
