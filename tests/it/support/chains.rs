//! What tests that follow a chain share: valid destinations per network, the
//! payees the fake chains pay, and a chain config for one explorer.

use std::collections::BTreeMap;
use std::time::Duration;

use withdrawal_tracker::config::{Config, ExplorerKind, HumanDuration, NetworkChainConfig};
use withdrawal_tracker::domain::address::ValidatedAddress;
use withdrawal_tracker::domain::{Amount, Network, Registration, State, TxHash, UserId, WithdrawalId};
use withdrawal_tracker::store::IndexKey;

use super::app::{Backend, TestApp};

/// Satoshi's genesis address: a valid mainnet P2PKH.
pub const BTC_PAYEE: &str = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa";
pub const ETH_PAYEE: &str = "0x1111111111111111111111111111111111111111";

pub fn chain_config(explorer: ExplorerKind, url: &str, required: u64) -> NetworkChainConfig {
    NetworkChainConfig {
        explorer,
        urls: vec![url.to_owned()],
        api_key_header: None,
        api_key: None,
        requests_per_second: 1000.0,
        poll_interval: HumanDuration(Duration::from_secs(3600)),
        request_timeout: HumanDuration(Duration::from_secs(2)),
        required_confirmations: Some(required),
        drop_after: HumanDuration(Duration::from_secs(6 * 3600)),
        batch_size: 100,
        tokens: BTreeMap::new(),
        discover: false,
        discover_interval: HumanDuration(Duration::from_secs(300)),
        halted_after: None,
        indexer_urls: Vec::new(),
        senders: Vec::new(),
    }
}

/// A destination the validator accepts on `network`, for tests that build a
/// `Registration` without HTTP.
pub fn destination(network: Network) -> ValidatedAddress {
    let address = match network {
        Network::Btc => BTC_PAYEE,
        Network::Eth => ETH_PAYEE,
        Network::Trx => "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        Network::Sol => "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
        other => panic!("no test destination for {other}"),
    };
    ValidatedAddress::parse(network, address, None).expect("a valid test destination")
}

/// The service following `network` with `config`, on the in-memory store.
pub async fn app_following(network: &str, config: NetworkChainConfig) -> TestApp {
    let network = network.to_owned();
    TestApp::spawn_with(Backend::Memory, move |c: &mut Config| {
        c.networks.insert(network, config);
    })
    .await
}

/// One tick of the (only) chain tracker, which must succeed.
pub async fn tick(app: &TestApp) {
    app.chain_trackers[0].tick().await.expect("the tick succeeds");
}

/// Registers a withdrawal whose transaction `tx` is already sent, through
/// the service (no HTTP): how the efficiency tests register thousands.
pub async fn register_sent(
    app: &TestApp,
    id: &str,
    network: Network,
    coin: &str,
    address: &str,
    amount: &str,
    tx: &str,
) {
    let registration = Registration {
        id: WithdrawalId::parse(id).unwrap(),
        user_id: UserId::parse("u-bench").unwrap(),
        coin: coin.into(),
        destination: ValidatedAddress::parse(network, address, None).unwrap(),
        amount: Amount::parse(amount).unwrap(),
        requested_at: None,
        tx_hash: Some(TxHash::parse(network, tx).unwrap()),
    };
    app.service.register(registration).await.unwrap();
}

/// How many of `network`'s withdrawals are completed, from the store's index.
pub async fn completed(app: &TestApp, network: Network) -> u64 {
    app.service.store.count(&[IndexKey::StateNetwork(State::Completed, network)]).await.unwrap()[0]
}

/// Requests by endpoint (query, ids and heights left out), for the docs.
pub fn by_endpoint(paths: &[String]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for path in paths {
        let path = path.split('?').next().unwrap_or_default();
        let shape: Vec<&str> = path
            .split('/')
            .map(|part| if part.len() > 20 || part.parse::<u64>().is_ok() { ":id" } else { part })
            .collect();
        *counts.entry(shape.join("/")).or_insert(0) += 1;
    }
    counts
}
