//! Cardano through the Blockfrost REST API (blockfrost.io, or a
//! Blockfrost-compatible server such as blockfrost-backend-ryo): several
//! base URLs tried in order; the key goes in the `project_id` header.
//!
//! How Blockfrost answers (https://docs.blockfrost.io, the OpenAPI at
//! https://github.com/blockfrost/openapi): amounts are decimal strings
//! (`quantity`) per `unit`, `lovelace` or a native asset's policy id
//! followed by its hex asset name; "not found" is HTTP 404 with
//! `{"status_code":404,"error":"Not Found","message":"..."}`; throttling is
//! 429 (and 402 once the project's daily quota is used up, 418 when the
//! key was banned for ignoring 429s): all three are `RateLimited`.
//!
//! What is read: the tip from `/blocks/latest`; a block by height from
//! `/blocks/{number}` (its `hash`, `previous_block`, `slot`, `time`,
//! `tx_count`) and its transactions from `/blocks/{hash}/txs/cbor` (100 a
//! page, `[{tx_hash, cbor}]`, read only while `tx_count` says more are
//! there, none for an empty block): the CBOR says what a transaction pays
//! (`cardano_cbor.rs`), so a withdrawal matched in a block just read costs
//! no request. A transaction looked up by hash: `/txs/{hash}` (`block`,
//! `block_height`, `valid_contract`, `invalid_hereafter`) and
//! `/txs/{hash}/utxos` (its outputs; collateral outputs, which only a failed
//! script transaction creates, are not payments). Blockfrost knows only
//! transactions in a block (its `/mempool` holds just what was submitted
//! through it), so a transaction not in a block yet is `None`, never
//! `Mempool`.
//!
//! Best chain: Blockfrost follows the node's chain (db-sync rolls back
//! blocks that leave it), so `/blocks/{hash}` of a block that left the best
//! chain is a 404; answers by height are the best chain's.
//!
//! Expiry: a transaction's validity interval ends at `invalid_hereafter`, a
//! slot, *exclusive* (the ledger's rule since Allegra: valid in slots
//! `invalid_before <= slot < invalid_hereafter`), so its last valid slot,
//! `TxInfo::valid_until`, is `invalid_hereafter - 1`, and each block's
//! `expiry_point` is its slot. Blockfrost only reports `invalid_hereafter`
//! for a transaction already in a block, so for a transaction that never
//! lands the exchange gives that last valid slot with the hash
//! (`last_valid_height` in the PATCH).
//!
//! Replacement: another transaction spending one of the same outputs. The
//! previous transaction's `/txs/{hash}/utxos` names, for each output, the
//! transaction that spent it (`consumed_by_tx`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::cardano_cbor::{decode_tx, CardanoTx};
use super::http::{parse_hash, parse_json, snippet, ClientConfig, Endpoints, Reply};
use super::{
    AddressHistory, Asset, BaseUnits, Block, BlockChain, BlockRef, BlockTx, ChainError, ConflictKey, OutPoint, Payment,
    Replaced, TxInfo, TxLocation,
};

/// Blockfrost's API key header.
pub const API_KEY_HEADER: &str = "project_id";

/// Transaction hashes per page of `/blocks/{hash}/txs` (Blockfrost's most).
const PAGE: u64 = 100;
/// Transactions of an address read per discovery look (each costs two requests).
const DISCOVERY_TXS: usize = 10;

/// Base URLs like `https://cardano-mainnet.blockfrost.io/api/v0`.
pub struct BlockfrostClient {
    api: Endpoints,
    /// The last block read: its hash and each transaction's CBOR (hex), so
    /// that the transactions the tracker matches in it need no request.
    last_block: Mutex<Option<(String, HashMap<String, String>)>>,
    /// The server answered 404 for a block's CBOR pages: read hashes only.
    cbor_unsupported: AtomicBool,
}

// Only the fields we read; the API sends more.
#[derive(Deserialize)]
struct BfBlock {
    /// Null only for Byron epoch boundary blocks.
    height: Option<u64>,
    hash: String,
    slot: Option<u64>,
    /// Unix seconds.
    time: i64,
    tx_count: u64,
    previous_block: Option<String>,
}

