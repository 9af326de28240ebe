//! The EOS client against a fake nodeos answering the chain API's documented
//! shapes: the irreversible block as the tip, a block's receipts and
//! transfers in one read, deferred executions by id, lookups through
//! `get_transaction_status` (and a node without it), throttling, failover,
//! garbage and hangs. `chain_eos_node.rs` runs the same client on a real node.

use std::time::Duration;

use withdrawal_tracker::chain::{
    AntelopeClient, Asset, BaseUnits, BlockChain, BlockRef, ChainError, ClientConfig, ConflictKey, Payment, TxLocation,
};

use crate::support::explorer_transport;
use crate::support::fake_antelope::{
    block_id, block_time_ms, transfer, tx_id, FakeAntelope, FakeTx, Mode, GENESIS_TIME_MS,
};

const LIB: u64 = 400_000_000;

fn client(urls: &[&str]) -> AntelopeClient {
    AntelopeClient::new(ClientConfig::new(urls.iter().copied(), Duration::from_millis(500)))
}

#[tokio::test]
async fn the_tip_is_the_last_irreversible_block_and_a_block_brings_its_transfers_in_one_read() {
    let fake = FakeAntelope::start(LIB).await;
    let eos = client(&[&fake.base_url]);
    let mut soft = transfer(3, "eosio.token", "payee", "1.0000 EOS", "x");
    soft.status = "soft_fail".into();
    let mut hard = transfer(4, "eosio.token", "payee", "1.0000 EOS", "x");
    hard.status = "hard_fail".into();
    let height = fake.produce(vec![
        transfer(1, "eosio.token", "payee", "1.5000 EOS", "order 7"),
        transfer(2, "tethertether", "payee", "25.5000 USDT", ""),
        soft,
        hard,
    ]);
    assert_eq!(eos.tip().await.unwrap().height, height - 3, "the head is not final yet");
    fake.finalize(height);
    assert_eq!(eos.tip().await.unwrap(), BlockRef { height, hash: block_id(height) });
    assert_eq!(fake.paths().last().unwrap(), "/v1/chain/get_info");

    let before = fake.requests();
    let block = eos.block_at(height).await.unwrap();
    assert_eq!(fake.requests() - before, 1, "one get_block");
    assert_eq!(block.parent_hash.as_deref(), Some(block_id(height - 1).as_str()));
    assert_eq!(block.time.map(|t| t.timestamp_millis()), Some(block_time_ms(height)));
    assert_eq!(block.expiry_point, Some((block_time_ms(height) / 1000) as u64), "its time in unix seconds");
    let ids: Vec<&str> = block.txs.iter().map(|t| t.txid.as_str()).collect();
    assert_eq!(ids, [tx_id(1), tx_id(2), tx_id(3), tx_id(4)]);

    let before = fake.requests();
    let infos = eos.transactions_in_block(&block, &[tx_id(1), tx_id(2), tx_id(3), tx_id(4)]).await.unwrap();
    assert_eq!(eos.block_at(height).await.as_ref(), Ok(&block), "an irreversible block cannot change");
    assert_eq!(fake.requests(), before, "answered from the block read");
    assert_eq!(infos[0].location, TxLocation::Block(block.at.clone()));
    assert_eq!(
        infos[0].payments,
        [Payment {
            to: "payee".into(),
            amount: BaseUnits::new(15_000),
            asset: Asset::Native,
            memo: Some("order 7".into())
        }]
    );
    assert_eq!(
        (infos[1].payments[0].amount, &infos[1].payments[0].asset, &infos[1].payments[0].memo),
        (BaseUnits::new(255_000), &Asset::Token("USDT:tethertether".into()), &None)
    );
    let outcomes: Vec<Option<bool>> = infos.iter().map(|i| i.success).collect();
    assert_eq!(outcomes, [Some(true), Some(true), Some(false), Some(false)], "soft_fail and hard_fail failed");
    assert!(infos[2].payments.is_empty() && infos[3].payments.is_empty(), "a failed transaction pays nothing");
    assert_eq!(infos[0].valid_until, Some((GENESIS_TIME_MS / 1000 + 3600) as u64), "its expiration");
    assert_eq!(infos[0].conflict, ConflictKey::Outpoints(Vec::new()), "nothing replaces an EOS transaction");

    let requested = eos.requested_payments(&block);
    let requested: Vec<&str> = requested.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(requested, [tx_id(1), tx_id(2), tx_id(3), tx_id(4)], "what each asks, whatever its outcome");
    assert!(eos.discovers_in_blocks());

    assert!(eos.is_in_best_chain(&block.at).await.unwrap());
    assert_eq!(fake.paths().last().unwrap(), "/v1/chain/get_block_info", "the header alone");
    assert!(!eos.is_in_best_chain(&BlockRef { height, hash: block_id(height + 1) }).await.unwrap());
    assert!(!eos.is_in_best_chain(&BlockRef { height: LIB + 900, hash: block_id(1) }).await.unwrap());
    assert_eq!(eos.block_at(LIB + 900).await, Err(ChainError::NotFound), "an unknown block");
}

