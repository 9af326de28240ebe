//! A stand-in NEAR RPC node (JSON-RPC 2.0, `POST /`), answering in the
//! shapes of <https://docs.near.org/api/rpc/transactions> and
//! <https://docs.near.org/api/rpc/block-chunk>:
//! - `block` with `{"finality": "final"}` or `{"block_id": <hash or
//!   height>}`: `{"author", "header": {"height", "hash", "prev_hash",
//!   "timestamp", ..}, "chunks": []}`; `UNKNOWN_BLOCK` otherwise.
//! - `tx` with `{"tx_hash", "sender_account_id", "wait_until"}`:
//!   `final_execution_status` (the level reached), `status`
//!   (`"Started"`, `{"SuccessValue": ""}`, `{"Failure": {..}}`),
//!   `transaction` (`signer_id`, `receiver_id`, `actions`: `{"Transfer":
//!   {"deposit"}}` or `{"FunctionCall": {"method_name", "args" (base64
//!   JSON), "gas", "deposit"}}`, `hash`, `nonce`), `transaction_outcome` and
//!   `receipts_outcome` (`id`, `block_hash`, `outcome.executor_id`,
//!   `outcome.status`). The transaction block, the receipt crediting the
//!   receiver one block later, and the gas refund one block after that.
//!   `UNKNOWN_TRANSACTION` for a hash asked under another signer than its
//!   own (the signer picks the shard); `TIMEOUT_ERROR` when `wait_until` is
//!   above the level reached, and for a transaction still in the pool (the
//!   real node polls for it for 10 s first).
//! - Errors in NEAR's shape: `{"name": "HANDLER_ERROR", "cause": {"name",
//!   "info"}, "code": -32000, "message": "Server error", "data"}`.
//!
//! The final block is two below the head (NEAR's Doomslug finality). It
//! can misbehave.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpResponse};
use base64::Engine;
use serde_json::{json, Value};

use super::explorer_transport::{Behaviour, ExplorerFake};

pub const BASE_HEIGHT: u64 = 140_000_000;
pub const HOT_WALLET: &str = "hot.exchange.near";
pub const USDT_CONTRACT: &str = "usdt.tether-token.near";
/// Blocks between the head and the final block.
pub const FINALITY_LAG: u64 = 2;

const LEVELS: [&str; 6] = ["NONE", "INCLUDED", "EXECUTED_OPTIMISTIC", "INCLUDED_FINAL", "EXECUTED", "FINAL"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    RateLimited(u64),
    Down,
    /// 200 with a body that is not JSON.
    Malformed,
    /// `NOT_SYNCED_YET` for every call.
    NotSynced,
    Hang,
}

#[derive(Debug, Clone)]
pub struct NearTx {
    pub hash: String,
    pub signer: String,
    pub receiver: String,
    pub actions: Vec<Value>,
    pub success: bool,
    /// The block the transaction is in; `None` while in the pool.
    pub block: Option<u64>,
}

pub struct NearState {
    pub mode: Mode,
    pub head: u64,
    pub txs: HashMap<String, NearTx>,
    pub requests: usize,
    /// Every call: method and params.
    pub calls: Vec<(String, Value)>,
}

#[derive(Clone)]
pub struct FakeNear {
    pub base_url: String,
    pub state: Arc<Mutex<NearState>>,
}

fn base58_of(seed: String) -> String {
    use sha2::{Digest as _, Sha256};
    bs58::encode(Sha256::digest(seed)).into_string()
}

pub fn tx_hash(n: u64) -> String {
    base58_of(format!("near-tx-{n}"))
}

pub fn block_hash(height: u64) -> String {
    base58_of(format!("near-block-{height}"))
}

fn receipt_id(tx: &str, n: u32) -> String {
    base58_of(format!("near-receipt-{tx}-{n}"))
}

