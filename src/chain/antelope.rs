//! EOS (and any Antelope chain) through nodeos' chain API
//! (<https://docs.eosnetwork.com/apis/leap/latest/chain.api/>): every call is
//! a `POST /v1/chain/<name>` with a JSON body.
//!
//! Followed block by block (a `BlockChain`) from the last irreversible block:
//! the tip is `get_info`'s `last_irreversible_block_num` and
//! `last_irreversible_block_id`, so every block the tracker reads is final
//! (one confirmation) and never leaves the chain. A block is one
//! `get_block` (`id`, `previous`, `timestamp`, and its transaction receipts:
//! `status` executed / soft_fail / hard_fail / delayed / expired, the
//! transaction unpacked with its actions), so the payee check of every
//! watched transaction in it costs no further request: an `eosio.token`
//! standard `transfer` action's `to`, `quantity` (its precision gives the
//! base units) and `memo`. `is_in_best_chain` is a `get_block_info` (the
//! header alone). A lookup by id is `get_transaction_status` (nodeos 3.1+
//! with `transaction-finality-status-max-storage-size-gb`; a node without it
//! answers 404 and the transaction is found in its block): an irreversible
//! one is read from its block, anything not final yet is `None`.
//!
//! Expiry: a transaction's `expiration` (UTC, whole seconds) against the
//! irreversible blocks' times (`Block::expiry_point`, unix seconds): once
//! the last irreversible block is later, it can never be included.
//! Transfers made by a contract inline (not an action of the transaction
//! itself) are not seen: `get_block` carries no traces.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::http::{parse_hash, parse_json, ClientConfig, Endpoints, Reply};
use super::{
    Asset, BaseUnits, Block, BlockChain, BlockRef, BlockTx, ChainError, ConflictKey, Payment, Replaced, TxInfo,
    TxLocation,
};

/// The contract and symbol of EOS itself; any other token is
/// `Asset::Token("{SYMBOL}:{contract}")` (Tether's USDT on EOS:
/// `USDT:tethertether`).
pub const NATIVE_CONTRACT: &str = "eosio.token";
pub const NATIVE_SYMBOL: &str = "EOS";
/// Blocks whose transactions are kept for `transactions_in_block`,
/// `requested_payments` and lookups (the tracker reads at most 50 per tick).
const KEPT_BLOCKS: usize = 128;
/// Delayed (deferred) transactions whose actions are kept until their
/// execution receipt, which carries the id alone.
const KEPT_DELAYED: usize = 1024;

/// `get_info`: the head and the last irreversible block.
#[derive(Deserialize)]
struct Info {
    last_irreversible_block_num: u64,
    last_irreversible_block_id: String,
}

/// `get_block`: a signed block with its transaction receipts.
#[derive(Deserialize)]
struct RawBlock {
    id: String,
    block_num: u64,
    previous: String,
    /// UTC without a zone: `2024-06-01T12:00:00.500`.
    timestamp: String,
    #[serde(default)]
    transactions: Vec<Receipt>,
}

#[derive(Deserialize)]
struct Receipt {
    /// `executed`, `soft_fail`, `hard_fail`, `delayed` or `expired`.
    status: String,
    trx: Trx,
}

/// A receipt carries the packed transaction, or only its id for a deferred
/// transaction's execution.
#[derive(Deserialize)]
#[serde(untagged)]
enum Trx {
    Id(String),
    Packed(Box<Packed>),
}

#[derive(Deserialize)]
struct Packed {
    id: String,
    transaction: Transaction,
}

#[derive(Deserialize)]
struct Transaction {
    /// UTC, whole seconds, without a zone.
    expiration: String,
    #[serde(default)]
    actions: Vec<Action>,
}

#[derive(Deserialize)]
struct Action {
    account: String,
    name: String,
    /// Decoded by the contract's ABI when the node has it, else hex.
    #[serde(default)]
    data: Value,
}

