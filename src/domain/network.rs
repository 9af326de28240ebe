//! Network codes and the per-network facts the rest of the domain needs.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ids::TxHashFormat;

macro_rules! networks {
    ($($variant:ident => $code:literal, $name:literal;)+) => {
        /// A blockchain network, written on the wire as its upper-case code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Network {
            $(#[serde(rename = $code)] $variant,)+
        }

        impl Network {
            pub const ALL: [Network; 30] = [$(Network::$variant,)+];

            pub fn code(self) -> &'static str {
                match self { $(Network::$variant => $code,)+ }
            }

            /// The network's name as people know it.
            pub fn display_name(self) -> &'static str {
                match self { $(Network::$variant => $name,)+ }
            }

            /// Exact upper-case code only: `eth` is not `ETH`, so a client
            /// bug surfaces instead of being guessed around.
            pub fn parse(code: &str) -> Option<Network> {
                match code { $($code => Some(Network::$variant),)+ _ => None }
            }
        }
    };
}

networks! {
    Btc => "BTC", "Bitcoin";
    Ltc => "LTC", "Litecoin";
    Doge => "DOGE", "Dogecoin";
    Bch => "BCH", "Bitcoin Cash";
    Dash => "DASH", "Dash";
    Zec => "ZEC", "Zcash";
    Eth => "ETH", "Ethereum";
    Bsc => "BSC", "BNB Smart Chain";
    Polygon => "POLYGON", "Polygon PoS";
    Arbitrum => "ARBITRUM", "Arbitrum One";
    Optimism => "OPTIMISM", "OP Mainnet";
    Base => "BASE", "Base";
    Avaxc => "AVAXC", "Avalanche C-Chain";
    Etc => "ETC", "Ethereum Classic";
    Trx => "TRX", "TRON";
    Sol => "SOL", "Solana";
    Xrp => "XRP", "XRP Ledger";
    Xlm => "XLM", "Stellar";
    Ada => "ADA", "Cardano";
    Dot => "DOT", "Polkadot";
    Atom => "ATOM", "Cosmos Hub";
    Ton => "TON", "TON";
    Near => "NEAR", "NEAR Protocol";
    Apt => "APT", "Aptos";
    Sui => "SUI", "Sui";
    Algo => "ALGO", "Algorand";
    Hbar => "HBAR", "Hedera";
    Eos => "EOS", "EOS";
    Xtz => "XTZ", "Tezos";
    Fil => "FIL", "Filecoin";
}

impl Network {
    pub fn memo_rule(self) -> MemoRule {
        match self {
            Network::Xrp => MemoRule::XrpDestinationTag,
            Network::Xlm => MemoRule::StellarTextOrId,
            Network::Eos => MemoRule::EosMemo,
            Network::Atom => MemoRule::CosmosMemo,
            Network::Ton => MemoRule::TonComment,
            Network::Hbar => MemoRule::HederaMemo,
            _ => MemoRule::None,
        }
    }

    /// Confirmations on the best chain before a withdrawal counts as
    /// completed, unless the config says otherwise. Solana and XRPL have
    /// their own finality (`finalized`, `validated`): one observation of it.
    pub fn default_required_confirmations(self) -> u64 {
        use Network::*;
        match self {
            Btc => 2,
            Ltc => 6,
            Doge => 40,
            Bch => 15,
            Dash => 6,
            Zec => 24,
            Eth => 64,
            Bsc => 15,
            Polygon => 300,
            Arbitrum | Optimism | Base => 100,
            Avaxc => 12,
            Etc => 500,
            Trx => 19,
            Ada => 15,
            // Tenderbake: final with two blocks on top.
            Xtz => 3,
            _ => 1,
        }
    }

