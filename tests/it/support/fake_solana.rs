//! A stand-in Solana JSON-RPC node answering the methods the client uses
//! with the shapes of the Solana RPC docs (solana.com/docs/rpc/http):
//! `getSignatureStatuses` (at most 256 signatures, `null` for unknown ones),
//! `getLatestBlockhash`, `getBlockHeight`, `getBlock` (agave's -32004 /
//! -32007 errors for slots not reached or skipped) and `getTransaction`
//! (`jsonParsed`). Every call is logged; it can misbehave.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const SYSTEM_PROGRAM: &str = "11111111111111111111111111111111";
pub const TOKEN_PROGRAM: &str = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
/// USDC's mint.
pub const USDC_MINT: &str = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
/// How far `lastValidBlockHeight` is ahead of the block height (agave's
/// MAX_PROCESSING_AGE).
pub const VALIDITY_BLOCKS: u64 = 150;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// 429 with `Retry-After: <seconds>`, as gateways in front of nodes answer.
    RateLimited(u64),
    /// 502 from a gateway whose node is down.
    Down,
    /// -32005 "Node is behind by N slots": this node cannot answer now.
    Unhealthy,
    /// 200 with an HTML body.
    NotJson,
    /// 200 with a `result` of the wrong shape.
    Malformed,
    /// A JSON-RPC error object -32602 for every call.
    InvalidParams,
    /// Never answers in time.
    Hang,
}

/// A transaction as the node knows it.
#[derive(Debug, Clone)]
pub struct SolTx {
    pub slot: u64,
    /// `processed`, `confirmed` or `finalized`.
    pub level: &'static str,
    /// The `TransactionError`, `null` on success.
    pub err: Value,
    pub account_keys: Vec<String>,
    pub pre_balances: Vec<u64>,
    pub post_balances: Vec<u64>,
    pub pre_token_balances: Vec<Value>,
    pub post_token_balances: Vec<Value>,
    pub instructions: Vec<Value>,
}

pub struct SolanaState {
    pub mode: Mode,
    pub finalized_slot: u64,
    pub confirmed_slot: u64,
    pub skipped: HashSet<u64>,
    pub block_height: u64,
    pub txs: HashMap<String, SolTx>,
    /// Every call: (method, params).
    pub calls: Vec<(String, Value)>,
}

#[derive(Clone)]
pub struct FakeSolana {
    pub url: String,
    pub state: Arc<Mutex<SolanaState>>,
}

fn base58_of(tag: &str, len: usize) -> String {
    let mut bytes = Vec::new();
    let mut round = 0;
    while bytes.len() < len {
        bytes.extend(Sha256::digest(format!("{tag}-{round}")));
        round += 1;
    }
    bs58::encode(&bytes[..len]).into_string()
}

/// A 32-byte base58 key or hash.
pub fn pubkey(tag: &str) -> String {
    base58_of(tag, 32)
}

/// A 64-byte base58 signature (a transaction id).
pub fn signature(n: u64) -> String {
    base58_of(&format!("signature-{n}"), 64)
}

pub fn slot_hash(slot: u64) -> String {
    base58_of(&format!("slot-{slot}"), 32)
}

/// `from` sends `lamports` to `to` (fee 5000 paid by `from`).
pub fn sol_transfer(slot: u64, from: &str, to: &str, lamports: u64) -> SolTx {
    SolTx {
        slot,
        level: "finalized",
        err: Value::Null,
        account_keys: vec![from.to_owned(), to.to_owned(), SYSTEM_PROGRAM.to_owned()],
        pre_balances: vec![10_000_000_000, 0, 1],
        post_balances: vec![10_000_000_000 - lamports - 5000, lamports, 1],
        pre_token_balances: vec![],
        post_token_balances: vec![],
        instructions: vec![json!({
            "parsed": {"info": {"destination": to, "lamports": lamports, "source": from}, "type": "transfer"},
            "program": "system",
            "programId": SYSTEM_PROGRAM,
            "stackHeight": null,
        })],
    }
}

fn token_balance(index: usize, owner: &str, amount: u64) -> Value {
    json!({
        "accountIndex": index,
        "mint": USDC_MINT,
        "owner": owner,
        "programId": TOKEN_PROGRAM,
        "uiTokenAmount": {
            "amount": amount.to_string(),
            "decimals": 6,
            "uiAmount": amount as f64 / 1e6,
            "uiAmountString": format!("{}", amount as f64 / 1e6),
        },
    })
}

