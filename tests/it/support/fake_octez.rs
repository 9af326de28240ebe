//! A stand-in Octez node answering the shell and protocol RPCs in their
//! documented shapes (<https://octez.tezos.com/docs/shell/rpc.html>, the
//! protocol's <https://octez.tezos.com/docs/active/rpc.html>):
//! - `GET /chains/main/blocks/{block_id}/header` (`head`, a level or a
//!   block hash: `hash`, `level`, `predecessor`, `timestamp`, `fitness`, ...);
//! - `GET /chains/main/blocks/{block_id}/hash` (a JSON string);
//! - `GET /chains/main/blocks/{block_id}/operations/3` (manager operations:
//!   `hash`, `branch`, `contents` of `transaction`s with `source`, `counter`,
//!   `amount` in mutez, `destination`, `parameters` (an FA2 `transfer`,
//!   TZIP-12: <https://tzip.tezosagora.org/proposal/tzip-12/>) and
//!   `metadata.operation_result.status` applied / failed / backtracked /
//!   skipped, `internal_operation_results`);
//! - `GET /chains/main/mempool/pending_operations?version=2` (`validated`,
//!   `refused`, `outdated`, `branch_refused`, `branch_delayed`,
//!   `unprocessed`, each a list of operations);
//! - `GET /chains/main/blocks/head/context/constants`
//!   (`max_operations_time_to_live`);
//! - `GET /chains/main/blocks/head/context/contracts/{id}/counter` (a JSON
//!   string);
//! - errors: 404 for an unknown block or contract (Octez answers it with an
//!   empty body), and, from the proxies public nodes sit behind, 429 with
//!   `Retry-After` and 502/503.
//!
//! Every request's path and query is logged; it can misbehave.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::fake_esplora::fake_hash;

/// The exchange's hot wallet paying every withdrawal.
pub const HOT_WALLET: &str = "tz1XFU2ERzqiabEiNRpTo5iotSxQZ9YsdKeT";
/// Level 0's time; one block every 8 seconds.
pub const GENESIS_TIME: i64 = 1_700_000_000;
const BASE58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// 429 with `Retry-After: <seconds>`.
    RateLimited(u64),
    /// 502 from the proxy in front of a down node.
    Down,
    /// 200 with an HTML body.
    NotJson,
    /// 200 with JSON of the wrong shape.
    Malformed,
    Hang,
}

/// `prefix` and base58 characters drawn from a hash of `tag` and `n`,
/// `len` characters in all.
fn base58_like(prefix: &str, tag: &str, n: u64, len: usize) -> String {
    let digest = fake_hash(tag, n) + &fake_hash(tag, n + 1_000_000_000);
    let body: String = digest.bytes().map(|b| BASE58[b as usize % BASE58.len()] as char).collect();
    format!("{prefix}{}", &body[..len - prefix.len()])
}

/// An operation hash: `o` and 50 base58 characters.
pub fn op_hash(n: u64) -> String {
    base58_like("oo", "xtz-op", n, 51)
}

pub fn block_hash(level: u64) -> String {
    base58_like("BL", "xtz-block", level, 51)
}

pub fn block_time(level: u64) -> i64 {
    GENESIS_TIME + 8 * level as i64
}

/// One `transaction` content.
#[derive(Debug, Clone)]
pub struct Transfer {
    pub to: String,
    /// Mutez, or the token's base units for a token transfer.
    pub mutez: u64,
    /// `applied`, `failed`, `backtracked` or `skipped`.
    pub status: String,
    /// `Some((contract, token_id))`: an FA2 `transfer` call on that
    /// contract (TZIP-12) moving `mutez` units of the token to `to`.
    pub token: Option<(String, u64)>,
}

/// Tether USDt on Tezos, an FA2 contract (token 0).
pub const USDT_CONTRACT: &str = "KT1XnTn74bUtxHfDtBmm2bGZAQfhPbvKWR8o";