#[derive(Deserialize)]
struct BfTx {
    hash: String,
    block: String,
    block_height: u64,
    /// A slot, as decimal text; null when the transaction set no upper bound.
    invalid_hereafter: Option<String>,
    /// False when a script failed in phase 2: only the collateral was taken.
    valid_contract: bool,
}

#[derive(Deserialize)]
struct BfUtxos {
    inputs: Vec<BfInput>,
    outputs: Vec<BfOutput>,
}

#[derive(Deserialize)]
struct BfInput {
    tx_hash: String,
    output_index: u32,
    #[serde(default)]
    collateral: bool,
    #[serde(default)]
    reference: bool,
}

#[derive(Deserialize)]
struct BfOutput {
    address: String,
    amount: Vec<BfAmount>,
    output_index: u32,
    #[serde(default)]
    collateral: bool,
    consumed_by_tx: Option<String>,
}

#[derive(Deserialize)]
struct BfAmount {
    unit: String,
    quantity: String,
}

#[derive(Deserialize)]
struct BfBlockTxCbor {
    tx_hash: String,
    cbor: String,
}

#[derive(Deserialize)]
struct BfAddressTx {
    tx_hash: String,
}

impl BlockfrostClient {
    pub fn new(config: ClientConfig) -> Self {
        Self { api: Endpoints::new(config), last_block: Mutex::new(None), cbor_unsupported: AtomicBool::new(false) }
    }

    /// The body of a 2xx answer; `None` on 404.
    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, ChainError> {
        self.api.get(path, |reply| read(reply, path)).await
    }

    async fn block(&self, hash_or_number: &str) -> Result<Option<BfBlock>, ChainError> {
        self.get_json(&format!("/blocks/{hash_or_number}")).await
    }

    async fn utxos(&self, txid: &str) -> Result<Option<BfUtxos>, ChainError> {
        self.get_json(&format!("/txs/{txid}/utxos")).await
    }

    /// The transaction and its outputs: two requests.
    async fn tx_and_utxos(&self, txid: &str) -> Result<Option<(BfTx, BfUtxos)>, ChainError> {
        let Some(tx) = self.get_json::<BfTx>(&format!("/txs/{txid}")).await? else { return Ok(None) };
        // Known a moment ago, so a 404 now is a rollback in between: unknown.
        let Some(utxos) = self.utxos(txid).await? else { return Ok(None) };
        Ok(Some((tx, utxos)))
    }

    /// A block's transactions in block order, `tx_count` of them: with their
    /// CBOR (`/blocks/{hash}/txs/cbor`), or hashes only (`/blocks/{hash}/txs`,
    /// CBOR left empty) where the server lacks the CBOR endpoint.
    async fn block_txs(&self, hash: &str, tx_count: u64, cbor: bool) -> Result<Vec<(String, String)>, ChainError> {
        let mut txs: Vec<(String, String)> = Vec::with_capacity(tx_count as usize);
        let mut page = 1;
        while (txs.len() as u64) < tx_count {
            let listed: Vec<(String, String)> = if cbor {
                let path = format!("/blocks/{hash}/txs/cbor?count={PAGE}&page={page}&order=asc");
                let listed: Vec<BfBlockTxCbor> = self.get_json(&path).await?.ok_or(ChainError::NotFound)?;
                listed.into_iter().map(|t| (t.tx_hash.to_ascii_lowercase(), t.cbor)).collect()
            } else {
                let path = format!("/blocks/{hash}/txs?count={PAGE}&page={page}&order=asc");
                let listed: Vec<String> = self.get_json(&path).await?.ok_or(ChainError::NotFound)?;
                listed.into_iter().map(|t| (t.to_ascii_lowercase(), String::new())).collect()
            };
            if listed.is_empty() {
                let what = if cbor { "/blocks/:id/txs/cbor" } else { "/blocks/:id/txs" };
                return Err(bad(what, format!("{} of {tx_count} transactions listed", txs.len())));
            }
            txs.extend(listed);
            page += 1;
        }
        Ok(txs)
    }

    /// Hashes of the newest transactions touching `address` (404 for an
    /// address the chain never saw: none).
    async fn address_txids(&self, address: &str) -> Result<Vec<String>, ChainError> {
        let path = format!("/addresses/{address}/transactions?order=desc&count={DISCOVERY_TXS}");
        let txs: Option<Vec<BfAddressTx>> = self.get_json(&path).await?;
        Ok(txs.unwrap_or_default().into_iter().map(|t| t.tx_hash).collect())
    }
}

