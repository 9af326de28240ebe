//! Stellar strkeys (SEP-23): G... ed25519 accounts and M... muxed accounts.
//! Other strkey types are valid strkeys but not payment destinations, so they are
//! refused as `unsupported_kind` once their checksum is known to be right.

use super::codec;
use super::{fail, AddressError, ErrorCode, Parsed};

const ACCOUNT: u8 = 6 << 3;
const MUXED: u8 = 12 << 3;

pub fn crc16(data: &[u8]) -> [u8; 2] {
    codec::CRC16_XMODEM.checksum(data).to_le_bytes()
}

pub fn parse(s: &str) -> Result<Parsed, AddressError> {
    if s.bytes().any(|b| b.is_ascii_lowercase()) {
        return Err(fail(ErrorCode::BadCharacter, "Stellar strkeys are upper-case"));
    }
    let bytes = codec::base32_decode(s)?;
    if bytes.len() < 3 {
        return Err(fail(ErrorCode::BadLength, "strkey is too short"));
    }
    let version = bytes[0];
    if version & 7 != 0 {
        return Err(fail(ErrorCode::BadPrefix, "strkey version byte has an unknown algorithm"));
    }
    let (kind, len) = match version {
        ACCOUNT => ("account", 35),
        MUXED => ("muxed", 43),
        _ => {
            verify(&bytes)?;
            let what = match version >> 3 {
                18 => "a secret seed (S...); never share it",
                19 => "a pre-authorized transaction hash (T...)",
                23 => "a hash-x signer (X...)",
                15 => "a signed-payload signer (P...)",
                2 => "a Soroban contract (C...)",
                11 => "a liquidity pool id (L...)",
                1 => "a claimable balance id (B...)",
                _ => return Err(fail(ErrorCode::BadPrefix, "unknown strkey version byte")),
            };
            return Err(fail(ErrorCode::UnsupportedKind, format!("this strkey is {what}, not an account")));
        }
    };
    if bytes.len() != len {
        return Err(fail(
            ErrorCode::BadLength,
            format!("strkey decodes to {} bytes; a {kind} strkey has {len}", bytes.len()),
        ));
    }
    verify(&bytes)?;
    Ok(Parsed::new(s.to_string(), kind))
}

fn verify(bytes: &[u8]) -> Result<(), AddressError> {
    let (body, sum) = bytes.split_at(bytes.len() - 2);
    if crc16(body) != sum {
        return Err(fail(ErrorCode::BadChecksum, "strkey CRC16 checksum does not match"));
    }
    Ok(())
}
