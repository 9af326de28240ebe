//! The Sui client against a fake GraphQL RPC service: the tip checkpoint,
//! statuses of up to 50 digests with the tip in one query (`multiGetTransactions`), success and
//! failure from the effects, SUI and USDC payments from balance changes,
//! expiry by epoch, GraphQL `errors`, throttling, garbage, hangs and
//! failover.

use std::time::Duration;

use withdrawal_tracker::chain::sui::normalize_coin_type;
use withdrawal_tracker::chain::{
    Asset, BaseUnits, ChainError, ClientConfig, ConflictKey, PendingTx, StatusChain, SuiClient, TxLocation,
};

use crate::support::explorer_transport;
use crate::support::fake_sui::{
    digest, failed, sui_address, transfer, FakeSui, Mode, BASE_CHECKPOINT, BASE_EPOCH, SUI, USDC,
};

fn client(urls: &[&str]) -> SuiClient {
    SuiClient::new(ClientConfig::new(urls.iter().copied(), Duration::from_millis(500)))
}

#[tokio::test]
async fn the_tip_is_the_latest_checkpoint_with_its_epoch() {
    let fake = FakeSui::start(BASE_CHECKPOINT).await;
    let sui = client(&[&fake.base_url]);
    let (tip, epoch) = sui.tip_epoch().await.unwrap();
    assert_eq!((tip.height, epoch), (BASE_CHECKPOINT, BASE_EPOCH));
    assert!(!tip.hash.is_empty());
    assert_eq!(sui.tip().await.unwrap(), tip);
}

#[tokio::test]
async fn statuses_come_in_one_query_and_final_ones_need_no_second_request() {
    let fake = FakeSui::start(BASE_CHECKPOINT).await;
    let sui = client(&[&fake.base_url]);
    let payee = sui_address("user");
    let paid = fake.execute(transfer(1, &payee, 1_500_000_000, SUI));
    fake.execute(transfer(2, &payee, 25_500_000, USDC));
    fake.execute(failed(3));
    let pending: Vec<PendingTx> = (1..=4).map(|n| PendingTx::new(digest(n))).collect();

    let before = fake.requests();
    let statuses = sui.statuses_of(&pending).await.unwrap();
    assert_eq!(fake.requests() - before, 1);
    assert!(statuses[0].finalized && statuses[0].success == Some(true));
    let TxLocation::Block(at) = statuses[0].location.clone().unwrap() else { panic!("in a checkpoint") };
    assert_eq!(at.height, paid);
    assert_eq!(statuses[2].success, Some(false));
    assert_eq!((statuses[3].location.as_ref(), statuses[3].finalized, statuses[3].expired), (None, false, false));

    let sui_paid = sui.transaction(&digest(1)).await.unwrap().unwrap();
    let usdc_paid = sui.transaction(&digest(2)).await.unwrap().unwrap();
    let failure = sui.transaction(&digest(3)).await.unwrap().unwrap();
    assert_eq!(fake.requests() - before, 1, "details kept from the status query");
    assert_eq!(sui_paid.payments.len(), 1, "the sender's debit is no payment");
    assert_eq!(
        (&sui_paid.payments[0].to, sui_paid.payments[0].amount, &sui_paid.payments[0].asset),
        (&payee, BaseUnits::new(1_500_000_000), &Asset::Native)
    );
    let usdc = normalize_coin_type(USDC).unwrap();
    assert_eq!(usdc_paid.payments[0].asset, Asset::Token(usdc.clone()));
    assert_eq!(usdc, USDC.to_ascii_lowercase(), "what a configured coin type is compared with");
    assert_eq!((failure.success, failure.payments.len()), (Some(false), 0));
    assert_eq!(sui_paid.conflict, ConflictKey::Outpoints(Vec::new()));

    // Asked again later: one request, and an unknown digest is `None`.
    assert_eq!(sui.transaction(&digest(1)).await.unwrap().unwrap().payments, sui_paid.payments);
    assert_eq!(sui.transaction(&digest(9)).await.unwrap(), None);
    assert_eq!(fake.requests() - before, 3);
}

