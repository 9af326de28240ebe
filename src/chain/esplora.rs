//! Esplora REST (Blockstream, mempool.space): several base URLs tried in
//! order, so a second explorer covers for the first.

use super::unix_seconds;
use async_trait::async_trait;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::http::{parse_hash, parse_json, ClientConfig, Endpoints};
use super::{
    AddressHistory, Asset, BaseUnits, Block, BlockChain, BlockRef, BlockTx, ChainError, ConflictKey, OutPoint, Payment,
    Replaced, TxInfo, TxLocation,
};

/// Base URLs like `https://blockstream.info/api`.
pub struct EsploraClient {
    api: Endpoints,
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
        Self { api: Endpoints::new(config) }
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
        tx.map(tx_info).transpose()
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
