//! A stand-in java-tron HTTP API (as TronGrid serves it) following its
//! documented paths and shapes (tronprotocol/documentation-en
//! `docs/api/http`): POST with JSON bodies; `/wallet/*` answers from the
//! head of the chain and `/walletsolidity/*` only up to the solidified
//! block; `{}` for an unknown block or transaction; HTTP 200 with
//! `{"Error": "<exception> : <message>"}` for a bad request; block IDs that
//! start with the block number; hex `41...` addresses; TRX transfers and
//! TRC-20 calls with `Transfer` logs, `REVERT` with `result: FAILED`.
//! Its head can be extended and reorganized (above the solid block), and it
//! can misbehave, TronGrid's 403 "frequency limit" included.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::support::fake_esplora::fake_hash;

pub const BASE_HEIGHT: u64 = 62_000_000;
/// `Transfer(address,address,uint256)`, as TRON logs write topics: no 0x.
pub const TRANSFER_TOPIC: &str = "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// 429 with `Retry-After: <seconds>`.
    RateLimited(u64),
    /// TronGrid's 403 with "The key exceeds the frequency limit(30), and the
    /// query server is suspended for 30s".
    FrequencyLimit,
    /// 503 from the gateway.
    Down,
    /// 200 with bodies of the wrong shape.
    Malformed,
    /// Never answers in time.
    Hang,
}

#[derive(Debug, Clone)]
pub struct FakeTronBlock {
    pub id: String,
    pub height: u64,
    pub parent: String,
    pub txids: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Call {
    /// TRX: from, to (hex 41...), sun.
    Transfer { from: String, to: String, amount: u64 },
    /// TRC-20 `transfer(to, amount)` on `contract` (hex 41...).
    Trc20 { from: String, contract: String, to: String, amount: u128 },
}

#[derive(Debug, Clone)]
pub struct FakeTronTx {
    pub txid: String,
    pub call: Call,
    /// `SUCCESS`, `REVERT`, `OUT_OF_ENERGY`, ...
    pub result: &'static str,
    pub timestamp: u64,
}

pub struct TronState {
    pub mode: Mode,
    pub chain: Vec<FakeTronBlock>,
    pub stale: Vec<FakeTronBlock>,
    /// Every transaction broadcast; served only while in a best-chain block.
    pub txs: HashMap<String, FakeTronTx>,
    /// Blocks between the head and the solidified block.
    pub solid_lag: usize,
    pub requests: usize,
    pub last_api_key: Option<String>,
    counter: u64,
}

#[derive(Clone)]
pub struct FakeTron {
    pub base_url: String,
    pub state: Arc<Mutex<TronState>>,
}

fn word(hex_address: &str) -> String {
    format!("{:0>64}", &hex_address[2..])
}

fn node_error(message: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "Error": message }))
}

impl TronState {
    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn head(&self) -> &FakeTronBlock {
        self.chain.last().expect("the chain has blocks")
    }

    fn solid(&self) -> &FakeTronBlock {
        &self.chain[self.chain.len().saturating_sub(1 + self.solid_lag)]
    }

    fn block_time(height: u64) -> u64 {
        1_717_000_000_000 + (height - BASE_HEIGHT) * 3_000
    }

    /// The best-chain block holding `txid`, if visible from `solid_only`.
    fn block_of(&self, txid: &str, solid_only: bool) -> Option<&FakeTronBlock> {
        let limit = if solid_only { self.solid().height } else { self.head().height };
        self.chain.iter().find(|b| b.height <= limit && b.txids.iter().any(|t| t == txid))
    }

    fn tx_json(&self, tx: &FakeTronTx) -> Value {
        let contract = match &tx.call {
            Call::Transfer { from, to, amount } => json!({
                "parameter": {
                    "value": {"amount": amount, "owner_address": from, "to_address": to},
                    "type_url": "type.googleapis.com/protocol.TransferContract"
                },
                "type": "TransferContract"
            }),
            Call::Trc20 { from, contract, to, amount } => json!({
                "parameter": {
                    "value": {
                        "data": format!("a9059cbb{}{:064x}", word(to), amount),
                        "owner_address": from,
                        "contract_address": contract
                    },
                    "type_url": "type.googleapis.com/protocol.TriggerSmartContract"
                },
                "type": "TriggerSmartContract"
            }),
        };
        let mut raw = json!({
            "contract": [contract],
            "ref_block_bytes": "1c8b",
            "ref_block_hash": "d78785ed02dd918f",
            "expiration": tx.timestamp + 60_000,
            "timestamp": tx.timestamp,
        });
        if matches!(tx.call, Call::Trc20 { .. }) {
            raw["fee_limit"] = json!(100_000_000);
        }
        json!({
            "ret": [{"contractRet": tx.result}],
            "signature": ["2154e8ef08f014063de8a88bafe748c8cbb48633c1657c083dca1a73439b289f6aa796bfa58797da6354d35fb7334a8c145c48ae266e4a885f7ee44791b5a3c31b"],
            "txID": tx.txid,
            "raw_data": raw,
            "raw_data_hex": "0a021c8b2208d78785ed02dd918f4088d2b2bcdd335af004081f12eb04",
        })
    }

