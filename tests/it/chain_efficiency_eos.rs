//! Explorer requests per completed withdrawal on EOS (the Antelope chain
//! API), counted at the fake nodeos: block-driven from the last
//! irreversible block, two blocks a second, one poll every 10 s (20 blocks a
//! poll). The number of withdrawals is `WT_EFFICIENCY_PENDING` (default
//! 2,500) and how many arrive per poll `WT_EFFICIENCY_EOS_PER_POLL` (default
//! 100); docs/PERFORMANCE.md has the figures and the command. The bound the
//! design gives is asserted: one status lookup per withdrawal, and per poll
//! `get_info` and one `get_block` per block.

use withdrawal_tracker::config::{ExplorerKind, HumanDuration};
use withdrawal_tracker::domain::address::ValidatedAddress;
use withdrawal_tracker::domain::{Amount, Network, Registration, TxHash, UserId, WithdrawalId};

use crate::support::app::{Backend, TestApp};
use crate::support::chains::{chain_config, completed};
use crate::support::fake_antelope::{transfer, tx_id, FakeAntelope};

const BLOCKS_PER_POLL: usize = 20;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|n| n.parse().ok()).unwrap_or(default)
}

/// Withdrawals arrive `per_poll` between two polls, each registered with its
/// hash as it is broadcast and included in one of the 20 blocks produced
/// before the next poll (irreversible 3 blocks after, as the fake makes it).
#[tokio::test]
async fn eos_requests_per_completed_withdrawal() {
    let (n, per_poll) = (env("WT_EFFICIENCY_PENDING", 2_500), env("WT_EFFICIENCY_EOS_PER_POLL", 100));
    let fake = FakeAntelope::start(10_000_000).await;
    let app = TestApp::spawn_with(Backend::Memory, {
        let mut config = chain_config(ExplorerKind::Antelope, &fake.base_url, 1);
        config.poll_interval = HumanDuration(std::time::Duration::from_secs(20));
        move |c| {
            c.networks.insert("EOS".into(), config);
        }
    })
    .await;
    let tracker = &app.chain_trackers[0];
    app.wait_for_first_poll(tracker.network().code()).await;
    // The app's own tracker task polls once as it starts: let it pass.
    tracker.tick().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let before = fake.requests();
    let (mut registered, mut polls) = (0, 0);
    while completed(&app, Network::Eos).await < n as u64 {
        let arriving: Vec<usize> = (registered..(registered + per_poll).min(n)).collect();
        for &i in &arriving {
            let registration = Registration {
                id: WithdrawalId::parse(&format!("w-{i}")).unwrap(),
                user_id: UserId::parse("u-bench").unwrap(),
                coin: "EOS".into(),
                destination: ValidatedAddress::parse(Network::Eos, "payee", Some(&format!("m{i}"))).unwrap(),
                amount: Amount::parse(&format!("1.{:04}", i % 10_000)).unwrap(),
                requested_at: None,
                tx_hash: Some(TxHash::parse(Network::Eos, &tx_id(i as u64)).unwrap()),
            };
            app.service.register(registration).await.unwrap();
        }
        registered += arriving.len();
        let chunk = arriving.len().div_ceil(BLOCKS_PER_POLL).max(1);
        let mut batches = arriving.chunks(chunk);
        for _ in 0..BLOCKS_PER_POLL {
            let txs = batches.next().unwrap_or_default().iter().map(|&i| {
                transfer(i as u64, "eosio.token", "payee", &format!("1.{:04} EOS", i % 10_000), &format!("m{i}"))
            });
            fake.produce(txs.collect());
        }
        tracker.tick().await.unwrap();
        polls += 1;
        assert!(polls < n / per_poll.max(1) + 10, "the tracker stalled");
    }
    let requests = fake.requests() - before;
    let mut by_call = std::collections::BTreeMap::new();
    for path in &fake.paths()[before..] {
        *by_call.entry(path.clone()).or_insert(0) += 1;
    }
    let per_completed = requests as f64 / n as f64;
    println!("EOS by endpoint: {by_call:?}");
    println!("EOS: {requests} requests for {n} completed withdrawals over {polls} polls ({per_poll} a poll, {BLOCKS_PER_POLL} blocks a poll): {per_completed:.4} per completed");
    let bound = 1.0 + (BLOCKS_PER_POLL + 1) as f64 * polls as f64 / n as f64;
    assert!(per_completed <= bound + 0.01, "{per_completed} > {bound}");
    let last = app.get_withdrawal(&format!("w-{}", n - 1)).await;
    assert_eq!(last["payee_mismatch"], serde_json::Value::Null, "payee checked from the blocks read: {last}");
}
