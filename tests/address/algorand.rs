use crate::common;

use common::*;
use proptest::prelude::*;
use sha2::{Digest, Sha512_256};
use withdrawal_tracker::domain::address::{validate, ErrorCode::*};
use withdrawal_tracker::domain::network::Network::*;

fn algo(k: &[u8; 32]) -> String {
    let h = Sha512_256::digest(k);
    let mut v = k.to_vec();
    v.extend_from_slice(&h[28..]);
    base32(&v)
}

#[test]
fn known_and_errors() {
    let a = "2UEQTE5QDNXPI7M3TU44G6SYKLFWLPQO7EBZM7K7MHMQQMFI4QJPLHQFHM";
    ok_kind(Algo, a, "account");
    err(Algo, &a.to_ascii_lowercase(), BadCharacter);
    err(Algo, &a[..57], BadLength);
    err(Algo, "2VEQTE5QDNXPI7M3TU44G6SYKLFWLPQO7EBZM7K7MHMQQMFI4QJPLHQFHM", BadChecksum);
    err(Algo, "2UEQTE5QDNXPI7M3TU44G6SYKLFWLPQO7EBZM7K7MHMQQMFI4QJPLHQFH1", BadCharacter);
    memo_err(Algo, a, "1", MemoNotSupported);
}

proptest! {
    #![proptest_config(cfg(256))]

    #[test]
    fn roundtrip_and_substitution(k in bytes32(), idx in any::<usize>(), pick in any::<usize>()) {
        let a = algo(&k);
        prop_assert!(validate(Algo, &a, None).valid);
        prop_assert!(invalid(Algo, &substitute(&a, 0, idx, B32_RFC, pick)));
    }
}
