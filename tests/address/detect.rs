use withdrawal_tracker::domain::address::{detect_networks, validate, ValidatedAddress};
use withdrawal_tracker::domain::network::Network::{self, *};

const EVM: [Network; 8] = [Eth, Bsc, Polygon, Arbitrum, Optimism, Base, Avaxc, Etc];

#[test]
fn evm_address_on_all_evm_networks() {
    assert_eq!(detect_networks("0xdAC17F958D2ee523a2206206994597C13D831ec7"), EVM.to_vec());
    // An all-lower-case 0x address is also a NEAR ETH-implicit account id.
    let mut lower = EVM.to_vec();
    lower.push(Near);
    assert_eq!(detect_networks("0xdac17f958d2ee523a2206206994597c13d831ec7"), lower);
}

#[test]
fn single_network_formats() {
    for (addr, nets) in [
        ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", vec![Trx]),
        // Lower-case bech32 strings are also syntactically valid NEAR named accounts.
        ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", vec![Btc, Near]),
        ("BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ", vec![Btc]),
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", vec![Btc, Bch]),
        ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", vec![Btc, Ltc, Bch]),
        ("bitcoincash:qrvax3jgtwqssnkpctlqdl0rq7rjn0l0hgny8pt0hp", vec![Bch]),
        ("LMHEFMwRsQ3nHDfb9zZqynLHxjuJ2hgyyW", vec![Ltc]),
        ("D7wbmbjBWG5HPkT6d4gh6SdQPp6z25vcF2", vec![Doge]),
        ("XbtvGzi2JgjYTbTqabUjSREWeovDxznoyh", vec![Dash]),
        ("t1KzZ5n2TPEGYXTZ3WYGL1AYEumEQaRoHaL", vec![Zec]),
        ("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA", vec![Sol]),
        ("rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh", vec![Xrp]),
        ("GBH4TZYZ4IRCPO44CBOLFUHULU2WGALXTAVESQA6432MBJMABBB4GIYI", vec![Xlm]),
        ("Ae2tdPwUPEZFSi1cTyL1ZL6bgixhc2vSy5heg6Zg9uP7PpumkAJ82Qprt8b", vec![Ada]),
        ("1a1LcBX6hGPKg5aQ6DXZpAHCCzWjckhea4sz3P1PvL3oc4F", vec![Dot]),
        ("cosmos1fl48vsnmsdzcv85q5d2q4z5ajdha8yu34mf0eh", vec![Atom, Near]),
        ("EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N", vec![Ton]),
        ("2UEQTE5QDNXPI7M3TU44G6SYKLFWLPQO7EBZM7K7MHMQQMFI4QJPLHQFHM", vec![Algo]),
        ("0.0.123-vfmkw", vec![Near, Hbar]), // also a syntactically valid NEAR name
        ("0.0.123-VFMKW", vec![]),
        ("tz1YWK1gDPQx9N1Jh4JnmVre7xN6xhGGM4uC", vec![Xtz]),
        ("f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za", vec![Near, Fil]),
        ("app.nearcrowd.near", vec![Near]),
        ("relay.aurora", vec![Near, Eos]),
        ("eosio.token", vec![Near, Eos]),
    ] {
        assert_eq!(detect_networks(addr), nets, "{addr}");
    }
    let move_addr = format!("0x{}", "ab".repeat(32));
    assert_eq!(detect_networks(&move_addr), vec![Apt, Sui]);
    assert!(detect_networks("not an address").is_empty());
    assert!(detect_networks("").is_empty());
}

#[test]
fn validated_address_newtype() {
    let v = ValidatedAddress::parse(Eth, "0xdac17f958d2ee523a2206206994597c13d831ec7", None).unwrap();
    assert_eq!(v.normalized(), "0xdAC17F958D2ee523a2206206994597C13D831ec7");
    assert_eq!(v.to_string(), v.normalized());
    assert_eq!((v.network(), v.kind(), v.memo()), (Eth, "eoa_or_contract", None));
    let e = ValidatedAddress::parse(Eth, "0x123", None).unwrap_err();
    assert_eq!(e.code.as_str(), "bad_length");
    assert!(e.to_string().starts_with("bad_length: "));
    let m =
        ValidatedAddress::parse(Xlm, "GBH4TZYZ4IRCPO44CBOLFUHULU2WGALXTAVESQA6432MBJMABBB4GIYI", Some("42")).unwrap();
    assert_eq!(m.memo(), Some("42"));
    let json = serde_json::to_value(validate(Eth, "0x123", None)).unwrap();
    assert_eq!(json["error"]["code"], "bad_length");
    assert_eq!(json["network"], "ETH");
}

#[test]
fn hostile_inputs_are_cheap_and_safe() {
    let huge = "a".repeat(1 << 20);
    for n in Network::ALL {
        let r = validate(n, &huge, None);
        assert_eq!(r.error.unwrap().code.as_str(), "bad_length");
        assert!(!validate(n, "ü", None).valid);
        assert!(!validate(n, "\0", None).valid);
        assert!(!validate(n, "1:", None).valid);
        assert!(!validate(n, ":", None).valid);
        assert!(!validate(n, "0x", None).valid);
    }
}
