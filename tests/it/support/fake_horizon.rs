//! A stand-in Stellar Horizon server answering in the documented shapes of
//! the Horizon API reference (base
//! <https://developers.stellar.org/docs/data/apis/horizon/api-reference>;
//! the OpenAPI bundle `stellar/stellar-docs` `openapi/horizon/bundled.yml`):
//! - `GET /ledgers?order=desc&limit=1` and `GET /ledgers/{sequence}`
//!   (`.../list-all-ledgers`, `.../retrieve-a-ledger`; the ledger object
//!   `.../resources/ledgers/object`: `sequence`, `hash`, `prev_hash`,
//!   `closed_at`, ...);
//! - `GET /ledgers/{sequence}/payments`
//!   (<https://developers.stellar.org/docs/data/apis/horizon/api-reference/retrieve-a-ledgers-payments>:
//!   `cursor`, `limit` up to 200, `include_failed`, `join=transactions`;
//!   `_embedded.records` of `payment`/`create_account`/path payments with
//!   `transaction_successful`, `transaction_hash`, `to`, `amount` with 7
//!   decimals, `asset_type`, `asset_code`, `asset_issuer`, `paging_token`);
//! - `GET /transactions/{hash}/operations` (`.../retrieve-a-transactions-operations`,
//!   with the transaction object of
//!   <https://developers.stellar.org/docs/data/horizon/api-reference/resources/transactions/object>
//!   joined: `successful`, `ledger`, `memo_type`, `memo`,
//!   `source_account_sequence`, `preconditions.timebounds.max_time`,
//!   `valid_before`);
//! - `GET /accounts/{account_id}/payments` (`.../get-payments-by-account-id`);
//! - `GET /` (the root: `history_latest_ledger`);
//! - errors as problem documents
//!   (<https://developers.stellar.org/network/horizon/api-reference/errors/http-status-codes/horizon-specific>):
//!   404 `not_found`, 429 `rate_limit_exceeded` (with `Retry-After`), 503.
//!
//! Every request's path and query is logged; it can misbehave.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

pub use super::fake_esplora::fake_hash;

/// Circle's USDC on Stellar mainnet.
pub const USDC_ISSUER: &str = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";
/// The exchange's hot wallet paying every withdrawal.
pub const HOT_WALLET: &str = "GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7";
/// Ledger 0 closed at this unix time; one ledger every 5 seconds.
pub const GENESIS_TIME: i64 = 1_700_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// 429 `rate_limit_exceeded` with `Retry-After: <seconds>`.
    RateLimited(u64),
    /// 503, a gateway in front of a down Horizon.
    Down,
    /// 200 with an HTML body.
    NotJson,
    /// 200 with JSON of the wrong shape.
    Malformed,
    Hang,
}

#[derive(Debug, Clone)]
pub enum FakeOp {
    /// `amount` with 7 decimals; `asset` `None` for lumens, else (code, issuer).
    Payment {
        to: String,
        amount: String,
        asset: Option<(String, String)>,
    },
    CreateAccount {
        account: String,
        starting_balance: String,
    },
    /// An operation that pays nothing (`manage_data`).
    ManageData,
}

#[derive(Debug, Clone)]
pub struct HorizonTx {
    pub hash: String,
    pub ledger: u64,
    pub successful: bool,
    pub source: String,
    pub sequence: u64,
    /// `none`, `text`, `id`, `hash` or `return`.
    pub memo_type: String,
    pub memo: Option<String>,
    /// `preconditions.timebounds.max_time`, unix seconds (0: none).
    pub max_time: u64,
    pub ops: Vec<FakeOp>,
}

pub struct HorizonState {
    pub mode: Mode,
    pub latest: u64,
    pub first: u64,
    pub txs: Vec<HorizonTx>,
    pub requests: Vec<String>,
}

#[derive(Clone)]
pub struct FakeHorizon {
    pub base_url: String,
    pub state: Arc<Mutex<HorizonState>>,
}

pub fn ledger_hash(sequence: u64) -> String {
    fake_hash("xlm-ledger", sequence)
}

pub fn tx_hash(n: u64) -> String {
    fake_hash("xlm-tx", n)
}

pub fn closed_at(sequence: u64) -> i64 {
    GENESIS_TIME + 5 * sequence as i64
}

fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).unwrap().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A successful lumen or USDC payment from the hot wallet, in no ledger yet.
pub fn payment(n: u64, to: &str, amount: &str, asset: Option<&str>, memo: Option<(&str, &str)>) -> HorizonTx {
    HorizonTx {
        hash: tx_hash(n),
        ledger: 0,
        successful: true,
        source: HOT_WALLET.to_owned(),
        sequence: 113_942_965_682_716_673 + n,
        memo_type: memo.map_or("none", |(kind, _)| kind).to_owned(),
        memo: memo.map(|(_, text)| text.to_owned()),
        max_time: 0,
        ops: vec![FakeOp::Payment {
            to: to.to_owned(),
            amount: amount.to_owned(),
            asset: asset.map(|code| (code.to_owned(), USDC_ISSUER.to_owned())),
        }],
    }
}

fn problem(status: u16, kind: &str, title: &str, detail: &str) -> Value {
    json!({"type": format!("https://stellar.org/horizon-errors/{kind}"), "title": title, "status": status, "detail": detail})
}

fn not_found() -> HttpResponse {
    HttpResponse::NotFound().content_type("application/problem+json").json(problem(
        404,
        "not_found",
        "Resource Missing",
        "The resource at the url requested was not found.  This usually occurs for one of two reasons:  The url \
         requested is not valid, or no data in our database could be found with the parameters provided.",
    ))
}

fn ledger_json(sequence: u64) -> Value {
    json!({
        "_links": {"self": {"href": format!("https://horizon.stellar.org/ledgers/{sequence}")}},
        "id": ledger_hash(sequence),
        "paging_token": (sequence << 32).to_string(),
        "hash": ledger_hash(sequence),
        "prev_hash": ledger_hash(sequence - 1),
        "sequence": sequence,
        "successful_transaction_count": 2,
        "failed_transaction_count": 0,
        "operation_count": 3,
        "tx_set_operation_count": 3,
        "closed_at": rfc3339(closed_at(sequence)),
        "total_coins": "105443902087.3472865",
        "fee_pool": "1807038.9491411",
        "base_fee_in_stroops": 100,
        "base_reserve_in_stroops": 5_000_000,
        "max_tx_set_size": 1000,
        "protocol_version": 22,
        "header_xdr": "AAAAFg==",
    })
}

fn tx_json(tx: &HorizonTx) -> Value {
    let mut value = json!({
        "_links": {"self": {"href": format!("https://horizon.stellar.org/transactions/{}", tx.hash)}},
        "id": tx.hash,
        "paging_token": (tx.ledger << 32).to_string(),
        "successful": tx.successful,
        "hash": tx.hash,
        "ledger": tx.ledger,
        "created_at": rfc3339(closed_at(tx.ledger)),
        "source_account": tx.source,
        "source_account_sequence": tx.sequence.to_string(),
        "fee_account": tx.source,
        "fee_charged": "100",
        "max_fee": "100",
        "operation_count": tx.ops.len(),
        "envelope_xdr": "AAAAAgAAAAA=",
        "result_xdr": "AAAAAAAAAGQ=",
        "fee_meta_xdr": "AAAAAg==",
        "memo_type": tx.memo_type,
        "signatures": ["kGPAYxYH6uIqKiAI4mQWl1KyOhYYd7BwVvlb6x/H8nVbKfq2ubCmBgmPeWIMEHPRCzFmJhMP4h+1hxNEwYzHCA=="],
        "valid_after": "1970-01-01T00:00:00Z",
        "preconditions": {"timebounds": {"min_time": "0", "max_time": tx.max_time.to_string()}},
    });
    if let Some(memo) = &tx.memo {
        value["memo"] = json!(memo);
    }
    if tx.max_time > 0 {
        value["valid_before"] = json!(rfc3339(tx.max_time as i64));
    }
    value
}

