//! The Aptos client against a fake fullnode REST API in the documented
//! shapes: the ledger tip, a transaction pending, committed, failed, unknown
//! or expired, its deposits resolved to payee and asset (a primary store
//! derived without a request, a fungible store named in `changes`, a
//! secondary store asked for once), throttling, garbage, hangs and failover.

use std::time::{Duration, Instant};

use withdrawal_tracker::chain::aptos::APT_METADATA;
use withdrawal_tracker::chain::{
    AptosClient, Asset, BaseUnits, ChainError, ClientConfig, ConflictKey, Payment, PendingTx, StatusChain, TxLocation,
};

use crate::support::explorer_transport::{dead_url, Behaviour, ExplorerFake};
use crate::support::fake_aptos::{account, tx_hash, AptTx, FakeAptos, Mode, BASE_HEIGHT, BASE_TIME_SECS};

/// Tether's USDT on Aptos: a fungible asset's metadata address.
pub const USDT_METADATA: &str = "0x357b0b74bc833e95a115ad22604854d6b0fca151cecd94111770e5d6ffc9dc2b";

fn client(urls: &[&str]) -> AptosClient {
    AptosClient::new(ClientConfig::new(urls.iter().copied(), Duration::from_millis(500)), [USDT_METADATA.to_owned()])
}

#[tokio::test]
async fn a_transaction_goes_from_unknown_to_pending_to_committed_and_is_read_once() {
    let node = FakeAptos::start(0).await;
    let explorer = client(&[&node.base_url]);
    assert_eq!(explorer.tip().await.unwrap().height, BASE_HEIGHT);
    let (hot, user) = (account("exchange"), account("user"));
    let hash = tx_hash(1);
    let pending = [PendingTx::new(hash.clone())];

    let status = &explorer.statuses_of(&pending).await.unwrap()[0];
    assert_eq!((status.location.clone(), status.expired), (None, false), "unknown, no expiry recorded");

    node.submit(&hash, AptTx::apt_transfer(&hot, &user, 150_000_000));
    let status = &explorer.statuses_of(&pending).await.unwrap()[0];
    assert_eq!((status.location.clone(), status.finalized), (Some(TxLocation::Mempool), false));

    node.commit(&hash, true);
    let status = &explorer.statuses_of(&pending).await.unwrap()[0];
    assert!(status.finalized, "committed is final");
    assert_eq!(status.success, Some(true));
    let before = node.requests();
    let info = explorer.transaction(&hash).await.unwrap().expect("committed");
    assert_eq!(node.requests(), before, "the committed answer just read is kept, not asked again");
    assert_eq!(
        info.payments,
        vec![Payment { to: user.clone(), amount: BaseUnits::new(150_000_000), asset: Asset::Native, memo: None }],
        "APT's deposit went to the user's primary store: resolved without a request"
    );
    assert_eq!(info.conflict, ConflictKey::Nonce { from: hot, nonce: 7 });
    assert!(explorer.transaction(&hash).await.unwrap().is_some(), "asked again once the kept answer was used");
    assert_eq!(node.requests(), before + 1);
}

#[tokio::test]
async fn a_failed_transaction_failed_and_paid_nothing() {
    let node = FakeAptos::start(0).await;
    let explorer = client(&[&node.base_url]);
    let hash = tx_hash(2);
    node.submit(&hash, AptTx::fa_transfer(&account("exchange"), USDT_METADATA, &account("user"), 25_500_000));
    node.commit(&hash, false);
    let status = &explorer.statuses_of(&[PendingTx::new(hash.clone())]).await.unwrap()[0];
    assert_eq!((status.finalized, status.success), (true, Some(false)));
    assert_eq!(explorer.transaction(&hash).await.unwrap().unwrap().payments, vec![]);
}

