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
    /// No new block for this long is a halt; `None`: ten usual block
    /// intervals, at least 10 minutes.
    pub halted_after: Option<Duration>,
    /// The indexer's URLs beside the node's (`algod`); empty elsewhere.
    pub indexer_urls: Vec<String>,
    /// NEAR: the signer accounts whose transactions are followed.
    pub senders: Vec<String>,
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
    /// nodeos' chain API (EOS and other Antelope chains).
    Antelope,
    /// An Algorand node (algod) with an indexer (`indexer_urls`).
    Algod,
    /// A Hedera mirror node's REST API.
    HederaMirror,
    /// A NEAR node's JSON-RPC.
    NearRpc,
    /// A Cosmos SDK node's REST gateway (the Cosmos Hub).
    CosmosRest,
    /// An Octez node's RPC (Tezos).
    Octez,
    /// A Lotus node's JSON-RPC API v1 (Filecoin).
    Lotus,
}

impl ExplorerKind {
    pub const ALL: [ExplorerKind; 19] = [
        ExplorerKind::Esplora,
        ExplorerKind::Blockbook,
        ExplorerKind::Evm,
        ExplorerKind::Tron,
        ExplorerKind::Solana,
        ExplorerKind::Xrpl,
        ExplorerKind::Blockfrost,
        ExplorerKind::Aptos,
        ExplorerKind::Sidecar,
        ExplorerKind::SuiGraphql,
        ExplorerKind::Horizon,
        ExplorerKind::Toncenter,
        ExplorerKind::Antelope,
        ExplorerKind::Algod,
        ExplorerKind::HederaMirror,
        ExplorerKind::NearRpc,
        ExplorerKind::CosmosRest,
        ExplorerKind::Octez,
        ExplorerKind::Lotus,
    ];

    /// The explorer kinds that can follow `network` (any one of them in
    /// `[networks.<CODE>]`).
    pub fn serving(network: Network) -> Vec<ExplorerKind> {
        Self::ALL.into_iter().filter(|kind| kind.serves(network)).collect()
    }

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
            ExplorerKind::Antelope => "antelope",
            ExplorerKind::Algod => "algod",
            ExplorerKind::HederaMirror => "hedera_mirror",
            ExplorerKind::NearRpc => "near_rpc",
            ExplorerKind::CosmosRest => "cosmos_rest",
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
            ExplorerKind::Antelope => network == Eos,
            ExplorerKind::Algod => network == Algo,
            ExplorerKind::HederaMirror => network == Hbar,
            ExplorerKind::NearRpc => network == Near,
            ExplorerKind::CosmosRest => network == Atom,
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
    /// No new block for this long makes the network `halted` (and opens an
    /// incident); default: ten of the network's usual block intervals, at
    /// least 10 minutes.
    #[serde(default)]
    pub halted_after: Option<HumanDuration>,
    /// `algod` only: the indexer's URLs (tried in order), beside the node's
    /// in `urls`.
    #[serde(default)]
    pub indexer_urls: Vec<String>,
    /// NEAR: the accounts that sign the withdrawals (the exchange's hot
    /// wallets): a transaction is looked up under its signer.
    #[serde(default)]
    pub senders: Vec<String>,
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
        Network::Eos if !eos_token(contract) => {
            Some("must be the token's symbol and contract account as `SYMBOL:contract` (e.g. `USDT:tethertether`)")
        }
        Network::Algo
            if contract.is_empty() || contract.parse::<u64>().map(|id| id.to_string()) != Ok(contract.into()) =>
        {
            Some("must be the asset's id (ASA), in decimal, e.g. 31566704")
        }
        Network::Hbar
            if crate::domain::address::ValidatedAddress::parse(Network::Hbar, contract, None)
                .map_or(true, |a| a.normalized() != contract) =>
        {
            Some("must be the token's id in the form 0.0.N, e.g. 0.0.456858")
        }
        Network::Xtz if !tezos_token(contract) => {
            Some("must be the token contract (KT1...), with `:<token_id>` for an FA2 token (USDt: `KT1...:0`)")
        }
        _ => None,
    }
}

