//! A stand-in rippled JSON-RPC server (`POST /` with `{"method", "params":
//! [{...}]}`) answering `tx` and `ledger` in the API v2 shapes of the xrpl.org
//! reference: `tx_json` beside `meta`, `validated`, `ledger_index`,
//! `ledger_hash`; errors as `result` with `status: "error"` (`txnNotFound`
//! with `searched_all` when a ledger range was given, `lgrNotFound`). Every
//! call is logged; it can misbehave.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

pub use super::fake_esplora::fake_hash;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// 429 with `Retry-After`, from a gateway in front of rippled.
    RateLimited(u64),
    /// 503, rippled's own answer when overloaded.
    Down,
    /// `noNetwork`: this server is not synced.
    NotSynced,
    /// 200 with an HTML body.
    NotJson,
    /// 200 with a `result` of the wrong shape.
    Malformed,
    /// `invalidParams` for every call.
    InvalidParams,
    Hang,
}

#[derive(Debug, Clone)]
pub struct XrplTx {
    pub account: String,
    pub sequence: u32,
    pub last_ledger_sequence: Option<u64>,
    /// `None` while only submitted (in no closed ledger).
    pub ledger_index: Option<u64>,
    pub result: String,
    pub destination: String,
    pub destination_tag: Option<u32>,
    /// What `Amount` asked for.
    pub amount: Value,
    /// `meta.delivered_amount`.
    pub delivered: Value,
}

pub struct XrplState {
    pub mode: Mode,
    pub validated: u64,
    /// The oldest ledger the server holds.
    pub first_ledger: u64,
    pub txs: HashMap<String, XrplTx>,
    pub calls: Vec<(String, Value)>,
}

#[derive(Clone)]
pub struct FakeXrpl {
    pub url: String,
    pub state: Arc<Mutex<XrplState>>,
}

pub fn ledger_hash(index: u64) -> String {
    fake_hash("ledger", index).to_ascii_uppercase()
}

pub fn tx_hash(n: u64) -> String {
    fake_hash("xrpl-tx", n).to_ascii_uppercase()
}

pub fn payment(ledger_index: Option<u64>, destination: &str, tag: Option<u32>, drops: u64) -> XrplTx {
    XrplTx {
        account: "rPEPPER7kfTD9w2To4CQk6UCfuHM9c6GDY".to_owned(),
        sequence: 101,
        last_ledger_sequence: ledger_index.map(|i| i + 4),
        ledger_index,
        result: "tesSUCCESS".to_owned(),
        destination: destination.to_owned(),
        destination_tag: tag,
        amount: json!(drops.to_string()),
        delivered: json!(drops.to_string()),
    }
}

fn error(command: &str, code: &str, number: i64, message: &str, request: &Value, extra: Value) -> HttpResponse {
    let mut result = json!({
        "error": code,
        "error_code": number,
        "error_message": message,
        "request": request,
        "status": "error",
    });
    result["request"]["command"] = json!(command);
    if let Value::Object(extra) = extra {
        for (k, v) in extra {
            result[k] = v;
        }
    }
    HttpResponse::Ok().json(json!({"result": result}))
}

