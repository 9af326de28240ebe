use crate::common;

use common::*;
use proptest::prelude::*;
use withdrawal_tracker::domain::address::{validate, ErrorCode::*};
use withdrawal_tracker::domain::network::Network::*;

#[test]
fn account_rules() {
    for a in [
        "aurora",
        "relay.aurora",
        "app.nearcrowd.near",
        "a-b_c.near",
        "ok",
        "bowen",
        "0o0ooo00oo00o",
        "alex-skidanov",
        "b-o_w_e-n",
        "no_lols",
        "near",
    ] {
        ok_kind(Near, a, "named");
    }
    ok_kind(Near, &"a1".repeat(32), "implicit");
    ok_kind(Near, "0x32400084c286cf3e17e7b677ea9583e60a000324", "eth_implicit");
    err(Near, "0x32400084C286CF3E17E7B677EA9583E60A000324", BadCharacter);
    err(Near, "a", BadLength);
    err(Near, &"a".repeat(65), BadLength);
    for bad in ["-near", "near-", "a..b", "a-.b", "Alice.near", "a b", "a@b", "_a", "a."] {
        assert!(invalid(Near, bad), "{bad}");
    }
    err(Near, "alice.testnet", WrongNetwork);
    memo_err(Near, "aurora", "1", MemoNotSupported);
}

proptest! {
    #![proptest_config(cfg(256))]

    #[test]
    fn implicit_roundtrip(k in bytes32()) {
        let a = hex::encode(k);
        prop_assert_eq!(validate(Near, &a, None).kind, Some("implicit"));
    }

    #[test]
    fn named_accounts(parts in proptest::collection::vec("[a-z0-9]{1,8}", 1..5), seps in proptest::collection::vec("[-_.]", 4)) {
        let mut s = parts[0].clone();
        for (p, sep) in parts[1..].iter().zip(&seps) {
            s.push_str(sep);
            s.push_str(p);
        }
        prop_assume!(s.len() >= 2 && !s.ends_with(".testnet"));
        prop_assert!(validate(Near, &s, None).valid, "{}", s);
    }
}
