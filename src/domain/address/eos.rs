//! EOS account names: 1-12 characters of `a-z`, `1-5` and `.`, not ending with `.`.
//! (The protocol allows a restricted 13th character; such names are refused here.)

use super::{fail, AddressError, ErrorCode, Parsed};

pub fn parse(s: &str) -> Result<Parsed, AddressError> {
    if s.len() > 12 {
        return Err(fail(
            ErrorCode::BadLength,
            format!("EOS account names are at most 12 characters, got {}", s.len()),
        ));
    }
    if let Some(i) = s.bytes().position(|b| !matches!(b, b'a'..=b'z' | b'1'..=b'5' | b'.')) {
        return Err(fail(
            ErrorCode::BadCharacter,
            format!("character '{}' at position {i} is not allowed (a-z, 1-5, '.')", s.as_bytes()[i] as char),
        ));
    }
    if s.ends_with('.') {
        return Err(fail(ErrorCode::BadCharacter, "EOS account names cannot end with '.'"));
    }
    Ok(Parsed::new(s.to_string(), "account"))
}