    fn info_json(&self, tx: &FakeTronTx, block: &FakeTronBlock) -> Value {
        let mut info = json!({
            "id": tx.txid,
            "blockNumber": block.height,
            "blockTimeStamp": Self::block_time(block.height),
        });
        match (&tx.call, tx.result) {
            (Call::Transfer { .. }, _) => {
                info["contractResult"] = json!([""]);
                info["receipt"] = json!({"net_usage": 268});
            }
            (Call::Trc20 { from, contract, to, amount }, "SUCCESS") => {
                info["fee"] = json!(13_844_850);
                info["contractResult"] = json!([format!("{:064x}", 1)]);
                info["contract_address"] = json!(contract);
                info["receipt"] = json!({
                    "energy_fee": 13_499_850,
                    "energy_usage_total": 64_285,
                    "net_fee": 345_000,
                    "result": "SUCCESS"
                });
                info["log"] = json!([{
                    "address": &contract[2..],
                    "topics": [TRANSFER_TOPIC, word(from), word(to)],
                    "data": format!("{amount:064x}"),
                }]);
            }
            (Call::Trc20 { contract, .. }, failure) => {
                info["fee"] = json!(8_391_650);
                info["contractResult"] = json!([""]);
                info["contract_address"] = json!(contract);
                info["receipt"] = json!({
                    "energy_fee": 8_046_650,
                    "energy_usage_total": 38_317,
                    "net_fee": 345_000,
                    "result": failure
                });
                info["result"] = json!("FAILED");
                info["resMessage"] =
                    json!("5452433230207472616e7366657220616d6f756e7420657863656564732062616c616e6365");
            }
        }
        info
    }

    fn block_json(&self, block: &FakeTronBlock) -> Value {
        let mut json = json!({
            "blockID": block.id,
            "block_header": {
                "raw_data": {
                    "number": block.height,
                    "txTrieRoot": fake_hash("trie", block.height),
                    "witness_address": "41b2f713d57dbcec679d93a8849fa0cd0e4db594ba",
                    "parentHash": block.parent,
                    "version": 31,
                    "timestamp": Self::block_time(block.height),
                },
                "witness_signature": "5b3cf6cb15d52947989f7726f4907a144b39ccd667a1a0f98707b40cdfe65b96173ddf34ae8dcc5e78f136e0cf903a15c7128984aa2191f02333209d1879d3f900"
            },
        });
        let txs: Vec<Value> = block.txids.iter().filter_map(|t| self.txs.get(t)).map(|tx| self.tx_json(tx)).collect();
        if !txs.is_empty() {
            json["transactions"] = Value::Array(txs);
        }
        json
    }

    fn answer(&mut self, path: &str, body: &Value) -> HttpResponse {
        let (solid_only, method) = match path.trim_start_matches('/').split_once('/') {
            Some(("wallet", method)) => (false, method),
            Some(("walletsolidity", method)) => (true, method),
            _ => return HttpResponse::NotFound().body(""),
        };
        let txid = || body.get("value").and_then(Value::as_str).map(str::to_owned);
        let valid_txid = |txid: &Option<String>| {
            txid.as_ref().is_some_and(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        };
        match method {
            "getnowblock" => {
                let block = if solid_only { self.solid() } else { self.head() };
                HttpResponse::Ok().json(self.block_json(block))
            }
            "getblockbynum" => {
                let Some(num) = body.get("num").map_or(Some(0), Value::as_u64) else {
                    return node_error("class org.tron.json.JSONException : num is not a number");
                };
                let limit = if solid_only { self.solid().height } else { self.head().height };
                match self.chain.iter().find(|b| b.height == num && num <= limit) {
                    Some(block) => HttpResponse::Ok().json(self.block_json(block)),
                    None => HttpResponse::Ok().json(json!({})),
                }
            }
            "gettransactionbyid" | "gettransactioninfobyid" => {
                let txid = txid();
                if !valid_txid(&txid) {
                    return node_error(
                        "class org.tron.core.services.http.JsonFormat$ParseException : INVALID hex String",
                    );
                }
                let txid = txid.unwrap();
                let found = self.txs.get(&txid).zip(self.block_of(&txid, solid_only));
                match (found, method) {
                    (Some((tx, _)), "gettransactionbyid") => HttpResponse::Ok().json(self.tx_json(tx)),
                    (Some((tx, block)), _) => HttpResponse::Ok().json(self.info_json(tx, block)),
                    (None, _) => HttpResponse::Ok().json(json!({})),
                }
            }
            _ => HttpResponse::NotFound().body(""),
        }
    }
}

async fn dispatch(req: HttpRequest, body: web::Bytes, state: web::Data<Arc<Mutex<TronState>>>) -> HttpResponse {
    let mode = {
        let mut state = state.lock().unwrap();
        state.requests += 1;
        state.last_api_key = req.headers().get("TRON-PRO-API-KEY").and_then(|v| v.to_str().ok()).map(str::to_owned);
        state.mode
    };
    match mode {
        Mode::Normal => {
            let body: Value = match serde_json::from_slice(&body) {
                Ok(body) => body,
                Err(_) if body.is_empty() => json!({}),
                Err(e) => return node_error(&format!("class org.tron.json.JSONException : {e}")),
            };
            state.lock().unwrap().answer(req.path(), &body)
        }
        Mode::RateLimited(seconds) => HttpResponse::TooManyRequests()
            .insert_header(("retry-after", seconds.to_string()))
            .content_type("text/plain")
            .body("Too Many Requests"),
        Mode::FrequencyLimit => HttpResponse::Forbidden().json(json!({
            "Error": "The key exceeds the frequency limit(30), and the query server is suspended for 30s"
        })),
        Mode::Down => {
            HttpResponse::ServiceUnavailable().content_type("text/html").body("<html>503 Service Unavailable</html>")
        }
        Mode::Malformed => HttpResponse::Ok().json(json!({
            "blockID": 7,
            "block_header": {"raw_data": {}},
            "txID": 5,
            "raw_data": {}
        })),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            HttpResponse::Ok().finish()
        }
    }
}

