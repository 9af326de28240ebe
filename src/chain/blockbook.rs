//! Trezor Blockbook API v2 (DOGE, BCH, DASH, ZEC, BTC, LTC, ...): several
//! base URLs tried in order, as for Esplora.
//!
//! How Blockbook answers (`docs/api.md` and its `server/public.go`): amounts
//! are decimal strings in satoshis; empty fields (0, "", [], null) are left
//! out, so an input spending output 0 has no `vout`; "not found" is HTTP 400
//! with `{"error": "Transaction '…' not found"}` or `{"error": "Block not
//! found"}`; `/api/v2/block-index/:h` above the tip is `{"blockHash": ""}`.
//! A 404 means no such route: the base URL is not a Blockbook, which is a
//! `BadResponse`, never "transaction unknown".
//!
//! Best chain: Blockbook follows its backend's best chain and answers by
//! height from it, so a block is on the best chain iff `block-index` at its
//! height names its hash.
//!
//! Replacement: Blockbook has no outspend endpoint. For each previous output
//! the transaction spends, `/api/v2/tx/:prev?spending=true` reports
//! `vout[n].spentTxId` once a *confirmed* transaction spends it: a different
//! id is the replacement, named. A mempool spender leaves no id there, but
//! the output disappears from `/api/v2/utxo/:address` (which lists
//! unconfirmed outputs and drops those spent in the mempool): when it is
//! gone while the node no longer knows our transaction, something else
//! spent it, so it was replaced by an unnamed transaction.

use super::unix_seconds;
use async_trait::async_trait;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::http::{endpoint, parse_hash, parse_json, snippet, ClientConfig, Endpoints};
use super::{
    AddressHistory, Asset, BaseUnits, Block, BlockChain, BlockRef, BlockTx, ChainError, ConflictKey, OutPoint, Payment,
    Replaced, TxInfo, TxLocation,
};

/// Base URLs without `/api`, e.g. `https://doge1.trezor.io`; hosted
/// Blockbooks (NOWNodes: `api-key`) want a key header.
pub struct BlockbookClient {
    api: Endpoints,
}