/// `HOT_WALLET` sends `yocto` to `to`.
pub fn transfer(n: u64, to: &str, yocto: u128) -> NearTx {
    NearTx {
        hash: tx_hash(n),
        signer: HOT_WALLET.to_owned(),
        receiver: to.to_owned(),
        actions: vec![json!({"Transfer": {"deposit": yocto.to_string()}})],
        success: true,
        block: None,
    }
}

/// `HOT_WALLET` calls `ft_transfer` on `contract` for `to`.
pub fn ft_transfer(n: u64, contract: &str, to: &str, amount: u128, memo: Option<&str>) -> NearTx {
    let args = json!({"receiver_id": to, "amount": amount.to_string(), "memo": memo});
    let args = base64::engine::general_purpose::STANDARD.encode(args.to_string());
    NearTx {
        hash: tx_hash(n),
        signer: HOT_WALLET.to_owned(),
        receiver: contract.to_owned(),
        actions: vec![json!({"FunctionCall": {
            "method_name": "ft_transfer", "args": args, "gas": 30_000_000_000_000u64, "deposit": "1"
        }})],
        success: true,
        block: None,
    }
}

fn rpc_error(id: &Value, name: &str, cause: &str, data: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"name": name, "cause": {"name": cause, "info": {}}, "code": -32000, "message": "Server error", "data": data}
    }))
}

impl NearState {
    fn final_height(&self) -> u64 {
        self.head - FINALITY_LAG
    }

    fn block_json(&self, height: u64) -> Value {
        json!({
            "author": "validator.poolv1.near",
            "header": {
                "height": height,
                "hash": block_hash(height),
                "prev_hash": block_hash(height - 1),
                "timestamp": 1_796_000_000_000_000_000u64 + height * 1_000_000_000,
                "epoch_id": "11111111111111111111111111111111",
                "chunks_included": 6
            },
            "chunks": []
        })
    }

    /// The level `tx` reached: the transaction block `b`, the credit at
    /// `b + 1`, the refund at `b + 2`.
    fn level(&self, tx: &NearTx) -> usize {
        let Some(b) = tx.block.filter(|&b| b <= self.head) else { return 0 };
        let (head, fin) = (self.head, self.final_height());
        if b + 2 <= fin {
            5
        } else if b < head && b <= fin {
            4
        } else if b <= fin {
            3
        } else if b < head {
            2
        } else {
            1
        }
    }

    fn tx_json(&self, tx: &NearTx, level: usize) -> Value {
        let mut answer = json!({"final_execution_status": LEVELS[level]});
        if level == 0 {
            return answer;
        }
        let b = tx.block.expect("included");
        let executed = level == 2 || level >= 4;
        let status = match (executed, tx.success) {
            (false, _) => json!("Started"),
            (true, true) => json!({"SuccessValue": ""}),
            (true, false) => json!({"Failure": {"ActionError": {"index": 0, "kind": {"FunctionCallError": {
                "ExecutionError": "Smart contract panicked: The account doesn't have enough balance"}}}}}),
        };
        let credit = receipt_id(&tx.hash, 1);
        let mut receipts = Vec::new();
        if b < self.head {
            let receipt_status =
                if tx.success { json!({"SuccessValue": ""}) } else { json!({"Failure": status["Failure"].clone()}) };
            receipts.push(json!({
                "id": credit, "block_hash": block_hash(b + 1), "proof": [],
                "outcome": {"executor_id": tx.receiver, "gas_burnt": 223_182_562_500u64, "logs": [],
                            "receipt_ids": [receipt_id(&tx.hash, 2)], "status": receipt_status,
                            "tokens_burnt": "22318256250000000000"}
            }));
        }
        if b + 1 < self.head {
            receipts.push(json!({
                "id": receipt_id(&tx.hash, 2), "block_hash": block_hash(b + 2), "proof": [],
                "outcome": {"executor_id": tx.signer, "gas_burnt": 0, "logs": [], "receipt_ids": [],
                            "status": {"SuccessValue": ""}, "tokens_burnt": "0"}
            }));
        }
        answer["status"] = status;
        answer["transaction"] = json!({
            "signer_id": tx.signer,
            "public_key": "ed25519:Gowpa4kXNyTMRKgt5W7147pmcc2PxiFic8UHW9rsNvJ6",
            "nonce": 13,
            "receiver_id": tx.receiver,
            "actions": tx.actions,
            "signature": "ed25519:7oCBMfSHrZkT7tzPDBxxCd3tWFhTES38eks3MCZMpYPJRfPWKxJsvmwQiVBBxRLoxPTnXVaMU2jPV3MdFKZTobH",
            "hash": tx.hash
        });
        answer["transaction_outcome"] = json!({
            "id": tx.hash, "block_hash": block_hash(b), "proof": [],
            "outcome": {"executor_id": tx.signer, "gas_burnt": 223_182_562_500u64, "logs": [],
                        "receipt_ids": [credit], "status": {"SuccessReceiptId": credit},
                        "tokens_burnt": "22318256250000000000"}
        });
        answer["receipts_outcome"] = Value::Array(receipts);
        answer
    }

