//! The XRPL client against a fake rippled answering like the documented
//! JSON-RPC: validated or not, tec failures, unknown hashes, expiry by
//! LastLedgerSequence, delivered amounts with destination tags, throttling,
//! failover, garbage and hangs.

use std::time::{Duration, Instant};

use serde_json::json;
use withdrawal_tracker::chain::xrpl::TOKEN_DECIMALS;
use withdrawal_tracker::chain::{
    Asset, BaseUnits, BlockRef, ChainError, ClientConfig, ConflictKey, Payment, PendingTx, StatusChain, TxLocation,
    XrplClient,
};

use crate::support::explorer_transport::dead_url;
use crate::support::fake_xrpl::{ledger_hash, payment, tx_hash, FakeXrpl, Mode};

const VALIDATED: u64 = 95_000_000;
const PAYEE: &str = "rDNvjMc6LjtpR7BdfiSNvavUBjznhhmpNq";
const ISSUER: &str = "rvYAfWj5gh67oV6fW32ZzP3Aw4Eubs59B";

fn client(urls: &[&str]) -> XrplClient {
    XrplClient::new(ClientConfig::new(urls.iter().copied(), Duration::from_millis(500)))
}

#[tokio::test]
async fn statuses_read_validated_results_one_tx_each() {
    let fake = FakeXrpl::start(VALIDATED).await;
    let xrpl = client(&[&fake.url]);
    assert_eq!(xrpl.max_batch(), 20);
    let ok = tx_hash(1);
    fake.add(&ok, payment(Some(VALIDATED - 2), PAYEE, Some(7), 1_000_000));
    let failed = tx_hash(2);
    let mut tx = payment(Some(VALIDATED - 1), PAYEE, None, 5);
    tx.result = "tecNO_DST_INSUF_XRP".to_owned();
    fake.add(&failed, tx);
    let provisional = tx_hash(3);
    fake.add(&provisional, payment(Some(VALIDATED + 1), PAYEE, None, 5));
    let mut ids = vec![ok.clone(), failed, provisional, tx_hash(4)];
    ids.extend((10..31).map(tx_hash)); // 25 in all, unknown

    let statuses = xrpl.statuses(&ids).await.unwrap();
    assert_eq!(statuses.len(), 25);
    let at = BlockRef { height: VALIDATED - 2, hash: ledger_hash(VALIDATED - 2) };
    assert_eq!(statuses[0].location, Some(TxLocation::Block(at.clone())));
    assert!(statuses[0].finalized);
    assert_eq!(statuses[0].success, Some(true));
    assert!(statuses[1].finalized, "a tec result in a validated ledger is final");
    assert_eq!(statuses[1].success, Some(false));
    assert_eq!(statuses[2].location, Some(TxLocation::Mempool), "in a closed ledger not validated yet");
    assert!(!statuses[2].finalized);
    assert_eq!(statuses[2].success, None, "provisional results are not outcomes");
    for status in &statuses[3..] {
        assert_eq!((status.location.as_ref(), status.finalized, status.expired), (None, false, false));
    }
    assert!(statuses.iter().zip(&ids).all(|(s, id)| &s.txid == id), "in order");

    assert_eq!(fake.calls("ledger").len(), 1, "one validated-ledger read per call");
    let txs = fake.calls("tx");
    assert_eq!(txs.len(), 25, "rippled has no batch: one tx per hash");
    assert_eq!(txs[0]["api_version"], 2);
    assert_eq!(txs[0]["binary"], false);
    assert!(xrpl.is_in_best_chain(&at).await.unwrap());
}

