//! A stand-in Sui GraphQL RPC service (`POST /graphql`), answering the
//! queries the client sends in the documented schema
//! (<https://docs.sui.io/references/sui-api/sui-graphql/reference>:
//! `Query.checkpoint` with `sequenceNumber`, `digest`, `timestamp`,
//! `epoch.epochId`; `Query.transactionBlocks(filter: TransactionBlockFilter
//! {transactionIds})` and `Query.transactionBlock(digest)` with `digest`,
//! `expiration.epochId`, `effects.status` (`SUCCESS`/`FAILURE`),
//! `effects.checkpoint`, `effects.balanceChanges.nodes` of `owner.address`,
//! `amount` (a `BigInt` string) and `coinType.repr`), in the GraphQL
//! response format (<https://spec.graphql.org/October2021/#sec-Response-Format>):
//! `data`, or `errors[]` with `message` and `extensions.code`. Like the real
//! service it only knows transactions in checkpoints it has certified. It
//! can misbehave.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::explorer_transport::{Behaviour, ExplorerFake};

pub const BASE_CHECKPOINT: u64 = 180_000_000;
pub const BASE_EPOCH: u64 = 900;
pub const SUI: &str = "0x0000000000000000000000000000000000000000000000000000000000000002::sui::SUI";
pub const USDC: &str = "0xdba34672e30cb065b1f93e3ab55318768fd6fef66c15942c9f7cb846e2f900e7::usdc::USDC";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    RateLimited(u64),
    Down,
    /// 200 with a body that is not JSON.
    Malformed,
    /// 200 with `errors[]` (`code`, `message`).
    GraphQlError(&'static str, &'static str),
    Hang,
}

#[derive(Debug, Clone)]
pub struct SuiTx {
    pub digest: String,
    /// The checkpoint it executed in; `None` while not executed.
    pub checkpoint: Option<u64>,
    pub success: bool,
    /// (owner, signed amount, coin type).
    pub changes: Vec<(String, i128, String)>,
    pub expiration: Option<u64>,
}

pub struct SuiState {
    pub mode: Mode,
    pub checkpoint: u64,
    pub epoch: u64,
    pub txs: HashMap<String, SuiTx>,
    pub requests: usize,
    /// The `first` and digests of the last `transactionBlocks` query.
    pub last_batch: Vec<String>,
}

#[derive(Clone)]
pub struct FakeSui {
    /// The GraphQL endpoint, `/graphql` included.
    pub base_url: String,
    pub state: Arc<Mutex<SuiState>>,
}

/// A transaction digest (32 bytes in base58), one per `n`.
pub fn digest(n: u64) -> String {
    use sha2::{Digest as _, Sha256};
    bs58::encode(Sha256::digest(format!("sui-tx-{n}"))).into_string()
}

/// A Sui address, one per `seed`.
pub fn sui_address(seed: &str) -> String {
    use sha2::{Digest as _, Sha256};
    let hex: String = Sha256::digest(seed.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    format!("0x{hex}")
}

fn checkpoint_digest(seq: u64) -> String {
    use sha2::{Digest as _, Sha256};
    bs58::encode(Sha256::digest(format!("sui-checkpoint-{seq}"))).into_string()
}

fn errors(code: &str, message: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "data": null,
        "errors": [{"message": message, "locations": [{"line": 1, "column": 1}], "extensions": {"code": code}}]
    }))
}

impl SuiState {
    fn checkpoint_json(&self) -> Value {
        json!({
            "sequenceNumber": self.checkpoint,
            "digest": checkpoint_digest(self.checkpoint),
            "timestamp": "2026-12-07T01:00:00.000Z",
            "epoch": {"epochId": self.epoch}
        })
    }

    /// Known only once in a checkpoint at or below the tip.
    fn known(&self, digest: &str) -> Option<&SuiTx> {
        self.txs.get(digest).filter(|tx| tx.checkpoint.is_some_and(|c| c <= self.checkpoint))
    }

    fn tx_json(&self, tx: &SuiTx) -> Value {
        let seq = tx.checkpoint.expect("known");
        let changes: Vec<Value> = tx
            .changes
            .iter()
            .map(|(owner, amount, coin)| {
                json!({"owner": {"address": owner}, "amount": amount.to_string(), "coinType": {"repr": coin}})
            })
            .collect();
        json!({
            "digest": tx.digest,
            "expiration": tx.expiration.map(|e| json!({"epochId": e})),
            "effects": {
                "status": if tx.success { "SUCCESS" } else { "FAILURE" },
                "checkpoint": {"sequenceNumber": seq, "digest": checkpoint_digest(seq)},
                "balanceChanges": {"nodes": changes}
            }
        })
    }

