//! Algorand through a node's REST API (algod,
//! <https://dev.algorand.co/reference/rest-api/algod/>) and an indexer
//! (<https://dev.algorand.co/reference/rest-api/indexer/>): two base URL
//! sets, the node's (`urls`) and the indexer's (`indexer_urls`). Followed
//! round by round (a `BlockChain`):
//! - the tip is the newest round both hold: the node's `last-round`
//!   (`GET /v2/status`) and the indexer's (`GET /health`: `round`), so a
//!   block at the tip is always there to read; its hash is the node's
//!   (`GET /v2/blocks/{round}/hash`: `blockHash`, base32);
//! - a block is the indexer's (`GET /v2/blocks/{round}`: `previous-block-hash`
//!   in base64, `timestamp`, `transactions` with their ids, payments and
//!   asset transfers, inner transactions included) with the node's hash of
//!   it: the payee check of every watched transaction in a round costs no
//!   further request, and discovery finds payments in the rounds read;
//! - a lookup asks the node first (`GET /v2/transactions/pending/{txid}`:
//!   the pool, and transactions it committed lately, with `confirmed-round`
//!   or `pool-error`), then the indexer (`GET /v2/transactions/{txid}`).
//!
//! Algorand has instant finality: a round, once certified, is final (one
//! confirmation), and a transaction that fails is never in a block: the
//! node throws it out of its pool (`pool-error`), which is its failure.
//! Payments: `payment-transaction` (`amount` and `close-amount` in
//! microalgos), `asset-transfer-transaction` (`asset-id`, `amount` in the
//! asset's base units; USDC is ASA 31566704), the `note` (base64) as the
//! memo. Nothing replaces a transaction (no nonce): one that never lands
//! expires once the tip round passes its `last-valid` round (`lv`), the
//! blocks' `expiry_point` being their round.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::http::{parse_json, ClientConfig, Endpoints, Reply};
use super::{
    Asset, BaseUnits, Block, BlockChain, BlockRef, BlockTx, ChainError, ConflictKey, Payment, Replaced, TxInfo,
    TxLocation,
};

/// Rounds whose transactions are kept for `transactions_in_block` and
/// discovery (the tracker reads at most 50 per tick).
const KEPT_ROUNDS: usize = 64;
/// How deep inner transactions are read (the protocol allows 8 levels of
/// application calls; payments sit well within).
const MAX_INNER_DEPTH: usize = 8;

#[derive(Deserialize)]
struct NodeStatus {
    #[serde(rename = "last-round")]
    last_round: u64,
}

#[derive(Deserialize)]
struct IndexerHealth {
    round: u64,
}

#[derive(Deserialize)]
struct BlockHash {
    #[serde(rename = "blockHash")]
    block_hash: String,
}

/// The indexer's block (`Block` in its OpenAPI spec).
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct IndexerBlock {
    round: u64,
    /// Base64 of the previous block's 32-byte hash.
    previous_block_hash: String,
    /// Unix seconds.
    timestamp: i64,
    #[serde(default)]
    transactions: Vec<IndexerTx>,
}

#[derive(Deserialize)]
struct IndexerLookup {
    transaction: IndexerTx,
}

