//! The Stellar client against a fake Horizon answering like the documented
//! REST API: ledgers and their payments (paged, failed ones included, the
//! transaction joined), lookups by hash, an account's payments, throttling,
//! failover, garbage and hangs.

use std::time::Duration;

use withdrawal_tracker::chain::horizon::PAGE_LIMIT;
use withdrawal_tracker::chain::{
    Asset, BaseUnits, BlockChain, BlockRef, ChainError, ClientConfig, ConflictKey, HorizonClient, Payment, TxLocation,
};

use crate::support::explorer_transport;
use crate::support::fake_horizon::{
    closed_at, ledger_hash, payment, tx_hash, FakeHorizon, FakeOp, HorizonTx, Mode, HOT_WALLET, USDC_ISSUER,
};

const LATEST: u64 = 55_000_000;
const PAYEE: &str = "GCEZWKCA5VLDNRLN3RPRJMRZOX3Z6G5CHCGSNFHEYVXM3XOJMDS674JZ";
const OTHER: &str = "GAYOLLLUIZE4DZMBB2ZBKGBUBZLIOYU6XFLW37GBP2VZD3ABNXCW4BVA";

fn client(urls: &[&str]) -> HorizonClient {
    HorizonClient::new(ClientConfig::new(urls.iter().copied(), Duration::from_millis(500)))
}

fn usdc() -> Asset {
    Asset::Token(format!("USDC:{USDC_ISSUER}"))
}

#[tokio::test]
async fn a_ledger_brings_its_payments_and_their_transactions_in_one_read() {
    let fake = FakeHorizon::start(LATEST).await;
    let horizon = client(&[&fake.base_url]);
    let lumens = payment(1, PAYEE, "25.5000000", None, Some(("id", "12345")));
    let dollars = payment(2, PAYEE, "10.0000000", Some("USDC"), Some(("text", "order 7")));
    let mut failed = payment(3, PAYEE, "1.0000000", None, None);
    failed.successful = false;
    let mut mixed = payment(4, OTHER, "2.0000000", None, None);
    mixed.ops.insert(0, FakeOp::ManageData);
    mixed.ops.push(FakeOp::CreateAccount { account: PAYEE.to_owned(), starting_balance: "1.5000000".to_owned() });
    let data_only = payment(5, PAYEE, "1", None, None);
    let data_only = HorizonTx { ops: vec![FakeOp::ManageData], ..data_only };
    let sequence = fake.close_ledger(vec![lumens, dollars, failed, mixed, data_only]);

    assert_eq!(horizon.tip().await.unwrap(), BlockRef { height: sequence, hash: ledger_hash(sequence) });
    let before = fake.requests();
    let block = horizon.block_at(sequence).await.unwrap();
    assert_eq!(fake.requests() - before, 2, "the header and one page of payments");
    assert_eq!(block.parent_hash.as_deref(), Some(ledger_hash(sequence - 1).as_str()));
    assert_eq!(block.expiry_point, Some(closed_at(sequence) as u64), "its close time, the unit of time bounds");
    assert_eq!(block.time.map(|t| t.timestamp()), Some(closed_at(sequence)));
    let ids: Vec<&str> = block.txs.iter().map(|t| t.txid.as_str()).collect();
    assert_eq!(ids, [tx_hash(1), tx_hash(2), tx_hash(3), tx_hash(4)], "each paying transaction once, in order");
    let last = fake.paths().pop().unwrap();
    assert!(last.contains("include_failed=true") && last.contains("join=transactions"), "{last}");

    let before = fake.requests();
    let wanted: Vec<String> = (1..=4).map(tx_hash).collect();
    let infos = horizon.transactions_in_block(&block, &wanted).await.unwrap();
    assert_eq!(fake.requests(), before, "answered from the ledger read");
    assert_eq!(infos.len(), 4);
    let at = TxLocation::Block(block.at.clone());
    assert_eq!(infos[0].location, at);
    assert_eq!((infos[0].success, infos[2].success), (Some(true), Some(false)));
    assert_eq!(
        infos[0].payments,
        [Payment {
            to: PAYEE.into(),
            amount: BaseUnits::new(255_000_000),
            asset: Asset::Native,
            memo: Some("12345".into())
        }]
    );
    assert_eq!(
        infos[1].payments,
        [Payment {
            to: PAYEE.into(),
            amount: BaseUnits::new(100_000_000),
            asset: usdc(),
            memo: Some("order 7".into())
        }]
    );
    assert!(infos[2].payments.is_empty(), "a failed transaction pays nothing");
    let paid: Vec<(&str, u128)> = infos[3].payments.iter().map(|p| (p.to.as_str(), p.amount.get())).collect();
    assert_eq!(paid, [(OTHER, 20_000_000), (PAYEE, 15_000_000)], "payment and create_account");
    assert_eq!(infos[0].conflict, ConflictKey::Nonce { from: HOT_WALLET.into(), nonce: 113_942_965_682_716_674 });

    assert!(horizon.is_in_best_chain(&block.at).await.unwrap());
    let other = BlockRef { height: sequence, hash: ledger_hash(1) };
    assert!(!horizon.is_in_best_chain(&other).await.unwrap());
    assert_eq!(horizon.block_at(sequence + 1).await, Err(ChainError::NotFound), "above the tip");
}

