//! `[networks.<CODE>]`: how each network is followed on chain, and its
//! conversion into [`ChainSettings`] with the explorer checked against the
//! network.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::{check_url, HumanDuration, Problems, Secret};
use crate::chain::ApiKey;
use crate::domain::Network;

/// How one network is followed on chain, its explorer checked against it.
#[derive(Debug, Clone)]
pub struct ChainSettings {
    pub explorer: ExplorerKind,
    pub urls: Vec<String>,
    /// `api_key` with its `api_key_header`.
    pub api_key: Option<ApiKey>,
    pub requests_per_second: f64,
    pub poll_interval: Duration,
    pub request_timeout: Duration,
    /// The configured value or the network's default.
    pub required_confirmations: u64,
    pub drop_after: Duration,
    pub batch_size: usize,
    pub tokens: BTreeMap<String, TokenConfig>,
    pub discover: bool,
    pub discover_interval: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExplorerKind {
    Esplora,
    Blockbook,
    Evm,
    Tron,
    Solana,
    Xrpl,
    Blockfrost,
    Aptos,
    /// Substrate API Sidecar (Polkadot Asset Hub).
    Sidecar,
    /// Sui GraphQL RPC.
    SuiGraphql,
    /// Stellar's Horizon REST API.
    Horizon,
    /// toncenter's indexer API v3.
    Toncenter,
    /// An Octez node's RPC (Tezos).
    Octez,
    /// A Lotus node's JSON-RPC API v1 (Filecoin).
    Lotus,
}

impl ExplorerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExplorerKind::Esplora => "esplora",
            ExplorerKind::Blockbook => "blockbook",
            ExplorerKind::Evm => "evm",
            ExplorerKind::Tron => "tron",
            ExplorerKind::Solana => "solana",
            ExplorerKind::Xrpl => "xrpl",
            ExplorerKind::Blockfrost => "blockfrost",
            ExplorerKind::Aptos => "aptos",
            ExplorerKind::Sidecar => "sidecar",
            ExplorerKind::SuiGraphql => "sui_graphql",
            ExplorerKind::Horizon => "horizon",
            ExplorerKind::Toncenter => "toncenter",
            ExplorerKind::Octez => "octez",
            ExplorerKind::Lotus => "lotus",
        }
    }

    fn serves(self, network: Network) -> bool {
        use Network::*;
        match self {
            ExplorerKind::Esplora => matches!(network, Btc | Ltc),
            ExplorerKind::Blockbook => matches!(network, Btc | Ltc | Doge | Bch | Dash | Zec),
            ExplorerKind::Evm => network.is_evm(),
            ExplorerKind::Tron => network == Trx,
            ExplorerKind::Solana => network == Sol,
            ExplorerKind::Xrpl => network == Xrp,
            ExplorerKind::Blockfrost => network == Ada,
            ExplorerKind::Aptos => network == Apt,
            ExplorerKind::Sidecar => network == Dot,
            ExplorerKind::SuiGraphql => network == Sui,
            ExplorerKind::Horizon => network == Xlm,
            ExplorerKind::Toncenter => network == Ton,
            ExplorerKind::Octez => network == Xtz,
            ExplorerKind::Lotus => network == Fil,
        }
    }
}

/// `[networks.<CODE>]`: how one network is followed on chain.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkChainConfig {
    pub explorer: ExplorerKind,
    /// Tried in order: the next one when a request cannot get an answer.
    pub urls: Vec<String>,
    /// Header carrying `api_key` (providers differ), e.g. `x-api-key`.
    #[serde(default)]
    pub api_key_header: Option<String>,
    #[serde(default)]
    pub api_key: Option<Secret>,
    /// Never exceeded, across all of this replica's requests to the network.
    #[serde(default = "default_requests_per_second")]
    pub requests_per_second: f64,
    #[serde(default = "default_poll_interval")]
    pub poll_interval: HumanDuration,
    #[serde(default = "default_request_timeout")]
    pub request_timeout: HumanDuration,
    /// Defaults per network (BTC 2, ETH 64, ...).
    #[serde(default)]
    pub required_confirmations: Option<u64>,
    /// A broadcast transaction no explorer has seen this long is dropped.
    #[serde(default = "default_drop_after")]
    pub drop_after: HumanDuration,
    /// JSON-RPC calls per batch (EVM).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Tokens by coin code (e.g. `USDT`): contract and decimals, for payee
    /// checks through `Transfer` logs.
    #[serde(default)]
    pub tokens: BTreeMap<String, TokenConfig>,
    /// Look for the payment of pending withdrawals registered without a hash.
    #[serde(default)]
    pub discover: bool,
    /// How often discovery looks at one address again (UTXO explorers; EVM
    /// discovers from the blocks it reads anyway).
    #[serde(default = "default_discover_interval")]
    pub discover_interval: HumanDuration,
}

fn default_discover_interval() -> HumanDuration {
    HumanDuration(Duration::from_secs(300))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    pub contract: String,
    pub decimals: u32,
}

