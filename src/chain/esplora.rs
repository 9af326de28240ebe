//! Esplora REST (Blockstream, mempool.space): several base URLs tried in
//! order, so a second explorer covers for the first.

use std::collections::HashMap;
use std::sync::Mutex;

use super::jsonrpc::{Support, SupportFlag};
use super::unix_seconds;
use async_trait::async_trait;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::http::{parse_hash, parse_json, ClientConfig, Endpoints};
use super::{
    AddressHistory, Asset, BaseUnits, Block, BlockChain, BlockRef, BlockTx, ChainError, ConflictKey, OutPoint, Payment,
    Readings, Replaced, TxInfo, TxLocation, TxReading,
};

/// Base URLs like `https://blockstream.info/api`.
pub struct EsploraClient {
    api: Endpoints,
    /// Fee rates (sat/vB) of mempool transactions from the lookups the
    /// tracker makes anyway (`/tx/:txid` carries `fee` and `weight`), so the
    /// chain signals need no request per transaction. Bounded.
    fee_rates: Mutex<HashMap<String, f64>>,
    /// Whether the server offers mempool.space's `/v1/fees/mempool-blocks`
    /// (Blockstream's Esplora does not): asked once, remembered.
    mempool_blocks: SupportFlag,
}

/// Fee rates remembered at most (then forgotten all at once).
const MAX_FEE_RATES: usize = 20_000;

/// `GET /mempool` (esplora API.md, "Mempool").
#[derive(Deserialize)]
struct EsploraMempool {
    vsize: u64,
}

/// One projected block of `GET /v1/fees/mempool-blocks` (mempool.space REST
/// API, "Get Mempool Blocks Fees"): `feeRange` from the lowest fee rate it
/// takes to the highest, sat/vB.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MempoolBlock {
    fee_range: Vec<f64>,
}

// Only the fields we read; the API sends more.
#[derive(Deserialize)]
struct EsploraBlock {
    height: u64,
    previousblockhash: Option<String>,
    /// Unix seconds (the header's time).
    #[serde(default)]
    timestamp: Option<i64>,
}

#[derive(Deserialize)]
struct EsploraBlockStatus {
    in_best_chain: bool,
}

#[derive(Deserialize)]
struct EsploraTx {
    txid: String,
    vin: Vec<EsploraVin>,
    vout: Vec<EsploraVout>,
    status: EsploraTxStatus,
    /// Satoshis paid in fees, and the weight (4 per virtual byte).
    #[serde(default)]
    fee: Option<u64>,
    #[serde(default)]
    weight: Option<u64>,
}

#[derive(Deserialize)]
struct EsploraVin {
    txid: String,
    vout: u32,
    #[serde(default)]
    is_coinbase: bool,
}

#[derive(Deserialize)]
struct EsploraVout {
    /// Absent for OP_RETURN and non-standard scripts.
    scriptpubkey_address: Option<String>,
    /// Absent for confidential (Liquid) outputs.
    value: Option<u64>,
}

#[derive(Deserialize)]
struct EsploraTxStatus {
    confirmed: bool,
    block_height: Option<u64>,
    block_hash: Option<String>,
}

#[derive(Deserialize)]
struct EsploraOutspend {
    spent: bool,
    txid: Option<String>,
}

impl EsploraClient {
    pub fn new(config: ClientConfig) -> Self {
        Self { api: Endpoints::new(config), fee_rates: Mutex::new(HashMap::new()), mempool_blocks: SupportFlag::new() }
    }

    /// Remembers the fee rate of a transaction seen in the mempool.
    fn remember_fee_rate(&self, tx: &EsploraTx) {
        let (Some(fee), Some(weight)) = (tx.fee, tx.weight.filter(|w| *w > 0)) else { return };
        let mut rates = self.fee_rates.lock().unwrap_or_else(|e| e.into_inner());
        if tx.status.confirmed {
            rates.remove(&tx.txid);
            return;
        }
        if rates.len() >= MAX_FEE_RATES {
            rates.clear();
        }
        rates.insert(tx.txid.clone(), fee as f64 / (weight as f64 / 4.0));
    }

