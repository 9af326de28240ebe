//! A stand-in Cosmos SDK REST gateway (gRPC-gateway JSON of SDK v0.50, as
//! Gaia serves it), in the shapes of <https://docs.cosmos.network/api>:
//! - `GET /cosmos/base/tendermint/v1beta1/blocks/latest`: `{"block_id":
//!   {"hash" (base64), "part_set_header"}, "block": {"header": {"chain_id",
//!   "height" (a decimal string), "time", ..}, "data", ..}, "sdk_block"}`.
//! - `GET /cosmos/tx/v1beta1/txs/{hash}`: `{"tx": {"body": {"messages"
//!   (`@type` `/cosmos.bank.v1beta1.MsgSend` with `from_address`,
//!   `to_address`, `amount[]` of `denom`/`amount`), "memo",
//!   "timeout_height"}, "auth_info", "signatures"}, "tx_response":
//!   {"height", "txhash" (upper-case hex), "codespace", "code", "raw_log",
//!   "gas_wanted", "gas_used", "timestamp", "events", ..}}`; 404 `{"code": 5,
//!   "message": "tx not found: <hash>", "details": []}` for a hash the
//!   indexer does not have (a transaction in the mempool included), 400
//!   `{"code": 3, ..}` for a hash that is not hex.
//! - `GET /cosmos/tx/v1beta1/txs?query=transfer.recipient='<addr>'&order_by=
//!   ORDER_BY_DESC&page=1&limit=N`: `{"txs": [..], "tx_responses": [..],
//!   "pagination": null, "total"}`; 400 without `query` (SDK v0.50 refuses
//!   the old `events`).
//!
//! Every request's path and query is logged; it can misbehave.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use serde_json::{json, Value};

use super::explorer_transport::{Behaviour, ExplorerFake};

pub const BASE_HEIGHT: u64 = 28_000_000;
/// USDC on the Cosmos Hub: Noble's USDC over IBC.
pub const USDC_DENOM: &str = "ibc/F663521BF1836B00F5F177680F74BFB9A8B5654A694D0D2BC249E03CF2509013";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    RateLimited(u64),
    Down,
    /// 200 with a body that is not JSON.
    Malformed,
    Hang,
}

#[derive(Debug, Clone)]
pub struct CosmosTx {
    /// Upper-case hex, as CometBFT writes it.
    pub hash: String,
    /// `None` while in the mempool (the REST gateway cannot see it).
    pub height: Option<u64>,
    pub code: u32,
    pub messages: Vec<Value>,
    pub memo: String,
    pub timeout_height: u64,
}

pub struct CosmosState {
    pub mode: Mode,
    pub height: u64,
    pub txs: HashMap<String, CosmosTx>,
    pub requests: usize,
    /// Path and query of every request.
    pub log: Vec<String>,
}

#[derive(Clone)]
pub struct FakeCosmos {
    pub base_url: String,
    pub state: Arc<Mutex<CosmosState>>,
}

fn sha256(seed: String) -> Vec<u8> {
    use sha2::{Digest as _, Sha256};
    Sha256::digest(seed).to_vec()
}

/// A transaction hash (upper-case hex), one per `n`.
pub fn tx_hash(n: u64) -> String {
    sha256(format!("atom-tx-{n}")).iter().map(|b| format!("{b:02X}")).collect()
}

/// A valid `cosmos1…` account address, one per `seed`.
pub fn cosmos_address(seed: &str) -> String {
    let hrp = bech32::Hrp::parse("cosmos").unwrap();
    bech32::encode::<bech32::Bech32>(hrp, &sha256(format!("atom-account-{seed}"))[..20]).unwrap()
}

fn block_hash(height: u64) -> String {
    base64::engine::general_purpose::STANDARD.encode(sha256(format!("atom-block-{height}")))
}

/// The exchange's hot wallet sends `coins` (`(denom, amount)`) to `to` with `memo`.
pub fn send(n: u64, to: &str, coins: &[(&str, u128)], memo: &str) -> CosmosTx {
    let amount: Vec<Value> = coins.iter().map(|(d, a)| json!({"denom": d, "amount": a.to_string()})).collect();
    CosmosTx {
        hash: tx_hash(n),
        height: None,
        code: 0,
        messages: vec![json!({
            "@type": "/cosmos.bank.v1beta1.MsgSend",
            "from_address": cosmos_address("exchange-hot-wallet"),
            "to_address": to,
            "amount": amount
        })],
        memo: memo.to_owned(),
        timeout_height: 0,
    }
}

fn grpc_error(status: u16, code: i64, message: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .json(json!({"code": code, "message": message, "details": []}))
}

impl CosmosState {
    fn known(&self, hash: &str) -> Option<&CosmosTx> {
        self.txs.get(&hash.to_ascii_uppercase()).filter(|tx| tx.height.is_some_and(|h| h <= self.height))
    }

    fn tx_json(tx: &CosmosTx) -> Value {
        json!({
            "body": {
                "messages": tx.messages,
                "memo": tx.memo,
                "timeout_height": tx.timeout_height.to_string(),
                "extension_options": [],
                "non_critical_extension_options": []
            },
            "auth_info": {
                "signer_infos": [{"public_key": {"@type": "/cosmos.crypto.secp256k1.PubKey", "key": "A0Fb"},
                                  "mode_info": {"single": {"mode": "SIGN_MODE_DIRECT"}}, "sequence": "42"}],
                "fee": {"amount": [{"denom": "uatom", "amount": "5000"}], "gas_limit": "200000", "payer": "", "granter": ""}
            },
            "signatures": ["c2lnbmF0dXJl"]
        })
    }