/// An FA2 transfer of `units` of USDt from the hot wallet to `to`.
pub fn usdt_transfer(n: u64, to: &str, units: u64, branch: u64) -> OctezOp {
    let mut op = transfer(n, to, units, branch);
    op.transfers[0].token = Some((USDT_CONTRACT.to_owned(), 0));
    op
}

#[derive(Debug, Clone)]
pub struct OctezOp {
    pub hash: String,
    pub source: String,
    pub counter: u64,
    /// The level of the block the operation names as its branch.
    pub branch: u64,
    /// `None` while in the mempool.
    pub level: Option<u64>,
    pub transfers: Vec<Transfer>,
}

/// A transfer of `mutez` from the hot wallet to `to`, branched on `branch`.
pub fn transfer(n: u64, to: &str, mutez: u64, branch: u64) -> OctezOp {
    OctezOp {
        hash: op_hash(n),
        source: HOT_WALLET.to_owned(),
        counter: 1000 + n,
        branch,
        level: None,
        transfers: vec![Transfer { to: to.to_owned(), mutez, status: "applied".to_owned(), token: None }],
    }
}

pub struct OctezState {
    pub mode: Mode,
    pub head: u64,
    pub first: u64,
    pub ops: Vec<OctezOp>,
    /// `max_operations_time_to_live` in the constants; `None` leaves it out.
    pub ttl: Option<u64>,
    /// Blocks from `fork_from` on belong to branch `fork` (0: the first).
    pub fork: u64,
    pub fork_from: u64,
    pub requests: Vec<String>,
}

#[derive(Clone)]
pub struct FakeOctez {
    pub base_url: String,
    pub state: Arc<Mutex<OctezState>>,
}

fn header_json(level: u64, hash: String, predecessor: String) -> Value {
    json!({
        "protocol": "PsQuebecnLByd3JwTiGadoG4nGWi3HYiLXUjkibeFV8dCFeVMUg",
        "chain_id": "NetXdQprcVkpaWU",
        "hash": hash,
        "level": level,
        "proto": 21,
        "predecessor": predecessor,
        "timestamp": chrono::DateTime::from_timestamp(block_time(level), 0).unwrap().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "validation_pass": 4,
        "operations_hash": "LLoaGLRPRx3Zf8kB4ACtgku8F4feeBiskeb41J1ciwfcXB3KzHKXc",
        "fitness": ["02", format!("{level:08x}"), "", "ffffffff", "00000000"],
        "context": "CoVDyf9y9gHfAkPWofBJffo4X4bWjmehH2LeVonDcCKKzyQYwqdk",
        "payload_hash": "vh2cJrNH6a8kZnUF1xdjRWH5nNXGUvPUb8q96qiKfHVM3zs6aZ6N",
        "payload_round": 0,
        "proof_of_work_nonce": "7985fafe1fb70300",
        "liquidity_baking_toggle_vote": "pass",
        "adaptive_issuance_vote": "pass",
        "signature": "sigSdBEfLGHjJeJkgvXpjzwV3VQe6obXJLcRHSvgQRAkiqfkwEDaq3JPp1bDtBMtDG33DNbe2GkXhr4hcqNiapmtE5mspKNG"
    })
}

