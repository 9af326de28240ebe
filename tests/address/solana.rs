use crate::common;

use common::*;
use proptest::prelude::*;
use withdrawal_tracker::domain::address::{validate, ErrorCode::*};
use withdrawal_tracker::domain::network::Network::*;

#[test]
fn known_addresses_and_errors() {
    ok_kind(Sol, "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA", "account"); // SPL Token program
    ok(Sol, "11111111111111111111111111111111"); // System program
    err(Sol, &bs58::encode([7u8; 31]).into_string(), BadLength);
    err(Sol, &bs58::encode([7u8; 33]).into_string(), BadLength);
    err(Sol, "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5D0", BadCharacter);
    err(Sol, &"z".repeat(60), BadLength);
    memo_err(Sol, "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA", "x", MemoNotSupported);
}

proptest! {
    #![proptest_config(cfg(256))]

    // Solana addresses carry no checksum, so only the round trip is a property.
    #[test]
    fn roundtrip(k in bytes32()) {
        let addr = bs58::encode(k).into_string();
        let r = validate(Sol, &addr, None);
        prop_assert!(r.valid);
        prop_assert_eq!(r.normalized, Some(addr));
    }
}
