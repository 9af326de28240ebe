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

/// How a network writes its transaction ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxHashFormat {
    PrefixedHex { bytes: usize },
    Hex { bytes: usize, upper: bool },
    Base58 { min_len: usize, max_len: usize },
    Opaque,
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(TxHash::parse(Network::Eth, &"ab".repeat(32)).is_err());
        assert!(TxHash::parse(Network::Eth, &format!("0x{}", "ab".repeat(31))).is_err());
        assert!(TxHash::parse(Network::Eth, &format!("0x{}zz", "ab".repeat(31))).is_err());
    }

    #[test]
    fn bitcoin_and_xrp_hashes_keep_their_conventional_case() {
        let hash = "Ab".repeat(32);
        assert_eq!(TxHash::parse(Network::Btc, &hash).unwrap().as_str(), "ab".repeat(32));
        assert_eq!(TxHash::parse(Network::Xrp, &hash).unwrap().as_str(), "AB".repeat(32));
        assert!(TxHash::parse(Network::Btc, &format!("0x{}", "ab".repeat(32))).is_err());
    }

    #[test]
    fn solana_signatures_are_base58() {
        let sig = "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW";
        assert!(TxHash::parse(Network::Sol, sig).is_ok());
        assert!(TxHash::parse(Network::Sol, &sig.replace('5', "0")).is_err());
    }
}
