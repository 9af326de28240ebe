//! A stand-in Hedera mirror node answering in the documented shapes of its
//! REST API (<https://docs.hedera.com/hedera/sdks-and-apis/rest-api>; the
//! OpenAPI spec `hiero-ledger/hiero-mirror-node` `rest/api/v1/openapi.yml`,
//! served at `/api/v1/docs/openapi.yml`):
//! - `GET /api/v1/blocks` (<https://docs.hedera.com/hedera/sdks-and-apis/rest-api/blocks>):
//!   `order`, `limit`, `timestamp=gte:<seconds.nanos>` (on the block's
//!   `timestamp.to`); `blocks[]` with `count`, `hapi_version`, `hash` (`0x` +
//!   96 hex), `name`, `number`, `previous_hash`, `size`, `timestamp`
//!   {`from`, `to`}, `gas_used`, `logs_bloom`; `links.next`;
//! - `GET /api/v1/transactions/{transactionId}`
//!   (<https://docs.hedera.com/hedera/sdks-and-apis/rest-api/transactions>):
//!   the id as `0.0.payer-seconds-nanos`; `transactions[]` with
//!   `consensus_timestamp`, `transaction_id`, `result`, `name`,
//!   `memo_base64`, `nonce`, `scheduled`, `transfers[]` {`account`,
//!   `amount` tinybar, signed, `is_approval`}, `token_transfers[]`
//!   {`token_id`, `account`, `amount`, `is_approval`},
//!   `valid_start_timestamp`, `valid_duration_seconds`, `charged_tx_fee`,
//!   `node`; a copy sent through another node is listed with
//!   `DUPLICATE_TRANSACTION`;
//! - `GET /api/v1/transactions?account.id=..&type=credit&order=desc&limit=..`
//!   (the same objects, newest first);
//! - errors as `{"_status": {"messages": [{"message": ...}]}}`: 400 for an
//!   id that is none (`Invalid parameter: transactionId`), 404 `Not found`,
//!   429 `Too many requests` (with `Retry-After`), 503.
//!
//! Every request's path and query is logged; it can misbehave.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use serde_json::{json, Value};

pub use super::fake_esplora::fake_hash;

/// Circle's USDC on Hedera mainnet.
pub const USDC_TOKEN: &str = "0.0.456858";
/// The exchange's hot wallet paying every withdrawal.
pub const HOT_WALLET: &str = "0.0.1001";
/// Block 0 starts at this unix time; one block every 2 seconds.
pub const GENESIS_TIME: u64 = 1_700_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    RateLimited(u64),
    Down,
    /// 200 with JSON of the wrong shape.
    Malformed,
    Hang,
}

#[derive(Debug, Clone)]
pub struct HbarTx {
    /// The mirror's form: `0.0.1001-<seconds>-<nanos>`.
    pub id: String,
    pub valid_start: u64,
    pub valid_duration: u64,
    /// The block it reached consensus in; `None` before.
    pub block: Option<u64>,
    pub result: String,
    pub memo: String,
    /// `None`: hbar, else the token.
    pub token: Option<String>,
    pub to: String,
    pub amount: i64,
    /// Also listed once more as a `DUPLICATE_TRANSACTION` (sent through two nodes).
    pub duplicated: bool,
}

pub struct MirrorState {
    pub mode: Mode,
    pub latest: u64,
    pub txs: Vec<HbarTx>,
    pub requests: Vec<String>,
}

#[derive(Clone)]
pub struct FakeMirror {
    pub base_url: String,
    pub state: Arc<Mutex<MirrorState>>,
}

/// Block `number` covers consensus time `[start, start + 2 s)`.
pub fn block_start(number: u64) -> u64 {
    GENESIS_TIME + 2 * number
}

/// Block `number`'s hash as the client keeps it (96 hex digits).
pub fn block_hash(number: u64) -> String {
    format!("{}{}", fake_hash("hbar-block", number), &fake_hash("hbar-block-2", number)[..32])
}

/// The SDK's form of transaction `n`'s id, valid from `valid_start`.
pub fn sdk_id(n: u64, valid_start: u64) -> String {
    format!("{HOT_WALLET}@{valid_start}.{n:09}")
}

