//! What a chain says, as plain data: blocks, where a transaction is, what it
//! pays, how to tell it was replaced. The chain clients fill these in (the
//! `chain` module re-exports them); the domain applies them to withdrawals
//! (`tracking`, `payee`). Nothing here does I/O.

use serde::{Deserialize, Serialize};

pub use super::units::{BaseUnits, UnitsError};

/// A block by height and hash: the hash pins which fork we mean.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlockRef {
    pub height: u64,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Asset {
    /// BTC, ETH, ...: the chain's own coin.
    Native,
    /// A token, by contract address (lowercase `0x` hex for EVM), mint
    /// (Solana SPL) or `{currency}.{issuer}` (XRPL issued currency).
    Token(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// An address in the chain's usual text form (lowercase hex for EVM).
    pub to: String,
    pub amount: BaseUnits,
    pub asset: Asset,
    /// What the payment tells the payee apart by, for chains where one
    /// address serves many (XRPL `DestinationTag`, as decimal text). `None`
    /// when the payment carries none, or the chain has no such thing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxLocation {
    Mempool,
    Block(BlockRef),
}

/// How to tell later that a transaction was replaced, even once the node has
/// forgotten it: kept on the record from the first sighting (the chain
/// module calls it `ConflictKey`). Its JSON is what records store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplacementKey {
    /// UTXO: the previous outputs it spends; another spender replaced it.
    Outpoints(Vec<OutPoint>),
    /// Account: the sender's nonce; another transaction with it replaced it.
    /// (TRON has no nonce and spends no outputs: its key is an empty
    /// `Outpoints`, and nothing can replace it; it lands or expires.)
    Nonce { from: String, nonce: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OutPoint {
    pub txid: String,
    pub vout: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxInfo {
    pub txid: String,
    pub location: TxLocation,
    /// `Some(false)` when an EVM transaction was mined but reverted (receipt
    /// status 0x0): it paid nothing. `None` while not executed yet (or a
    /// pre-Byzantium receipt). UTXO transactions cannot fail once valid.
    pub success: Option<bool>,
    /// Outputs (UTXO), or native value plus decoded ERC-20 `Transfer` logs
    /// (EVM; logs exist only once mined; empty for a reverted transaction). Amounts that do not
    /// fit in `BaseUnits` are left out: no withdrawal can be that large.
    pub payments: Vec<Payment>,
    pub conflict: ReplacementKey,
    /// The last point at which the transaction can still be included, in
    /// its chain's expiry unit (see `chain::Block::expiry_point`), where the
    /// answer says so; `None` on chains whose transactions do not expire.
    pub valid_until: Option<u64>,
}
