//! A stand-in nodeos answering the Antelope chain API in its documented
//! shapes (<https://docs.eosnetwork.com/apis/leap/latest/chain.api/>, every
//! call a `POST /v1/chain/<name>` with a JSON body), the bodies as a real
//! nodeos 4.1 writes them (checked against the one `support/nodeos.rs` runs):
//! - `get_info`: `head_block_num`, `head_block_id`, `last_irreversible_block_num`,
//!   `last_irreversible_block_id`, `last_irreversible_block_time`, `chain_id`, ...;
//! - `get_block` (`{"block_num_or_id": n}`): `id`, `block_num`, `previous`,
//!   `timestamp` (UTC without a zone, half seconds), `producer`, and
//!   `transactions`: receipts with `status` (executed / soft_fail / hard_fail /
//!   delayed / expired), `cpu_usage_us`, `net_usage_words` and `trx`, the
//!   packed transaction (`id`, `signatures`, `compression`, `packed_trx`, and
//!   `transaction` unpacked: `expiration`, `ref_block_num`, `actions` with
//!   `account`, `name`, `authorization`, `data` decoded by the ABI and
//!   `hex_data`) or, for a deferred transaction's execution, its id alone;
//! - `get_block_info` (`{"block_num": n}`): the header with `id`;
//! - `get_transaction_status` (`{"id": ...}`, nodeos 3.1+): `state`
//!   (`IRREVERSIBLE`, `IN_BLOCK`, `UNKNOWN`, ...), `block_number`, `block_id`,
//!   `expiration`, `irreversible_number`, ...; a node without the status
//!   index answers 404 `Unknown Endpoint`;
//! - errors: `{"code": 400, "message": "Unknown Block", "error": {"code":
//!   3100002, "name": "unknown_block_exception", "what": "Unknown block",
//!   "details": [...]}}`; a provider's gateway in front answers 429 with
//!   `Retry-After` and 503 when the node is down.
//!
//! Every request's path is logged; it can misbehave.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::fake_utxo_chain::fake_hash;

/// Block 1 was produced at this unix time; one block every half second.
pub const GENESIS_TIME_MS: i64 = 1_717_200_000_000;
pub const HOT_WALLET: &str = "hotwallet";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// 429 with `Retry-After: <seconds>` (a provider's gateway).
    RateLimited(u64),
    /// 503 from the gateway in front of a down node.
    Down,
    /// 200 with an HTML body.
    NotJson,
    /// 200 with JSON of the wrong shape.
    Malformed,
    Hang,
}

#[derive(Debug, Clone)]
pub struct FakeAction {
    /// The contract: `eosio.token`, `tethertether`, ...
    pub account: String,
    pub name: String,
    pub to: String,
    /// `"1.5000 EOS"`.
    pub quantity: String,
    pub memo: String,
}

#[derive(Debug, Clone)]
pub struct FakeTx {
    pub id: String,
    /// The receipt's status.
    pub status: String,
    /// Unix seconds.
    pub expiration: i64,
    pub actions: Vec<FakeAction>,
    /// The receipt carries the id alone (a deferred transaction's execution).
    pub id_only: bool,
}

pub fn tx_id(n: u64) -> String {
    fake_hash("eos-tx", n)
}

/// Like nodeos: the block number in the first 4 bytes.
pub fn block_id(height: u64) -> String {
    format!("{height:08x}{}", &fake_hash("eos-block", height)[8..])
}

pub fn block_time_ms(height: u64) -> i64 {
    GENESIS_TIME_MS + 500 * (height as i64 - 1)
}

fn antelope_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap().format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
}

/// An `eosio.token::transfer` (or another contract's, `contract`) from the
/// hot wallet, executed, expiring an hour after `GENESIS_TIME_MS`.
pub fn transfer(n: u64, contract: &str, to: &str, quantity: &str, memo: &str) -> FakeTx {
    FakeTx {
        id: tx_id(n),
        status: "executed".to_owned(),
        expiration: GENESIS_TIME_MS / 1000 + 3600,
        actions: vec![FakeAction {
            account: contract.to_owned(),
            name: "transfer".to_owned(),
            to: to.to_owned(),
            quantity: quantity.to_owned(),
            memo: memo.to_owned(),
        }],
        id_only: false,
    }
}

pub struct AntelopeState {
    pub mode: Mode,
    pub head: u64,
    pub lib: u64,
    /// Transactions by block; blocks without an entry are empty.
    pub blocks: BTreeMap<u64, Vec<FakeTx>>,
    /// Whether `get_transaction_status` is served (the node's option).
    pub status_index: bool,
    pub requests: Vec<String>,
}

