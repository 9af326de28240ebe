use crate::common;

use common::*;
use proptest::prelude::*;
use withdrawal_tracker::domain::address::{validate, ErrorCode::*};
use withdrawal_tracker::domain::network::Network::*;

#[test]
fn known_address_and_errors() {
    let a = "cosmos1fl48vsnmsdzcv85q5d2q4z5ajdha8yu34mf0eh";
    ok_kind(Atom, a, "account");
    ok_kind(Atom, &bech32("cosmos", &[5; 32]), "interchain_account");
    err(Atom, &bech32("osmo", &[5; 20]), WrongNetwork);
    err(Atom, &bech32("cosmosvaloper", &[5; 20]), UnsupportedKind);
    err(Atom, &bech32("cosmos", &[5; 21]), BadLength);
    err(Atom, &bech32m("cosmos", &[5; 20]), BadChecksum);
    err(Atom, "cosmos1fl48vsnmsdzcv85q5d2q4z5ajdha8yu34mf0ei", BadCharacter);
    err(Atom, "cosmos1fl48vsnmsdzcv85q5d2q4z5ajdha8yu34mf0ek", BadChecksum);
    assert!(validate(Atom, a, Some(&"é".repeat(256))).valid, "limit counts characters");
    memo_err(Atom, a, &"a".repeat(257), BadMemo);
    memo_err(Atom, a, &"é".repeat(257), BadMemo);
}

/// The rules every memo meets, whatever its network counts: checked where a
/// `ValidatedAddress` is made, so nothing outside HTTP can register one.
#[test]
fn memos_with_control_characters_are_refused_on_every_network() {
    let a = "cosmos1fl48vsnmsdzcv85q5d2q4z5ajdha8yu34mf0eh";
    memo_err(Atom, a, "line\nbreak", BadMemo);
    memo_err(Eos, "eosio", "tab\there", BadMemo);
    memo_err(Xlm, "GBH4TZYZ4IRCPO44CBOLFUHULU2WGALXTAVESQA6432MBJMABBB4GIYI", "nul\0", BadMemo);
    let refused = withdrawal_tracker::domain::address::ValidatedAddress::parse(Atom, a, Some("bell\u{7}")).unwrap_err();
    assert_eq!(refused.code, BadMemo);
}

proptest! {
    #![proptest_config(cfg(256))]

    #[test]
    fn roundtrip_and_substitution(k in bytes20(), idx in any::<usize>(), pick in any::<usize>()) {
        let a = bech32("cosmos", &k);
        prop_assert!(validate(Atom, &a, None).valid);
        prop_assert!(invalid(Atom, &substitute(&a, 7, idx, B32_LOWER_BECH, pick)));
        prop_assert!(invalid(Atom, &bech32("osmo", &k)));
    }
}