#[tokio::test]
async fn expiry_comes_from_last_ledger_sequence_once_the_validated_ledger_passed_it() {
    let fake = FakeXrpl::start(VALIDATED).await;
    let xrpl = client(&[&fake.url]);
    // Known to rippled (submitted, in no ledger): its LastLedgerSequence is in the answer.
    let queued = tx_hash(1);
    let mut tx = payment(None, PAYEE, None, 5);
    tx.last_ledger_sequence = Some(VALIDATED + 2);
    fake.add(&queued, tx);
    // Never seen by this server: only the recorded value can tell.
    let lost = PendingTx::expiring(tx_hash(2), VALIDATED + 2);
    let unrecorded = PendingTx::new(tx_hash(3));
    let all = [PendingTx::new(&queued), lost.clone(), unrecorded];

    assert!(xrpl.statuses_of(&all).await.unwrap().iter().all(|s| !s.expired));
    fake.validate_up_to(VALIDATED + 2);
    assert!(xrpl.statuses_of(&all).await.unwrap().iter().all(|s| !s.expired), "valid in its last ledger");

    fake.validate_up_to(VALIDATED + 3);
    let statuses = xrpl.statuses_of(&all).await.unwrap();
    assert!(statuses[0].expired, "from the tx answer");
    assert_eq!(statuses[0].location, Some(TxLocation::Mempool));
    assert!(statuses[1].expired, "from the recorded value, rippled having searched every ledger");
    assert!(!statuses[2].expired);
    let searched = fake.calls("tx").into_iter().find(|p| p["transaction"] == lost.txid && p["max_ledger"].is_u64());
    let searched = searched.expect("a ranged lookup");
    assert_eq!(
        (searched["min_ledger"].as_u64(), searched["max_ledger"].as_u64()),
        (Some(VALIDATED - 997), Some(VALIDATED + 2))
    );

    // A server missing part of that range cannot be sure: not expired.
    fake.state.lock().unwrap().first_ledger = VALIDATED;
    assert!(!xrpl.statuses_of(&[lost]).await.unwrap()[0].expired);
}

#[tokio::test]
async fn payments_use_the_delivered_amount_and_carry_the_destination_tag() {
    let fake = FakeXrpl::start(VALIDATED).await;
    let xrpl = client(&[&fake.url]);
    let xrp = tx_hash(1);
    fake.add(&xrp, payment(Some(VALIDATED), PAYEE, Some(905_312), 75_596_347));
    let partial = tx_hash(2);
    let mut tx = payment(Some(VALIDATED), PAYEE, Some(1), 10_000_000);
    tx.delivered = json!("3000000");
    fake.add(&partial, tx);
    let token = tx_hash(3);
    let mut tx = payment(Some(VALIDATED), PAYEE, None, 0);
    tx.amount = json!({"currency": "USD", "issuer": ISSUER, "value": "100"});
    tx.delivered = json!({"currency": "USD", "issuer": ISSUER, "value": "25.5"});
    fake.add(&token, tx);
    let failed = tx_hash(4);
    let mut tx = payment(Some(VALIDATED), PAYEE, None, 9);
    tx.result = "tecPATH_DRY".to_owned();
    fake.add(&failed, tx);

    let info = xrpl.transaction(&xrp).await.unwrap().unwrap();
    assert_eq!(info.txid, xrp);
    assert_eq!(info.success, Some(true));
    assert_eq!(info.location, TxLocation::Block(BlockRef { height: VALIDATED, hash: ledger_hash(VALIDATED) }));
    assert_eq!(
        info.payments,
        vec![Payment {
            to: PAYEE.to_owned(),
            amount: BaseUnits::from_decimal("75.596347", 6).unwrap(),
            asset: Asset::Native,
            memo: Some("905312".to_owned()),
        }]
    );
    assert_eq!(info.conflict, ConflictKey::Nonce { from: "rPEPPER7kfTD9w2To4CQk6UCfuHM9c6GDY".to_owned(), nonce: 101 });
    assert_eq!(xrpl.replacement(&xrp, &info.conflict).await, Ok(None));

    let info = xrpl.transaction(&partial).await.unwrap().unwrap();
    assert_eq!(info.payments[0].amount, BaseUnits::new(3_000_000), "what was delivered, not Amount");

    let info = xrpl.transaction(&token).await.unwrap().unwrap();
    assert_eq!(
        info.payments,
        vec![Payment {
            to: PAYEE.to_owned(),
            amount: BaseUnits::from_decimal("25.5", TOKEN_DECIMALS).unwrap(),
            asset: Asset::Token(format!("USD.{ISSUER}")),
            memo: None,
        }]
    );

    let info = xrpl.transaction(&failed).await.unwrap().unwrap();
    assert_eq!(info.success, Some(false));
    assert!(info.payments.is_empty());

    assert_eq!(xrpl.transaction(&tx_hash(99)).await, Ok(None), "txnNotFound");
}

