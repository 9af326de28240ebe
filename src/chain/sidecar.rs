//! Polkadot (on Polkadot Asset Hub, where balances live since 2025-11-04)
//! through Substrate API Sidecar: block by block over finalized blocks only.
//! `GET /blocks/head` is the finalized head with its extrinsics (one request
//! gives the tip and its block), `GET /blocks/{number}` a block with its
//! extrinsics (`hash`, `method {pallet, method}`, `args`, `success`,
//! `events`, `signature.signer`, `nonce`, `era`), each decoded once. What an
//! extrinsic paid is read from its events (`balances.Transfer`,
//! `assets.Transferred`: batches and proxies included, an interrupted batch
//! only what ran); what it asks to pay (for discovery, and where an answer
//! carries no events) from its call: `balances.transferKeepAlive` /
//! `transferAllowDeath` / `transfer` (`dest.id`, `value`, in planck) and
//! `assets.transfer` / `transferKeepAlive` (`id`, `target.id`, `amount`:
//! USDT is asset 1984), also inside `utility` batches and proxies. The
//! block's time comes from its `timestamp.set` inherent (`now`, ms).
//! `?noFees=true` spares Sidecar the fee computation nothing here reads.
//!
//! Finalized blocks never leave the chain: no reorgs, and one block is final
//! (required confirmations 1). A node has no lookup by extrinsic hash, so a
//! transaction is found by reading blocks. `transaction` answers from the
//! blocks this client read (the newest `REMEMBERED_BLOCKS`, about two hours
//! of Asset Hub blocks), with no request: `None` for anything else. The
//! tracker reads every block, so a transaction it watches is matched in its
//! block; a hash sent in after its block dropped out of that memory (or one
//! included before the tracker started) is not found, and is dropped after
//! `drop_after` like any unknown transaction (or, with a last valid block,
//! once that block passed: see below). The transaction pool is not asked
//! (one more request per new transaction, for a view a node only partly
//! has).
//!
//! Expiry: a mortal extrinsic can be included only up to the last block of
//! its era (`domain::mortal_era`); the node cannot report a pending extrinsic
//! it dropped, so that block comes from the `last_valid_height` recorded at
//! broadcast, counted in block numbers (the blocks' expiry point).
//!
//! API: <https://paritytech.github.io/substrate-api-sidecar/dist/> (`/blocks/head`,
//! `/blocks/{blockId}`, `BlockWithDecodedXcmMsgs`, `Extrinsic`, `GenericExtrinsicEra`).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::http::{parse_json, ClientConfig, Endpoints, Reply};
use super::{
    Asset, BaseUnits, Block, BlockChain, BlockRef, BlockTx, ChainError, ConflictKey, Payment, Replaced, TxInfo,
    TxLocation,
};
use crate::domain::mortal_era::MortalEra;

/// Blocks whose decoded extrinsics are kept (about two hours at 6 s).
pub const REMEMBERED_BLOCKS: usize = 1200;

pub struct SidecarClient {
    api: Endpoints,
    recent: Mutex<Recent>,
}

/// The blocks read last, decoded.
#[derive(Default)]
struct Recent {
    /// Block hashes, oldest first.
    order: VecDeque<String>,
    blocks: HashMap<String, ReadBlock>,
    /// Extrinsic hash -> hash of the block holding it.
    by_tx: HashMap<String, String>,
}

#[derive(Clone)]
struct ReadBlock {
    at: BlockRef,
    txs: Vec<DecodedTx>,
}

#[derive(Clone)]
struct DecodedTx {
    info: TxInfo,
    /// What the call asks to pay, whatever its outcome (for discovery).
    requested: Vec<Payment>,
}

/// A block as Sidecar answers `/blocks/{blockId}` and `/blocks/head`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SidecarBlock {
    number: Number,
    hash: String,
    parent_hash: String,
    #[serde(default)]
    extrinsics: Vec<Extrinsic>,
}

#[derive(Deserialize)]
struct Extrinsic {
    method: Method,
    signature: Option<Signature>,
    nonce: Option<Number>,
    #[serde(default)]
    args: Value,
    hash: String,
    era: Option<Era>,
    /// Emitted while it was applied (what happened, batches and proxies
    /// included).
    #[serde(default)]
    events: Vec<Event>,
    /// A boolean; older Sidecar versions wrote it as a string.
    success: Value,
}