    /// The body of a 2xx answer; `None` on 404; any other 4xx is a
    /// `BadResponse` (failover as in `Endpoints`).
    async fn get_text(&self, path: &str) -> Result<Option<String>, ChainError> {
        self.api
            .get(path, |reply| match reply.status {
                StatusCode::NOT_FOUND => Ok(None),
                status if status.is_success() => Ok(Some(reply.body)),
                _ => Err(reply.unexpected_status()),
            })
            .await
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, ChainError> {
        match self.get_text(path).await? {
            Some(body) => parse_json(&body, path).map(Some),
            None => Ok(None),
        }
    }

    async fn block_hash_at(&self, height: u64) -> Result<String, ChainError> {
        let body = self.get_text(&format!("/block-height/{height}")).await?.ok_or(ChainError::NotFound)?;
        parse_hash(&body, "/block-height")
    }

    /// Recent transactions paying or spending `address` (mempool first, then
    /// the newest 25 confirmed), e.g. to look at what replaced a withdrawal.
    pub async fn address_transactions(&self, address: &str) -> Result<Vec<TxInfo>, ChainError> {
        let txs: Vec<EsploraTx> =
            self.get_json(&format!("/address/{address}/txs")).await?.ok_or(ChainError::NotFound)?;
        txs.into_iter().map(tx_info).collect()
    }
}

fn tx_info(tx: EsploraTx) -> Result<TxInfo, ChainError> {
    let location = match (tx.status.confirmed, tx.status.block_height, tx.status.block_hash) {
        (false, _, _) => TxLocation::Mempool,
        (true, Some(height), Some(hash)) => TxLocation::Block(BlockRef { height, hash }),
        (true, _, _) => {
            return Err(ChainError::BadResponse(format!("/tx/:id: {} confirmed without block_height/hash", tx.txid)))
        }
    };
    let payments = tx
        .vout
        .into_iter()
        .filter_map(|out| {
            Some(Payment {
                to: out.scriptpubkey_address?,
                amount: BaseUnits::new(out.value?.into()),
                asset: Asset::Native,
                memo: None,
            })
        })
        .collect();
    let outpoints = tx
        .vin
        .into_iter()
        .filter(|vin| !vin.is_coinbase)
        .map(|vin| OutPoint { txid: vin.txid, vout: vin.vout })
        .collect();
    Ok(TxInfo {
        txid: tx.txid,
        location,
        success: Some(true),
        payments,
        conflict: ConflictKey::Outpoints(outpoints),
        valid_until: None,
    })
}

#[async_trait]
impl AddressHistory for EsploraClient {
    async fn payments_to(&self, address: &str) -> Result<Vec<TxInfo>, ChainError> {
        self.address_transactions(address).await
    }
}

#[async_trait]
impl BlockChain for EsploraClient {
    fn address_history(&self) -> Option<&dyn AddressHistory> {
        Some(self)
    }

