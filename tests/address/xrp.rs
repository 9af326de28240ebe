use crate::common;

use common::*;
use proptest::prelude::*;
use withdrawal_tracker::domain::address::{validate, ErrorCode::*, ValidatedAddress};
use withdrawal_tracker::domain::network::Network::*;

const RIPPLE: &str = "rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz";

fn classic(account: &[u8; 20]) -> String {
    b58check_with(&with_version(&[0], account), bs58::Alphabet::RIPPLE)
}

fn x_address(account: &[u8; 20], tag: Option<u32>, test: bool) -> String {
    let mut p = if test { vec![0x04, 0x93] } else { vec![0x05, 0x44] };
    p.extend_from_slice(account);
    p.push(tag.is_some() as u8);
    p.extend_from_slice(&(tag.unwrap_or(0) as u64).to_le_bytes());
    b58check_with(&p, bs58::Alphabet::RIPPLE)
}

#[test]
fn codec_vectors_classic() {
    let v = vectors("xrp_classic.json");
    for e in v["encodeAccountID"].as_array().unwrap() {
        let addr = e[0].as_str().unwrap();
        let id: [u8; 20] = hex::decode(e[1].as_str().unwrap()).unwrap().try_into().unwrap();
        assert_eq!(classic(&id), addr);
        ok_kind(Xrp, addr, "classic");
    }
    for a in v["isValidClassicAddress_valid"].as_array().unwrap() {
        ok_kind(Xrp, a.as_str().unwrap(), "classic");
    }
    for a in
        v["isValidClassicAddress_invalid"].as_array().unwrap().iter().chain(v["not_account_ids"].as_array().unwrap())
    {
        assert!(invalid(Xrp, a.as_str().unwrap()), "{a}");
    }
}

#[test]
fn codec_vectors_x_address() {
    let v = vectors("xrp_xaddress.json");
    for e in v["testCases"].as_array().unwrap() {
        let classic_addr = e[0].as_str().unwrap();
        let tag = e[1].as_u64().map(|t| t as u32);
        let (main, test) = (e[2].as_str().unwrap(), e[3].as_str().unwrap());
        ok(Xrp, classic_addr);
        let id: [u8; 20] = bs58::decode(classic_addr).with_alphabet(bs58::Alphabet::RIPPLE).into_vec().unwrap()[1..21]
            .try_into()
            .unwrap();
        assert_eq!(x_address(&id, tag, false), main);
        assert_eq!(x_address(&id, tag, true), test);
        ok_kind(Xrp, main, "x_address");
        let va = ValidatedAddress::parse(Xrp, main, None).unwrap();
        assert_eq!(va.memo(), tag.map(|t| t.to_string()).as_deref());
        err(Xrp, test, WrongNetwork);
    }
    for e in v["invalid"].as_array().unwrap() {
        assert!(invalid(Xrp, e[0].as_str().unwrap()), "{}", e[1]);
    }
    err(Xrp, "XVLhHMPHU98es4dbozjVtdWzVrDjtV5fdx1mHp98tDMoQXa", BadChecksum);
    err(Xrp, "XVLhHMPHU98es4dbozjVtdWzVrDjtV18pX8zeUygYrCgrPh", UnsupportedKind);
}

#[test]
fn genesis_memos_and_errors() {
    let genesis = "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh";
    ok(Xrp, genesis);
    assert!(validate(Xrp, genesis, Some("4294967295")).valid);
    assert_eq!(ValidatedAddress::parse(Xrp, genesis, Some("007")).unwrap().memo(), Some("7"));
    for bad in ["4294967296", "-1", "+5", "1.5", "abc", " 5", "0x10"] {
        memo_err(Xrp, genesis, bad, BadMemo);
    }
    assert!(validate(Xrp, genesis, Some("")).valid);
    let x = "XVLhHMPHU98es4dbozjVtdWzVrDjtVqrDUk2vDpkTjPsY73"; // tag 16781933
    assert!(validate(Xrp, x, Some("16781933")).valid);
    memo_err(Xrp, x, "16781934", BadMemo);
    let untagged = "XVLhHMPHU98es4dbozjVtdWzVrDjtV5fdx1mHp98tDMoQXb";
    assert_eq!(ValidatedAddress::parse(Xrp, untagged, Some("5")).unwrap().memo(), Some("5"));
    err(Xrp, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", BadChecksum);
    err(Xrp, "0A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", BadCharacter);
    err(Xrp, "sn259rEFXrQrWyx3Q7XneWcwV6dfL", UnsupportedKind);
}

proptest! {
    #![proptest_config(cfg(256))]

    #[test]
    fn classic_roundtrip_and_substitution(a in bytes20(), idx in any::<usize>(), pick in any::<usize>()) {
        let addr = classic(&a);
        prop_assert!(validate(Xrp, &addr, None).valid);
        prop_assert!(invalid(Xrp, &substitute(&addr, 0, idx, RIPPLE, pick)));
    }

    #[test]
    fn x_address_roundtrip(a in bytes20(), tag in proptest::option::of(any::<u32>()), idx in any::<usize>(), pick in any::<usize>()) {
        let addr = x_address(&a, tag, false);
        let va = ValidatedAddress::parse(Xrp, &addr, None).unwrap();
        prop_assert_eq!(va.kind(), "x_address");
        let expected = tag.map(|t| t.to_string());
        prop_assert_eq!(va.memo(), expected.as_deref());
        prop_assert!(invalid(Xrp, &substitute(&addr, 0, idx, RIPPLE, pick)));
        prop_assert_eq!(validate(Xrp, &x_address(&a, tag, true), None).error.map(|e| e.code), Some(WrongNetwork));
    }
}
