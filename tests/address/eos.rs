use crate::common;

use common::*;
use proptest::prelude::*;
use withdrawal_tracker::domain::address::{validate, ErrorCode::*};
use withdrawal_tracker::domain::network::Network::*;

#[test]
fn account_names() {
    for a in ["eosio", "eosio.token", "binancecold1", "a", "1", "a.b.c"] {
        ok_kind(Eos, a, "account");
    }
    err(Eos, "thirteenchars", BadLength);
    err(Eos, "EOSIO", BadCharacter);
    err(Eos, "eosio6", BadCharacter);
    err(Eos, "eosio.", BadCharacter);
    assert!(validate(Eos, "eosio", Some(&"m".repeat(256))).valid);
    memo_err(Eos, "eosio", &"m".repeat(257), BadMemo);
}

proptest! {
    #![proptest_config(cfg(256))]

    #[test]
    fn valid_names(s in "[a-z1-5.]{0,11}[a-z1-5]") {
        prop_assert!(validate(Eos, &s, None).valid);
    }
}
