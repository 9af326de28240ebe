//! Bitcoin-derived formats: base58check (BTC, LTC, DOGE, DASH, Zcash transparent),
//! segwit bech32/bech32m (BTC, LTC) and Zcash Sapling.
//!
//! Base58 addresses are returned unchanged (a fixed-length payload has exactly one
//! base58 spelling); bech32 addresses are normalized to lower-case.

use super::codec::{self, Bech32Variant};
use super::{fail, AddressError, ErrorCode, Parsed};
use crate::domain::network::Network;

/// A decoded, checksum-verified legacy address.
pub struct Legacy {
    /// One byte for Bitcoin-style versions, two for Zcash transparent.
    pub version: u16,
    pub two_byte_version: bool,
    pub hash: [u8; 20],
}

/// Known single-byte versions: (version, owner, kind, human label).
/// Owner `None` means a testnet / foreign version that is only used for error messages.
const SINGLE: &[(u8, Option<Network>, &str, &str)] = &[
    (0x00, Some(Network::Btc), "p2pkh", "a Bitcoin P2PKH address"),
    (0x05, Some(Network::Btc), "p2sh", "a Bitcoin P2SH address"),
    (0x30, Some(Network::Ltc), "p2pkh", "a Litecoin address"),
    (0x32, Some(Network::Ltc), "p2sh", "a Litecoin P2SH address"),
    (0x1e, Some(Network::Doge), "p2pkh", "a Dogecoin address"),
    (0x16, Some(Network::Doge), "p2sh", "a Dogecoin P2SH address"),
    (0x4c, Some(Network::Dash), "p2pkh", "a Dash address"),
    (0x10, Some(Network::Dash), "p2sh", "a Dash P2SH address"),
    (0x6f, None, "", "a testnet address (Bitcoin/Litecoin/Bitcoin Cash testnet, signet or regtest)"),
    (0xc4, None, "", "a Bitcoin testnet P2SH address"),
    (0x3a, None, "", "a Litecoin testnet P2SH address"),
    (0x71, None, "", "a Dogecoin testnet address"),
    (0x8c, None, "", "a Dash testnet address"),
    (0x13, None, "", "a Dash testnet P2SH address"),
    (0x41, None, "", "a TRON address"),
];

/// Litecoin still accepts the Bitcoin-style `3...` P2SH version it used before `M...`.
fn own_single(network: Network, v: u8) -> Option<&'static str> {
    if network == Network::Ltc && v == 0x05 {
        return Some("p2sh");
    }
    if network == Network::Bch {
        return match v {
            0x00 => Some("p2pkh"),
            0x05 => Some("p2sh"),
            _ => None,
        };
    }
    SINGLE.iter().find(|e| e.0 == v && e.1 == Some(network)).map(|e| e.2)
}

const ZEC_T: &[(u16, bool, &str, &str)] = &[
    (0x1cb8, true, "p2pkh", "a Zcash transparent P2PKH address"),
    (0x1cbd, true, "p2sh", "a Zcash transparent P2SH address"),
    (0x1d25, false, "", "a Zcash testnet transparent address"),
    (0x1cba, false, "", "a Zcash testnet transparent P2SH address"),
];

pub fn describe_version(v: u16, two_byte: bool) -> Option<&'static str> {
    if two_byte {
        ZEC_T.iter().find(|e| e.0 == v).map(|e| e.3)
    } else {
        SINGLE.iter().find(|e| e.0 as u16 == v).map(|e| e.3)
    }
}

