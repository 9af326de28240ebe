use crate::common;

use common::*;
use proptest::prelude::*;
use withdrawal_tracker::domain::address::{validate, ErrorCode::*};
use withdrawal_tracker::domain::network::Network::*;

#[test]
fn framework_addresses_and_errors() {
    let aptos_framework = format!("0x{}1", "0".repeat(63));
    let sui_framework = format!("0x{}2", "0".repeat(63));
    ok_kind(Apt, &aptos_framework, "account");
    ok_kind(Sui, &sui_framework, "account");
    let upper = format!("0x{}", "AB".repeat(32));
    assert_eq!(ok(Sui, &upper).normalized.unwrap(), format!("0x{}", "ab".repeat(32)));
    err(Apt, "0x1", BadLength);
    err(Sui, &"ab".repeat(32), BadPrefix);
    err(Apt, &format!("0x{}g", "0".repeat(63)), BadCharacter);
    err(Apt, "0xdAC17F958D2ee523a2206206994597C13D831ec7", BadLength);
    memo_err(Apt, &aptos_framework, "1", MemoNotSupported);
}

proptest! {
    #![proptest_config(cfg(256))]

    #[test]
    fn roundtrip(k in bytes32(), sui in any::<bool>()) {
        let n = if sui { Sui } else { Apt };
        let a = format!("0x{}", hex::encode_upper(k));
        prop_assert_eq!(validate(n, &a, None).normalized, Some(a.to_ascii_lowercase()));
    }
}
