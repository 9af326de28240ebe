//! The NEAR client against a fake NEAR RPC node: the final tip, statuses
//! through `tx` (asked at `wait_until: NONE` under each configured sender),
//! levels up to `FINAL` with the credit in the receipt's block, success and
//! failure, NEAR and NEP-141 USDT payments, expiry by block height, NEAR's
//! error objects, throttling, garbage, hangs and failover.

use std::time::Duration;

use withdrawal_tracker::chain::{
    Asset, BaseUnits, ChainError, ClientConfig, NearClient, PendingTx, StatusChain, TxLocation,
};

use crate::support::explorer_transport;
use crate::support::fake_near::{
    block_hash, ft_transfer, transfer, tx_hash, FakeNear, Mode, BASE_HEIGHT, FINALITY_LAG, HOT_WALLET, USDT_CONTRACT,
};

fn client_with(urls: &[&str], senders: &[&str]) -> NearClient {
    NearClient::new(
        ClientConfig::new(urls.iter().copied(), Duration::from_millis(500)),
        senders.iter().map(|s| s.to_string()),
    )
}

fn client(urls: &[&str]) -> NearClient {
    client_with(urls, &[HOT_WALLET])
}

const ONE_NEAR: u128 = 1_000_000_000_000_000_000_000_000;

#[tokio::test]
async fn the_tip_is_the_final_block() {
    let fake = FakeNear::start(BASE_HEIGHT).await;
    let tip = client(&[&fake.base_url]).tip().await.unwrap();
    assert_eq!((tip.height, tip.hash), (BASE_HEIGHT - FINALITY_LAG, block_hash(BASE_HEIGHT - FINALITY_LAG)));
}

#[tokio::test]
async fn a_transfer_is_followed_to_final_with_its_credit_in_the_receipts_block() {
    let fake = FakeNear::start(BASE_HEIGHT).await;
    let near = client(&[&fake.base_url]);
    let pending = [PendingTx::new(tx_hash(1))];

    fake.submit(transfer(1, "bob.near", 3 * ONE_NEAR / 2));
    let status = &near.statuses_of(&pending).await.unwrap()[0];
    assert_eq!(
        (status.location.clone(), status.finalized, status.success),
        (Some(TxLocation::Mempool), false, None),
        "in the pool the node times out waiting for it: known, pending"
    );
    let second = FakeNear::start(BASE_HEIGHT).await;
    let both = client(&[&fake.base_url, &second.base_url]);
    assert_eq!(both.statuses_of(&pending).await.unwrap()[0].location, Some(TxLocation::Mempool));
    assert_eq!(second.requests(), 0, "a TIMEOUT_ERROR on `tx` is an answer: no failover");

    let included = fake.send(transfer(1, "bob.near", 3 * ONE_NEAR / 2));
    fake.produce(1);
    let status = &near.statuses_of(&pending).await.unwrap()[0];
    assert!(!status.finalized && status.success.is_none(), "executed, not final: no outcome yet: {status:?}");
    let Some(TxLocation::Block(at)) = &status.location else { panic!("in a block: {status:?}") };
    assert_eq!((at.height, at.hash.clone()), (included + 1, block_hash(included + 1)), "the credit's block");

    fake.produce(FINALITY_LAG + 1);
    let before = fake.requests();
    let status = &near.statuses_of(&pending).await.unwrap()[0];
    assert!(status.finalized && status.success == Some(true), "{status:?}");
    let info = near.transaction(&tx_hash(1)).await.unwrap().unwrap();
    assert_eq!(fake.requests() - before, 2, "the tip and one tx; the credit block's height was read before");
    assert_eq!(info.location, TxLocation::Block(at.clone()));
    assert_eq!(info.payments.len(), 1);
    let paid = &info.payments[0];
    assert_eq!(
        (paid.to.as_str(), paid.amount, &paid.asset, &paid.memo),
        ("bob.near", BaseUnits::new(3 * ONE_NEAR / 2), &Asset::Native, &None)
    );
    for (hash, sender, wait_until) in fake.tx_calls() {
        assert_eq!((hash, sender, wait_until.as_str()), (tx_hash(1), HOT_WALLET.to_owned(), "NONE"));
    }
}