    /// Decimals of the network's own coin: amounts in base units are
    /// `amount * 10^decimals`.
    pub fn native_decimals(self) -> u32 {
        use Network::*;
        match self {
            Btc | Ltc | Doge | Bch | Dash | Zec => 8,
            n if n.is_evm() => 18,
            Trx | Xrp | Ada | Algo | Xtz => 6,
            Sol | Ton | Sui => 9,
            Xlm => 7,
            Dot => 10,
            Atom => 6,
            Near => 24,
            Apt | Hbar => 8,
            Eos => 4,
            Fil => 18,
            _ => 0,
        }
    }

    /// The interval the network aims to produce blocks (or ledgers,
    /// checkpoints, slots) at: what the arrival estimate assumes until the
    /// tracker has observed this network's real block times.
    pub fn target_block_interval(self) -> std::time::Duration {
        use Network::*;
        let millis = match self {
            Btc | Bch => 600_000,
            Ltc => 150_000,
            Doge => 60_000,
            Dash => 157_500,
            Zec => 75_000,
            Eth | Etc => 12_000,
            Bsc => 3_000,
            Polygon | Optimism | Base | Avaxc => 2_000,
            Arbitrum => 250,
            Trx => 3_000,
            Sol => 400,
            Xrp | Xlm => 5_000,
            Ada => 20_000,
            Dot => 6_000,
            Atom => 6_000,
            Ton => 5_000,
            Near => 1_000,
            Apt => 250,
            Sui => 500,
            Algo => 2_900,
            Hbar => 2_000,
            Eos => 500,
            Xtz => 8_000,
            Fil => 30_000,
        };
        std::time::Duration::from_millis(millis)
    }

    pub fn is_evm(self) -> bool {
        use Network::*;
        matches!(self, Eth | Bsc | Polygon | Arbitrum | Optimism | Base | Avaxc | Etc)
    }

    pub fn tx_hash_format(self) -> TxHashFormat {
        use Network::*;
        match self {
            n if n.is_evm() => TxHashFormat::PrefixedHex { bytes: 32 },
            Btc | Ltc | Doge | Bch | Dash | Zec | Trx | Ada | Atom | Eos => {
                TxHashFormat::Hex { bytes: 32, upper: false }
            }
            Xrp => TxHashFormat::Hex { bytes: 32, upper: true },
            // Horizon writes transaction hashes in lower-case hex.
            Xlm => TxHashFormat::Hex { bytes: 32, upper: false },
            // Ed25519 signatures (64 bytes) in base58 are 86-88 characters.
            Sol => TxHashFormat::Base58 { min_len: 86, max_len: 88 },
            // Extrinsic hashes (blake2-256), as Sidecar writes them.
            Dot => TxHashFormat::PrefixedHex { bytes: 32 },
            // Transaction digests: 32 bytes in base58.
            Sui => TxHashFormat::Base58 { min_len: 32, max_len: 44 },
            // Transaction ids: base32 of 32 bytes, no padding, upper case.
            Algo => TxHashFormat::Base32 { len: 52 },
            // A `CryptoHash`: 32 bytes in base58, as `tx` takes it.
            Near => TxHashFormat::Base58 { min_len: 32, max_len: 44 },
            // Operation hashes: `o` + base58check of 32 bytes, 51 characters.
            Xtz => TxHashFormat::Base58 { min_len: 51, max_len: 51 },
            // Message CIDs (CIDv1, base32 lower case: `bafy2bzace...`), as
            // Lotus writes them.
            Fil => TxHashFormat::Opaque,
            _ => TxHashFormat::Opaque,
        }
    }

