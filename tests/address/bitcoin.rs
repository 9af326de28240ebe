use crate::common;

use common::*;
use proptest::prelude::*;
use withdrawal_tracker::domain::address::{validate, ErrorCode::*};
use withdrawal_tracker::domain::network::Network::{self, *};

fn kind_of_script(script: &str) -> Option<&'static str> {
    match &script[..4] {
        "76a9" => Some("p2pkh"),
        "a914" => Some("p2sh"),
        "0014" => Some("p2wpkh"),
        "0020" => Some("p2wsh"),
        "5120" => Some("p2tr"),
        _ => None, // witness v1 non-32 or v2..16: refused as unsupported_kind
    }
}

#[test]
fn bitcoin_core_key_io_valid() {
    let v = vectors("key_io_valid.json");
    let mut checked = 0;
    for e in v.as_array().unwrap() {
        let addr = e[0].as_str().unwrap();
        let script = e[1].as_str().unwrap();
        let meta = &e[2];
        let main = meta["chain"] == "main";
        let privkey = meta["isPrivkey"].as_bool().unwrap();
        if !main || privkey {
            // Testnet / signet / regtest addresses and private keys must never pass as BTC.
            let c = code(Btc, addr);
            if privkey && main {
                assert_eq!(c, UnsupportedKind, "{addr}");
            } else if !privkey {
                assert_eq!(c, WrongNetwork, "{addr}");
            }
            continue;
        }
        checked += 1;
        match kind_of_script(script) {
            Some(kind) => {
                let r = ok_kind(Btc, addr, kind);
                let norm = r.normalized.unwrap();
                if kind.starts_with("p2w") || kind == "p2tr" {
                    assert_eq!(norm, addr.to_ascii_lowercase());
                } else {
                    assert_eq!(norm, addr);
                }
                if meta["tryCaseFlip"].as_bool() == Some(true) {
                    let flipped = ok(Btc, &addr.to_ascii_uppercase());
                    assert_eq!(flipped.normalized.unwrap(), norm);
                }
            }
            None => err(Btc, addr, UnsupportedKind),
        }
    }
    assert!(checked >= 10);
}

#[test]
fn bitcoin_core_key_io_invalid() {
    let v = vectors("key_io_invalid.json");
    for e in v.as_array().unwrap() {
        let addr = e[0].as_str().unwrap();
        assert!(invalid(Btc, addr), "{addr} must not validate as BTC");
    }
}

fn segwit_vectors(file: &str, bip350: bool) {
    let v = vectors(file);
    for e in v["valid"].as_array().unwrap() {
        let addr = e[0].as_str().unwrap();
        let script = e[1].as_str().unwrap();
        if addr.to_ascii_lowercase().starts_with("tb1") {
            err(Btc, addr, WrongNetwork);
            continue;
        }
        let witness_v0 = script.starts_with("00");
        match kind_of_script(script) {
            Some(kind) if witness_v0 || bip350 => {
                let r = ok_kind(Btc, addr, kind);
                assert_eq!(r.normalized.unwrap(), addr.to_ascii_lowercase());
            }
            // BIP-173 encoded v1+ with bech32; BIP-350 made those invalid.
            _ if !bip350 && !witness_v0 => err(Btc, addr, BadChecksum),
            _ => err(Btc, addr, UnsupportedKind),
        }
    }
    for e in v["invalid"].as_array().unwrap() {
        let addr = e[0].as_str().unwrap();
        assert!(invalid(Btc, addr), "{addr} ({}) must be invalid", e[1]);
        assert!(invalid(Ltc, addr), "{addr} must be invalid on LTC");
    }
}

#[test]
fn bip173_segwit_vectors() {
    segwit_vectors("bip173_segwit.json", false);
}

#[test]
fn bip350_segwit_vectors() {
    segwit_vectors("bip350_segwit.json", true);
}

