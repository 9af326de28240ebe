//! A stand-in Esplora (Blockstream/mempool.space REST API) following its
//! documented paths and response shapes (esplora `API.md`): text bodies for
//! hashes and heights, JSON for blocks, transactions and outspends, and
//! plain-text 404s ("Block not found", "Transaction not found"). Its chain
//! can be extended and reorganized, its mempool edited, and it can misbehave.
//!
//! The fee side, for the arrival estimate: `GET /mempool` (`count`, `vsize`,
//! `total_fee`, `fee_histogram`) and `GET /fee-estimates` (confirmation
//! target in blocks -> sat/vB) as esplora `API.md` documents them
//! (<https://github.com/Blockstream/esplora/blob/master/API.md>, "Mempool"
//! and "Fee estimates"); `GET /v1/fees/mempool-blocks` (projected blocks
//! with `blockSize`, `blockVSize`, `nTx`, `totalFees`, `medianFee`,
//! `feeRange`) only when set to answer as mempool.space does
//! (<https://mempool.space/docs/api/rest#get-mempool-blocks-fees>), a plain
//! 404 otherwise, as Blockstream's server; each transaction's `fee` follows
//! the fee rate set for it (`weight` 561, so 140.25 vB).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

pub use super::fake_utxo_chain::{fake_hash, FakeBlock, FakeTx};
use super::fake_utxo_chain::{UtxoChain, UtxoFake};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// 429 with `Retry-After: <seconds>` (mempool.space's throttling).
    RateLimited(u64),
    /// 503, as a proxy in front of a down backend answers.
    Down,
    /// 200 with bodies of the wrong shape.
    Malformed,
    /// Never answers in time.
    Hang,
    /// Answers as `Normal`, each request after this delay.
    Slow(Duration),
}

pub struct EsploraState {
    pub mode: Mode,
    pub ledger: UtxoChain,
    pub requests: usize,
    pub last_api_key: Option<String>,
    /// Every request as it arrived, so tests can tell apart who sent what and when.
    pub log: Vec<LoggedRequest>,
    /// sat/vB by txid (10 when not set).
    pub fee_rates: std::collections::HashMap<String, f64>,
    /// `/fee-estimates`, by confirmation target.
    pub fee_estimates: Vec<(u32, f64)>,
    /// Virtual bytes waiting besides the ledger's own mempool transactions.
    pub backlog_vsize: u64,
    /// `Some(feeRange of the next projected block)`: answers
    /// `/v1/fees/mempool-blocks` as mempool.space; `None`: 404.
    pub mempool_blocks: Option<Vec<f64>>,
    /// Block times (Unix seconds) by height, where set; otherwise one second apart.
    pub block_times: std::collections::HashMap<u64, i64>,
}

/// The documented example's shape, at a quiet time.
pub fn quiet_fee_estimates() -> Vec<(u32, f64)> {
    vec![(1, 20.0), (2, 15.0), (3, 10.0), (6, 5.0), (12, 3.0), (144, 1.0), (504, 1.0), (1008, 1.0)]
}

const TX_WEIGHT: u64 = 561;

#[derive(Debug, Clone)]
pub struct LoggedRequest {
    pub at: Instant,
    pub api_key: Option<String>,
    pub path: String,
}

#[derive(Clone)]
pub struct FakeEsplora {
    pub base_url: String,
    pub state: Arc<Mutex<EsploraState>>,
}

pub const BASE_HEIGHT: u64 = 840_000;

impl EsploraState {
    fn fee_rate(&self, txid: &str) -> f64 {
        self.fee_rates.get(txid).copied().unwrap_or(10.0)
    }

    fn fee_of(&self, txid: &str) -> u64 {
        (self.fee_rate(txid) * TX_WEIGHT as f64 / 4.0).round() as u64
    }

    fn block_time(&self, height: u64) -> i64 {
        self.block_times.get(&height).copied().unwrap_or(1_713_571_767 + height as i64 - BASE_HEIGHT as i64)
    }

