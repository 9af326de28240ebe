//! The Blockbook client against a fake that answers like Blockbook API v2:
//! tips, paged blocks, payments, reorgs, evictions, replacements (named
//! when confirmed, unnamed from the mempool), throttling, garbage, hangs
//! and failover.

use std::time::Duration;

use withdrawal_tracker::chain::{
    ApiKey, Asset, BaseUnits, BlockChain, BlockRef, BlockbookClient, ChainError, ClientConfig, ConflictKey, OutPoint,
    Payment, Replaced, TxLocation,
};

use crate::support::explorer_transport;
use crate::support::fake_blockbook::{fake_hash, FakeBlockbook, Mode, BASE_HEIGHT};

const PAYEE: &str = "DUMh1rPrXTrCN2Z9EHsLPg7b78rACHB2h7";
const CHANGE: &str = "DSXDQ6rnwLX47WFRnemctoXPHA9pLMxqXn";
const HOT: &str = "DDhUv8JZGmSxKYV95NLnbRTUKni9cDZD3S";

fn client(urls: &[&str]) -> BlockbookClient {
    BlockbookClient::new(ClientConfig::new(urls.iter().copied(), Duration::from_millis(500)))
}

#[tokio::test]
async fn tip_and_paged_blocks_come_with_hashes_parents_and_txids() {
    let fake = FakeBlockbook::start(3).await;
    let blockbook = client(&[&fake.base_url]);
    let funding = fake.fund(&[(Some(HOT), 500_000_000_000)]);
    let txids: Vec<String> =
        (0..4).map(|i| fake.broadcast(&[(&funding, i)], &[(Some(PAYEE), 100_000_000 + u64::from(i))])).collect();
    fake.set_page_size(2);
    let mined = fake.mine(&txids.iter().map(String::as_str).collect::<Vec<_>>());

    let tip = blockbook.tip().await.unwrap();
    assert_eq!(tip, BlockRef { height: BASE_HEIGHT + 4, hash: mined.hash.clone() });

    let block = blockbook.block_at(tip.height).await.unwrap();
    assert_eq!(block.at, tip);
    assert_eq!(block.parent_hash, mined.prev);
    let parent = blockbook.block_at(tip.height - 1).await.unwrap();
    assert_eq!(Some(parent.at.hash), block.parent_hash);
    let got: Vec<&str> = block.txs.iter().map(|tx| tx.txid.as_str()).collect();
    assert_eq!(got.len(), 5, "coinbase and ours, over three pages");
    assert_eq!(got[1..], txids.iter().map(String::as_str).collect::<Vec<_>>()[..]);
    assert!(block.txs.iter().all(|tx| tx.call.is_none()));
    let pages = fake.state.lock().unwrap().paths.iter().filter(|p| p.contains("/api/v2/block/")).count();
    assert!(pages > 3, "every page was read, by hash: {pages}");

    // Payments of the block's transactions, in satoshis.
    let found = blockbook.transactions_in_block(&block, &txids[..2]).await.unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(
        found[1].payments,
        vec![Payment { to: PAYEE.to_owned(), amount: BaseUnits::new(100_000_001), asset: Asset::Native, memo: None }]
    );
    assert_eq!(found[1].location, TxLocation::Block(tip.clone()));

    assert_eq!(blockbook.block_at(tip.height + 1).await, Err(ChainError::NotFound), "blockHash \"\" above the tip");
}

