//! Bitcoin Cash: CashAddr (with or without the `bitcoincash:` prefix) and legacy base58.
//!
//! Both forms normalize to lower-case `bitcoincash:q...` / `bitcoincash:p...`, so the same
//! destination always yields the same stored string.

use super::bitcoin;
use super::codec;
use super::{fail, AddressError, ErrorCode, Parsed};
use crate::domain::network::Network;

const MAINNET: &str = "bitcoincash";
const HASH_SIZES: [usize; 8] = [20, 24, 28, 32, 40, 48, 56, 64];

fn polymod(values: impl Iterator<Item = u8>) -> u64 {
    let mut c: u64 = 1;
    for d in values {
        let c0 = (c >> 35) as u8;
        c = ((c & 0x07_ffff_ffff) << 5) ^ d as u64;
        if c0 & 0x01 != 0 {
            c ^= 0x98_f2bc_8e61;
        }
        if c0 & 0x02 != 0 {
            c ^= 0x79_b76d_99e2;
        }
        if c0 & 0x04 != 0 {
            c ^= 0xf3_3e5f_b3c4;
        }
        if c0 & 0x08 != 0 {
            c ^= 0xae_2eab_e2a8;
        }
        if c0 & 0x10 != 0 {
            c ^= 0x1e_4f43_e470;
        }
    }
    c ^ 1
}

fn prefix5(prefix: &str) -> impl Iterator<Item = u8> + '_ {
    prefix.bytes().map(|b| b & 31).chain(std::iter::once(0))
}

/// Encodes `version || hash` under `prefix` (lower-case output).
pub fn encode(prefix: &str, version: u8, hash: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(hash.len() + 1);
    bytes.push(version);
    bytes.extend_from_slice(hash);
    let data = codec::to_base32(&bytes);
    let chk = polymod(prefix5(prefix).chain(data.iter().copied()).chain([0u8; 8]));
    let mut out = String::with_capacity(prefix.len() + 1 + data.len() + 8);
    out.push_str(prefix);
    out.push(':');
    for v in data {
        out.push(codec::CHARSET[v as usize] as char);
    }
    for i in 0..8 {
        out.push(codec::CHARSET[((chk >> (5 * (7 - i))) & 31) as usize] as char);
    }
    out
}

pub fn parse(s: &str) -> Result<Parsed, AddressError> {
    let looks_cashaddr = s.contains(':') || matches!(s.as_bytes()[0].to_ascii_lowercase(), b'q' | b'p' | b'z' | b'r');
    if looks_cashaddr {
        cashaddr(s)
    } else {
        legacy(s)
    }
}

fn legacy(s: &str) -> Result<Parsed, AddressError> {
    let l = bitcoin::decode_legacy(s)?;
    let kind = match (l.two_byte_version, l.version) {
        (false, 0x00) => "p2pkh",
        (false, 0x05) => "p2sh",
        _ => return Err(bitcoin::wrong_version(Network::Bch, &l)),
    };
    let version = if kind == "p2pkh" { 0x00 } else { 0x08 };
    Ok(Parsed::new(encode(MAINNET, version, &l.hash), kind))
}

fn cashaddr(s: &str) -> Result<Parsed, AddressError> {
    let has_lower = s.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = s.bytes().any(|b| b.is_ascii_uppercase());
    if has_lower && has_upper {
        return Err(fail(ErrorCode::BadCharacter, "mixed-case CashAddr (it must be all lower-case or all upper-case)"));
    }
    let (prefix, payload) = match s.split_once(':') {
        Some((p, rest)) => (p.to_ascii_lowercase(), rest),
        None => (MAINNET.to_string(), s),
    };
    if payload.contains(':') {
        return Err(fail(ErrorCode::BadCharacter, "CashAddr contains more than one ':'"));
    }
    let mut values = Vec::with_capacity(payload.len());
    for (i, b) in payload.bytes().enumerate() {
        match codec::bech32_value(b) {
            Some(v) => values.push(v),
            None => {
                return Err(fail(
                    ErrorCode::BadCharacter,
                    format!("character '{}' at position {i} of the payload is not in the CashAddr alphabet", b as char),
                ))
            }
        }
    }
    if values.len() < 8 + 34 {
        return Err(fail(ErrorCode::BadLength, "CashAddr payload is too short"));
    }
    if polymod(prefix5(&prefix).chain(values.iter().copied())) != 0 {
        return Err(fail(ErrorCode::BadChecksum, format!("CashAddr checksum does not match for prefix '{prefix}'")));
    }
    match prefix.as_str() {
        MAINNET => {}
        "bchtest" | "bchreg" => {
            return Err(fail(
                ErrorCode::WrongNetwork,
                format!("CashAddr prefix '{prefix}' is Bitcoin Cash testnet/regtest, not mainnet"),
            ))
        }
        other => return Err(fail(ErrorCode::BadPrefix, format!("CashAddr prefix '{other}' is not 'bitcoincash'"))),
    }
    let bytes = codec::from_base32(&values[..values.len() - 8])?;
    let version = bytes[0];
    if version & 0x80 != 0 {
        return Err(fail(ErrorCode::BadPrefix, "CashAddr version byte has its reserved bit set"));
    }
    let size = HASH_SIZES[(version & 7) as usize];
    if bytes.len() - 1 != size {
        return Err(fail(
            ErrorCode::BadLength,
            format!("CashAddr version says a {size}-byte hash but the payload has {}", bytes.len() - 1),
        ));
    }
    let kind = match ((version >> 3) & 0x0f, size) {
        (0, 20) => "p2pkh",
        (1, 20) => "p2sh",
        (2 | 3, _) => {
            return Err(fail(ErrorCode::UnsupportedKind, "token-aware CashAddr (z/r) addresses are not supported"))
        }
        (t @ (0 | 1), n) => {
            return Err(fail(
                ErrorCode::UnsupportedKind,
                format!("CashAddr type {t} with a {n}-byte hash is not supported (only 20-byte P2PKH/P2SH)"),
            ))
        }
        (t, _) => return Err(fail(ErrorCode::UnsupportedKind, format!("CashAddr type {t} is not defined"))),
    };
    Ok(Parsed::new(encode(MAINNET, version, &bytes[1..]), kind))
}