fn default_requests_per_second() -> f64 {
    5.0
}

fn default_poll_interval() -> HumanDuration {
    HumanDuration(Duration::from_secs(30))
}

fn default_request_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(10))
}

fn default_drop_after() -> HumanDuration {
    HumanDuration(Duration::from_secs(6 * 3600))
}

fn default_batch_size() -> usize {
    50
}

/// Where the payee check compares a token as written, the one form payments
/// carry: a Cardano native asset's unit (policy id + hex asset name), an
/// Aptos fungible asset's metadata address in long form.
fn token_contract_problem(network: Network, contract: &str) -> Option<&'static str> {
    let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    match network {
        Network::Ada
            if !(contract.len() >= 56 && contract.len() <= 120 && contract.len() % 2 == 0 && hex(contract)) =>
        {
            Some("must be the asset's unit: its 56-hex-digit policy id followed by its hex asset name")
        }
        Network::Apt if !(contract.len() == 66 && contract.starts_with("0x") && hex(&contract[2..])) => {
            Some("must be the fungible asset's metadata address in long form (0x and 64 hex digits)")
        }
        Network::Xtz if !tezos_token(contract) => {
            Some("must be the token contract (KT1...), with `:<token_id>` for an FA2 token (USDt: `KT1...:0`)")
        }
        _ => None,
    }
}

/// `KT1...` (FA1.2) or `KT1...:<token_id>` (FA2), as Tezos payments name
/// their token.
fn tezos_token(contract: &str) -> bool {
    let (address, id) = contract.split_once(':').unwrap_or((contract, "0"));
    address.starts_with("KT1")
        && crate::domain::address::ValidatedAddress::parse(Network::Xtz, address, None).is_ok()
        && !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_digit())
}

impl NetworkChainConfig {
    pub(super) fn settings(&self, code: &str, problems: &mut Problems) -> Option<(Network, ChainSettings)> {
        let key = |field: &str| format!("networks.{code}.{field}");
        let mark = problems.mark();
        let network = Network::parse(code);
        match network {
            None => problems.add(&format!("networks.{code}"), "is not a network code"),
            Some(network) if !self.explorer.serves(network) => {
                problems.add(&key("explorer"), format!("{} does not serve {network}", self.explorer.as_str()))
            }
            Some(_) => {}
        }
        if self.urls.is_empty() {
            problems.add(&key("urls"), "needs at least one URL");
        }
        for (index, url) in self.urls.iter().enumerate() {
            problems.take(check_url(&key(&format!("urls[{index}]")), url));
        }
        let api_key = match (&self.api_key_header, &self.api_key) {
            (Some(header), Some(value)) => Some(ApiKey { header: header.clone(), value: value.clone() }),
            (None, None) => None,
            (Some(_), None) => {
                problems.add(&key("api_key"), "api_key and api_key_header go together");
                None
            }
            (None, Some(_)) => {
                problems.add(&key("api_key_header"), "api_key and api_key_header go together");
                None
            }
        };
        if !(self.requests_per_second.is_finite() && self.requests_per_second > 0.0) {
            problems.add(&key("requests_per_second"), "must be a positive number");
        }
        if self.poll_interval.0 < Duration::from_millis(50) {
            problems.add(&key("poll_interval"), "must be at least 50ms");
        }
        if self.request_timeout.0.is_zero() {
            problems.add(&key("request_timeout"), "must be greater than zero");
        }
        if self.required_confirmations == Some(0) {
            problems.add(&key("required_confirmations"), "must be at least 1");
        }
        if self.batch_size == 0 {
            problems.add(&key("batch_size"), "must be at least 1");
        }
        for (coin, token) in &self.tokens {
            if let Some(problem) = network.and_then(|n| token_contract_problem(n, &token.contract)) {
                problems.add(&key(&format!("tokens.{coin}.contract")), problem);
            }
        }
        let network = network.filter(|_| problems.clean_since(mark))?;
        let settings = ChainSettings {
            explorer: self.explorer,
            urls: self.urls.clone(),
            api_key,
            requests_per_second: self.requests_per_second,
            poll_interval: self.poll_interval.0,
            request_timeout: self.request_timeout.0,
            required_confirmations: self.required_confirmations(network),
            drop_after: self.drop_after.0,
            batch_size: self.batch_size,
            tokens: self.tokens.clone(),
            discover: self.discover,
            discover_interval: self.discover_interval.0,
        };
        Some((network, settings))
    }

    fn required_confirmations(&self, network: Network) -> u64 {
        self.required_confirmations.unwrap_or_else(|| network.default_required_confirmations())
    }
}

#[cfg(test)]
mod cardano_aptos_tests {
    use super::*;

    const GOOD: &str = r#"
        listen = "127.0.0.1:0"
        [auth]
        ingest_tokens = ["ingest-token-0123456789"]
        support_tokens = ["support-token-0123456789"]
        user_jwt_secret = "0123456789abcdef0123456789abcdef"
    "#;

