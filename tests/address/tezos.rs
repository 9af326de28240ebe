use crate::common;

use common::*;
use proptest::prelude::*;
use withdrawal_tracker::domain::address::{validate, ErrorCode::*};
use withdrawal_tracker::domain::network::Network::*;

const PREFIXES: [([u8; 3], &str); 4] =
    [([6, 161, 159], "tz1"), ([6, 161, 161], "tz2"), ([6, 161, 164], "tz3"), ([2, 90, 121], "kt1")];

#[test]
fn known_and_errors() {
    ok_kind(Xtz, "tz1YWK1gDPQx9N1Jh4JnmVre7xN6xhGGM4uC", "tz1");
    ok_kind(Xtz, "tz3T8djchG5FDwt7H6wEUU3sRFJwonYPqMJe", "tz3");
    ok_kind(Xtz, "KT1S5hgipNSTFehZo7v81gq6fcLChbRwptqy", "kt1");
    err(Xtz, &b58check(&with_version(&[6, 161, 166], &[1; 20])), UnsupportedKind);
    err(Xtz, &b58check(&with_version(&[6, 161, 170], &[1; 20])), BadPrefix);
    err(Xtz, "tz1YWK1gDPQx9N1Jh4JnmVre7xN6xhGGM4uD", BadChecksum);
    err(Xtz, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", BadLength);
    memo_err(Xtz, "tz1YWK1gDPQx9N1Jh4JnmVre7xN6xhGGM4uC", "1", MemoNotSupported);
}

proptest! {
    #![proptest_config(cfg(256))]

    #[test]
    fn roundtrip_and_substitution(which in 0..4usize, h in bytes20(), idx in any::<usize>(), pick in any::<usize>()) {
        let (prefix, kind) = PREFIXES[which];
        let a = b58check(&with_version(&prefix, &h));
        prop_assert_eq!(validate(Xtz, &a, None).kind, Some(kind));
        prop_assert!(a.to_ascii_lowercase().starts_with(kind));
        prop_assert!(invalid(Xtz, &substitute(&a, 0, idx, B58, pick)));
    }
}
