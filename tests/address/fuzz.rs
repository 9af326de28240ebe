//! Every network against arbitrary strings: validation never panics, `detect_networks`
//! agrees with `validate`, and memos follow each network's rule (a reference model).

use proptest::prelude::*;
use withdrawal_tracker::domain::address::{detect_networks, validate, ErrorCode};
use withdrawal_tracker::domain::network::{MemoRule, Network};

use crate::common::cfg;

/// A valid address per network that takes a memo (XRP classic: no embedded tag).
fn memo_address(network: Network) -> Option<&'static str> {
    Some(match network {
        Network::Xrp => "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh",
        Network::Xlm => "GBH4TZYZ4IRCPO44CBOLFUHULU2WGALXTAVESQA6432MBJMABBB4GIYI",
        Network::Eos => "eosio.token",
        Network::Atom => "cosmos1fl48vsnmsdzcv85q5d2q4z5ajdha8yu34mf0eh",
        Network::Ton => "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N",
        Network::Hbar => "0.0.98",
        Network::Eth => "0xdAC17F958D2ee523a2206206994597C13D831ec7",
        Network::Btc => "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
        Network::Trx => "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        Network::Sol => "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
        _ => return None,
    })
}

/// The memo rules, restated: `Ok(normalized)` or the refusal's code.
fn reference_memo(rule: MemoRule, memo: &str) -> Result<Option<String>, ErrorCode> {
    if memo.is_empty() {
        return Ok(None);
    }
    let digits = !memo.is_empty() && memo.len() <= 20 && memo.bytes().all(|b| b.is_ascii_digit());
    let within = |limit: usize| if memo.len() <= limit { Ok(Some(memo.to_owned())) } else { Err(ErrorCode::BadMemo) };
    if rule != MemoRule::None && memo.chars().any(char::is_control) {
        return Err(ErrorCode::BadMemo);
    }
    match rule {
        MemoRule::None => Err(ErrorCode::MemoNotSupported),
        MemoRule::XrpDestinationTag => match memo.parse::<u64>() {
            Ok(tag) if digits && tag <= u64::from(u32::MAX) => Ok(Some(tag.to_string())),
            _ => Err(ErrorCode::BadMemo),
        },
        MemoRule::StellarTextOrId if memo.bytes().all(|b| b.is_ascii_digit()) => match memo.parse::<u64>() {
            Ok(id) if digits => Ok(Some(id.to_string())),
            _ => Err(ErrorCode::BadMemo),
        },
        MemoRule::StellarTextOrId => within(28),
        MemoRule::EosMemo => within(256),
        MemoRule::CosmosMemo if memo.chars().count() <= 256 => Ok(Some(memo.to_owned())),
        MemoRule::CosmosMemo => Err(ErrorCode::BadMemo),
        MemoRule::TonComment => within(120),
        MemoRule::HederaMemo => within(100),
    }
}

fn any_network() -> impl Strategy<Value = Network> {
    proptest::sample::select(Network::ALL.to_vec())
}

fn address_like() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,100}",
        "[0-9a-zA-Z]{20,70}",
        "(0x|bc1|ltc1|cosmos1|bitcoincash:|addr1|EQ|UQ|r|G|M|T|tz1|f1|0\\.0\\.)[0-9a-zA-Z._-]{0,70}",
    ]
}

fn memo_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{0,22}",
        "0{1,5}[0-9]{0,10}",
        "[ -~]{0,130}",
        ".{0,300}",
        proptest::sample::select(vec![
            "4294967295",
            "4294967296",
            "18446744073709551615",
            "18446744073709551616",
            "+5",
            "5 "
        ])
        .prop_map(str::to_owned),
    ]
}

proptest! {
    #![proptest_config(cfg(512))]

    #[test]
    fn arbitrary_strings_never_panic_and_detection_agrees(address in address_like()) {
        let detected = detect_networks(&address);
        for network in Network::ALL {
            let verdict = validate(network, &address, None);
            prop_assert_eq!(verdict.valid, detected.contains(&network), "{} {:?}", network, address);
            prop_assert_eq!(verdict.valid, verdict.error.is_none());
            prop_assert_eq!(verdict.valid, verdict.normalized.is_some() && verdict.kind.is_some());
            if let Some(normalized) = verdict.normalized {
                // The normalized form is valid, and normalizing it again changes nothing.
                let again = validate(network, &normalized, None);
                prop_assert_eq!(again.normalized.as_deref(), Some(normalized.as_str()), "{} {:?}", network, address);
            }
        }
    }
}

proptest! {
    #![proptest_config(cfg(256))]

    #[test]
    fn memos_follow_each_networks_rule(network in any_network(), memo in memo_like()) {
        let Some(address) = memo_address(network) else { return Ok(()) };
        let verdict = validate(network, address, Some(&memo));
        let expected = reference_memo(network.memo_rule(), &memo);
        match expected {
            Ok(_) => prop_assert!(verdict.valid, "{} memo {:?}: {:?}", network, memo, verdict.error),
            Err(code) => {
                prop_assert!(!verdict.valid, "{} memo {:?} should be refused", network, memo);
                prop_assert_eq!(verdict.error.unwrap().code, code);
            }
        }
    }
}
