//! The TON client against a fake toncenter v3 answering like the documented
//! indexer API: a payout's wallet transaction found by its external message
//! (or its own hash), followed to the recipient's; failures, bounces, USDT
//! jetton transfers with their comments, expiry by `valid_until`,
//! throttling, failover, garbage and hangs.

use std::time::Duration;

use withdrawal_tracker::chain::{
    Asset, BaseUnits, ChainError, ClientConfig, Payment, PendingTx, StatusChain, ToncenterClient, TxLocation,
};
use withdrawal_tracker::domain::address::ton_raw_form;

use crate::support::explorer_transport;
use crate::support::fake_toncenter::{raw_account, ton_hash, FakeToncenter, Mode, Outcome, Payout, USDT_MASTER};

const SEQNO: u64 = 48_000_000;

fn client(urls: &[&str]) -> ToncenterClient {
    ToncenterClient::new(ClientConfig::new(urls.iter().copied(), Duration::from_millis(500)))
}

fn user(n: u64) -> String {
    raw_account("user", n)
}

#[tokio::test]
async fn a_payout_is_final_once_the_wallet_and_the_recipient_transactions_are_committed() {
    let fake = FakeToncenter::start(SEQNO).await;
    let ton = client(&[&fake.base_url]);
    assert_eq!(ton.max_batch(), 20);
    let payout = Payout::ton(1, &user(1), 1_500_000_000, Some("order 7"));
    let external = fake.pay(&payout, SEQNO - 1, None);

    let statuses = ton.statuses(std::slice::from_ref(&external)).await.unwrap();
    let status = &statuses[0];
    assert!(matches!(&status.location, Some(TxLocation::Block(b)) if b.height == SEQNO - 1), "{status:?}");
    assert_eq!((status.finalized, status.success), (false, None), "the recipient's transaction is not in yet");

    fake.deliver(1, SEQNO + 1);
    let status = &ton.statuses(std::slice::from_ref(&external)).await.unwrap()[0];
    assert!(!status.finalized, "a block above the tip is not committed yet");
    fake.advance(1);
    let status = &ton.statuses(std::slice::from_ref(&external)).await.unwrap()[0];
    assert!(matches!(&status.location, Some(TxLocation::Block(b)) if b.height == SEQNO + 1), "{status:?}");
    assert_eq!((status.finalized, status.success, status.expired), (true, Some(true), false));

    let before = fake.requests();
    let info = ton.transaction(&external).await.unwrap().expect("known");
    assert_eq!(fake.requests(), before, "the final status's details are kept for this call");
    assert_eq!(info.txid, external);
    assert_eq!(info.success, Some(true));
    assert_eq!(
        info.payments,
        [Payment {
            to: user(1).to_ascii_lowercase(),
            amount: BaseUnits::new(1_500_000_000),
            asset: Asset::Native,
            memo: Some("order 7".into())
        }]
    );
    let paths = fake.paths();
    assert!(paths.iter().any(|p| p.starts_with("/api/v3/transactionsByMessage?msg_hash=")), "{paths:?}");
    assert!(paths.iter().any(|p| p.contains("direction=in")));
}

#[tokio::test]
async fn a_failed_wallet_transaction_or_a_bounce_is_a_failure() {
    let fake = FakeToncenter::start(SEQNO).await;
    let ton = client(&[&fake.base_url]);
    let broke = fake.pay(&Payout::ton(1, &user(1), 5, None).turning_out(Outcome::WalletFailed), SEQNO, None);
    let bounced = fake.pay(&Payout::ton(2, &user(2), 5, None).turning_out(Outcome::Bounced), SEQNO - 1, Some(SEQNO));
    let statuses = ton.statuses(&[broke, bounced.clone()]).await.unwrap();
    for status in &statuses {
        assert_eq!((status.finalized, status.success), (true, Some(false)), "{status:?}");
    }
    let info = ton.transaction(&bounced).await.unwrap().unwrap();
    assert!(info.payments.is_empty(), "a bounced payout paid nothing");
}

#[tokio::test]
async fn a_usdt_payout_is_read_from_its_jetton_transfer() {
    let fake = FakeToncenter::start(SEQNO).await;
    let ton = client(&[&fake.base_url]);
    let external = fake.pay(&Payout::usdt(1, &user(1), 25_500_000, Some("memo 42")), SEQNO - 1, Some(SEQNO));
    let status = &ton.statuses(std::slice::from_ref(&external)).await.unwrap()[0];
    assert_eq!((status.finalized, status.success), (true, Some(true)));
    let info = ton.transaction(&external).await.unwrap().unwrap();
    assert_eq!(
        info.payments,
        [Payment {
            to: user(1).to_ascii_lowercase(),
            amount: BaseUnits::new(25_500_000),
            asset: Asset::Token(ton_raw_form(USDT_MASTER).unwrap()),
            memo: Some("memo 42".into()),
        }],
        "the jetton's owner, amount, master and forward-payload comment; not the 0.05 TON to the jetton wallet"
    );
    assert!(fake.paths().iter().any(|p| p.starts_with("/api/v3/jetton/transfers?owner_address=")));
}

#[tokio::test]
async fn the_wallet_transaction_hash_works_as_well_as_the_external_message_hash() {
    let fake = FakeToncenter::start(SEQNO).await;
    let ton = client(&[&fake.base_url]);
    fake.pay(&Payout::ton(1, &user(1), 7, None), SEQNO - 1, Some(SEQNO));
    let status = &ton.statuses(&[ton_hash("wallet-tx", 1)]).await.unwrap()[0];
    assert_eq!((status.finalized, status.success), (true, Some(true)));
    assert!(fake.paths().iter().any(|p| p.starts_with("/api/v3/transactions?hash=")));
}

