//! The Solana client against a fake node answering like the documented
//! JSON-RPC: statuses in batches of 256, commitment levels, failures,
//! expiry by last valid block height, SOL and SPL payments, throttling,
//! failover, garbage and hangs.

use std::time::{Duration, Instant};

use serde_json::json;
use withdrawal_tracker::chain::{
    Asset, BaseUnits, BlockRef, ChainError, ClientConfig, ConflictKey, Payment, PendingTx, SolanaClient, StatusChain,
    TxLocation,
};

use crate::support::explorer_transport::dead_url;
use crate::support::fake_solana::{
    pubkey, signature, slot_hash, sol_transfer, usdc_transfer, FakeSolana, Mode, USDC_MINT, VALIDITY_BLOCKS,
};

const TIP: u64 = 300_000_000;

fn client(urls: &[&str]) -> SolanaClient {
    SolanaClient::new(ClientConfig::new(urls.iter().copied(), Duration::from_millis(500)))
}

fn hot_wallet() -> String {
    pubkey("hot-wallet")
}

fn payee() -> String {
    pubkey("payee")
}

#[tokio::test]
async fn statuses_are_asked_in_batches_of_at_most_256_in_order() {
    let fake = FakeSolana::start(TIP).await;
    let solana = client(&[&fake.url]);
    assert_eq!(solana.max_batch(), 256);
    let txids: Vec<String> = (0..300).map(signature).collect();
    for (i, txid) in txids.iter().enumerate().filter(|(i, _)| i % 3 == 0) {
        fake.add(txid, sol_transfer(TIP - 10 - i as u64 % 5, &hot_wallet(), &payee(), 1_000));
    }

    let statuses = solana.statuses(&txids).await.unwrap();
    assert_eq!(statuses.len(), 300);
    for (i, status) in statuses.iter().enumerate() {
        assert_eq!(status.txid, txids[i]);
        assert_eq!(status.finalized, i % 3 == 0, "{i}");
        assert_eq!(status.location.is_some(), i % 3 == 0, "{i}");
        assert!(!status.expired);
    }
    let batches = fake.calls("getSignatureStatuses");
    assert_eq!(batches.len(), 2);
    for params in &batches {
        assert!(params[0].as_array().unwrap().len() <= 256);
        assert_eq!(params[1], json!({"searchTransactionHistory": true}));
    }
    // Five distinct slots: one getBlock each for their hashes, remembered once final.
    assert_eq!(fake.calls("getBlock").len(), 5);
    solana.statuses(&txids[..3]).await.unwrap();
    assert_eq!(fake.calls("getBlock").len(), 5, "finalized slot hashes are cached");
}

#[tokio::test]
async fn only_finalized_is_final_and_processed_is_not_in_a_block_yet() {
    let fake = FakeSolana::start(TIP).await;
    let solana = client(&[&fake.url]);
    let [processed, confirmed, finalized] = [signature(1), signature(2), signature(3)];
    for (sig, level, slot) in
        [(&processed, "processed", TIP), (&confirmed, "confirmed", TIP - 1), (&finalized, "finalized", TIP - 40)]
    {
        let mut tx = sol_transfer(slot, &hot_wallet(), &payee(), 5);
        tx.level = level;
        fake.add(sig, tx);
    }
    let ids = [processed.clone(), confirmed.clone(), finalized.clone()];
    let statuses = solana.statuses(&ids).await.unwrap();
    assert_eq!(statuses[0].location, Some(TxLocation::Mempool));
    assert!(!statuses[0].finalized);
    let confirmed_at = BlockRef { height: TIP - 1, hash: slot_hash(TIP - 1) };
    assert_eq!(statuses[1].location, Some(TxLocation::Block(confirmed_at.clone())));
    assert!(!statuses[1].finalized, "confirmed is not final");
    assert_eq!(statuses[1].success, Some(true));
    assert!(statuses[2].finalized);
    assert_eq!(statuses[2].location, Some(TxLocation::Block(BlockRef { height: TIP - 40, hash: slot_hash(TIP - 40) })));
    assert!(solana.is_in_best_chain(&confirmed_at).await.unwrap());

    fake.set_level(&confirmed, "finalized");
    assert!(solana.statuses(&ids).await.unwrap()[1].finalized);
}

#[tokio::test]
async fn a_failed_transaction_is_unsuccessful_and_pays_nothing() {
    let fake = FakeSolana::start(TIP).await;
    let solana = client(&[&fake.url]);
    let sig = signature(7);
    let mut tx = sol_transfer(TIP - 3, &hot_wallet(), &payee(), 1_000_000);
    tx.err = json!({"InstructionError": [0, {"Custom": 1}]});
    tx.post_balances = vec![tx.pre_balances[0] - 5000, 0, 1];
    fake.add(&sig, tx);

    let status = &solana.statuses(std::slice::from_ref(&sig)).await.unwrap()[0];
    assert_eq!(status.success, Some(false));
    assert!(status.finalized, "failed, and finally so");
    let info = solana.transaction(&sig).await.unwrap().unwrap();
    assert_eq!(info.success, Some(false));
    assert!(info.payments.is_empty());
}