/// How Blockfrost answers: 404 is "not found"; 402 (daily quota used up)
/// and 418 (banned for ignoring 429s) are throttling as 429 is; any other
/// 4xx is a request we got wrong.
fn read<T: DeserializeOwned>(reply: Reply, path: &str) -> Result<Option<T>, ChainError> {
    match reply.status {
        StatusCode::NOT_FOUND => Ok(None),
        StatusCode::PAYMENT_REQUIRED | StatusCode::IM_A_TEAPOT => Err(ChainError::RateLimited { retry_after: None }),
        status if status.is_success() => parse_json(&reply.body, path).map(Some),
        _ => Err(reply.unexpected_status()),
    }
}

fn block_ref(block: &BfBlock, what: &str) -> Result<BlockRef, ChainError> {
    let height = block
        .height
        .ok_or_else(|| ChainError::BadResponse(format!("{what}: block {} has no height", snippet(&block.hash))))?;
    Ok(BlockRef { height, hash: parse_hash(&block.hash, what)? })
}

fn bad(what: &str, detail: String) -> ChainError {
    ChainError::BadResponse(format!("{what}: {detail}"))
}

/// The outputs as payments: lovelace is the native coin, any other unit a
/// native asset named by its unit (policy id + hex asset name, lowercase).
/// Collateral outputs are not payments.
fn payments(utxos: &BfUtxos) -> Result<Vec<Payment>, ChainError> {
    let what = "/txs/:id/utxos";
    let mut payments = Vec::new();
    for output in utxos.outputs.iter().filter(|o| !o.collateral) {
        for amount in &output.amount {
            let units = amount
                .quantity
                .parse::<u128>()
                .map_err(|_| bad(what, format!("quantity {:?} is not a whole number", snippet(&amount.quantity))))?;
            let asset = if amount.unit == "lovelace" {
                Asset::Native
            } else if amount.unit.len() >= 56 && amount.unit.bytes().all(|b| b.is_ascii_hexdigit()) {
                Asset::Token(amount.unit.to_ascii_lowercase())
            } else {
                return Err(bad(what, format!("unit {:?} is neither lovelace nor an asset", snippet(&amount.unit))));
            };
            payments.push(Payment { to: output.address.clone(), amount: BaseUnits::new(units), asset, memo: None });
        }
    }
    Ok(payments)
}

/// The last valid slot: `invalid_hereafter` is an exclusive bound.
fn last_valid_slot(tx: &BfTx) -> Result<Option<u64>, ChainError> {
    tx.invalid_hereafter
        .as_deref()
        .map(|slot| {
            slot.parse::<u64>()
                .map(|s| s.saturating_sub(1))
                .map_err(|_| bad("/txs/:id", format!("invalid_hereafter {:?} is not a slot", snippet(slot))))
        })
        .transpose()
}

fn tx_info(tx: BfTx, utxos: BfUtxos) -> Result<TxInfo, ChainError> {
    let location = TxLocation::Block(BlockRef { height: tx.block_height, hash: parse_hash(&tx.block, "/txs/:id")? });
    // A failed script transaction paid nothing (only its collateral went).
    let payments = if tx.valid_contract { payments(&utxos)? } else { Vec::new() };
    let outpoints = utxos
        .inputs
        .iter()
        .filter(|i| !i.collateral && !i.reference)
        .map(|i| OutPoint { txid: i.tx_hash.to_ascii_lowercase(), vout: i.output_index })
        .collect();
    let valid_until = last_valid_slot(&tx)?;
    Ok(TxInfo {
        txid: tx.hash.to_ascii_lowercase(),
        location,
        success: Some(tx.valid_contract),
        payments,
        conflict: ConflictKey::Outpoints(outpoints),
        valid_until,
    })
}