    fn answer(&mut self, body: &Value) -> HttpResponse {
        let Some(query) = body.get("query").and_then(Value::as_str) else {
            return HttpResponse::BadRequest().json(json!({"errors": [{"message": "missing query"}]}));
        };
        let variables = body.get("variables").cloned().unwrap_or(json!({}));
        let mut data = serde_json::Map::new();
        if query.contains("TransactionBlock") {
            // The first GraphQL service's type; the current one has `Transaction`.
            return errors("GRAPHQL_VALIDATION_FAILED", "Unknown type \"TransactionBlock\"");
        }
        if query.contains("transactions(last: $last, filter: { affectedAddress: $address })") {
            let Some(address) = variables["address"].as_str() else {
                return errors("BAD_USER_INPUT", "Invalid value for argument \"address\"");
            };
            let last = variables["last"].as_u64().unwrap_or(20) as usize;
            if last > 50 {
                return errors("BAD_USER_INPUT", "Connection's page size of 51 exceeds max of 50");
            }
            let mut hits: Vec<&SuiTx> = self
                .txs
                .values()
                .filter(|tx| {
                    self.known(&tx.digest).is_some() && tx.changes.iter().any(|(owner, _, _)| owner == address)
                })
                .collect();
            hits.sort_by_key(|tx| tx.checkpoint);
            let nodes: Vec<Value> = hits.iter().rev().take(last).rev().map(|tx| self.tx_json(tx)).collect();
            data.insert("transactions".into(), json!({"nodes": nodes}));
        } else if query.contains("multiGetTransactions(keys: $digests)") {
            let Some(digests) = variables["digests"].as_array() else {
                return errors("BAD_USER_INPUT", "Invalid value for argument \"keys\"");
            };
            if digests.len() > 200 {
                return errors("BAD_USER_INPUT", "Too many keys: at most 200");
            }
            let digests: Vec<String> = digests.iter().filter_map(Value::as_str).map(str::to_owned).collect();
            // As long as the keys, null where unknown.
            let nodes: Vec<Value> =
                digests.iter().map(|d| self.known(d).map(|tx| self.tx_json(tx)).unwrap_or(Value::Null)).collect();
            self.last_batch = digests;
            data.insert("multiGetTransactions".into(), Value::Array(nodes));
        } else if query.contains("transaction(digest: $digest)") {
            let Some(digest) = variables["digest"].as_str() else {
                return errors("BAD_USER_INPUT", "Invalid value for argument \"digest\"");
            };
            let node = self.known(digest).map(|tx| self.tx_json(tx)).unwrap_or(Value::Null);
            data.insert("transaction".into(), node);
        }
        // The root field (a transaction's `effects.checkpoint` has no timestamp).
        if query.contains("checkpoint { sequenceNumber digest timestamp") {
            data.insert("checkpoint".into(), self.checkpoint_json());
        }
        if data.is_empty() {
            return errors("GRAPHQL_VALIDATION_FAILED", "Unknown query");
        }
        HttpResponse::Ok().json(json!({ "data": data }))
    }
}

async fn dispatch(req: HttpRequest, body: web::Bytes, state: web::Data<Arc<Mutex<SuiState>>>) -> HttpResponse {
    let mode = {
        let mut state = state.lock().unwrap();
        state.requests += 1;
        state.mode
    };
    if req.path() != "/graphql" || req.method() != actix_web::http::Method::POST {
        return HttpResponse::NotFound().finish();
    }
    match mode {
        Mode::Normal => match serde_json::from_slice::<Value>(&body) {
            Ok(body) => state.lock().unwrap().answer(&body),
            Err(e) => HttpResponse::BadRequest().json(json!({"errors": [{"message": e.to_string()}]})),
        },
        Mode::RateLimited(seconds) => HttpResponse::TooManyRequests()
            .insert_header(("retry-after", seconds.to_string()))
            .content_type("text/plain")
            .body("Too Many Requests"),
        Mode::Down => HttpResponse::ServiceUnavailable().content_type("text/html").body("<html>503</html>"),
        Mode::Malformed => HttpResponse::Ok().content_type("application/json").body("{\"data\": {\"checkpoint\""),
        Mode::GraphQlError(code, message) => errors(code, message),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            HttpResponse::Ok().finish()
        }
    }
}

impl FakeSui {
    pub async fn start(checkpoint: u64) -> FakeSui {
        let state = SuiState {
            mode: Mode::Normal,
            checkpoint,
            epoch: BASE_EPOCH,
            txs: HashMap::new(),
            requests: 0,
            last_batch: Vec::new(),
        };
        let state = Arc::new(Mutex::new(state));
        let port = super::fakes::serve_all(web::Data::new(state.clone()), dispatch);
        FakeSui { base_url: format!("http://127.0.0.1:{port}/graphql"), state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    /// Executes `tx` in the next checkpoint and certifies it.
    pub fn execute(&self, tx: SuiTx) -> u64 {
        let mut state = self.state.lock().unwrap();
        state.checkpoint += 1;
        let seq = state.checkpoint;
        state.txs.insert(tx.digest.clone(), SuiTx { checkpoint: Some(seq), ..tx });
        seq
    }

    /// A new epoch starts (with a checkpoint).
    pub fn next_epoch(&self) {
        let mut state = self.state.lock().unwrap();
        state.epoch += 1;
        state.checkpoint += 1;
    }
}

/// `sender` pays `amount` of `coin` to `to` (gas on the sender's SUI).
pub fn transfer(n: u64, to: &str, amount: i128, coin: &str) -> SuiTx {
    let sender = sui_address("exchange-hot-wallet");
    let mut changes = vec![(to.to_owned(), amount, coin.to_owned())];
    if coin == SUI {
        changes.push((sender, -amount - 1_997_880, SUI.to_owned()));
    } else {
        changes.push((sender.clone(), -amount, coin.to_owned()));
        changes.push((sender, -1_997_880, SUI.to_owned()));
    }
    SuiTx { digest: digest(n), checkpoint: None, success: true, changes, expiration: None }
}

/// A transaction that aborted: only the gas was charged.
pub fn failed(n: u64) -> SuiTx {
    let sender = sui_address("exchange-hot-wallet");
    SuiTx {
        digest: digest(n),
        checkpoint: None,
        success: false,
        changes: vec![(sender, -1_997_880, SUI.to_owned())],
        expiration: None,
    }
}

impl ExplorerFake for FakeSui {
    fn base_url(&self) -> &str {
        &self.base_url
    }
    fn requests(&self) -> usize {
        FakeSui::requests(self)
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
