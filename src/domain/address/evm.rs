//! EVM account addresses (ETH, BSC, POLYGON, ARBITRUM, OPTIMISM, BASE, AVAXC, ETC).
//!
//! All-lower and all-upper hex carry no checksum and are accepted; mixed case is an
//! EIP-55 checksum and must match. The normalized form is always the EIP-55 spelling.
//! ETC shares the format: its EIP-1191 chain-specific checksum is not used by wallets
//! in practice, so plain EIP-55 is applied there too.

use super::codec;
use super::{fail, AddressError, ErrorCode, Parsed};
use sha3::{Digest, Keccak256};

/// An EVM address cannot tell an externally owned account from a contract offline.
pub const KIND: &str = "eoa_or_contract";

pub fn parse(s: &str) -> Result<Parsed, AddressError> {
    let Some(hex) = s.strip_prefix("0x") else {
        let reason = if s.starts_with("0X") {
            "EVM addresses start with a lower-case '0x'"
        } else if s.len() == 40 && codec::check_hex(s, 0).is_ok() {
            "EVM address is missing its '0x' prefix"
        } else {
            "EVM addresses start with '0x'"
        };
        return Err(fail(ErrorCode::BadPrefix, reason));
    };
    if hex.len() != 40 {
        return Err(fail(
            ErrorCode::BadLength,
            format!("EVM address has {} hex digits after 0x; it must have 40", hex.len()),
        ));
    }
    codec::check_hex(hex, 2)?;
    let checksummed = to_checksum(hex);
    let has_lower = hex.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = hex.bytes().any(|b| b.is_ascii_uppercase());
    if has_lower && has_upper && checksummed[2..] != *hex {
        return Err(fail(ErrorCode::BadChecksum, "mixed-case address does not match its EIP-55 checksum"));
    }
    Ok(Parsed::new(checksummed, KIND))
}

/// EIP-55: upper-case each letter whose nibble in keccak256(lower-case hex) is >= 8.
/// `hex40` must be 40 hex digits (any case).
pub fn to_checksum(hex40: &str) -> String {
    let mut lower = [0u8; 40];
    for (d, s) in lower.iter_mut().zip(hex40.bytes()) {
        *d = s.to_ascii_lowercase();
    }
    let hash = Keccak256::digest(lower);
    let mut out = String::with_capacity(42);
    out.push_str("0x");
    for (i, &c) in lower.iter().enumerate() {
        let nibble = if i % 2 == 0 { hash[i / 2] >> 4 } else { hash[i / 2] & 0x0f };
        out.push(if nibble >= 8 { c.to_ascii_uppercase() } else { c } as char);
    }
    out
}