/// The indexer's `Transaction`: only what a payee check reads.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct IndexerTx {
    /// Absent on inner transactions.
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    confirmed_round: Option<u64>,
    #[serde(default)]
    last_valid: Option<u64>,
    /// Base64.
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    payment_transaction: Option<IndexerPayment>,
    #[serde(default)]
    asset_transfer_transaction: Option<IndexerAssetTransfer>,
    #[serde(default)]
    inner_txns: Vec<IndexerTx>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct IndexerPayment {
    amount: u64,
    receiver: String,
    #[serde(default)]
    close_amount: Option<u64>,
    #[serde(default)]
    close_remainder_to: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct IndexerAssetTransfer {
    amount: u64,
    asset_id: u64,
    receiver: String,
    #[serde(default)]
    close_amount: Option<u64>,
    #[serde(default)]
    close_to: Option<String>,
}

/// algod's `PendingTransactionResponse`.
#[derive(Deserialize)]
struct Pending {
    #[serde(rename = "pool-error", default)]
    pool_error: String,
    #[serde(rename = "confirmed-round", default)]
    confirmed_round: Option<u64>,
    txn: SignedTxn,
}

#[derive(Deserialize)]
struct SignedTxn {
    txn: NodeTxn,
}

/// A transaction as the node encodes it (msgpack field names; zero values
/// left out).
#[derive(Deserialize)]
struct NodeTxn {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    lv: Option<u64>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    rcv: Option<String>,
    #[serde(default)]
    amt: Option<u64>,
    #[serde(default)]
    xaid: Option<u64>,
    #[serde(default)]
    arcv: Option<String>,
    #[serde(default)]
    aamt: Option<u64>,
}

/// The note as text (the memo), when it is UTF-8.
fn note_text(note: Option<&str>) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(note?).ok()?;
    String::from_utf8(bytes).ok().filter(|text| !text.is_empty())
}

fn pay(to: &str, amount: u64, asset: &Asset, memo: &Option<String>) -> Option<Payment> {
    (amount > 0).then(|| Payment {
        to: to.to_owned(),
        amount: BaseUnits::new(u128::from(amount)),
        asset: asset.clone(),
        memo: memo.clone(),
    })
}

/// What a transaction and its inner transactions pay: the amount and the
/// close-out of payments and asset transfers.
fn indexer_payments(tx: &IndexerTx, memo: &Option<String>, depth: usize, out: &mut Vec<Payment>) {
    if let Some(p) = &tx.payment_transaction {
        out.extend(pay(&p.receiver, p.amount, &Asset::Native, memo));
        if let (Some(to), Some(amount)) = (&p.close_remainder_to, p.close_amount) {
            out.extend(pay(to, amount, &Asset::Native, memo));
        }
    }
    if let Some(a) = &tx.asset_transfer_transaction {
        let asset = Asset::Token(a.asset_id.to_string());
        out.extend(pay(&a.receiver, a.amount, &asset, memo));
        if let (Some(to), Some(amount)) = (&a.close_to, a.close_amount) {
            out.extend(pay(to, amount, &asset, memo));
        }
    }
    if depth < MAX_INNER_DEPTH {
        for inner in &tx.inner_txns {
            indexer_payments(inner, memo, depth + 1, out);
        }
    }
}

fn indexer_info(tx: &IndexerTx, at: BlockRef) -> Option<TxInfo> {
    let memo = note_text(tx.note.as_deref());
    let mut payments = Vec::new();
    indexer_payments(tx, &memo, 0, &mut payments);
    Some(TxInfo {
        txid: tx.id.clone()?.to_ascii_uppercase(),
        location: TxLocation::Block(at),
        success: Some(true),
        payments,
        conflict: ConflictKey::Outpoints(Vec::new()),
        valid_until: tx.last_valid,
    })
}

fn node_payments(txn: &NodeTxn, memo: &Option<String>) -> Vec<Payment> {
    match txn.kind.as_str() {
        "pay" => txn.rcv.as_deref().and_then(|to| pay(to, txn.amt.unwrap_or(0), &Asset::Native, memo)),
        "axfer" => match (txn.arcv.as_deref(), txn.xaid) {
            (Some(to), Some(asset)) => pay(to, txn.aamt.unwrap_or(0), &Asset::Token(asset.to_string()), memo),
            _ => None,
        },
        _ => None,
    }
    .into_iter()
    .collect()
}

/// A 32-byte hash in lowercase hex, from the encoding the API wrote it in.
fn hash_hex(bytes: Option<Vec<u8>>, text: &str, what: &str) -> Result<String, ChainError> {
    match bytes.filter(|b| b.len() == 32) {
        Some(bytes) => Ok(bytes.iter().map(|b| format!("{b:02x}")).collect()),
        None => Err(ChainError::BadResponse(format!("{what}: not a 32-byte hash: {:?}", super::http::snippet(text)))),
    }
}

