//! What tests that follow a chain share: valid destinations per network, the
//! payees the fake chains pay, and a chain config for one explorer.

use std::collections::BTreeMap;
use std::time::Duration;

use withdrawal_tracker::config::{Config, ExplorerKind, HumanDuration, NetworkChainConfig};
use withdrawal_tracker::domain::address::ValidatedAddress;
use withdrawal_tracker::domain::Network;

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