    fn mempool_json(&self) -> Value {
        let waiting: Vec<&FakeTx> =
            self.ledger.txs.values().filter(|tx| self.ledger.block_of(&tx.txid).is_none()).collect();
        let vsize = (waiting.len() as u64 * TX_WEIGHT).div_ceil(4) + self.backlog_vsize;
        let total_fee: u64 = waiting.iter().map(|tx| self.fee_of(&tx.txid)).sum();
        let mut histogram: Vec<(f64, u64)> = Vec::new();
        for tx in &waiting {
            let rate = self.fee_rate(&tx.txid);
            match histogram.iter_mut().find(|(r, _)| *r == rate) {
                Some((_, size)) => *size += TX_WEIGHT.div_ceil(4),
                None => histogram.push((rate, TX_WEIGHT.div_ceil(4))),
            }
        }
        histogram.sort_by(|a, b| b.0.total_cmp(&a.0));
        json!({"count": waiting.len(), "vsize": vsize, "total_fee": total_fee, "fee_histogram": histogram})
    }

    fn block(&self, hash: &str) -> Option<(&FakeBlock, bool)> {
        let best = self.ledger.chain.iter().find(|b| b.hash == hash).map(|b| (b, true));
        best.or_else(|| self.ledger.stale.iter().find(|b| b.hash == hash).map(|b| (b, false)))
    }

    fn status_json(&self, txid: &str) -> Value {
        match self.ledger.block_of(txid) {
            Some(block) => json!({
                "confirmed": true,
                "block_height": block.height,
                "block_hash": block.hash,
                "block_time": 1_713_571_767 + block.height - BASE_HEIGHT,
            }),
            None => json!({"confirmed": false}),
        }
    }

    fn tx_json(&self, tx: &FakeTx) -> Value {
        let vout: Vec<Value> = tx
            .outputs
            .iter()
            .map(|(address, value)| match address {
                Some(address) => json!({
                    "scriptpubkey": "0014751e76e8199196d454941c45d1b3a323f1433bd6",
                    "scriptpubkey_asm": "OP_0 OP_PUSHBYTES_20 751e76e8199196d454941c45d1b3a323f1433bd6",
                    "scriptpubkey_type": "v0_p2wpkh",
                    "scriptpubkey_address": address,
                    "value": value,
                }),
                None => json!({
                    "scriptpubkey": "6a0568656c6c6f",
                    "scriptpubkey_asm": "OP_RETURN OP_PUSHBYTES_5 68656c6c6f",
                    "scriptpubkey_type": "op_return",
                    "value": value,
                }),
            })
            .collect();
        let vin: Vec<Value> = tx
            .inputs
            .iter()
            .map(|(txid, vout)| {
                json!({
                    "txid": txid,
                    "vout": vout,
                    "prevout": {
                        "scriptpubkey": "0014e8df018c7e326cc253faac7e46cdc51e68542c42",
                        "scriptpubkey_asm": "OP_0 OP_PUSHBYTES_20 e8df018c7e326cc253faac7e46cdc51e68542c42",
                        "scriptpubkey_type": "v0_p2wpkh",
                        "scriptpubkey_address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
                        "value": 100_000_000,
                    },
                    "scriptsig": "",
                    "scriptsig_asm": "",
                    "witness": ["3044022000000000000000000000000000000000000000000000000000000000000000000220000000000000000000000000000000000000000000000000000000000000000001"],
                    "is_coinbase": false,
                    "sequence": 4_294_967_293u64,
                })
            })
            .collect();
        json!({
            "txid": tx.txid,
            "version": 2,
            "locktime": 0,
            "vin": vin,
            "vout": vout,
            "size": 222,
            "weight": TX_WEIGHT,
            "fee": self.fee_of(&tx.txid),
            "status": self.status_json(&tx.txid),
        })
    }

    fn block_json(&self, block: &FakeBlock) -> Value {
        json!({
            "id": block.hash,
            "height": block.height,
            "version": 536_870_912,
            "timestamp": self.block_time(block.height),
            "tx_count": block.txids.len(),
            "size": 2_325_617,
            "weight": 3_993_281,
            "merkle_root": fake_hash("merkle", block.height),
            "previousblockhash": block.prev,
            "mediantime": 1_713_568_000 + block.height - BASE_HEIGHT,
            "nonce": 3_932_395_645u64,
            "bits": 386_089_497,
            "difficulty": 86_388_558_925_171.1,
        })
    }