/// A transaction decoded from the block's CBOR, in that block.
fn cbor_tx_info(txid: &str, tx: &CardanoTx, block: &BlockRef) -> TxInfo {
    let payments = if !tx.is_valid {
        Vec::new()
    } else {
        tx.outputs
            .iter()
            .flat_map(|o| {
                std::iter::once(Payment {
                    to: o.address.clone(),
                    amount: BaseUnits::new(o.lovelace.into()),
                    asset: Asset::Native,
                    memo: None,
                })
                .chain(o.assets.iter().map(|(unit, quantity)| Payment {
                    to: o.address.clone(),
                    amount: BaseUnits::new(*quantity),
                    asset: Asset::Token(unit.clone()),
                    memo: None,
                }))
            })
            .collect()
    };
    TxInfo {
        txid: txid.to_owned(),
        location: TxLocation::Block(block.clone()),
        success: Some(tx.is_valid),
        payments,
        conflict: ConflictKey::Outpoints(
            tx.inputs.iter().map(|(txid, vout)| OutPoint { txid: txid.clone(), vout: *vout }).collect(),
        ),
        valid_until: tx.ttl.map(|ttl| ttl.saturating_sub(1)),
    }
}

#[async_trait]
impl AddressHistory for BlockfrostClient {
    /// The address's latest transactions (at most `DISCOVERY_TXS`: discovery
    /// looks for a recent payment, and each costs two requests).
    async fn payments_to(&self, address: &str) -> Result<Vec<TxInfo>, ChainError> {
        let mut found = Vec::new();
        for txid in self.address_txids(address).await? {
            found.extend(self.transaction(&txid).await?);
        }
        Ok(found)
    }
}

