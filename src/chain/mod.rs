//! What the tracker needs from a blockchain, behind one of two traits: a
//! `BlockChain` (the tip, a block's transactions, whether a block is still on
//! the best chain, one transaction's outcome and payments, whether it was
//! replaced) or a `StatusChain` (the status of pending transactions in
//! batches). One file per explorer API, filling in one of them; the HTTP
//! plumbing (endpoint set with failover, JSON-RPC transport) is shared.
//! Nothing here knows about withdrawals.

pub mod algod;
pub mod antelope;
pub mod aptos;
pub mod blockbook;
pub mod blockfrost;
mod cardano_cbor;
pub mod cosmos;
pub mod esplora;
pub mod evm;
mod final_answers;
mod graphql;
pub mod hedera_mirror;
pub mod horizon;
pub mod http;
mod jsonrpc;
pub mod lotus;
pub mod near;
pub mod octez;
pub mod sidecar;
pub mod solana;
pub mod sui;
mod tezos_tokens;
pub mod toncenter;
pub mod tron;
pub mod xrpl;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a chain says, as plain data: the domain owns these types (it applies
/// them to withdrawals), every client fills them in.
pub use crate::domain::onchain::{
    Asset, BaseUnits, BlockRef, OutPoint, Payment, ReplacementKey as ConflictKey, TxInfo, TxLocation, UnitsError,
};
pub use algod::AlgodClient;
pub use antelope::AntelopeClient;
pub use aptos::AptosClient;
pub use blockbook::BlockbookClient;
pub use blockfrost::BlockfrostClient;
pub use cosmos::CosmosClient;
pub use esplora::EsploraClient;
pub use evm::EvmClient;
pub use hedera_mirror::HederaMirrorClient;
pub use horizon::HorizonClient;
pub use http::{ApiKey, ClientConfig, Gate};
pub use lotus::LotusClient;
pub use near::NearClient;
pub use octez::OctezClient;
pub use sidecar::SidecarClient;
pub use solana::SolanaClient;
pub use sui::SuiClient;
pub use toncenter::ToncenterClient;
pub use tron::TronClient;
pub use xrpl::XrplClient;

/// A block timestamp in unix seconds, as explorers write them.
pub(crate) fn unix_seconds(seconds: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0)
}

/// `lookup` of every item, in order, `at_once` at a time (explorers whose
/// status is one request per transaction); the first error ends it.
pub(crate) async fn in_chunks<'a, T, R, Fut>(
    items: &'a [T],
    at_once: usize,
    lookup: impl Fn(&'a T) -> Fut,
) -> Result<Vec<R>, ChainError>
where
    Fut: std::future::Future<Output = Result<R, ChainError>>,
{
    let mut results = Vec::with_capacity(items.len());
    for chunk in items.chunks(at_once) {
        results.extend(futures_util::future::try_join_all(chunk.iter().map(&lookup)).await?);
    }
    Ok(results)
}

/// Sorted by what the caller should do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// Slow down: wait `retry_after` (when the server said) before the next request.
    #[error("rate limited (retry after {retry_after:?})")]
    RateLimited { retry_after: Option<Duration> },
    /// 5xx, timeout or no connection on every endpoint: try again later.
    #[error("chain API unavailable: {0}")]
    Unavailable(String),
    /// The thing asked for does not exist (e.g. a block above the tip).
    #[error("not found")]
    NotFound,
    /// The API answered something we do not understand: retrying will not help
    /// until someone looks. Says what was wrong.
    #[error("unexpected response: {0}")]
    BadResponse(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub at: BlockRef,
    /// `None` for the genesis block.
    pub parent_hash: Option<String>,
    /// In block order.
    pub txs: Vec<BlockTx>,
    /// The block's own timestamp, where the response that carries the block
    /// has it (block intervals for the arrival estimate).
    pub time: Option<DateTime<Utc>>,
    /// The block's place in its chain's expiry unit, the unit a transaction's
    /// expiry is written in there (Cardano: slot; Stellar, Aptos, TON: close
    /// time in unix seconds; Polkadot: block number; Sui: epoch). `None` on
    /// chains whose transactions do not expire while pending.
    pub expiry_point: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockTx {
    pub txid: String,
    /// Account chains deliver the call with the block (UTXO explorers only
    /// list ids): enough for a payee check without another request.
    pub call: Option<EvmCall>,
}

/// An EVM transaction as the block carries it: what it asks for, not what
/// happened (that needs the receipt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvmCall {
    /// Lowercase `0x` hex, as every EVM address here.
    pub from: String,
    /// `None` for a contract creation.
    pub to: Option<String>,
    pub value: BaseUnits,
    pub nonce: u64,
    /// Calldata, `0x` hex.
    pub input: String,
}

