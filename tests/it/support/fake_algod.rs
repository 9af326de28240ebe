//! A stand-in Algorand node (algod) and indexer on one server (the indexer
//! under `/idx`), answering in the documented shapes:
//! - algod (<https://dev.algorand.co/reference/rest-api/algod/>, spec
//!   `algorand/go-algorand` `daemon/algod/api/algod.oas2.json`):
//!   `GET /v2/status` (`NodeStatusResponse`: `last-round`, ...),
//!   `GET /v2/blocks/{round}/hash` (`BlockHashResponse`: `blockHash`, base32),
//!   `GET /v2/transactions/pending/{txid}` (`PendingTransactionResponse`:
//!   `pool-error`, `confirmed-round`, `txn` the signed transaction in its
//!   msgpack field names `snd`, `rcv`, `amt`, `xaid`, `arcv`, `aamt`, `lv`,
//!   `note` in base64); errors `{"message": ...}` (404 for an unknown
//!   transaction: `txn does not exist`);
//! - indexer (<https://dev.algorand.co/reference/rest-api/indexer/>, spec
//!   `algorand/indexer` `api/indexer.oas2.json`): `GET /health`
//!   (`HealthCheck`: `round`, `db-available`, ...), `GET /v2/blocks/{round-number}`
//!   (`Block`: `round`, `previous-block-hash` base64, `timestamp`,
//!   `transactions`), `GET /v2/transactions/{txid}` (`current-round` and
//!   `transaction`: `id`, `confirmed-round`, `last-valid`, `tx-type`,
//!   `payment-transaction` {`amount`, `receiver`}, `asset-transfer-transaction`
//!   {`amount`, `asset-id`, `receiver`}, `note`); 404 `{"message": ...}`.
//! - throttling as a gateway does it: 429 with `Retry-After`.
//!
//! Every request's path is logged; it can misbehave.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Circle's USDC on Algorand mainnet (an ASA).
pub const USDC_ASA: u64 = 31_566_704;
/// The exchange's hot wallet paying every withdrawal.
pub const HOT_WALLET: &str = "P5ORMGHH2KGMPPZSPCDHFPQEYJEHPWNISEPWL7XY4PQBHSOLYNZSKCEMDE";
/// Round 0 at this unix time; one round every 3 seconds.
pub const GENESIS_TIME: i64 = 1_700_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    RateLimited(u64),
    /// 503 from the gateway.
    Down,
    /// 200 with JSON of the wrong shape.
    Malformed,
    Hang,
}

#[derive(Debug, Clone)]
pub struct AlgoTx {
    pub id: String,
    /// `None` while in the pool.
    pub round: Option<u64>,
    /// The pool's verdict on a transaction it threw out.
    pub pool_error: String,
    /// `None` for a payment in microalgos, else the ASA.
    pub asset: Option<u64>,
    pub to: String,
    pub amount: u64,
    pub note: Option<String>,
    pub last_valid: u64,
}

pub struct AlgodState {
    pub mode: Mode,
    pub latest: u64,
    /// The indexer holds rounds up to `latest - indexer_lag`.
    pub indexer_lag: u64,
    pub txs: Vec<AlgoTx>,
    pub requests: Vec<String>,
}

#[derive(Clone)]
pub struct FakeAlgod {
    /// algod's base URL.
    pub base_url: String,
    /// The indexer's base URL.
    pub indexer_url: String,
    pub state: Arc<Mutex<AlgodState>>,
}

fn digest(kind: &str, n: u64) -> [u8; 32] {
    Sha256::digest(format!("{kind}:{n}").as_bytes()).into()
}

/// A transaction id as Algorand writes it: base32 of 32 bytes, 52 characters.
pub fn tx_id(n: u64) -> String {
    data_encoding::BASE32_NOPAD.encode(&digest("algo-tx", n))
}

/// Round `round`'s hash in lowercase hex (the client's form).
pub fn round_hash(round: u64) -> String {
    digest("algo-block", round).iter().map(|b| format!("{b:02x}")).collect()
}

pub fn round_time(round: u64) -> i64 {
    GENESIS_TIME + 3 * round as i64
}

