//! The Hedera client against a fake mirror node answering like the
//! documented REST API: the newest block, transactions by id in both id
//! forms (their result, transfers, token transfers and memo, duplicates
//! through other nodes), expiry on the mirror's own clock, throttling,
//! failover, garbage and hangs.

use std::time::Duration;

use withdrawal_tracker::chain::hedera_mirror::MAX_VALID_DURATION_SECS;
use withdrawal_tracker::chain::{
    Asset, BaseUnits, BlockRef, ChainError, ClientConfig, HederaMirrorClient, Payment, PendingTx, StatusChain,
    TxLocation,
};

use crate::support::explorer_transport;
use crate::support::fake_hedera_mirror::{block_hash, block_start, sdk_id, transfer, FakeMirror, Mode, USDC_TOKEN};

const LATEST: u64 = 70_000_000;
pub const PAYEE: &str = "0.0.800123";
pub const OTHER: &str = "0.0.800999";

fn client(urls: &[&str]) -> HederaMirrorClient {
    HederaMirrorClient::new(ClientConfig::new(urls.iter().copied(), Duration::from_millis(500)))
}

#[tokio::test]
async fn the_tip_is_the_newest_block_and_a_transaction_is_final_at_consensus() {
    let fake = FakeMirror::start(LATEST).await;
    let mirror = client(&[&fake.base_url]);
    assert_eq!(mirror.tip().await.unwrap(), BlockRef { height: LATEST, hash: block_hash(LATEST) });
    assert!(fake.paths()[0].contains("order=desc") && fake.paths()[0].contains("limit=1"), "{:?}", fake.paths());

    let start = block_start(LATEST) - 5;
    let hbar = transfer(1, start, PAYEE, 2_550_000_000, None, "order 7");
    let usdc = transfer(2, start, PAYEE, 10_000_000, Some(USDC_TOKEN), "777");
    let mut failed = transfer(3, start, PAYEE, 5, None, "");
    failed.result = "INSUFFICIENT_PAYER_BALANCE".to_owned();
    let mut twice = transfer(4, start, PAYEE, 7, None, "9");
    twice.duplicated = true;
    let number = fake.next_block(vec![hbar, usdc, failed, twice]);

    let ids = [sdk_id(1, start), sdk_id(2, start), sdk_id(3, start), sdk_id(4, start)];
    let pending: Vec<PendingTx> = ids.iter().map(PendingTx::new).collect();
    let before = fake.requests();
    let statuses = mirror.statuses_of(&pending).await.unwrap();
    assert_eq!(fake.requests() - before, 8, "each transaction and its block; no tip: all are known");
    let at = TxLocation::Block(BlockRef { height: number, hash: block_hash(number) });
    for status in &statuses {
        assert!(status.finalized && !status.expired, "{status:?}");
        assert_eq!(status.location.as_ref(), Some(&at));
    }
    let outcomes: Vec<Option<bool>> = statuses.iter().map(|s| s.success).collect();
    assert_eq!(
        outcomes,
        [Some(true), Some(true), Some(false), Some(true)],
        "the duplicate copy is not the transaction"
    );
    assert!(fake.paths().iter().any(|p| p.starts_with(&format!("/api/v1/transactions/0.0.1001-{start}-000000001"))));

    let before = fake.requests();
    let info = mirror.transaction(&ids[0]).await.unwrap().expect("final");
    assert_eq!(fake.requests(), before, "kept from the status");
    assert_eq!(info.location, at);
    let to_payee: Vec<&Payment> = info.payments.iter().filter(|p| p.to == PAYEE).collect();
    assert_eq!(
        to_payee,
        [&Payment {
            to: PAYEE.into(),
            amount: BaseUnits::new(2_550_000_000),
            asset: Asset::Native,
            memo: Some("order 7".into())
        }],
        "tinybar credits with the memo"
    );
    assert_eq!(info.valid_until, Some(start + 120), "valid start + valid duration");
    let usdc = mirror.transaction(&ids[1]).await.unwrap().unwrap();
    assert!(usdc.payments.contains(&Payment {
        to: PAYEE.into(),
        amount: BaseUnits::new(10_000_000),
        asset: Asset::Token(USDC_TOKEN.into()),
        memo: Some("777".into())
    }));
    let failed = mirror.transaction(&ids[2]).await.unwrap().unwrap();
    assert!(failed.payments.is_empty(), "a failed transaction pays nothing (its fee aside)");
    let duplicated = mirror.transaction(&ids[3]).await.unwrap().unwrap();
    assert!(duplicated.payments.iter().any(|p| p.to == PAYEE && p.amount == BaseUnits::new(7)));

    let before = fake.requests();
    let again = mirror.transaction(&format!("0.0.1001-{start}-000000001")).await.unwrap().unwrap();
    assert_eq!(fake.requests() - before, 2, "not kept: the transaction and its block");
    assert_eq!(again.payments, info.payments, "the mirror's id form reads alike");
}

