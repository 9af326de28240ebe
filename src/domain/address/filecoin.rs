//! Filecoin: f0 (id), f1 (secp256k1), f2 (actor), f3 (BLS) and f410 (delegated / EVM)
//! addresses. f1-f4 end with a 4-byte blake2b checksum over protocol || payload.
//! Normalized form is the input (the format is lower-case only).

use super::codec;
use super::{fail, AddressError, ErrorCode, Parsed};
use blake2::digest::{Update, VariableOutput};
use blake2::Blake2bVar;

pub fn checksum(data: &[u8]) -> [u8; 4] {
    let mut h = Blake2bVar::new(4).expect("4 is a valid blake2b output size");
    h.update(data);
    let mut out = [0u8; 4];
    h.finalize_variable(&mut out).expect("buffer has the requested size");
    out
}

fn decimal_u64(s: &str, what: &str) -> Result<u64, AddressError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(fail(ErrorCode::BadCharacter, format!("{what} must be decimal digits")));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(fail(ErrorCode::BadCharacter, format!("{what} cannot have leading zeros")));
    }
    s.parse().map_err(|_| fail(ErrorCode::BadLength, format!("{what} does not fit 64 bits")))
}

fn base32_lower(s: &str) -> Result<Vec<u8>, AddressError> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(fail(ErrorCode::BadCharacter, "Filecoin addresses are lower-case"));
    }
    codec::base32_decode(&s.to_ascii_uppercase())
}

pub fn parse(s: &str) -> Result<Parsed, AddressError> {
    let b = s.as_bytes();
    if b.len() < 3 {
        return Err(fail(ErrorCode::BadLength, "Filecoin address is too short"));
    }
    let testnet = match b[0] {
        b'f' => false,
        b't' => true,
        _ => return Err(fail(ErrorCode::BadPrefix, "Filecoin mainnet addresses start with 'f'")),
    };
    let rest = &s[2..];
    let kind = match b[1] {
        b'0' => {
            decimal_u64(rest, "actor id")?;
            "id"
        }
        b'1' => hashed(1, rest, 20, "secp256k1")?,
        b'2' => hashed(2, rest, 20, "actor")?,
        b'3' => hashed(3, rest, 48, "bls")?,
        b'4' => delegated(rest)?,
        c => return Err(fail(ErrorCode::BadPrefix, format!("unknown Filecoin protocol '{}'", c as char))),
    };
    if testnet {
        return Err(fail(ErrorCode::WrongNetwork, "'t' addresses are Filecoin testnet, mainnet uses 'f'"));
    }
    Ok(Parsed::new(s.to_string(), kind))
}

fn hashed(protocol: u8, rest: &str, len: usize, kind: &'static str) -> Result<&'static str, AddressError> {
    let bytes = base32_lower(rest)?;
    if bytes.len() != len + 4 {
        return Err(fail(
            ErrorCode::BadLength,
            format!("{kind} address payload is {} bytes; it must be {len}", bytes.len().saturating_sub(4)),
        ));
    }
    let (payload, sum) = bytes.split_at(len);
    let mut data = Vec::with_capacity(len + 1);
    data.push(protocol);
    data.extend_from_slice(payload);
    if checksum(&data) != sum {
        return Err(fail(ErrorCode::BadChecksum, "Filecoin address checksum does not match"));
    }
    Ok(kind)
}

/// f4<namespace>f<base32(payload || checksum)>; only namespace 10 (EVM, 20 bytes) is
/// accepted for withdrawals.
fn delegated(rest: &str) -> Result<&'static str, AddressError> {
    let Some((ns, enc)) = rest.split_once('f') else {
        return Err(fail(ErrorCode::BadPrefix, "delegated address must look like f4<namespace>f<payload>"));
    };
    let namespace = decimal_u64(ns, "namespace")?;
    let bytes = base32_lower(enc)?;
    if bytes.len() < 5 || bytes.len() > 54 + 4 {
        return Err(fail(ErrorCode::BadLength, "delegated address payload has an invalid length"));
    }
    let (payload, sum) = bytes.split_at(bytes.len() - 4);
    let mut data = vec![4u8];
    let mut n = namespace;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            data.push(byte);
            break;
        }
        data.push(byte | 0x80);
    }
    data.extend_from_slice(payload);
    if checksum(&data) != sum {
        return Err(fail(ErrorCode::BadChecksum, "Filecoin address checksum does not match"));
    }
    if namespace != 10 {
        return Err(fail(
            ErrorCode::UnsupportedKind,
            format!("delegated namespace {namespace} is not supported (only f410)"),
        ));
    }
    if payload.len() != 20 {
        return Err(fail(ErrorCode::BadLength, "f410 payload must be 20 bytes"));
    }
    Ok("delegated")
}
