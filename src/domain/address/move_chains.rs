//! Aptos and Sui: `0x` + 64 hex digits (a 32-byte account address). Short forms such as
//! `0x1` name framework objects and are refused as `bad_length` so that only the
//! unambiguous long form is stored. Normalized to lower-case.

use super::codec;
use super::{fail, AddressError, ErrorCode, Parsed};
use crate::domain::network::Network;

pub fn parse(network: Network, s: &str) -> Result<Parsed, AddressError> {
    let Some(hex) = s.strip_prefix("0x") else {
        return Err(fail(ErrorCode::BadPrefix, format!("{network} addresses start with '0x'")));
    };
    if hex.len() != 64 {
        return Err(fail(
            ErrorCode::BadLength,
            format!("{network} address has {} hex digits after 0x; it must have 64", hex.len()),
        ));
    }
    codec::check_hex(hex, 2)?;
    Ok(Parsed::new(s.to_ascii_lowercase(), "account"))
}
