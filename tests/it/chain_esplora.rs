//! The Esplora client against a fake that answers like the real API:
//! tips, blocks, payments, reorgs, evictions, replacements, throttling,
//! garbage, hangs and failover.

use std::time::Duration;

use withdrawal_tracker::chain::{
    ApiKey, Asset, BaseUnits, BlockChain, BlockRef, ChainError, ClientConfig, ConflictKey, EsploraClient, OutPoint,
    Payment, Replaced, TxLocation,
};

use crate::support::explorer_transport;
use crate::support::fake_esplora::{fake_hash, FakeEsplora, Mode, BASE_HEIGHT};

const PAYEE: &str = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";
const CHANGE: &str = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";

fn client(urls: &[&str]) -> EsploraClient {
    EsploraClient::new(ClientConfig::new(urls.iter().copied(), Duration::from_millis(500)))
}

fn funding() -> String {
    fake_hash("funding", 1)
}

#[tokio::test]
async fn tip_and_blocks_come_with_hashes_parents_and_txids() {
    let fake = FakeEsplora::start(3).await;
    let esplora = client(&[&fake.base_url]);
    let txid = fake.broadcast(&[(&funding(), 0)], &[(Some(PAYEE), 2_550_000_000)]);
    let mined = fake.mine(&[&txid]);

    let tip = esplora.tip().await.unwrap();
    assert_eq!(tip, BlockRef { height: BASE_HEIGHT + 3, hash: mined.hash.clone() });

    let block = esplora.block_at(tip.height).await.unwrap();
    assert_eq!(block.at, tip);
    assert_eq!(block.parent_hash, mined.prev);
    let parent = esplora.block_at(tip.height - 1).await.unwrap();
    assert_eq!(Some(parent.at.hash), block.parent_hash);
    let txids: Vec<&str> = block.txs.iter().map(|tx| tx.txid.as_str()).collect();
    assert_eq!(txids.len(), 2, "coinbase and ours");
    assert_eq!(txids[1], txid);
    assert!(block.txs.iter().all(|tx| tx.call.is_none()));

    assert_eq!(esplora.block_at(tip.height + 1).await, Err(ChainError::NotFound));
}

#[tokio::test]
async fn a_transaction_shows_its_payments_location_and_inputs() {
    let fake = FakeEsplora::start(1).await;
    let esplora = client(&[&fake.base_url]);
    let txid = fake.broadcast(&[(&funding(), 1)], &[(Some(PAYEE), 2_550_000_000), (None, 0), (Some(CHANGE), 12_345)]);

    let pending = esplora.transaction(&txid).await.unwrap().expect("known");
    assert_eq!(pending.location, TxLocation::Mempool);
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
    assert_eq!(pending.conflict, ConflictKey::Outpoints(vec![OutPoint { txid: funding(), vout: 1 }]));

    let block = fake.mine(&[&txid]);
    let mined = esplora.transaction(&txid).await.unwrap().unwrap();
    assert_eq!(mined.location, TxLocation::Block(BlockRef { height: block.height, hash: block.hash }));
}

#[tokio::test]
async fn a_reorg_takes_a_block_off_the_best_chain() {
    let fake = FakeEsplora::start(2).await;
    let esplora = client(&[&fake.base_url]);
    let txid = fake.broadcast(&[(&funding(), 0)], &[(Some(PAYEE), 1_000)]);
    fake.mine(&[&txid]);
    let TxLocation::Block(seen) = esplora.transaction(&txid).await.unwrap().unwrap().location else { panic!("mined") };
    assert!(esplora.is_in_best_chain(&seen).await.unwrap());

    fake.reorg(1);
    assert!(!esplora.is_in_best_chain(&seen).await.unwrap());
    let replacement = esplora.block_at(seen.height).await.unwrap();
    assert_ne!(replacement.at.hash, seen.hash);
    assert!(replacement.txs.iter().all(|tx| tx.txid != txid));
    assert_eq!(esplora.transaction(&txid).await.unwrap().unwrap().location, TxLocation::Mempool);
    assert_eq!(esplora.tip().await.unwrap().height, seen.height + 1);

    let unknown = BlockRef { height: seen.height, hash: fake_hash("never", 0) };
    assert!(!esplora.is_in_best_chain(&unknown).await.unwrap(), "an unknown block is not on the best chain");
}

