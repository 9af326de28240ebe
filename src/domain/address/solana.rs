//! Solana: base58 of a 32-byte account key. There is no checksum, so only the alphabet
//! and decoded length can be verified; an ed25519 key and a program-derived address
//! look the same offline.

use super::codec;
use super::{fail, AddressError, ErrorCode, Parsed};

pub fn parse(s: &str) -> Result<Parsed, AddressError> {
    if s.len() > 44 {
        return Err(fail(ErrorCode::BadLength, format!("Solana addresses are at most 44 characters, got {}", s.len())));
    }
    let mut buf = [0u8; 32];
    let bytes = codec::base58_decode(s, bs58::Alphabet::BITCOIN, &mut buf).map_err(|e| {
        if e.code == ErrorCode::BadLength {
            len_err(33)
        } else {
            e
        }
    })?;
    if bytes.len() != 32 {
        return Err(len_err(bytes.len()));
    }
    Ok(Parsed::new(s.to_string(), "account"))
}

fn len_err(n: usize) -> AddressError {
    let got = if n > 32 { "more than 32".to_string() } else { n.to_string() };
    fail(ErrorCode::BadLength, format!("decodes to {got} bytes; a Solana address is 32 bytes"))
}
