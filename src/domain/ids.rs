//! Identifiers that arrive from the exchange: parsed once, trusted afterwards.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{FieldError, Network};

const MAX_ID_LEN: usize = 64;

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')
}

fn parse_exchange_id(field: &'static str, raw: &str) -> Result<String, FieldError> {
    if raw.is_empty() || raw.len() > MAX_ID_LEN {
        return Err(FieldError::new(field, format!("{field} must be 1-{MAX_ID_LEN} characters long")));
    }
    if let Some(bad) = raw.chars().find(|c| !is_id_char(*c)) {
        return Err(FieldError::new(field, format!("{field} contains {bad:?}; allowed are A-Z a-z 0-9 _ - . :")));
    }
    Ok(raw.to_owned())
}

macro_rules! exchange_id {
    ($name:ident, $field:literal) => {
        /// An id chosen by the exchange: 1-64 characters of `A-Za-z0-9_-.:`.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, FieldError> {
                parse_exchange_id($field, raw).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = FieldError;
            fn try_from(raw: String) -> Result<Self, Self::Error> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

exchange_id!(WithdrawalId, "id");
exchange_id!(UserId, "user_id");

/// A transaction hash in the form its network writes it, normalized so that
/// the same transaction always compares equal (hex is lower-cased, except on
/// XRP where the ledger itself prints upper case).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TxHash(String);

const MAX_TX_HASH_LEN: usize = 128;

impl TxHash {
    pub fn parse(network: Network, raw: &str) -> Result<Self, FieldError> {
        let field = "tx_hash";
        let bad = |why: &str| Err(FieldError::new(field, format!("tx_hash {why} for {network}")));
        match network.tx_hash_format() {
            TxHashFormat::PrefixedHex { bytes } => {
                let Some(hex) = raw.strip_prefix("0x").or_else(|| raw.strip_prefix("0X")) else {
                    return bad("must start with 0x");
                };
                if hex.len() != bytes * 2 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return bad(&format!("must be 0x followed by {} hex digits", bytes * 2));
                }
                Ok(Self(format!("0x{}", hex.to_ascii_lowercase())))
            }
            TxHashFormat::Hex { bytes, upper } => {
                if raw.len() != bytes * 2 || !raw.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return bad(&format!("must be {} hex digits", bytes * 2));
                }
                Ok(Self(if upper { raw.to_ascii_uppercase() } else { raw.to_ascii_lowercase() }))
            }
            TxHashFormat::Base58 { min_len, max_len } => {
                let alphabet_ok = raw.bytes().all(|b| b.is_ascii_alphanumeric() && !b"0OIl".contains(&b));
                if !(min_len..=max_len).contains(&raw.len()) || !alphabet_ok {
                    return bad(&format!("must be {min_len}-{max_len} base58 characters"));
                }
                Ok(Self(raw.to_owned()))
            }
            TxHashFormat::Base32 { len } => {
                let upper = raw.to_ascii_uppercase();
                if upper.len() != len || !upper.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)) {
                    return bad(&format!("must be {len} base32 characters (A-Z, 2-7)"));
                }
                Ok(Self(upper))
            }
            TxHashFormat::Opaque => {
                let ok = !raw.is_empty()
                    && raw.len() <= MAX_TX_HASH_LEN
                    && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.:=+/@".contains(&b));
                if !ok {
                    return bad(&format!("must be 1-{MAX_TX_HASH_LEN} printable characters without spaces"));
                }
                Ok(Self(raw.to_owned()))
            }
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TxHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a network writes its transaction ids (`Base32`: RFC 4648 without
/// padding, kept in upper case: Algorand).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxHashFormat {
    PrefixedHex { bytes: usize },
    Hex { bytes: usize, upper: bool },
    Base58 { min_len: usize, max_len: usize },
    Base32 { len: usize },
    Opaque,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorand_transaction_ids_are_base32_in_upper_case() {
        let id = "KWDWQIWTZWGGLSQDPO4UV7ZOQPRW3NANMH6LVAZG5OLCVLTSHLQA";
        let parsed = TxHash::parse(crate::domain::Network::Algo, &id.to_ascii_lowercase()).unwrap();
        assert_eq!(parsed.as_str(), id);
        for bad in [&id[1..], "KWDWQIWTZWGGLSQDPO4UV7ZOQPRW3NANMH6LVAZG5OLCVLTSHLQ1", &"ab".repeat(32)] {
            assert!(TxHash::parse(crate::domain::Network::Algo, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn withdrawal_ids_accept_the_documented_charset() {
        for ok in ["a", "W-1", "abc_DEF.123:x", &"x".repeat(64)] {
            assert_eq!(WithdrawalId::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn withdrawal_ids_refuse_everything_else() {
        for bad in ["", " a", "a/b", "é", "a b", &"x".repeat(65), "a\n"] {
            let err = WithdrawalId::parse(bad).unwrap_err();
            assert_eq!(err.field, "id", "{bad:?}");
        }
        assert_eq!(UserId::parse("").unwrap_err().field, "user_id");
    }

    #[test]
    fn evm_tx_hashes_are_lower_cased_and_length_checked() {
        let raw = format!("0x{}", "AB".repeat(32));
        assert_eq!(TxHash::parse(Network::Eth, &raw).unwrap().as_str(), format!("0x{}", "ab".repeat(32)));
        for bad in ["ab".repeat(32), format!("0x{}", "ab".repeat(31)), format!("0x{}zz", "ab".repeat(31))] {
            assert_eq!(TxHash::parse(Network::Eth, &bad).unwrap_err().field, "tx_hash", "{bad}");
        }
    }

    #[test]
    fn bitcoin_and_xrp_hashes_keep_their_conventional_case() {
        let hash = "Ab".repeat(32);
        assert_eq!(TxHash::parse(Network::Btc, &hash).unwrap().as_str(), "ab".repeat(32));
        assert_eq!(TxHash::parse(Network::Xrp, &hash).unwrap().as_str(), "AB".repeat(32));
        assert_eq!(TxHash::parse(Network::Btc, &format!("0x{}", "ab".repeat(32))).unwrap_err().field, "tx_hash");
    }

    use proptest::prelude::*;

    /// The documented rule, written independently of the parser.
    fn reference_id_ok(raw: &str) -> bool {
        (1..=64).contains(&raw.chars().count())
            && raw.chars().all(|c| matches!(c, 'A'..='Z' | 'a'..='z' | '0'..='9' | '_' | '-' | '.' | ':'))
    }

    /// Mostly the id alphabet, with near misses (space, `/`, `|`, `~`, non-ASCII, control).
    fn id_like() -> impl Strategy<Value = String> {
        prop_oneof!["[A-Za-z0-9_.:-]{0,70}", "[A-Za-z0-9_.:/| ~é\n\x00-]{0,70}", ".{0,70}",]
    }

    fn hex_network(prefixed: bool) -> impl Strategy<Value = Network> {
        let networks: Vec<Network> = Network::ALL
            .into_iter()
            .filter(|n| match n.tx_hash_format() {
                TxHashFormat::PrefixedHex { .. } => prefixed,
                TxHashFormat::Hex { .. } => !prefixed,
                _ => false,
            })
            .collect();
        proptest::sample::select(networks)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn ids_accept_exactly_the_reference_predicate(raw in id_like()) {
            let parsed = WithdrawalId::parse(&raw);
            prop_assert_eq!(parsed.is_ok(), reference_id_ok(&raw), "{:?}", raw);
            prop_assert_eq!(UserId::parse(&raw).is_ok(), reference_id_ok(&raw));
            match parsed {
                Ok(id) => {
                    prop_assert_eq!(id.as_str(), raw.as_str());
                    let json = serde_json::to_string(&id).unwrap();
                    prop_assert_eq!(serde_json::from_str::<WithdrawalId>(&json).unwrap(), id);
                }
                Err(err) => {
                    prop_assert_eq!(err.field, "id");
                    prop_assert!(serde_json::from_value::<WithdrawalId>(serde_json::json!(raw)).is_err());
                }
            }
        }

        #[test]
        fn tx_hashes_never_panic_and_normalize_idempotently(network in proptest::sample::select(Network::ALL.to_vec()), raw in ".{0,140}") {
            if let Ok(hash) = TxHash::parse(network, &raw) {
                prop_assert!(!hash.as_str().is_empty() && hash.as_str().len() <= MAX_TX_HASH_LEN);
                prop_assert_eq!(TxHash::parse(network, hash.as_str()).unwrap(), hash.clone());
                prop_assert!(hash.as_str().eq_ignore_ascii_case(&raw), "only the case may change");
            }
        }

        #[test]
        fn prefixed_hex_hashes_round_trip_in_any_case(network in hex_network(true), bytes in proptest::collection::vec(any::<u8>(), 32), upper in any::<bool>()) {
            let TxHashFormat::PrefixedHex { bytes: len } = network.tx_hash_format() else { unreachable!() };
            let hex: String = bytes.iter().cycle().take(len).map(|b| format!("{b:02x}")).collect();
            let raw = if upper { format!("0X{}", hex.to_ascii_uppercase()) } else { format!("0x{hex}") };
            let parsed = TxHash::parse(network, &raw).unwrap();
            prop_assert_eq!(parsed.as_str(), format!("0x{hex}"));
            // One digit short, one too many, or without the prefix: refused.
            let longer = format!("{raw}0");
            prop_assert!(TxHash::parse(network, &raw[..raw.len() - 1]).is_err());
            prop_assert!(TxHash::parse(network, &longer).is_err());
            prop_assert!(TxHash::parse(network, &hex).is_err());
        }

        #[test]
        fn bare_hex_hashes_accept_exactly_their_length(network in hex_network(false), len in 0usize..140, digit in "[0-9a-fA-F]", bad in "[g-zG-Z_ .]") {
            let TxHashFormat::Hex { bytes, upper } = network.tx_hash_format() else { unreachable!() };
            let raw = digit.repeat(len);
            let parsed = TxHash::parse(network, &raw);
            prop_assert_eq!(parsed.is_ok(), len == bytes * 2, "{} {}", network, len);
            if let Ok(hash) = parsed {
                let expected = if upper { raw.to_ascii_uppercase() } else { raw.to_ascii_lowercase() };
                prop_assert_eq!(hash.as_str(), expected.as_str());
                let mut broken = raw.clone();
                broken.replace_range(len / 2..len / 2 + 1, &bad);
                prop_assert!(TxHash::parse(network, &broken).is_err());
            }
        }

        #[test]
        fn base58_and_opaque_hashes_keep_their_text(network in proptest::sample::select(Network::ALL.to_vec()), raw in "[1-9A-HJ-NP-Za-km-z]{1,128}") {
            match network.tx_hash_format() {
                TxHashFormat::Base58 { min_len, max_len } => {
                    let parsed = TxHash::parse(network, &raw);
                    prop_assert_eq!(parsed.is_ok(), (min_len..=max_len).contains(&raw.len()));
                    if let Ok(hash) = parsed {
                        prop_assert_eq!(hash.as_str(), raw.as_str());
                        let with_zero = format!("0{}", &raw[1..]);
                        prop_assert!(TxHash::parse(network, &with_zero).is_err(), "0 is not base58");
                    }
                }
                TxHashFormat::Opaque => {
                    let parsed = TxHash::parse(network, &raw).unwrap();
                    prop_assert_eq!(parsed.as_str(), raw.as_str());
                    let spaced = format!("{raw} x");
                    prop_assert!(TxHash::parse(network, &spaced).is_err(), "no spaces");
                }
                _ => {}
            }
        }
    }

    #[test]
    fn solana_signatures_are_base58() {
        let sig = "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW";
        assert!(TxHash::parse(Network::Sol, sig).is_ok());
        assert!(TxHash::parse(Network::Sol, &sig.replace('5', "0")).is_err());
    }
}