#[tokio::test]
async fn a_deferred_transaction_is_reported_at_its_execution_with_what_it_asked() {
    let fake = FakeAntelope::start(LIB).await;
    let eos = client(&[&fake.base_url]);
    let mut delayed = transfer(1, "eosio.token", "payee", "2.0000 EOS", "later");
    delayed.status = "delayed".into();
    let scheduled = fake.produce(vec![delayed.clone()]);
    let executed = fake.produce(vec![FakeTx { status: "executed".into(), id_only: true, ..delayed.clone() }]);
    let failed = fake.produce(vec![FakeTx { id: tx_id(2), status: "hard_fail".into(), id_only: true, ..delayed }]);
    fake.finalize(failed);
    eos.tip().await.unwrap();
    assert!(eos.block_at(scheduled).await.unwrap().txs.is_empty(), "scheduled, not run: not in this block");
    let block = eos.block_at(executed).await.unwrap();
    let info = eos.transactions_in_block(&block, &[tx_id(1)]).await.unwrap().remove(0);
    assert_eq!((info.success, info.payments.len()), (Some(true), 1));
    assert_eq!(info.payments[0].memo.as_deref(), Some("later"), "the actions from its delayed receipt");
    let block = eos.block_at(failed).await.unwrap();
    let info = eos.transactions_in_block(&block, &[tx_id(2)]).await.unwrap().remove(0);
    assert_eq!((info.success, info.payments.len()), (Some(false), 0));
}

#[tokio::test]
async fn a_lookup_asks_the_transaction_status_then_reads_an_irreversible_block() {
    let fake = FakeAntelope::start(LIB).await;
    let eos = client(&[&fake.base_url]);
    let height = fake.produce(vec![transfer(1, "eosio.token", "payee", "3.0000 EOS", "m")]);

    let before = fake.requests();
    assert_eq!(eos.transaction(&tx_id(1)).await.unwrap(), None, "in a reversible block: not final yet");
    assert_eq!(fake.requests() - before, 1, "the status alone");
    let before = fake.requests();
    eos.block_at(height).await.unwrap();
    eos.block_at(height).await.unwrap();
    assert_eq!(fake.requests() - before, 2, "a reversible block is not kept: it may still change");

    fake.finalize(height);
    let before = fake.requests();
    let found = eos.transaction(&tx_id(1).to_ascii_uppercase()).await.unwrap().expect("irreversible");
    assert_eq!(fake.requests() - before, 2, "the status and the block");
    assert_eq!(found.payments[0].amount, BaseUnits::new(30_000));
    assert_eq!(found.location, TxLocation::Block(BlockRef { height, hash: block_id(height) }));
    assert_eq!(found.success, Some(true));
    let before = fake.requests();
    assert!(eos.transaction(&tx_id(1)).await.unwrap().is_some());
    assert_eq!(eos.block_at(height).await.unwrap().txs[0].txid, tx_id(1));
    assert_eq!(fake.requests(), before, "remembered with its block: the tracker's read of it costs nothing");

    assert_eq!(eos.transaction(&tx_id(9)).await.unwrap(), None, "UNKNOWN");
    fake.state.lock().unwrap().status_index = false;
    let other = fake.produce(vec![transfer(2, "eosio.token", "payee", "1.0000 EOS", "")]);
    fake.finalize(other);
    assert_eq!(eos.transaction(&tx_id(2)).await.unwrap(), None, "a node without the status index: 404, none");
}

#[tokio::test]
async fn garbage_is_a_bad_response_naming_the_endpoint() {
    let fake = FakeAntelope::start(LIB).await;
    let eos = client(&[&fake.base_url]);
    fake.set_mode(Mode::Malformed);
    assert!(matches!(eos.tip().await, Err(ChainError::BadResponse(m)) if m.contains("get_info")));
    assert!(matches!(eos.block_at(LIB).await, Err(ChainError::BadResponse(m)) if m.contains("get_block")));
    fake.set_mode(Mode::NotJson);
    assert!(matches!(eos.block_at(LIB).await, Err(ChainError::BadResponse(_))));
    fake.set_mode(Mode::Normal);
    let mut odd = transfer(1, "eosio.token", "payee", "1.0000 EOS", "");
    odd.status = "pending".into();
    let height = fake.produce(vec![odd]);
    assert!(matches!(eos.block_at(height).await, Err(ChainError::BadResponse(m)) if m.contains("pending")));
}

#[tokio::test]
async fn throttling_is_rate_limited_with_retry_after() {
    let (fake, second) = (FakeAntelope::start(LIB).await, FakeAntelope::start(LIB).await);
    explorer_transport::throttling_is_rate_limited_with_retry_after(&fake, &second, client).await;
}

#[tokio::test]
async fn a_hanging_server_times_out_as_unavailable() {
    explorer_transport::a_hanging_server_times_out_as_unavailable(&FakeAntelope::start(LIB).await, client).await;
}

#[tokio::test]
async fn fails_over_to_the_next_url_in_order() {
    let (first, second) = (FakeAntelope::start(LIB).await, FakeAntelope::start(LIB + 1).await);
    explorer_transport::fails_over_to_the_next_url_in_order(&first, &second, LIB, "503", client).await;
}