/// `transferChecked` of `amount` USDC base units from `from`'s token account
/// to `to`'s (which already held `held`).
pub fn usdc_transfer(slot: u64, from: &str, to: &str, amount: u64, held: u64) -> SolTx {
    let source = pubkey(&format!("ata-{from}"));
    let destination = pubkey(&format!("ata-{to}"));
    SolTx {
        slot,
        level: "finalized",
        err: Value::Null,
        account_keys: vec![
            from.to_owned(),
            source.clone(),
            destination.clone(),
            USDC_MINT.to_owned(),
            TOKEN_PROGRAM.to_owned(),
        ],
        pre_balances: vec![5_000_000_000, 2_039_280, 2_039_280, 1_461_600_000, 1],
        post_balances: vec![5_000_000_000 - 5000, 2_039_280, 2_039_280, 1_461_600_000, 1],
        pre_token_balances: vec![token_balance(1, from, 1_000_000_000), token_balance(2, to, held)],
        post_token_balances: vec![token_balance(1, from, 1_000_000_000 - amount), token_balance(2, to, held + amount)],
        instructions: vec![json!({
            "parsed": {
                "info": {
                    "authority": from,
                    "destination": destination,
                    "mint": USDC_MINT,
                    "source": source,
                    "tokenAmount": {"amount": amount.to_string(), "decimals": 6},
                },
                "type": "transferChecked",
            },
            "program": "spl-token",
            "programId": TOKEN_PROGRAM,
            "stackHeight": null,
        })],
    }
}

fn rpc_error(id: &Value, code: i64, message: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": id}))
}

fn rpc_result(id: &Value, result: Value) -> HttpResponse {
    HttpResponse::Ok().json(json!({"jsonrpc": "2.0", "result": result, "id": id}))
}

impl SolanaState {
    fn context(&self) -> Value {
        json!({"apiVersion": "2.2.14", "slot": self.confirmed_slot})
    }

    fn block_json(&self, slot: u64, details: &str) -> Value {
        let parent = (0..slot).rev().find(|s| !self.skipped.contains(s)).unwrap_or(0);
        let mut block = json!({
            "blockHeight": self.block_height - (self.finalized_slot.saturating_sub(slot)).min(self.block_height),
            "blockTime": 1_700_000_000 + slot / 3,
            "blockhash": slot_hash(slot),
            "parentSlot": parent,
            "previousBlockhash": slot_hash(parent),
        });
        if details == "signatures" {
            let mut signatures: Vec<&String> = self
                .txs
                .iter()
                .filter(|(_, tx)| tx.slot == slot && tx.level != "processed")
                .map(|(sig, _)| sig)
                .collect();
            signatures.sort();
            block["signatures"] = json!(signatures);
        }
        block
    }

    fn transaction_json(&self, sig: &str, tx: &SolTx) -> Value {
        let keys: Vec<Value> = tx
            .account_keys
            .iter()
            .enumerate()
            .map(|(i, key)| json!({"pubkey": key, "signer": i == 0, "source": "transaction", "writable": i < 3}))
            .collect();
        json!({
            "blockTime": 1_700_000_000 + tx.slot / 3,
            "meta": {
                "computeUnitsConsumed": 450,
                "err": tx.err,
                "fee": 5000,
                "innerInstructions": [],
                "logMessages": ["Program 11111111111111111111111111111111 invoke [1]"],
                "postBalances": tx.post_balances,
                "postTokenBalances": tx.post_token_balances,
                "preBalances": tx.pre_balances,
                "preTokenBalances": tx.pre_token_balances,
                "rewards": [],
                "status": if tx.err.is_null() { json!({"Ok": null}) } else { json!({"Err": tx.err}) },
            },
            "slot": tx.slot,
            "transaction": {
                "message": {
                    "accountKeys": keys,
                    "instructions": tx.instructions,
                    "recentBlockhash": slot_hash(tx.slot.saturating_sub(10)),
                },
                "signatures": [sig],
            },
            "version": "legacy",
        })
    }

