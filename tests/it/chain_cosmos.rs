//! The Cosmos SDK client against a fake REST gateway: the latest block,
//! statuses by `GET /cosmos/tx/v1beta1/txs/{hash}` (committed is final,
//! `code` 0 is success), MsgSend payments in uatom and an IBC denom with the
//! memo, expiry by `timeout_height`, discovery by recipient, throttling,
//! garbage, hangs and failover.

use std::time::Duration;

use withdrawal_tracker::chain::cosmos::ATOM_DENOM;
use withdrawal_tracker::chain::{
    Asset, BaseUnits, ChainError, ClientConfig, CosmosClient, PendingTx, StatusChain, TxLocation,
};

use crate::support::explorer_transport;
use crate::support::fake_cosmos::{cosmos_address, send, tx_hash, FakeCosmos, Mode, BASE_HEIGHT, USDC_DENOM};

fn client(urls: &[&str]) -> CosmosClient {
    CosmosClient::new(ClientConfig::new(urls.iter().copied(), Duration::from_millis(500)), ATOM_DENOM)
}

#[tokio::test]
async fn the_tip_is_the_latest_block_with_its_hash_in_hex() {
    let fake = FakeCosmos::start(BASE_HEIGHT).await;
    let tip = client(&[&fake.base_url]).tip().await.unwrap();
    assert_eq!(tip.height, BASE_HEIGHT);
    assert_eq!(tip.hash.len(), 64);
    assert!(tip.hash.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()), "{}", tip.hash);
}

#[tokio::test]
async fn committed_transactions_are_final_with_their_payments_and_memo() {
    let fake = FakeCosmos::start(BASE_HEIGHT).await;
    let atom = client(&[&fake.base_url]);
    let payee = cosmos_address("user");
    let height = fake.commit(send(1, &payee, &[("uatom", 1_500_000), (USDC_DENOM, 25_500_000)], "104729"));
    let mut failing = send(2, &payee, &[("uatom", 1_500_000)], "104729");
    failing.code = 5;
    fake.commit(failing);
    // Lower-case hashes, as the service keeps them: the node reads hex either way.
    let txs: Vec<PendingTx> = (1..=3).map(|n| PendingTx::new(tx_hash(n).to_ascii_lowercase())).collect();

    let before = fake.requests();
    let statuses = atom.statuses_of(&txs).await.unwrap();
    assert_eq!(fake.requests() - before, 4, "the tip and one lookup per transaction");
    assert!(statuses[0].finalized && statuses[0].success == Some(true));
    assert!(matches!(&statuses[0].location, Some(TxLocation::Block(at)) if at.height == height));
    assert!(statuses[1].finalized && statuses[1].success == Some(false), "a non-zero code failed");
    assert_eq!((statuses[2].location.as_ref(), statuses[2].finalized, statuses[2].expired), (None, false, false));

    let paid = atom.transaction(&txs[0].txid).await.unwrap().unwrap();
    assert_eq!(fake.requests() - before, 4, "kept from the status lookup");
    assert_eq!(paid.txid, txs[0].txid);
    let shown: Vec<(&str, BaseUnits, &Asset, Option<&str>)> =
        paid.payments.iter().map(|p| (p.to.as_str(), p.amount, &p.asset, p.memo.as_deref())).collect();
    assert_eq!(
        shown,
        [
            (payee.as_str(), BaseUnits::new(1_500_000), &Asset::Native, Some("104729")),
            (payee.as_str(), BaseUnits::new(25_500_000), &Asset::Token(USDC_DENOM.into()), Some("104729")),
        ]
    );
    let failed = atom.transaction(&txs[1].txid).await.unwrap().unwrap();
    assert_eq!((failed.success, failed.payments.len()), (Some(false), 0));
    assert_eq!(atom.transaction(&txs[2].txid).await.unwrap(), None, "404 tx not found");
}

