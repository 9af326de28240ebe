use crate::common;

use common::*;
use proptest::prelude::*;
use withdrawal_tracker::domain::address::{validate, ErrorCode::*};
use withdrawal_tracker::domain::network::Network::*;

fn strkey(version: u8, body: &[u8]) -> String {
    let mut v = vec![version];
    v.extend_from_slice(body);
    let crc = crc16_xmodem(&v).to_le_bytes();
    v.extend_from_slice(&crc);
    base32(&v)
}

#[test]
fn sep23_vectors() {
    let v = vectors("sep0023_strkey.json");
    for e in v["valid"].as_array().unwrap() {
        let s = e["strkey"].as_str().unwrap();
        match e["type"].as_str().unwrap() {
            "KEY_TYPE_ED25519" => {
                ok_kind(Xlm, s, "account");
            }
            "KEY_TYPE_MUXED_ED25519" => {
                ok_kind(Xlm, s, "muxed");
            }
            // Valid strkeys, but not something a withdrawal can be sent to.
            _ => err(Xlm, s, UnsupportedKind),
        }
    }
    for s in v["invalid"].as_array().unwrap() {
        assert!(invalid(Xlm, s.as_str().unwrap()), "{s}");
    }
    err(Xlm, "GAAAAAAAACGC6", BadLength);
    err(Xlm, "MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJUAAAAAAAAAAAACJUO", BadChecksum);
    err(Xlm, "G47QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVP2I", BadPrefix);
}

#[test]
fn known_address_memos_and_errors() {
    let g = "GBH4TZYZ4IRCPO44CBOLFUHULU2WGALXTAVESQA6432MBJMABBB4GIYI";
    ok_kind(Xlm, g, "account");
    err(Xlm, &g.to_ascii_lowercase(), BadCharacter);
    assert!(validate(Xlm, g, Some("exactly twenty-eight bytes!!")).valid);
    memo_err(Xlm, g, "twenty-nine bytes of text!!!!", BadMemo);
    assert!(validate(Xlm, g, Some("18446744073709551615")).valid);
    memo_err(Xlm, g, "18446744073709551616", BadMemo);
    assert!(validate(Xlm, g, Some("123 main st")).valid);
    err(Xlm, &strkey(18 << 3, &[1; 32]), UnsupportedKind); // secret seed
}

proptest! {
    #![proptest_config(cfg(256))]

    #[test]
    fn account_roundtrip_and_substitution(k in bytes32(), idx in any::<usize>(), pick in any::<usize>()) {
        let g = strkey(6 << 3, &k);
        prop_assert!(g.starts_with('G'));
        prop_assert!(validate(Xlm, &g, None).valid);
        // CRC16 catches every burst of <= 16 bits; one base32 symbol is 5.
        prop_assert!(invalid(Xlm, &substitute(&g, 0, idx, B32_RFC, pick)));
    }

    #[test]
    fn muxed_roundtrip(k in bytes32(), id in any::<u64>(), idx in any::<usize>(), pick in any::<usize>()) {
        let mut body = k.to_vec();
        body.extend_from_slice(&id.to_be_bytes());
        let m = strkey(12 << 3, &body);
        prop_assert_eq!(validate(Xlm, &m, None).kind, Some("muxed"));
        prop_assert!(invalid(Xlm, &substitute(&m, 0, idx, B32_RFC, pick)));
    }
}
