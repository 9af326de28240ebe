//! TRON: base58check of 0x41 || 20-byte account hash, always starting with 'T'.

use super::bitcoin;
use super::codec;
use super::{fail, AddressError, ErrorCode, Parsed};
use crate::domain::network::Network;

pub fn parse(s: &str) -> Result<Parsed, AddressError> {
    if s.len() == 42 && s.starts_with("41") && codec::check_hex(s, 0).is_ok() {
        return Err(fail(
            ErrorCode::BadPrefix,
            "TRON hex addresses (41...) are not accepted; use the base58 form starting with 'T'",
        ));
    }
    if s.starts_with("0x") {
        return Err(fail(ErrorCode::BadPrefix, "this looks like an EVM address; TRON addresses start with 'T'"));
    }
    let l = bitcoin::decode_legacy(s)?;
    if l.two_byte_version || l.version != 0x41 {
        return Err(bitcoin::wrong_version(Network::Trx, &l));
    }
    Ok(Parsed::new(s.to_string(), "account"))
}