/// algod writes block hashes in base32 without padding (52 characters).
fn base32_hash(text: &str) -> Result<String, ChainError> {
    let text = text.trim().trim_start_matches("blk-");
    hash_hex(data_encoding::BASE32_NOPAD.decode(text.as_bytes()).ok(), text, "blockHash")
}

/// The indexer writes them in base64.
fn base64_hash(text: &str) -> Result<String, ChainError> {
    hash_hex(base64::engine::general_purpose::STANDARD.decode(text.trim()).ok(), text, "previous-block-hash")
}

/// JSON for a 2xx, `None` for a 404 (algod and the indexer answer
/// `{"message": ...}` for a round or transaction they do not have).
fn found<T: serde::de::DeserializeOwned>(reply: Reply, path: &str) -> Result<Option<T>, ChainError> {
    if reply.status == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !reply.status.is_success() {
        return Err(reply.unexpected_status());
    }
    parse_json(&reply.body, path).map(Some)
}

/// A round read by `block_at`: its transactions, for `transactions_in_block`
/// and discovery.
struct ReadRound {
    at: BlockRef,
    txs: Vec<TxInfo>,
}

/// An algod node and an indexer (each a set of URLs tried in order).
pub struct AlgodClient {
    node: Endpoints,
    indexer: Endpoints,
    read: Mutex<VecDeque<ReadRound>>,
    /// The last tip, whose hash `block_at` then needs not ask again.
    last_tip: Mutex<Option<BlockRef>>,
}

impl AlgodClient {
    /// `node`: algod's URLs; `indexer`: the indexer's (the same gate and key).
    pub fn new(node: ClientConfig, indexer: ClientConfig) -> Self {
        Self {
            node: Endpoints::new(node),
            indexer: Endpoints::new(indexer),
            read: Mutex::new(VecDeque::new()),
            last_tip: Mutex::new(None),
        }
    }

    async fn node_get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<Option<T>, ChainError> {
        self.node.get(path, |reply| found(reply, path)).await
    }

    async fn indexer_get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<Option<T>, ChainError> {
        self.indexer.get(path, |reply| found(reply, path)).await
    }

    /// The round's hash from the rounds read, else from the node; `None`
    /// for a round the node does not have.
    async fn round_ref(&self, round: u64) -> Result<Option<BlockRef>, ChainError> {
        let known = self.read.lock().expect("not poisoned").iter().find(|r| r.at.height == round).map(|r| r.at.clone());
        if known.is_some() {
            return Ok(known);
        }
        let path = format!("/v2/blocks/{round}/hash");
        let Some(hash) = self.node_get::<BlockHash>(&path).await? else { return Ok(None) };
        Ok(Some(BlockRef { height: round, hash: base32_hash(&hash.block_hash)? }))
    }

    async fn known_round(&self, round: u64) -> Result<BlockRef, ChainError> {
        self.round_ref(round)
            .await?
            .ok_or_else(|| ChainError::Unavailable(format!("the node does not have round {round}")))
    }

    fn remember(&self, round: ReadRound) {
        let mut read = self.read.lock().expect("not poisoned");
        read.retain(|r| r.at.height != round.at.height);
        read.push_back(round);
        while read.len() > KEPT_ROUNDS {
            read.pop_front();
        }
    }

    /// The node's pool (and what it committed lately).
    async fn pending(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        let path = format!("/v2/transactions/pending/{txid}");
        let Some(pending) = self.node_get::<Pending>(&path).await? else { return Ok(None) };
        let txn = &pending.txn.txn;
        let memo = note_text(txn.note.as_deref());
        let (location, success) = match pending.confirmed_round.filter(|&r| r > 0) {
            Some(round) => (TxLocation::Block(self.known_round(round).await?), Some(true)),
            // Thrown out of the pool: it will never be in a block. Past its
            // last valid round ("txn dead") it expired; otherwise it failed.
            None if !pending.pool_error.is_empty() && !pending.pool_error.contains("dead") => {
                (TxLocation::Mempool, Some(false))
            }
            None => (TxLocation::Mempool, None),
        };
        let payments = if success == Some(false) { Vec::new() } else { node_payments(txn, &memo) };
        Ok(Some(TxInfo {
            txid: txid.to_owned(),
            location,
            success,
            payments,
            conflict: ConflictKey::Outpoints(Vec::new()),
            valid_until: txn.lv,
        }))
    }