impl EvmCall {
    /// The payments this call asks for: its native value, and an ERC-20
    /// `transfer(address,uint256)` when the calldata is one. Only the receipt
    /// says whether they happened.
    pub fn requested_payments(&self) -> Vec<Payment> {
        let Some(to) = &self.to else { return Vec::new() };
        let mut payments = Vec::new();
        if self.value != BaseUnits::ZERO {
            payments.push(Payment { to: to.clone(), amount: self.value, asset: Asset::Native, memo: None });
        }
        if let Some((recipient, amount)) = evm::decode_transfer_call(&self.input) {
            payments.push(Payment { to: recipient, amount, asset: Asset::Token(to.clone()), memo: None });
        }
        payments
    }
}

/// Another transaction took this one's place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    /// The replacement, when the API can name it (Esplora outspends); EVM
    /// only learns that the nonce was used by something else.
    pub by: Option<String>,
}

/// Where a transaction stands, for a `StatusChain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxStatus {
    pub txid: String,
    /// `None` while the node does not know it.
    pub location: Option<TxLocation>,
    /// Final by the chain's own rule (Solana `finalized`, XRPL `validated`):
    /// no confirmation counting needed.
    pub finalized: bool,
    /// `Some(false)` when it executed and failed (XRPL result other than
    /// `tesSUCCESS`, Solana `err`).
    pub success: Option<bool>,
    /// It can no longer be included (Solana: its blockhash's last valid
    /// height passed; XRPL: `LastLedgerSequence` passed).
    pub expired: bool,
}

/// A transaction the tracker is waiting for on a `StatusChain`,
/// with what it recorded at broadcast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingTx {
    pub txid: String,
    /// The last height at which it can still be included, in the chain's
    /// own unit: Solana, the `lastValidBlockHeight` that `getLatestBlockhash`
    /// returned with the transaction's recent blockhash (a block height, not a
    /// slot); XRPL, its `LastLedgerSequence` (a ledger index); TON, the
    /// wallet message's `valid_until` (unix seconds). The node cannot
    /// tell it for a transaction it never saw, so without it such a
    /// transaction is never `expired` (XRPL still reads it from a `tx` answer
    /// when the node knows the transaction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_valid_height: Option<u64>,
}

impl PendingTx {
    pub fn new(txid: impl Into<String>) -> Self {
        Self { txid: txid.into(), last_valid_height: None }
    }

    pub fn expiring(txid: impl Into<String>, last_valid_height: u64) -> Self {
        Self { txid: txid.into(), last_valid_height: Some(last_valid_height) }
    }
}

/// A chain the tracker follows block by block: poll the tip, read each new
/// block's transaction ids once, match pending hashes locally (UTXO and EVM
/// chains, TRON).
#[async_trait]
pub trait BlockChain: Send + Sync + 'static {
    /// A short name for logs and metrics.
    fn name(&self) -> &'static str;

    /// The best chain's tip, height and hash from one consistent read.
    async fn tip(&self) -> Result<BlockRef, ChainError>;

    /// Whether `tip_block` costs one request (then the tracker reads a
    /// single new block through it instead of `tip` + `block_at`).
    fn tip_carries_block(&self) -> bool {
        false
    }

    /// The tip block with its transactions.
    async fn tip_block(&self) -> Result<Block, ChainError> {
        let tip = self.tip().await?;
        self.block_at(tip.height).await
    }

    /// The best chain's block at `height`: `NotFound` above the tip.
    async fn block_at(&self, height: u64) -> Result<Block, ChainError>;

    /// Whether `block` (by hash) is still on the best chain; an unknown hash
    /// is not.
    async fn is_in_best_chain(&self, block: &BlockRef) -> Result<bool, ChainError>;

    /// `Ok(None)` when the node does not know the transaction (never sent, or
    /// evicted from its mempool).
    async fn transaction(&self, txid: &str) -> Result<Option<TxInfo>, ChainError>;

    /// Several transactions found in `block`, in as few requests as the API
    /// allows. Ids the node does not know are left out.
    async fn transactions_in_block(&self, block: &Block, txids: &[String]) -> Result<Vec<TxInfo>, ChainError> {
        let _ = block;
        let mut found = Vec::with_capacity(txids.len());
        for txid in txids {
            found.extend(self.transaction(txid).await?);
        }
        Ok(found)
    }

    /// The API's address index, where it has one (UTXO explorers): `None`
    /// for chains whose payments are found in their blocks (EVM) or not at
    /// all (TRON).
    fn address_history(&self) -> Option<&dyn AddressHistory> {
        None
    }

    /// Whether a watched transaction's outcome is read from each block that
    /// holds it even when its payee was checked before (in the mempool):
    /// chains where a transaction can fail in its block and
    /// `transactions_in_block` tells it with no request (Tezos). EVM chains
    /// always read receipts.
    fn outcome_in_block(&self) -> bool {
        false
    }

    /// Whether discovery finds payments in each new block's own
    /// transactions (`requested_payments`: account chains whose blocks carry
    /// their calls, EVM and Polkadot) rather than through `address_history`.
    fn discovers_in_blocks(&self) -> bool {
        false
    }

    /// What the transactions of `block` (as this client returned it) ask to
    /// pay, as the block itself tells, with no request: `(txid, payment)`.
    /// Only the outcome (`transactions_in_block`) says whether they
    /// happened. By default the EVM calls the block carries.
    fn requested_payments(&self, block: &Block) -> Vec<(String, Payment)> {
        block
            .txs
            .iter()
            .filter_map(|tx| Some((tx, tx.call.as_ref()?)))
            .flat_map(|(tx, call)| call.requested_payments().into_iter().map(move |p| (tx.txid.clone(), p)))
            .collect()
    }

    /// Whether `txid` was replaced by another transaction spending the same
    /// `conflict` (from its `TxInfo`); `None` while it was not (it may still
    /// be pending, mined, or just dropped).
    async fn replacement(&self, txid: &str, conflict: &ConflictKey) -> Result<Option<Replaced>, ChainError>;

    /// How fast things move now (fee levels, backlog, how full blocks are)
    /// and what holds each of the `waiting` transactions (its fee, its
    /// sender's nonces): a few requests per call, never one per transaction.
    /// The tracker asks once per poll, only while something waits. A chain
    /// that offers nothing of the kind answers nothing (its estimates rest
    /// on block times alone).
    async fn signals(&self, waiting: &[String]) -> Result<Readings, ChainError> {
        let _ = waiting;
        Ok(Readings::default())
    }
}