fn op_json(op: &OctezOp, with_results: bool) -> Value {
    let contents: Vec<Value> = op
        .transfers
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut content = json!({
                "kind": "transaction",
                "source": op.source,
                "fee": "404",
                "counter": (op.counter + i as u64).to_string(),
                "gas_limit": "169",
                "storage_limit": "0",
                "amount": t.mutez.to_string(),
                "destination": t.to,
            });
            if let Some((contract, id)) = &t.token {
                content["amount"] = json!("0");
                content["destination"] = json!(contract);
                content["parameters"] = json!({
                    "entrypoint": "transfer",
                    "value": [{"prim": "Pair", "args": [{"string": op.source}, [
                        {"prim": "Pair", "args": [{"string": t.to}, {"prim": "Pair", "args": [
                            {"int": id.to_string()}, {"int": t.mutez.to_string()}]}]}
                    ]]}]
                });
            }
            if with_results {
                let mut result = json!({"status": t.status, "consumed_milligas": "168016"});
                if t.status == "applied" {
                    result["balance_updates"] = json!([
                        {"kind": "contract", "contract": op.source, "change": format!("-{}", t.mutez), "origin": "block"},
                        {"kind": "contract", "contract": t.to, "change": t.mutez.to_string(), "origin": "block"}
                    ]);
                } else if t.status == "failed" {
                    result["errors"] = json!([{"kind": "temporary", "id": "proto.021-PsQuebec.tez.subtraction_underflow"}]);
                }
                content["metadata"] = json!({
                    "balance_updates": [
                        {"kind": "contract", "contract": op.source, "change": "-404", "origin": "block"},
                        {"kind": "accumulator", "category": "block fees", "change": "404", "origin": "block"}
                    ],
                    "operation_result": result
                });
            }
            content
        })
        .collect();
    json!({
        "protocol": "PsQuebecnLByd3JwTiGadoG4nGWi3HYiLXUjkibeFV8dCFeVMUg",
        "chain_id": "NetXdQprcVkpaWU",
        "hash": op.hash,
        "branch": block_hash(op.branch),
        "contents": contents,
        "signature": "sigtxsFzD6eKcLVYGVgqCYWuBVQMbFEmY4mmYjeWsQzffRvJngH5eRJR3gEXsVyESNdqCXhdVrZvbDcPNuMiBy5vfEXCNfJb"
    })
}

fn not_found() -> HttpResponse {
    HttpResponse::NotFound().finish()
}

impl OctezState {
    /// The best chain's block hash at `level`.
    pub fn hash_at(&self, level: u64) -> String {
        if self.fork > 0 && level >= self.fork_from {
            base58_like("BL", &format!("xtz-block-fork-{}", self.fork), level, 51)
        } else {
            block_hash(level)
        }
    }

    fn header(&self, level: u64) -> Value {
        header_json(level, self.hash_at(level), self.hash_at(level - 1))
    }

    /// A level, `head` or a block hash, when the node has that block.
    fn level_of(&self, id: &str) -> Option<u64> {
        let level = match id {
            "head" => self.head,
            _ => match id.parse::<u64>() {
                Ok(level) => level,
                Err(_) => (self.first..=self.head).find(|l| self.hash_at(*l) == id)?,
            },
        };
        (self.first..=self.head).contains(&level).then_some(level)
    }

    fn answer(&self, path: &str) -> HttpResponse {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        match parts.as_slice() {
            ["chains", "main", "blocks", id, "header"] => match self.level_of(id) {
                Some(level) => HttpResponse::Ok().json(self.header(level)),
                None => not_found(),
            },
            ["chains", "main", "blocks", id, "hash"] => match self.level_of(id) {
                Some(level) => HttpResponse::Ok().json(self.hash_at(level)),
                None => not_found(),
            },
            ["chains", "main", "blocks", id, "operations", "3"] => match self.level_of(id) {
                Some(level) => HttpResponse::Ok().json(
                    self.ops
                        .iter()
                        .filter(|op| op.level == Some(level))
                        .map(|op| op_json(op, true))
                        .collect::<Vec<_>>(),
                ),
                None => not_found(),
            },
            ["chains", "main", "blocks", "head", "context", "constants"] => {
                let mut constants = json!({
                    "proof_of_work_nonce_size": 8,
                    "nonce_length": 32,
                    "max_operation_data_length": 32768,
                    "blocks_per_cycle": 30720,
                    "minimal_block_delay": "8",
                    "hard_gas_limit_per_operation": "1040000",
                });
                if let Some(ttl) = self.ttl {
                    constants["max_operations_time_to_live"] = json!(ttl);
                }
                HttpResponse::Ok().json(constants)
            }
            ["chains", "main", "blocks", "head", "context", "contracts", id, "counter"] => {
                let used = self
                    .ops
                    .iter()
                    .filter(|op| op.source == *id && op.level.is_some())
                    .map(|op| op.counter + op.transfers.len() as u64 - 1)
                    .max();
                match used {
                    Some(counter) => HttpResponse::Ok().json(counter.to_string()),
                    None if id.starts_with("tz") => HttpResponse::Ok().json("0"),
                    None => not_found(),
                }
            }
            ["chains", "main", "mempool", "pending_operations"] => {
                let validated: Vec<Value> =
                    self.ops.iter().filter(|op| op.level.is_none()).map(|op| op_json(op, false)).collect();
                HttpResponse::Ok().json(json!({
                    "validated": validated,
                    "refused": [],
                    "outdated": [],
                    "branch_refused": [],
                    "branch_delayed": [],
                    "unprocessed": []
                }))
            }
            _ => not_found(),
        }
    }
}

