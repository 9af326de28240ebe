//! The Polkadot (Asset Hub) client against a fake Substrate API Sidecar: the
//! finalized head with its block in one request, blocks with parents and
//! extrinsic hashes, DOT and USDT (asset 1984) transfers decoded from the
//! block, failed extrinsics, what the client remembers, throttling, garbage,
//! hangs and failover.

use std::time::Duration;

use withdrawal_tracker::chain::{
    Asset, BaseUnits, BlockChain, BlockRef, ChainError, ClientConfig, ConflictKey, Payment, SidecarClient, TxLocation,
};
use withdrawal_tracker::domain::address::validate;
use withdrawal_tracker::domain::network::Network;

use crate::support::explorer_transport;
use crate::support::fake_sidecar::{dot_address, DotCall, FakeSidecar, Mode, BASE_HEIGHT, USDT_ASSET};

fn client(urls: &[&str]) -> SidecarClient {
    SidecarClient::new(ClientConfig::new(urls.iter().copied(), Duration::from_millis(500)))
}

#[tokio::test]
async fn the_tip_is_the_finalized_head_and_blocks_carry_hashes_and_parents() {
    let fake = FakeSidecar::start(BASE_HEIGHT + 5).await;
    let dot = client(&[&fake.base_url]);
    let payee = dot_address("user");
    assert!(validate(Network::Dot, &payee, None).valid, "{payee}");
    let xt = fake.transfer(&payee, 10_000_000_000);
    let with_xt = fake.produce(&[&xt]);

    assert!(dot.tip_carries_block());
    let before = fake.requests();
    let tip = dot.tip_block().await.unwrap();
    assert_eq!(fake.requests() - before, 1, "tip and block in one request");
    assert_eq!(tip.at, BlockRef { height: with_xt.number, hash: with_xt.hash.clone() });
    assert_eq!(tip.parent_hash.as_deref(), Some(with_xt.parent.as_str()));
    let ids: Vec<&str> = tip.txs.iter().map(|t| t.txid.as_str()).collect();
    assert_eq!((ids.len(), ids[1]), (2, xt.as_str()), "the timestamp inherent, then the transfer");
    assert_eq!(dot.tip().await.unwrap(), tip.at);
    assert_eq!(tip.expiry_point, Some(with_xt.number), "mortal eras count block numbers");
    let time = tip.time.expect("from the timestamp inherent");
    assert_eq!(time.timestamp_millis() as u64, 1_764_000_000_000 + (with_xt.number - BASE_HEIGHT) * 6_000);

    let parent = dot.block_at(with_xt.number - 1).await.unwrap();
    assert_eq!(Some(parent.at.hash.clone()), tip.parent_hash);
    assert_eq!(dot.block_at(with_xt.number + 1).await, Err(ChainError::NotFound), "above the head: Sidecar's 400");
    assert!(dot.is_in_best_chain(&tip.at).await.unwrap());
    assert!(!dot.is_in_best_chain(&BlockRef { height: tip.at.height, hash: parent.at.hash }).await.unwrap());
    assert!(!dot.is_in_best_chain(&BlockRef { height: tip.at.height + 9, hash: tip.at.hash }).await.unwrap());
}

#[tokio::test]
async fn transfers_are_decoded_from_the_block_and_a_failure_pays_nothing() {
    let fake = FakeSidecar::start(BASE_HEIGHT + 1).await;
    let dot = client(&[&fake.base_url]);
    let payee = dot_address("user");
    let planck = fake.transfer(&payee, 12_345_678_901);
    let usdt = fake.asset_transfer(USDT_ASSET, &payee, 25_500_000);
    let failed = fake.submit(DotCall::Balances { dest: payee.clone(), planck: 5 }, false);
    let block = fake.produce(&[&planck, &usdt, &failed]);
    let read = dot.block_at(block.number).await.unwrap();

    let requests = fake.requests();
    let ids = [planck.clone(), usdt.clone(), failed.clone()];
    let infos = dot.transactions_in_block(&read, &ids).await.unwrap();
    assert_eq!(fake.requests(), requests, "details come from the block as read");
    assert_eq!(infos.len(), 3);
    let at = TxLocation::Block(read.at.clone());
    assert_eq!(infos[0].location, at);
    assert_eq!(
        infos[0].payments,
        [Payment { to: payee.clone(), amount: BaseUnits::new(12_345_678_901), asset: Asset::Native, memo: None }]
    );
    assert_eq!(infos[0].success, Some(true));
    let (period, phase) = (64, (block.number - 1) % 64);
    assert_eq!(infos[0].valid_until, Some(block.number - 1 + period - 1), "era (64, {phase}) signed at the head");
    assert!(
        matches!(&infos[0].conflict, ConflictKey::Nonce { from, .. } if *from == dot_address("exchange-hot-wallet"))
    );
    assert_eq!(infos[1].payments[0].asset, Asset::Token("1984".into()));
    assert_eq!(infos[1].payments[0].amount, BaseUnits::new(25_500_000));
    assert_eq!((infos[2].success, infos[2].payments.len()), (Some(false), 0));

    // Discovery reads what each call asks for, failed ones included (their
    // outcome says they paid nothing).
    let requested = dot.requested_payments(&read);
    assert_eq!(requested.len(), 3);
    assert_eq!(requested[2].0, failed);

    // A transaction in a block the client read is known without a request;
    // one never included is not.
    assert_eq!(dot.transaction(&usdt.to_ascii_uppercase().replace("0X", "0x")).await.unwrap(), Some(infos[1].clone()));
    let pending = fake.transfer(&payee, 1);
    assert_eq!(dot.transaction(&pending).await.unwrap(), None);
    assert_eq!(fake.requests(), requests);
}

#[tokio::test]
async fn a_forgotten_block_is_read_again_for_its_details() {
    let fake = FakeSidecar::start(BASE_HEIGHT + 1).await;
    let payee = dot_address("user");
    let xt = fake.transfer(&payee, 7);
    let block = fake.produce(&[&xt]);
    let block = client(&[&fake.base_url]).block_at(block.number).await.unwrap();
    let fresh = client(&[&fake.base_url]);
    let before = fake.requests();
    let infos = fresh.transactions_in_block(&block, std::slice::from_ref(&xt)).await.unwrap();
    assert_eq!((infos.len(), fake.requests() - before), (1, 1));
}

#[tokio::test]
async fn garbage_is_a_bad_response() {
    let fake = FakeSidecar::start(BASE_HEIGHT).await;
    fake.set_mode(Mode::Malformed);
    let error = client(&[&fake.base_url]).tip().await.unwrap_err();
    assert!(matches!(&error, ChainError::BadResponse(m) if m.contains("/blocks/head")), "{error:?}");
}

#[tokio::test]
async fn throttling_is_rate_limited_with_retry_after() {
    let (fake, second) = (FakeSidecar::start(BASE_HEIGHT).await, FakeSidecar::start(BASE_HEIGHT).await);
    explorer_transport::throttling_is_rate_limited_with_retry_after(&fake, &second, client).await;
}

#[tokio::test]
async fn a_hanging_server_times_out_as_unavailable() {
    explorer_transport::a_hanging_server_times_out_as_unavailable(&FakeSidecar::start(BASE_HEIGHT).await, client).await;
}

#[tokio::test]
async fn fails_over_to_the_next_url_in_order() {
    let (first, second) = (FakeSidecar::start(BASE_HEIGHT).await, FakeSidecar::start(BASE_HEIGHT + 1).await);
    explorer_transport::fails_over_to_the_next_url_in_order(&first, &second, BASE_HEIGHT, "502", client).await;
}
