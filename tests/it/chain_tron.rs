//! The TRON client against a fake java-tron HTTP API: the solidified tip,
//! blocks, TRX and TRC-20 payments in base58, reverts, reorgs of the
//! unsolidified head, unknown transactions, throttling (429 and TronGrid's
//! 403), garbage, hangs and failover.

use std::time::Duration;

use withdrawal_tracker::chain::tron::{tron_address, API_KEY_HEADER};
use withdrawal_tracker::chain::{
    ApiKey, Asset, BaseUnits, BlockChain, BlockRef, ChainError, ClientConfig, ConflictKey, Payment, TronClient,
    TxLocation,
};
use withdrawal_tracker::domain::address::validate;
use withdrawal_tracker::domain::network::Network;

use crate::support::explorer_transport;
use crate::support::fake_esplora::fake_hash;
use crate::support::fake_tron::{FakeTron, Mode, BASE_HEIGHT};

const HOT: &str = "41dd791d6b49e190062d650e6a23c575510d35f2f9";
const PAYEE: &str = "41b2f713d57dbcec679d93a8849fa0cd0e4db594ba";
const USDT_HEX: &str = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c";
const USDT: &str = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
const SOLID_LAG: usize = 3;

fn client(urls: &[&str]) -> TronClient {
    TronClient::new(ClientConfig::new(urls.iter().copied(), Duration::from_millis(500)))
}

fn payee() -> String {
    let address = tron_address(PAYEE).unwrap();
    assert!(validate(Network::Trx, &address, None).valid, "{address}");
    address
}

#[tokio::test]
async fn the_tip_is_the_solidified_block_and_blocks_carry_ids_and_parents() {
    let fake = FakeTron::start(10, SOLID_LAG).await;
    let tron = client(&[&fake.base_url]);
    let txid = fake.send_trx(HOT, PAYEE, 1_000_000);
    let with_tx = fake.mine(&[&txid]);
    for _ in 0..SOLID_LAG {
        fake.mine(&[]);
    }

    let tip = tron.tip().await.unwrap();
    assert_eq!(tip, BlockRef { height: with_tx.height, hash: with_tx.id.clone() }, "solidified, not the head");
    let head = tron.head().await.unwrap();
    assert_eq!(head.height, tip.height + SOLID_LAG as u64);
    assert_eq!(head.hash, fake.head().id);

    let block = tron.block_at(tip.height).await.unwrap();
    assert_eq!(block.at, tip);
    assert_eq!(block.parent_hash.as_deref(), Some(with_tx.parent.as_str()));
    let parent = tron.block_at(tip.height - 1).await.unwrap();
    assert_eq!(Some(parent.at.hash), block.parent_hash);
    assert_eq!(block.txs.iter().map(|t| t.txid.as_str()).collect::<Vec<_>>(), vec![txid.as_str()]);
    assert!(block.txs.iter().all(|tx| tx.call.is_none()));
    assert!(parent.txs.is_empty(), "a block without transactions omits the field");

    assert_eq!(tron.block_at(tip.height + 1).await, Err(ChainError::NotFound), "not solidified yet");
    assert!(tron.is_in_best_chain(&BlockRef { height: head.height, hash: head.hash }).await.unwrap());
}

#[tokio::test]
async fn a_trx_transfer_pays_sun_to_a_base58_address() {
    let fake = FakeTron::start(5, SOLID_LAG).await;
    let tron = client(&[&fake.base_url]);
    let txid = fake.send_trx(HOT, PAYEE, 25_500_000);
    assert_eq!(tron.transaction(&txid).await, Ok(None), "not in a block yet: java-tron answers {{}}");

    let block = fake.mine(&[&txid]);
    let info = tron.transaction(&txid).await.unwrap().expect("mined");
    let at = BlockRef { height: block.height, hash: block.id.clone() };
    assert_eq!(info.location, TxLocation::Block(at.clone()), "seen on the full node before it is final");
    assert_eq!(info.success, Some(true));
    let expected =
        Payment { to: payee(), amount: BaseUnits::from_decimal("25.5", 6).unwrap(), asset: Asset::Native, memo: None };
    assert_eq!(info.payments, vec![expected.clone()]);
    assert_eq!(info.conflict, ConflictKey::Outpoints(vec![]));

    for _ in 0..SOLID_LAG {
        fake.mine(&[]);
    }
    let solid = tron.block_at(block.height).await.unwrap();
    assert_eq!(solid.at, at);
    let found = tron.transactions_in_block(&solid, &[txid.clone(), fake_hash("never", 9)]).await.unwrap();
    assert_eq!(found.len(), 1, "unknown ids are left out");
    assert_eq!(found[0].payments, vec![expected]);
    assert_eq!(found[0].location, TxLocation::Block(at));
}

#[tokio::test]
async fn a_trc20_transfer_pays_from_its_log_and_a_revert_pays_nothing() {
    let fake = FakeTron::start(5, SOLID_LAG).await;
    let tron = client(&[&fake.base_url]);
    let paid = fake.send_trc20(HOT, USDT_HEX, PAYEE, 25_500_000, "SUCCESS");
    let reverted = fake.send_trc20(HOT, USDT_HEX, PAYEE, 25_500_000, "REVERT");
    let out_of_energy = fake.send_trc20(HOT, USDT_HEX, PAYEE, 1, "OUT_OF_ENERGY");
    fake.mine(&[&paid, &reverted, &out_of_energy]);

    let info = tron.transaction(&paid).await.unwrap().unwrap();
    assert_eq!(info.success, Some(true));
    assert_eq!(
        info.payments,
        vec![Payment {
            to: payee(),
            amount: BaseUnits::new(25_500_000),
            asset: Asset::Token(USDT.to_owned()),
            memo: None
        }]
    );

    for failed in [&reverted, &out_of_energy] {
        let info = tron.transaction(failed).await.unwrap().unwrap();
        assert_eq!(info.success, Some(false), "receipt.result REVERT / OUT_OF_ENERGY, result FAILED");
        assert_eq!(info.payments, vec![], "a failed call pays nothing");
        assert!(matches!(info.location, TxLocation::Block(_)));
    }
}