/// A payment from the hot wallet, in the pool (no round yet).
pub fn payment(n: u64, to: &str, amount: u64, asset: Option<u64>, note: Option<&str>) -> AlgoTx {
    AlgoTx {
        id: tx_id(n),
        round: None,
        pool_error: String::new(),
        asset,
        to: to.to_owned(),
        amount,
        note: note.map(str::to_owned),
        last_valid: u64::MAX,
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn message(status: u16, text: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).json(json!({"message": text}))
}

/// The indexer's `Transaction`.
fn indexer_tx(tx: &AlgoTx, round: u64) -> Value {
    let mut value = json!({
        "id": tx.id,
        "confirmed-round": round,
        "round-time": round_time(round),
        "intra-round-offset": 0,
        "first-valid": tx.last_valid.saturating_sub(1000).min(round),
        "last-valid": tx.last_valid,
        "fee": 1000,
        "sender": HOT_WALLET,
        "sender-rewards": 0,
        "receiver-rewards": 0,
        "close-rewards": 0,
        "genesis-id": "mainnet-v1.0",
        "genesis-hash": "wGHE2Pwdvd7S12BL5FaOP20EGYesN73ktiC1qzkkit8=",
        "signature": {"sig": b64(&[7; 64])},
    });
    match tx.asset {
        None => {
            value["tx-type"] = json!("pay");
            value["payment-transaction"] = json!({"amount": tx.amount, "receiver": tx.to, "close-amount": 0});
        }
        Some(asset) => {
            value["tx-type"] = json!("axfer");
            value["asset-transfer-transaction"] =
                json!({"amount": tx.amount, "asset-id": asset, "receiver": tx.to, "close-amount": 0});
        }
    }
    if let Some(note) = &tx.note {
        value["note"] = json!(b64(note.as_bytes()));
    }
    value
}

/// algod's signed transaction (`txn` in msgpack field names; zero values omitted).
fn node_txn(tx: &AlgoTx) -> Value {
    let mut txn = json!({
        "fee": 1000, "fv": tx.last_valid.saturating_sub(1000), "lv": tx.last_valid,
        "gen": "mainnet-v1.0", "gh": "wGHE2Pwdvd7S12BL5FaOP20EGYesN73ktiC1qzkkit8=", "snd": HOT_WALLET,
    });
    match tx.asset {
        None => {
            txn["type"] = json!("pay");
            txn["rcv"] = json!(tx.to);
            if tx.amount > 0 {
                txn["amt"] = json!(tx.amount);
            }
        }
        Some(asset) => {
            txn["type"] = json!("axfer");
            txn["xaid"] = json!(asset);
            txn["arcv"] = json!(tx.to);
            if tx.amount > 0 {
                txn["aamt"] = json!(tx.amount);
            }
        }
    }
    if let Some(note) = &tx.note {
        txn["note"] = json!(b64(note.as_bytes()));
    }
    json!({"sig": b64(&[7; 64]), "txn": txn})
}

impl AlgodState {
    fn indexer_round(&self) -> u64 {
        self.latest - self.indexer_lag
    }

    fn answer(&self, path: &str) -> HttpResponse {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let round_of = |text: &str, up_to: u64| text.parse::<u64>().ok().filter(|r| *r <= up_to);
        match parts.as_slice() {
            ["v2", "status"] => HttpResponse::Ok().json(json!({
                "catchup-time": 0,
                "last-round": self.latest,
                "last-version": "https://github.com/algorandfoundation/specs/tree/236dcc18c9c507d794813ab768e467ea42d1b4d9",
                "next-version": "https://github.com/algorandfoundation/specs/tree/236dcc18c9c507d794813ab768e467ea42d1b4d9",
                "next-version-round": self.latest + 1,
                "next-version-supported": true,
                "stopped-at-unsupported-round": false,
                "time-since-last-round": 1_200_000_000u64,
            })),
            ["v2", "blocks", round, "hash"] => match round_of(round, self.latest) {
                Some(round) => HttpResponse::Ok()
                    .json(json!({"blockHash": data_encoding::BASE32_NOPAD.encode(&digest("algo-block", round))})),
                None => message(404, "failed to retrieve information from the ledger"),
            },
            ["v2", "transactions", "pending", txid] => {
                let found = self.txs.iter().find(|tx| tx.id == *txid);
                // The node answers for its pool and for what it committed in
                // its last rounds.
                match found {
                    Some(tx) if tx.round.is_none_or(|r| r + 5 >= self.latest && r <= self.latest) => {
                        let mut value = json!({"pool-error": tx.pool_error, "txn": node_txn(tx)});
                        if let Some(round) = tx.round {
                            value["confirmed-round"] = json!(round);
                        }
                        HttpResponse::Ok().json(value)
                    }
                    _ => message(404, "txn does not exist"),
                }
            }
            ["idx", "health"] => HttpResponse::Ok().json(json!({
                "data": {"migration-required": false, "read-only-mode": false},
                "db-available": true,
                "is-migrating": false,
                "message": self.indexer_round().to_string(),
                "round": self.indexer_round(),
                "version": "3.6.0",
            })),
            ["idx", "v2", "blocks", round] => {
                let Some(round) = round_of(round, self.indexer_round()) else {
                    return message(404, "error while looking up block for round: block not found");
                };
                let txs: Vec<Value> =
                    self.txs.iter().filter(|tx| tx.round == Some(round)).map(|tx| indexer_tx(tx, round)).collect();
                HttpResponse::Ok().json(json!({
                    "genesis-hash": "wGHE2Pwdvd7S12BL5FaOP20EGYesN73ktiC1qzkkit8=",
                    "genesis-id": "mainnet-v1.0",
                    "previous-block-hash": b64(&digest("algo-block", round.saturating_sub(1))),
                    "rewards": {"fee-sink": "Y76M3MSY6DKBRHBL7C3NNDXGS5IIMQVQVUAB6MP4XEMMGVF2QWNPL226CA",
                                "rewards-calculation-round": 500000, "rewards-level": 218288, "rewards-pool":
                                "737777777777777777777777777777777777777777777777777UFEJ2CI", "rewards-rate": 0,
                                "rewards-residue": 3_000_000_000u64},
                    "round": round,
                    "seed": b64(&digest("algo-seed", round)),
                    "timestamp": round_time(round),
                    "transactions": txs,
                    "transactions-root": b64(&[0; 32]),
                    "txn-counter": 2_000_000_000u64 + round,
                    "upgrade-state": {"current-protocol": "https://github.com/algorandfoundation/specs/tree/236dcc18c9c507d794813ab768e467ea42d1b4d9"},
                }))
            }
            ["idx", "v2", "transactions", txid] => {
                let known = self.txs.iter().find(|tx| tx.id == *txid && tx.round.is_some_and(|r| r <= self.indexer_round()));
                match known {
                    Some(tx) => HttpResponse::Ok().json(json!({
                        "current-round": self.indexer_round(),
                        "transaction": indexer_tx(tx, tx.round.unwrap()),
                    })),
                    None => message(404, &format!("no transaction found for transaction id: {txid}")),
                }
            }
            _ => message(404, "not found"),
        }
    }
}

async fn dispatch(request: HttpRequest, state: web::Data<Arc<Mutex<AlgodState>>>) -> HttpResponse {
    let mode = {
        let mut state = state.lock().unwrap();
        state.requests.push(request.path().to_owned());
        state.mode
    };
    match mode {
        Mode::Normal => state.lock().unwrap().answer(request.path()),
        Mode::RateLimited(seconds) => HttpResponse::TooManyRequests()
            .insert_header(("retry-after", seconds.to_string()))
            .json(json!({"message": "Too Many Requests"})),
        Mode::Down => message(503, "Service Unavailable"),
        Mode::Malformed => HttpResponse::Ok().json(json!({"last-round": "x", "round": [], "blockHash": 7})),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            HttpResponse::Ok().finish()
        }
    }
}