async fn dispatch(request: HttpRequest, state: web::Data<Arc<Mutex<OctezState>>>) -> HttpResponse {
    let mode = {
        let mut state = state.lock().unwrap();
        state.requests.push(format!("{}?{}", request.path(), request.query_string()));
        state.mode
    };
    match mode {
        Mode::Normal => state.lock().unwrap().answer(request.path()),
        Mode::RateLimited(seconds) => HttpResponse::TooManyRequests()
            .insert_header(("retry-after", seconds.to_string()))
            .content_type("text/html")
            .body("<html><body><h1>429 Too Many Requests</h1></body></html>"),
        Mode::Down => HttpResponse::BadGateway().content_type("text/html").body("<html>502 Bad Gateway</html>"),
        Mode::NotJson => HttpResponse::Ok().content_type("text/html").body("<html>maintenance</html>"),
        Mode::Malformed => HttpResponse::Ok().json(json!({"hash": 7, "level": "x"})),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            HttpResponse::Ok().finish()
        }
    }
}

impl FakeOctez {
    /// A node whose head is at `head`, holding the 1,000 blocks before it;
    /// `max_operations_time_to_live` 240.
    pub async fn start(head: u64) -> FakeOctez {
        let state = Arc::new(Mutex::new(OctezState {
            mode: Mode::Normal,
            head,
            first: head - 1000,
            ops: Vec::new(),
            ttl: Some(240),
            fork: 0,
            fork_from: 0,
            requests: Vec::new(),
        }));
        let port = super::fakes::serve_all(web::Data::new(state.clone()), dispatch);
        FakeOctez { base_url: format!("http://127.0.0.1:{port}"), state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    /// Puts operations in the mempool.
    pub fn inject(&self, ops: Vec<OctezOp>) {
        self.state.lock().unwrap().ops.extend(ops.into_iter().map(|op| OctezOp { level: None, ..op }));
    }

    /// Bakes the next block with the operations `hashes` names (from the
    /// mempool) and `new` ones; returns its level.
    pub fn bake(&self, hashes: &[&str], new: Vec<OctezOp>) -> u64 {
        let mut state = self.state.lock().unwrap();
        state.head += 1;
        let level = state.head;
        for op in state.ops.iter_mut().filter(|op| op.level.is_none() && hashes.contains(&op.hash.as_str())) {
            op.level = Some(level);
        }
        state.ops.extend(new.into_iter().map(|op| OctezOp { level: Some(level), ..op }));
        level
    }

    /// A reorganization: the blocks from `level` on are replaced by a new
    /// branch (empty so far: bake on it); their operations go back to the
    /// mempool.
    pub fn reorg_from(&self, level: u64) {
        let mut state = self.state.lock().unwrap();
        state.fork += 1;
        state.fork_from = level;
        state.head = level - 1;
        for op in state.ops.iter_mut().filter(|op| op.level.is_some_and(|l| l >= level)) {
            op.level = None;
        }
    }

    pub fn hash_at(&self, level: u64) -> String {
        self.state.lock().unwrap().hash_at(level)
    }

    /// Forgets a mempool operation (it expired or was replaced).
    pub fn evict(&self, hash: &str) {
        self.state.lock().unwrap().ops.retain(|op| op.hash != hash || op.level.is_some());
    }

    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests.len()
    }

    pub fn paths(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }
}