#[derive(Clone)]
pub struct FakeAntelope {
    pub base_url: String,
    pub state: Arc<Mutex<AntelopeState>>,
}

fn error(status: u16, message: &str, code: u64, name: &str, what: &str, detail: &str) -> HttpResponse {
    let body = json!({
        "code": status,
        "message": message,
        "error": {"code": code, "name": name, "what": what,
                  "details": [{"message": detail, "file": "chain_plugin.cpp", "line_number": 1958, "method": "get_raw_block"}]},
    });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).json(body)
}

fn unknown_block(what: &str) -> HttpResponse {
    error(
        400,
        "Unknown Block",
        3_100_002,
        "unknown_block_exception",
        "Unknown block",
        &format!("Could not find block: {what}"),
    )
}

fn action_json(action: &FakeAction) -> Value {
    json!({
        "account": action.account,
        "name": action.name,
        "authorization": [{"actor": HOT_WALLET, "permission": "active"}],
        "data": {"from": HOT_WALLET, "to": action.to, "quantity": action.quantity, "memo": action.memo},
        "hex_data": "0000c82a46c3336d0000000000a5bca9983a00000000000004454f5300000000076f726465722037",
    })
}

fn receipt_json(tx: &FakeTx) -> Value {
    let trx = if tx.id_only {
        json!(tx.id)
    } else {
        json!({
            "id": tx.id,
            "signatures": ["SIG_K1_K7yHh5tPHiZqeEDTVVT6qAocmq2pr4dWrCq2YMKJGeJqGNppxuut8kGNbwEEV22LrSHwB5FeqHi2gsSgmhboSMJTQ7z5fZ"],
            "compression": "none",
            "packed_context_free_data": "",
            "context_free_data": [],
            "packed_trx": "d440166b2f00187289de000000000100a6823403ea3055000000572d3ccdcd01",
            "transaction": {
                "expiration": chrono::DateTime::from_timestamp(tx.expiration, 0).unwrap().format("%Y-%m-%dT%H:%M:%S").to_string(),
                "ref_block_num": 47,
                "ref_block_prefix": 3_733_549_592u64,
                "max_net_usage_words": 0,
                "max_cpu_usage_ms": 0,
                "delay_sec": 0,
                "context_free_actions": [],
                "actions": tx.actions.iter().map(action_json).collect::<Vec<_>>(),
            },
        })
    };
    json!({"status": tx.status, "cpu_usage_us": 190, "net_usage_words": 17, "trx": trx})
}

impl AntelopeState {
    fn header(&self, height: u64) -> Value {
        json!({
            "timestamp": antelope_time(block_time_ms(height)),
            "producer": "eosio",
            "confirmed": 0,
            "previous": if height == 1 { "0".repeat(64) } else { block_id(height - 1) },
            "transaction_mroot": "0e3dfa45982e3fe2abc7fcec2887b742ed4c49877fd0a8a755c7d94e461c7128",
            "action_mroot": "288a1ad5c754d0d33adee58ce4fc866adfb528e2ef9e3722c4fe3d07523c6d49",
            "schedule_version": 0,
            "producer_signature": "SIG_K1_Jyips5hj5CUytqaYzvDAYQgx7B4Ufg27FnyUUVDLycGNpX8PufBeqPgGTWETufZGEHWvRajKXdMB6M1MyDCrW2kci3AK9a",
            "id": block_id(height),
            "block_num": height,
            "ref_block_num": height & 0xffff,
            "ref_block_prefix": 2_728_257_838u64,
        })
    }