/// `get_block_info`: a block's header.
#[derive(Deserialize)]
struct BlockInfo {
    id: String,
}

/// `get_transaction_status`.
#[derive(Deserialize)]
struct Status {
    /// `LOCALLY_APPLIED`, `IN_BLOCK`, `IRREVERSIBLE`, `FORKED_OUT`,
    /// `FAILED` or `UNKNOWN`.
    state: String,
    #[serde(default)]
    block_number: Option<u64>,
    #[serde(default)]
    irreversible_number: Option<u64>,
}

/// An Antelope time (`2024-06-01T12:00:00.500`, UTC without a zone; a
/// trailing `Z` is accepted too).
fn time(text: &str, what: &str) -> Result<DateTime<Utc>, ChainError> {
    NaiveDateTime::parse_from_str(text.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f")
        .map(|t| t.and_utc())
        .map_err(|_| ChainError::BadResponse(format!("{what}: not a time: {text:?}")))
}

/// `"1.5000 EOS"`: the amount in base units (its precision is the symbol's)
/// and the symbol.
fn quantity(text: &str) -> Option<(BaseUnits, &str)> {
    let (amount, symbol) = text.split_once(' ')?;
    let precision = amount.split_once('.').map_or(0, |(_, frac)| frac.len());
    let units = BaseUnits::from_decimal(amount, u32::try_from(precision).ok()?).ok()?;
    let symbol_ok = !symbol.is_empty() && symbol.len() <= 7 && symbol.bytes().all(|b| b.is_ascii_uppercase());
    symbol_ok.then_some((units, symbol))
}

/// What one action pays: an `eosio.token` standard `transfer` with its
/// data decoded; `None` for anything else.
fn payment(action: &Action) -> Option<Payment> {
    if action.name != "transfer" {
        return None;
    }
    let data = action.data.as_object()?;
    let to = data.get("to")?.as_str()?;
    let (amount, symbol) = quantity(data.get("quantity")?.as_str()?)?;
    let asset = if action.account == NATIVE_CONTRACT && symbol == NATIVE_SYMBOL {
        Asset::Native
    } else {
        Asset::Token(format!("{symbol}:{}", action.account))
    };
    let memo = data.get("memo").and_then(Value::as_str).filter(|m| !m.is_empty()).map(str::to_owned);
    Some(Payment { to: to.to_owned(), amount, asset, memo })
}

/// A transaction of a block read, decoded.
#[derive(Clone)]
struct ReadTx {
    info: TxInfo,
    /// What its actions ask to pay, whatever its outcome (for discovery).
    requested: Vec<Payment>,
}

#[derive(Clone)]
struct ReadBlock {
    at: BlockRef,
    /// As `block_at` returns it.
    block: Block,
    txs: Vec<ReadTx>,
}

#[derive(Default)]
struct Recent {
    /// Oldest first.
    blocks: VecDeque<ReadBlock>,
    /// Delayed transactions: id -> (what they ask to pay, expiration).
    delayed: HashMap<String, (Vec<Payment>, Option<u64>)>,
    delayed_order: VecDeque<String>,
}

impl Recent {
    fn at_height(&self, height: u64) -> Option<&ReadBlock> {
        self.blocks.iter().find(|b| b.at.height == height)
    }

    fn find(&self, txid: &str) -> Option<&ReadTx> {
        self.blocks.iter().rev().flat_map(|b| b.txs.iter()).find(|tx| tx.info.txid == txid)
    }

    fn remember(&mut self, block: ReadBlock) {
        self.blocks.retain(|b| b.at.height != block.at.height);
        self.blocks.push_back(block);
        while self.blocks.len() > KEPT_BLOCKS {
            self.blocks.pop_front();
        }
    }

    fn remember_delayed(&mut self, txid: String, requested: Vec<Payment>, valid_until: Option<u64>) {
        if self.delayed.insert(txid.clone(), (requested, valid_until)).is_none() {
            self.delayed_order.push_back(txid);
        }
        while self.delayed_order.len() > KEPT_DELAYED {
            if let Some(old) = self.delayed_order.pop_front() {
                self.delayed.remove(&old);
            }
        }
    }
}

/// nodeos endpoints (a block producer's public API, or any provider's),
/// tried in order.
pub struct AntelopeClient {
    api: Endpoints,
    /// Final blocks read (only those are kept), and delayed transactions.
    recent: Mutex<Recent>,
    /// The highest last irreversible block any answer named.
    irreversible: AtomicU64,
}

/// nodeos' error body: `{"code": 400, "message": "Unknown Block", "error":
/// {"code": 3100002, "name": "unknown_block_exception", ...}}`.
fn error_name(reply: &Reply) -> Option<String> {
    let body: Value = serde_json::from_str(&reply.body).ok()?;
    body.pointer("/error/name").and_then(Value::as_str).map(str::to_owned)
}

/// JSON for a 2xx; `NotFound` for an unknown block; any other status is
/// unexpected.
fn read<T: serde::de::DeserializeOwned>(reply: Reply, path: &str) -> Result<T, ChainError> {
    if reply.status.is_success() {
        return parse_json(&reply.body, path);
    }
    match error_name(&reply).as_deref() {
        Some("unknown_block_exception") => Err(ChainError::NotFound),
        _ => Err(reply.unexpected_status()),
    }
}

impl AntelopeClient {
    pub fn new(config: ClientConfig) -> Self {
        Self { api: Endpoints::new(config), recent: Mutex::new(Recent::default()), irreversible: AtomicU64::new(0) }
    }

    async fn call<T: serde::de::DeserializeOwned>(&self, path: &str, body: Value) -> Result<T, ChainError> {
        self.api.post(path, path, &body, |reply| read(reply, path)).await
    }

    /// A block decoded, not remembered.
    async fn read_block(&self, height: u64) -> Result<(Block, ReadBlock), ChainError> {
        let raw: RawBlock = self.call("/v1/chain/get_block", json!({"block_num_or_id": height})).await?;
        if raw.block_num != height {
            return Err(ChainError::BadResponse(format!("get_block: asked for {height}, got {}", raw.block_num)));
        }
        let at = BlockRef { height, hash: parse_hash(&raw.id, "get_block id")? };
        let block_time = time(&raw.timestamp, "get_block timestamp")?;
        let previous = parse_hash(&raw.previous, "get_block previous")?;
        let parent_hash = (!previous.bytes().all(|b| b == b'0')).then_some(previous);
        let mut txs = Vec::with_capacity(raw.transactions.len());
        let mut ids = Vec::with_capacity(raw.transactions.len());
        for receipt in &raw.transactions {
            let (txid, requested, valid_until) = match &receipt.trx {
                Trx::Packed(packed) => {
                    let txid = parse_hash(&packed.id, "get_block transaction id")?;
                    let expiration = time(&packed.transaction.expiration, "get_block expiration")?;
                    let requested: Vec<Payment> = packed.transaction.actions.iter().filter_map(payment).collect();
                    (txid, requested, u64::try_from(expiration.timestamp()).ok())
                }
                Trx::Id(id) => {
                    let txid = parse_hash(id, "get_block deferred transaction id")?;
                    let delayed = self.recent.lock().expect("not poisoned").delayed.get(&txid).cloned();
                    let (requested, valid_until) = delayed.unwrap_or_default();
                    (txid, requested, valid_until)
                }
            };
            let success = match receipt.status.as_str() {
                "executed" => true,
                "soft_fail" | "hard_fail" | "expired" => false,
                "delayed" => {
                    // Scheduled, not run: its outcome comes in a later block
                    // under the same id.
                    self.recent.lock().expect("not poisoned").remember_delayed(txid, requested, valid_until);
                    continue;
                }
                other => return Err(ChainError::BadResponse(format!("get_block: unknown receipt status {other:?}"))),
            };
            let payments = if success { requested.clone() } else { Vec::new() };
            let info = TxInfo {
                txid: txid.clone(),
                location: TxLocation::Block(at.clone()),
                success: Some(success),
                payments,
                // An Antelope transaction has no nonce and spends no
                // outputs: nothing replaces it; it lands or expires.
                conflict: ConflictKey::Outpoints(Vec::new()),
                valid_until,
            };
            ids.push(BlockTx { txid, call: None });
            txs.push(ReadTx { info, requested });
        }
        let block = Block {
            at: at.clone(),
            parent_hash,
            txs: ids,
            time: Some(block_time),
            expiry_point: u64::try_from(block_time.timestamp()).ok(),
        };
        Ok((block.clone(), ReadBlock { at, block, txs }))
    }

    fn remembered(&self, block: &BlockRef) -> Option<ReadBlock> {
        self.recent.lock().expect("not poisoned").blocks.iter().find(|b| b.at == *block).cloned()
    }
}

#[async_trait]
impl BlockChain for AntelopeClient {
    fn name(&self) -> &'static str {
        "antelope"
    }

    /// The last irreversible block: everything the tracker reads is final.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn tip(&self) -> Result<BlockRef, ChainError> {
        let info: Info = self.call("/v1/chain/get_info", json!({})).await?;
        let hash = parse_hash(&info.last_irreversible_block_id, "get_info last_irreversible_block_id")?;
        self.irreversible.fetch_max(info.last_irreversible_block_num, Ordering::Relaxed);
        Ok(BlockRef { height: info.last_irreversible_block_num, hash })
    }

    /// One `get_block`: the receipts with their transactions and actions.
    /// Delayed receipts are left out until their execution. An irreversible
    /// block read already (a lookup's) is not asked again: it cannot change.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn block_at(&self, height: u64) -> Result<Block, ChainError> {
        if let Some(read) = self.recent.lock().expect("not poisoned").at_height(height) {
            return Ok(read.block.clone());
        }
        let (block, read) = self.read_block(height).await?;
        if height <= self.irreversible.load(Ordering::Relaxed) {
            self.recent.lock().expect("not poisoned").remember(read);
        }
        Ok(block)
    }

    async fn is_in_best_chain(&self, block: &BlockRef) -> Result<bool, ChainError> {
        match self.call::<BlockInfo>("/v1/chain/get_block_info", json!({"block_num": block.height})).await {
            Ok(info) => Ok(info.id.eq_ignore_ascii_case(&block.hash)),
            Err(ChainError::NotFound) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// From the blocks read, else `get_transaction_status`: an irreversible
    /// transaction is read from its block (one more request, and the
    /// tracker's own read of that block then costs none). Anything else
    /// (applied by the node only, in a reversible block, forked out, failed,
    /// unknown, or a node without the status index) is `None`: the tracker
    /// finds it in its block once that is irreversible, and reading a
    /// reversible block for every lookup would cost a request each.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn transaction(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        let txid = txid.to_ascii_lowercase();
        if let Some(tx) = self.recent.lock().expect("not poisoned").find(&txid) {
            return Ok(Some(tx.info.clone()));
        }
        let path = "/v1/chain/get_transaction_status";
        let body = json!({"id": txid});
        let status: Option<Status> = self
            .api
            .post(path, path, &body, |reply| {
                if reply.status == reqwest::StatusCode::NOT_FOUND {
                    return Ok(None);
                }
                read(reply, path).map(Some)
            })
            .await?;
        let Some(status) = status else { return Ok(None) };
        self.irreversible.fetch_max(status.irreversible_number.unwrap_or_default(), Ordering::Relaxed);
        let (true, Some(height)) = (status.state == "IRREVERSIBLE", status.block_number) else {
            return Ok(None);
        };
        self.irreversible.fetch_max(height, Ordering::Relaxed);
        let (_, read) = self.read_block(height).await?;
        let found = read.txs.iter().find(|tx| tx.info.txid == txid).map(|tx| tx.info.clone());
        self.recent.lock().expect("not poisoned").remember(read);
        Ok(found)
    }

    /// From the block read: no request (a transaction it did not hold is
    /// looked up).
    async fn transactions_in_block(&self, block: &Block, txids: &[String]) -> Result<Vec<TxInfo>, ChainError> {
        let read = self.remembered(&block.at);
        let mut found = Vec::with_capacity(txids.len());
        for txid in txids {
            let txid = txid.to_ascii_lowercase();
            match read.as_ref().and_then(|b| b.txs.iter().find(|tx| tx.info.txid == txid)) {
                Some(tx) => found.push(tx.info.clone()),
                None => found.extend(self.transaction(&txid).await?),
            }
        }
        Ok(found)
    }

    /// The transfers each block carries: discovery needs no index.
    fn discovers_in_blocks(&self) -> bool {
        true
    }

    fn requested_payments(&self, block: &Block) -> Vec<(String, Payment)> {
        let Some(read) = self.remembered(&block.at) else { return Vec::new() };
        read.txs.iter().flat_map(|tx| tx.requested.iter().map(|p| (tx.info.txid.clone(), p.clone()))).collect()
    }

    /// Always `None`: nothing can take an Antelope transaction's place; one
    /// that never lands ends by its `expiration` (`expired`) or unseen for
    /// `drop_after`.
    async fn replacement(&self, _txid: &str, _conflict: &ConflictKey) -> Result<Option<Replaced>, ChainError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transfer(account: &str, to: &str, quantity: &str, memo: &str) -> Action {
        Action {
            account: account.into(),
            name: "transfer".into(),
            data: json!({"from": "hotwallet", "to": to, "quantity": quantity, "memo": memo}),
        }
    }

    #[test]
    fn transfers_pay_in_the_quantitys_precision_with_their_asset_and_memo() {
        assert_eq!(
            payment(&transfer("eosio.token", "payee", "1.5000 EOS", "order 7")),
            Some(Payment {
                to: "payee".into(),
                amount: BaseUnits::new(15_000),
                asset: Asset::Native,
                memo: Some("order 7".into())
            })
        );
        let usdt = payment(&transfer("tethertether", "payee", "25.5000 USDT", "")).unwrap();
        assert_eq!(
            (usdt.amount, usdt.asset, usdt.memo),
            (BaseUnits::new(255_000), Asset::Token("USDT:tethertether".into()), None)
        );
        let fake_eos = payment(&transfer("fakeeostoken", "payee", "1.0000 EOS", "")).unwrap();
        assert_eq!(fake_eos.asset, Asset::Token("EOS:fakeeostoken".into()), "EOS from another contract is not EOS");
        assert_eq!(payment(&transfer("eosio.token", "payee", "1 EOS", "")).map(|p| p.amount), Some(BaseUnits::new(1)));
        for bad in ["1.5000", "1.5000 eos", "x EOS", "1.5000  EOS"] {
            assert_eq!(payment(&transfer("eosio.token", "payee", bad, "")), None, "{bad}");
        }
        let hex = Action { data: json!("0000c82a46c3336d"), ..transfer("eosio.token", "payee", "1.0000 EOS", "") };
        assert_eq!(payment(&hex), None, "undecoded data pays nothing we can read");
        let other = Action { name: "open".into(), ..transfer("eosio.token", "payee", "1.0000 EOS", "") };
        assert_eq!(payment(&other), None);
    }

    #[test]
    fn antelope_times_are_utc_without_a_zone() {
        assert_eq!(time("2024-06-01T12:00:00.500", "t").unwrap().timestamp_millis(), 1_717_243_200_500);
        assert_eq!(time("2024-06-01T12:00:00", "t").unwrap().timestamp(), 1_717_243_200);
        assert_eq!(time("2024-06-01T12:00:00Z", "t").unwrap().timestamp(), 1_717_243_200);
        assert!(time("yesterday", "t").is_err());
    }
}