#[tokio::test]
async fn an_unknown_transaction_expires_once_the_mirror_passed_its_valid_window() {
    let fake = FakeMirror::start(LATEST).await;
    let mirror = client(&[&fake.base_url]);
    let start = block_start(LATEST) + 10;
    let lost = PendingTx::new(sdk_id(1, start));
    let bounded = PendingTx::expiring(sdk_id(2, start), start + 30);

    let before = fake.requests();
    let statuses = mirror.statuses_of(&[lost.clone(), bounded.clone()]).await.unwrap();
    assert_eq!(fake.requests() - before, 3, "two lookups, then the newest block once");
    assert!(statuses.iter().all(|s| s.location.is_none() && !s.expired && !s.finalized));

    // The mirror lags: however late the wall clock, only its own newest
    // block says consensus time has passed.
    fake.advance_to(start + 31);
    let statuses = mirror.statuses_of(&[lost.clone(), bounded.clone()]).await.unwrap();
    assert_eq!((statuses[0].expired, statuses[1].expired), (false, true), "the sent last valid second first");
    fake.advance_to(start + MAX_VALID_DURATION_SECS + 1);
    let statuses = mirror.statuses_of(&[lost]).await.unwrap();
    assert!(statuses[0].expired, "else the id's valid start plus the longest valid duration");

    let garbage = mirror.statuses_of(&[PendingTx::new("not-an-id")]).await.unwrap();
    assert!(!garbage[0].expired && garbage[0].location.is_none(), "an id that is none is never found");
}

#[tokio::test]
async fn an_accounts_credits_serve_discovery() {
    let fake = FakeMirror::start(LATEST).await;
    let mirror = client(&[&fake.base_url]);
    let history = mirror.address_history().expect("the mirror lists an account's transactions");
    assert_eq!(history.payments_to(PAYEE).await.unwrap(), Vec::new(), "an account never paid");
    let start = block_start(LATEST);
    let first = fake.next_block(vec![transfer(1, start, PAYEE, 100, None, "a")]);
    let second =
        fake.next_block(vec![transfer(2, start, PAYEE, 200, None, "b"), transfer(3, start, OTHER, 1, None, "")]);
    let found = history.payments_to(PAYEE).await.unwrap();
    let summary: Vec<(String, u64, bool)> = found
        .iter()
        .map(|tx| {
            let TxLocation::Block(at) = &tx.location else { panic!("at consensus") };
            (tx.txid.clone(), at.height, tx.payments.iter().any(|p| p.to == PAYEE))
        })
        .collect();
    let id = |n: u64| format!("0.0.1001-{start}-{n:09}");
    assert_eq!(summary, [(id(2), second, true), (id(1), first, true)], "newest first, named in the mirror's form");
    assert!(fake.paths().iter().any(|p| p.contains(&format!("account.id={PAYEE}")) && p.contains("type=credit")));
}

#[tokio::test]
async fn garbage_is_a_bad_response_naming_the_endpoint() {
    let fake = FakeMirror::start(LATEST).await;
    let mirror = client(&[&fake.base_url]);
    fake.set_mode(Mode::Malformed);
    assert!(matches!(mirror.tip().await, Err(ChainError::BadResponse(m)) if m.contains("/api/v1/blocks")));
    let pending = [PendingTx::new(sdk_id(1, block_start(LATEST)))];
    assert!(
        matches!(mirror.statuses_of(&pending).await, Err(ChainError::BadResponse(m)) if m.contains("transactions"))
    );
}

#[tokio::test]
async fn throttling_is_rate_limited_with_retry_after() {
    let (fake, second) = (FakeMirror::start(LATEST).await, FakeMirror::start(LATEST).await);
    explorer_transport::throttling_is_rate_limited_with_retry_after(&fake, &second, client).await;
}

#[tokio::test]
async fn a_hanging_server_times_out_as_unavailable() {
    explorer_transport::a_hanging_server_times_out_as_unavailable(&FakeMirror::start(LATEST).await, client).await;
}

#[tokio::test]
async fn fails_over_to_the_next_url_in_order() {
    let (first, second) = (FakeMirror::start(LATEST).await, FakeMirror::start(LATEST + 1).await);
    explorer_transport::fails_over_to_the_next_url_in_order(&first, &second, LATEST, "503", client).await;
}
