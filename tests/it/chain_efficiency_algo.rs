//! Explorer requests per completed withdrawal on Algorand (algod and its
//! indexer, block-driven), counted at the fake. The number of withdrawals is
//! `WT_EFFICIENCY_PENDING` (default 2,500; docs/PERFORMANCE.md has the
//! 10,000 figures and the command). Printed for the docs; the bound the
//! design gives is asserted.

use withdrawal_tracker::config::ExplorerKind;
use withdrawal_tracker::domain::address::ValidatedAddress;
use withdrawal_tracker::domain::{Amount, Network, Registration, State, TxHash, UserId, WithdrawalId};
use withdrawal_tracker::store::IndexKey;

use crate::chain_algod::PAYEE;
use crate::support::app::{Backend, TestApp};
use crate::support::chains::{by_endpoint, chain_config};
use crate::support::fake_algod::{payment, tx_id, FakeAlgod};

fn pending() -> usize {
    std::env::var("WT_EFFICIENCY_PENDING").ok().and_then(|n| n.parse().ok()).unwrap_or(2_500)
}

/// Withdrawals arrive 150 per poll, each sent to the pool before it is
/// registered; a poll every ~10 s sees 3 new rounds (one every ~2.9 s on
/// mainnet) of 50 of them each; one confirmation (a round is final).
#[tokio::test]
async fn algorand_requests_per_completed_withdrawal() {
    const PER_ROUND: usize = 50;
    const ROUNDS_PER_POLL: usize = 3;
    let n = pending();
    let fake = FakeAlgod::start(46_000_000).await;
    let app = TestApp::spawn_with(Backend::Memory, {
        let mut config = chain_config(ExplorerKind::Algod, &fake.base_url, 1);
        config.indexer_urls = vec![fake.indexer_url.clone()];
        move |c| {
            c.networks.insert("ALGO".into(), config);
        }
    })
    .await;
    let tracker = &app.chain_trackers[0];
    app.wait_for_first_poll(tracker.network().code()).await;
    // The app's own tracker task polls once as it starts (then waits its
    // hour-long interval): let that poll pass before counting.
    tracker.tick().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let before = fake.requests();
    let (mut registered, mut included, mut polls) = (0, 0, 0);
    loop {
        let completed =
            app.service.store.count(&[IndexKey::StateNetwork(State::Completed, Network::Algo)]).await.unwrap()[0];
        if completed >= n as u64 {
            break;
        }
        let arriving = registered..(registered + PER_ROUND * ROUNDS_PER_POLL).min(n);
        registered = arriving.end;
        for i in arriving {
            let microalgos = 1_000_000 + i as u64;
            fake.submit(payment(i as u64, PAYEE, microalgos, None, None));
            let registration = Registration {
                id: WithdrawalId::parse(&format!("w-{i}")).unwrap(),
                user_id: UserId::parse("u-bench").unwrap(),
                coin: "ALGO".into(),
                destination: ValidatedAddress::parse(Network::Algo, PAYEE, None).unwrap(),
                amount: Amount::parse(&format!("{}.{:06}", microalgos / 1_000_000, microalgos % 1_000_000)).unwrap(),
                requested_at: None,
                tx_hash: Some(TxHash::parse(Network::Algo, &tx_id(i as u64)).unwrap()),
            };
            app.service.register(registration).await.unwrap();
        }
        tracker.tick().await.unwrap();
        for _ in 0..ROUNDS_PER_POLL {
            let next: Vec<String> = (included..(included + PER_ROUND).min(n)).map(|i| tx_id(i as u64)).collect();
            included += next.len();
            fake.next_round(vec![], &next);
        }
        polls += 1;
        assert!(polls < n / (PER_ROUND * ROUNDS_PER_POLL) + 10, "the tracker stalled");
    }
    let requests = fake.requests() - before;
    println!("ALGO by endpoint: {:?}", by_endpoint(&fake.paths()[before..]));
    let per_completed = requests as f64 / n as f64;
    println!(
        "ALGO: {requests} requests for {n} completed withdrawals over {polls} polls: {per_completed:.4} per completed"
    );
    // One pool lookup per new hash (the payee is checked on it); each round
    // costs its hash and its indexer block, each poll the tip's three.
    assert!(per_completed <= 1.1, "{per_completed}");
}
