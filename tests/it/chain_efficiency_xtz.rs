//! Explorer requests per completed withdrawal on Tezos (Octez node RPC),
//! counted at the fake node. The number of pending withdrawals is
//! `WT_EFFICIENCY_PENDING` (default 2,500; docs/PERFORMANCE.md has the
//! figures and the command). Printed for the docs; the bound the design
//! gives is asserted.

use withdrawal_tracker::config::ExplorerKind;
use withdrawal_tracker::domain::address::ValidatedAddress;
use withdrawal_tracker::domain::{Amount, Network, Registration, TxHash, UserId, WithdrawalId};

use crate::chain_octez::XTZ_PAYEE;
use crate::support::app::{Backend, TestApp};
use crate::support::chains::{by_endpoint, chain_config, completed};
use crate::support::fake_octez::{op_hash, transfer, FakeOctez};

fn pending() -> usize {
    std::env::var("WT_EFFICIENCY_PENDING").ok().and_then(|n| n.parse().ok()).unwrap_or(2_500)
}

/// Every withdrawal its own operation, all registered first; the exchange
/// broadcasts 200 at a time, each batch in the mempool for one poll, then
/// in the next block; one poll per block; 3 confirmations (final with two
/// blocks on top).
#[tokio::test]
async fn tezos_requests_per_completed_withdrawal() {
    const PER_BLOCK: usize = 200;
    let n = pending();
    let head = 8_000_000;
    let fake = FakeOctez::start(head).await;
    let app = TestApp::spawn_with(Backend::Memory, {
        let config = chain_config(ExplorerKind::Octez, &fake.base_url, 3);
        move |c| {
            c.networks.insert("XTZ".into(), config);
        }
    })
    .await;
    let tracker = &app.chain_trackers[0];
    app.wait_for_first_poll(tracker.network().code()).await;
    tracker.tick().await.unwrap();
    let mut hashes = Vec::with_capacity(n);
    let mut ops = Vec::with_capacity(n);
    for i in 0..n {
        let mutez = 1_000_000 + i as u64;
        let op = transfer(i as u64, XTZ_PAYEE, mutez, head);
        let registration = Registration {
            id: WithdrawalId::parse(&format!("w-{i}")).unwrap(),
            user_id: UserId::parse("u-bench").unwrap(),
            coin: "XTZ".into(),
            destination: ValidatedAddress::parse(Network::Xtz, XTZ_PAYEE, None).unwrap(),
            amount: Amount::parse(&format!("{}.{:06}", mutez / 1_000_000, mutez % 1_000_000)).unwrap(),
            requested_at: None,
            tx_hash: Some(TxHash::parse(Network::Xtz, &op_hash(i as u64)).unwrap()),
        };
        app.service.register(registration).await.unwrap();
        hashes.push(op.hash.clone());
        ops.push(op);
    }
    let before = fake.requests();
    let (mut mined, mut blocks) = (0, 0);
    while completed(&app, Network::Xtz).await < n as u64 {
        let end = (mined + PER_BLOCK).min(n);
        fake.inject(ops[mined..end].to_vec());
        tracker.tick().await.unwrap();
        let next: Vec<&str> = hashes[mined..end].iter().map(String::as_str).collect();
        mined = end;
        fake.bake(&next, vec![]);
        blocks += 1;
        assert!(blocks < n / PER_BLOCK + 40, "the tracker stalled");
    }
    let requests = fake.requests() - before;
    println!("XTZ by endpoint: {:?}", by_endpoint(&fake.paths()[before..]));
    let per_completed = requests as f64 / n as f64;
    println!(
        "XTZ: {requests} requests for {n} completed withdrawals over {blocks} blocks: {per_completed:.4} per completed"
    );
    // The mempool read once for all new lookups, then per block its header
    // and operations: the payee check costs no request.
    assert!(per_completed <= 0.1, "{per_completed}");
}
