//! Hedera account ids `shard.realm.num` with an optional HIP-15 checksum suffix.
//!
//! Only shard 0 / realm 0 is accepted (the only ones in use on mainnet). The checksum is
//! verified against the mainnet ledger id 0x00; a suffix that matches testnet (0x01) or
//! previewnet (0x02) is reported as `wrong_network`. Normalized form: `0.0.N`, no suffix.
//! EVM-address aliases (`0x...`) and key aliases are not supported.

use super::{fail, AddressError, ErrorCode, Parsed};

pub fn checksum(id: &str, ledger: u8) -> String {
    const P3: u64 = 26 * 26 * 26;
    const P5: u64 = 26 * 26 * 26 * 26 * 26;
    const M: u64 = 1_000_003;
    const W: u64 = 31;
    let (mut sd0, mut sd1, mut sd) = (0u64, 0u64, 0u64);
    for (i, b) in id.bytes().enumerate() {
        let d = if b == b'.' { 10 } else { (b - b'0') as u64 };
        sd = (W * sd + d) % P3;
        if i % 2 == 0 {
            sd0 = (sd0 + d) % 11;
        } else {
            sd1 = (sd1 + d) % 11;
        }
    }
    let mut sh = 0u64;
    for b in [ledger, 0, 0, 0, 0, 0, 0] {
        sh = (W * sh + b as u64) % P5;
    }
    let mut c = (((((id.len() as u64 % 5) * 11 + sd0) * 11 + sd1) * P3 + sd + sh) % P5) * M % P5;
    let mut out = [0u8; 5];
    for slot in out.iter_mut().rev() {
        *slot = b'a' + (c % 26) as u8;
        c /= 26;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse(s: &str) -> Result<Parsed, AddressError> {
    if s.starts_with("0x") {
        return Err(fail(
            ErrorCode::UnsupportedKind,
            "Hedera EVM-address aliases are not supported; use the 0.0.N account id",
        ));
    }
    let (id, sum) = match s.split_once('-') {
        Some((id, sum)) => (id, Some(sum)),
        None => (s, None),
    };
    let parts: Vec<&str> = id.split('.').collect();
    if parts.len() != 3 {
        return Err(fail(ErrorCode::BadPrefix, "Hedera account ids look like 0.0.12345"));
    }
    let mut nums = [0u64; 3];
    for (n, p) in nums.iter_mut().zip(&parts) {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(fail(ErrorCode::BadCharacter, "account id components must be decimal digits"));
        }
        if p.len() > 1 && p.starts_with('0') {
            return Err(fail(ErrorCode::BadCharacter, "account id components cannot have leading zeros"));
        }
        *n = p.parse().map_err(|_| fail(ErrorCode::BadLength, "account id component does not fit 64 bits"))?;
    }
    if nums[0] != 0 || nums[1] != 0 {
        return Err(fail(ErrorCode::UnsupportedKind, "only shard 0, realm 0 accounts are supported"));
    }
    if let Some(sum) = sum {
        if sum.len() != 5 || !sum.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(fail(ErrorCode::BadCharacter, "HIP-15 checksum must be 5 lower-case letters"));
        }
        if sum != checksum(id, 0) {
            if sum == checksum(id, 1) || sum == checksum(id, 2) {
                return Err(fail(ErrorCode::WrongNetwork, "checksum is for Hedera testnet/previewnet, not mainnet"));
            }
            return Err(fail(ErrorCode::BadChecksum, "HIP-15 checksum does not match for mainnet"));
        }
    }
    Ok(Parsed::new(id.to_string(), "account"))
}