    /// A public explorer page for a transaction, so the user can look for
    /// themselves. `None` where no stable public URL scheme exists.
    pub fn explorer_tx_url(self, tx_hash: &str) -> Option<String> {
        use Network::*;
        let base = match self {
            Btc => "https://mempool.space/tx/",
            Ltc => "https://litecoinspace.org/tx/",
            Doge => "https://blockchair.com/dogecoin/transaction/",
            Bch => "https://blockchair.com/bitcoin-cash/transaction/",
            Dash => "https://blockchair.com/dash/transaction/",
            Zec => "https://blockchair.com/zcash/transaction/",
            Eth => "https://etherscan.io/tx/",
            Bsc => "https://bscscan.com/tx/",
            Polygon => "https://polygonscan.com/tx/",
            Arbitrum => "https://arbiscan.io/tx/",
            Optimism => "https://optimistic.etherscan.io/tx/",
            Base => "https://basescan.org/tx/",
            Avaxc => "https://snowtrace.io/tx/",
            Etc => "https://etc.blockscout.com/tx/",
            Trx => "https://tronscan.org/#/transaction/",
            Sol => "https://solscan.io/tx/",
            Xrp => "https://livenet.xrpl.org/transactions/",
            Xlm => "https://stellar.expert/explorer/public/tx/",
            Ada => "https://cardanoscan.io/transaction/",
            Dot => "https://polkadot.subscan.io/extrinsic/",
            Atom => "https://www.mintscan.io/cosmos/tx/",
            Ton => "https://tonviewer.com/transaction/",
            Near => "https://nearblocks.io/txns/",
            Apt => "https://explorer.aptoslabs.com/txn/",
            Sui => "https://suiscan.xyz/mainnet/tx/",
            Algo => "https://allo.info/tx/",
            Hbar => "https://hashscan.io/mainnet/transaction/",
            Eos => "https://eosauthority.com/transaction/",
            Xtz => "https://tzkt.io/",
            Fil => "https://filfox.info/en/message/",
        };
        Some(format!("{base}{tx_hash}"))
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What a deposit memo / tag looks like on a network. Limits are the protocol's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoRule {
    None,
    /// Decimal unsigned 32-bit destination tag.
    XrpDestinationTag,
    /// MEMO_TEXT (at most 28 bytes) or MEMO_ID (unsigned 64-bit, all digits).
    StellarTextOrId,
    /// Transfer memo of at most 256 bytes.
    EosMemo,
    /// Transaction memo of at most 256 characters.
    CosmosMemo,
    /// Text comment of at most 120 bytes.
    TonComment,
    /// Transaction memo of at most 100 bytes.
    HederaMemo,
}

impl MemoRule {
    pub fn description(self) -> &'static str {
        match self {
            MemoRule::None => "memos are not supported",
            MemoRule::XrpDestinationTag => "destination tag: decimal unsigned 32-bit integer (0 to 4294967295)",
            MemoRule::StellarTextOrId => {
                "memo: all digits = memo id (unsigned 64-bit integer), otherwise text of at most 28 bytes"
            }
            MemoRule::EosMemo => "memo: text of at most 256 bytes",
            MemoRule::CosmosMemo => "memo: text of at most 256 characters",
            MemoRule::TonComment => "comment: text of at most 120 bytes",
            MemoRule::HederaMemo => "memo: text of at most 100 bytes",
        }
    }

    pub fn supported(self) -> bool {
        self != MemoRule::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_upper_case() {
        assert_eq!(Network::ALL.len(), 30);
        for network in Network::ALL {
            assert_eq!(Network::parse(network.code()), Some(network));
            assert_eq!(network.code(), network.code().to_ascii_uppercase());
            let json = serde_json::to_string(&network).unwrap();
            assert_eq!(json, format!("\"{}\"", network.code()));
        }
    }

    #[test]
    fn parsing_is_exact() {
        assert_eq!(Network::parse("eth"), None);
        assert_eq!(Network::parse("ERC20"), None);
        assert_eq!(Network::parse(" ETH"), None);
    }

    #[test]
    fn every_network_has_a_target_block_interval() {
        let cases = [(Network::Btc, 600), (Network::Eth, 12), (Network::Ltc, 150), (Network::Trx, 3)];
        for (network, seconds) in cases {
            assert_eq!(network.target_block_interval().as_secs(), seconds, "{network}");
        }
        assert!(Network::ALL.iter().all(|n| !n.target_block_interval().is_zero()));
    }

    #[test]
    fn eight_networks_are_evm() {
        assert_eq!(Network::ALL.iter().filter(|n| n.is_evm()).count(), 8);
    }
}