    async fn committed(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        let path = format!("/v2/transactions/{txid}");
        let Some(lookup) = self.indexer_get::<IndexerLookup>(&path).await? else { return Ok(None) };
        let round = lookup
            .transaction
            .confirmed_round
            .ok_or_else(|| ChainError::BadResponse("/v2/transactions/:id: no confirmed-round".to_owned()))?;
        let at = self.known_round(round).await?;
        Ok(indexer_info(&lookup.transaction, at))
    }
}

#[async_trait]
impl BlockChain for AlgodClient {
    fn name(&self) -> &'static str {
        "algod"
    }

    /// The newest round both the node and the indexer hold, with the
    /// node's hash of it (three requests, the first two together; the hash
    /// is kept for reading that round).
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn tip(&self) -> Result<BlockRef, ChainError> {
        let status = async {
            self.node_get::<NodeStatus>("/v2/status").await?.ok_or(ChainError::NotFound).map(|s| s.last_round)
        };
        let health =
            async { self.indexer_get::<IndexerHealth>("/health").await?.ok_or(ChainError::NotFound).map(|h| h.round) };
        let (node, indexer) = futures_util::future::try_join(status, health).await?;
        let tip = self.known_round(node.min(indexer)).await?;
        *self.last_tip.lock().expect("not poisoned") = Some(tip.clone());
        Ok(tip)
    }

    /// The indexer's block with the node's hash of it (the tip's, when it
    /// is the tip just read): `NotFound` above the node's last round.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn block_at(&self, height: u64) -> Result<Block, ChainError> {
        let tip = self.last_tip.lock().expect("not poisoned").clone().filter(|tip| tip.height == height);
        let at = match tip {
            Some(tip) => tip,
            None => {
                let path = format!("/v2/blocks/{height}/hash");
                let hash = self.node_get::<BlockHash>(&path).await?.ok_or(ChainError::NotFound)?;
                BlockRef { height, hash: base32_hash(&hash.block_hash)? }
            }
        };
        let path = format!("/v2/blocks/{height}");
        let block: IndexerBlock = self
            .indexer_get(&path)
            .await?
            .ok_or_else(|| ChainError::Unavailable(format!("the indexer has not ingested round {height} yet")))?;
        if block.round != height {
            return Err(ChainError::BadResponse(format!("/v2/blocks/:id: asked for {height}, got {}", block.round)));
        }
        let txs: Vec<TxInfo> = block.transactions.iter().filter_map(|tx| indexer_info(tx, at.clone())).collect();
        let block_txs = txs.iter().map(|tx| BlockTx { txid: tx.txid.clone(), call: None }).collect();
        self.remember(ReadRound { at: at.clone(), txs });
        Ok(Block {
            at,
            parent_hash: (height > 0).then(|| base64_hash(&block.previous_block_hash)).transpose()?,
            txs: block_txs,
            time: DateTime::<Utc>::from_timestamp(block.timestamp, 0),
            expiry_point: Some(height),
        })
    }

    async fn is_in_best_chain(&self, block: &BlockRef) -> Result<bool, ChainError> {
        let path = format!("/v2/blocks/{}/hash", block.height);
        match self.node_get::<BlockHash>(&path).await? {
            Some(hash) => Ok(base32_hash(&hash.block_hash)?.eq_ignore_ascii_case(&block.hash)),
            None => Ok(false),
        }
    }

    /// The node first (pending, failed, or committed lately), then the
    /// indexer: one request for a transaction still in the pool.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn transaction(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        let txid = txid.to_ascii_uppercase();
        match self.pending(&txid).await? {
            Some(info) => Ok(Some(info)),
            None => self.committed(&txid).await,
        }
    }

    /// From the round read: no request (one the round did not list is
    /// looked up).
    async fn transactions_in_block(&self, block: &Block, txids: &[String]) -> Result<Vec<TxInfo>, ChainError> {
        let mut found = Vec::with_capacity(txids.len());
        let mut missing = Vec::new();
        {
            let read = self.read.lock().expect("not poisoned");
            let round = read.iter().find(|r| r.at == block.at);
            for txid in txids {
                let upper = txid.to_ascii_uppercase();
                match round.and_then(|r| r.txs.iter().find(|tx| tx.txid == upper)) {
                    Some(info) => found.push(info.clone()),
                    None => missing.push(txid.clone()),
                }
            }
        }
        for txid in missing {
            found.extend(self.transaction(&txid).await?);
        }
        Ok(found)
    }

    fn discovers_in_blocks(&self) -> bool {
        true
    }

    /// What the round's transactions paid, as read with it (a committed
    /// Algorand transaction succeeded).
    fn requested_payments(&self, block: &Block) -> Vec<(String, Payment)> {
        let read = self.read.lock().expect("not poisoned");
        let Some(round) = read.iter().find(|r| r.at == block.at) else { return Vec::new() };
        round.txs.iter().flat_map(|tx| tx.payments.iter().map(|p| (tx.txid.clone(), p.clone()))).collect()
    }

    /// Always `None`: an Algorand transaction has no nonce another could
    /// take; one that never lands expires after its last valid round.
    async fn replacement(&self, txid: &str, conflict: &ConflictKey) -> Result<Option<Replaced>, ChainError> {
        let _ = (txid, conflict);
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_read_in_either_encoding_and_notes_as_text() {
        let bytes = [0xabu8; 32];
        let hex = "ab".repeat(32);
        let base32 = data_encoding::BASE32_NOPAD.encode(&bytes);
        assert_eq!(base32.len(), 52);
        assert_eq!(base32_hash(&base32).unwrap(), hex);
        assert_eq!(base32_hash(&format!("blk-{base32}")).unwrap(), hex, "the block header's `prev` form");
        assert_eq!(base64_hash(&base64::engine::general_purpose::STANDARD.encode(bytes)).unwrap(), hex);
        assert!(matches!(base32_hash("AAAA"), Err(ChainError::BadResponse(_))));
        assert_eq!(note_text(Some("b3JkZXIgNw==")).as_deref(), Some("order 7"));
        assert_eq!(note_text(Some("/w==")), None, "not UTF-8");
        assert_eq!(note_text(None), None);
    }

    #[test]
    fn payments_close_outs_and_inner_transactions_count() {
        let tx: IndexerTx = serde_json::from_value(serde_json::json!({
            "id": "abc", "note": "aGk=",
            "payment-transaction": {"amount": 5, "receiver": "A", "close-amount": 7, "close-remainder-to": "B"},
            "inner-txns": [{"asset-transfer-transaction": {"amount": 9, "asset-id": 31566704, "receiver": "C"}},
                           {"payment-transaction": {"amount": 0, "receiver": "D"}}]
        }))
        .unwrap();
        let info = indexer_info(&tx, BlockRef { height: 1, hash: "h".into() }).unwrap();
        assert_eq!(info.txid, "ABC");
        let paid: Vec<(&str, u128, &Asset, Option<&str>)> =
            info.payments.iter().map(|p| (p.to.as_str(), p.amount.get(), &p.asset, p.memo.as_deref())).collect();
        let usdc = Asset::Token("31566704".into());
        assert_eq!(
            paid,
            [("A", 5, &Asset::Native, Some("hi")), ("B", 7, &Asset::Native, Some("hi")), ("C", 9, &usdc, Some("hi"))]
        );
    }
}