    fn answer(&self, id: &Value, method: &str, params: &Value) -> HttpResponse {
        let ok = |result: Value| HttpResponse::Ok().json(json!({"jsonrpc": "2.0", "id": id, "result": result}));
        match method {
            "block" => {
                let height = if params["finality"] == "final" {
                    Some(self.final_height())
                } else if params["finality"] == "optimistic" {
                    Some(self.head)
                } else if let Some(height) = params["block_id"].as_u64() {
                    Some(height).filter(|&h| h <= self.head)
                } else if let Some(hash) = params["block_id"].as_str() {
                    (BASE_HEIGHT.saturating_sub(1000)..=self.head).find(|&h| block_hash(h) == hash)
                } else {
                    return rpc_error(id, "REQUEST_VALIDATION_ERROR", "PARSE_ERROR", "missing finality or block_id");
                };
                match height {
                    Some(height) => ok(self.block_json(height)),
                    None => rpc_error(id, "HANDLER_ERROR", "UNKNOWN_BLOCK", "DB Not Found Error: BLOCK"),
                }
            }
            "tx" => {
                let (Some(hash), Some(sender)) = (params["tx_hash"].as_str(), params["sender_account_id"].as_str())
                else {
                    return rpc_error(id, "REQUEST_VALIDATION_ERROR", "PARSE_ERROR", "missing tx_hash or sender");
                };
                if bs58::decode(hash).into_vec().map_or(true, |bytes| bytes.len() != 32) {
                    return rpc_error(
                        id,
                        "REQUEST_VALIDATION_ERROR",
                        "PARSE_ERROR",
                        "Failed parsing args: invalid hash",
                    );
                }
                let wait_until = params["wait_until"].as_str().unwrap_or("EXECUTED_OPTIMISTIC");
                let Some(wanted) = LEVELS.iter().position(|l| *l == wait_until) else {
                    return rpc_error(id, "REQUEST_VALIDATION_ERROR", "PARSE_ERROR", "unknown wait_until");
                };
                let Some(tx) = self.txs.get(hash).filter(|tx| tx.signer == sender) else {
                    return rpc_error(
                        id,
                        "HANDLER_ERROR",
                        "UNKNOWN_TRANSACTION",
                        &format!("Transaction {hash} doesn't exist"),
                    );
                };
                let level = self.level(tx);
                if level < wanted || tx.block.is_none_or(|b| b > self.head) {
                    return rpc_error(id, "HANDLER_ERROR", "TIMEOUT_ERROR", "Timeout error");
                }
                ok(self.tx_json(tx, level))
            }
            _ => rpc_error(id, "REQUEST_VALIDATION_ERROR", "METHOD_NOT_FOUND", &format!("Method {method} not found")),
        }
    }
}

