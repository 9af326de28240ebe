//! The Tezos client against a fake Octez node answering like the documented
//! RPC: headers, manager operations with their results, the mempool, the
//! constants (TTL, read once), counters (replacement), throttling,
//! failover, garbage and hangs.

use std::time::Duration;

use withdrawal_tracker::chain::{
    Asset, BaseUnits, BlockChain, BlockRef, ChainError, ClientConfig, ConflictKey, OctezClient, Payment, Replaced,
    TxLocation,
};

use crate::support::explorer_transport;
use crate::support::fake_octez::{
    block_hash, block_time, op_hash, transfer, FakeOctez, Mode, OctezOp, Transfer, HOT_WALLET,
};

const HEAD: u64 = 8_000_000;
pub const XTZ_PAYEE: &str = "tz1YWK1gDPQx9N1Jh4JnmVre7xN6xhGGM4uC";
pub const XTZ_OTHER: &str = "tz1NR2AL74Jgt6junw6W8aCeZN5BL8bN7iS6";

fn client(urls: &[&str]) -> OctezClient {
    OctezClient::new(ClientConfig::new(urls.iter().copied(), Duration::from_millis(1500)))
}

#[tokio::test]
async fn a_block_brings_its_transactions_with_their_results_in_two_requests() {
    let fake = FakeOctez::start(HEAD).await;
    let octez = client(&[&fake.base_url]);
    let paid = transfer(1, XTZ_PAYEE, 1_500_000, HEAD);
    let mut failed = transfer(2, XTZ_PAYEE, 9, HEAD);
    failed.transfers = vec![
        Transfer { to: XTZ_OTHER.into(), mutez: 5, status: "backtracked".into(), token: None },
        Transfer { to: XTZ_PAYEE.into(), mutez: 9, status: "failed".into(), token: None },
    ];
    let mut batch = transfer(3, XTZ_OTHER, 2, HEAD);
    batch.transfers.push(Transfer { to: XTZ_PAYEE.into(), mutez: 3, status: "applied".into(), token: None });
    let level = fake.bake(&[], vec![paid, failed, batch]);

    assert_eq!(octez.tip().await.unwrap(), BlockRef { height: level, hash: block_hash(level) });
    let before = fake.requests();
    let block = octez.block_at(level).await.unwrap();
    assert_eq!(fake.requests() - before, 2, "the header, then operations/3 of that block");
    assert!(fake
        .paths()
        .last()
        .unwrap()
        .starts_with(&format!("/chains/main/blocks/{}/operations/3", block_hash(level))));
    assert_eq!(block.parent_hash.as_deref(), Some(block_hash(level - 1).as_str()));
    assert_eq!(block.expiry_point, Some(level), "levels: the unit of an operation's TTL");
    assert_eq!(block.time.map(|t| t.timestamp()), Some(block_time(level)));
    let ids: Vec<&str> = block.txs.iter().map(|t| t.txid.as_str()).collect();
    assert_eq!(ids, [op_hash(1), op_hash(2), op_hash(3)]);

    let before = fake.requests();
    let wanted: Vec<String> = (1..=3).map(op_hash).collect();
    let infos = octez.transactions_in_block(&block, &wanted).await.unwrap();
    assert_eq!(fake.requests(), before, "answered from the operations read with the block");
    assert_eq!(infos[0].location, TxLocation::Block(block.at.clone()));
    assert_eq!(
        infos[0].payments,
        [Payment { to: XTZ_PAYEE.into(), amount: BaseUnits::new(1_500_000), asset: Asset::Native, memo: None }]
    );
    assert_eq!((infos[0].success, infos[1].success), (Some(true), Some(false)), "failed / backtracked");
    assert!(infos[1].payments.is_empty());
    let batch: Vec<(&str, u128)> = infos[2].payments.iter().map(|p| (p.to.as_str(), p.amount.get())).collect();
    assert_eq!(batch, [(XTZ_OTHER, 2), (XTZ_PAYEE, 3)], "a batch pays each of its transfers");
    assert_eq!(infos[0].conflict, ConflictKey::Nonce { from: HOT_WALLET.into(), nonce: 1001 });

    assert!(octez.discovers_in_blocks());
    let requested = octez.requested_payments(&block);
    assert_eq!(requested.len(), 3, "the applied transfers, none of the failed operation: {requested:?}");

    assert!(octez.is_in_best_chain(&block.at).await.unwrap());
    assert!(!octez.is_in_best_chain(&BlockRef { height: level, hash: block_hash(1) }).await.unwrap());
    assert_eq!(octez.block_at(level + 1).await, Err(ChainError::NotFound), "above the head");
}

