use crate::common;

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use common::*;
use proptest::prelude::*;
use withdrawal_tracker::domain::address::{validate, ErrorCode::*};
use withdrawal_tracker::domain::network::Network::*;

fn friendly(tag: u8, wc: u8, hash: &[u8; 32], url: bool) -> String {
    let mut v = vec![tag, wc];
    v.extend_from_slice(hash);
    let crc = crc16_xmodem(&v).to_be_bytes();
    v.extend_from_slice(&crc);
    if url {
        URL_SAFE.encode(v)
    } else {
        STANDARD.encode(v)
    }
}

const URL_ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#[test]
fn known_and_raw() {
    ok_kind(Ton, "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N", "bounceable");
    let raw = format!("0:{}", "AB".repeat(32));
    let r = ok_kind(Ton, &raw, "raw");
    assert_eq!(r.normalized.unwrap(), format!("0:{}", "ab".repeat(32)));
    ok_kind(Ton, &format!("-1:{}", "00".repeat(32)), "raw");
    err(Ton, &format!("2:{}", "00".repeat(32)), UnsupportedKind);
    err(Ton, &format!("x:{}", "00".repeat(32)), BadPrefix);
    err(Ton, &format!("0:{}", "00".repeat(31)), BadLength);
    err(Ton, &format!("0:{}zz", "00".repeat(31)), BadCharacter);
    err(Ton, "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2", BadLength);
    err(Ton, &friendly(0x11 | 0x80, 0, &[1; 32], true), WrongNetwork);
    err(Ton, &friendly(0x22, 0, &[1; 32], true), BadPrefix);
    err(Ton, &friendly(0x11, 7, &[1; 32], true), UnsupportedKind);
    let a = "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N";
    assert!(validate(Ton, a, Some(&"x".repeat(120))).valid);
    memo_err(Ton, a, &"x".repeat(121), BadMemo);
}

proptest! {
    #![proptest_config(cfg(256))]

    #[test]
    fn friendly_roundtrip_and_substitution(h in bytes32(), bounce in any::<bool>(), master in any::<bool>(), idx in any::<usize>(), pick in any::<usize>()) {
        let tag = if bounce { 0x11 } else { 0x51 };
        let wc = if master { 0xff } else { 0 };
        let url = friendly(tag, wc, &h, true);
        let std = friendly(tag, wc, &h, false);
        for form in [&url, &std] {
            let r = validate(Ton, form, None);
            prop_assert!(r.valid, "{:?}", r.error);
            prop_assert_eq!(r.normalized.as_deref(), Some(url.as_str()));
            prop_assert_eq!(r.kind, Some(if bounce { "bounceable" } else { "non_bounceable" }));
        }
        prop_assert!(invalid(Ton, &substitute(&url, 0, idx, URL_ALPHABET, pick)));
        let raw = format!("{}:{}", if master { "-1" } else { "0" }, hex::encode(h));
        prop_assert!(validate(Ton, &raw, None).valid);
    }
}