/// `position`: the transaction's place among all the fake's transactions
/// (in ledger order), so paging tokens rise like Horizon's operation ids.
fn op_json(tx: &HorizonTx, position: usize, index: usize, join: bool) -> Value {
    let id = (tx.ledger << 32) + ((position as u64) << 12) + index as u64 + 1;
    let mut value = json!({
        "_links": {"transaction": {"href": format!("https://horizon.stellar.org/transactions/{}", tx.hash)}},
        "id": id.to_string(),
        "paging_token": id.to_string(),
        "transaction_successful": tx.successful,
        "source_account": tx.source,
        "created_at": rfc3339(closed_at(tx.ledger)),
        "transaction_hash": tx.hash,
    });
    match &tx.ops[index] {
        FakeOp::Payment { to, amount, asset } => {
            value["type"] = json!("payment");
            value["type_i"] = json!(1);
            value["from"] = json!(tx.source);
            value["to"] = json!(to);
            value["amount"] = json!(amount);
            match asset {
                None => value["asset_type"] = json!("native"),
                Some((code, issuer)) => {
                    value["asset_type"] = json!(if code.len() <= 4 { "credit_alphanum4" } else { "credit_alphanum12" });
                    value["asset_code"] = json!(code);
                    value["asset_issuer"] = json!(issuer);
                }
            }
        }
        FakeOp::CreateAccount { account, starting_balance } => {
            value["type"] = json!("create_account");
            value["type_i"] = json!(0);
            value["funder"] = json!(tx.source);
            value["account"] = json!(account);
            value["starting_balance"] = json!(starting_balance);
        }
        FakeOp::ManageData => {
            value["type"] = json!("manage_data");
            value["type_i"] = json!(10);
            value["name"] = json!("config");
            value["value"] = json!("dmFsdWU=");
        }
    }
    if join {
        value["transaction"] = tx_json(tx);
    }
    value
}

fn is_payment(op: &FakeOp) -> bool {
    !matches!(op, FakeOp::ManageData)
}

fn page(base: &str, records: Vec<Value>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/hal+json; charset=utf-8").json(json!({
        "_links": {
            "self": {"href": base},
            "next": {"href": format!("{base}&cursor=next")},
            "prev": {"href": format!("{base}&cursor=prev")},
        },
        "_embedded": {"records": records},
    }))
}

impl HorizonState {
    fn ledger_known(&self, sequence: u64) -> bool {
        (self.first..=self.latest).contains(&sequence)
    }

    fn answer(&self, path: &str, query: &HashMap<String, String>) -> HttpResponse {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let limit: usize = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(10).min(200);
        let join = query.get("join").map(String::as_str) == Some("transactions");
        let cursor: u64 = query.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
        let desc = query.get("order").map(String::as_str) == Some("desc");
        match parts.as_slice() {
            [""] => HttpResponse::Ok().json(json!({
                "horizon_version": "22.0.0",
                "core_version": "stellar-core 22.0.0",
                "ingest_latest_ledger": self.latest,
                "history_latest_ledger": self.latest,
                "history_latest_ledger_closed_at": rfc3339(closed_at(self.latest)),
                "history_elder_ledger": self.first,
                "core_latest_ledger": self.latest,
                "network_passphrase": "Public Global Stellar Network ; September 2015",
                "current_protocol_version": 22,
                "supported_protocol_version": 22,
                "core_supported_protocol_version": 22,
            })),
            ["ledgers"] => {
                let sequences: Vec<u64> = if desc {
                    (self.first..=self.latest).rev().take(limit).collect()
                } else {
                    (self.first..=self.latest).take(limit).collect()
                };
                page("https://horizon.stellar.org/ledgers?limit=1", sequences.into_iter().map(ledger_json).collect())
            }
            ["ledgers", sequence] => match sequence.parse::<u64>() {
                Ok(sequence) if self.ledger_known(sequence) => HttpResponse::Ok().json(ledger_json(sequence)),
                _ => not_found(),
            },
            ["ledgers", sequence, "payments"] => {
                let Some(sequence) = sequence.parse::<u64>().ok().filter(|s| self.ledger_known(*s)) else {
                    return not_found();
                };
                let include_failed = query.get("include_failed").map(String::as_str) == Some("true");
                let mut records: Vec<(u64, Value)> = Vec::new();
                let listed = |tx: &&HorizonTx| tx.ledger == sequence && (tx.successful || include_failed);
                for (position, tx) in self.txs.iter().enumerate().filter(|(_, tx)| listed(tx)) {
                    for (index, op) in tx.ops.iter().enumerate() {
                        if is_payment(op) {
                            let record = op_json(tx, position, index, join);
                            let token: u64 = record["paging_token"].as_str().unwrap().parse().unwrap();
                            records.push((token, record));
                        }
                    }
                }
                records.sort_by_key(|(token, _)| *token);
                let selected = records.into_iter().filter(|(token, _)| *token > cursor).take(limit).map(|(_, r)| r);
                page(
                    &format!("https://horizon.stellar.org/ledgers/{sequence}/payments?limit={limit}"),
                    selected.collect(),
                )
            }
            ["transactions", hash, "operations"] => {
                let found =
                    self.txs.iter().enumerate().find(|(_, tx)| tx.hash == *hash && self.ledger_known(tx.ledger));
                let Some((position, tx)) = found else {
                    return not_found();
                };
                let records = (0..tx.ops.len()).map(|index| op_json(tx, position, index, join)).collect();
                page(&format!("https://horizon.stellar.org/transactions/{hash}/operations?limit={limit}"), records)
            }
            ["accounts", account, "payments"] => {
                let mut records = Vec::new();
                let listed = |tx: &&HorizonTx| tx.successful && self.ledger_known(tx.ledger);
                for (position, tx) in self.txs.iter().enumerate().filter(|(_, tx)| listed(tx)) {
                    for (index, op) in tx.ops.iter().enumerate() {
                        let pays = match op {
                            FakeOp::Payment { to, .. } => to == account,
                            FakeOp::CreateAccount { account: created, .. } => created == account,
                            FakeOp::ManageData => false,
                        };
                        if pays || tx.source == *account && is_payment(op) {
                            records.push(op_json(tx, position, index, join));
                        }
                    }
                }
                if records.is_empty() {
                    return not_found();
                }
                if desc {
                    records.reverse();
                }
                records.truncate(limit);
                page(&format!("https://horizon.stellar.org/accounts/{account}/payments?limit={limit}"), records)
            }
            _ => not_found(),
        }
    }
}