/// A transfer from the hot wallet, valid from `valid_start` for 120 s, not
/// at consensus yet.
pub fn transfer(n: u64, valid_start: u64, to: &str, amount: i64, token: Option<&str>, memo: &str) -> HbarTx {
    HbarTx {
        id: format!("{HOT_WALLET}-{valid_start}-{n:09}"),
        valid_start,
        valid_duration: 120,
        block: None,
        result: "SUCCESS".to_owned(),
        memo: memo.to_owned(),
        token: token.map(str::to_owned),
        to: to.to_owned(),
        amount,
        duplicated: false,
    }
}

fn status(code: u16, message: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap())
        .json(json!({"_status": {"messages": [{"message": message}]}}))
}

fn block_json(number: u64) -> Value {
    let start = block_start(number);
    json!({
        "count": 4,
        "gas_used": 0,
        "hapi_version": "0.56.0",
        "hash": format!("0x{}", block_hash(number)),
        "logs_bloom": "0x",
        "name": format!("2023-11-14T22_13_{:02}.000000000Z.rcd.gz", number % 60),
        "number": number,
        "previous_hash": format!("0x{}", block_hash(number.saturating_sub(1))),
        "size": 8192,
        "timestamp": {"from": format!("{start}.000000000"), "to": format!("{}.999999999", start + 1)},
    })
}

/// Its consensus time: one second into its block, plus its number's nanos.
fn consensus(tx: &HbarTx, block: u64) -> String {
    let nanos = tx.id.rsplit('-').next().unwrap().parse::<u64>().unwrap() % 1_000_000;
    format!("{}.{:09}", block_start(block) + 1, nanos)
}

fn tx_json(tx: &HbarTx, block: u64, duplicate: bool) -> Value {
    let fee = 84_000i64;
    let mut transfers = vec![
        json!({"account": "0.0.3", "amount": 4_000, "is_approval": false}),
        json!({"account": "0.0.98", "amount": fee - 4_000, "is_approval": false}),
    ];
    let mut token_transfers = Vec::new();
    let success = tx.result == "SUCCESS" && !duplicate;
    match (&tx.token, success) {
        (None, true) => {
            transfers.push(json!({"account": HOT_WALLET, "amount": -fee - tx.amount, "is_approval": false}));
            transfers.push(json!({"account": tx.to, "amount": tx.amount, "is_approval": false}));
        }
        (Some(token), true) => {
            transfers.push(json!({"account": HOT_WALLET, "amount": -fee, "is_approval": false}));
            token_transfers
                .push(json!({"token_id": token, "account": HOT_WALLET, "amount": -tx.amount, "is_approval": false}));
            token_transfers
                .push(json!({"token_id": token, "account": tx.to, "amount": tx.amount, "is_approval": false}));
        }
        (_, false) => transfers.push(json!({"account": HOT_WALLET, "amount": -fee, "is_approval": false})),
    }
    json!({
        "bytes": null,
        "charged_tx_fee": fee,
        "consensus_timestamp": consensus(tx, block),
        "entity_id": null,
        "max_fee": "100000000",
        "memo_base64": base64::engine::general_purpose::STANDARD.encode(tx.memo.as_bytes()),
        "name": "CRYPTOTRANSFER",
        "nft_transfers": [],
        "node": if duplicate { "0.0.4" } else { "0.0.3" },
        "nonce": 0,
        "parent_consensus_timestamp": null,
        "result": if duplicate { "DUPLICATE_TRANSACTION" } else { tx.result.as_str() },
        "scheduled": false,
        "staking_reward_transfers": [],
        "token_transfers": token_transfers,
        "transaction_hash": base64::engine::general_purpose::STANDARD.encode(tx.id.as_bytes()),
        "transaction_id": tx.id,
        "transfers": transfers,
        "valid_duration_seconds": tx.valid_duration.to_string(),
        "valid_start_timestamp": format!("{}.{}", tx.valid_start, tx.id.rsplit('-').next().unwrap()),
    })
}

fn seconds(text: &str) -> Option<f64> {
    text.parse().ok()
}