#[async_trait]
impl BlockChain for BlockfrostClient {
    fn name(&self) -> &'static str {
        "blockfrost"
    }

    fn address_history(&self) -> Option<&dyn AddressHistory> {
        Some(self)
    }

    /// Height and hash from one answer.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn tip(&self) -> Result<BlockRef, ChainError> {
        let block = self.block("latest").await?.ok_or(ChainError::NotFound)?;
        block_ref(&block, "/blocks/latest")
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn block_at(&self, height: u64) -> Result<Block, ChainError> {
        let what = "/blocks/:id";
        let block = self.block(&height.to_string()).await?.ok_or(ChainError::NotFound)?;
        let at = block_ref(&block, what)?;
        if at.height != height {
            return Err(bad(what, format!("asked for block {height}, got {}", at.height)));
        }
        // By hash from here on: the pages describe this block even if the
        // chain moves meanwhile.
        let txs = match self.cbor_unsupported.load(Ordering::Relaxed) {
            false => match self.block_txs(&at.hash, block.tx_count, true).await {
                // A 404 for the pages of a block just read: a server without
                // the CBOR endpoint (or the block rolled back meanwhile,
                // which the plain list tells apart).
                Err(ChainError::NotFound) if block.tx_count > 0 => {
                    let listed = self.block_txs(&at.hash, block.tx_count, false).await?;
                    tracing::info!("no /blocks/{{hash}}/txs/cbor here: reading transaction hashes only");
                    self.cbor_unsupported.store(true, Ordering::Relaxed);
                    listed
                }
                read => read?,
            },
            true => self.block_txs(&at.hash, block.tx_count, false).await?,
        };
        let txids: Vec<String> = txs.iter().map(|(txid, _)| txid.clone()).collect();
        *self.last_block.lock().expect("not poisoned") = Some((at.hash.clone(), txs.into_iter().collect()));
        let parent_hash = block.previous_block.as_deref().map(|p| parse_hash(p, what)).transpose()?;
        Ok(Block {
            at,
            parent_hash,
            txs: txids.into_iter().map(|txid| BlockTx { txid, call: None }).collect(),
            expiry_point: block.slot,
            time: chrono::DateTime::from_timestamp(block.time, 0),
        })
    }

    /// Blockfrost keeps only best-chain blocks: a known hash is on it.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn is_in_best_chain(&self, block: &BlockRef) -> Result<bool, ChainError> {
        let found = self.block(&block.hash).await?;
        Ok(found.is_some_and(|b| b.height == Some(block.height)))
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn transaction(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        let Some((tx, utxos)) = self.tx_and_utxos(txid).await? else { return Ok(None) };
        tx_info(tx, utxos).map(Some)
    }

    /// In the block just read, from the CBOR read with it: no request. Else
    /// (a transaction it could not decode) the outputs alone say enough
    /// where the transaction has no collateral input: only a script
    /// transaction (which must put up collateral) can fail, so without one
    /// it succeeded, and one request does. Otherwise `/txs/{hash}` tells
    /// `valid_contract`.
    async fn transactions_in_block(&self, block: &Block, txids: &[String]) -> Result<Vec<TxInfo>, ChainError> {
        let read: HashMap<String, CardanoTx> = {
            let last = self.last_block.lock().expect("not poisoned");
            match last.as_ref().filter(|(hash, _)| *hash == block.at.hash) {
                Some((_, cbor)) => txids.iter().filter_map(|t| Some((t.clone(), decode_tx(cbor.get(t)?)?))).collect(),
                None => HashMap::new(),
            }
        };
        let mut found = Vec::with_capacity(txids.len());
        for txid in txids {
            if let Some(tx) = read.get(txid) {
                found.push(cbor_tx_info(txid, tx, &block.at));
                continue;
            }
            let Some(utxos) = self.utxos(txid).await? else { continue };
            if utxos.inputs.iter().any(|i| i.collateral) {
                found.extend(self.transaction(txid).await?);
                continue;
            }
            let tx = BfTx {
                hash: txid.clone(),
                block: block.at.hash.clone(),
                block_height: block.at.height,
                invalid_hereafter: None,
                valid_contract: true,
            };
            found.push(tx_info(tx, utxos)?);
        }
        Ok(found)
    }

    #[tracing::instrument(skip(self, conflict), err(level = "debug"))]
    async fn replacement(&self, txid: &str, conflict: &ConflictKey) -> Result<Option<Replaced>, ChainError> {
        let ConflictKey::Outpoints(outpoints) = conflict else {
            return Err(ChainError::BadResponse("Cardano replacement needs outpoints, got a nonce".to_owned()));
        };
        for outpoint in outpoints {
            let Some(previous) = self.utxos(&outpoint.txid).await? else { continue };
            let spender = previous
                .outputs
                .iter()
                .find(|o| o.output_index == outpoint.vout && !o.collateral)
                .and_then(|o| o.consumed_by_tx.as_deref());
            if let Some(spender) = spender.filter(|s| !s.eq_ignore_ascii_case(txid)) {
                return Ok(Some(Replaced { by: Some(spender.to_ascii_lowercase()) }));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utxos(outputs: serde_json::Value) -> BfUtxos {
        serde_json::from_value(serde_json::json!({"hash": "00", "inputs": [], "outputs": outputs})).unwrap()
    }

    #[test]
    fn outputs_become_payments_per_unit_and_collateral_is_not_one() {
        let unit = format!("{}{}", "f4".repeat(28), "55534444");
        let paid = payments(&utxos(serde_json::json!([
            {"address": "addr1a", "amount": [{"unit": "lovelace", "quantity": "1500000"},
                                             {"unit": unit.to_ascii_uppercase(), "quantity": "25500000"}],
             "output_index": 0, "collateral": false},
            {"address": "addr1b", "amount": [{"unit": "lovelace", "quantity": "5"}], "output_index": 1, "collateral": true},
        ])))
        .unwrap();
        assert_eq!(
            paid,
            vec![
                Payment { to: "addr1a".into(), amount: BaseUnits::new(1_500_000), asset: Asset::Native, memo: None },
                Payment {
                    to: "addr1a".into(),
                    amount: BaseUnits::new(25_500_000),
                    asset: Asset::Token(unit),
                    memo: None
                },
            ]
        );
        let fractional = utxos(serde_json::json!([
            {"address": "a", "amount": [{"unit": "lovelace", "quantity": "1.5"}], "output_index": 0}
        ]));
        assert!(matches!(payments(&fractional), Err(ChainError::BadResponse(_))));
        let odd_unit = utxos(serde_json::json!([
            {"address": "a", "amount": [{"unit": "ada", "quantity": "1"}], "output_index": 0}
        ]));
        assert!(matches!(payments(&odd_unit), Err(ChainError::BadResponse(_))));
    }

    #[test]
    fn invalid_hereafter_is_an_exclusive_bound() {
        let tx = |bound: Option<&str>| BfTx {
            hash: "00".into(),
            block: "00".into(),
            block_height: 1,
            invalid_hereafter: bound.map(str::to_owned),
            valid_contract: true,
        };
        assert_eq!(last_valid_slot(&tx(Some("13885913"))).unwrap(), Some(13_885_912));
        assert_eq!(last_valid_slot(&tx(None)).unwrap(), None);
        assert!(last_valid_slot(&tx(Some("soon"))).is_err());
    }
}