async fn dispatch(body: web::Bytes, state: web::Data<Arc<Mutex<NearState>>>) -> HttpResponse {
    let mode = {
        let mut state = state.lock().unwrap();
        state.requests += 1;
        state.mode
    };
    match mode {
        Mode::Normal | Mode::NotSynced => {
            let Ok(request) = serde_json::from_slice::<Value>(&body) else {
                return HttpResponse::Ok().json(json!({"jsonrpc": "2.0", "id": null, "error": {
                    "name": "REQUEST_VALIDATION_ERROR", "cause": {"name": "PARSE_ERROR", "info": {}},
                    "code": -32700, "message": "Parse error", "data": "not JSON"}}));
            };
            let id = request["id"].clone();
            let method = request["method"].as_str().unwrap_or("").to_owned();
            let mut state = state.lock().unwrap();
            state.calls.push((method.clone(), request["params"].clone()));
            if mode == Mode::NotSynced {
                return rpc_error(&id, "HANDLER_ERROR", "NOT_SYNCED_YET", "Node is still syncing");
            }
            state.answer(&id, &method, &request["params"])
        }
        Mode::RateLimited(seconds) => HttpResponse::TooManyRequests()
            .insert_header(("retry-after", seconds.to_string()))
            .content_type("text/plain")
            .body("Too Many Requests"),
        Mode::Down => HttpResponse::ServiceUnavailable().content_type("text/html").body("<html>503</html>"),
        Mode::Malformed => HttpResponse::Ok().content_type("application/json").body("{\"jsonrpc\": \"2.0\", \"res"),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            HttpResponse::Ok().finish()
        }
    }
}

impl FakeNear {
    pub async fn start(head: u64) -> FakeNear {
        let state = NearState { mode: Mode::Normal, head, txs: HashMap::new(), requests: 0, calls: Vec::new() };
        let state = Arc::new(Mutex::new(state));
        let port = super::fakes::serve_all(web::Data::new(state.clone()), dispatch);
        FakeNear { base_url: format!("http://127.0.0.1:{port}"), state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    pub fn final_height(&self) -> u64 {
        self.state.lock().unwrap().final_height()
    }

    /// `tx` enters the pool (the node knows it, in no block yet).
    pub fn submit(&self, tx: NearTx) -> String {
        let hash = tx.hash.clone();
        self.state.lock().unwrap().txs.insert(hash.clone(), tx);
        hash
    }

    /// `tx` lands in the next block; returns that block's height.
    pub fn send(&self, tx: NearTx) -> u64 {
        let mut state = self.state.lock().unwrap();
        state.head += 1;
        let height = state.head;
        state.txs.insert(tx.hash.clone(), NearTx { block: Some(height), ..tx });
        height
    }

    /// `txs` land together in the next block; returns its height.
    pub fn send_all(&self, txs: Vec<NearTx>) -> u64 {
        let mut state = self.state.lock().unwrap();
        state.head += 1;
        let height = state.head;
        for tx in txs {
            state.txs.insert(tx.hash.clone(), NearTx { block: Some(height), ..tx });
        }
        height
    }

    /// `count` more blocks.
    pub fn produce(&self, count: u64) {
        self.state.lock().unwrap().head += count;
    }

    /// The `tx` calls so far: (hash, sender, wait_until).
    pub fn tx_calls(&self) -> Vec<(String, String, String)> {
        let state = self.state.lock().unwrap();
        let field = |p: &Value, k: &str| p[k].as_str().unwrap_or("").to_owned();
        state
            .calls
            .iter()
            .filter(|(m, _)| m == "tx")
            .map(|(_, p)| (field(p, "tx_hash"), field(p, "sender_account_id"), field(p, "wait_until")))
            .collect()
    }
}

impl ExplorerFake for FakeNear {
    fn base_url(&self) -> &str {
        &self.base_url
    }
    fn requests(&self) -> usize {
        FakeNear::requests(self)
    }
    fn behave(&self, behaviour: Behaviour) {
        self.set_mode(match behaviour {
            Behaviour::Normal => Mode::Normal,
            Behaviour::Down => Mode::Down,
            Behaviour::RateLimited(seconds) => Mode::RateLimited(seconds),
            Behaviour::Hang => Mode::Hang,
        });
    }
}
