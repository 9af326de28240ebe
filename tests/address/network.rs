use std::collections::HashSet;
use withdrawal_tracker::domain::address::{address_kinds, ErrorCode};
use withdrawal_tracker::domain::network::{MemoRule, Network};

#[test]
fn codes_parse_display_serde() {
    assert_eq!(Network::ALL.len(), 30);
    let codes: HashSet<_> = Network::ALL.iter().map(|n| n.code()).collect();
    assert_eq!(codes.len(), 30);
    for n in Network::ALL {
        assert_eq!(Network::parse(n.code()), Some(n));
        assert_eq!(Network::parse(&n.code().to_lowercase()), None);
        assert_eq!(n.to_string(), n.code());
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(json, format!("\"{}\"", n.code()));
        assert_eq!(serde_json::from_str::<Network>(&json).unwrap(), n);
        assert!(!address_kinds(n).is_empty());
        assert!(!n.memo_rule().description().is_empty());
    }
    let mut sorted = Network::ALL;
    sorted.sort();
    assert_eq!(sorted, Network::ALL, "Ord follows ALL order");
    assert_eq!(Network::parse("AVAXC"), Some(Network::Avaxc));
    assert_eq!(Network::parse(" BTC"), None);
}

#[test]
fn memo_rules() {
    let with: Vec<_> = Network::ALL.iter().filter(|n| n.memo_rule().supported()).map(|n| n.code()).collect();
    assert_eq!(
        with,
        ["XRP", "XLM", "ATOM", "TON", "HBAR", "EOS"].iter().copied().filter(|c| with.contains(c)).collect::<Vec<_>>()
    );
    assert_eq!(with.len(), 6);
    assert_eq!(Network::Xrp.memo_rule(), MemoRule::XrpDestinationTag);
    assert_eq!(serde_json::to_string(&MemoRule::XrpDestinationTag).unwrap(), "\"xrp_destination_tag\"");
}

#[test]
fn error_codes_serialize_snake_case() {
    use ErrorCode::*;
    for (c, s) in [
        (BadChecksum, "bad_checksum"),
        (BadLength, "bad_length"),
        (BadCharacter, "bad_character"),
        (BadPrefix, "bad_prefix"),
        (WrongNetwork, "wrong_network"),
        (UnsupportedKind, "unsupported_kind"),
        (BadMemo, "bad_memo"),
        (MemoNotSupported, "memo_not_supported"),
    ] {
        assert_eq!(c.as_str(), s);
        assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{s}\""));
    }
}