async fn dispatch(request: HttpRequest, state: web::Data<Arc<Mutex<HorizonState>>>) -> HttpResponse {
    let query: HashMap<String, String> = serde_urlencoded::from_str(request.query_string()).unwrap_or_default();
    let mode = {
        let mut state = state.lock().unwrap();
        state.requests.push(format!("{}?{}", request.path(), request.query_string()));
        state.mode
    };
    match mode {
        Mode::Normal => state.lock().unwrap().answer(request.path(), &query),
        Mode::RateLimited(seconds) => HttpResponse::TooManyRequests()
            .insert_header(("retry-after", seconds.to_string()))
            .content_type("application/problem+json")
            .json(problem(
                429,
                "rate_limit_exceeded",
                "Rate Limit Exceeded",
                "The rate limit for the requesting IP address is over its alloted limit.",
            )),
        Mode::Down => HttpResponse::ServiceUnavailable().content_type("application/problem+json").json(problem(
            503,
            "service_unavailable",
            "Service Unavailable",
            "The request cannot be serviced at this time.",
        )),
        Mode::NotJson => HttpResponse::Ok().content_type("text/html").body("<html>maintenance</html>"),
        Mode::Malformed => HttpResponse::Ok().json(json!({"_embedded": {"records": [{"sequence": "x"}]}})),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            HttpResponse::Ok().finish()
        }
    }
}

impl FakeHorizon {
    /// A Horizon whose newest ledger is `latest`, holding the 1,000 before it.
    pub async fn start(latest: u64) -> FakeHorizon {
        let state = Arc::new(Mutex::new(HorizonState {
            mode: Mode::Normal,
            latest,
            first: latest - 1000,
            txs: Vec::new(),
            requests: Vec::new(),
        }));
        let port = super::fakes::serve_all(web::Data::new(state.clone()), dispatch);
        FakeHorizon { base_url: format!("http://127.0.0.1:{port}"), state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    /// Closes the next ledger with `txs` in it; returns its sequence.
    pub fn close_ledger(&self, txs: Vec<HorizonTx>) -> u64 {
        let mut state = self.state.lock().unwrap();
        state.latest += 1;
        let sequence = state.latest;
        state.txs.extend(txs.into_iter().map(|tx| HorizonTx { ledger: sequence, ..tx }));
        sequence
    }

    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests.len()
    }

    pub fn paths(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }
}