#[tokio::test]
async fn a_busy_ledger_is_read_page_by_page() {
    let fake = FakeHorizon::start(LATEST).await;
    let horizon = client(&[&fake.base_url]);
    let txs = (0..450).map(|n| payment(n, PAYEE, &format!("1.{n:07}"), None, None)).collect();
    let sequence = fake.close_ledger(txs);
    let before = fake.requests();
    let block = horizon.block_at(sequence).await.unwrap();
    assert_eq!(block.txs.len(), 450);
    assert_eq!(fake.requests() - before, 1 + 450usize.div_ceil(PAGE_LIMIT), "header + 3 pages");
    let cursors: Vec<String> = fake.paths().into_iter().filter(|p| p.contains("cursor=")).collect();
    assert_eq!(cursors.len(), 2, "pages after the first follow the last paging token: {cursors:?}");
}

#[tokio::test]
async fn a_lookup_is_one_request_and_an_unknown_hash_is_none() {
    let fake = FakeHorizon::start(LATEST).await;
    let horizon = client(&[&fake.base_url]);
    let bounded = HorizonTx { max_time: 1_975_000_300, ..payment(1, PAYEE, "3.0000000", None, Some(("text", "hi"))) };
    let sequence = fake.close_ledger(vec![bounded]);
    fake.close_ledger(vec![]);
    let before = fake.requests();
    let info = horizon.transaction(&tx_hash(1)).await.unwrap().expect("known");
    assert_eq!(info.location, TxLocation::Block(BlockRef { height: sequence, hash: ledger_hash(sequence) }));
    assert_eq!(info.payments[0].memo.as_deref(), Some("hi"));
    assert_eq!(info.valid_until, Some(1_975_000_300), "preconditions.timebounds.max_time");
    assert_eq!(fake.requests() - before, 2, "operations with the transaction, and its ledger's hash");

    horizon.block_at(sequence).await.unwrap();
    let before = fake.requests();
    horizon.transaction(&tx_hash(1).to_ascii_uppercase()).await.unwrap().expect("known in upper case too");
    assert_eq!(fake.requests() - before, 1, "the ledger read already: one request");

    let before = fake.requests();
    assert_eq!(horizon.transaction(&tx_hash(9)).await.unwrap(), None, "Horizon knows no pending transactions");
    assert_eq!(fake.requests() - before, 1);
}

#[tokio::test]
async fn an_accounts_payments_serve_discovery() {
    let fake = FakeHorizon::start(LATEST).await;
    let horizon = client(&[&fake.base_url]);
    let history = horizon.address_history().expect("Horizon has an address index");
    assert_eq!(history.payments_to(PAYEE).await.unwrap(), Vec::new(), "an account never paid");
    fake.close_ledger(vec![payment(1, PAYEE, "1.0000000", None, None)]);
    let second = fake.close_ledger(vec![payment(2, PAYEE, "2.0000000", Some("USDC"), Some(("id", "7")))]);
    let found = history.payments_to(PAYEE).await.unwrap();
    let summary: Vec<(String, u64, u128)> = found
        .iter()
        .map(|tx| {
            let TxLocation::Block(at) = &tx.location else { panic!("in a ledger") };
            (tx.txid.clone(), at.height, tx.payments[0].amount.get())
        })
        .collect();
    assert_eq!(summary, [(tx_hash(2), second, 20_000_000), (tx_hash(1), second - 1, 10_000_000)], "newest first");
    assert!(fake.paths().iter().any(|p| p.starts_with(&format!("/accounts/{PAYEE}/payments?order=desc"))));
}

#[tokio::test]
async fn garbage_is_a_bad_response_naming_the_endpoint() {
    let fake = FakeHorizon::start(LATEST).await;
    let horizon = client(&[&fake.base_url]);
    fake.set_mode(Mode::Malformed);
    assert!(matches!(horizon.tip().await, Err(ChainError::BadResponse(m)) if m.contains("/ledgers")));
    fake.set_mode(Mode::NotJson);
    assert!(matches!(horizon.block_at(LATEST).await, Err(ChainError::BadResponse(_))));
}

#[tokio::test]
async fn throttling_is_rate_limited_with_retry_after() {
    let (fake, second) = (FakeHorizon::start(LATEST).await, FakeHorizon::start(LATEST).await);
    explorer_transport::throttling_is_rate_limited_with_retry_after(&fake, &second, client).await;
}

#[tokio::test]
async fn a_hanging_server_times_out_as_unavailable() {
    explorer_transport::a_hanging_server_times_out_as_unavailable(&FakeHorizon::start(LATEST).await, client).await;
}

#[tokio::test]
async fn fails_over_to_the_next_url_in_order() {
    let (first, second) = (FakeHorizon::start(LATEST).await, FakeHorizon::start(LATEST + 1).await);
    explorer_transport::fails_over_to_the_next_url_in_order(&first, &second, LATEST, "503", client).await;
}
