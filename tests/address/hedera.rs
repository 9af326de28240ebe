use crate::common;

use common::*;
use proptest::prelude::*;
use withdrawal_tracker::domain::address::{validate, ErrorCode::*};
use withdrawal_tracker::domain::network::Network::*;

/// HIP-15 reference algorithm, transcribed independently for the tests.
fn hip15(addr: &str, ledger: u8) -> String {
    let d: Vec<u64> = addr.chars().map(|c| if c == '.' { 10 } else { c.to_digit(10).unwrap() as u64 }).collect();
    let (p3, p5, m, w) = (26u64.pow(3), 26u64.pow(5), 1_000_003u64, 31u64);
    let (mut s0, mut s1, mut s) = (0, 0, 0);
    for (i, &x) in d.iter().enumerate() {
        s = (w * s + x) % p3;
        if i % 2 == 0 {
            s0 = (s0 + x) % 11
        } else {
            s1 = (s1 + x) % 11
        }
    }
    let mut sh = 0;
    for b in [ledger, 0, 0, 0, 0, 0, 0] {
        sh = (w * sh + b as u64) % p5;
    }
    let mut c = ((((addr.len() as u64 % 5) * 11 + s0) * 11 + s1) * p3 + s + sh) % p5;
    c = (c * m) % p5;
    let mut out = vec![0u8; 5];
    for i in (0..5).rev() {
        out[i] = b'a' + (c % 26) as u8;
        c /= 26;
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn hip15_vectors_and_errors() {
    assert_eq!(hip15("0.0.123", 0), "vfmkw");
    assert_eq!(hip15("0.0.123", 1), "esxsf");
    let r = ok_kind(Hbar, "0.0.123-vfmkw", "account");
    assert_eq!(r.normalized.as_deref(), Some("0.0.123"));
    ok(Hbar, "0.0.98");
    err(Hbar, "0.0.123-esxsf", WrongNetwork);
    err(Hbar, "0.0.123-vfmkx", BadChecksum);
    err(Hbar, "0.0.123-VFMKW", BadCharacter);
    err(Hbar, "1.0.5", UnsupportedKind);
    err(Hbar, "0.0.0123", BadCharacter);
    err(Hbar, "0.0", BadPrefix);
    err(Hbar, "0.0.99999999999999999999", BadLength);
    err(Hbar, "0x00000000000000000000000000000000000004d2", UnsupportedKind);
    assert!(validate(Hbar, "0.0.98", Some(&"m".repeat(100))).valid);
    memo_err(Hbar, "0.0.98", &"m".repeat(101), BadMemo);
}

proptest! {
    #![proptest_config(cfg(256))]

    #[test]
    fn roundtrip_with_checksum(num in any::<u64>(), wrong in 1u64..26u64.pow(5)) {
        let id = format!("0.0.{num}");
        let sum = hip15(&id, 0);
        let with_sum = format!("{id}-{sum}");
        let r = validate(Hbar, &with_sum, None);
        prop_assert!(r.valid, "{:?}", r.error);
        prop_assert_eq!(r.normalized, Some(id.clone()));
        // Any other 5-letter suffix is rejected.
        let v: u64 = sum.bytes().fold(0, |a, b| a * 26 + (b - b'a') as u64);
        let mut c = (v + wrong) % 26u64.pow(5);
        let mut other = vec![0u8; 5];
        for i in (0..5).rev() { other[i] = b'a' + (c % 26) as u8; c /= 26; }
        let other = String::from_utf8(other).unwrap();
        let bad = format!("{id}-{other}");
        prop_assert!(invalid(Hbar, &bad));
    }
}