#[tokio::test]
async fn a_transaction_shows_its_payments_location_and_inputs() {
    let fake = FakeBlockbook::start(1).await;
    let blockbook = client(&[&fake.base_url]);
    let funding = fake.fund(&[(Some(HOT), 1), (Some(HOT), 500_000_000_000)]);
    let txid = fake.broadcast(&[(&funding, 1)], &[(Some(PAYEE), 2_550_000_000), (None, 0), (Some(CHANGE), 12_345)]);

    let pending = blockbook.transaction(&txid).await.unwrap().expect("known");
    assert_eq!(pending.location, TxLocation::Mempool, "blockHeight -1, confirmations 0");
    assert_eq!(pending.success, Some(true));
    let amount = BaseUnits::from_decimal("25.50", 8).unwrap();
    assert_eq!(
        pending.payments,
        vec![
            Payment { to: PAYEE.to_owned(), amount, asset: Asset::Native, memo: None },
            Payment { to: CHANGE.to_owned(), amount: BaseUnits::new(12_345), asset: Asset::Native, memo: None },
        ],
        "the OP_RETURN output pays nobody"
    );
    assert_eq!(pending.conflict, ConflictKey::Outpoints(vec![OutPoint { txid: funding.clone(), vout: 1 }]));

    let block = fake.mine(&[&txid]);
    let mined = blockbook.transaction(&txid).await.unwrap().unwrap();
    assert_eq!(mined.location, TxLocation::Block(BlockRef { height: block.height, hash: block.hash }));

    // Spending output 0: Blockbook leaves "vout": 0 out.
    let second = fake.broadcast(&[(&funding, 0)], &[(Some(PAYEE), 1)]);
    let info = blockbook.transaction(&second).await.unwrap().unwrap();
    assert_eq!(info.conflict, ConflictKey::Outpoints(vec![OutPoint { txid: funding, vout: 0 }]));
    assert_eq!(blockbook.address_txids(PAYEE).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_reorg_takes_a_block_off_the_best_chain() {
    let fake = FakeBlockbook::start(2).await;
    let blockbook = client(&[&fake.base_url]);
    let funding = fake.fund(&[(Some(HOT), 10_000)]);
    let txid = fake.broadcast(&[(&funding, 0)], &[(Some(PAYEE), 1_000)]);
    fake.mine(&[&txid]);
    let TxLocation::Block(seen) = blockbook.transaction(&txid).await.unwrap().unwrap().location else {
        panic!("mined")
    };
    assert!(blockbook.is_in_best_chain(&seen).await.unwrap());

    fake.reorg(1);
    assert!(!blockbook.is_in_best_chain(&seen).await.unwrap(), "block-index names another hash");
    let other = blockbook.block_at(seen.height).await.unwrap();
    assert_ne!(other.at.hash, seen.hash);
    assert!(other.txs.iter().all(|tx| tx.txid != txid));
    assert_eq!(blockbook.transaction(&txid).await.unwrap().unwrap().location, TxLocation::Mempool);
    assert_eq!(blockbook.tip().await.unwrap().height, seen.height + 1);

    let above = BlockRef { height: seen.height + 10, hash: fake_hash("never", 0) };
    assert!(!blockbook.is_in_best_chain(&above).await.unwrap(), "above the tip is not on the best chain");
}

#[tokio::test]
async fn an_unknown_or_evicted_transaction_is_none() {
    let fake = FakeBlockbook::start(1).await;
    let blockbook = client(&[&fake.base_url]);
    assert_eq!(blockbook.transaction(&fake_hash("never", 1)).await, Ok(None), "400 Transaction '…' not found");
    let funding = fake.fund(&[(Some(HOT), 10_000)]);
    let txid = fake.broadcast(&[(&funding, 0)], &[(Some(PAYEE), 1_000)]);
    assert!(blockbook.transaction(&txid).await.unwrap().is_some());
    fake.evict(&txid);
    assert_eq!(blockbook.transaction(&txid).await, Ok(None));

    // A base URL that is not a Blockbook answers 404: never "unknown".
    let wrong = client(&[&format!("{}/not-blockbook", fake.base_url)]);
    assert!(matches!(wrong.transaction(&txid).await, Err(ChainError::BadResponse(m)) if m.contains("404")));
}

#[tokio::test]
async fn a_replacement_is_found_through_spent_outputs_and_the_utxo_set() {
    let fake = FakeBlockbook::start(1).await;
    let blockbook = client(&[&fake.base_url]);
    let funding = fake.fund(&[(Some(HOT), 20_000), (Some(HOT), 30_000)]);
    let original = fake.broadcast(&[(&funding, 0), (&funding, 1)], &[(Some(PAYEE), 10_000)]);
    let conflict = blockbook.transaction(&original).await.unwrap().unwrap().conflict;
    assert_eq!(blockbook.replacement(&original, &conflict).await, Ok(None), "still the spender");

    // Evicted without anything else spending its inputs: dropped, not replaced.
    fake.evict(&original);
    assert_eq!(blockbook.replacement(&original, &conflict).await, Ok(None), "dropped, not replaced");

    // RBF in the mempool: the output leaves the UTXO set, no spender named.
    let bumped = fake.broadcast(&[(&funding, 1)], &[(Some(PAYEE), 9_000)]);
    assert_eq!(blockbook.replacement(&original, &conflict).await, Ok(Some(Replaced { by: None })));

    // Once the replacement confirms, spentTxId names it.
    fake.mine(&[&bumped]);
    assert_eq!(blockbook.replacement(&original, &conflict).await, Ok(Some(Replaced { by: Some(bumped.clone()) })));

    // Our own confirmed spend is not a replacement.
    let ours = blockbook.transaction(&bumped).await.unwrap().unwrap();
    assert_eq!(blockbook.replacement(&bumped, &ours.conflict).await, Ok(None));
}

#[tokio::test]
async fn throttling_is_rate_limited_with_retry_after() {
    let (fake, second) = (FakeBlockbook::start(1).await, FakeBlockbook::start(1).await);
    explorer_transport::throttling_is_rate_limited_with_retry_after(&fake, &second, client).await;
}

#[tokio::test]
async fn malformed_answers_are_bad_responses_that_say_what_was_wrong() {
    let fake = FakeBlockbook::start(1).await;
    let blockbook = client(&[&fake.base_url]);
    let funding = fake.fund(&[(Some(HOT), 10_000)]);
    fake.set_mode(Mode::Malformed);
    match blockbook.transaction(&funding).await {
        Err(ChainError::BadResponse(why)) => assert!(why.contains("vout[0].value"), "{why}"),
        other => panic!("expected BadResponse, got {other:?}"),
    }
    match blockbook.tip().await {
        Err(ChainError::BadResponse(why)) => assert!(why.contains("bestHeight"), "{why}"),
        other => panic!("expected BadResponse, got {other:?}"),
    }
    match blockbook.is_in_best_chain(&BlockRef { height: 1, hash: fake_hash("x", 1) }).await {
        Err(ChainError::BadResponse(why)) => assert!(why.contains("blockHash"), "{why}"),
        other => panic!("expected BadResponse, got {other:?}"),
    }
}

#[tokio::test]
async fn a_hanging_server_times_out_as_unavailable() {
    explorer_transport::a_hanging_server_times_out_as_unavailable(&FakeBlockbook::start(1).await, client).await;
}

#[tokio::test]
async fn fails_over_to_the_next_url_in_order() {
    let (first, second) = (FakeBlockbook::start(1).await, FakeBlockbook::start(2).await);
    explorer_transport::fails_over_to_the_next_url_in_order(&first, &second, BASE_HEIGHT, "502", client).await;
}

#[tokio::test]
async fn sends_the_api_key_header() {
    let fake = FakeBlockbook::start(1).await;
    let blockbook = BlockbookClient::new(
        ClientConfig::new([fake.base_url.clone()], Duration::from_secs(2))
            .with_api_key(Some(ApiKey { header: "api-key".to_owned(), value: "k-123".into() })),
    );
    blockbook.tip().await.unwrap();
    assert_eq!(fake.state.lock().unwrap().last_api_key.as_deref(), Some("k-123"));
}