#[tokio::test]
async fn an_unknown_transaction_expires_once_the_tip_passes_its_timeout_height() {
    let fake = FakeCosmos::start(BASE_HEIGHT).await;
    let atom = client(&[&fake.base_url]);
    let txs = [PendingTx::expiring(tx_hash(1), BASE_HEIGHT + 1), PendingTx::new(tx_hash(2))];
    assert!(!atom.statuses_of(&txs).await.unwrap()[0].expired);
    fake.produce(1);
    assert!(!atom.statuses_of(&txs).await.unwrap()[0].expired, "at its timeout height it may still be included");
    fake.produce(1);
    let statuses = atom.statuses_of(&txs).await.unwrap();
    assert!(statuses[0].expired);
    assert!(!statuses[1].expired, "nothing recorded at broadcast: never expired");

    let mut timed = send(3, &cosmos_address("user"), &[("uatom", 1)], "");
    timed.timeout_height = BASE_HEIGHT + 50;
    fake.commit(timed);
    let info = atom.transaction(&tx_hash(3)).await.unwrap().unwrap();
    assert_eq!((info.valid_until, info.payments[0].memo.clone()), (Some(BASE_HEIGHT + 50), None), "no memo: none");
}

#[tokio::test]
async fn discovery_reads_the_recipients_newest_transactions() {
    let fake = FakeCosmos::start(BASE_HEIGHT).await;
    let atom = client(&[&fake.base_url]);
    let payee = cosmos_address("user");
    fake.commit(send(1, &payee, &[("uatom", 7)], "1"));
    fake.commit(send(2, &cosmos_address("else"), &[("uatom", 8)], "2"));
    fake.commit(send(3, &payee, &[("uatom", 9)], "3"));
    let history = atom.address_history().unwrap().payments_to(&payee).await.unwrap();
    let found: Vec<(String, u128)> = history.iter().map(|tx| (tx.txid.clone(), tx.payments[0].amount.get())).collect();
    assert_eq!(found, [(tx_hash(3).to_ascii_lowercase(), 9), (tx_hash(1).to_ascii_lowercase(), 7)], "newest first");
    let asked = fake.log().last().unwrap().clone();
    assert!(asked.contains("query=transfer.recipient%3D%27") && asked.contains("order_by=ORDER_BY_DESC"), "{asked}");
}

#[tokio::test]
async fn garbage_and_bad_requests_are_bad_responses() {
    let fake = FakeCosmos::start(BASE_HEIGHT).await;
    let atom = client(&[&fake.base_url]);
    assert!(matches!(atom.transaction("zz").await, Err(ChainError::BadResponse(m)) if m.contains("HTTP 400")));
    fake.set_mode(Mode::Malformed);
    assert!(matches!(atom.tip().await, Err(ChainError::BadResponse(_))));
    assert!(matches!(atom.statuses_of(&[PendingTx::new(tx_hash(1))]).await, Err(ChainError::BadResponse(_))));
}

fn tip_client(urls: &[&str]) -> CosmosClient {
    client(urls)
}

#[tokio::test]
async fn throttling_is_rate_limited_with_retry_after() {
    let (fake, second) = (FakeCosmos::start(BASE_HEIGHT).await, FakeCosmos::start(BASE_HEIGHT).await);
    explorer_transport::throttling_is_rate_limited_with_retry_after(&fake, &second, tip_client).await;
}

#[tokio::test]
async fn a_hanging_server_times_out_as_unavailable() {
    explorer_transport::a_hanging_server_times_out_as_unavailable(&FakeCosmos::start(BASE_HEIGHT).await, tip_client)
        .await;
}

#[tokio::test]
async fn fails_over_to_the_next_url_in_order() {
    let (first, second) = (FakeCosmos::start(BASE_HEIGHT).await, FakeCosmos::start(BASE_HEIGHT + 1).await);
    explorer_transport::fails_over_to_the_next_url_in_order(&first, &second, BASE_HEIGHT, "502", tip_client).await;
}
