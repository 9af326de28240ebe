//! TON: user-friendly 48-character base64/base64url addresses and raw `wc:hex` ones.
//!
//! Normalization keeps the form the user chose, because the bounceable flag changes how
//! a transfer to an uninitialized wallet behaves:
//! - user-friendly input -> the same 36 bytes re-encoded as base64url (`-`/`_`), flags kept;
//! - raw input -> `0:<64 lower-case hex>` / `-1:<64 lower-case hex>`.

use super::codec;
use super::{fail, AddressError, ErrorCode, Parsed};
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;

const BOUNCEABLE: u8 = 0x11;
const NON_BOUNCEABLE: u8 = 0x51;
const TEST_FLAG: u8 = 0x80;

pub fn parse(s: &str) -> Result<Parsed, AddressError> {
    if let Some((wc, hex)) = s.split_once(':') {
        return raw(wc, hex);
    }
    if s.len() != 48 {
        return Err(fail(
            ErrorCode::BadLength,
            format!("user-friendly TON addresses are 48 characters, got {}", s.len()),
        ));
    }
    let std_chars = s.bytes().any(|b| b == b'+' || b == b'/');
    let url_chars = s.bytes().any(|b| b == b'-' || b == b'_');
    if std_chars && url_chars {
        return Err(fail(ErrorCode::BadCharacter, "address mixes base64 and base64url characters"));
    }
    let engine = if std_chars { &STANDARD } else { &URL_SAFE };
    let mut bytes = [0u8; 36];
    match engine.decode_slice(s.as_bytes(), &mut bytes) {
        Ok(36) => {}
        Ok(_) => return Err(fail(ErrorCode::BadLength, "address does not decode to 36 bytes")),
        Err(_) => return Err(fail(ErrorCode::BadCharacter, "address is not valid base64")),
    }
    let crc = codec::CRC16_XMODEM.checksum(&bytes[..34]).to_be_bytes();
    if crc != bytes[34..] {
        return Err(fail(ErrorCode::BadChecksum, "TON address CRC16 checksum does not match"));
    }
    let tag = bytes[0];
    if tag & TEST_FLAG != 0 {
        return Err(fail(ErrorCode::WrongNetwork, "address has the testnet-only flag set"));
    }
    let kind = match tag {
        BOUNCEABLE => "bounceable",
        NON_BOUNCEABLE => "non_bounceable",
        t => return Err(fail(ErrorCode::BadPrefix, format!("unknown TON address tag 0x{t:02x}"))),
    };
    if !matches!(bytes[1], 0x00 | 0xff) {
        return Err(fail(ErrorCode::UnsupportedKind, "only the basechain (0) and masterchain (-1) are supported"));
    }
    Ok(Parsed::new(URL_SAFE.encode(bytes), kind))
}

fn raw(wc: &str, hex: &str) -> Result<Parsed, AddressError> {
    match wc {
        "0" | "-1" => {}
        _ if wc.parse::<i32>().is_ok() => {
            return Err(fail(ErrorCode::UnsupportedKind, "only the basechain (0) and masterchain (-1) are supported"))
        }
        _ => return Err(fail(ErrorCode::BadPrefix, "raw TON address must start with a workchain id ('0:' or '-1:')")),
    }
    if hex.len() != 64 {
        return Err(fail(
            ErrorCode::BadLength,
            format!("raw TON address has {} hex digits; it must have 64", hex.len()),
        ));
    }
    codec::check_hex(hex, wc.len() + 1)?;
    Ok(Parsed::new(format!("{wc}:{}", hex.to_ascii_lowercase()), "raw"))
}

/// The raw form `wc:<64 lower-case hex>` of any valid TON address (what
/// explorers such as toncenter print), so that the user-friendly and raw
/// forms of one account compare equal; `None` for an invalid address.
pub fn raw_form(s: &str) -> Option<String> {
    let parsed = parse(s).ok()?;
    if parsed.normalized.contains(':') {
        return Some(parsed.normalized);
    }
    let bytes = URL_SAFE.decode(&parsed.normalized).ok()?;
    let workchain = if bytes[1] == 0xff { "-1" } else { "0" };
    let hex: String = bytes[2..34].iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("{workchain}:{hex}"))
}

#[cfg(test)]
mod raw_form_tests {
    use super::raw_form;

    #[test]
    fn user_friendly_and_raw_forms_of_one_account_agree() {
        let raw = "0:ca6e321c7cce9ecedf0a8ca2492ec8592494aa5fb5ce0387dff96ef6af982a3e";
        assert_eq!(raw_form("EQDKbjIcfM6ezt8KjKJJLshZJJSqX7XOA4ff-W72r5gqPrHF").as_deref(), Some(raw));
        assert_eq!(raw_form(&raw.to_ascii_uppercase()).as_deref(), Some(raw));
        assert_eq!(raw_form(raw).as_deref(), Some(raw));
        assert_eq!(raw_form("EQDKbjIcfM6ezt8KjKJJLshZJJSqX7XOA4ff-W72r5gqPrHG"), None, "bad checksum");
    }
}
