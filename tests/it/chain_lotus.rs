//! The Filecoin client against a fake Lotus node answering the documented
//! JSON-RPC API v1: F3 finality and the 900-epoch fallback, messages
//! searched on chain with their exit codes, replacements (by CID, by
//! nonce), throttling, failover, garbage and hangs.

use std::time::Duration;

use withdrawal_tracker::chain::lotus::EC_FINALITY;
use withdrawal_tracker::chain::{
    Asset, BaseUnits, BlockRef, ChainError, ClientConfig, ConflictKey, LotusClient, Payment, PendingTx, Replaced,
    StatusChain, TxLocation,
};

use crate::support::explorer_transport;
use crate::support::fake_lotus::{block_cid, message_cid, send, FakeLotus, FilMessage, Mode, HOT_WALLET};

const HEAD: u64 = 4_500_000;
pub const FIL_PAYEE: &str = "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za";
pub const FIL_OTHER: &str = "f01234";
const ONE_FIL: u128 = 1_000_000_000_000_000_000;

fn client(urls: &[&str]) -> LotusClient {
    LotusClient::new(ClientConfig::new(urls.iter().copied(), Duration::from_millis(1500)))
}

fn pending(cids: &[String]) -> Vec<PendingTx> {
    cids.iter().map(PendingTx::new).collect()
}

#[tokio::test]
async fn a_message_is_final_once_f3_finalized_its_tipset_and_its_exit_code_decides() {
    let fake = FakeLotus::start(HEAD, Some(5)).await;
    let lotus = client(&[&fake.base_url]);
    fake.push(vec![send(1, FIL_PAYEE, 3 * ONE_FIL / 2), send(2, FIL_PAYEE, ONE_FIL), send(3, FIL_PAYEE, 7)]);
    let height = fake.execute(&[(&message_cid(1), 0), (&message_cid(2), 6)]);
    assert_eq!(lotus.tip().await.unwrap(), BlockRef { height: height - 5, hash: block_cid(height - 5) });

    let cids: Vec<String> = (1..=3).map(message_cid).collect();
    let statuses = lotus.statuses_of(&pending(&cids)).await.unwrap();
    let at = TxLocation::Block(BlockRef { height, hash: block_cid(height) });
    assert_eq!(statuses[0].location.as_ref(), Some(&at));
    assert!(!statuses[0].finalized, "above F3's finalized tipset");
    assert_eq!(statuses[0].success, None, "the outcome counts once final");
    assert_eq!(statuses[2].location, Some(TxLocation::Mempool), "the node holds it, the chain does not yet");

    fake.advance(5);
    let statuses = lotus.statuses_of(&pending(&cids)).await.unwrap();
    assert!(statuses[0].finalized && statuses[1].finalized);
    assert_eq!((statuses[0].success, statuses[1].success), (Some(true), Some(false)), "exit codes 0 and 6");
    let before = fake.requests();
    let info = lotus.transaction(&message_cid(1)).await.unwrap().expect("on chain");
    assert_eq!(fake.requests() - before, 1, "the message; its lookup was read by statuses_of");
    assert_eq!(info.location, at);
    assert_eq!(
        info.payments,
        [Payment { to: FIL_PAYEE.into(), amount: BaseUnits::new(3 * ONE_FIL / 2), asset: Asset::Native, memo: None }]
    );
    assert_eq!(info.conflict, ConflictKey::Nonce { from: HOT_WALLET.into(), nonce: 1 });
    let failed = lotus.transaction(&message_cid(2)).await.unwrap().expect("on chain");
    assert_eq!((failed.success, failed.payments.len()), (Some(false), 0), "a failed message pays nothing");
    let search = fake.state.lock().unwrap().calls.iter().find(|(m, _)| m == "Filecoin.StateSearchMsg").cloned();
    let params = search.unwrap().1;
    assert_eq!((params[1]["/"].as_str(), params[3].as_bool()), (Some(message_cid(1).as_str()), Some(true)));
}

#[tokio::test]
async fn without_f3_finality_is_900_epochs_and_the_refusal_is_remembered() {
    let fake = FakeLotus::start(HEAD, None).await;
    let lotus = client(&[&fake.base_url]);
    assert_eq!(
        lotus.tip().await.unwrap(),
        BlockRef { height: HEAD - EC_FINALITY, hash: block_cid(HEAD - EC_FINALITY) }
    );
    let before = fake.requests();
    lotus.tip().await.unwrap();
    let asked: Vec<String> = fake.methods()[before..].to_vec();
    assert_eq!(asked, ["Filecoin.ChainHead", "Filecoin.ChainGetTipSetByHeight"], "F3 is not asked again");

    fake.push(vec![send(1, FIL_PAYEE, ONE_FIL)]);
    let height = fake.execute(&[(&message_cid(1), 0)]);
    fake.advance(EC_FINALITY - 1);
    let status = &lotus.statuses_of(&pending(&[message_cid(1)])).await.unwrap()[0];
    assert!(!status.finalized, "899 epochs on top");
    fake.advance(1);
    let status = &lotus.statuses_of(&pending(&[message_cid(1)])).await.unwrap()[0];
    assert!(status.finalized && status.success == Some(true), "900: final ({height})");
}