    fn name(&self) -> &'static str {
        "esplora"
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn tip(&self) -> Result<BlockRef, ChainError> {
        // Hash first, then that block's height: two separate tip reads
        // (/blocks/tip/height and /blocks/tip/hash) could straddle a new block.
        let body = self.get_text("/blocks/tip/hash").await?.ok_or(ChainError::NotFound)?;
        let hash = parse_hash(&body, "/blocks/tip/hash")?;
        let block: EsploraBlock = self.get_json(&format!("/block/{hash}")).await?.ok_or(ChainError::NotFound)?;
        Ok(BlockRef { height: block.height, hash })
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn block_at(&self, height: u64) -> Result<Block, ChainError> {
        let hash = self.block_hash_at(height).await?;
        // Everything below is read by hash, so it describes one block even if
        // the chain moves meanwhile.
        let block: EsploraBlock = self.get_json(&format!("/block/{hash}")).await?.ok_or(ChainError::NotFound)?;
        let txids: Vec<String> = self.get_json(&format!("/block/{hash}/txids")).await?.ok_or(ChainError::NotFound)?;
        Ok(Block {
            at: BlockRef { height: block.height, hash },
            parent_hash: block.previousblockhash,
            txs: txids.into_iter().map(|txid| BlockTx { txid, call: None }).collect(),
            time: block.timestamp.and_then(unix_seconds),
            expiry_point: None,
        })
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn is_in_best_chain(&self, block: &BlockRef) -> Result<bool, ChainError> {
        let status: Option<EsploraBlockStatus> = self.get_json(&format!("/block/{}/status", block.hash)).await?;
        Ok(status.is_some_and(|s| s.in_best_chain))
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn transaction(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        let tx: Option<EsploraTx> = self.get_json(&format!("/tx/{txid}")).await?;
        if let Some(tx) = &tx {
            self.remember_fee_rate(tx);
        }
        tx.map(tx_info).transpose()
    }

    /// `/mempool` (backlog), `/fee-estimates` (fee rate by blocks to wait),
    /// and `/v1/fees/mempool-blocks` where the server offers it (the next
    /// block's lowest fee rate); the waiting transactions' fee rates from
    /// their lookups. Two or three requests, whatever the number waiting.
    #[tracing::instrument(skip(self, waiting), err(level = "debug"))]
    async fn signals(&self, waiting: &[String]) -> Result<Readings, ChainError> {
        let mempool: EsploraMempool = self.get_json("/mempool").await?.ok_or(ChainError::NotFound)?;
        let estimates: HashMap<String, f64> = self.get_json("/fee-estimates").await?.unwrap_or_default();
        let mut fee_for_blocks: Vec<(u32, f64)> =
            estimates.into_iter().filter_map(|(blocks, fee)| Some((blocks.parse().ok()?, fee))).collect();
        fee_for_blocks.sort_by_key(|(blocks, _)| *blocks);
        let mut next_block_min_fee = None;
        if self.mempool_blocks.get() != Support::Unsupported {
            match self.get_json::<Vec<MempoolBlock>>("/v1/fees/mempool-blocks").await? {
                Some(blocks) => {
                    self.mempool_blocks.set(Support::Supported);
                    next_block_min_fee = blocks.first().and_then(|b| b.fee_range.first().copied());
                }
                None => self.mempool_blocks.set(Support::Unsupported),
            }
        }
        let rates = self.fee_rates.lock().unwrap_or_else(|e| e.into_inner());
        let txs = waiting
            .iter()
            .filter_map(|txid| {
                let fee_rate = *rates.get(txid)?;
                Some((txid.clone(), TxReading { fee_rate: Some(fee_rate), ..TxReading::default() }))
            })
            .collect();
        Ok(Readings {
            mempool_vsize: Some(mempool.vsize),
            fee_for_blocks,
            next_block_min_fee,
            txs,
            ..Readings::default()
        })
    }

    #[tracing::instrument(skip(self, conflict), err(level = "debug"))]
    async fn replacement(&self, txid: &str, conflict: &ConflictKey) -> Result<Option<Replaced>, ChainError> {
        let ConflictKey::Outpoints(outpoints) = conflict else {
            return Err(ChainError::BadResponse("Esplora replacement needs outpoints, got a nonce".to_owned()));
        };
        for outpoint in outpoints {
            let path = format!("/tx/{}/outspend/{}", outpoint.txid, outpoint.vout);
            let Some(outspend) = self.get_json::<EsploraOutspend>(&path).await? else { continue };
            match outspend.txid {
                Some(spender) if outspend.spent && !spender.eq_ignore_ascii_case(txid) => {
                    return Ok(Some(Replaced { by: Some(spender) }))
                }
                _ => {}
            }
        }
        Ok(None)
    }
}