#[tokio::test]
async fn an_unknown_or_evicted_transaction_is_none() {
    let fake = FakeEsplora::start(1).await;
    let esplora = client(&[&fake.base_url]);
    assert_eq!(esplora.transaction(&fake_hash("never", 1)).await, Ok(None));
    let txid = fake.broadcast(&[(&funding(), 0)], &[(Some(PAYEE), 1_000)]);
    assert!(esplora.transaction(&txid).await.unwrap().is_some());
    fake.evict(&txid);
    assert_eq!(esplora.transaction(&txid).await, Ok(None));
    // Esplora answers 400 "Invalid hex string" to a malformed id.
    assert!(matches!(esplora.transaction("not-a-txid").await, Err(ChainError::BadResponse(m)) if m.contains("400")));
}

#[tokio::test]
async fn a_replacement_is_found_through_the_outspends() {
    let fake = FakeEsplora::start(1).await;
    let esplora = client(&[&fake.base_url]);
    let other_input = fake_hash("funding", 2);
    let original = fake.broadcast(&[(&other_input, 3), (&funding(), 0)], &[(Some(PAYEE), 10_000)]);
    let conflict = esplora.transaction(&original).await.unwrap().unwrap().conflict;
    assert_eq!(esplora.replacement(&original, &conflict).await, Ok(None), "still the spender");

    // RBF: a higher-fee version spends the same input; the node forgets the first.
    fake.evict(&original);
    assert_eq!(esplora.replacement(&original, &conflict).await, Ok(None), "dropped, not replaced");
    let bumped = fake.broadcast(&[(&funding(), 0)], &[(Some(PAYEE), 9_000)]);
    assert_eq!(esplora.transaction(&original).await, Ok(None));
    assert_eq!(esplora.replacement(&original, &conflict).await, Ok(Some(Replaced { by: Some(bumped.clone()) })));

    // The address history shows the replacement's payment.
    let history = esplora.address_transactions(PAYEE).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].txid, bumped);
    assert_eq!(history[0].payments[0].amount, BaseUnits::new(9_000));
}

#[tokio::test]
async fn throttling_is_rate_limited_with_retry_after() {
    let (fake, second) = (FakeEsplora::start(1).await, FakeEsplora::start(1).await);
    explorer_transport::throttling_is_rate_limited_with_retry_after(&fake, &second, client).await;
}

#[tokio::test]
async fn malformed_answers_are_bad_responses_that_say_what_was_wrong() {
    let fake = FakeEsplora::start(1).await;
    let esplora = client(&[&fake.base_url]);
    let txid = fake.broadcast(&[(&funding(), 0)], &[(Some(PAYEE), 1_000)]);
    fake.set_mode(Mode::Malformed);
    match esplora.transaction(&txid).await {
        Err(ChainError::BadResponse(why)) => assert!(why.contains("vin"), "{why}"),
        other => panic!("expected BadResponse, got {other:?}"),
    }
    match esplora.tip().await {
        Err(ChainError::BadResponse(why)) => assert!(why.contains("hash"), "{why}"),
        other => panic!("expected BadResponse, got {other:?}"),
    }
}

#[tokio::test]
async fn a_hanging_server_times_out_as_unavailable() {
    explorer_transport::a_hanging_server_times_out_as_unavailable(&FakeEsplora::start(1).await, client).await;
}

#[tokio::test]
async fn fails_over_to_the_next_url_in_order() {
    let (first, second) = (FakeEsplora::start(1).await, FakeEsplora::start(2).await);
    explorer_transport::fails_over_to_the_next_url_in_order(&first, &second, BASE_HEIGHT, "503", client).await;
}

#[tokio::test]
async fn sends_the_api_key_header() {
    let fake = FakeEsplora::start(1).await;
    let esplora = EsploraClient::new(
        ClientConfig::new([fake.base_url.clone()], Duration::from_secs(2))
            .with_api_key(Some(ApiKey { header: "x-api-key".to_owned(), value: "k-123".into() })),
    );
    esplora.tip().await.unwrap();
    assert_eq!(fake.state.lock().unwrap().last_api_key.as_deref(), Some("k-123"));
}