    fn answer(&self, id: &Value, method: &str, params: &Value) -> HttpResponse {
        match method {
            "getSignatureStatuses" => {
                let Some(sigs) = params[0].as_array() else {
                    return rpc_error(id, -32602, "Invalid params: invalid type: expected a sequence.");
                };
                if sigs.len() > 256 {
                    return rpc_error(id, -32602, "Too many inputs provided; max 256");
                }
                let value: Vec<Value> = sigs
                    .iter()
                    .map(|sig| match self.txs.get(sig.as_str().unwrap_or("")) {
                        None => Value::Null,
                        Some(tx) => json!({
                            "slot": tx.slot,
                            "confirmations": if tx.level == "finalized" { Value::Null } else { json!(self.confirmed_slot.saturating_sub(tx.slot)) },
                            "err": tx.err,
                            "status": if tx.err.is_null() { json!({"Ok": null}) } else { json!({"Err": tx.err}) },
                            "confirmationStatus": tx.level,
                        }),
                    })
                    .collect();
                rpc_result(id, json!({"context": self.context(), "value": value}))
            }
            "getLatestBlockhash" => rpc_result(
                id,
                json!({
                    "context": {"apiVersion": "2.2.14", "slot": self.finalized_slot},
                    "value": {"blockhash": slot_hash(self.finalized_slot), "lastValidBlockHeight": self.block_height + VALIDITY_BLOCKS},
                }),
            ),
            "getBlockHeight" => rpc_result(id, json!(self.block_height)),
            "getBlock" => {
                let Some(slot) = params[0].as_u64() else {
                    return rpc_error(id, -32602, "Invalid params: invalid type: expected u64.");
                };
                let tip = match params[1]["commitment"].as_str() {
                    Some("confirmed") => self.confirmed_slot,
                    _ => self.finalized_slot,
                };
                if slot > tip {
                    return rpc_error(id, -32004, &format!("Block not available for slot {slot}"));
                }
                if self.skipped.contains(&slot) {
                    return rpc_error(
                        id,
                        -32007,
                        &format!("Slot {slot} was skipped, or missing due to ledger jump to recent snapshot"),
                    );
                }
                rpc_result(id, self.block_json(slot, params[1]["transactionDetails"].as_str().unwrap_or("full")))
            }
            "getTransaction" => {
                let sig = params[0].as_str().unwrap_or("");
                match self.txs.get(sig) {
                    Some(tx) if tx.level != "processed" => rpc_result(id, self.transaction_json(sig, tx)),
                    _ => rpc_result(id, Value::Null),
                }
            }
            _ => rpc_error(id, -32601, "Method not found"),
        }
    }
}

async fn dispatch(body: web::Bytes, state: web::Data<Arc<Mutex<SolanaState>>>) -> HttpResponse {
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return rpc_error(&Value::Null, -32700, "Parse error");
    };
    let id = request["id"].clone();
    let method = request["method"].as_str().unwrap_or("").to_owned();
    let params = request["params"].clone();
    let mode = {
        let mut state = state.lock().unwrap();
        state.calls.push((method.clone(), params.clone()));
        state.mode
    };
    match mode {
        Mode::Normal => state.lock().unwrap().answer(&id, &method, &params),
        Mode::RateLimited(seconds) => HttpResponse::TooManyRequests()
            .insert_header(("retry-after", seconds.to_string()))
            .json(json!({"jsonrpc": "2.0", "error": {"code": 429, "message": "Too many requests for a specific RPC call"}, "id": id})),
        Mode::Down => HttpResponse::BadGateway().content_type("text/html").body("<html>502 Bad Gateway</html>"),
        Mode::Unhealthy => HttpResponse::Ok().json(json!({
            "jsonrpc": "2.0",
            "error": {"code": -32005, "message": "Node is behind by 1337 slots", "data": {"numSlotsBehind": 1337}},
            "id": id,
        })),
        Mode::NotJson => HttpResponse::Ok().content_type("text/html").body("<html>maintenance</html>"),
        Mode::Malformed => rpc_result(&id, json!({"context": {"slot": 1}, "value": "not what you asked for"})),
        Mode::InvalidParams => rpc_error(&id, -32602, "Invalid params: invalid type: map, expected u64."),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            HttpResponse::Ok().finish()
        }
    }
}

impl FakeSolana {
    /// A node whose finalized and confirmed tip is `slot`, at block height
    /// `slot - 20_000_000` (slots run ahead of heights by the skipped ones).
    pub async fn start(slot: u64) -> FakeSolana {
        let state = Arc::new(Mutex::new(SolanaState {
            mode: Mode::Normal,
            finalized_slot: slot,
            confirmed_slot: slot,
            skipped: HashSet::new(),
            block_height: slot - 20_000_000,
            txs: HashMap::new(),
            calls: Vec::new(),
        }));
        let data = web::Data::new(state.clone());
        let port = super::fakes::serve_all(data, dispatch);
        FakeSolana { url: format!("http://127.0.0.1:{port}"), state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    pub fn add(&self, sig: &str, tx: SolTx) {
        self.state.lock().unwrap().txs.insert(sig.to_owned(), tx);
    }

    pub fn set_level(&self, sig: &str, level: &'static str) {
        self.state.lock().unwrap().txs.get_mut(sig).unwrap().level = level;
    }

    /// Moves both tips `slots` ahead (and the block height as many blocks).
    pub fn advance(&self, slots: u64) {
        let mut state = self.state.lock().unwrap();
        state.finalized_slot += slots;
        state.confirmed_slot += slots;
        state.block_height += slots;
    }

    /// Calls of `method` so far, by their params.
    pub fn calls(&self, method: &str) -> Vec<Value> {
        self.state.lock().unwrap().calls.iter().filter(|(m, _)| m == method).map(|(_, p)| p.clone()).collect()
    }

    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().calls.len()
    }
}