#[tokio::test]
async fn deposits_name_their_payee_and_asset_with_one_request_at_most() {
    let node = FakeAptos::start(0).await;
    let explorer = client(&[&node.base_url]);
    let (hot, user) = (account("exchange"), account("user"));
    let usdt = tx_hash(3);
    node.submit(&usdt, AptTx::fa_transfer(&hot, USDT_METADATA, &user, 25_500_000));
    node.commit(&usdt, true);
    let before = node.requests();
    let info = explorer.transaction(&usdt).await.unwrap().unwrap();
    assert_eq!(node.requests() - before, 1, "the store's metadata is in the changes");
    assert_eq!(
        info.payments,
        vec![Payment {
            to: user.clone(),
            amount: BaseUnits::new(25_500_000),
            asset: Asset::Token(USDT_METADATA.into()),
            memo: None
        }]
    );

    let store = account("a-secondary-store");
    node.add_store(&store, &user, "0xa");
    let odd = tx_hash(4);
    node.submit(&odd, AptTx::deposit_to_secondary_store(&hot, &store, 42));
    node.commit(&odd, true);
    let before = node.requests();
    let info = explorer.transaction(&odd).await.unwrap().unwrap();
    assert_eq!(node.requests() - before, 2, "the transaction, then the store's resources once");
    assert!(node.paths().iter().any(|p| p == &format!("/v1/accounts/{store}/resources")));
    assert_eq!(
        info.payments,
        vec![Payment { to: user, amount: BaseUnits::new(42), asset: Asset::Native, memo: None }],
        "metadata 0xa is APT"
    );
    assert_eq!(APT_METADATA.len(), 66);
}

#[tokio::test]
async fn past_its_expiration_a_transaction_is_expired() {
    let node = FakeAptos::start(0).await;
    let explorer = client(&[&node.base_url]);
    let (hot, user) = (account("exchange"), account("user"));
    let stuck = tx_hash(5);
    node.submit(&stuck, AptTx::apt_transfer(&hot, &user, 1).expiring_at(BASE_TIME_SECS + 30));
    let unknown = tx_hash(6);
    let pending = [PendingTx::new(stuck.clone()), PendingTx::expiring(unknown.clone(), BASE_TIME_SECS + 30)];
    explorer.tip().await.unwrap();
    let statuses = explorer.statuses_of(&pending).await.unwrap();
    assert_eq!(statuses.iter().map(|s| s.expired).collect::<Vec<_>>(), [false, false], "the ledger is not there yet");

    node.advance(100, 30);
    explorer.tip().await.unwrap();
    assert!(!explorer.statuses_of(&pending).await.unwrap().iter().any(|s| s.expired), "the last valid second itself");

    node.advance(5, 1);
    explorer.tip().await.unwrap();
    let statuses = explorer.statuses_of(&pending).await.unwrap();
    assert_eq!(
        statuses.iter().map(|s| (s.expired, s.location.clone())).collect::<Vec<_>>(),
        [(true, None), (true, None)]
    );
    node.forget(&stuck);
    let statuses = explorer.statuses_of(&[PendingTx::new(stuck.clone())]).await.unwrap();
    assert!(!statuses[0].expired, "forgotten with nothing recorded: only the drop clock can tell");
}

#[tokio::test]
async fn throttling_is_rate_limited_and_not_failed_over_and_garbage_is_a_bad_response() {
    let (node, second) = (FakeAptos::start(0).await, FakeAptos::start(1).await);
    node.behave(Behaviour::RateLimited(7));
    assert_eq!(
        client(&[&node.base_url, &second.base_url]).tip().await,
        Err(ChainError::RateLimited { retry_after: Some(Duration::from_secs(7)) })
    );
    assert_eq!(second.requests(), 0);
    node.set_mode(Mode::Malformed);
    let explorer = client(&[&node.base_url]);
    assert!(matches!(explorer.tip().await, Err(ChainError::BadResponse(m)) if m.contains("/v1")));
    let garbage = explorer.statuses_of(&[PendingTx::new(tx_hash(7))]).await;
    assert!(matches!(garbage, Err(ChainError::BadResponse(_))), "{garbage:?}");
}

#[tokio::test]
async fn a_hanging_node_times_out_and_an_outage_fails_over_in_order() {
    let (first, second) = (FakeAptos::start(0).await, FakeAptos::start(1).await);
    first.behave(Behaviour::Hang);
    let started = Instant::now();
    assert_eq!(client(&[&first.base_url]).tip().await, Err(ChainError::Unavailable("timed out".into())));
    assert!(started.elapsed() < Duration::from_secs(3));

    assert_eq!(client(&[&dead_url(), &second.base_url]).tip().await.unwrap().height, BASE_HEIGHT + 1);
    first.behave(Behaviour::Down);
    let both = client(&[&first.base_url, &second.base_url]);
    assert_eq!(both.tip().await.unwrap().height, BASE_HEIGHT + 1, "503 → second");
    first.behave(Behaviour::Normal);
    assert_eq!(both.tip().await.unwrap().height, BASE_HEIGHT, "the first again once it is back");
    assert!(matches!(client(&[&dead_url()]).tip().await, Err(ChainError::Unavailable(_))));
}
