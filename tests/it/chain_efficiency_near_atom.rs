//! Explorer requests per completed withdrawal on NEAR and the Cosmos Hub,
//! both followed by status, counted at the fake server: `NEAR_ATOM_PENDING`
//! withdrawals (200 by default), each its own transaction registered before
//! it lands, 20 landing per poll (one block per poll). Printed for
//! docs/PERFORMANCE.md; the bounds the designs give are asserted.

use withdrawal_tracker::config::ExplorerKind;
use withdrawal_tracker::domain::Network;

use crate::support::app::{Backend, TestApp};
use crate::support::chains::{chain_config, completed, register_sent};
use crate::support::fake_cosmos::{self, cosmos_address, FakeCosmos};
use crate::support::fake_near::{self, FakeNear, HOT_WALLET};

const PER_POLL: u64 = 20;

fn pending() -> u64 {
    std::env::var("NEAR_ATOM_PENDING").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
}

async fn app_on(network: &str, mut config: withdrawal_tracker::config::NetworkChainConfig) -> TestApp {
    // 20 lookups at once on a machine shared with other tests: no timeouts.
    config.request_timeout = withdrawal_tracker::config::HumanDuration(std::time::Duration::from_secs(10));
    let network = network.to_owned();
    TestApp::spawn_with(Backend::Memory, move |c| {
        c.networks.insert(network, config);
    })
    .await
}

/// NEAR: per poll the final tip, then one `tx` per waiting transaction
/// (in the pool: `TIMEOUT_ERROR`, an answer), and once a block of them is
/// in, one `block` by hash for the credit block's height (shared by the
/// block's transactions). Final four blocks after inclusion (the credit and
/// the refund receipts, two blocks to finality), so a withdrawal is asked
/// about 5.5 polls waiting plus 5 landing: about 10.5, plus the tip and the
/// block lookups shared by 20.
#[tokio::test]
async fn near_costs_a_request_per_poll_while_pending() {
    let pending = pending();
    let fake = FakeNear::start(fake_near::BASE_HEIGHT).await;
    let mut config = chain_config(ExplorerKind::NearRpc, &fake.base_url, 1);
    config.senders = vec![HOT_WALLET.to_owned()];
    let app = app_on("NEAR", config).await;
    let tracker = &app.chain_trackers[0];
    app.wait_for_first_poll(tracker.network().code()).await;
    tracker.tick().await.unwrap();
    for n in 0..pending {
        let tx = fake_near::transfer(n, "bob.near", 10u128.pow(24) + u128::from(n));
        fake.submit(tx);
        let amount = format!("1.{n:024}");
        register_sent(&app, &format!("w-{n}"), Network::Near, "NEAR", "bob.near", &amount, &fake_near::tx_hash(n))
            .await;
    }
    let before = fake.requests();
    let (mut polls, mut landed) = (0, 0);
    while completed(&app, Network::Near).await < pending {
        tracker.tick().await.unwrap();
        let batch: Vec<_> = (landed..(landed + PER_POLL).min(pending))
            .map(|n| fake_near::transfer(n, "bob.near", 10u128.pow(24) + u128::from(n)))
            .collect();
        if batch.is_empty() {
            fake.produce(1);
        } else {
            fake.send_all(batch);
        }
        landed = (landed + PER_POLL).min(pending);
        polls += 1;
        assert!(polls < 40, "the tracker stalled");
    }
    let requests = fake.requests() - before;
    let per_completed = requests as f64 / pending as f64;
    println!("NEAR: {requests} requests for {pending} completed withdrawals over {polls} polls: {per_completed:.4} per completed");
    assert!(per_completed <= 11.5, "{per_completed}");
}

/// ATOM: per poll the latest block, then one lookup per waiting
/// transaction; a committed one is final at that lookup, its details kept
/// for the completion (no second request). A withdrawal is asked about 5.5
/// polls waiting plus the one that finds it.
#[tokio::test]
async fn atom_costs_a_request_per_poll_while_pending() {
    let pending = pending();
    let fake = FakeCosmos::start(fake_cosmos::BASE_HEIGHT).await;
    let app = app_on("ATOM", chain_config(ExplorerKind::CosmosRest, &fake.base_url, 1)).await;
    let tracker = &app.chain_trackers[0];
    app.wait_for_first_poll(tracker.network().code()).await;
    tracker.tick().await.unwrap();
    let user = cosmos_address("user");
    for n in 0..pending {
        let amount = format!("1.{n:06}");
        let hash = fake_cosmos::tx_hash(n).to_ascii_lowercase();
        register_sent(&app, &format!("w-{n}"), Network::Atom, "ATOM", &user, &amount, &hash).await;
    }
    let before = fake.requests();
    let (mut polls, mut landed) = (0, 0);
    while completed(&app, Network::Atom).await < pending {
        tracker.tick().await.unwrap();
        let batch: Vec<_> = (landed..(landed + PER_POLL).min(pending))
            .map(|n| fake_cosmos::send(n, &user, &[("uatom", 1_000_000 + u128::from(n))], ""))
            .collect();
        fake.commit_all(batch);
        landed = (landed + PER_POLL).min(pending);
        polls += 1;
        assert!(polls < 40, "the tracker stalled");
    }
    let requests = fake.requests() - before;
    let per_completed = requests as f64 / pending as f64;
    println!("ATOM: {requests} requests for {pending} completed withdrawals over {polls} polls: {per_completed:.4} per completed");
    assert!(per_completed <= 7.0, "{per_completed}");
}
