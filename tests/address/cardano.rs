use crate::common;

use common::*;
use proptest::prelude::*;
use withdrawal_tracker::domain::address::{validate, ErrorCode::*};
use withdrawal_tracker::domain::network::Network::*;

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

fn cbor_bytes(out: &mut Vec<u8>, b: &[u8]) {
    match b.len() {
        n @ 0..=23 => out.push(0x40 | n as u8),
        n @ 24..=255 => out.extend_from_slice(&[0x58, n as u8]),
        n => out.extend_from_slice(&[0x59, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(b);
}

/// Byron address: [tag24(payload), crc32(payload)], payload = [root, attrs, 0].
fn byron(root: &[u8; 28], attrs: &[(u8, Vec<u8>)]) -> String {
    let mut payload = vec![0x83];
    cbor_bytes(&mut payload, root);
    payload.push(0xa0 | attrs.len() as u8);
    for (k, v) in attrs {
        payload.push(*k);
        cbor_bytes(&mut payload, v);
    }
    payload.push(0x00);
    let mut out = vec![0x82, 0xd8, 0x18];
    cbor_bytes(&mut out, &payload);
    out.push(0x1a);
    out.extend_from_slice(&CRC32.checksum(&payload).to_be_bytes());
    bs58::encode(out).into_string()
}

fn shelley(hrp: &str, header: u8, body: &[u8]) -> String {
    let mut v = vec![header];
    v.extend_from_slice(body);
    bech32(hrp, &v)
}

#[test]
fn known_mainnet_addresses() {
    ok_kind(
        Ada,
        "addr1q8gg2r3vf9zggn48g7m8vx62rwf6warcs4k7ej8mdzmqmesj30jz7psduyk6n4n2qrud2xlv9fgj53n6ds3t8cs4fvzs05yzmz",
        "base",
    );
    ok_kind(Ada, "Ae2tdPwUPEZFSi1cTyL1ZL6bgixhc2vSy5heg6Zg9uP7PpumkAJ82Qprt8b", "byron");
    ok_kind(
        Ada,
        "DdzFFzCqrhsfZHjaBunVySZBU8i9Zom7Gujham6Jz8scCcAdkDmEbD9XSdXKdBiPoa1fjgL4ksGjQXD8ZkSNHGJfT25ieA9rWNCSA5qc",
        "byron",
    );
}

#[test]
fn wrong_network_and_kinds() {
    err(Ada, &shelley("addr_test", 0x00, &[1; 56]), WrongNetwork);
    err(Ada, &shelley("addr", 0x00, &[1; 56]), WrongNetwork); // header says testnet
    err(Ada, &shelley("stake", 0xe1, &[1; 28]), UnsupportedKind);
    err(Ada, &shelley("addr", 0x01, &[1; 55]), BadLength);
    ok_kind(Ada, &shelley("addr", 0x61, &[1; 28]), "enterprise");
    ok_kind(Ada, &shelley("addr", 0x41, &[&[1u8; 28][..], &[0x81, 0x00, 0x02, 0x03]].concat()), "pointer");
    err(Ada, &byron(&[3; 28], &[(2, vec![0x1a, 0x2d, 0x96, 0x4a, 0x09])]), WrongNetwork);
    err(Ada, "cosmos1fl48vsnmsdzcv85q5d2q4z5ajdha8yu34mf0eh", BadCharacter);
    memo_err(Ada, "Ae2tdPwUPEZFSi1cTyL1ZL6bgixhc2vSy5heg6Zg9uP7PpumkAJ82Qprt8b", "m", MemoNotSupported);
}

proptest! {
    #![proptest_config(cfg(256))]

    #[test]
    fn shelley_roundtrip_and_substitution(body in proptest::collection::vec(any::<u8>(), 56), t in 0u8..4, idx in any::<usize>(), pick in any::<usize>()) {
        let addr = shelley("addr", (t << 4) | 1, &body);
        prop_assert!(addr.len() > 90);
        let r = validate(Ada, &addr, None);
        prop_assert!(r.valid, "{:?}", r.error);
        prop_assert_eq!(r.kind, Some("base"));
        prop_assert_eq!(validate(Ada, &addr.to_ascii_uppercase(), None).normalized, Some(addr.clone()));
        prop_assert!(invalid(Ada, &substitute(&addr, 5, idx, B32_LOWER_BECH, pick)));
    }

    #[test]
    fn byron_roundtrip_and_crc(root in any::<[u8; 28]>(), path in proptest::option::of(proptest::collection::vec(any::<u8>(), 28..40)), idx in any::<usize>(), pick in any::<usize>()) {
        let attrs: Vec<(u8, Vec<u8>)> = path.into_iter().map(|p| (1u8, p)).collect();
        let addr = byron(&root, &attrs);
        let r = validate(Ada, &addr, None);
        prop_assert!(r.valid, "{} {:?}", addr, r.error);
        prop_assert!(invalid(Ada, &substitute(&addr, 0, idx, B58, pick)));
    }
}
