//! XRP Ledger: classic r-addresses and XLS-5 X-addresses, both base58check with the
//! Ripple alphabet. An X-address packs the destination tag into the address; the tag
//! is returned as `embedded_tag` so the memo check can compare it with a separate tag.

use super::codec;
use super::{fail, AddressError, ErrorCode, Parsed};

const MAIN_X: [u8; 2] = [0x05, 0x44];
const TEST_X: [u8; 2] = [0x04, 0x93];

pub fn parse(s: &str) -> Result<Parsed, AddressError> {
    let mut buf = [0u8; 40];
    let bytes = codec::base58_decode(s, bs58::Alphabet::RIPPLE, &mut buf)?;
    match bytes.len() {
        25 => classic(codec::verify_base58check(bytes)?, s),
        35 => x_address(codec::verify_base58check(bytes)?, s),
        21 | 23 if codec::verify_base58check(bytes).is_ok() && s.starts_with('s') => {
            Err(fail(ErrorCode::UnsupportedKind, "this is an XRP secret seed, not an address; never share it"))
        }
        n => Err(fail(
            ErrorCode::BadLength,
            format!("decodes to {n} bytes; a classic address has 25 and an X-address 35"),
        )),
    }
}

fn classic(payload: &[u8], s: &str) -> Result<Parsed, AddressError> {
    if payload[0] != 0 {
        return Err(fail(
            ErrorCode::BadPrefix,
            format!("version byte 0x{:02x} is not an XRP account id (0x00)", payload[0]),
        ));
    }
    Ok(Parsed::new(s.to_string(), "classic"))
}

fn x_address(payload: &[u8], s: &str) -> Result<Parsed, AddressError> {
    let prefix = [payload[0], payload[1]];
    if prefix == TEST_X {
        return Err(fail(ErrorCode::WrongNetwork, "this is a test-network X-address (T...), not mainnet"));
    }
    if prefix != MAIN_X {
        return Err(fail(ErrorCode::BadPrefix, "unknown X-address prefix"));
    }
    let flag = payload[22];
    let tag = u64::from_le_bytes(payload[23..31].try_into().expect("8 bytes"));
    let embedded_tag = match flag {
        0 if tag == 0 => None,
        1 if tag <= u32::MAX as u64 => Some(tag as u32),
        0 | 1 => return Err(fail(ErrorCode::BadPrefix, "X-address tag bytes are inconsistent with its flag")),
        _ => return Err(fail(ErrorCode::UnsupportedKind, "X-addresses with 64-bit tags are not supported")),
    };
    Ok(Parsed { normalized: s.to_string(), kind: "x_address", embedded_tag })
}
