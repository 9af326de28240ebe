//! A stand-in Blockbook (Trezor, API v2) following its documented paths
//! and response shapes (blockbook `docs/api.md`, `server/public.go`):
//! amounts as strings in satoshis, empty fields left out, mempool
//! transactions with `blockHeight: -1` and `confirmations: 0`, "not found"
//! as HTTP 400 `{"error": "..."}`, `{"blockHash": ""}` above the tip, paged
//! blocks, `spentTxId` with `?spending=true` for confirmed spenders only,
//! and a UTXO list that drops outputs spent in the mempool. Its chain can
//! be extended and reorganized, its mempool edited, and it can misbehave.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

pub use crate::support::fake_esplora::Mode;
pub use crate::support::fake_utxo_chain::{fake_hash, FakeBlock, FakeTx};
use crate::support::fake_utxo_chain::{UtxoChain, UtxoFake};

pub const BASE_HEIGHT: u64 = 5_100_000;

pub struct BlockbookState {
    pub mode: Mode,
    pub ledger: UtxoChain,
    /// Transactions per block page (Blockbook's default is 1000).
    pub page_size: usize,
    pub requests: usize,
    pub paths: Vec<String>,
    pub last_api_key: Option<String>,
}

#[derive(Clone)]
pub struct FakeBlockbook {
    pub base_url: String,
    pub state: Arc<Mutex<BlockbookState>>,
}

fn not_found(message: String) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({ "error": message }))
}

impl BlockbookState {
    fn block_time(height: u64) -> u64 {
        1_553_096_617 + (height - BASE_HEIGHT) * 60
    }

    /// The known transaction spending `txid:vout`, and whether it is confirmed.
    fn spender(&self, txid: &str, vout: u32) -> Option<(&FakeTx, bool)> {
        let tx = self.ledger.txs.values().find(|tx| tx.inputs.iter().any(|(t, v)| t == txid && *v == vout))?;
        Some((tx, self.ledger.block_of(&tx.txid).is_some()))
    }

    fn tx_json(&self, tx: &FakeTx, spending: bool) -> Value {
        let vin: Vec<Value> = tx
            .inputs
            .iter()
            .enumerate()
            .map(|(n, (txid, vout))| {
                let mut vin = json!({
                    "txid": txid,
                    "sequence": 4_294_967_293u64,
                    "n": n,
                    "addresses": ["DDhUv8JZGmSxKYV95NLnbRTUKni9cDZD3S"],
                    "isAddress": true,
                    "value": "100000000",
                });
                // Empty fields are omitted: output 0 has no "vout".
                if *vout != 0 {
                    vin["vout"] = json!(vout);
                }
                vin
            })
            .collect();
        let vin = if vin.is_empty() { vec![json!({"n": 0, "coinbase": "03a0bb0d", "isAddress": false})] } else { vin };
        let vout: Vec<Value> = tx
            .outputs
            .iter()
            .enumerate()
            .map(|(n, (address, value))| {
                let mut out = match address {
                    Some(address) => json!({
                        "n": n,
                        "hex": "76a914feaca9d9fa7120c7c587c00c639bb18d40faadd388ac",
                        "addresses": [address],
                        "isAddress": true,
                    }),
                    None => json!({
                        "n": n,
                        "hex": "6a0568656c6c6f",
                        "addresses": ["OP_RETURN (hello)"],
                        "isAddress": false,
                    }),
                };
                if *value != 0 {
                    out["value"] = json!(value.to_string());
                }
                if let Some((spender, true)) = self.spender(&tx.txid, n as u32) {
                    out["spent"] = json!(true);
                    if spending {
                        let block = self.ledger.block_of(&spender.txid).unwrap();
                        out["spentTxId"] = json!(spender.txid);
                        out["spentHeight"] = json!(block.height);
                    }
                }
                out
            })
            .collect();
        let total: u64 = tx.outputs.iter().map(|(_, v)| v).sum();
        let mut json = json!({
            "txid": tx.txid,
            "version": 2,
            "vin": vin,
            "vout": vout,
            "value": total.to_string(),
            "valueIn": (total + 1_410).to_string(),
            "fees": "1410",
            "hex": "0200000001...",
        });
        match self.ledger.block_of(&tx.txid) {
            Some(block) => {
                json["blockHash"] = json!(block.hash);
                json["blockHeight"] = json!(block.height);
                json["confirmations"] = json!(self.ledger.tip().height - block.height + 1);
                json["blockTime"] = json!(Self::block_time(block.height));
            }
            None => {
                json["blockHeight"] = json!(-1);
                json["confirmations"] = json!(0);
                json["blockTime"] = json!(1_553_096_700u64);
            }
        }
        json
    }