impl MirrorState {
    fn answer(&self, path: &str, query: &HashMap<String, String>) -> HttpResponse {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        match parts.as_slice() {
            ["api", "v1", "blocks"] => {
                let limit: usize = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(25);
                let desc = query.get("order").map(String::as_str) != Some("asc");
                let from = query.get("timestamp").and_then(|t| t.strip_prefix("gte:")).and_then(seconds);
                // The first block whose `timestamp.to` is at or after `from`.
                let first = from.map_or(0, |from| {
                    let past = (from - (GENESIS_TIME + 2) as f64) / 2.0;
                    if past < 0.0 {
                        0
                    } else {
                        past.floor() as u64 + 1
                    }
                });
                let numbers = first..=self.latest;
                let blocks: Vec<Value> = if desc {
                    numbers.rev().take(limit).map(block_json).collect()
                } else {
                    numbers.take(limit).map(block_json).collect()
                };
                HttpResponse::Ok().json(json!({"blocks": blocks, "links": {"next": null}}))
            }
            ["api", "v1", "transactions"] => {
                // An account's transactions, newest first; `type=credit`:
                // those crediting it.
                let Some(account) = query.get("account.id") else { return status(400, "Invalid parameter") };
                let credit = query.get("type").map(String::as_str) == Some("credit");
                let limit: usize = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(25);
                let mut listed: Vec<Value> = Vec::new();
                for tx in self.txs.iter().filter(|tx| tx.block.is_some_and(|b| b <= self.latest)) {
                    let paid = tx.to == *account && tx.result == "SUCCESS";
                    if paid || (!credit && tx.id.starts_with(&format!("{account}-"))) {
                        listed.push(tx_json(tx, tx.block.unwrap(), false));
                    }
                }
                listed.reverse();
                listed.truncate(limit);
                HttpResponse::Ok().json(json!({"transactions": listed, "links": {"next": null}}))
            }
            ["api", "v1", "transactions", id] => {
                let parts: Vec<&str> = id.rsplitn(3, '-').collect();
                if parts.len() != 3 || parts[2].split('.').count() != 3 {
                    return status(400, "Invalid parameter: transactionId");
                }
                let found = self.txs.iter().find(|tx| tx.id == *id && tx.block.is_some_and(|b| b <= self.latest));
                let Some(tx) = found else { return status(404, "Not found") };
                let block = tx.block.unwrap();
                let mut list = vec![tx_json(tx, block, false)];
                if tx.duplicated {
                    list.insert(0, tx_json(tx, block, true));
                }
                HttpResponse::Ok().json(json!({"transactions": list, "links": {"next": null}}))
            }
            _ => status(404, "Not found"),
        }
    }
}

async fn dispatch(request: HttpRequest, state: web::Data<Arc<Mutex<MirrorState>>>) -> HttpResponse {
    let query: HashMap<String, String> = serde_urlencoded::from_str(request.query_string()).unwrap_or_default();
    let mode = {
        let mut state = state.lock().unwrap();
        state.requests.push(format!("{}?{}", request.path(), request.query_string()));
        state.mode
    };
    match mode {
        Mode::Normal => state.lock().unwrap().answer(request.path(), &query),
        Mode::RateLimited(seconds) => {
            let mut response = status(429, "Too many requests");
            response.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from_str(&seconds.to_string()).unwrap(),
            );
            response
        }
        Mode::Down => status(503, "Service Unavailable"),
        Mode::Malformed => HttpResponse::Ok().json(json!({"blocks": [{"number": "x"}], "transactions": 7})),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            HttpResponse::Ok().finish()
        }
    }
}

impl FakeMirror {
    /// A mirror whose newest block is `latest`.
    pub async fn start(latest: u64) -> FakeMirror {
        let state =
            Arc::new(Mutex::new(MirrorState { mode: Mode::Normal, latest, txs: Vec::new(), requests: Vec::new() }));
        let port = super::fakes::serve_all(web::Data::new(state.clone()), dispatch);
        FakeMirror { base_url: format!("http://127.0.0.1:{port}"), state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    /// The next block, with `txs` at consensus in it; returns its number.
    pub fn next_block(&self, txs: Vec<HbarTx>) -> u64 {
        let mut state = self.state.lock().unwrap();
        state.latest += 1;
        let number = state.latest;
        state.txs.extend(txs.into_iter().map(|tx| HbarTx { block: Some(number), ..tx }));
        number
    }

    /// Blocks pass (the mirror ingests them) until the newest starts at or
    /// after `time`.
    pub fn advance_to(&self, time: u64) {
        let mut state = self.state.lock().unwrap();
        while block_start(state.latest) < time {
            state.latest += 1;
        }
    }

    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests.len()
    }

    pub fn paths(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }
}
