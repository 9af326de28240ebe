//! Cosmos Hub: bech32 `cosmos1...` with a 20-byte account or 32-byte (interchain /
//! module) account. Other Cosmos SDK chains share the encoding but not the HRP.

use super::codec::{self, Bech32Variant};
use super::{fail, AddressError, ErrorCode, Parsed};

pub fn parse(s: &str) -> Result<Parsed, AddressError> {
    let parts = codec::bech32_decode(s, 90)?;
    match parts.hrp.as_str() {
        "cosmos" => {}
        "cosmosvaloper" | "cosmosvalcons" | "cosmospub" | "cosmosvaloperpub" | "cosmosvalconspub" => {
            return Err(fail(
                ErrorCode::UnsupportedKind,
                format!("'{}' addresses are validator/key identifiers, not accounts", parts.hrp),
            ))
        }
        other => {
            return Err(fail(
                ErrorCode::WrongNetwork,
                format!("bech32 HRP '{other}' belongs to another chain; Cosmos Hub uses 'cosmos'"),
            ))
        }
    }
    if parts.variant != Bech32Variant::Bech32 {
        return Err(fail(ErrorCode::BadChecksum, "Cosmos addresses use a bech32 checksum, not bech32m"));
    }
    let bytes = codec::from_base32(&parts.data)?;
    let kind = match bytes.len() {
        20 => "account",
        32 => "interchain_account",
        n => return Err(fail(ErrorCode::BadLength, format!("account is {n} bytes; it must be 20 or 32"))),
    };
    Ok(Parsed::new(s.to_ascii_lowercase(), kind))
}