/// An Antelope token as payments carry it: `{SYMBOL}:{contract}`, the symbol
/// 1-7 upper-case letters, the contract an account name.
fn eos_token(contract: &str) -> bool {
    let Some((symbol, account)) = contract.split_once(':') else { return false };
    let symbol_ok = (1..=7).contains(&symbol.len()) && symbol.bytes().all(|b| b.is_ascii_uppercase());
    let account_ok = (1..=12).contains(&account.len())
        && account.bytes().all(|b| matches!(b, b'a'..=b'z' | b'1'..=b'5' | b'.'))
        && !account.ends_with('.');
    symbol_ok && account_ok
}

/// A chain tracker's tick reads at most 50 blocks (`tracker::chain`); EOS
/// makes two a second, so a longer interval would never catch up.
const EOS_MAX_POLL_INTERVAL: Duration = Duration::from_secs(20);

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
        match (self.explorer, self.indexer_urls.is_empty()) {
            (ExplorerKind::Algod, true) => problems.add(&key("indexer_urls"), "algod needs the indexer's URLs too"),
            (ExplorerKind::Algod, false) => {}
            (_, false) => problems.add(&key("indexer_urls"), "only algod takes indexer_urls"),
            (_, true) => {}
        }
        for (index, url) in self.indexer_urls.iter().enumerate() {
            problems.take(check_url(&key(&format!("indexer_urls[{index}]")), url));
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
        if network == Some(Network::Eos) && self.poll_interval.0 > EOS_MAX_POLL_INTERVAL {
            problems.add(&key("poll_interval"), "must be at most 20s for EOS (two blocks a second, 50 read per poll)");
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
        if self.explorer == ExplorerKind::NearRpc && self.senders.is_empty() {
            problems.add(
                &key("senders"),
                "needs the accounts that sign the withdrawals (NEAR looks a transaction up under its signer)",
            );
        }
        for (index, sender) in self.senders.iter().enumerate() {
            if let Err(error) = crate::domain::address::ValidatedAddress::parse(Network::Near, sender, None) {
                problems.add(&key(&format!("senders[{index}]")), format!("is not a NEAR account id: {error}"));
            }
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
            halted_after: self.halted_after.map(|d| d.0),
            indexer_urls: self.indexer_urls.clone(),
            senders: self.senders.clone(),
        };
        Some((network, settings))
    }

    fn required_confirmations(&self, network: Network) -> u64 {
        self.required_confirmations.unwrap_or_else(|| network.default_required_confirmations())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        listen = "127.0.0.1:0"
        [auth]
        ingest_tokens = ["ingest-token-0123456789"]
        support_tokens = ["support-token-0123456789"]
        user_jwt_secret = "0123456789abcdef0123456789abcdef"
    "#;

    /// The config with `networks` added, converted.
    fn settings(networks: &str) -> Result<crate::config::Settings, String> {
        let config = crate::config::Config::parse_toml(&format!("{GOOD}\n{networks}"), "t").unwrap();
        config.settings().map_err(|e| e.to_string())
    }

    /// Every problem the config with `networks` added has, one per line.
    fn problems(networks: &str) -> String {
        settings(networks).err().unwrap_or_default()
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

    #[test]
    fn antelope_serves_eos_only_with_tokens_as_symbol_and_contract_and_a_short_poll() {
        let eos = "[networks.EOS]\nexplorer = \"antelope\"\nurls = [\"https://eos.greymass.com\"]\n\
                   poll_interval = \"10s\"\n[networks.EOS.tokens.USDT]\ncontract = \"USDT:tethertether\"\ndecimals = 4";
        assert_eq!(problems(eos), "");
        let config = crate::config::Config::parse_toml(&format!("{GOOD}\n{eos}"), "t").unwrap();
        let settings = config.settings().unwrap();
        assert_eq!(settings.networks[&Network::Eos].explorer, ExplorerKind::Antelope);
        assert_eq!(settings.networks[&Network::Eos].required_confirmations, 1, "final at the irreversible block");
        assert_eq!(ExplorerKind::Antelope.as_str(), "antelope");

        assert!(problems("[networks.XLM]\nexplorer = \"antelope\"\nurls = [\"http://x\"]")
            .contains("networks.XLM.explorer"));
        for bad in ["tethertether", "usdt:tethertether", "USDT:Tether", "USDT:tethertether.", "USDTUSDT:tether"] {
            let text = eos.replace("USDT:tethertether", bad);
            assert!(problems(&text).contains("networks.EOS.tokens.USDT.contract"), "{bad}: {}", problems(&text));
        }
        let slow = eos.replace("poll_interval = \"10s\"\n", "");
        assert!(problems(&slow).contains("networks.EOS.poll_interval: must be at most 20s"), "{}", problems(&slow));
    }

    const ALGO: &str = "[networks.ALGO]\nexplorer = \"algod\"\nurls = [\"https://mainnet-api.4160.nodely.dev\"]\n\
                        indexer_urls = [\"https://mainnet-idx.4160.nodely.dev\"]\n\
                        [networks.ALGO.tokens.USDC]\ncontract = \"31566704\"\ndecimals = 6";
    const HBAR: &str =
        "[networks.HBAR]\nexplorer = \"hedera_mirror\"\nurls = [\"https://mainnet.mirrornode.hedera.com\"]\n\
                        [networks.HBAR.tokens.USDC]\ncontract = \"0.0.456858\"\ndecimals = 6";

    #[test]
    fn algod_takes_its_indexer_and_an_asa_id_and_the_mirror_a_token_id() {
        assert_eq!(problems(&format!("{ALGO}\n{HBAR}")), "");
        let config = crate::config::Config::parse_toml(&format!("{GOOD}\n{ALGO}\n{HBAR}"), "t").unwrap();
        let settings = config.settings().unwrap();
        let algo = &settings.networks[&Network::Algo];
        assert_eq!((algo.explorer, algo.required_confirmations), (ExplorerKind::Algod, 1));
        assert_eq!(algo.indexer_urls, ["https://mainnet-idx.4160.nodely.dev"]);
        let hbar = &settings.networks[&Network::Hbar];
        assert_eq!((hbar.explorer, hbar.required_confirmations), (ExplorerKind::HederaMirror, 1));
        assert_eq!((ExplorerKind::Algod.as_str(), ExplorerKind::HederaMirror.as_str()), ("algod", "hedera_mirror"));

        let no_indexer = ALGO.replace("indexer_urls = [\"https://mainnet-idx.4160.nodely.dev\"]\n", "");
        assert!(problems(&no_indexer).contains("networks.ALGO.indexer_urls"), "{}", problems(&no_indexer));
        let bad_indexer = ALGO.replace("https://mainnet-idx.4160.nodely.dev", "not a url");
        assert!(problems(&bad_indexer).contains("networks.ALGO.indexer_urls[0]"));
        let stray =
            "[networks.HBAR]\nexplorer = \"hedera_mirror\"\nurls = [\"https://m\"]\nindexer_urls = [\"https://x\"]";
        assert!(problems(stray).contains("networks.HBAR.indexer_urls"), "{}", problems(stray));
        assert!(problems(&ALGO.replace("31566704", "USDC")).contains("networks.ALGO.tokens.USDC.contract"));
        assert!(problems(&ALGO.replace("31566704", "031566704")).contains("networks.ALGO.tokens.USDC.contract"));
        assert!(problems(&HBAR.replace("0.0.456858", "456858")).contains("networks.HBAR.tokens.USDC.contract"));
        assert!(problems(&ALGO.replace("\"algod\"", "\"hedera_mirror\"")).contains("networks.ALGO.explorer"));
        assert!(problems(&HBAR.replace("\"hedera_mirror\"", "\"horizon\"")).contains("networks.HBAR.explorer"));
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

    #[test]
    fn every_network_has_an_explorer_kind_and_every_kind_a_network() {
        for network in Network::ALL {
            assert!(!ExplorerKind::serving(network).is_empty(), "{network} cannot be followed");
        }
        for kind in ExplorerKind::ALL {
            assert!(Network::ALL.iter().any(|n| kind.serves(*n)), "{} serves nothing", kind.as_str());
        }
        let names: std::collections::BTreeSet<&str> = ExplorerKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), ExplorerKind::ALL.len(), "each kind once");
    }
}
