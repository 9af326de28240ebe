//! Polkadot (on Polkadot Asset Hub, where balances live since 2025-11-04)
//! through Substrate API Sidecar: block by block over finalized blocks only.
//! `GET /blocks/head` is the finalized head with its extrinsics (one request
//! gives the tip and its block), `GET /blocks/{number}` a block with its
//! extrinsics (`hash`, `method {pallet, method}`, `args`, `success`,
//! `signature.signer`, `nonce`, `era`), each decoded once: the transfers of
//! `balances.transferKeepAlive` / `transferAllowDeath` / `transfer`
//! (`dest.id`, `value`, in planck) and of `assets.transfer` /
//! `transferKeepAlive` (`id`, `target.id`, `amount`: USDT is asset 1984),
//! the block's time from its `timestamp.set` inherent (`now`, ms).
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
    /// A boolean; older Sidecar versions wrote it as a string.
    success: Value,
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

    /// The transfer the call asks for: DOT by `balances`, an asset (USDT:
    /// 1984) by `assets`. Calls wrapped in batches or proxies are not read.
    fn requested(&self) -> Vec<Payment> {
        let args = &self.args;
        let payment = if self.is("balances", &["transferKeepAlive", "transferAllowDeath", "transfer"]) {
            (|| {
                let to = account(args.get("dest")?)?;
                let amount = number(args.get("value")?)?;
                Some(Payment { to, amount: BaseUnits::new(amount), asset: Asset::Native, memo: None })
            })()
        } else if self.is("assets", &["transfer", "transferKeepAlive"]) {
            (|| {
                let id = number(args.get("id")?)?;
                let to = account(args.get("target")?)?;
                let amount = number(args.get("amount")?)?;
                Some(Payment { to, amount: BaseUnits::new(amount), asset: Asset::Token(id.to_string()), memo: None })
            })()
        } else {
            None
        };
        payment.into_iter().collect()
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
        let payments = if success == Some(false) { Vec::new() } else { requested.clone() };
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
    fn the_block_time_is_its_timestamp_inherent() {
        let set = extrinsic(json!({
            "method": {"pallet": "timestamp", "method": "set"}, "signature": null, "nonce": null,
            "args": {"now": "1764000000000"}, "hash": "0x01", "success": true
        }));
        assert_eq!(block_time(&[set]), Some(Utc.timestamp_millis_opt(1_764_000_000_000).unwrap()));
        assert_eq!(block_time(&[]), None);
    }
}
