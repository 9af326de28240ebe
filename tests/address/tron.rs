use crate::common;

use common::*;
use proptest::prelude::*;
use withdrawal_tracker::domain::address::{validate, ErrorCode::*};
use withdrawal_tracker::domain::network::Network::*;

#[test]
fn known_addresses_and_errors() {
    ok_kind(Trx, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "account"); // USDT TRC20 contract
    ok(Trx, "TGCRkw1Vq759FBCrwxkZGgqZbRX1WkBHSu");
    let hex_form = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c";
    err(Trx, hex_form, BadPrefix);
    assert!(validate(Trx, hex_form, None).error.unwrap().reason.contains("hex"));
    err(Trx, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", WrongNetwork);
    err(Trx, "0xdAC17F958D2ee523a2206206994597C13D831ec7", BadPrefix);
    err(Trx, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u", BadChecksum);
    err(Trx, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6I", BadCharacter);
    memo_err(Trx, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "123", MemoNotSupported);
}

proptest! {
    #![proptest_config(cfg(256))]

    #[test]
    fn roundtrip_and_substitution(h in bytes20(), idx in any::<usize>(), pick in any::<usize>()) {
        let addr = b58check(&with_version(&[0x41], &h));
        prop_assert!(addr.starts_with('T'));
        prop_assert!(validate(Trx, &addr, None).valid);
        prop_assert!(invalid(Trx, &substitute(&addr, 0, idx, B58, pick)));
        prop_assert!(invalid(Btc, &addr));
    }
}