/// A `SanitizedEvent`: its method and its data, positional.
#[derive(Deserialize)]
struct Event {
    method: Method,
    #[serde(default)]
    data: Value,
}

#[derive(Deserialize)]
struct Method {
    pallet: String,
    method: String,
}

#[derive(Deserialize)]
struct Signature {
    signer: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Era {
    /// `["64", "11"]`: period and phase.
    mortal_era: Option<(Number, Number)>,
}

/// Sidecar writes integers as decimal strings; plain numbers are read too.
#[derive(Debug, Clone, Copy)]
struct Number(u128);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        number(&value).map(Number).ok_or_else(|| serde::de::Error::custom(format!("expected an integer, got {value}")))
    }
}

fn number(value: &Value) -> Option<u128> {
    match value {
        Value::String(text) => text.parse().ok(),
        Value::Number(n) => n.as_u64().map(u128::from),
        _ => None,
    }
}

impl Number {
    fn as_u64(self, what: &str) -> Result<u64, ChainError> {
        u64::try_from(self.0).map_err(|_| ChainError::BadResponse(format!("{what} does not fit in 64 bits")))
    }
}

/// An account as Sidecar writes a `MultiAddress` (`{"id": "1..."}`) or a
/// plain `AccountId` (a string).
fn account(value: &Value) -> Option<String> {
    match value {
        Value::String(address) => Some(address.clone()),
        Value::Object(fields) => fields.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

impl Extrinsic {
    fn is(&self, pallet: &str, methods: &[&str]) -> bool {
        self.method.pallet == pallet && methods.contains(&self.method.method.as_str())
    }

    /// The transfers the call asks for: DOT by `balances`, an asset (USDT:
    /// 1984) by `assets`, also inside `utility` batches (`calls`) and
    /// proxies or multisigs (`call`).
    fn requested(&self) -> Vec<Payment> {
        let mut payments = Vec::new();
        requested_by(&self.method, &self.args, &mut payments, 0);
        payments
    }

    /// The transfers that happened, from its events: `balances.Transfer`
    /// (`[from, to, amount]`) and `assets.Transferred` (`[asset, from, to,
    /// amount]`). A partly interrupted `utility.batch` pays what ran.
    fn transferred(&self) -> Vec<Payment> {
        self.events.iter().filter_map(Event::transfer).collect()
    }

    fn success(&self) -> Result<Option<bool>, ChainError> {
        match &self.success {
            Value::Bool(success) => Ok(Some(*success)),
            Value::String(text) if text == "true" => Ok(Some(true)),
            Value::String(text) if text == "false" => Ok(Some(false)),
            Value::Null => Ok(None),
            other => Err(ChainError::BadResponse(format!("extrinsics[].success: expected a boolean, got {other}"))),
        }
    }

    fn decode(&self, at: &BlockRef) -> Result<DecodedTx, ChainError> {
        let txid = self.hash.to_ascii_lowercase();
        let success = self.success()?;
        let requested = self.requested();
        let payments = match success {
            Some(false) => Vec::new(),
            // Without events (a trimmed answer), what the call asked for.
            _ if self.events.is_empty() => requested.clone(),
            _ => self.transferred(),
        };
        let signer = self.signature.as_ref().and_then(|s| account(&s.signer));
        let conflict = match (signer, self.nonce) {
            (Some(from), Some(nonce)) => ConflictKey::Nonce { from, nonce: nonce.as_u64("nonce")? },
            // Unsigned (inherents): nothing can replace them.
            _ => ConflictKey::Outpoints(Vec::new()),
        };
        // The last block that could include it (mortal era), if signed mortal.
        let valid_until = match self.era.as_ref().and_then(|e| e.mortal_era) {
            Some((period, phase)) => {
                let era = MortalEra::from_parts(period.as_u64("era period")?, phase.as_u64("era phase")?)
                    .map_err(|e| ChainError::BadResponse(format!("extrinsics[].era: {e}")))?;
                Some(era.last_valid_block(at.height))
            }
            None => None,
        };
        let info = TxInfo { txid, location: TxLocation::Block(at.clone()), success, payments, conflict, valid_until };
        Ok(DecodedTx { info, requested })
    }
}

/// Nested calls are read this deep at most.
const MAX_CALL_DEPTH: u8 = 4;

/// A call as Sidecar writes it (`method`, `args`), with the calls it wraps.
fn requested_by(method: &Method, args: &Value, into: &mut Vec<Payment>, depth: u8) {
    let is = |pallet: &str, methods: &[&str]| method.pallet == pallet && methods.contains(&method.method.as_str());
    if is("balances", &["transferKeepAlive", "transferAllowDeath", "transfer"]) {
        let payment = (|| {
            let to = account(args.get("dest")?)?;
            let amount = number(args.get("value")?)?;
            Some(Payment { to, amount: BaseUnits::new(amount), asset: Asset::Native, memo: None })
        })();
        into.extend(payment);
    } else if is("assets", &["transfer", "transferKeepAlive"]) {
        let payment = (|| {
            let id = number(args.get("id")?)?;
            let to = account(args.get("target")?)?;
            let amount = number(args.get("amount")?)?;
            Some(Payment { to, amount: BaseUnits::new(amount), asset: Asset::Token(id.to_string()), memo: None })
        })();
        into.extend(payment);
    } else if depth < MAX_CALL_DEPTH {
        let nested = args.get("calls").and_then(Value::as_array).into_iter().flatten().chain(args.get("call"));
        for call in nested {
            #[derive(Deserialize)]
            struct Call {
                method: Method,
                #[serde(default)]
                args: Value,
            }
            if let Ok(call) = Call::deserialize(call) {
                requested_by(&call.method, &call.args, into, depth + 1);
            }
        }
    }
}

impl Event {
    fn transfer(&self) -> Option<Payment> {
        let data = self.data.as_array()?;
        let (pallet, method) = (self.method.pallet.as_str(), self.method.method.as_str());
        let (asset, to, amount) = match (pallet, method, data.as_slice()) {
            ("balances", "Transfer", [_from, to, amount]) => (Asset::Native, to, amount),
            ("assets", "Transferred", [id, _from, to, amount]) => (Asset::Token(number(id)?.to_string()), to, amount),
            _ => return None,
        };
        Some(Payment { to: account(to)?, amount: BaseUnits::new(number(amount)?), asset, memo: None })
    }
}

/// The block's time, from its `timestamp.set` inherent (`now`, unix ms).
fn block_time(extrinsics: &[Extrinsic]) -> Option<DateTime<Utc>> {
    let set = extrinsics.iter().find(|x| x.is("timestamp", &["set"]))?;
    let ms = i64::try_from(number(set.args.get("now")?)?).ok()?;
    Utc.timestamp_millis_opt(ms).single()
}

impl Recent {
    fn remember(&mut self, block: ReadBlock) {
        if self.blocks.contains_key(&block.at.hash) {
            return;
        }
        for tx in &block.txs {
            self.by_tx.insert(tx.info.txid.clone(), block.at.hash.clone());
        }
        self.order.push_back(block.at.hash.clone());
        self.blocks.insert(block.at.hash.clone(), block);
        while self.order.len() > REMEMBERED_BLOCKS {
            let Some(oldest) = self.order.pop_front() else { break };
            if let Some(gone) = self.blocks.remove(&oldest) {
                for tx in gone.txs {
                    if self.by_tx.get(&tx.info.txid) == Some(&oldest) {
                        self.by_tx.remove(&tx.info.txid);
                    }
                }
            }
        }
    }
}

impl SidecarClient {
    pub fn new(config: ClientConfig) -> SidecarClient {
        SidecarClient { api: Endpoints::new(config), recent: Mutex::new(Recent::default()) }
    }

    /// `GET /blocks/{id}` (a number, or `head`): `NotFound` where Sidecar
    /// says there is no such block (400 for a number above the chain, 404).
    async fn fetch(&self, id: &str) -> Result<Block, ChainError> {
        let path = format!("/blocks/{id}?noFees=true");
        let block: SidecarBlock = self
            .api
            .get(&path, |reply: Reply| match reply.status {
                status if status.is_success() => parse_json(&reply.body, &path),
                StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST => Err(ChainError::NotFound),
                _ => Err(reply.unexpected_status()),
            })
            .await?;
        let height = block.number.as_u64("number")?;
        let at = BlockRef { height, hash: hash(&block.hash, "hash")? };
        let txs = block.extrinsics.iter().map(|x| x.decode(&at)).collect::<Result<Vec<_>, _>>()?;
        let result = Block {
            at: at.clone(),
            parent_hash: (height > 0).then(|| hash(&block.parent_hash, "parentHash")).transpose()?,
            txs: txs.iter().map(|tx| BlockTx { txid: tx.info.txid.clone(), call: None }).collect(),
            time: block_time(&block.extrinsics),
            // Mortal eras are counted in block numbers.
            expiry_point: Some(height),
        };
        self.recent.lock().expect("not poisoned").remember(ReadBlock { at, txs });
        Ok(result)
    }

    fn remembered(&self, block: &BlockRef) -> Option<ReadBlock> {
        self.recent.lock().expect("not poisoned").blocks.get(&block.hash).cloned()
    }
}

/// A block hash: `0x` and 64 hex digits, lowercased.
fn hash(text: &str, what: &str) -> Result<String, ChainError> {
    let hex = text.strip_prefix("0x").unwrap_or("");
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(ChainError::BadResponse(format!("{what}: expected 0x and 64 hex digits, got {text:?}")))
    }
}

#[async_trait]
impl BlockChain for SidecarClient {
    fn name(&self) -> &'static str {
        "sidecar"
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn tip(&self) -> Result<BlockRef, ChainError> {
        Ok(self.fetch("head").await?.at)
    }

    fn tip_carries_block(&self) -> bool {
        true
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn tip_block(&self) -> Result<Block, ChainError> {
        self.fetch("head").await
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn block_at(&self, height: u64) -> Result<Block, ChainError> {
        self.fetch(&height.to_string()).await
    }

    /// Finalized blocks stay; this answers for any block by reading the
    /// chain's block at its height.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn is_in_best_chain(&self, block: &BlockRef) -> Result<bool, ChainError> {
        match self.fetch(&block.height.to_string()).await {
            Ok(at) => Ok(at.at.hash.eq_ignore_ascii_case(&block.hash)),
            Err(ChainError::NotFound) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// From the blocks read (see the module notes): no request.
    async fn transaction(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        let txid = txid.to_ascii_lowercase();
        let recent = self.recent.lock().expect("not poisoned");
        let Some(block) = recent.by_tx.get(&txid).and_then(|hash| recent.blocks.get(hash)) else { return Ok(None) };
        Ok(block.txs.iter().find(|tx| tx.info.txid == txid).map(|tx| tx.info.clone()))
    }

    /// From the block as read; read again only if it was forgotten.
    #[tracing::instrument(skip(self, block), fields(block = block.at.height), err(level = "debug"))]
    async fn transactions_in_block(&self, block: &Block, txids: &[String]) -> Result<Vec<TxInfo>, ChainError> {
        let read = match self.remembered(&block.at) {
            Some(read) => read,
            None => {
                let again = self.fetch(&block.at.height.to_string()).await?;
                if again.at.hash != block.at.hash {
                    return Ok(Vec::new());
                }
                self.remembered(&block.at).ok_or_else(|| ChainError::BadResponse("block not kept".to_owned()))?
            }
        };
        Ok(read
            .txs
            .into_iter()
            .filter(|tx| txids.iter().any(|t| t.eq_ignore_ascii_case(&tx.info.txid)))
            .map(|tx| tx.info)
            .collect())
    }

    fn discovers_in_blocks(&self) -> bool {
        true
    }

    fn requested_payments(&self, block: &Block) -> Vec<(String, Payment)> {
        let Some(read) = self.remembered(&block.at) else { return Vec::new() };
        read.txs.iter().flat_map(|tx| tx.requested.iter().map(|p| (tx.info.txid.clone(), p.clone()))).collect()
    }

    /// Only seen in a (final) block does an extrinsic get its key, so a
    /// watched one is never asked about: nothing to find.
    async fn replacement(&self, _txid: &str, _conflict: &ConflictKey) -> Result<Option<Replaced>, ChainError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn extrinsic(value: Value) -> Extrinsic {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn transfers_are_read_from_the_call_and_a_failure_pays_nothing() {
        let at = BlockRef { height: 100, hash: format!("0x{}", "ab".repeat(32)) };
        let dot = extrinsic(json!({
            "method": {"pallet": "balances", "method": "transferKeepAlive"},
            "signature": {"signature": "0x00", "signer": {"id": "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5"}},
            "nonce": "7",
            "args": {"dest": {"id": "1zugcag7cJVBtVRnFxv5Qftn7xKAnR6YJ9x4x3XLgGgmNnS"}, "value": "12500000000"},
            "tip": "0",
            "hash": "0xAA",
            "era": {"mortalEra": ["64", "42"]},
            "events": [],
            "success": true,
            "paysFee": true
        }))
        .decode(&at)
        .unwrap();
        assert_eq!(dot.info.payments.len(), 1);
        assert_eq!(dot.info.payments[0].amount, BaseUnits::new(12_500_000_000));
        assert_eq!(dot.info.payments[0].asset, Asset::Native);
        assert_eq!(dot.info.valid_until, Some(105));
        assert_eq!(dot.info.txid, "0xaa");
        assert!(matches!(dot.info.conflict, ConflictKey::Nonce { nonce: 7, .. }));

        let usdt = extrinsic(json!({
            "method": {"pallet": "assets", "method": "transfer"},
            "signature": null, "nonce": null,
            "args": {"id": "1984", "target": {"id": "1zugcag7cJVBtVRnFxv5Qftn7xKAnR6YJ9x4x3XLgGgmNnS"}, "amount": "25000000"},
            "hash": "0xbb", "era": {"immortalEra": "0x00"}, "success": false
        }))
        .decode(&at)
        .unwrap();
        assert_eq!(usdt.requested[0].asset, Asset::Token("1984".into()));
        assert!(usdt.info.payments.is_empty(), "a failed extrinsic pays nothing");
        assert_eq!((usdt.info.success, usdt.info.valid_until), (Some(false), None));
    }

    #[test]
    fn a_batch_pays_what_its_events_say_and_asks_for_what_its_calls_say() {
        let at = BlockRef { height: 100, hash: format!("0x{}", "ab".repeat(32)) };
        let (a, b) =
            ("1zugcag7cJVBtVRnFxv5Qftn7xKAnR6YJ9x4x3XLgGgmNnS", "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5");
        let transfer = |to: &str, value: &str| json!({"method": {"pallet": "balances", "method": "transferKeepAlive"}, "args": {"dest": {"id": to}, "value": value}});
        // `utility.batch` interrupted at its second call: only the first ran.
        let batch = extrinsic(json!({
            "method": {"pallet": "utility", "method": "batch"},
            "signature": {"signature": "0x00", "signer": {"id": b}}, "nonce": "1",
            "args": {"calls": [transfer(a, "100"), {"method": {"pallet": "proxy", "method": "proxy"},
                     "args": {"real": {"id": b}, "forceProxyType": null, "call": transfer(b, "200")}}]},
            "hash": "0xcc", "era": {"immortalEra": "0x00"},
            "events": [
                {"method": {"pallet": "balances", "method": "Withdraw"}, "data": [b, "1000"]},
                {"method": {"pallet": "balances", "method": "Transfer"}, "data": [b, a, "100"]},
                {"method": {"pallet": "utility", "method": "BatchInterrupted"}, "data": ["1", {"module": {"index": "10", "error": "0x02000000"}}]},
                {"method": {"pallet": "system", "method": "ExtrinsicSuccess"}, "data": [{}]}
            ],
            "success": true
        }))
        .decode(&at)
        .unwrap();
        let to = |p: &Vec<Payment>| p.iter().map(|p| (p.to.clone(), p.amount)).collect::<Vec<_>>();
        assert_eq!(to(&batch.requested), [(a.to_owned(), BaseUnits::new(100)), (b.to_owned(), BaseUnits::new(200))]);
        assert_eq!(to(&batch.info.payments), [(a.to_owned(), BaseUnits::new(100))]);
    }

    #[test]
    fn the_block_time_is_its_timestamp_inherent() {
        let set = extrinsic(json!({
            "method": {"pallet": "timestamp", "method": "set"}, "signature": null, "nonce": null,
            "args": {"now": "1764000000000"}, "hash": "0x01", "success": true
        }));
        assert_eq!(block_time(&[set]), Some(Utc.timestamp_millis_opt(1_764_000_000_000).unwrap()));
        assert_eq!(block_time(&[]), None);
    }
}
