//! Algorand: base32 (no padding, 58 chars) of a 32-byte ed25519 key followed by the last
//! 4 bytes of SHA-512/256(key).

use super::codec;
use super::{fail, AddressError, ErrorCode, Parsed};
use sha2::{Digest, Sha512_256};

pub fn checksum(key: &[u8]) -> [u8; 4] {
    let h = Sha512_256::digest(key);
    [h[28], h[29], h[30], h[31]]
}

pub fn parse(s: &str) -> Result<Parsed, AddressError> {
    if s.len() != 58 {
        return Err(fail(ErrorCode::BadLength, format!("Algorand addresses are 58 characters, got {}", s.len())));
    }
    if s.bytes().any(|b| b.is_ascii_lowercase()) {
        return Err(fail(ErrorCode::BadCharacter, "Algorand addresses are upper-case"));
    }
    let bytes = codec::base32_decode(s)?;
    if bytes.len() != 36 {
        return Err(fail(ErrorCode::BadLength, "address does not decode to 36 bytes"));
    }
    if checksum(&bytes[..32]) != bytes[32..] {
        return Err(fail(ErrorCode::BadChecksum, "Algorand address checksum does not match"));
    }
    Ok(Parsed::new(s.to_string(), "account"))
}
