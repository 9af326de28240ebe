//! The Cardano client against a fake Blockfrost in the documented shapes:
//! blocks and their paged transaction lists, a transaction's outcome and
//! outputs (lovelace and native assets), reorgs, replacement through
//! `consumed_by_tx`, throttling, garbage, hangs and failover.

use std::time::Duration;

use withdrawal_tracker::chain::{
    ApiKey, Asset, BaseUnits, BlockChain, BlockfrostClient, ChainError, ClientConfig, ConflictKey, OutPoint, Payment,
    TxLocation,
};
use withdrawal_tracker::config::Secret;

use crate::support::explorer_transport::{
    a_hanging_server_times_out_as_unavailable, fails_over_to_the_next_url_in_order,
    throttling_is_rate_limited_with_retry_after,
};
use crate::support::fake_blockfrost::{fake_hash, slot_of, AdaOutput, FakeBlockfrost, Mode, BASE_HEIGHT};
use crate::support::fake_utxo_chain::UtxoFake;

pub const ADA_PAYEE: &str =
    "addr1q8gg2r3vf9zggn48g7m8vx62rwf6warcs4k7ej8mdzmqmesj30jz7psduyk6n4n2qrud2xlv9fgj53n6ds3t8cs4fvzs05yzmz";
const OTHER: &str =
    "addr1q9ld26v2lv8wvrxxmvg90pn8n8n5k6tdst06q2s856rwmvnueldzuuqmnsye359fqrk8hwvenjnqultn7djtrlft7jnq7dy7wv";
/// USDM's policy id and hex asset name ("USDM").
const USDM: &str = "c48cbb3d5e57ed56e276bc45f99ab39abe94e6cd7ac39fb402da47ad0014df105553444d";

fn client(urls: &[&str]) -> BlockfrostClient {
    BlockfrostClient::new(ClientConfig::new(urls.iter().copied(), Duration::from_millis(500)))
}

#[tokio::test]
async fn reads_the_tip_blocks_and_a_transactions_outcome_and_outputs() {
    let fake = FakeBlockfrost::start(3).await;
    let key = ApiKey { header: "project_id".into(), value: Secret::from("mainnetSecret") };
    let explorer = BlockfrostClient::new(
        ClientConfig::new([fake.base_url.as_str()], Duration::from_secs(2)).with_api_key(Some(key)),
    );
    let tip = explorer.tip().await.unwrap();
    assert_eq!(tip.height, BASE_HEIGHT + 2);
    assert_eq!(fake.state.lock().unwrap().last_project_id.as_deref(), Some("mainnetSecret"));

    let input = fake_hash("ada-input", 1);
    let txid = fake.submit(
        &[(input.as_str(), 0)],
        &[AdaOutput::ada(ADA_PAYEE, 1_500_000).with_asset(USDM, 25_500_000), AdaOutput::ada(OTHER, 7_000_000)],
        Some(slot_of(BASE_HEIGHT + 3) + 100),
    );
    assert_eq!(explorer.transaction(&txid).await.unwrap(), None, "Blockfrost knows only what is in a block");
    let mined = fake.mine(&[&txid]);

    let block = explorer.block_at(mined.height).await.unwrap();
    assert_eq!((block.at.height, block.at.hash.as_str()), (mined.height, mined.hash.as_str()));
    assert_eq!(block.parent_hash.as_deref(), mined.prev.as_deref());
    assert_eq!(block.txs.iter().map(|t| t.txid.as_str()).collect::<Vec<_>>(), [txid.as_str()]);

    let before = fake.requests();
    let from_block = explorer.transactions_in_block(&block, std::slice::from_ref(&txid)).await.unwrap();
    assert_eq!(fake.requests(), before, "read from the block's CBOR: no request");
    let info = explorer.transaction(&txid).await.unwrap().expect("in a block");
    assert_eq!(from_block, vec![info.clone()], "the CBOR and the JSON say the same");
    assert_eq!(info.valid_until, Some(slot_of(BASE_HEIGHT + 3) + 99), "invalid_hereafter is exclusive");
    assert_eq!(info.location, TxLocation::Block(block.at.clone()));
    assert_eq!(info.success, Some(true));
    assert_eq!(
        info.payments,
        vec![
            Payment { to: ADA_PAYEE.into(), amount: BaseUnits::new(1_500_000), asset: Asset::Native, memo: None },
            Payment {
                to: ADA_PAYEE.into(),
                amount: BaseUnits::new(25_500_000),
                asset: Asset::Token(USDM.into()),
                memo: None
            },
            Payment { to: OTHER.into(), amount: BaseUnits::new(7_000_000), asset: Asset::Native, memo: None },
        ]
    );
    assert_eq!(info.conflict, ConflictKey::Outpoints(vec![OutPoint { txid: input, vout: 0 }]));
    assert!(explorer.is_in_best_chain(&block.at).await.unwrap());
    assert!(matches!(explorer.block_at(mined.height + 1).await, Err(ChainError::NotFound)));
}

