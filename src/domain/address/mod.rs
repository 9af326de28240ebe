//! Mainnet address and memo validation for every supported network.
//!
//! `validate` never panics and never allocates more than a few small strings, so it is
//! safe to call on untrusted API input. Every checksum a format carries is verified, and
//! the `normalized` form is the one to store and compare (see each family module for
//! what "normalized" means there).

mod algorand;
mod bitcoin;
mod cardano;
mod cashaddr;
mod codec;
mod cosmos;
mod eos;
mod evm;
mod filecoin;
mod hedera;
pub mod memo;
mod move_chains;
mod near;
mod polkadot;
mod solana;
mod stellar;
mod tezos;
mod ton;
pub use ton::raw_form as ton_raw_form;
mod tron;
mod xrp;

use crate::domain::network::Network;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadChecksum,
    BadLength,
    BadCharacter,
    BadPrefix,
    WrongNetwork,
    UnsupportedKind,
    BadMemo,
    MemoNotSupported,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadChecksum => "bad_checksum",
            ErrorCode::BadLength => "bad_length",
            ErrorCode::BadCharacter => "bad_character",
            ErrorCode::BadPrefix => "bad_prefix",
            ErrorCode::WrongNetwork => "wrong_network",
            ErrorCode::UnsupportedKind => "unsupported_kind",
            ErrorCode::BadMemo => "bad_memo",
            ErrorCode::MemoNotSupported => "memo_not_supported",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `reason` is an English sentence meant for API clients; `code` is what programs match on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
#[error("{code}: {reason}")]
pub struct AddressError {
    pub code: ErrorCode,
    pub reason: String,
}

pub(crate) fn fail(code: ErrorCode, reason: impl Into<String>) -> AddressError {
    AddressError { code, reason: reason.into() }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Validation {
    pub valid: bool,
    pub network: Network,
    pub normalized: Option<String>,
    pub kind: Option<&'static str>,
    pub error: Option<AddressError>,
}

/// An address (and memo) that passed validation; the only way to build one is `parse`,
/// so holding one is proof of validity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct ValidatedAddress {
    network: Network,
    normalized: String,
    kind: &'static str,
    memo: Option<String>,
}

impl ValidatedAddress {
    /// For an XRP X-address the embedded tag becomes the memo, so callers always find
    /// the destination tag in one place.
    pub fn parse(network: Network, address: &str, memo: Option<&str>) -> Result<ValidatedAddress, AddressError> {
        let parsed = parse_address(network, address)?;
        let memo = memo::check(network, memo, parsed.embedded_tag)?;
        Ok(ValidatedAddress { network, normalized: parsed.normalized, kind: parsed.kind, memo })
    }

    pub fn network(&self) -> Network {
        self.network
    }
    pub fn normalized(&self) -> &str {
        &self.normalized
    }
    pub fn kind(&self) -> &'static str {
        self.kind
    }
    pub fn memo(&self) -> Option<&str> {
        self.memo.as_deref()
    }
}

impl fmt::Display for ValidatedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalized)
    }
}

pub fn validate(network: Network, address: &str, memo: Option<&str>) -> Validation {
    let result = parse_address(network, address).and_then(|p| memo::check(network, memo, p.embedded_tag).map(|_| p));
    match result {
        Ok(p) => Validation { valid: true, network, normalized: Some(p.normalized), kind: Some(p.kind), error: None },
        Err(e) => Validation { valid: false, network, normalized: None, kind: None, error: Some(e) },
    }
}

/// Every network on which `address` is valid (memo ignored), in `Network::ALL` order.
/// Several formats are shared (EVM chains, APT/SUI, BTC/LTC/BCH `3...`, short lower-case
/// names on NEAR/EOS), so more than one result is normal. NEAR named accounts are any
/// lower-case alphanumeric string of 2-64 characters, so lower-case bech32 addresses
/// (bc1..., cosmos1...) and lower-case 0x addresses (ETH-implicit) also list NEAR.
pub fn detect_networks(address: &str) -> Vec<Network> {
    Network::ALL.iter().copied().filter(|&n| parse_address(n, address).is_ok()).collect()
}

pub fn address_kinds(network: Network) -> &'static [&'static str] {
    use Network::*;
    match network {
        Btc | Ltc => &["p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr"],
        Doge | Dash => &["p2pkh", "p2sh"],
        Bch => &["p2pkh", "p2sh"],
        Zec => &["p2pkh", "p2sh", "sapling"],
        Eth | Bsc | Polygon | Arbitrum | Optimism | Base | Avaxc | Etc => &[evm::KIND],
        Trx => &["account"],
        Sol => &["account"],
        Xrp => &["classic", "x_address"],
        Xlm => &["account", "muxed"],
        Ada => &["base", "pointer", "enterprise", "byron"],
        Dot => &["account"],
        Atom => &["account", "interchain_account"],
        Ton => &["bounceable", "non_bounceable", "raw"],
        Near => &["implicit", "eth_implicit", "named"],
        Apt | Sui => &["account"],
        Algo => &["account"],
        Hbar => &["account"],
        Eos => &["account"],
        Xtz => &["tz1", "tz2", "tz3", "kt1"],
        Fil => &["id", "secp256k1", "actor", "bls", "delegated"],
    }
}

/// What a family parser hands back on success.
pub(crate) struct Parsed {
    pub normalized: String,
    pub kind: &'static str,
    /// A destination tag carried inside the address itself (XRP X-address).
    pub embedded_tag: Option<u32>,
}

impl Parsed {
    pub(crate) fn new(normalized: String, kind: &'static str) -> Parsed {
        Parsed { normalized, kind, embedded_tag: None }
    }
}

/// Longer strings are rejected before any decoding so hostile input stays cheap.
/// Sapling/Cardano get more room: Shelley base addresses are 103 characters and Byron
/// addresses with derivation-path attributes run past 120.
fn max_len(network: Network) -> usize {
    match network {
        Network::Ada | Network::Zec => 256,
        _ => 128,
    }
}

fn parse_address(network: Network, address: &str) -> Result<Parsed, AddressError> {
    if address.is_empty() {
        return Err(fail(ErrorCode::BadLength, "address is empty"));
    }
    let limit = max_len(network);
    if address.len() > limit {
        return Err(fail(
            ErrorCode::BadLength,
            format!("address is {} bytes long; no {network} address exceeds {limit}", address.len()),
        ));
    }
    if let Some((i, c)) = address.char_indices().find(|(_, c)| !c.is_ascii_graphic()) {
        let what = if c.is_whitespace() { "whitespace" } else { "a non-printable or non-ASCII character" };
        return Err(fail(ErrorCode::BadCharacter, format!("address contains {what} at byte {i}")));
    }
    use Network::*;
    match network {
        Btc | Ltc | Doge | Dash | Zec => bitcoin::parse(network, address),
        Bch => cashaddr::parse(address),
        Eth | Bsc | Polygon | Arbitrum | Optimism | Base | Avaxc | Etc => evm::parse(address),
        Trx => tron::parse(address),
        Sol => solana::parse(address),
        Xrp => xrp::parse(address),
        Xlm => stellar::parse(address),
        Ada => cardano::parse(address),
        Dot => polkadot::parse(address),
        Atom => cosmos::parse(address),
        Ton => ton::parse(address),
        Near => near::parse(address),
        Apt | Sui => move_chains::parse(network, address),
        Algo => algorand::parse(address),
        Hbar => hedera::parse(address),
        Eos => eos::parse(address),
        Xtz => tezos::parse(address),
        Fil => filecoin::parse(address),
    }
}