#[tokio::test]
async fn a_lookup_finds_the_blocks_read_then_the_mempool_with_the_branchs_ttl() {
    let fake = FakeOctez::start(HEAD).await;
    let octez = client(&[&fake.base_url]);
    let level = fake.bake(&[], vec![transfer(1, XTZ_PAYEE, 1, HEAD)]);
    octez.block_at(level).await.unwrap();
    let before = fake.requests();
    let info = octez.transaction(&op_hash(1)).await.unwrap().expect("in the block read");
    assert_eq!(fake.requests(), before, "no request");
    assert_eq!(info.location, TxLocation::Block(BlockRef { height: level, hash: block_hash(level) }));

    fake.inject(vec![transfer(2, XTZ_PAYEE, 2, HEAD - 10), transfer(3, XTZ_PAYEE, 3, HEAD - 10)]);
    let before = fake.requests();
    let pending = octez.transaction(&op_hash(2)).await.unwrap().expect("in the mempool");
    assert_eq!(pending.location, TxLocation::Mempool);
    assert_eq!(pending.success, None);
    assert_eq!(pending.valid_until, Some(HEAD - 10 + 240), "the branch's level + max_operations_time_to_live");
    assert_eq!(fake.requests() - before, 3, "the mempool, the constants, the branch's header");
    let before = fake.requests();
    let other = octez.transaction(&op_hash(3)).await.unwrap().expect("in the mempool");
    assert_eq!(other.valid_until, Some(HEAD - 10 + 240));
    assert_eq!(octez.transaction(&op_hash(9)).await.unwrap(), None, "unknown to the node");
    assert_eq!(fake.requests(), before, "one mempool read serves the lookups until the next block");

    fake.bake(&[op_hash(2).as_str()], vec![]);
    octez.block_at(level + 1).await.unwrap();
    let before = fake.requests();
    assert_eq!(octez.transaction(&op_hash(9)).await.unwrap(), None);
    assert_eq!(fake.requests() - before, 1, "a new block: the mempool is read again, the TTL is not");
}

#[tokio::test]
async fn without_the_constant_the_ttl_is_240() {
    let fake = FakeOctez::start(HEAD).await;
    fake.state.lock().unwrap().ttl = None;
    let octez = client(&[&fake.base_url]);
    assert_eq!(octez.max_operations_ttl().await.unwrap(), 240);
    fake.state.lock().unwrap().ttl = Some(450);
    assert_eq!(octez.max_operations_ttl().await.unwrap(), 240, "read once");
    let fresh = client(&[&fake.base_url]);
    assert_eq!(fresh.max_operations_ttl().await.unwrap(), 450);
}

#[tokio::test]
async fn an_operation_is_replaced_once_its_counter_was_used_by_another() {
    let fake = FakeOctez::start(HEAD).await;
    let octez = client(&[&fake.base_url]);
    let ours = transfer(5, XTZ_PAYEE, 1, HEAD);
    let key = ConflictKey::Nonce { from: HOT_WALLET.into(), nonce: ours.counter };
    fake.inject(vec![ours.clone()]);
    assert_eq!(octez.replacement(&ours.hash, &key).await.unwrap(), None, "the counter is still free");
    fake.evict(&ours.hash);
    let rival = OctezOp { hash: op_hash(50), ..transfer(5, XTZ_OTHER, 1, HEAD) };
    fake.bake(&[], vec![rival]);
    assert_eq!(octez.replacement(&ours.hash, &key).await.unwrap(), Some(Replaced { by: None }));
    let unknown = ConflictKey::Nonce { from: "KT1PWx2mnDueood7fEmfbBDKx1D9BAnnXitn".into(), nonce: 1 };
    assert_eq!(octez.replacement("oo", &unknown).await.unwrap(), None, "a contract the node does not know");
}

#[tokio::test]
async fn garbage_is_a_bad_response_naming_the_rpc() {
    let fake = FakeOctez::start(HEAD).await;
    let octez = client(&[&fake.base_url]);
    fake.set_mode(Mode::Malformed);
    assert!(matches!(octez.tip().await, Err(ChainError::BadResponse(m)) if m.contains("/header")));
    fake.set_mode(Mode::NotJson);
    assert!(matches!(octez.block_at(HEAD).await, Err(ChainError::BadResponse(_))));
}

#[tokio::test]
async fn throttling_is_rate_limited_with_retry_after() {
    let (fake, second) = (FakeOctez::start(HEAD).await, FakeOctez::start(HEAD).await);
    explorer_transport::throttling_is_rate_limited_with_retry_after(&fake, &second, client).await;
}

#[tokio::test]
async fn a_hanging_server_times_out_as_unavailable() {
    explorer_transport::a_hanging_server_times_out_as_unavailable(&FakeOctez::start(HEAD).await, client).await;
}

#[tokio::test]
async fn fails_over_to_the_next_url_in_order() {
    let (first, second) = (FakeOctez::start(HEAD).await, FakeOctez::start(HEAD + 1).await);
    explorer_transport::fails_over_to_the_next_url_in_order(&first, &second, HEAD, "502", client).await;
}