#[tokio::test]
async fn a_failed_script_transaction_failed_and_paid_nothing() {
    let fake = FakeBlockfrost::start(2).await;
    let explorer = client(&[&fake.base_url]);
    let txid = fake.submit_failing(&[(fake_hash("ada-input", 2).as_str(), 1)], &[AdaOutput::ada(ADA_PAYEE, 9_000_000)]);
    let mined = fake.mine(&[&txid]);
    let block = explorer.block_at(mined.height).await.unwrap();
    let from_block = explorer.transactions_in_block(&block, std::slice::from_ref(&txid)).await.unwrap();
    assert_eq!((from_block[0].success, from_block[0].payments.len()), (Some(false), 0), "is_valid false in the CBOR");
    let info = explorer.transaction(&txid).await.unwrap().unwrap();
    assert_eq!(info.success, Some(false));
    assert_eq!(info.payments, vec![], "only the collateral went; the collateral return is no payment");
}

#[tokio::test]
async fn a_block_of_many_transactions_is_read_in_pages_and_an_empty_one_in_one_request() {
    let fake = FakeBlockfrost::start(2).await;
    let explorer = client(&[&fake.base_url]);
    let txids: Vec<String> = (0..250)
        .map(|i| fake.submit(&[(fake_hash("ada-page", i).as_str(), 0)], &[AdaOutput::ada(OTHER, 1_000_000 + i)], None))
        .collect();
    let refs: Vec<&str> = txids.iter().map(String::as_str).collect();
    let full = fake.mine(&refs);
    let empty = fake.mine(&[]);
    let before = fake.requests();
    let block = explorer.block_at(full.height).await.unwrap();
    assert_eq!(block.txs.iter().map(|t| t.txid.clone()).collect::<Vec<_>>(), txids, "in block order");
    assert_eq!(fake.requests() - before, 4, "the block, then three pages of 100");
    assert!(fake.paths().iter().any(|p| p.contains("/txs/cbor?count=100&page=3")));
    let before = fake.requests();
    assert!(explorer.block_at(empty.height).await.unwrap().txs.is_empty());
    assert_eq!(fake.requests() - before, 1, "tx_count 0: no page to read");
}

#[tokio::test]
async fn a_reorged_block_is_off_the_best_chain_and_a_spent_input_names_the_replacement() {
    let fake = FakeBlockfrost::start(3).await;
    let explorer = client(&[&fake.base_url]);
    let input = fake_hash("ada-input", 3);
    let first = fake.submit(&[(input.as_str(), 0)], &[AdaOutput::ada(ADA_PAYEE, 5_000_000)], None);
    let mined = fake.mine(&[&first]);
    let block = explorer.block_at(mined.height).await.unwrap();
    let info = explorer.transaction(&first).await.unwrap().unwrap();

    // The block is replaced by one holding a double spend of the same input.
    let double = fake.submit(&[(input.as_str(), 0)], &[AdaOutput::ada(OTHER, 5_000_000)], None);
    fake.with_chain(|chain| chain.reorg_with(1, &[&[double.as_str()], &[]]));
    assert!(!explorer.is_in_best_chain(&block.at).await.unwrap(), "a rolled-back block is a 404 by hash");
    let replacement = explorer.block_at(mined.height).await.unwrap();
    assert_ne!(replacement.at.hash, block.at.hash);
    assert_eq!(explorer.transaction(&first).await.unwrap(), None);
    // The spent input's previous transaction must be known to name its spender.
    let previous = fake.submit(&[(fake_hash("ada-older", 1).as_str(), 0)], &[AdaOutput::ada(OTHER, 6_000_000)], None);
    let conflict = ConflictKey::Outpoints(vec![OutPoint { txid: previous.clone(), vout: 0 }]);
    let spend = fake.submit(&[(previous.as_str(), 0)], &[AdaOutput::ada(OTHER, 5_900_000)], None);
    fake.mine(&[&previous, &spend]);
    let replaced = explorer.replacement(&first, &conflict).await.unwrap().expect("spent by another");
    assert_eq!(replaced.by.as_deref(), Some(spend.as_str()));
    assert_eq!(explorer.replacement(&spend, &conflict).await.unwrap(), None, "its own spend is no replacement");
    assert!(matches!(info.conflict, ConflictKey::Outpoints(ref o) if o[0].txid == input));
}