impl FakeTron {
    /// A node whose chain holds `blocks` blocks from `BASE_HEIGHT`; the
    /// solidified block trails the head by `solid_lag`.
    pub async fn start(blocks: usize, solid_lag: usize) -> FakeTron {
        let state = TronState {
            mode: Mode::Normal,
            chain: Vec::new(),
            stale: Vec::new(),
            txs: HashMap::new(),
            solid_lag,
            requests: 0,
            last_api_key: None,
            counter: 0,
        };
        let state = Arc::new(Mutex::new(state));
        let fake = FakeTron { base_url: String::new(), state: state.clone() };
        {
            let mut state = state.lock().unwrap();
            let n = state.next();
            state.chain.push(FakeTronBlock {
                id: block_id(BASE_HEIGHT, n),
                height: BASE_HEIGHT,
                parent: block_id(BASE_HEIGHT - 1, 0),
                txids: vec![],
            });
        }
        for _ in 1..blocks {
            fake.mine(&[]);
        }
        let data = web::Data::new(state);
        let port = super::fakes::serve_all(data, dispatch);
        FakeTron { base_url: format!("http://127.0.0.1:{port}"), ..fake }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    pub fn head(&self) -> FakeTronBlock {
        self.state.lock().unwrap().head().clone()
    }

    fn broadcast(&self, call: Call, result: &'static str) -> String {
        let mut state = self.state.lock().unwrap();
        let n = state.next();
        let txid = fake_hash("trx-tx", n);
        let timestamp = TronState::block_time(state.head().height);
        state.txs.insert(txid.clone(), FakeTronTx { txid: txid.clone(), call, result, timestamp });
        txid
    }

    /// A signed TRX transfer, not yet in a block (the node does not serve it).
    pub fn send_trx(&self, from: &str, to: &str, sun: u64) -> String {
        self.broadcast(Call::Transfer { from: from.into(), to: to.into(), amount: sun }, "SUCCESS")
    }

    /// A TRC-20 `transfer` call that will execute with `result`.
    pub fn send_trc20(&self, from: &str, contract: &str, to: &str, amount: u128, result: &'static str) -> String {
        let call = Call::Trc20 { from: from.into(), contract: contract.into(), to: to.into(), amount };
        self.broadcast(call, result)
    }

    /// Appends a block holding `txids`; returns it.
    pub fn mine(&self, txids: &[&str]) -> FakeTronBlock {
        let mut state = self.state.lock().unwrap();
        let n = state.next();
        let head = state.head().clone();
        let block = FakeTronBlock {
            id: block_id(head.height + 1, n),
            height: head.height + 1,
            parent: head.id,
            txids: txids.iter().map(|t| t.to_string()).collect(),
        };
        state.chain.push(block.clone());
        block
    }

    /// Replaces the top `depth` blocks (all above the solidified one) with
    /// `depth + 1` empty ones; their transactions are no longer served.
    pub fn reorg(&self, depth: usize) {
        {
            let mut state = self.state.lock().unwrap();
            assert!(depth <= state.solid_lag, "solidified blocks never reorganize");
            let keep = state.chain.len() - depth;
            let removed: Vec<FakeTronBlock> = state.chain.drain(keep..).collect();
            state.stale.extend(removed);
        }
        for _ in 0..=depth {
            self.mine(&[]);
        }
    }
}

/// The block number in the first 8 bytes, like java-tron's block IDs.
pub fn block_id(height: u64, n: u64) -> String {
    format!("{height:016x}{}", &fake_hash("trx-block", n)[16..])
}