#[tokio::test]
async fn an_unknown_transaction_expires_once_the_block_height_passes_its_last_valid_one() {
    let fake = FakeSolana::start(TIP).await;
    let solana = client(&[&fake.url]);
    // What the sender records when it signs: the blockhash and its last valid height.
    let (_, last_valid) = solana.latest_blockhash().await.unwrap();
    let lost = PendingTx::expiring(signature(1), last_valid);
    let landed = PendingTx::expiring(signature(2), last_valid);
    fake.add(&landed.txid, sol_transfer(TIP - 1, &hot_wallet(), &payee(), 1));
    let unrecorded = PendingTx::new(signature(3));
    let all = [lost.clone(), landed, unrecorded];

    let statuses = solana.statuses_of(&all).await.unwrap();
    assert!(statuses.iter().all(|s| !s.expired));
    fake.advance(VALIDITY_BLOCKS);
    assert!(!solana.statuses_of(&all).await.unwrap()[0].expired, "still valid at exactly its last valid height");

    fake.advance(1);
    let statuses = solana.statuses_of(&all).await.unwrap();
    assert!(statuses[0].expired, "unknown past its last valid block height");
    assert_eq!(statuses[0].location, None);
    assert!(!statuses[1].expired, "it landed: a landed transaction never expires");
    assert!(!statuses[2].expired, "without a recorded height nothing can be said");

    // The height is read before the statuses, so a transaction landing in
    // between cannot be reported expired.
    let calls: Vec<String> = fake.state.lock().unwrap().calls.iter().map(|(m, _)| m.clone()).collect();
    let last_height = calls.iter().rposition(|m| m == "getBlockHeight").unwrap();
    let last_statuses = calls.iter().rposition(|m| m == "getSignatureStatuses").unwrap();
    assert!(last_height < last_statuses);
    // Without any recorded height there is no height to read.
    let before = fake.calls("getBlockHeight").len();
    solana.statuses(&[lost.txid]).await.unwrap();
    assert_eq!(fake.calls("getBlockHeight").len(), before);
}

#[tokio::test]
async fn payments_are_sol_by_account_and_spl_tokens_by_owner_and_mint() {
    let fake = FakeSolana::start(TIP).await;
    let solana = client(&[&fake.url]);
    let sol = signature(10);
    fake.add(&sol, sol_transfer(TIP - 2, &hot_wallet(), &payee(), 2_500_000_000));
    let usdc = signature(11);
    fake.add(&usdc, usdc_transfer(TIP - 2, &hot_wallet(), &payee(), 25_500_000, 7));

    let info = solana.transaction(&sol).await.unwrap().unwrap();
    assert_eq!(info.txid, sol);
    assert_eq!(info.success, Some(true));
    assert_eq!(info.location, TxLocation::Block(BlockRef { height: TIP - 2, hash: slot_hash(TIP - 2) }));
    assert_eq!(
        info.payments,
        vec![Payment { to: payee(), amount: BaseUnits::new(2_500_000_000), asset: Asset::Native, memo: None }],
        "the sender lost lamports: no payment to it"
    );
    assert_eq!(info.conflict, ConflictKey::Outpoints(vec![]));
    assert_eq!(solana.replacement(&sol, &info.conflict).await, Ok(None));

    let info = solana.transaction(&usdc).await.unwrap().unwrap();
    assert_eq!(
        info.payments,
        vec![Payment {
            to: payee(),
            amount: BaseUnits::from_decimal("25.5", 6).unwrap(),
            asset: Asset::Token(USDC_MINT.to_owned()),
            memo: None,
        }],
        "to the owner of the token account, the difference only"
    );

    assert_eq!(solana.transaction(&signature(99)).await, Ok(None));
    let params = &fake.calls("getTransaction")[0];
    assert_eq!(
        params[1],
        json!({"encoding": "jsonParsed", "commitment": "confirmed", "maxSupportedTransactionVersion": 0})
    );
}