/// Decodes any 20-byte-hash base58check address (one- or two-byte version).
pub fn decode_legacy(s: &str) -> Result<Legacy, AddressError> {
    let mut buf = [0u8; 48];
    let bytes = codec::base58_decode(s, bs58::Alphabet::BITCOIN, &mut buf)?;
    match bytes.len() {
        25 | 26 => {}
        // WIF private keys: worth a specific message, since pasting one is a disaster.
        37 | 38 if matches!(bytes[0], 0x80 | 0xef) && codec::verify_base58check(bytes).is_ok() => {
            return Err(fail(ErrorCode::UnsupportedKind, "this is a WIF private key, not an address; never share it"));
        }
        n => {
            return Err(fail(
                ErrorCode::BadLength,
                format!("decodes to {n} bytes; a base58check address has 25 (or 26 for Zcash)"),
            ))
        }
    }
    let payload = codec::verify_base58check(bytes)?;
    let two = payload.len() == 22;
    let version = if two { u16::from_be_bytes([payload[0], payload[1]]) } else { payload[0] as u16 };
    let mut hash = [0u8; 20];
    hash.copy_from_slice(&payload[payload.len() - 20..]);
    Ok(Legacy { version, two_byte_version: two, hash })
}

pub fn wrong_version(network: Network, l: &Legacy) -> AddressError {
    match describe_version(l.version, l.two_byte_version) {
        Some(label) => fail(ErrorCode::WrongNetwork, format!("this is {label}, not a {network} address")),
        None if l.two_byte_version => {
            fail(ErrorCode::BadPrefix, format!("unknown two-byte version 0x{:04x} for a {network} address", l.version))
        }
        None => fail(ErrorCode::BadPrefix, format!("unknown version byte 0x{:02x} for a {network} address", l.version)),
    }
}

pub fn parse(network: Network, s: &str) -> Result<Parsed, AddressError> {
    if network == Network::Zec {
        if let Some(r) = zcash_shielded(s) {
            return r;
        }
    }
    if network == Network::Ltc && starts_with_ci(s, "ltcmweb1") {
        return Err(fail(ErrorCode::UnsupportedKind, "Litecoin MWEB addresses are not supported"));
    }
    if let Some(hrp) = segwit_hrp(s) {
        return segwit(network, hrp, s);
    }
    let legacy = match decode_legacy(s) {
        Ok(l) => l,
        Err(e) => return Err(foreign_bech32(network, s).unwrap_or(e)),
    };
    let kind = if network == Network::Zec {
        ZEC_T.iter().find(|e| e.1 && legacy.two_byte_version && e.0 == legacy.version).map(|e| e.2)
    } else if legacy.two_byte_version {
        None
    } else {
        own_single(network, legacy.version as u8)
    };
    match kind {
        Some(k) => Ok(Parsed::new(s.to_string(), k)),
        None => Err(wrong_version(network, &legacy)),
    }
}

// ---------------------------------------------------------------- segwit

const SEGWIT_HRPS: &[(&str, Option<Network>, &str)] = &[
    ("bc", Some(Network::Btc), "Bitcoin mainnet"),
    ("ltc", Some(Network::Ltc), "Litecoin mainnet"),
    ("tb", None, "Bitcoin testnet"),
    ("bcrt", None, "Bitcoin regtest"),
    ("tltc", None, "Litecoin testnet"),
    ("rltc", None, "Litecoin regtest"),
];

fn segwit_hrp(s: &str) -> Option<&'static (&'static str, Option<Network>, &'static str)> {
    let sep = s.rfind('1')?;
    SEGWIT_HRPS.iter().find(|e| s[..sep].eq_ignore_ascii_case(e.0))
}