#[tokio::test]
async fn a_replacement_with_other_gas_lands_under_another_cid() {
    let fake = FakeLotus::start(HEAD, Some(5)).await;
    let lotus = client(&[&fake.base_url]);
    let ours = send(1, FIL_PAYEE, ONE_FIL);
    let bumped = FilMessage { cid: message_cid(101), gas_fee_cap: 250_000, ..ours.clone() };
    fake.push(vec![ours, bumped]);
    fake.execute(&[(&message_cid(101), 0)]);
    let status = &lotus.statuses_of(&pending(&[message_cid(1)])).await.unwrap()[0];
    assert_eq!(status.location, None, "ours never lands");
    assert_eq!(lotus.replaced(&message_cid(1)), Some(Replaced { by: Some(message_cid(101)) }));
    assert_eq!(lotus.transaction(&message_cid(1)).await.unwrap(), None, "it never ran");
    let landed = lotus.statuses_of(&pending(&[message_cid(101)])).await.unwrap();
    assert!(landed[0].location.is_some(), "the replacement itself is found as itself");
    assert_eq!(lotus.replaced(&message_cid(1)), None, "what the last call found");
}

#[tokio::test]
async fn another_message_with_its_nonce_replaces_a_message_the_chain_never_held() {
    let fake = FakeLotus::start(HEAD, Some(5)).await;
    let lotus = client(&[&fake.base_url]);
    let ours = send(4, FIL_PAYEE, ONE_FIL);
    let other = FilMessage { cid: message_cid(104), to: FIL_OTHER.into(), ..ours.clone() };
    fake.push(vec![ours, other, send(3, FIL_PAYEE, 1)]);
    fake.execute(&[(&message_cid(3), 0)]);
    let status = &lotus.statuses_of(&pending(&[message_cid(4)])).await.unwrap()[0];
    assert_eq!(status.location, Some(TxLocation::Mempool), "nonce 4 is still the sender's next");
    assert_eq!(lotus.replaced(&message_cid(4)), None);

    fake.execute(&[(&message_cid(104), 0)]);
    let before = fake.requests();
    let status = &lotus.statuses_of(&pending(&[message_cid(4)])).await.unwrap()[0];
    assert_eq!(status.location, None);
    assert_eq!(
        lotus.replaced(&message_cid(4)),
        Some(Replaced { by: None }),
        "a different call: not a replacement StateSearchMsg names"
    );
    let asked: Vec<String> = fake.methods()[before..].to_vec();
    assert_eq!(
        asked,
        [
            "Filecoin.ChainGetFinalizedTipSet",
            "Filecoin.StateSearchMsg",
            "Filecoin.StateGetActor",
            "Filecoin.StateSearchMsg"
        ],
        "the message was read once before; searched again after the nonce moved, in case it was ours"
    );

    let status = &lotus.statuses_of(&pending(&[message_cid(77)])).await.unwrap()[0];
    assert_eq!((status.location.clone(), lotus.replaced(&message_cid(77))), (None, None), "never seen by the node");
}

#[tokio::test]
async fn garbage_is_a_bad_response_naming_the_method() {
    let fake = FakeLotus::start(HEAD, Some(5)).await;
    let lotus = client(&[&fake.base_url]);
    fake.set_mode(Mode::Malformed);
    assert!(
        matches!(lotus.tip().await, Err(ChainError::BadResponse(m)) if m.contains("ChainGetFinalizedTipSet")),
        "{:?}",
        lotus.tip().await
    );
    fake.set_mode(Mode::NotJson);
    assert!(matches!(lotus.statuses(&[message_cid(1)]).await, Err(ChainError::BadResponse(_))));
}

#[tokio::test]
async fn throttling_is_rate_limited_with_retry_after() {
    let (fake, second) = (FakeLotus::start(HEAD, Some(5)).await, FakeLotus::start(HEAD, Some(5)).await);
    explorer_transport::throttling_is_rate_limited_with_retry_after(&fake, &second, client).await;
}

#[tokio::test]
async fn a_hanging_server_times_out_as_unavailable() {
    explorer_transport::a_hanging_server_times_out_as_unavailable(&FakeLotus::start(HEAD, Some(5)).await, client).await;
}

#[tokio::test]
async fn fails_over_to_the_next_url_in_order() {
    let (first, second) = (FakeLotus::start(HEAD, Some(0)).await, FakeLotus::start(HEAD + 1, Some(0)).await);
    explorer_transport::fails_over_to_the_next_url_in_order(&first, &second, HEAD, "502", client).await;
}