    fn answer(&mut self, path: &str) -> HttpResponse {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let text = |body: String| HttpResponse::Ok().content_type("text/plain").body(body);
        let not_found =
            |what: &str| HttpResponse::NotFound().content_type("text/plain").body(format!("{what} not found"));
        match parts.as_slice() {
            ["blocks", "tip", "height"] => text(self.ledger.tip().height.to_string()),
            ["mempool"] => HttpResponse::Ok().json(self.mempool_json()),
            ["fee-estimates"] => {
                let estimates: serde_json::Map<String, Value> =
                    self.fee_estimates.iter().map(|(blocks, fee)| (blocks.to_string(), json!(fee))).collect();
                HttpResponse::Ok().json(estimates)
            }
            ["v1", "fees", "mempool-blocks"] => match &self.mempool_blocks {
                Some(range) => HttpResponse::Ok().json(json!([{
                    "blockSize": 1_573_512,
                    "blockVSize": 997_968.25,
                    "nTx": 3_153,
                    "totalFees": 5_618_396,
                    "medianFee": range.get(range.len() / 2).copied().unwrap_or(1.0),
                    "feeRange": range,
                }])),
                None => HttpResponse::NotFound().content_type("text/plain").body("Not found"),
            },
            ["blocks", "tip", "hash"] => text(self.ledger.tip().hash.clone()),
            ["block-height", height] => {
                let found = height.parse::<u64>().ok().and_then(|h| self.ledger.chain.iter().find(|b| b.height == h));
                match found {
                    Some(block) => text(block.hash.clone()),
                    None => not_found("Block"),
                }
            }
            ["block", hash] => match self.block(hash) {
                Some((block, _)) => HttpResponse::Ok().json(self.block_json(block)),
                None => not_found("Block"),
            },
            ["block", hash, "txids"] => match self.block(hash) {
                Some((block, _)) => HttpResponse::Ok().json(&block.txids),
                None => not_found("Block"),
            },
            ["block", hash, "status"] => match self.block(hash) {
                Some((block, true)) => {
                    let next = self.ledger.chain.iter().find(|b| b.prev.as_deref() == Some(block.hash.as_str()));
                    match next {
                        Some(next) => HttpResponse::Ok()
                            .json(json!({"in_best_chain": true, "height": block.height, "next_best": next.hash})),
                        None => HttpResponse::Ok().json(json!({"in_best_chain": true, "height": block.height})),
                    }
                }
                Some((_, false)) => HttpResponse::Ok().json(json!({"in_best_chain": false})),
                None => not_found("Block"),
            },
            ["tx", txid] => match self.ledger.txs.get(*txid) {
                Some(tx) => HttpResponse::Ok().json(self.tx_json(tx)),
                None if is_hex64(txid) => not_found("Transaction"),
                None => HttpResponse::BadRequest().content_type("text/plain").body("Invalid hex string"),
            },
            ["tx", txid, "status"] => match self.ledger.txs.contains_key(*txid) {
                true => HttpResponse::Ok().json(self.status_json(txid)),
                false => not_found("Transaction"),
            },
            ["tx", txid, "outspend", vout] => {
                let vout: u32 = vout.parse().unwrap_or(u32::MAX);
                let spender = self.ledger.txs.values().find_map(|tx| {
                    let index = tx.inputs.iter().position(|(t, v)| t == txid && *v == vout)?;
                    Some((tx.txid.clone(), index))
                });
                match spender {
                    Some((spender, vin)) => HttpResponse::Ok().json(json!({
                        "spent": true,
                        "txid": spender,
                        "vin": vin,
                        "status": self.status_json(&spender),
                    })),
                    None => HttpResponse::Ok().json(json!({"spent": false})),
                }
            }
            ["address", address, "txs"] => {
                let mut txs: Vec<&FakeTx> = self
                    .ledger
                    .txs
                    .values()
                    .filter(|tx| tx.outputs.iter().any(|(a, _)| a.as_deref() == Some(*address)))
                    .collect();
                txs.sort_by_key(|tx| tx.txid.clone());
                HttpResponse::Ok().json(txs.into_iter().map(|tx| self.tx_json(tx)).collect::<Vec<_>>())
            }
            _ => HttpResponse::NotFound().content_type("text/plain").body("Not found"),
        }
    }
}