#[tokio::test]
async fn an_unknown_message_expires_once_the_masterchain_passed_its_valid_until() {
    let fake = FakeToncenter::start(SEQNO).await;
    let ton = client(&[&fake.base_url]);
    let valid_until = FakeToncenter::time_of(SEQNO) + 60;
    let lost = PendingTx::expiring(ton_hash("external", 9), valid_until);
    let unrecorded = PendingTx::new(ton_hash("external", 10));
    let statuses = ton.statuses_of(&[lost.clone(), unrecorded.clone()]).await.unwrap();
    assert!(statuses.iter().all(|s| s.location.is_none() && !s.expired), "{statuses:?}");
    fake.advance(12);
    let statuses = ton.statuses_of(&[lost.clone(), unrecorded.clone()]).await.unwrap();
    assert!(!statuses[0].expired, "valid until the very second");
    fake.advance(1);
    let statuses = ton.statuses_of(&[lost, unrecorded]).await.unwrap();
    assert!(statuses[0].expired);
    assert!(!statuses[1].expired, "nothing recorded: never expired");
    assert_eq!(ton.transaction(&ton_hash("external", 9)).await.unwrap(), None);
}

#[tokio::test]
async fn garbage_is_a_bad_response() {
    let fake = FakeToncenter::start(SEQNO).await;
    let ton = client(&[&fake.base_url]);
    fake.set_mode(Mode::Malformed);
    assert!(matches!(ton.tip().await, Err(ChainError::BadResponse(m)) if m.contains("masterchainInfo")));
    fake.set_mode(Mode::NotJson);
    assert!(matches!(ton.statuses(&[ton_hash("external", 1)]).await, Err(ChainError::BadResponse(_))));
}

#[tokio::test]
async fn throttling_is_rate_limited_with_retry_after() {
    let (fake, second) = (FakeToncenter::start(SEQNO).await, FakeToncenter::start(SEQNO).await);
    explorer_transport::throttling_is_rate_limited_with_retry_after(&fake, &second, client).await;
}

#[tokio::test]
async fn a_hanging_server_times_out_as_unavailable() {
    explorer_transport::a_hanging_server_times_out_as_unavailable(&FakeToncenter::start(SEQNO).await, client).await;
}

#[tokio::test]
async fn fails_over_to_the_next_url_in_order() {
    let (first, second) = (FakeToncenter::start(SEQNO).await, FakeToncenter::start(SEQNO + 1).await);
    explorer_transport::fails_over_to_the_next_url_in_order(&first, &second, SEQNO, "502", client).await;
}

#[tokio::test]
async fn an_accounts_incoming_transfers_serve_discovery_named_by_the_paying_wallets_transaction() {
    let fake = FakeToncenter::start(SEQNO).await;
    let ton = client(&[&fake.base_url]);
    let history = ton.address_history().expect("toncenter has an address index");
    let friendly = crate::support::fake_toncenter::friendly(&user(1));
    assert_eq!(history.payments_to(&friendly).await.unwrap(), Vec::new());
    fake.pay(&Payout::ton(1, &user(1), 3_000_000_000, Some("t")), SEQNO - 1, Some(SEQNO));
    fake.pay(&Payout::usdt(2, &user(1), 4_000_000, Some("j")), SEQNO - 1, Some(SEQNO));
    fake.pay(&Payout::ton(3, &user(1), 1, None).turning_out(Outcome::Bounced), SEQNO - 1, Some(SEQNO));
    let found = history.payments_to(&friendly).await.unwrap();
    type Seen = (String, Option<bool>, Vec<(u128, Option<String>)>);
    let summary: Vec<Seen> = found
        .iter()
        .map(|tx| {
            assert!(matches!(&tx.location, TxLocation::Block(b) if b.height == SEQNO), "{tx:?}");
            (tx.txid.clone(), tx.success, tx.payments.iter().map(|p| (p.amount.get(), p.memo.clone())).collect())
        })
        .collect();
    assert_eq!(
        summary,
        [
            (Payout::wallet_hash(3), Some(false), vec![]),
            (Payout::wallet_hash(1), Some(true), vec![(3_000_000_000, Some("t".into()))]),
            (Payout::wallet_hash(2), Some(true), vec![(4_000_000, Some("j".into()))]),
        ],
        "TON newest first, then the jetton transfers; a bounce pays nothing"
    );
}

#[tokio::test]
async fn a_highload_wallet_batch_is_followed_through_its_message_to_itself() {
    let fake = FakeToncenter::start(SEQNO).await;
    let ton = client(&[&fake.base_url]);
    let (first, second) = (user(1), user(2));
    let transfers = [(first.as_str(), 1_000_000_000, Some("a")), (second.as_str(), 2_000_000_000, Some("b"))];
    let external = fake.pay_batch(1, &transfers, SEQNO);
    let status = &ton.statuses(std::slice::from_ref(&external)).await.unwrap()[0];
    assert_eq!((status.finalized, status.success), (true, Some(true)), "{status:?}");
    let info = ton.transaction(&external).await.unwrap().unwrap();
    let paid: Vec<(String, u128, Option<String>)> =
        info.payments.iter().map(|p| (p.to.clone(), p.amount.get(), p.memo.clone())).collect();
    assert_eq!(
        paid,
        [
            (user(1).to_ascii_lowercase(), 1_000_000_000, Some("a".into())),
            (user(2).to_ascii_lowercase(), 2_000_000_000, Some("b".into())),
        ],
        "the batch's transfers, not the wallet's message to itself"
    );
}