// Only the fields we read; the API sends more.
#[derive(Deserialize)]
struct Status {
    blockbook: StatusBlockbook,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusBlockbook {
    best_height: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockIndex {
    block_hash: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BbBlock {
    #[serde(default = "one")]
    page: u32,
    #[serde(default = "one")]
    total_pages: u32,
    hash: String,
    height: u64,
    previous_block_hash: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    time: Option<i64>,
    #[serde(default)]
    txs: Vec<BbBlockTx>,
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
struct BbBlockTx {
    txid: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BbTx {
    txid: String,
    #[serde(default)]
    vin: Vec<BbVin>,
    #[serde(default)]
    vout: Vec<BbVout>,
    block_hash: Option<String>,
    /// -1 (or absent, or 0) while in the mempool.
    block_height: Option<i64>,
    #[serde(default)]
    confirmations: u64,
}

#[derive(Deserialize)]
struct BbVin {
    /// Absent for a coinbase input.
    txid: Option<String>,
    /// Absent when 0 (empty fields are omitted).
    #[serde(default)]
    vout: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BbVout {
    /// Absent when 0.
    value: Option<String>,
    #[serde(default)]
    n: u32,
    #[serde(default)]
    addresses: Vec<String>,
    /// `false` for OP_RETURN and non-standard scripts, whose "address" is a
    /// description such as `OP_RETURN (hello)`.
    #[serde(default)]
    is_address: bool,
    #[serde(default)]
    spent: bool,
    spent_tx_id: Option<String>,
}

#[derive(Deserialize)]
struct BbUtxo {
    txid: String,
    #[serde(default)]
    vout: u32,
}

#[derive(Deserialize)]
struct BbError {
    error: String,
}

impl BlockbookClient {
    pub fn new(config: ClientConfig) -> Self {
        Self { api: Endpoints::new(config) }
    }

    /// `None` when Blockbook says the thing is not found (HTTP 400 with an
    /// error naming "not found"); any other 4xx is a `BadResponse`.
    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, ChainError> {
        self.api.get(path, |reply| read(reply, path)).await
    }

    /// The best chain's block hash at `height`; `NotFound` above the tip.
    async fn block_hash_at(&self, height: u64) -> Result<String, ChainError> {
        let path = format!("/api/v2/block-index/{height}");
        let index: BlockIndex = self.get_json(&path).await?.ok_or(ChainError::NotFound)?;
        if index.block_hash.is_empty() {
            return Err(ChainError::NotFound);
        }
        parse_hash(&index.block_hash, "/api/v2/block-index")
    }

    async fn tx(&self, txid: &str, spending: bool) -> Result<Option<BbTx>, ChainError> {
        let query = if spending { "?spending=true" } else { "" };
        self.get_json(&format!("/api/v2/tx/{txid}{query}")).await
    }

    /// Whether `outpoint` is still in the unspent set of `address`, mempool
    /// spends taken into account.
    async fn is_unspent(&self, address: &str, outpoint: &OutPoint) -> Result<bool, ChainError> {
        let utxos: Vec<BbUtxo> = self.get_json(&format!("/api/v2/utxo/{address}")).await?.unwrap_or_default();
        Ok(utxos.iter().any(|u| u.txid.eq_ignore_ascii_case(&outpoint.txid) && u.vout == outpoint.vout))
    }

    /// The newest transaction ids paying or spending `address` (mempool
    /// first), e.g. to look at what replaced a withdrawal.
    pub async fn address_txids(&self, address: &str) -> Result<Vec<String>, ChainError> {
        #[derive(Deserialize)]
        struct Address {
            #[serde(default)]
            txids: Vec<String>,
        }
        let path = format!("/api/v2/address/{address}?details=txids");
        let found: Address = self.get_json(&path).await?.ok_or(ChainError::NotFound)?;
        Ok(found.txids)
    }
}

/// How Blockbook answers: JSON on success, `{"error"}` with HTTP 400 when
/// something is not found.
fn read<T: DeserializeOwned>(reply: super::http::Reply, path: &str) -> Result<Option<T>, ChainError> {
    if reply.status.is_success() {
        return parse_json(&reply.body, path).map(Some);
    }
    let message = serde_json::from_str::<BbError>(&reply.body).map(|e| e.error);
    match (reply.status, message) {
        (StatusCode::BAD_REQUEST, Ok(message)) if message.to_ascii_lowercase().contains("not found") => Ok(None),
        (StatusCode::NOT_FOUND, _) => Err(ChainError::BadResponse(format!(
            "{}: HTTP 404: no such endpoint (is the base URL a Blockbook?)",
            endpoint(path)
        ))),
        (status, Ok(message)) => {
            Err(ChainError::BadResponse(format!("{}: HTTP {}: {message}", endpoint(path), status.as_u16())))
        }
        (status, Err(_)) => Err(ChainError::BadResponse(format!(
            "{}: HTTP {}: {}",
            endpoint(path),
            status.as_u16(),
            snippet(&reply.body)
        ))),
    }
}

fn parse_sats(value: Option<&str>, txid: &str) -> Result<Option<BaseUnits>, ChainError> {
    let Some(value) = value else { return Ok(Some(BaseUnits::ZERO)) };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ChainError::BadResponse(format!("/api/v2/tx/:id: {txid} has an output value {value:?}")));
    }
    // Too large for u128: no withdrawal is that large, leave it out.
    Ok(value.parse::<u128>().ok().map(BaseUnits::new))
}

fn tx_info(tx: BbTx) -> Result<TxInfo, ChainError> {
    let location = match (tx.block_height, tx.block_hash) {
        (Some(height), Some(hash)) if height > 0 && tx.confirmations > 0 => {
            TxLocation::Block(BlockRef { height: height as u64, hash: parse_hash(&hash, "/api/v2/tx/:id blockHash")? })
        }
        _ => TxLocation::Mempool,
    };
    let mut payments = Vec::new();
    for out in &tx.vout {
        // An output to one address; bare multisig and OP_RETURN pay no one address.
        let [address] = out.addresses.as_slice() else { continue };
        if !out.is_address {
            continue;
        }
        if let Some(amount) = parse_sats(out.value.as_deref(), &tx.txid)? {
            payments.push(Payment { to: address.clone(), amount, asset: Asset::Native, memo: None });
        }
    }
    let outpoints = tx
        .vin
        .into_iter()
        .filter_map(|vin| Some(OutPoint { txid: vin.txid?.to_ascii_lowercase(), vout: vin.vout }))
        .collect();
    Ok(TxInfo {
        txid: tx.txid.to_ascii_lowercase(),
        location,
        success: Some(true),
        payments,
        conflict: ConflictKey::Outpoints(outpoints),
        valid_until: None,
    })
}

#[async_trait]
impl AddressHistory for BlockbookClient {
    /// The address's latest transactions (at most 10: discovery looks for a
    /// recent payment, and each costs a request).
    async fn payments_to(&self, address: &str) -> Result<Vec<TxInfo>, ChainError> {
        let mut found = Vec::new();
        for txid in self.address_txids(address).await?.into_iter().take(10) {
            found.extend(self.transaction(&txid).await?);
        }
        Ok(found)
    }
}

#[async_trait]
impl BlockChain for BlockbookClient {
    fn address_history(&self) -> Option<&dyn AddressHistory> {
        Some(self)
    }

    fn name(&self) -> &'static str {
        "blockbook"
    }

    /// Blockbook's own best height (what it has indexed, which every other
    /// answer is based on; the backend may be ahead), then the hash of the
    /// block at that height: a height and hash that belong together even if
    /// a block arrives between the two reads.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn tip(&self) -> Result<BlockRef, ChainError> {
        let status: Status = self.get_json("/api").await?.ok_or(ChainError::NotFound)?;
        let height = status.blockbook.best_height;
        let hash = self.block_hash_at(height).await?;
        Ok(BlockRef { height, hash })
    }

    /// The hash at `height`, then that block by hash, every page of it.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn block_at(&self, height: u64) -> Result<Block, ChainError> {
        let hash = self.block_hash_at(height).await?;
        let mut txs = Vec::new();
        let mut page = 1;
        let mut time = None;
        let parent_hash = loop {
            let path = format!("/api/v2/block/{hash}?page={page}");
            let block: BbBlock = self.get_json(&path).await?.ok_or(ChainError::NotFound)?;
            if !block.hash.eq_ignore_ascii_case(&hash) || block.height != height || block.page != page {
                return Err(ChainError::BadResponse(format!(
                    "/api/v2/block/:id: asked for {height} {hash} page {page}, got {} {} page {}",
                    block.height, block.hash, block.page
                )));
            }
            time = time.or(block.time.and_then(unix_seconds));
            txs.extend(block.txs.into_iter().map(|tx| BlockTx { txid: tx.txid.to_ascii_lowercase(), call: None }));
            if page >= block.total_pages {
                break block.previous_block_hash.map(|p| p.to_ascii_lowercase());
            }
            page += 1;
        };
        Ok(Block { at: BlockRef { height, hash }, parent_hash, txs, time, expiry_point: None })
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn is_in_best_chain(&self, block: &BlockRef) -> Result<bool, ChainError> {
        match self.block_hash_at(block.height).await {
            Ok(hash) => Ok(hash.eq_ignore_ascii_case(&block.hash)),
            Err(ChainError::NotFound) => Ok(false),
            Err(error) => Err(error),
        }
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn transaction(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        self.tx(txid, false).await?.map(tx_info).transpose()
    }

    #[tracing::instrument(skip(self, conflict), err(level = "debug"))]
    async fn replacement(&self, txid: &str, conflict: &ConflictKey) -> Result<Option<Replaced>, ChainError> {
        let ConflictKey::Outpoints(outpoints) = conflict else {
            return Err(ChainError::BadResponse("Blockbook replacement needs outpoints, got a nonce".to_owned()));
        };
        let mut spent_by_someone = false;
        for outpoint in outpoints {
            let Some(prev) = self.tx(&outpoint.txid, true).await? else { continue };
            let Some(out) = prev.vout.iter().find(|out| out.n == outpoint.vout) else { continue };
            match &out.spent_tx_id {
                Some(spender) if !spender.eq_ignore_ascii_case(txid) => {
                    return Ok(Some(Replaced { by: Some(spender.to_ascii_lowercase()) }))
                }
                Some(_) => return Ok(None), // ours, confirmed
                None => {}
            }
            let [address] = out.addresses.as_slice() else { continue };
            if out.spent || !self.is_unspent(address, outpoint).await? {
                spent_by_someone = true;
            }
        }
        // Spent in the mempool, by us while the node still knows us.
        if spent_by_someone && self.tx(txid, false).await?.is_none() {
            return Ok(Some(Replaced { by: None }));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(json: serde_json::Value) -> BbTx {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn omitted_fields_mean_zero_and_mempool_heights_mean_mempool() {
        let info = tx_info(tx(serde_json::json!({
            "txid": "AB".repeat(32),
            "vin": [{"txid": "cd".repeat(32), "n": 0, "addresses": ["DDhUv8JZGmSxKYV95NLnbRTUKni9cDZD3S"], "isAddress": true, "value": "5"}],
            "vout": [
                {"value": "55585679000000", "n": 0, "addresses": ["DUMh1rPrXTrCN2Z9EHsLPg7b78rACHB2h7"], "isAddress": true},
                {"n": 1, "addresses": ["OP_RETURN (hello)"], "isAddress": false},
                {"n": 2, "addresses": ["DSXDQ6rnwLX47WFRnemctoXPHA9pLMxqXn"], "isAddress": true}
            ],
            "blockHeight": -1,
            "confirmations": 0,
            "value": "55585679000000"
        })))
        .unwrap();
        assert_eq!(info.txid, "ab".repeat(32));
        assert_eq!(info.location, TxLocation::Mempool);
        assert_eq!(info.conflict, ConflictKey::Outpoints(vec![OutPoint { txid: "cd".repeat(32), vout: 0 }]));
        let amounts: Vec<u128> = info.payments.iter().map(|p| p.amount.get()).collect();
        assert_eq!(amounts, vec![55_585_679_000_000, 0], "OP_RETURN skipped; an omitted value is 0");
    }

    #[test]
    fn a_value_that_is_not_digits_is_a_bad_response() {
        let bad = tx(serde_json::json!({
            "txid": "ab".repeat(32),
            "vout": [{"value": "1.5", "n": 0, "addresses": ["D6ravJL6Fgxtgp8k2XZZt1QfUmwwGuLwQJ"], "isAddress": true}]
        }));
        assert!(matches!(tx_info(bad), Err(ChainError::BadResponse(m)) if m.contains("1.5")));
    }
}