    fn answer(&self, path: &str, body: &Value) -> HttpResponse {
        match path {
            "/v1/chain/get_info" => HttpResponse::Ok().json(json!({
                "server_version": "3916ba05",
                "chain_id": "aca376f206b8fc25a6ed44dbdc66547c36c6c33e3a119ffbeaef943642f0e906",
                "head_block_num": self.head,
                "last_irreversible_block_num": self.lib,
                "last_irreversible_block_id": block_id(self.lib),
                "head_block_id": block_id(self.head),
                "head_block_time": antelope_time(block_time_ms(self.head)),
                "head_block_producer": "eosio",
                "virtual_block_cpu_limit": 200_000_000,
                "virtual_block_net_limit": 1_048_576_000,
                "block_cpu_limit": 200_000,
                "block_net_limit": 1_048_576,
                "server_version_string": "v4.1.0",
                "fork_db_head_block_num": self.head,
                "fork_db_head_block_id": block_id(self.head),
                "server_full_version_string": "v4.1.0-3916ba0546312b9af82be3a7b09a867f8218496a",
                "total_cpu_weight": "382037043660714",
                "total_net_weight": "95470618372546",
                "earliest_available_block_num": 1,
                "last_irreversible_block_time": antelope_time(block_time_ms(self.lib)),
            })),
            "/v1/chain/get_block" => {
                let wanted = &body["block_num_or_id"];
                let Some(height) = wanted.as_u64().filter(|h| (1..=self.head).contains(h)) else {
                    return unknown_block(&wanted.to_string());
                };
                let mut block = self.header(height);
                let txs = self.blocks.get(&height).map(Vec::as_slice).unwrap_or_default();
                block["new_producers"] = Value::Null;
                block["transactions"] = json!(txs.iter().map(receipt_json).collect::<Vec<_>>());
                HttpResponse::Ok().json(block)
            }
            "/v1/chain/get_block_info" => match body["block_num"].as_u64().filter(|h| (1..=self.head).contains(h)) {
                Some(height) => HttpResponse::Ok().json(self.header(height)),
                None => unknown_block(&body["block_num"].to_string()),
            },
            "/v1/chain/get_transaction_status" if self.status_index => {
                let id = body["id"].as_str().unwrap_or_default();
                let mut status = json!({
                    "state": "UNKNOWN",
                    "head_number": self.head,
                    "head_id": block_id(self.head),
                    "head_timestamp": antelope_time(block_time_ms(self.head)),
                    "irreversible_number": self.lib,
                    "irreversible_id": block_id(self.lib),
                    "irreversible_timestamp": antelope_time(block_time_ms(self.lib)),
                    "earliest_tracked_block_id": block_id(1),
                    "earliest_tracked_block_number": 1,
                });
                let found = self.blocks.iter().find(|(_, txs)| txs.iter().any(|tx| tx.id == id && !tx.id_only));
                if let Some((&height, txs)) = found.filter(|(&h, _)| h <= self.head) {
                    let tx = txs.iter().find(|tx| tx.id == id).unwrap();
                    status["state"] = json!(if height <= self.lib { "IRREVERSIBLE" } else { "IN_BLOCK" });
                    status["block_number"] = json!(height);
                    status["block_id"] = json!(block_id(height));
                    status["block_timestamp"] = json!(antelope_time(block_time_ms(height)));
                    status["expiration"] = json!(antelope_time(tx.expiration * 1000));
                }
                HttpResponse::Ok().json(status)
            }
            _ => error(404, "Not Found", 0, "exception", "unspecified", "Unknown Endpoint"),
        }
    }
}

async fn dispatch(request: HttpRequest, body: web::Bytes, state: web::Data<Arc<Mutex<AntelopeState>>>) -> HttpResponse {
    let mode = {
        let mut state = state.lock().unwrap();
        state.requests.push(request.path().to_owned());
        state.mode
    };
    match mode {
        Mode::Normal => {
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            state.lock().unwrap().answer(request.path(), &body)
        }
        Mode::RateLimited(seconds) => HttpResponse::TooManyRequests()
            .insert_header(("retry-after", seconds.to_string()))
            .json(json!({"code": 429, "message": "Too Many Requests"})),
        Mode::Down => {
            HttpResponse::ServiceUnavailable().content_type("text/html").body("<html>503 Service Unavailable</html>")
        }
        Mode::NotJson => HttpResponse::Ok().content_type("text/html").body("<html>maintenance</html>"),
        Mode::Malformed => HttpResponse::Ok().json(json!({"head_block_num": "x", "transactions": 7})),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            HttpResponse::Ok().finish()
        }
    }
}

impl FakeAntelope {
    /// A node whose last irreversible block is `lib`, its head 3 blocks on.
    pub async fn start(lib: u64) -> FakeAntelope {
        let state = Arc::new(Mutex::new(AntelopeState {
            mode: Mode::Normal,
            head: lib + 3,
            lib,
            blocks: BTreeMap::new(),
            status_index: true,
            requests: Vec::new(),
        }));
        let port = super::fakes::serve_all(web::Data::new(state.clone()), dispatch);
        FakeAntelope { base_url: format!("http://127.0.0.1:{port}"), state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    /// Produces the next block (at the head) with `txs`; returns its number.
    /// It becomes irreversible 3 blocks later.
    pub fn produce(&self, txs: Vec<FakeTx>) -> u64 {
        let mut state = self.state.lock().unwrap();
        state.head += 1;
        state.lib += 1;
        let height = state.head;
        state.blocks.insert(height, txs);
        height
    }

    /// Produces empty blocks until `height` is irreversible.
    pub fn finalize(&self, height: u64) {
        while self.state.lock().unwrap().lib < height {
            self.produce(Vec::new());
        }
    }

    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests.len()
    }

    pub fn paths(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }
}