#[tokio::test]
async fn tip_and_blocks_are_slots_with_their_blockhashes() {
    let fake = FakeSolana::start(TIP).await;
    let solana = client(&[&fake.url]);
    let sig = signature(5);
    fake.add(&sig, sol_transfer(TIP, &hot_wallet(), &payee(), 1));
    fake.state.lock().unwrap().skipped.insert(TIP - 1);

    let tip = solana.tip().await.unwrap();
    assert_eq!(tip, BlockRef { height: TIP, hash: slot_hash(TIP) });
    let block = solana.block_at(TIP).await.unwrap();
    assert_eq!(block.at, tip);
    assert_eq!(block.parent_hash, Some(slot_hash(TIP - 2)), "the parent is the last slot not skipped");
    assert_eq!(block.txs.iter().map(|t| t.txid.as_str()).collect::<Vec<_>>(), [sig.as_str()]);
    assert_eq!(solana.block_at(TIP - 1).await, Err(ChainError::NotFound), "skipped slot");
    assert_eq!(solana.block_at(TIP + 1).await, Err(ChainError::NotFound), "above the finalized tip");

    assert!(solana.is_in_best_chain(&tip).await.unwrap());
    assert!(!solana.is_in_best_chain(&BlockRef { height: TIP, hash: pubkey("fork") }).await.unwrap());
    assert!(!solana.is_in_best_chain(&BlockRef { height: TIP - 1, hash: slot_hash(TIP - 1) }).await.unwrap());
    assert_eq!(solana.block_height().await.unwrap(), TIP - 20_000_000);
}

#[tokio::test]
async fn throttling_is_rate_limited_with_retry_after_and_not_failed_over() {
    let fake = FakeSolana::start(TIP).await;
    let second = FakeSolana::start(TIP).await;
    fake.set_mode(Mode::RateLimited(9));
    let solana = client(&[&fake.url, &second.url]);
    assert_eq!(
        solana.statuses(&[signature(1)]).await,
        Err(ChainError::RateLimited { retry_after: Some(Duration::from_secs(9)) })
    );
    assert_eq!(second.requests(), 0, "429 is an answer, not an outage");
}

#[tokio::test]
async fn fails_over_on_dead_urls_gateway_errors_and_nodes_that_are_behind() {
    let first = FakeSolana::start(TIP).await;
    let second = FakeSolana::start(TIP + 100).await;

    let solana = client(&[&dead_url(), &second.url]);
    assert_eq!(solana.tip().await.unwrap().height, TIP + 100, "connection refused → second");

    let solana = client(&[&first.url, &second.url]);
    first.set_mode(Mode::Down);
    assert_eq!(solana.tip().await.unwrap().height, TIP + 100, "502 → second");
    first.set_mode(Mode::Unhealthy);
    assert_eq!(solana.tip().await.unwrap().height, TIP + 100, "-32005 node behind → second");
    first.set_mode(Mode::Normal);
    assert_eq!(solana.tip().await.unwrap().height, TIP, "the first is preferred once it is back");

    first.set_mode(Mode::Down);
    assert!(matches!(client(&[&first.url]).tip().await, Err(ChainError::Unavailable(m)) if m.contains("502")));
    first.set_mode(Mode::Unhealthy);
    assert!(matches!(client(&[&first.url]).tip().await, Err(ChainError::Unavailable(m)) if m.contains("behind")));
    assert!(matches!(client(&[&dead_url(), &dead_url()]).tip().await, Err(ChainError::Unavailable(_))));
}

#[tokio::test]
async fn garbage_and_rpc_errors_are_bad_responses_that_say_what_was_wrong() {
    let fake = FakeSolana::start(TIP).await;
    let solana = client(&[&fake.url]);
    fake.set_mode(Mode::NotJson);
    let why = bad(solana.tip().await);
    assert!(why.contains("getLatestBlockhash") && why.contains("not a JSON-RPC response"), "{why}");

    fake.set_mode(Mode::Malformed);
    let why = bad(solana.statuses(&[signature(1)]).await);
    assert!(why.contains("getSignatureStatuses") && why.contains("value"), "{why}");

    fake.set_mode(Mode::InvalidParams);
    let why = bad(solana.transaction(&signature(1)).await);
    assert!(why.contains("getTransaction") && why.contains("-32602") && why.contains("Invalid params"), "{why}");

    // The real node's own refusal of an oversized batch.
    fake.set_mode(Mode::Normal);
    let params = json!([(0..257).map(signature).collect::<Vec<_>>()]);
    let raw = reqwest::Client::new()
        .post(&fake.url)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "getSignatureStatuses", "params": params}))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(raw["error"]["code"], -32602);
}

#[tokio::test]
async fn a_hanging_node_times_out_as_unavailable() {
    let fake = FakeSolana::start(TIP).await;
    let solana = client(&[&fake.url]);
    fake.set_mode(Mode::Hang);
    let started = Instant::now();
    assert_eq!(solana.statuses(&[signature(1)]).await, Err(ChainError::Unavailable("timed out".to_owned())));
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
}

fn bad<T: std::fmt::Debug>(result: Result<T, ChainError>) -> String {
    match result {
        Err(ChainError::BadResponse(why)) => why,
        other => panic!("expected BadResponse, got {other:?}"),
    }
}