#[test]
fn bip_invalid_reasons_map_to_codes() {
    err(Btc, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", BadChecksum);
    err(Btc, "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", BadChecksum);
    err(Btc, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", BadChecksum);
    err(Btc, "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", BadLength);
    err(Btc, "bc1pw5dgrnzv", BadLength);
    err(Btc, "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", WrongNetwork);
    err(Btc, "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq", BadCharacter);
    err(Btc, "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", BadCharacter);
    let r = validate(Btc, "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", None);
    assert_eq!(r.error.unwrap().reason, "bech32 HRP 'tb' is Bitcoin testnet, not BTC mainnet");
}

#[test]
fn known_mainnet_addresses() {
    ok_kind(Btc, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "p2pkh"); // genesis coinbase
    ok_kind(Btc, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "p2sh");
    ok_kind(Btc, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "p2wpkh");
    ok_kind(Btc, "bc1qeklep85ntjz4605drds6aww9u0qr46qzrv5xswd35uhjuj8ahfcqgf6hak", "p2wsh");
    ok_kind(Btc, "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "p2tr");
    ok_kind(Ltc, "LMHEFMwRsQ3nHDfb9zZqynLHxjuJ2hgyyW", "p2pkh");
    ok_kind(Ltc, "MC2JYMPVWaxqUb9qUkUbjtUwoNMo1tPaLF", "p2sh");
    ok_kind(Ltc, "ltc1qhzjptwpym9afcdjhs7jcz6fd0jma0l0rc0e5yr", "p2wpkh");
    ok_kind(Ltc, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "p2sh"); // legacy Litecoin P2SH version
    ok_kind(Doge, "D7wbmbjBWG5HPkT6d4gh6SdQPp6z25vcF2", "p2pkh");
    ok_kind(Dash, "XbtvGzi2JgjYTbTqabUjSREWeovDxznoyh", "p2pkh");
    ok_kind(Zec, "t1KzZ5n2TPEGYXTZ3WYGL1AYEumEQaRoHaL", "p2pkh");
    ok_kind(Zec, "t3Vz22vK5z2LcKEdg16Yv4FFneEL1zg9ojd", "p2sh");
    ok_kind(Zec, "zs1z7rejlpsa98s2rrrfkwmaxu53e4ue0ulcrw0h4x5g8jl04tak0d3mm47vdtahatqrlkngh9slya", "sapling");
}

#[test]
fn wrong_network_and_prefix_cases() {
    err(Ltc, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", WrongNetwork);
    err(Btc, "LMHEFMwRsQ3nHDfb9zZqynLHxjuJ2hgyyW", WrongNetwork);
    err(Btc, "ltc1qhzjptwpym9afcdjhs7jcz6fd0jma0l0rc0e5yr", WrongNetwork);
    err(Ltc, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", WrongNetwork);
    err(Btc, "D7wbmbjBWG5HPkT6d4gh6SdQPp6z25vcF2", WrongNetwork);
    err(Doge, "XbtvGzi2JgjYTbTqabUjSREWeovDxznoyh", WrongNetwork);
    err(Btc, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", WrongNetwork);
    err(Btc, "t1KzZ5n2TPEGYXTZ3WYGL1AYEumEQaRoHaL", WrongNetwork);
    err(Zec, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", WrongNetwork);
    err(Btc, "mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ", WrongNetwork);
    err(Btc, "2NC2hEhe28ULKAJkW5MjZ3jtTMJdvXmByvK", WrongNetwork);
    err(Btc, "cosmos1fl48vsnmsdzcv85q5d2q4z5ajdha8yu34mf0eh", WrongNetwork);
    err(Zec, &b58check(&with_version(&[0x1d, 0x25], &[7; 20])), WrongNetwork); // tm...
    err(Zec, "u1qqqqqqqqqqqqqqqqqqqq", UnsupportedKind);
    err(Btc, &b58check(&with_version(&[0x99], &[7; 20])), BadPrefix);
    err(Btc, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", BadChecksum);
    err(Btc, "1A1zP1eP5QGefi2DMPTfTL5SLmv7Div", BadLength);
    err(Btc, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN0", BadCharacter);
    err(Btc, " 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", BadCharacter);
    err(Btc, "", BadLength);
    err(Btc, &"1".repeat(10_000), BadLength);
    err(Btc, "5HsL2nZuEebU5nM3RxNVQD9GcAnvNMahqQskf4fkqHe54zwd14e", UnsupportedKind);
    // WIF
}

#[test]
fn segwit_special_versions() {
    for v in 2..=16u8 {
        err(Btc, &segwit("bc", v, &[1; 32]), UnsupportedKind);
    }
    err(Btc, &segwit("bc", 1, &[1; 20]), UnsupportedKind);
    // zs1 is bech32 but longer than segwit's 90 limit would allow for bigger payloads.
    let long = bech32("zs", &[9u8; 43]);
    ok_kind(Zec, &long, "sapling");
    err(Zec, &bech32m("zs", &[9u8; 43]), BadChecksum);
    err(Zec, &bech32("ztestsapling", &[9u8; 43]), WrongNetwork);
    err(Zec, &bech32("zs", &[9u8; 42]), BadLength);
}

#[test]
fn memos_are_not_supported() {
    let a = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa";
    memo_err(Btc, a, "123", MemoNotSupported);
    assert!(validate(Btc, a, Some("")).valid, "empty memo counts as none");
    memo_err(Zec, "t1KzZ5n2TPEGYXTZ3WYGL1AYEumEQaRoHaL", "x", MemoNotSupported);
}

const LEGACY: &[(Network, &[u8], &str)] = &[
    (Btc, &[0x00], "p2pkh"),
    (Btc, &[0x05], "p2sh"),
    (Ltc, &[0x30], "p2pkh"),
    (Ltc, &[0x32], "p2sh"),
    (Doge, &[0x1e], "p2pkh"),
    (Doge, &[0x16], "p2sh"),
    (Dash, &[0x4c], "p2pkh"),
    (Dash, &[0x10], "p2sh"),
    (Zec, &[0x1c, 0xb8], "p2pkh"),
    (Zec, &[0x1c, 0xbd], "p2sh"),
];

proptest! {
    #![proptest_config(cfg(256))]

    #[test]
    fn legacy_roundtrip_and_substitution(which in 0..LEGACY.len(), h in bytes20(), idx in any::<usize>(), pick in any::<usize>()) {
        let (net, ver, kind) = LEGACY[which];
        let addr = b58check(&with_version(ver, &h));
        let r = validate(net, &addr, None);
        prop_assert!(r.valid, "{} {}: {:?}", net, addr, r.error);
        prop_assert_eq!(r.kind, Some(kind));
        prop_assert_eq!(r.normalized.as_deref(), Some(addr.as_str()));
        let bad = substitute(&addr, 0, idx, B58, pick);
        prop_assert!(invalid(net, &bad), "{} accepted substituted {}", net, bad);
    }

    #[test]
    fn segwit_roundtrip_and_substitution(
        ltc in any::<bool>(), kind in 0..3usize, p in bytes32(), idx in any::<usize>(), pick in any::<usize>()
    ) {
        let (net, hrp) = if ltc { (Ltc, "ltc") } else { (Btc, "bc") };
        let (v, prog, k): (u8, &[u8], &str) = match kind {
            0 => (0, &p[..20], "p2wpkh"),
            1 => (0, &p[..], "p2wsh"),
            _ => (1, &p[..], "p2tr"),
        };
        let addr = segwit(hrp, v, prog);
        let r = validate(net, &addr, None);
        prop_assert!(r.valid, "{:?}", r.error);
        prop_assert_eq!(r.kind, Some(k));
        let upper = addr.to_ascii_uppercase();
        prop_assert_eq!(validate(net, &upper, None).normalized, Some(addr.clone()));
        // bech32 guarantees detection of any single substitution in the data part.
        let bad = substitute(&addr, hrp.len() + 1, idx, B32_LOWER_BECH, pick);
        prop_assert!(invalid(net, &bad), "accepted {}", bad);
        // One upper-cased letter makes the string mixed-case.
        let i = (hrp.len() + 1..addr.len()).find(|&i| addr.as_bytes()[i].is_ascii_lowercase());
        if let Some(i) = i {
            let mut m = addr.clone().into_bytes();
            m[i] = m[i].to_ascii_uppercase();
            let m = String::from_utf8(m).unwrap();
            prop_assert_eq!(validate(net, &m, None).error.map(|e| e.code), Some(BadCharacter));
        }
        let testnet = segwit(if ltc { "tltc" } else { "tb" }, v, prog);
        prop_assert_eq!(validate(net, &testnet, None).error.map(|e| e.code), Some(WrongNetwork));
    }

    #[test]
    fn sapling_roundtrip(payload in proptest::collection::vec(any::<u8>(), 43), idx in any::<usize>(), pick in any::<usize>()) {
        let addr = bech32("zs", &payload);
        prop_assert!(validate(Zec, &addr, None).valid);
        let bad = substitute(&addr, 3, idx, B32_LOWER_BECH, pick);
        prop_assert!(invalid(Zec, &bad));
    }
}
