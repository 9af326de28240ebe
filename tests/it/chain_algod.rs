//! The Algorand client against a fake algod and indexer answering like the
//! documented REST APIs: rounds with their transactions in one indexer read
//! plus the node's hash, lookups in the pool then the indexer, a rejected
//! transaction, an indexer behind the node, throttling, failover, garbage
//! and hangs.

use std::time::Duration;

use withdrawal_tracker::chain::{
    AlgodClient, Asset, BaseUnits, BlockChain, BlockRef, ChainError, ClientConfig, Payment, TxLocation,
};

use crate::support::explorer_transport;
use crate::support::fake_algod::{payment, round_hash, round_time, tx_id, FakeAlgod, Mode, USDC_ASA};

const LATEST: u64 = 46_000_000;
pub const PAYEE: &str = "QEPWSH2VQLGSIWG66VTVOWRQ4ZB2YJPLGSKAQWFZBRHHUY5KKTJCC6NGOI";
pub const OTHER: &str = "3EUYUEGRWBZVQN64JPMF3LDEDMHTZ3ZHUR7F2U5FJ4XT6WZPZ75KW5LLII";

/// Each URL names a fake: its algod, and its indexer under `/idx`.
fn client(urls: &[&str]) -> AlgodClient {
    let timeout = Duration::from_millis(500);
    AlgodClient::new(
        ClientConfig::new(urls.iter().copied(), timeout),
        ClientConfig::new(urls.iter().map(|u| format!("{u}/idx")), timeout),
    )
}

fn usdc() -> Asset {
    Asset::Token(USDC_ASA.to_string())
}

#[tokio::test]
async fn a_round_brings_its_transactions_and_their_payments_in_one_indexer_read() {
    let fake = FakeAlgod::start(LATEST).await;
    let algod = client(&[&fake.base_url]);
    let algos = payment(1, PAYEE, 25_500_000, None, Some("order 7"));
    let dollars = payment(2, PAYEE, 10_000_000, Some(USDC_ASA), None);
    let elsewhere = payment(3, OTHER, 1, None, None);
    let round = fake.next_round(vec![algos, dollars, elsewhere], &[]);

    let before = fake.requests();
    let block = algod.block_at(round).await.unwrap();
    assert_eq!(fake.requests() - before, 2, "the node's hash and the indexer's block");
    assert_eq!(algod.tip().await.unwrap(), BlockRef { height: round, hash: round_hash(round) });
    let before = fake.requests();
    assert_eq!(algod.block_at(round).await.unwrap(), block);
    assert_eq!(fake.requests() - before, 1, "the tip's hash is kept: the indexer's block only");
    assert_eq!(block.at, BlockRef { height: round, hash: round_hash(round) });
    assert_eq!(block.parent_hash.as_deref(), Some(round_hash(round - 1).as_str()), "base64 and base32 alike");
    assert_eq!(block.expiry_point, Some(round), "last-valid is a round");
    assert_eq!(block.time.map(|t| t.timestamp()), Some(round_time(round)));
    let ids: Vec<&str> = block.txs.iter().map(|t| t.txid.as_str()).collect();
    assert_eq!(ids, [tx_id(1), tx_id(2), tx_id(3)]);

    let before = fake.requests();
    let infos = algod.transactions_in_block(&block, &[tx_id(1), tx_id(2).to_ascii_lowercase()]).await.unwrap();
    assert_eq!(fake.requests(), before, "answered from the round read");
    assert_eq!(infos.len(), 2);
    assert_eq!((&infos[0].location, infos[0].success), (&TxLocation::Block(block.at.clone()), Some(true)));
    assert_eq!(
        infos[0].payments,
        [Payment {
            to: PAYEE.into(),
            amount: BaseUnits::new(25_500_000),
            asset: Asset::Native,
            memo: Some("order 7".into())
        }],
        "microalgos, the note as text"
    );
    assert_eq!(
        infos[1].payments,
        [Payment { to: PAYEE.into(), amount: BaseUnits::new(10_000_000), asset: usdc(), memo: None }]
    );
    let requested: Vec<(String, u128)> =
        algod.requested_payments(&block).into_iter().map(|(id, p)| (id, p.amount.get())).collect();
    assert_eq!(requested, [(tx_id(1), 25_500_000), (tx_id(2), 10_000_000), (tx_id(3), 1)], "for discovery");
    assert!(algod.discovers_in_blocks());

    assert!(algod.is_in_best_chain(&block.at).await.unwrap());
    assert!(!algod.is_in_best_chain(&BlockRef { height: round, hash: round_hash(1) }).await.unwrap());
    assert_eq!(algod.block_at(round + 1).await, Err(ChainError::NotFound), "above the node's last round");
}

