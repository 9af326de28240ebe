//! The EVM client against a real node (ganache): native payments, growing
//! confirmations, reverts, ERC-20 `Transfer` logs, nonce replacement, batches
//! and the `eth_getBlockReceipts` fallback.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use serde_json::{json, Value};

use withdrawal_tracker::chain::evm::Support;
use withdrawal_tracker::chain::{
    Asset, BaseUnits, BlockChain, ChainError, ClientConfig, ConflictKey, EvmClient, Payment, Replaced, TxLocation,
};

use crate::support::evm_contracts::{init_code, token_runtime, transfer_call, REVERTER};
use crate::support::ganache::{Ganache, FUNDED};

const PAYEE: &str = "0x1111111111111111111111111111111111111111";

fn client(node: &Ganache) -> EvmClient {
    EvmClient::new(ClientConfig::new([node.url.clone()], Duration::from_secs(5)), 20)
}

#[tokio::test]
async fn a_native_payment_is_seen_in_its_block_and_gains_confirmations() {
    let node = Ganache::start().await;
    let evm = client(&node);
    assert_eq!(evm.chain_id().await.unwrap(), 1337);
    let amount = BaseUnits::from_decimal("1.5", 18).unwrap();
    let txid = node.send(Some(PAYEE), amount.get(), "0x").await;

    let info = evm.transaction(&txid).await.unwrap().expect("known");
    assert_eq!(info.txid, txid);
    assert_eq!(info.success, Some(true));
    assert_eq!(info.payments, vec![Payment { to: PAYEE.to_owned(), amount, asset: Asset::Native, memo: None }]);
    assert_eq!(info.conflict, ConflictKey::Nonce { from: FUNDED.to_owned(), nonce: 0 });
    let TxLocation::Block(at) = info.location else { panic!("mined at once: {:?}", info.location) };
    assert_eq!(evm.batch_support(), Support::Supported, "transaction() batches its two calls");

    let block = evm.block_at(at.height).await.unwrap();
    assert_eq!(block.at, at);
    let parent = evm.block_at(at.height - 1).await.unwrap();
    assert_eq!(block.parent_hash.as_ref(), Some(&parent.at.hash));
    assert_eq!(evm.block_at(0).await.unwrap().parent_hash, None, "genesis");
    let tx = block.txs.iter().find(|tx| tx.txid == txid).expect("in its block");
    let call = tx.call.as_ref().expect("full transactions");
    assert_eq!((call.to.as_deref(), call.value, call.from.as_str()), (Some(PAYEE), amount, FUNDED));
    assert_eq!(call.requested_payments(), info.payments);

    let confirmations = |tip: u64| tip - at.height + 1;
    assert_eq!(confirmations(evm.tip().await.unwrap().height), 1);
    node.mine().await;
    node.mine().await;
    let tip = evm.tip().await.unwrap();
    assert_eq!(confirmations(tip.height), 3);
    assert!(evm.is_in_best_chain(&at).await.unwrap());
    let stale = withdrawal_tracker::chain::BlockRef { height: at.height, hash: format!("0x{}", "ab".repeat(32)) };
    assert!(!evm.is_in_best_chain(&stale).await.unwrap());
    assert_eq!(evm.block_at(tip.height + 1).await, Err(ChainError::NotFound));

    assert_eq!(evm.replacement(&txid, &info.conflict).await, Ok(None), "mined: not replaced");
    assert_eq!(evm.transaction(&format!("0x{}", "cd".repeat(32))).await, Ok(None));
}

#[tokio::test]
async fn a_reverted_transaction_is_not_a_success() {
    let node = Ganache::start().await;
    let evm = client(&node);
    let reverter = node.deploy(&init_code(REVERTER)).await;
    let txid = node.send(Some(&reverter), 1, "0x").await;
    let info = evm.transaction(&txid).await.unwrap().unwrap();
    assert!(matches!(info.location, TxLocation::Block(_)));
    assert_eq!(info.success, Some(false), "receipt status 0x0");
    assert_eq!(info.payments, vec![], "the 1 wei never moved");
    let TxLocation::Block(at) = info.location else { unreachable!() };
    let call = evm.block_at(at.height).await.unwrap().txs.into_iter().find(|tx| tx.txid == txid).unwrap().call;
    assert_eq!(call.unwrap().requested_payments().len(), 1, "the call still asked for it");
}