impl XrplState {
    fn answer(&self, method: &str, params: &Value) -> HttpResponse {
        match method {
            "tx" => {
                let hash = params["transaction"].as_str().unwrap_or("").to_ascii_uppercase();
                let Some(tx) = self.txs.get(&hash) else {
                    let extra = match (params["min_ledger"].as_u64(), params["max_ledger"].as_u64()) {
                        (Some(min), Some(max)) => {
                            json!({"searched_all": min >= self.first_ledger && max <= self.validated})
                        }
                        _ => json!({}),
                    };
                    return error("tx", "txnNotFound", 29, "Transaction not found.", params, extra);
                };
                let validated = tx.ledger_index.is_some_and(|i| i <= self.validated);
                let mut tx_json = json!({
                    "Account": tx.account,
                    "DeliverMax": tx.amount,
                    "Destination": tx.destination,
                    "Fee": "12",
                    "Flags": if tx.amount != tx.delivered { 131_072 } else { 0 },
                    "Sequence": tx.sequence,
                    "SigningPubKey": "03AB40A0490F9B7ED8DF29D246BF2D6269820A0EE7742ACDD457BEA7C7D0931EDB",
                    "TransactionType": "Payment",
                    "TxnSignature": "30440220",
                });
                if let Some(lls) = tx.last_ledger_sequence {
                    tx_json["LastLedgerSequence"] = json!(lls);
                }
                if let Some(tag) = tx.destination_tag {
                    tx_json["DestinationTag"] = json!(tag);
                }
                let mut result = json!({"hash": hash, "tx_json": tx_json, "validated": validated, "status": "success"});
                if let Some(index) = tx.ledger_index {
                    tx_json_ledger(&mut result, index);
                    result["meta"] = json!({
                        "AffectedNodes": [],
                        "TransactionIndex": 0,
                        "TransactionResult": tx.result,
                        "delivered_amount": if tx.result == "tesSUCCESS" { tx.delivered.clone() } else { json!("0") },
                    });
                    if validated {
                        result["ledger_hash"] = json!(ledger_hash(index));
                        result["close_time_iso"] = json!("2025-12-19T03:16:00Z");
                    }
                }
                HttpResponse::Ok().json(json!({"result": result}))
            }
            "ledger" => {
                let index = match &params["ledger_index"] {
                    Value::String(s) if s == "validated" => self.validated,
                    Value::Number(n) => n.as_u64().unwrap_or(0),
                    _ => return error("ledger", "invalidParams", 31, "ledgerIndexMalformed", params, json!({})),
                };
                // The server holds the open ledger's predecessor closed but not validated.
                if index < self.first_ledger || index > self.validated + 1 {
                    return error("ledger", "lgrNotFound", 21, "ledgerNotFound", params, json!({}));
                }
                let mut ledger = json!({
                    "account_hash": fake_hash("accounts", index).to_ascii_uppercase(),
                    "close_time": 819_429_360 + index,
                    "close_time_iso": "2025-12-19T03:16:00Z",
                    "ledger_hash": ledger_hash(index),
                    "ledger_index": index,
                    "parent_hash": ledger_hash(index - 1),
                    "total_coins": "99985738467416092",
                    "closed": true,
                });
                if params["transactions"] == json!(true) {
                    let mut hashes: Vec<&String> =
                        self.txs.iter().filter(|(_, tx)| tx.ledger_index == Some(index)).map(|(h, _)| h).collect();
                    hashes.sort();
                    ledger["transactions"] = json!(hashes);
                }
                HttpResponse::Ok().json(json!({"result": {
                    "ledger": ledger,
                    "ledger_hash": ledger_hash(index),
                    "ledger_index": index,
                    "validated": index <= self.validated,
                    "status": "success",
                }}))
            }
            _ => error(method, "unknownCmd", 32, "Unknown method.", params, json!({})),
        }
    }
}

fn tx_json_ledger(result: &mut Value, index: u64) {
    result["ledger_index"] = json!(index);
    result["tx_json"]["ledger_index"] = json!(index);
}

async fn dispatch(body: web::Bytes, state: web::Data<Arc<Mutex<XrplState>>>) -> HttpResponse {
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return HttpResponse::BadRequest().body("Unable to parse request: ");
    };
    let method = request["method"].as_str().unwrap_or("").to_owned();
    let params = request["params"][0].clone();
    let mode = {
        let mut state = state.lock().unwrap();
        state.calls.push((method.clone(), params.clone()));
        state.mode
    };
    match mode {
        Mode::Normal => state.lock().unwrap().answer(&method, &params),
        Mode::RateLimited(seconds) => HttpResponse::TooManyRequests()
            .insert_header(("retry-after", seconds.to_string()))
            .content_type("text/plain")
            .body("Too Many Requests"),
        Mode::Down => HttpResponse::ServiceUnavailable().content_type("text/plain").body("Server is overloaded\r\n"),
        Mode::NotSynced => error(&method, "noNetwork", 17, "Not synced to the network.", &params, json!({})),
        Mode::NotJson => HttpResponse::Ok().content_type("text/html").body("<html>maintenance</html>"),
        Mode::Malformed => HttpResponse::Ok().json(json!({"result": {"status": "success", "ledger": "nope"}})),
        Mode::InvalidParams => error(&method, "invalidParams", 31, "Invalid parameters.", &params, json!({})),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            HttpResponse::Ok().finish()
        }
    }
}

impl FakeXrpl {
    /// A server whose validated ledger is `validated`, holding the 10 000
    /// ledgers before it.
    pub async fn start(validated: u64) -> FakeXrpl {
        let state = Arc::new(Mutex::new(XrplState {
            mode: Mode::Normal,
            validated,
            first_ledger: validated - 10_000,
            txs: HashMap::new(),
            calls: Vec::new(),
        }));
        let data = web::Data::new(state.clone());
        let port = super::fakes::serve_all(data, dispatch);
        FakeXrpl { url: format!("http://127.0.0.1:{port}/"), state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    pub fn add(&self, hash: &str, tx: XrplTx) {
        self.state.lock().unwrap().txs.insert(hash.to_owned(), tx);
    }

    pub fn validate_up_to(&self, index: u64) {
        self.state.lock().unwrap().validated = index;
    }

    pub fn calls(&self, method: &str) -> Vec<Value> {
        self.state.lock().unwrap().calls.iter().filter(|(m, _)| m == method).map(|(_, p)| p.clone()).collect()
    }

    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().calls.len()
    }
}