#[tokio::test]
async fn the_tip_and_blocks_are_validated_ledgers() {
    let fake = FakeXrpl::start(VALIDATED).await;
    let xrpl = client(&[&fake.url]);
    let hash = tx_hash(1);
    fake.add(&hash, payment(Some(VALIDATED), PAYEE, None, 1));

    let tip = xrpl.tip().await.unwrap();
    assert_eq!(tip, BlockRef { height: VALIDATED, hash: ledger_hash(VALIDATED) });
    assert_eq!(fake.calls("ledger")[0]["ledger_index"], "validated");
    let block = xrpl.block_at(VALIDATED).await.unwrap();
    assert_eq!(block.at, tip);
    assert_eq!(block.parent_hash, Some(ledger_hash(VALIDATED - 1)));
    assert_eq!(block.txs.iter().map(|t| t.txid.as_str()).collect::<Vec<_>>(), [hash.as_str()]);
    assert_eq!(xrpl.block_at(VALIDATED + 1).await, Err(ChainError::NotFound), "closed, not validated");
    assert_eq!(xrpl.block_at(VALIDATED + 50).await, Err(ChainError::NotFound), "lgrNotFound");
    assert!(!xrpl.is_in_best_chain(&BlockRef { height: VALIDATED, hash: ledger_hash(1) }).await.unwrap());
    assert!(!xrpl
        .is_in_best_chain(&BlockRef { height: VALIDATED + 9, hash: ledger_hash(VALIDATED + 9) })
        .await
        .unwrap());
}

#[tokio::test]
async fn throttling_is_rate_limited_with_retry_after_and_not_failed_over() {
    let fake = FakeXrpl::start(VALIDATED).await;
    let second = FakeXrpl::start(VALIDATED).await;
    fake.set_mode(Mode::RateLimited(4));
    let xrpl = client(&[&fake.url, &second.url]);
    assert_eq!(xrpl.tip().await, Err(ChainError::RateLimited { retry_after: Some(Duration::from_secs(4)) }));
    assert_eq!(second.requests(), 0);
}

#[tokio::test]
async fn fails_over_on_dead_urls_overload_and_unsynced_servers() {
    let first = FakeXrpl::start(VALIDATED).await;
    let second = FakeXrpl::start(VALIDATED + 7).await;

    assert_eq!(client(&[&dead_url(), &second.url]).tip().await.unwrap().height, VALIDATED + 7);
    let xrpl = client(&[&first.url, &second.url]);
    first.set_mode(Mode::Down);
    assert_eq!(xrpl.tip().await.unwrap().height, VALIDATED + 7, "503 → second");
    first.set_mode(Mode::NotSynced);
    assert_eq!(xrpl.tip().await.unwrap().height, VALIDATED + 7, "noNetwork → second");
    first.set_mode(Mode::Normal);
    assert_eq!(xrpl.tip().await.unwrap().height, VALIDATED);

    first.set_mode(Mode::Down);
    assert!(matches!(client(&[&first.url]).tip().await, Err(ChainError::Unavailable(m)) if m.contains("503")));
    first.set_mode(Mode::NotSynced);
    assert!(
        matches!(client(&[&first.url]).statuses(&[tx_hash(1)]).await, Err(ChainError::Unavailable(m)) if m.contains("noNetwork"))
    );
}

#[tokio::test]
async fn garbage_and_rippled_errors_are_bad_responses_that_say_what_was_wrong() {
    let fake = FakeXrpl::start(VALIDATED).await;
    let xrpl = client(&[&fake.url]);
    fake.set_mode(Mode::NotJson);
    let why = bad(xrpl.tip().await);
    assert!(why.contains("ledger") && why.contains("not a rippled JSON-RPC answer"), "{why}");
    fake.set_mode(Mode::Malformed);
    let why = bad(xrpl.block_at(VALIDATED).await);
    assert!(why.contains("ledger") && why.contains("`ledger`"), "{why}");
    fake.set_mode(Mode::InvalidParams);
    let why = bad(xrpl.transaction(&tx_hash(1)).await);
    assert!(why.contains("tx") && why.contains("invalidParams"), "{why}");
}

#[tokio::test]
async fn a_hanging_server_times_out_as_unavailable() {
    let fake = FakeXrpl::start(VALIDATED).await;
    let xrpl = client(&[&fake.url]);
    fake.set_mode(Mode::Hang);
    let started = Instant::now();
    assert_eq!(xrpl.statuses(&[tx_hash(1)]).await, Err(ChainError::Unavailable("timed out".to_owned())));
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
}

fn bad<T: std::fmt::Debug>(result: Result<T, ChainError>) -> String {
    match result {
        Err(ChainError::BadResponse(why)) => why,
        other => panic!("expected BadResponse, got {other:?}"),
    }
}
