//! NEAR account ids: 64-hex implicit accounts, `0x` + 40-hex ETH-implicit accounts
//! (NEP-518, lower-case only), and named accounts.
//!
//! Named accounts are 2-64 characters of lower-case alphanumeric parts joined by
//! single `-`, `_` or `.`. Names under `.testnet` live on testnet.

use super::{fail, AddressError, ErrorCode, Parsed};

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub fn parse(s: &str) -> Result<Parsed, AddressError> {
    if s.len() == 64 && is_lower_hex(s) {
        return Ok(Parsed::new(s.to_string(), "implicit"));
    }
    if let Some(hex) = s.strip_prefix("0x") {
        if hex.len() != 40 {
            return Err(fail(ErrorCode::BadLength, "NEAR ETH-implicit accounts are 0x followed by 40 hex digits"));
        }
        if !is_lower_hex(hex) {
            return Err(fail(ErrorCode::BadCharacter, "NEAR ETH-implicit accounts must be lower-case hex"));
        }
        return Ok(Parsed::new(s.to_string(), "eth_implicit"));
    }
    if !(2..=64).contains(&s.len()) {
        return Err(fail(ErrorCode::BadLength, format!("NEAR account ids are 2 to 64 characters, got {}", s.len())));
    }
    let mut prev_sep = true;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' => prev_sep = false,
            b'-' | b'_' | b'.' => {
                if prev_sep {
                    return Err(fail(
                        ErrorCode::BadCharacter,
                        format!("separator '{}' at position {i} must sit between alphanumeric characters", b as char),
                    ));
                }
                prev_sep = true;
            }
            _ => {
                return Err(fail(
                    ErrorCode::BadCharacter,
                    format!("character '{}' at position {i} is not allowed (a-z, 0-9, '-', '_', '.')", b as char),
                ))
            }
        }
    }
    if prev_sep {
        return Err(fail(ErrorCode::BadCharacter, "NEAR account ids cannot end with a separator"));
    }
    if s == "testnet" || s.ends_with(".testnet") {
        return Err(fail(ErrorCode::WrongNetwork, "'.testnet' accounts live on NEAR testnet"));
    }
    Ok(Parsed::new(s.to_string(), "named"))
}