#[tokio::test]
async fn a_payment_to_an_address_is_found_in_its_history() {
    let fake = FakeBlockfrost::start(2).await;
    let explorer = client(&[&fake.base_url]);
    let history = explorer.address_history().expect("Blockfrost has an address index");
    assert_eq!(history.payments_to(ADA_PAYEE).await.unwrap(), vec![], "an address never seen is a 404: nothing");
    let old = fake.submit(&[(fake_hash("ada-h", 1).as_str(), 0)], &[AdaOutput::ada(ADA_PAYEE, 1_000_000)], None);
    fake.mine(&[&old]);
    let new = fake.submit(&[(fake_hash("ada-h", 2).as_str(), 0)], &[AdaOutput::ada(ADA_PAYEE, 2_000_000)], None);
    fake.mine(&[&new]);
    let found = history.payments_to(ADA_PAYEE).await.unwrap();
    assert_eq!(found.iter().map(|t| t.txid.as_str()).collect::<Vec<_>>(), [new.as_str(), old.as_str()], "newest first");
    assert!(fake.paths().iter().any(|p| p.contains("/transactions?order=desc")));
}

#[tokio::test]
async fn throttling_and_quota_are_rate_limited_and_garbage_is_a_bad_response() {
    let (fake, second) = (FakeBlockfrost::start(2).await, FakeBlockfrost::start(2).await);
    throttling_is_rate_limited_with_retry_after(&fake, &second, client).await;
    fake.set_mode(Mode::Malformed);
    let explorer = client(&[&fake.base_url, &second.base_url]);
    assert!(matches!(explorer.tip().await, Err(ChainError::BadResponse(m)) if m.contains("/blocks/latest")));
    assert_eq!(second.requests(), 0, "a bad answer is an answer: no failover");
}

#[tokio::test]
async fn a_daily_quota_used_up_is_throttling_too() {
    use actix_web::{web, HttpResponse};
    let port = crate::support::fakes::serve_all(web::Data::new(()), || async {
        HttpResponse::PaymentRequired().json(serde_json::json!({
            "status_code": 402, "error": "Project Over Limit", "message": "Usage is over limit."
        }))
    });
    let explorer = client(&[&format!("http://127.0.0.1:{port}")]);
    assert_eq!(explorer.tip().await, Err(ChainError::RateLimited { retry_after: None }));
}

#[tokio::test]
async fn a_hanging_blockfrost_times_out() {
    a_hanging_server_times_out_as_unavailable(&FakeBlockfrost::start(2).await, client).await;
}

#[tokio::test]
async fn blockfrost_fails_over_to_the_next_url() {
    let (first, second) = (FakeBlockfrost::start(2).await, FakeBlockfrost::start(3).await);
    fails_over_to_the_next_url_in_order(&first, &second, BASE_HEIGHT + 1, "HTTP 502", client).await;
}

#[tokio::test]
async fn a_server_without_the_cbor_endpoint_is_read_by_hashes_and_outputs() {
    let fake = FakeBlockfrost::start(2).await;
    fake.state.lock().unwrap().without_cbor = true;
    let explorer = client(&[&fake.base_url]);
    let txid = fake.submit(&[(fake_hash("ada-nocbor", 1).as_str(), 0)], &[AdaOutput::ada(ADA_PAYEE, 3_000_000)], None);
    let mined = fake.mine(&[&txid]);
    let block = explorer.block_at(mined.height).await.unwrap();
    assert_eq!(block.txs.len(), 1);
    let before = fake.requests();
    let found = explorer.transactions_in_block(&block, std::slice::from_ref(&txid)).await.unwrap();
    assert_eq!(fake.requests() - before, 1, "the outputs alone: no collateral, so it succeeded");
    assert_eq!((found[0].success, found[0].payments.len()), (Some(true), 1));
    let next = fake.submit(&[(fake_hash("ada-nocbor", 2).as_str(), 0)], &[AdaOutput::ada(ADA_PAYEE, 1_000_000)], None);
    let mined = fake.mine(&[&next]);
    explorer.block_at(mined.height).await.unwrap();
    let cbor_asked = fake.paths().iter().filter(|p| p.contains("/txs/cbor")).count();
    assert_eq!(cbor_asked, 1, "asked once, then remembered");
}
