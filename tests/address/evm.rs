use crate::common;

use common::*;
use proptest::prelude::*;
use withdrawal_tracker::domain::address::{validate, ErrorCode::*};
use withdrawal_tracker::domain::network::Network::{self, *};

const EVM: [Network; 8] = [Eth, Bsc, Polygon, Arbitrum, Optimism, Base, Avaxc, Etc];

fn flip_case(s: &str, i: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    b[i] = if b[i].is_ascii_lowercase() { b[i].to_ascii_uppercase() } else { b[i].to_ascii_lowercase() };
    String::from_utf8(b).unwrap()
}

#[test]
fn eip55_examples() {
    let v = vectors("eip55.json");
    for group in ["all_caps", "all_lower", "normal"] {
        for a in v[group].as_array().unwrap() {
            let a = a.as_str().unwrap();
            let bytes: [u8; 20] = hex::decode(&a[2..]).unwrap().try_into().unwrap();
            for n in EVM {
                let r = ok_kind(n, a, "eoa_or_contract");
                assert_eq!(r.normalized.unwrap(), eip55(&bytes));
            }
            if group == "normal" {
                assert_eq!(eip55(&bytes), a, "spec example must be its own checksum");
                // Every single case flip of a letter breaks the checksum.
                for i in 2..a.len() {
                    if a.as_bytes()[i].is_ascii_alphabetic() {
                        err(Eth, &flip_case(a, i), BadChecksum);
                    }
                }
            }
        }
    }
}

#[test]
fn known_and_malformed() {
    let usdt = "0xdAC17F958D2ee523a2206206994597C13D831ec7";
    ok(Eth, usdt);
    assert_eq!(ok(Bsc, &usdt.to_ascii_lowercase()).normalized.as_deref(), Some(usdt));
    let r = validate(Eth, &flip_case(usdt, 3), None).error.unwrap();
    assert_eq!(r.reason, "mixed-case address does not match its EIP-55 checksum");
    err(Eth, "dAC17F958D2ee523a2206206994597C13D831ec7", BadPrefix);
    err(Eth, "0XdAC17F958D2ee523a2206206994597C13D831ec7", BadPrefix);
    err(Eth, "0xdAC17F958D2ee523a2206206994597C13D831ec", BadLength);
    err(Eth, "0xdAC17F958D2ee523a2206206994597C13D831ecg", BadCharacter);
    err(Eth, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", BadPrefix);
    memo_err(Eth, usdt, "1", MemoNotSupported);
}

proptest! {
    #![proptest_config(cfg(256))]

    #[test]
    fn roundtrip_case_forms_and_flips(b in bytes20(), which in 0..8usize, idx in any::<usize>()) {
        let n = EVM[which];
        let sum = eip55(&b);
        let lower = format!("0x{}", hex::encode(b));
        let upper = format!("0x{}", hex::encode_upper(b));
        for form in [&sum, &lower, &upper] {
            let r = validate(n, form, None);
            prop_assert!(r.valid);
            prop_assert_eq!(r.normalized.as_deref(), Some(sum.as_str()));
        }
        let letters: Vec<usize> = (2..42).filter(|&i| sum.as_bytes()[i].is_ascii_alphabetic()).collect();
        if !letters.is_empty() {
            let flipped = flip_case(&sum, letters[idx % letters.len()]);
            let has_lower = flipped[2..].bytes().any(|c| c.is_ascii_lowercase());
            let has_upper = flipped[2..].bytes().any(|c| c.is_ascii_uppercase());
            // Still mixed case => must be caught; uniform case carries no checksum.
            prop_assert_eq!(validate(n, &flipped, None).valid, !(has_lower && has_upper));
        }
    }
}