#[tokio::test]
async fn a_lookup_asks_the_pool_then_the_indexer() {
    let fake = FakeAlgod::start(LATEST).await;
    let algod = client(&[&fake.base_url]);
    let mut pooled = payment(1, PAYEE, 5_000_000, None, None);
    pooled.last_valid = LATEST + 1000;
    fake.submit(pooled);

    let before = fake.requests();
    let info = algod.transaction(&tx_id(1).to_ascii_lowercase()).await.unwrap().expect("in the pool");
    assert_eq!(fake.requests() - before, 1, "the node's pool answers");
    assert_eq!((info.location, info.success, info.valid_until), (TxLocation::Mempool, None, Some(LATEST + 1000)));
    assert_eq!(info.payments[0].amount, BaseUnits::new(5_000_000), "the payee is checked while it waits");

    let round = fake.next_round(vec![], &[tx_id(1)]);
    let info = algod.transaction(&tx_id(1)).await.unwrap().unwrap();
    assert_eq!(info.location, TxLocation::Block(BlockRef { height: round, hash: round_hash(round) }));
    assert_eq!(info.success, Some(true), "committed lately: the node says where");

    for _ in 0..10 {
        fake.next_round(vec![], &[]);
    }
    let before = fake.requests();
    let info = algod.transaction(&tx_id(1)).await.unwrap().unwrap();
    assert_eq!(fake.requests() - before, 3, "the pool forgot it: the indexer, and the round's hash");
    assert_eq!(info.location, TxLocation::Block(BlockRef { height: round, hash: round_hash(round) }));
    assert_eq!(info.payments[0].to, PAYEE);

    let before = fake.requests();
    assert_eq!(algod.transaction(&tx_id(9)).await.unwrap(), None, "neither knows it");
    assert_eq!(fake.requests() - before, 2);
    let paths = fake.paths();
    assert!(paths.iter().any(|p| p == &format!("/v2/transactions/pending/{}", tx_id(9))));
    assert!(paths.iter().any(|p| p == &format!("/idx/v2/transactions/{}", tx_id(9))));
}

#[tokio::test]
async fn a_transaction_the_pool_threw_out_failed_unless_it_only_expired() {
    let fake = FakeAlgod::start(LATEST).await;
    let algod = client(&[&fake.base_url]);
    fake.submit(payment(1, PAYEE, 5, None, None));
    fake.submit(payment(2, PAYEE, 5, None, None));
    fake.reject(&tx_id(1), "TransactionPool.Remember: transaction ABC: overspend (account P5OR..., data {...})");
    fake.reject(&tx_id(2), "TransactionPool.Remember: txn dead: round 46000001 outside of 45000000--46000000");
    let rejected = algod.transaction(&tx_id(1)).await.unwrap().unwrap();
    assert_eq!((rejected.location, rejected.success), (TxLocation::Mempool, Some(false)));
    assert!(rejected.payments.is_empty(), "it pays nothing");
    let dead = algod.transaction(&tx_id(2)).await.unwrap().unwrap();
    assert_eq!((dead.location, dead.success), (TxLocation::Mempool, None), "expiry decides, by its last valid round");
}

#[tokio::test]
async fn the_tip_is_the_newest_round_the_indexer_holds_too() {
    let fake = FakeAlgod::start(LATEST).await;
    let algod = client(&[&fake.base_url]);
    fake.set_indexer_lag(2);
    assert_eq!(algod.tip().await.unwrap(), BlockRef { height: LATEST - 2, hash: round_hash(LATEST - 2) });
    assert!(
        matches!(algod.block_at(LATEST).await, Err(ChainError::Unavailable(m)) if m.contains("indexer")),
        "a round the node has and the indexer not yet: try later"
    );
}

#[tokio::test]
async fn garbage_is_a_bad_response_naming_the_endpoint() {
    let fake = FakeAlgod::start(LATEST).await;
    let algod = client(&[&fake.base_url]);
    fake.set_mode(Mode::Malformed);
    assert!(
        matches!(algod.tip().await, Err(ChainError::BadResponse(m)) if m.contains("/v2/status") || m.contains("/health"))
    );
    assert!(matches!(algod.block_at(LATEST).await, Err(ChainError::BadResponse(m)) if m.contains("blockHash")));
}

#[tokio::test]
async fn throttling_is_rate_limited_with_retry_after() {
    let (fake, second) = (FakeAlgod::start(LATEST).await, FakeAlgod::start(LATEST).await);
    explorer_transport::throttling_is_rate_limited_with_retry_after(&fake, &second, client).await;
}

#[tokio::test]
async fn a_hanging_server_times_out_as_unavailable() {
    explorer_transport::a_hanging_server_times_out_as_unavailable(&FakeAlgod::start(LATEST).await, client).await;
}

#[tokio::test]
async fn fails_over_to_the_next_url_in_order() {
    let (first, second) = (FakeAlgod::start(LATEST).await, FakeAlgod::start(LATEST + 1).await);
    explorer_transport::fails_over_to_the_next_url_in_order(&first, &second, LATEST, "503", client).await;
}
