use crate::common;

use blake2::digest::{Update, VariableOutput};
use common::*;
use proptest::prelude::*;
use withdrawal_tracker::domain::address::{validate, ErrorCode::*};
use withdrawal_tracker::domain::network::Network::*;

fn cksum(data: &[u8]) -> [u8; 4] {
    let mut h = blake2::Blake2bVar::new(4).unwrap();
    h.update(data);
    let mut o = [0u8; 4];
    h.finalize_variable(&mut o).unwrap();
    o
}

fn fil(net: char, protocol: u8, payload: &[u8]) -> String {
    let mut data = vec![protocol];
    data.extend_from_slice(payload);
    let mut body = payload.to_vec();
    body.extend_from_slice(&cksum(&data));
    format!("{net}{protocol}{}", base32(&body).to_ascii_lowercase())
}

fn f410(payload: &[u8; 20]) -> String {
    let mut data = vec![4u8, 10];
    data.extend_from_slice(payload);
    let mut body = payload.to_vec();
    body.extend_from_slice(&cksum(&data));
    format!("f410f{}", base32(&body).to_ascii_lowercase())
}

const B32_LOWER: &str = "abcdefghijklmnopqrstuvwxyz234567";

#[test]
fn known_and_errors() {
    ok_kind(Fil, "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za", "secp256k1");
    ok_kind(Fil, "f3vvmn62lofvhjd2ugzca6sof2j2ubwok6cj4xxbfzz4yuxfkgobpihhd2thlanmsh3w2ptld2gqkn2jvlss4a", "bls");
    ok_kind(Fil, "f01234", "id");
    ok_kind(Fil, "f00", "id");
    err(Fil, "t01234", WrongNetwork);
    err(Fil, "t1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za", WrongNetwork); // checksum covers protocol, not net
    err(Fil, &fil('t', 1, &[1; 20]), WrongNetwork);
    err(Fil, "F1ABJXFBP274XPDQCPUAYKWKFB43OMJOTACM2P3ZA", BadPrefix);
    err(Fil, "f1ABJXFBP274XPDQCPUAYKWKFB43OMJOTACM2P3ZA", BadCharacter);
    err(Fil, "f1acjxfbp274xpdqcpuaykwkfb43omjotacm2p3za", BadChecksum);
    err(Fil, "f5abc", BadPrefix);
    err(Fil, "f001", BadCharacter);
    err(Fil, &fil('f', 1, &[1; 21]), BadLength);
    memo_err(Fil, "f01234", "1", MemoNotSupported);
}

proptest! {
    #![proptest_config(cfg(256))]

    #[test]
    fn roundtrip_and_substitution(p in proptest::collection::vec(any::<u8>(), 48), which in 0..4usize, idx in any::<usize>(), pick in any::<usize>()) {
        let (a, kind) = match which {
            0 => (fil('f', 1, &p[..20]), "secp256k1"),
            1 => (fil('f', 2, &p[..20]), "actor"),
            2 => (fil('f', 3, &p), "bls"),
            _ => (f410(&p[..20].try_into().unwrap()), "delegated"),
        };
        let r = validate(Fil, &a, None);
        prop_assert!(r.valid, "{} {:?}", a, r.error);
        prop_assert_eq!(r.kind, Some(kind));
        let from = if which == 3 { 5 } else { 2 };
        prop_assert!(invalid(Fil, &substitute(&a, from, idx, B32_LOWER, pick)));
    }

    #[test]
    fn id_roundtrip(n in any::<u64>()) {
        let a = format!("f0{n}");
        prop_assert!(validate(Fil, &a, None).valid);
    }
}