    fn problems(networks: &str) -> String {
        let config = crate::config::Config::parse_toml(&format!("{GOOD}\n{networks}"), "t").unwrap();
        config.settings().err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn blockfrost_serves_cardano_and_aptos_serves_aptos_with_their_token_forms() {
        let ada = "[networks.ADA]\nexplorer = \"blockfrost\"\nurls = [\"http://bf\"]\n\
                   [networks.ADA.tokens.USDM]\ndecimals = 6\n\
                   contract = \"c48cbb3d5e57ed56e276bc45f99ab39abe94e6cd7ac39fb402da47ad0014df105553444d\"";
        let apt = "[networks.APT]\nexplorer = \"aptos\"\nurls = [\"http://apt\"]\n[networks.APT.tokens.USDT]\n\
                   contract = \"0x357b0b74bc833e95a115ad22604854d6b0fca151cecd94111770e5d6ffc9dc2b\"\ndecimals = 6";
        assert_eq!(problems(ada), "");
        assert_eq!(problems(apt), "");
        let config = crate::config::Config::parse_toml(&format!("{GOOD}\n{ada}"), "t").unwrap();
        assert_eq!(config.settings().unwrap().networks[&Network::Ada].required_confirmations, 15);

        assert!(problems("[networks.APT]\nexplorer = \"blockfrost\"\nurls = [\"http://x\"]")
            .contains("networks.APT.explorer"));
        assert!(
            problems("[networks.ADA]\nexplorer = \"aptos\"\nurls = [\"http://x\"]").contains("networks.ADA.explorer")
        );
        let short = apt.replace("0x357b0b74bc833e95a115ad22604854d6b0fca151cecd94111770e5d6ffc9dc2b", "0xa");
        assert!(problems(&short).contains("networks.APT.tokens.USDT.contract"), "{}", problems(&short));
        let policy_only = ada.replace("0014df105553444d", "").replace("c48c", "zz8c");
        assert!(problems(&policy_only).contains("networks.ADA.tokens.USDM.contract"));
    }
}

#[cfg(test)]
mod xtz_fil_tests {
    use super::*;

    const GOOD: &str = r#"
        listen = "127.0.0.1:0"
        [auth]
        ingest_tokens = ["ingest-token-0123456789"]
        support_tokens = ["support-token-0123456789"]
        user_jwt_secret = "0123456789abcdef0123456789abcdef"
    "#;

    fn settings(networks: &str) -> Result<crate::config::Settings, String> {
        let config = crate::config::Config::parse_toml(&format!("{GOOD}\n{networks}"), "t").unwrap();
        config.settings().map_err(|e| e.to_string())
    }

    #[test]
    fn octez_follows_tezos_and_lotus_follows_filecoin_only() {
        let both = "[networks.XTZ]\nexplorer = \"octez\"\nurls = [\"https://mainnet.api.tez.ie\"]\n\
                    [networks.FIL]\nexplorer = \"lotus\"\nurls = [\"https://api.node.glif.io/rpc/v1\"]\n";
        let parsed = settings(both).unwrap();
        let (xtz, fil) = (&parsed.networks[&Network::Xtz], &parsed.networks[&Network::Fil]);
        assert_eq!((xtz.explorer, xtz.required_confirmations), (ExplorerKind::Octez, 3), "two blocks on top");
        assert_eq!((fil.explorer, fil.required_confirmations), (ExplorerKind::Lotus, 1), "final by F3 or 900 epochs");
        assert_eq!((ExplorerKind::Octez.as_str(), ExplorerKind::Lotus.as_str()), ("octez", "lotus"));
        let misfits = "[networks.FIL]\nexplorer = \"octez\"\nurls = [\"http://a\"]\n\
                       [networks.XTZ]\nexplorer = \"lotus\"\nurls = [\"http://b\"]\n";
        let errors = settings(misfits).unwrap_err();
        assert!(errors.contains("networks.FIL.explorer") && errors.contains("networks.XTZ.explorer"), "{errors}");
        let usdt = "[networks.XTZ]\nexplorer = \"octez\"\nurls = [\"http://a\"]\n[networks.XTZ.tokens.USDT]\n\
                    contract = \"KT1XnTn74bUtxHfDtBmm2bGZAQfhPbvKWR8o:0\"\ndecimals = 6\n";
        assert!(settings(usdt).is_ok(), "{:?}", settings(usdt).err());
        for bad in ["KT1XnTn74bUtxHfDtBmm2bGZAQfhPbvKWR8o:x", "tz1YWK1gDPQx9N1Jh4JnmVre7xN6xhGGM4uC", "USDT"] {
            let text = usdt.replace("KT1XnTn74bUtxHfDtBmm2bGZAQfhPbvKWR8o:0", bad);
            assert!(settings(&text).unwrap_err().contains("networks.XTZ.tokens.USDT.contract"), "{bad}");
        }
    }
}