    fn status_json(&self) -> Value {
        let tip = self.ledger.tip();
        json!({
            "blockbook": {
                "coin": "Dogecoin",
                "host": "blockbook",
                "version": "0.4.0",
                "gitCommit": "3d9ad91",
                "buildTime": "2023-05-17T14:34:00+00:00",
                "syncMode": true,
                "initialSync": false,
                "inSync": true,
                "bestHeight": tip.height,
                "lastBlockTime": "2024-05-22T18:03:33.547762973+02:00",
                "inSyncMempool": true,
                "lastMempoolTime": "2024-05-22T18:10:10.27929383+02:00",
                "mempoolSize": self.ledger.txs.len(),
                "decimals": 8,
                "dbSize": 191_887_866_502u64,
                "about": "Blockbook - blockchain indexer for Trezor Suite https://trezor.io/trezor-suite. Do not use for any other purpose."
            },
            "backend": {
                "chain": "main",
                "blocks": tip.height,
                "headers": tip.height,
                "bestBlockHash": tip.hash,
                "difficulty": "6704632680587.417",
                "sizeOnDisk": 250_504_188_580u64,
                "version": "1140600",
                "subversion": "/Shibetoshi:1.14.6/",
                "protocolVersion": "70015",
                "timeOffset": 0,
                "warnings": ""
            }
        })
    }

    fn block_json(&self, block: &FakeBlock, page: usize) -> Value {
        let per_page = self.page_size.max(1);
        let total_pages = block.txids.len().div_ceil(per_page).max(1);
        let page = page.clamp(1, total_pages);
        let txs: Vec<Value> = block
            .txids
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(|txid| match self.ledger.txs.get(txid) {
                Some(tx) => self.tx_json(tx, false),
                None => json!({
                    "txid": txid,
                    "vin": [{"n": 0, "isAddress": false}],
                    "vout": [{"value": "1000100000000", "n": 0, "addresses": ["D6ravJL6Fgxtgp8k2XZZt1QfUmwwGuLwQJ"], "isAddress": true}],
                    "blockHash": block.hash,
                    "blockHeight": block.height,
                    "confirmations": self.ledger.tip().height - block.height + 1,
                    "blockTime": Self::block_time(block.height),
                    "value": "1000100000000",
                    "valueIn": "0",
                    "fees": "0"
                }),
            })
            .collect();
        let next = self.ledger.chain.iter().find(|b| b.prev.as_deref() == Some(block.hash.as_str()));
        let mut json = json!({
            "page": page,
            "totalPages": total_pages,
            "itemsOnPage": per_page,
            "hash": block.hash,
            "previousBlockHash": block.prev,
            "height": block.height,
            "confirmations": self.ledger.tip().height - block.height + 1,
            "size": 951,
            "time": Self::block_time(block.height),
            "version": 6_422_787,
            "merkleRoot": fake_hash("merkle", block.height),
            "nonce": "0",
            "bits": "1a063f3b",
            "difficulty": "2685605.260733312",
            "txCount": block.txids.len(),
            "txs": txs,
        });
        if let Some(next) = next {
            json["nextBlockHash"] = json!(next.hash);
        }
        json
    }

    fn utxo_json(&self, address: &str) -> Value {
        let mut utxos = Vec::new();
        let mut txs: Vec<&FakeTx> = self.ledger.txs.values().collect();
        txs.sort_by_key(|tx| tx.txid.clone());
        for tx in txs {
            for (n, (to, value)) in tx.outputs.iter().enumerate() {
                if to.as_deref() != Some(address) || self.spender(&tx.txid, n as u32).is_some() {
                    continue;
                }
                let mut utxo = json!({"txid": tx.txid, "value": value.to_string()});
                if n != 0 {
                    utxo["vout"] = json!(n);
                }
                match self.ledger.block_of(&tx.txid) {
                    Some(block) => {
                        utxo["height"] = json!(block.height);
                        utxo["confirmations"] = json!(self.ledger.tip().height - block.height + 1);
                    }
                    None => utxo["confirmations"] = json!(0),
                }
                utxos.push(utxo);
            }
        }
        Value::Array(utxos)
    }