fn segwit(
    network: Network,
    hrp: &(&'static str, Option<Network>, &'static str),
    s: &str,
) -> Result<Parsed, AddressError> {
    let parts = codec::bech32_decode(s, 90)?;
    if hrp.1 != Some(network) {
        let mainnet = if hrp.1.is_some() { "" } else { "mainnet " };
        return Err(fail(
            ErrorCode::WrongNetwork,
            format!("bech32 HRP '{}' is {}, not {network} {mainnet}", hrp.0, hrp.2).trim_end().to_string(),
        ));
    }
    let Some((&version, rest)) = parts.data.split_first() else {
        return Err(fail(ErrorCode::BadLength, "segwit address has an empty data section"));
    };
    if version > 16 {
        return Err(fail(ErrorCode::BadPrefix, format!("witness version {version} does not exist (0 to 16)")));
    }
    let expected = if version == 0 { Bech32Variant::Bech32 } else { Bech32Variant::Bech32m };
    if parts.variant != expected {
        return Err(fail(
            ErrorCode::BadChecksum,
            format!(
                "witness version {version} requires a {} checksum, but the address uses {}",
                expected.name(),
                parts.variant.name()
            ),
        ));
    }
    let program = codec::from_base32(rest)?;
    if !(2..=40).contains(&program.len()) {
        return Err(fail(
            ErrorCode::BadLength,
            format!("witness program is {} bytes; it must be 2 to 40", program.len()),
        ));
    }
    let kind = match (version, program.len()) {
        (0, 20) => "p2wpkh",
        (0, 32) => "p2wsh",
        (0, n) => {
            return Err(fail(
                ErrorCode::BadLength,
                format!("witness v0 program is {n} bytes; it must be 20 (P2WPKH) or 32 (P2WSH)"),
            ))
        }
        (1, 32) => "p2tr",
        (v, n) => {
            return Err(fail(
                ErrorCode::UnsupportedKind,
                format!("witness v{v} program of {n} bytes is not a standard output type; refusing to send to it"),
            ))
        }
    };
    Ok(Parsed::new(s.to_ascii_lowercase(), kind))
}

/// A well-formed bech32 string with some other HRP is most likely an address for
/// another chain; say so instead of reporting a base58 error.
pub fn foreign_bech32(network: Network, s: &str) -> Option<AddressError> {
    let parts = codec::bech32_decode(s, 256).ok()?;
    Some(fail(ErrorCode::WrongNetwork, format!("bech32 HRP '{}' does not belong to {network}", parts.hrp)))
}

// ---------------------------------------------------------------- Zcash shielded

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn zcash_shielded(s: &str) -> Option<Result<Parsed, AddressError>> {
    if starts_with_ci(s, "zs1") || starts_with_ci(s, "ztestsapling1") {
        return Some(sapling(s));
    }
    if starts_with_ci(s, "u1") {
        return Some(Err(fail(
            ErrorCode::UnsupportedKind,
            "Zcash unified addresses are not supported; use a transparent (t1/t3) or Sapling (zs1) address",
        )));
    }
    if starts_with_ci(s, "utest1") || s.starts_with("zt") {
        return Some(Err(fail(ErrorCode::WrongNetwork, "this is a Zcash testnet shielded address")));
    }
    if s.starts_with("zc") {
        return Some(Err(fail(ErrorCode::UnsupportedKind, "Zcash Sprout addresses are deprecated and not supported")));
    }
    None
}

/// Sapling payment addresses are bech32 (not bech32m): 11-byte diversifier + 32-byte pk_d.
/// pk_d is not checked to be on the Jubjub curve (that needs curve arithmetic).
fn sapling(s: &str) -> Result<Parsed, AddressError> {
    let parts = codec::bech32_decode(s, 256)?;
    if parts.hrp == "ztestsapling" {
        return Err(fail(ErrorCode::WrongNetwork, "bech32 HRP 'ztestsapling' is Zcash testnet, not mainnet"));
    }
    if parts.hrp != "zs" {
        return Err(fail(ErrorCode::BadPrefix, format!("bech32 HRP '{}' is not a Zcash Sapling prefix", parts.hrp)));
    }
    if parts.variant != Bech32Variant::Bech32 {
        return Err(fail(ErrorCode::BadChecksum, "Sapling addresses use a bech32 checksum, not bech32m"));
    }
    let payload = codec::from_base32(&parts.data)?;
    if payload.len() != 43 {
        return Err(fail(ErrorCode::BadLength, format!("Sapling payload is {} bytes; it must be 43", payload.len())));
    }
    Ok(Parsed::new(s.to_ascii_lowercase(), "sapling"))
}
