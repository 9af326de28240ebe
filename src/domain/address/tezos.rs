//! Tezos: base58check with 3-byte prefixes and a 20-byte hash.

use super::codec;
use super::{fail, AddressError, ErrorCode, Parsed};

pub const PREFIXES: &[([u8; 3], &str)] =
    &[([6, 161, 159], "tz1"), ([6, 161, 161], "tz2"), ([6, 161, 164], "tz3"), ([2, 90, 121], "kt1")];
const TZ4: [u8; 3] = [6, 161, 166];

pub fn parse(s: &str) -> Result<Parsed, AddressError> {
    let mut buf = [0u8; 40];
    let bytes = codec::base58_decode(s, bs58::Alphabet::BITCOIN, &mut buf)?;
    if bytes.len() != 27 {
        return Err(fail(ErrorCode::BadLength, format!("decodes to {} bytes; a Tezos address has 27", bytes.len())));
    }
    let payload = codec::verify_base58check(bytes)?;
    let prefix = &payload[..3];
    if prefix == TZ4 {
        return Err(fail(ErrorCode::UnsupportedKind, "tz4 (BLS) addresses are not supported"));
    }
    match PREFIXES.iter().find(|p| p.0 == prefix) {
        Some(&(_, kind)) => Ok(Parsed::new(s.to_string(), kind)),
        None => Err(fail(ErrorCode::BadPrefix, "not a tz1/tz2/tz3/KT1 prefix")),
    }
}