#[tokio::test]
async fn usdt_is_an_ft_transfer_and_a_failure_pays_nothing() {
    let fake = FakeNear::start(BASE_HEIGHT).await;
    let near = client(&[&fake.base_url]);
    fake.send(ft_transfer(1, USDT_CONTRACT, "bob.near", 25_500_000, Some("order 7")));
    let mut failing = transfer(2, "bob.near", ONE_NEAR);
    failing.success = false;
    fake.send(failing);
    fake.produce(FINALITY_LAG + 2);
    let statuses = near.statuses_of(&[PendingTx::new(tx_hash(1)), PendingTx::new(tx_hash(2))]).await.unwrap();
    assert_eq!(statuses[0].success, Some(true));
    assert!(statuses[1].finalized && statuses[1].success == Some(false), "{:?}", statuses[1]);
    let usdt = near.transaction(&tx_hash(1)).await.unwrap().unwrap();
    let paid = &usdt.payments[0];
    assert_eq!(
        (paid.to.as_str(), paid.amount, &paid.asset, paid.memo.as_deref()),
        ("bob.near", BaseUnits::new(25_500_000), &Asset::Token(USDT_CONTRACT.into()), Some("order 7"))
    );
    let failed = near.transaction(&tx_hash(2)).await.unwrap().unwrap();
    assert_eq!((failed.success, failed.payments.len()), (Some(false), 0));
}

#[tokio::test]
async fn each_sender_is_tried_and_an_unknown_transaction_expires_past_its_last_valid_height() {
    let fake = FakeNear::start(BASE_HEIGHT).await;
    let near = client_with(&[&fake.base_url], &["cold.exchange.near", HOT_WALLET]);
    fake.send(transfer(1, "bob.near", ONE_NEAR));
    fake.produce(FINALITY_LAG + 2);
    assert!(near.statuses_of(&[PendingTx::new(tx_hash(1))]).await.unwrap()[0].finalized, "found under the second");

    let last_valid = fake.final_height() + 1;
    let txs = [PendingTx::expiring(tx_hash(9), last_valid), PendingTx::new(tx_hash(8))];
    let statuses = near.statuses_of(&txs).await.unwrap();
    assert_eq!((statuses[0].location.as_ref(), statuses[0].expired), (None, false), "not past it yet");
    fake.produce(1);
    assert!(!near.statuses_of(&txs).await.unwrap()[0].expired, "the final tip is at it, not past it");
    fake.produce(1);
    let statuses = near.statuses_of(&txs).await.unwrap();
    assert!(statuses[0].expired);
    assert!(!statuses[1].expired, "nothing recorded at broadcast: never expired");
    assert_eq!(near.transaction(&tx_hash(9)).await.unwrap(), None);

    // A hash the node cannot parse is unknown; the rest of the batch is answered.
    let txs = [PendingTx::new("3yZe7d"), PendingTx::new(tx_hash(1))];
    let statuses = near.statuses_of(&txs).await.unwrap();
    assert_eq!((statuses[0].location.as_ref(), statuses[1].finalized), (None, true));
}

#[tokio::test]
async fn near_errors_and_garbage_are_sorted() {
    let fake = FakeNear::start(BASE_HEIGHT).await;
    let near = client(&[&fake.base_url]);
    fake.set_mode(Mode::NotSynced);
    assert!(matches!(near.tip().await, Err(ChainError::Unavailable(m)) if m.contains("NOT_SYNCED_YET")));
    fake.set_mode(Mode::Malformed);
    assert!(matches!(near.tip().await, Err(ChainError::BadResponse(_))));

    // A node still syncing is passed over for the next, which answers.
    let second = FakeNear::start(BASE_HEIGHT + 1).await;
    fake.set_mode(Mode::NotSynced);
    let both = client(&[&fake.base_url, &second.base_url]);
    assert_eq!(both.tip().await.unwrap().height, BASE_HEIGHT + 1 - FINALITY_LAG);
}

fn tip_client(urls: &[&str]) -> NearClient {
    client(urls)
}

#[tokio::test]
async fn throttling_is_rate_limited_with_retry_after() {
    let (fake, second) = (FakeNear::start(BASE_HEIGHT).await, FakeNear::start(BASE_HEIGHT).await);
    explorer_transport::throttling_is_rate_limited_with_retry_after(&fake, &second, tip_client).await;
}

#[tokio::test]
async fn a_hanging_server_times_out_as_unavailable() {
    explorer_transport::a_hanging_server_times_out_as_unavailable(&FakeNear::start(BASE_HEIGHT).await, tip_client)
        .await;
}

#[tokio::test]
async fn fails_over_to_the_next_url_in_order() {
    let (first, second) = (FakeNear::start(BASE_HEIGHT).await, FakeNear::start(BASE_HEIGHT + 1).await);
    explorer_transport::fails_over_to_the_next_url_in_order(
        &first,
        &second,
        BASE_HEIGHT - FINALITY_LAG,
        "503",
        tip_client,
    )
    .await;
}