    fn answer(&mut self, path: &str, query: &str) -> HttpResponse {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let param =
            |name: &str| query.split('&').find_map(|kv| kv.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')));
        match parts.as_slice() {
            ["api"] | ["api", ""] => HttpResponse::Ok().json(self.status_json()),
            ["api", "v2", "block-index", height] => {
                let found = height.parse::<u64>().ok().and_then(|h| self.ledger.chain.iter().find(|b| b.height == h));
                HttpResponse::Ok().json(json!({"blockHash": found.map(|b| b.hash.clone()).unwrap_or_default()}))
            }
            ["api", "v2", "block", id] => {
                let block = match id.parse::<u64>() {
                    Ok(height) => self.ledger.chain.iter().find(|b| b.height == height),
                    Err(_) => self.ledger.chain.iter().find(|b| b.hash == *id),
                };
                let page = param("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                match block {
                    Some(block) => HttpResponse::Ok().json(self.block_json(block, page)),
                    None => not_found("Block not found".to_owned()),
                }
            }
            ["api", "v2", "tx", txid] => match self.ledger.txs.get(*txid) {
                Some(tx) => HttpResponse::Ok().json(self.tx_json(tx, param("spending") == Some("true"))),
                None => not_found(format!("Transaction '{txid}' not found")),
            },
            ["api", "v2", "utxo", address] => HttpResponse::Ok().json(self.utxo_json(address)),
            ["api", "v2", "address", address] => {
                let mut txids: Vec<String> = self
                    .ledger
                    .txs
                    .values()
                    .filter(|tx| tx.outputs.iter().any(|(a, _)| a.as_deref() == Some(*address)))
                    .map(|tx| tx.txid.clone())
                    .collect();
                txids.sort();
                HttpResponse::Ok().json(json!({
                    "page": 1,
                    "totalPages": 1,
                    "itemsOnPage": 1000,
                    "address": address,
                    "balance": "0",
                    "totalReceived": "0",
                    "totalSent": "0",
                    "unconfirmedBalance": "0",
                    "unconfirmedTxs": 0,
                    "txs": txids.len(),
                    "txids": txids,
                }))
            }
            _ => HttpResponse::NotFound().content_type("text/plain").body("404 page not found\n"),
        }
    }
}

async fn dispatch(req: HttpRequest, state: web::Data<Arc<Mutex<BlockbookState>>>) -> HttpResponse {
    let mode = {
        let mut state = state.lock().unwrap();
        state.requests += 1;
        state.paths.push(format!("{}?{}", req.path(), req.query_string()));
        state.last_api_key = req.headers().get("api-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
        state.mode
    };
    match mode {
        Mode::Normal => state.lock().unwrap().answer(req.path(), req.query_string()),
        Mode::RateLimited(seconds) => HttpResponse::TooManyRequests()
            .insert_header(("retry-after", seconds.to_string()))
            .content_type("text/plain")
            .body("Too Many Requests"),
        Mode::Down => HttpResponse::BadGateway().content_type("text/html").body("<html>502 Bad Gateway</html>"),
        Mode::Malformed => HttpResponse::Ok().json(match req.path() {
            "/api" => json!({"blockbook": {"bestHeight": "tall"}}),
            path if path.starts_with("/api/v2/block-index/") => json!({"blockHash": 42}),
            _ => json!({"txid": "00", "vout": [{"value": 5, "n": 0}]}),
        }),
        Mode::Slow(delay) => {
            tokio::time::sleep(delay).await;
            state.lock().unwrap().answer(req.path(), req.query_string())
        }
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            HttpResponse::Ok().finish()
        }
    }
}

impl FakeBlockbook {
    /// A server whose chain holds `blocks` blocks from `BASE_HEIGHT`.
    pub async fn start(blocks: usize) -> FakeBlockbook {
        let mut ledger = UtxoChain::new("bb-", BASE_HEIGHT, true);
        for _ in 1..blocks {
            ledger.mine(&[]);
        }
        let state = BlockbookState {
            mode: Mode::Normal,
            ledger,
            page_size: 1000,
            requests: 0,
            paths: Vec::new(),
            last_api_key: None,
        };
        let state = Arc::new(Mutex::new(state));
        let port = super::fakes::serve_all(web::Data::new(state.clone()), dispatch);
        FakeBlockbook { base_url: format!("http://127.0.0.1:{port}"), state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    pub fn set_page_size(&self, size: usize) {
        self.state.lock().unwrap().page_size = size;
    }

    /// Puts a transaction in the mempool; returns its txid. No inputs makes
    /// a coinbase-like funding transaction.
    pub fn broadcast(&self, inputs: &[(&str, u32)], outputs: &[(Option<&str>, u64)]) -> String {
        self.state.lock().unwrap().ledger.broadcast(inputs, outputs)
    }

    /// A confirmed transaction paying `outputs`, to spend from.
    pub fn fund(&self, outputs: &[(Option<&str>, u64)]) -> String {
        let txid = self.broadcast(&[], outputs);
        self.mine(&[&txid]);
        txid
    }

    pub fn evict(&self, txid: &str) {
        self.state.lock().unwrap().ledger.txs.remove(txid);
    }

    /// Appends a block holding a coinbase and `txids`; returns it.
    pub fn mine(&self, txids: &[&str]) -> FakeBlock {
        self.state.lock().unwrap().ledger.mine(txids)
    }

    /// See [`UtxoChain::reorg`].
    pub fn reorg(&self, depth: usize) {
        self.state.lock().unwrap().ledger.reorg(depth);
    }
}

impl UtxoFake for FakeBlockbook {
    fn with_chain<R>(&self, f: impl FnOnce(&mut UtxoChain) -> R) -> R {
        f(&mut self.state.lock().unwrap().ledger)
    }
}
