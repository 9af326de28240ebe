use crate::common;

use common::*;
use proptest::prelude::*;
use withdrawal_tracker::domain::address::{validate, ErrorCode::*};
use withdrawal_tracker::domain::network::Network::*;

const CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// Independent CashAddr encoder (spec pseudo-code).
fn cashaddr(prefix: &str, version: u8, hash: &[u8]) -> String {
    fn polymod(v: &[u8]) -> u64 {
        let mut c: u64 = 1;
        for &d in v {
            let c0 = c >> 35;
            c = ((c & 0x07ffffffff) << 5) ^ d as u64;
            for (bit, g) in [0x98f2bc8e61u64, 0x79b76d99e2, 0xf33e5fb3c4, 0xae2eabe2a8, 0x1e4f43e470].iter().enumerate()
            {
                if c0 & (1 << bit) != 0 {
                    c ^= g;
                }
            }
        }
        c ^ 1
    }
    let mut bytes = vec![version];
    bytes.extend_from_slice(hash);
    let mut data = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for b in bytes {
        acc = (acc << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            data.push(((acc >> bits) & 31) as u8);
        }
    }
    if bits > 0 {
        data.push(((acc << (5 - bits)) & 31) as u8);
    }
    let mut input: Vec<u8> = prefix.bytes().map(|b| b & 31).collect();
    input.push(0);
    input.extend_from_slice(&data);
    input.extend_from_slice(&[0; 8]);
    let chk = polymod(&input);
    let mut out = format!("{prefix}:");
    for d in data {
        out.push(CHARSET[d as usize] as char);
    }
    for i in 0..8 {
        out.push(CHARSET[((chk >> (5 * (7 - i))) & 31) as usize] as char);
    }
    out
}

#[test]
fn spec_translation_vectors() {
    let v = vectors("cashaddr.json");
    for e in v["translation"].as_array().unwrap() {
        let legacy = e[0].as_str().unwrap();
        let cash = e[1].as_str().unwrap();
        let kind = if legacy.starts_with('1') { "p2pkh" } else { "p2sh" };
        assert_eq!(ok_kind(Bch, legacy, kind).normalized.as_deref(), Some(cash));
        assert_eq!(ok_kind(Bch, cash, kind).normalized.as_deref(), Some(cash));
        let bare = cash.strip_prefix("bitcoincash:").unwrap();
        assert_eq!(ok(Bch, bare).normalized.as_deref(), Some(cash));
        assert_eq!(ok(Bch, &cash.to_ascii_uppercase()).normalized.as_deref(), Some(cash));
        assert_eq!(ok(Bch, &bare.to_ascii_uppercase()).normalized.as_deref(), Some(cash));
        // Legacy addresses are also plain Bitcoin addresses; CashAddr is not.
        ok(Btc, legacy);
        assert!(invalid(Btc, cash));
    }
}

#[test]
fn spec_larger_vectors() {
    let v = vectors("cashaddr.json");
    for e in v["larger"].as_array().unwrap() {
        let size = e[0].as_u64().unwrap();
        let ty = e[1].as_u64().unwrap();
        let addr = e[2].as_str().unwrap();
        let hash = hex::decode(e[3].as_str().unwrap()).unwrap();
        let prefix = addr.split(':').next().unwrap();
        // The vectors also pin our independent encoder.
        let version =
            ((ty as u8) << 3) | [20, 24, 28, 32, 40, 48, 56, 64].iter().position(|&s| s == size).unwrap() as u8;
        assert_eq!(cashaddr(prefix, version, &hash), addr);
        match (prefix, size) {
            ("bitcoincash", 20) => {
                ok_kind(Bch, addr, if ty == 0 { "p2pkh" } else { "p2sh" });
            }
            ("bitcoincash", _) => err(Bch, addr, UnsupportedKind),
            ("bchtest", _) => err(Bch, addr, WrongNetwork),
            _ => err(Bch, addr, BadPrefix),
        }
    }
}

#[test]
fn errors_and_real_address() {
    ok_kind(Bch, "qrvax3jgtwqssnkpctlqdl0rq7rjn0l0hgny8pt0hp", "p2pkh");
    err(Bch, "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6c", BadChecksum);
    err(Bch, "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvY22gdx6a", BadCharacter);
    err(Bch, "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6o", BadCharacter);
    err(Bch, "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vc", BadLength);
    err(Bch, "LMHEFMwRsQ3nHDfb9zZqynLHxjuJ2hgyyW", WrongNetwork);
    err(Bch, "mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ", WrongNetwork);
    err(Bch, &cashaddr("bitcoincash", 0x10, &[1; 20]), UnsupportedKind); // token-aware
    let memo = validate(Bch, "qrvax3jgtwqssnkpctlqdl0rq7rjn0l0hgny8pt0hp", Some("1"));
    assert_eq!(memo.error.unwrap().code, MemoNotSupported);
}

proptest! {
    #![proptest_config(cfg(256))]

    #[test]
    fn roundtrip_and_substitution(h in bytes20(), p2sh in any::<bool>(), idx in any::<usize>(), pick in any::<usize>()) {
        let addr = cashaddr("bitcoincash", if p2sh { 8 } else { 0 }, &h);
        let r = validate(Bch, &addr, None);
        prop_assert!(r.valid, "{:?}", r.error);
        prop_assert_eq!(r.normalized.as_deref(), Some(addr.as_str()));
        prop_assert_eq!(r.kind, Some(if p2sh { "p2sh" } else { "p2pkh" }));
        // Legacy form of the same hash normalizes to the same CashAddr.
        let legacy = b58check(&with_version(&[if p2sh { 5 } else { 0 }], &h));
        prop_assert_eq!(validate(Bch, &legacy, None).normalized, Some(addr.clone()));
        let bad = substitute(&addr, "bitcoincash:".len(), idx, B32_LOWER_BECH, pick);
        prop_assert!(invalid(Bch, &bad), "accepted {}", bad);
        let test = cashaddr("bchtest", 0, &h);
        prop_assert_eq!(validate(Bch, &test, None).error.map(|e| e.code), Some(WrongNetwork));
    }
}