#[tokio::test]
async fn a_reorg_of_the_unsolidified_head_takes_the_block_off_the_best_chain() {
    let fake = FakeTron::start(5, SOLID_LAG).await;
    let tron = client(&[&fake.base_url]);
    let solid_before = tron.tip().await.unwrap();
    let txid = fake.send_trx(HOT, PAYEE, 1_000);
    fake.mine(&[&txid]);
    let TxLocation::Block(seen) = tron.transaction(&txid).await.unwrap().unwrap().location else { panic!("mined") };
    assert!(tron.is_in_best_chain(&seen).await.unwrap());

    fake.reorg(1);
    assert!(!tron.is_in_best_chain(&seen).await.unwrap(), "another block at that height");
    assert_eq!(tron.transaction(&txid).await, Ok(None), "back in the pending pool, which is not served");
    assert_eq!(tron.head().await.unwrap().height, seen.height + 1);
    assert_eq!(tron.block_at(solid_before.height).await.unwrap().at, solid_before, "solidified blocks stay");

    let above = BlockRef { height: seen.height + 10, hash: fake_hash("never", 0) };
    assert!(!tron.is_in_best_chain(&above).await.unwrap(), "above the head is not on the best chain");
}

#[tokio::test]
async fn unknown_transactions_are_none_and_bad_ids_are_bad_responses() {
    let fake = FakeTron::start(2, 0).await;
    let tron = client(&[&fake.base_url]);
    assert_eq!(tron.transaction(&fake_hash("never", 1)).await, Ok(None));
    match tron.transaction("not-a-txid").await {
        Err(ChainError::BadResponse(why)) => assert!(why.contains("node error") && why.contains("hex"), "{why}"),
        other => panic!("expected BadResponse, got {other:?}"),
    }
}

#[tokio::test]
async fn nothing_replaces_a_tron_transaction() {
    let fake = FakeTron::start(2, 0).await;
    let tron = client(&[&fake.base_url]);
    let txid = fake.send_trx(HOT, PAYEE, 1_000);
    fake.mine(&[&txid]);
    let conflict = tron.transaction(&txid).await.unwrap().unwrap().conflict;
    let requests = fake.requests();
    assert_eq!(tron.replacement(&txid, &conflict).await, Ok(None));
    // Expired without landing: still no replacement, just a drop.
    assert_eq!(tron.replacement(&fake_hash("expired", 1), &ConflictKey::Outpoints(vec![])).await, Ok(None));
    assert_eq!(fake.requests(), requests, "answered without asking the node");
}

#[tokio::test]
async fn throttling_is_rate_limited_with_retry_after() {
    let (fake, second) = (FakeTron::start(1, 0).await, FakeTron::start(1, 0).await);
    explorer_transport::throttling_is_rate_limited_with_retry_after(&fake, &second, client).await;
    fake.set_mode(Mode::FrequencyLimit);
    assert_eq!(
        client(&[&fake.base_url]).tip().await,
        Err(ChainError::RateLimited { retry_after: Some(Duration::from_secs(30)) }),
        "TronGrid's 403 names its 30 s suspension"
    );
    let both = client(&[&fake.base_url, &second.base_url]);
    assert!(matches!(both.tip().await, Err(ChainError::RateLimited { .. })), "throttling is an answer, not an outage");
    assert_eq!(second.requests(), 0);
}

#[tokio::test]
async fn malformed_answers_are_bad_responses_that_say_what_was_wrong() {
    let fake = FakeTron::start(2, 0).await;
    let tron = client(&[&fake.base_url]);
    let txid = fake.send_trx(HOT, PAYEE, 1_000);
    fake.mine(&[&txid]);
    fake.set_mode(Mode::Malformed);
    match tron.transaction(&txid).await {
        Err(ChainError::BadResponse(why)) => assert!(why.contains("txID"), "{why}"),
        other => panic!("expected BadResponse, got {other:?}"),
    }
    match tron.tip().await {
        Err(ChainError::BadResponse(why)) => assert!(why.contains("blockID"), "{why}"),
        other => panic!("expected BadResponse, got {other:?}"),
    }
}

#[tokio::test]
async fn a_hanging_server_times_out_as_unavailable() {
    explorer_transport::a_hanging_server_times_out_as_unavailable(&FakeTron::start(1, 0).await, client).await;
}

#[tokio::test]
async fn fails_over_to_the_next_url_in_order() {
    let (first, second) = (FakeTron::start(1, 0).await, FakeTron::start(2, 0).await);
    explorer_transport::fails_over_to_the_next_url_in_order(&first, &second, BASE_HEIGHT, "503", client).await;
}

#[tokio::test]
async fn sends_the_api_key_header() {
    let fake = FakeTron::start(1, 0).await;
    let tron = TronClient::new(
        ClientConfig::new([fake.base_url.clone()], Duration::from_secs(2))
            .with_api_key(Some(ApiKey { header: API_KEY_HEADER.to_owned(), value: "k-123".into() })),
    );
    tron.tip().await.unwrap();
    assert_eq!(fake.state.lock().unwrap().last_api_key.as_deref(), Some("k-123"));
}