fn is_hex64(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn dispatch(req: HttpRequest, state: web::Data<Arc<Mutex<EsploraState>>>) -> HttpResponse {
    let mode = {
        let mut state = state.lock().unwrap();
        state.requests += 1;
        state.last_api_key = req.headers().get("x-api-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let logged =
            LoggedRequest { at: Instant::now(), api_key: state.last_api_key.clone(), path: req.path().to_owned() };
        state.log.push(logged);
        state.mode
    };
    match mode {
        Mode::Normal => state.lock().unwrap().answer(req.path()),
        Mode::RateLimited(seconds) => HttpResponse::TooManyRequests()
            .insert_header(("retry-after", seconds.to_string()))
            .content_type("text/plain")
            .body("Too Many Requests"),
        Mode::Down => {
            HttpResponse::ServiceUnavailable().content_type("text/html").body("<html>503 Service Unavailable</html>")
        }
        Mode::Malformed => {
            if req.path().starts_with("/blocks/tip/") || req.path().starts_with("/block-height/") {
                HttpResponse::Ok().content_type("text/html").body("<html>maintenance</html>")
            } else {
                HttpResponse::Ok().json(json!({"txid": "00", "vin": "not a list"}))
            }
        }
        Mode::Slow(delay) => {
            tokio::time::sleep(delay).await;
            state.lock().unwrap().answer(req.path())
        }
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            HttpResponse::Ok().finish()
        }
    }
}

impl FakeEsplora {
    /// A server whose chain holds `blocks` blocks from `BASE_HEIGHT`, no transactions.
    pub async fn start(blocks: usize) -> FakeEsplora {
        let mut ledger = UtxoChain::new("", BASE_HEIGHT, false);
        for _ in 1..blocks {
            ledger.mine(&[]);
        }
        let state = EsploraState {
            mode: Mode::Normal,
            ledger,
            requests: 0,
            last_api_key: None,
            log: Vec::new(),
            fee_rates: Default::default(),
            fee_estimates: quiet_fee_estimates(),
            backlog_vsize: 0,
            mempool_blocks: None,
            block_times: Default::default(),
        };
        let state = Arc::new(Mutex::new(state));
        let port = super::fakes::serve_all(web::Data::new(state.clone()), dispatch);
        FakeEsplora { base_url: format!("http://127.0.0.1:{port}"), state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    pub fn log(&self) -> Vec<LoggedRequest> {
        self.state.lock().unwrap().log.clone()
    }

    /// Puts a transaction in the mempool; returns its txid.
    pub fn broadcast(&self, inputs: &[(&str, u32)], outputs: &[(Option<&str>, u64)]) -> String {
        self.state.lock().unwrap().ledger.broadcast(inputs, outputs)
    }

    /// Puts a transaction with a chosen txid in the mempool.
    pub fn broadcast_as(&self, txid: &str, inputs: &[(&str, u32)], outputs: &[(Option<&str>, u64)]) {
        self.state.lock().unwrap().ledger.broadcast_as(txid, inputs, outputs);
    }

    /// How deep `txid` is in the best chain; 0 while in the mempool.
    pub fn confirmations(&self, txid: &str) -> u64 {
        self.state.lock().unwrap().ledger.confirmations(txid)
    }

    /// Drops a transaction from the mempool, as a node does when its fee is
    /// too low or a replacement arrives.
    pub fn evict(&self, txid: &str) {
        self.state.lock().unwrap().ledger.txs.remove(txid);
    }

    /// Appends a block holding `txids`; returns it.
    pub fn mine(&self, txids: &[&str]) -> FakeBlock {
        self.state.lock().unwrap().ledger.mine(txids)
    }

    /// `mine`, the block's header time set to `unix_seconds`.
    pub fn mine_at(&self, txids: &[&str], unix_seconds: i64) -> FakeBlock {
        let mut state = self.state.lock().unwrap();
        let block = state.ledger.mine(txids);
        state.block_times.insert(block.height, unix_seconds);
        block
    }

    /// Changes the fee side: `edit` gets the state (fee rates, estimates,
    /// backlog, mempool-blocks).
    pub fn set_fees(&self, edit: impl FnOnce(&mut EsploraState)) {
        edit(&mut self.state.lock().unwrap());
    }

    /// See [`UtxoChain::reorg`].
    pub fn reorg(&self, depth: usize) {
        self.state.lock().unwrap().ledger.reorg(depth);
    }
}

impl UtxoFake for FakeEsplora {
    fn with_chain<R>(&self, f: impl FnOnce(&mut UtxoChain) -> R) -> R {
        f(&mut self.state.lock().unwrap().ledger)
    }
}