    fn response_json(tx: &CosmosTx) -> Value {
        let height = tx.height.expect("known");
        json!({
            "height": height.to_string(),
            "txhash": tx.hash,
            "codespace": if tx.code == 0 { "" } else { "sdk" },
            "code": tx.code,
            "data": "",
            "raw_log": if tx.code == 0 { "" } else { "failed to execute message; message index: 0: insufficient funds" },
            "logs": [],
            "info": "",
            "gas_wanted": "200000",
            "gas_used": "84000",
            "tx": Value::Null,
            "timestamp": "2026-12-07T04:00:00Z",
            "events": []
        })
    }

    fn answer(&self, path: &str, query: &str) -> HttpResponse {
        if path == "/cosmos/base/tendermint/v1beta1/blocks/latest" {
            let header = json!({
                "version": {"block": "11", "app": "0"},
                "chain_id": "cosmoshub-4",
                "height": self.height.to_string(),
                "time": "2026-12-07T04:00:00.000000000Z",
                "proposer_address": "AAAA"
            });
            return HttpResponse::Ok().json(json!({
                "block_id": {"hash": block_hash(self.height), "part_set_header": {"total": 1, "hash": block_hash(0)}},
                "block": {"header": header, "data": {"txs": []}, "evidence": {"evidence": []}, "last_commit": null},
                "sdk_block": {"header": header}
            }));
        }
        if path == "/cosmos/tx/v1beta1/txs" {
            let pairs: HashMap<String, String> = serde_urlencoded::from_str(query).unwrap_or_default();
            let Some(filter) = pairs.get("query") else {
                return grpc_error(400, 3, "query cannot be empty");
            };
            let Some(recipient) = filter.strip_prefix("transfer.recipient='").and_then(|rest| rest.strip_suffix('\''))
            else {
                return grpc_error(400, 3, "unsupported query");
            };
            let limit: usize = pairs.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100);
            let mut hits: Vec<&CosmosTx> = self
                .txs
                .values()
                .filter(|tx| self.known(&tx.hash).is_some() && tx.code == 0)
                .filter(|tx| tx.messages.iter().any(|m| m["to_address"] == recipient))
                .collect();
            hits.sort_by_key(|tx| std::cmp::Reverse(tx.height));
            hits.truncate(limit);
            return HttpResponse::Ok().json(json!({
                "txs": hits.iter().map(|tx| Self::tx_json(tx)).collect::<Vec<_>>(),
                "tx_responses": hits.iter().map(|tx| Self::response_json(tx)).collect::<Vec<_>>(),
                "pagination": null,
                "total": hits.len().to_string()
            }));
        }
        if let Some(hash) = path.strip_prefix("/cosmos/tx/v1beta1/txs/") {
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return grpc_error(400, 3, "encoding/hex: invalid byte");
            }
            return match self.known(hash) {
                Some(tx) => HttpResponse::Ok().json(json!({
                    "tx": Self::tx_json(tx),
                    "tx_response": Self::response_json(tx)
                })),
                None => grpc_error(404, 5, &format!("tx not found: {hash}")),
            };
        }
        grpc_error(501, 12, "Not Implemented")
    }
}

async fn dispatch(req: HttpRequest, state: web::Data<Arc<Mutex<CosmosState>>>) -> HttpResponse {
    let mode = {
        let mut state = state.lock().unwrap();
        state.requests += 1;
        state.log.push(format!("{}?{}", req.path(), req.query_string()));
        state.mode
    };
    match mode {
        Mode::Normal => state.lock().unwrap().answer(req.path(), req.query_string()),
        Mode::RateLimited(seconds) => HttpResponse::TooManyRequests()
            .insert_header(("retry-after", seconds.to_string()))
            .content_type("text/plain")
            .body("Too Many Requests"),
        Mode::Down => HttpResponse::BadGateway().content_type("text/html").body("<html>502 Bad Gateway</html>"),
        Mode::Malformed => HttpResponse::Ok().content_type("application/json").body("{\"block_id\": {\"hash\""),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            HttpResponse::Ok().finish()
        }
    }
}

impl FakeCosmos {
    pub async fn start(height: u64) -> FakeCosmos {
        let state = CosmosState { mode: Mode::Normal, height, txs: HashMap::new(), requests: 0, log: Vec::new() };
        let state = Arc::new(Mutex::new(state));
        let port = super::fakes::serve_all(web::Data::new(state.clone()), dispatch);
        FakeCosmos { base_url: format!("http://127.0.0.1:{port}"), state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    pub fn height(&self) -> u64 {
        self.state.lock().unwrap().height
    }

    /// `tx` is committed in the next block; returns its height.
    pub fn commit(&self, tx: CosmosTx) -> u64 {
        let mut state = self.state.lock().unwrap();
        state.height += 1;
        let height = state.height;
        state.txs.insert(tx.hash.clone(), CosmosTx { height: Some(height), ..tx });
        height
    }

    /// `txs` are committed together in the next block; returns its height.
    pub fn commit_all(&self, txs: Vec<CosmosTx>) -> u64 {
        let mut state = self.state.lock().unwrap();
        state.height += 1;
        let height = state.height;
        for tx in txs {
            state.txs.insert(tx.hash.clone(), CosmosTx { height: Some(height), ..tx });
        }
        height
    }

    /// `count` more blocks.
    pub fn produce(&self, count: u64) {
        self.state.lock().unwrap().height += count;
    }

    pub fn log(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }
}

impl ExplorerFake for FakeCosmos {
    fn base_url(&self) -> &str {
        &self.base_url
    }
    fn requests(&self) -> usize {
        FakeCosmos::requests(self)
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