/// What a chain says about how fast things move: fees, backlog, and
/// single waiting transactions (the arrival estimate's chain signals).
pub use crate::domain::eta::{Readings, TxReading};

/// An explorer's index of transactions by address.
#[async_trait]
pub trait AddressHistory: Send + Sync {
    /// Transactions paying `address`, newest first as the API lists them (for
    /// discovering a payment whose hash the exchange never sent).
    async fn payments_to(&self, address: &str) -> Result<Vec<TxInfo>, ChainError>;
}

/// A chain the tracker follows by asking for the status of pending
/// transactions in batches (Solana `getSignatureStatuses`, XRPL `tx`):
/// chains whose blocks are too large or too frequent to read whole.
#[async_trait]
pub trait StatusChain: Send + Sync + 'static {
    /// A short name for logs and metrics.
    fn name(&self) -> &'static str;

    /// How many transactions one `statuses_of` call should be given at most.
    fn max_batch(&self) -> usize;

    /// The newest final block (for the tip metric).
    async fn tip(&self) -> Result<BlockRef, ChainError>;

    /// The status of each of `txs` (at most `max_batch`), in order, with
    /// what the tracker recorded at broadcast, so that a transaction the
    /// node never saw can be reported `expired` once its last valid height
    /// passed.
    async fn statuses_of(&self, txs: &[PendingTx]) -> Result<Vec<TxStatus>, ChainError>;

    /// `statuses_of` for transactions with nothing recorded at broadcast.
    async fn statuses(&self, txids: &[String]) -> Result<Vec<TxStatus>, ChainError> {
        let pending: Vec<PendingTx> = txids.iter().map(PendingTx::new).collect();
        self.statuses_of(&pending).await
    }

    /// A final transaction's outcome and payments; `Ok(None)` when the node
    /// does not know it.
    async fn transaction(&self, txid: &str) -> Result<Option<TxInfo>, ChainError>;

    /// The API's index of transactions by address, where it has one
    /// (toncenter, Sui's `affectedAddress` filter): discovery of payments
    /// registered without a hash. `None` for chains whose payments cannot be
    /// found by address here.
    fn address_history(&self) -> Option<&dyn AddressHistory> {
        None
    }

    /// Whether the last `statuses_of` found that another transaction took
    /// `txid`'s place (Filecoin: a message with its nonce landed), so it will
    /// never land: no request. `None` by default.
    fn replaced(&self, txid: &str) -> Option<Replaced> {
        let _ = txid;
        None
    }
}

/// A configured network's client, by how the tracker follows it.
#[derive(Clone)]
pub enum Chain {
    Blocks(Arc<dyn BlockChain>),
    Statuses(Arc<dyn StatusChain>),
}
