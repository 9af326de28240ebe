//! Shared helpers for the integration tests: independent encoders (so generated
//! addresses do not go through the code under test), vector loading and assertions.
#![allow(dead_code)]

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use sha2::{Digest, Sha256};
use withdrawal_tracker::domain::address::{validate, ErrorCode, Validation};
use withdrawal_tracker::domain::network::Network;

/// Deterministic seed: the checksums of some formats (SS58: 16 bits, HIP-15) admit a
/// rare collision, and a fixed seed keeps CI reproducible.
pub fn cfg(cases: u32) -> Config {
    Config { cases, rng_seed: RngSeed::Fixed(0x00AD_D2E5), failure_persistence: None, ..Config::default() }
}

pub fn vectors(name: &str) -> serde_json::Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[track_caller]
pub fn ok(n: Network, s: &str) -> Validation {
    let v = validate(n, s, None);
    assert!(v.valid, "{n} {s:?} should be valid: {:?}", v.error);
    v
}

#[track_caller]
pub fn ok_kind(n: Network, s: &str, kind: &str) -> Validation {
    let v = ok(n, s);
    assert_eq!(v.kind, Some(kind), "{n} {s:?}");
    v
}

#[track_caller]
pub fn code(n: Network, s: &str) -> ErrorCode {
    let v = validate(n, s, None);
    assert!(!v.valid, "{n} {s:?} should be invalid");
    let e = v.error.expect("invalid result carries an error");
    assert!(!e.reason.is_empty());
    e.code
}

#[track_caller]
pub fn err(n: Network, s: &str, expected: ErrorCode) {
    let got = validate(n, s, None);
    assert!(!got.valid, "{n} {s:?} should be invalid ({expected:?})");
    let e = got.error.unwrap();
    assert_eq!(e.code, expected, "{n} {s:?}: {}", e.reason);
}

#[track_caller]
pub fn memo_err(n: Network, s: &str, memo: &str, expected: ErrorCode) {
    let got = validate(n, s, Some(memo));
    assert!(!got.valid, "{n} {s:?} memo {memo:?} should be invalid");
    assert_eq!(got.error.unwrap().code, expected, "{n} {s:?} memo {memo:?}");
}

pub fn invalid(n: Network, s: &str) -> bool {
    !validate(n, s, None).valid
}

// ---------------------------------------------------------------- encoders

pub fn dsha(data: &[u8]) -> [u8; 4] {
    let h = Sha256::digest(Sha256::digest(data));
    [h[0], h[1], h[2], h[3]]
}

pub fn b58check(payload: &[u8]) -> String {
    b58check_with(payload, bs58::Alphabet::BITCOIN)
}

pub fn b58check_with(payload: &[u8], alphabet: &'static bs58::Alphabet) -> String {
    let mut v = payload.to_vec();
    v.extend_from_slice(&dsha(payload));
    bs58::encode(v).with_alphabet(alphabet).into_string()
}

pub fn with_version(version: &[u8], body: &[u8]) -> Vec<u8> {
    let mut v = version.to_vec();
    v.extend_from_slice(body);
    v
}

pub fn segwit(hrp: &str, version: u8, program: &[u8]) -> String {
    let hrp = bech32::Hrp::parse(hrp).unwrap();
    let v = bech32::Fe32::try_from(version).unwrap();
    bech32::segwit::encode(hrp, v, program).unwrap()
}

pub fn bech32(hrp: &str, data: &[u8]) -> String {
    bech32::encode::<bech32::Bech32>(bech32::Hrp::parse(hrp).unwrap(), data).unwrap()
}

pub fn bech32m(hrp: &str, data: &[u8]) -> String {
    bech32::encode::<bech32::Bech32m>(bech32::Hrp::parse(hrp).unwrap(), data).unwrap()
}

pub fn eip55(addr: &[u8; 20]) -> String {
    use sha3::{Digest as _, Keccak256};
    let lower = hex::encode(addr);
    let hash = Keccak256::digest(lower.as_bytes());
    let mut out = String::from("0x");
    for (i, c) in lower.chars().enumerate() {
        let nib = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0xf;
        out.push(if nib >= 8 { c.to_ascii_uppercase() } else { c });
    }
    out
}

pub fn crc16_xmodem(data: &[u8]) -> u16 {
    // Bitwise, independent of the `crc` crate used by the library.
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}

pub fn base32(data: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(data)
}

// ---------------------------------------------------------------- mutation helpers

/// Replaces the character at `idx` (taken modulo the eligible range `from..len`) with
/// the `pick`-th alphabet character that differs from it.
pub fn substitute(s: &str, from: usize, idx: usize, alphabet: &str, pick: usize) -> String {
    let bytes = s.as_bytes();
    let i = from + idx % (bytes.len() - from);
    let choices: Vec<u8> = alphabet.bytes().filter(|&c| c != bytes[i]).collect();
    let mut out = bytes.to_vec();
    out[i] = choices[pick % choices.len()];
    String::from_utf8(out).unwrap()
}

pub const B58: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
pub const B32_LOWER_BECH: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
pub const B32_RFC: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub fn bytes20() -> impl Strategy<Value = [u8; 20]> {
    any::<[u8; 20]>()
}
pub fn bytes32() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>()
}