#[tokio::test]
async fn an_unknown_transaction_expires_once_the_epoch_passes_its_last_valid_one() {
    let fake = FakeSui::start(BASE_CHECKPOINT).await;
    let sui = client(&[&fake.base_url]);
    let txs = [PendingTx::expiring(digest(1), BASE_EPOCH), PendingTx::new(digest(2))];
    let statuses = sui.statuses_of(&txs).await.unwrap();
    assert!(!statuses[0].expired, "its last valid epoch is the current one");
    fake.next_epoch();
    let statuses = sui.statuses_of(&txs).await.unwrap();
    assert!(statuses[0].expired);
    assert!(!statuses[1].expired, "nothing recorded at broadcast: never expired");
    let mut late = transfer(1, &sui_address("user"), 5, SUI);
    late.expiration = Some(BASE_EPOCH);
    fake.execute(late);
    let statuses = sui.statuses_of(&txs).await.unwrap();
    assert!(statuses[0].finalized && !statuses[0].expired, "executed in time after all: what the chain says wins");
}

#[tokio::test]
async fn graphql_errors_and_garbage_are_sorted() {
    let fake = FakeSui::start(BASE_CHECKPOINT).await;
    let sui = client(&[&fake.base_url]);
    fake.set_mode(Mode::GraphQlError("BAD_USER_INPUT", "Invalid value for argument \"digest\""));
    let error = sui.tip().await.unwrap_err();
    assert!(matches!(&error, ChainError::BadResponse(m) if m.contains("BAD_USER_INPUT")), "{error:?}");
    fake.set_mode(Mode::GraphQlError("REQUEST_TIMEOUT", "Request timed out. Limit: 40s"));
    assert!(matches!(sui.tip().await, Err(ChainError::Unavailable(_))));
    fake.set_mode(Mode::Malformed);
    assert!(matches!(sui.tip().await, Err(ChainError::BadResponse(_))));

    // A timing-out server fails over to the next, which answers.
    let second = FakeSui::start(BASE_CHECKPOINT + 1).await;
    fake.set_mode(Mode::GraphQlError("REQUEST_TIMEOUT", "Request timed out. Limit: 40s"));
    let both = client(&[&fake.base_url, &second.base_url]);
    assert_eq!(both.tip().await.unwrap().height, BASE_CHECKPOINT + 1);
}

#[tokio::test]
async fn more_digests_than_a_page_are_never_asked_at_once() {
    let fake = FakeSui::start(BASE_CHECKPOINT).await;
    let sui = client(&[&fake.base_url]);
    assert_eq!(sui.max_batch(), 50);
    let txs: Vec<PendingTx> = (0..50).map(|n| PendingTx::new(digest(n))).collect();
    sui.statuses_of(&txs).await.unwrap();
    assert_eq!(fake.state.lock().unwrap().last_batch.len(), 50);
}

/// The shared transport checks ask only for the tip (`explorer_transport::Tip`).
fn tip_client(urls: &[&str]) -> SuiClient {
    client(urls)
}

#[tokio::test]
async fn throttling_is_rate_limited_with_retry_after() {
    let (fake, second) = (FakeSui::start(BASE_CHECKPOINT).await, FakeSui::start(BASE_CHECKPOINT).await);
    explorer_transport::throttling_is_rate_limited_with_retry_after(&fake, &second, tip_client).await;
}

#[tokio::test]
async fn a_hanging_server_times_out_as_unavailable() {
    explorer_transport::a_hanging_server_times_out_as_unavailable(&FakeSui::start(BASE_CHECKPOINT).await, tip_client)
        .await;
}

#[tokio::test]
async fn fails_over_to_the_next_url_in_order() {
    let (first, second) = (FakeSui::start(BASE_CHECKPOINT).await, FakeSui::start(BASE_CHECKPOINT + 1).await);
    explorer_transport::fails_over_to_the_next_url_in_order(&first, &second, BASE_CHECKPOINT, "503", tip_client).await;
}