#[tokio::test]
async fn an_erc20_transfer_is_decoded_from_the_logs() {
    let node = Ganache::start().await;
    let evm = client(&node);
    let token = node.deploy(&init_code(&token_runtime())).await;
    let amount = BaseUnits::from_decimal("25.50", 6).unwrap();
    let txid = node.send(Some(&token), 0, &transfer_call(PAYEE, amount.get())).await;
    let expected = Payment { to: PAYEE.to_owned(), amount, asset: Asset::Token(token.clone()), memo: None };

    let info = evm.transaction(&txid).await.unwrap().unwrap();
    assert_eq!(info.success, Some(true));
    assert_eq!(info.payments, vec![expected.clone()], "no native value, one Transfer log");

    let TxLocation::Block(at) = info.location.clone() else { panic!("mined") };
    let block = evm.block_at(at.height).await.unwrap();
    let call = block.txs.iter().find(|tx| tx.txid == txid).unwrap().call.as_ref().unwrap();
    assert_eq!(call.requested_payments(), vec![expected.clone()], "the calldata asks for the same");
    assert_eq!(
        evm.token_transfers(&at, std::slice::from_ref(&token)).await.unwrap(),
        vec![(txid.clone(), expected.clone())]
    );
    assert_eq!(evm.token_transfers(&at, &[PAYEE.to_owned()]).await.unwrap(), vec![], "filtered by token");

    // Ganache has no eth_getBlockReceipts: the client notices once and reads
    // receipts one by one (in a batch) from then on.
    assert_eq!(evm.block_receipts_support(), Support::Unknown);
    let found = evm.transactions_in_block(&block, std::slice::from_ref(&txid)).await.unwrap();
    assert_eq!(found, vec![info.clone()]);
    assert_eq!(evm.block_receipts_support(), Support::Unsupported);
    let again = evm.transactions_in_block(&block, &[txid.clone(), "0xnot-in-block".to_owned()]).await.unwrap();
    assert_eq!(again, vec![info]);
}

#[tokio::test]
async fn a_used_nonce_without_our_receipt_means_replaced() {
    let node = Ganache::start().await;
    let evm = client(&node);
    // Our transaction (never mined) had nonce 0; another with nonce 0 is mined.
    let ours = format!("0x{}", "ee".repeat(32));
    let conflict = ConflictKey::Nonce { from: FUNDED.to_owned(), nonce: 0 };
    assert_eq!(evm.replacement(&ours, &conflict).await, Ok(None), "nonce 0 still free");
    node.send(Some(PAYEE), 1, "0x").await;
    assert_eq!(evm.replacement(&ours, &conflict).await, Ok(Some(Replaced { by: None })));
    let later = ConflictKey::Nonce { from: FUNDED.to_owned(), nonce: 1 };
    assert_eq!(evm.replacement(&ours, &later).await, Ok(None));
}

/// A gateway in front of the node that refuses batch requests, as some
/// providers do (one JSON-RPC error object instead of an array), and passes
/// single calls through. Counts the refusals.
async fn batch_refusing_gateway(node_url: String) -> (String, Arc<AtomicUsize>) {
    let refused = Arc::new(AtomicUsize::new(0));
    let counter = refused.clone();
    let server = HttpServer::new(move || {
        let (node_url, counter) = (node_url.clone(), counter.clone());
        App::new().default_service(web::to(move |body: web::Json<Value>| {
            let (node_url, counter) = (node_url.clone(), counter.clone());
            async move {
                if body.is_array() {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let error = json!({"code": -32600, "message": "batch requests are not supported"});
                    return HttpResponse::Ok().json(json!({"jsonrpc": "2.0", "id": null, "error": error}));
                }
                let reply = reqwest::Client::new().post(&node_url).json(&*body).send().await.unwrap();
                HttpResponse::Ok().json(reply.json::<Value>().await.unwrap())
            }
        }))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    (format!("http://127.0.0.1:{port}"), refused)
}

#[tokio::test]
async fn a_node_that_refuses_batches_gets_single_requests_from_then_on() {
    let node = Ganache::start().await;
    let (gateway, refused) = batch_refusing_gateway(node.url.clone()).await;
    let evm = EvmClient::new(ClientConfig::new([gateway], Duration::from_secs(5)), 20);
    let txid = node.send(Some(PAYEE), 7, "0x").await;
    for _ in 0..3 {
        let info = evm.transaction(&txid).await.unwrap().unwrap();
        assert_eq!(info.payments[0].amount, BaseUnits::new(7));
    }
    assert_eq!(evm.batch_support(), Support::Unsupported);
    assert_eq!(refused.load(Ordering::SeqCst), 1, "tried once, then remembered");
}