impl FakeAlgod {
    /// A node whose last round is `latest`; the indexer as far.
    pub async fn start(latest: u64) -> FakeAlgod {
        let state = Arc::new(Mutex::new(AlgodState {
            mode: Mode::Normal,
            latest,
            indexer_lag: 0,
            txs: Vec::new(),
            requests: Vec::new(),
        }));
        let port = super::fakes::serve_all(web::Data::new(state.clone()), dispatch);
        let base_url = format!("http://127.0.0.1:{port}");
        FakeAlgod { indexer_url: format!("{base_url}/idx"), base_url, state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    /// Sends `tx` to the node's pool.
    pub fn submit(&self, tx: AlgoTx) {
        self.state.lock().unwrap().txs.push(tx);
    }

    /// Certifies the next round with `txs` (and whatever is in the pool
    /// with the ids in `from_pool`); returns the round.
    pub fn next_round(&self, txs: Vec<AlgoTx>, from_pool: &[String]) -> u64 {
        let mut state = self.state.lock().unwrap();
        state.latest += 1;
        let round = state.latest;
        for tx in state.txs.iter_mut().filter(|tx| from_pool.contains(&tx.id)) {
            tx.round = Some(round);
        }
        state.txs.extend(txs.into_iter().map(|tx| AlgoTx { round: Some(round), ..tx }));
        round
    }

    /// The pool throws `id` out with `error`.
    pub fn reject(&self, id: &str, error: &str) {
        let mut state = self.state.lock().unwrap();
        if let Some(tx) = state.txs.iter_mut().find(|tx| tx.id == id) {
            tx.pool_error = error.to_owned();
        }
    }

    pub fn set_indexer_lag(&self, lag: u64) {
        self.state.lock().unwrap().indexer_lag = lag;
    }

    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests.len()
    }

    pub fn paths(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }
}
