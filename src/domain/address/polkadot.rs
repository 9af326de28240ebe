//! Polkadot: SS58 with network prefix 0 and a 32-byte account id.

use super::codec;
use super::{fail, AddressError, ErrorCode, Parsed};
use blake2::{Blake2b512, Digest};

pub fn checksum(prefix_and_key: &[u8]) -> [u8; 2] {
    let mut h = Blake2b512::new();
    h.update(b"SS58PRE");
    h.update(prefix_and_key);
    let d = h.finalize();
    [d[0], d[1]]
}

pub fn parse(s: &str) -> Result<Parsed, AddressError> {
    let mut buf = [0u8; 40];
    let bytes = codec::base58_decode(s, bs58::Alphabet::BITCOIN, &mut buf)?;
    let (prefix, prefix_len) = match bytes.len() {
        35 if bytes[0] < 64 => (bytes[0] as u16, 1),
        36 if bytes[0] & 0xc0 == 0x40 => {
            let p = (((bytes[0] & 0x3f) as u16) << 2) | (bytes[1] >> 6) as u16 | (((bytes[1] & 0x3f) as u16) << 8);
            (p, 2)
        }
        35 | 36 => return Err(fail(ErrorCode::BadPrefix, "SS58 prefix byte is malformed")),
        n => {
            return Err(fail(
                ErrorCode::BadLength,
                format!("decodes to {n} bytes; an SS58 account address has 35 (one-byte prefix)"),
            ))
        }
    };
    let (body, sum) = bytes.split_at(prefix_len + 32);
    if checksum(body) != sum {
        return Err(fail(ErrorCode::BadChecksum, "SS58 checksum does not match"));
    }
    if prefix != 0 {
        let name = match prefix {
            2 => "Kusama",
            42 => "generic Substrate",
            _ => "another Substrate network",
        };
        return Err(fail(
            ErrorCode::WrongNetwork,
            format!("SS58 prefix {prefix} is {name}; Polkadot addresses use prefix 0"),
        ));
    }
    Ok(Parsed::new(s.to_string(), "account"))
}
