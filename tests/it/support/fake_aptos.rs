//! A stand-in Aptos fullnode REST API (https://aptos.dev/rest-api: "Get
//! ledger info" `GET /v1`, "Get transaction by hash"
//! `GET /v1/transactions/by_hash/{txn_hash}`, "Get account resources"
//! `GET /v1/accounts/{address}/resources`; the OpenAPI spec served at
//! `/v1/spec`): u64 values as decimal strings, addresses `0x`-prefixed (special
//! ones such as `0xa` short), a transaction as `pending_transaction` or
//! `user_transaction` with `success`, `vm_status`, `events` (`guid`,
//! `sequence_number`, `type`, `data`) and `changes` (`write_resource` with
//! `address` and `data: {type, data}`), errors as `{"message", "error_code",
//! "vm_error_code"}` (404 `transaction_not_found`, `account_not_found`).
//! The ledger's version, height and time advance on demand; transactions go
//! from the mempool to committed, or fail. Can misbehave like the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use withdrawal_tracker::chain::aptos::{primary_store, APT_METADATA};

use super::explorer_transport::{Behaviour, ExplorerFake};

/// Mainnet's order of magnitude.
pub const BASE_HEIGHT: u64 = 400_000_000;
const BASE_VERSION: u64 = 3_000_000_000;
/// 2026-03-02T10:00:00Z, when the test clock starts.
pub const BASE_TIME_SECS: u64 = 1_772_445_600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    RateLimited(u64),
    Down,
    Malformed,
    Hang,
}

#[derive(Debug, Clone)]
enum TxState {
    Pending,
    Committed { version: u64, success: bool },
}

/// A transfer as the node answers it.
#[derive(Debug, Clone)]
pub struct AptTx {
    pub sender: String,
    pub sequence_number: u64,
    pub expiration_timestamp_secs: u64,
    pub payload: Value,
    pub events: Vec<Value>,
    pub changes: Vec<Value>,
    state: TxState,
}

pub struct AptosState {
    pub mode: Mode,
    pub block_height: u64,
    pub version: u64,
    pub time_secs: u64,
    txs: HashMap<String, AptTx>,
    /// Resources of objects (fungible stores): address -> list.
    resources: HashMap<String, Vec<Value>>,
    pub requests: usize,
    pub paths: Vec<String>,
}

#[derive(Clone)]
pub struct FakeAptos {
    pub base_url: String,
    pub state: Arc<Mutex<AptosState>>,
}

pub fn account(tag: &str) -> String {
    format!("0x{}", super::fake_utxo_chain::fake_hash(&format!("apt-account-{tag}"), 0))
}

pub fn tx_hash(n: u64) -> String {
    format!("0x{}", super::fake_utxo_chain::fake_hash("apt-tx", n))
}

fn error(status: actix_web::http::StatusCode, message: String, code: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({"message": message, "error_code": code, "vm_error_code": null}))
}

/// The events and changes a fungible-asset transfer of `amount` of
/// `metadata` from `sender` to `to`'s primary store records.
fn fa_transfer_effects(
    sender: &str,
    to: &str,
    metadata: &str,
    amount: u64,
    store_written: bool,
) -> (Vec<Value>, Vec<Value>) {
    let from_store = primary_store(sender, metadata).unwrap();
    let to_store = primary_store(to, metadata).unwrap();
    let events = vec![
        json!({"guid": {"creation_number": "0", "account_address": "0x0"}, "sequence_number": "0",
               "type": "0x1::fungible_asset::Withdraw", "data": {"store": from_store, "amount": amount.to_string()}}),
        json!({"guid": {"creation_number": "0", "account_address": "0x0"}, "sequence_number": "0",
               "type": "0x1::fungible_asset::Deposit", "data": {"store": to_store, "amount": amount.to_string()}}),
        json!({"guid": {"creation_number": "0", "account_address": "0x0"}, "sequence_number": "0",
               "type": "0x1::transaction_fee::FeeStatement",
               "data": {"execution_gas_units": "4", "io_gas_units": "4", "storage_fee_octas": "0",
                        "storage_fee_refund_octas": "0", "total_charge_gas_units": "8"}}),
    ];
    let short = |m: &str| if m == APT_METADATA { "0xa".to_owned() } else { m.to_owned() };
    let mut changes = vec![json!({
        "type": "write_resource", "address": sender,
        "state_key_hash": "0x6c3e4d1e5b6a1e6b2d0a8e0e3d3b1f7a2c1b0e9d8c7b6a5f4e3d2c1b0a9f8e7d",
        "data": {"type": "0x1::account::Account",
                 "data": {"authentication_key": sender, "sequence_number": "1", "guid_creation_num": "2"}}
    })];
    if store_written {
        changes.push(json!({
            "type": "write_resource", "address": to_store,
            "state_key_hash": "0x1d2c3b4a5968778695a4b3c2d1e0f1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c",
            "data": {"type": "0x1::fungible_asset::FungibleStore",
                     "data": {"balance": amount.to_string(), "frozen": false, "metadata": {"inner": short(metadata)}}}
        }));
    }
    (events, changes)
}

impl AptTx {
    /// `0x1::aptos_account::transfer(to, amount)`: APT as a fungible asset
    /// (its balance in a concurrent balance resource, so the store itself is
    /// not in `changes`).
    pub fn apt_transfer(sender: &str, to: &str, octas: u64) -> AptTx {
        let (events, changes) = fa_transfer_effects(sender, to, APT_METADATA, octas, false);
        AptTx {
            sender: sender.to_owned(),
            sequence_number: 7,
            expiration_timestamp_secs: BASE_TIME_SECS + 600,
            payload: json!({"function": "0x1::aptos_account::transfer", "type_arguments": [],
                            "arguments": [to, octas.to_string()], "type": "entry_function_payload"}),
            events,
            changes,
            state: TxState::Pending,
        }
    }

    /// `0x1::primary_fungible_store::transfer(metadata, to, amount)` (USDT).
    pub fn fa_transfer(sender: &str, metadata: &str, to: &str, amount: u64) -> AptTx {
        let (events, changes) = fa_transfer_effects(sender, to, metadata, amount, true);
        AptTx {
            sender: sender.to_owned(),
            sequence_number: 8,
            expiration_timestamp_secs: BASE_TIME_SECS + 600,
            payload: json!({"function": "0x1::primary_fungible_store::transfer",
                            "type_arguments": ["0x1::fungible_asset::Metadata"],
                            "arguments": [{"inner": metadata}, to, amount.to_string()],
                            "type": "entry_function_payload"}),
            events,
            changes,
            state: TxState::Pending,
        }
    }

    /// A deposit into `store`, a secondary store (not anyone's primary
    /// store) that the transaction's own data do not explain: the client
    /// must ask for its resources.
    pub fn deposit_to_secondary_store(sender: &str, store: &str, amount: u64) -> AptTx {
        AptTx {
            sender: sender.to_owned(),
            sequence_number: 9,
            expiration_timestamp_secs: BASE_TIME_SECS + 600,
            payload: json!({"function": "0x1::dispatchable_fungible_asset::transfer",
                            "type_arguments": ["0x1::fungible_asset::FungibleStore"],
                            "arguments": [{"inner": "0x1"}, {"inner": store}, amount.to_string()],
                            "type": "entry_function_payload"}),
            events: vec![json!({"guid": {"creation_number": "0", "account_address": "0x0"}, "sequence_number": "0",
                                "type": "0x1::fungible_asset::Deposit",
                                "data": {"store": store, "amount": amount.to_string()}})],
            changes: Vec::new(),
            state: TxState::Pending,
        }
    }

    pub fn expiring_at(mut self, secs: u64) -> AptTx {
        self.expiration_timestamp_secs = secs;
        self
    }
}

impl AptosState {
    fn ledger_json(&self) -> Value {
        json!({
            "chain_id": 1,
            "epoch": "10421",
            "ledger_version": self.version.to_string(),
            "oldest_ledger_version": "0",
            "ledger_timestamp": (self.time_secs * 1_000_000 + 123_456).to_string(),
            "node_role": "full_node",
            "oldest_block_height": "0",
            "block_height": self.block_height.to_string(),
            "git_hash": "2b6d1e9f6b0d4a7c8e5f3a1b9c7d5e3f1a2b4c6d",
        })
    }

    fn tx_json(&self, hash: &str, tx: &AptTx) -> Value {
        let common = json!({
            "hash": hash,
            "sender": tx.sender,
            "sequence_number": tx.sequence_number.to_string(),
            "max_gas_amount": "200000",
            "gas_unit_price": "100",
            "expiration_timestamp_secs": tx.expiration_timestamp_secs.to_string(),
            "payload": tx.payload,
            "signature": {"public_key": "0x88fbd33f54e1126269769780feb24480428179f552e2313fbe571b72e62a1ca1",
                          "signature": format!("0x{}", "ab".repeat(64)), "type": "ed25519_signature"},
        });
        let mut body = common.as_object().unwrap().clone();
        match tx.state {
            TxState::Pending => {
                body.insert("type".into(), json!("pending_transaction"));
            }
            TxState::Committed { version, success } => {
                body.insert("type".into(), json!("user_transaction"));
                body.insert("version".into(), json!(version.to_string()));
                body.insert("state_change_hash".into(), json!(format!("0x{}", "11".repeat(32))));
                body.insert("event_root_hash".into(), json!(format!("0x{}", "22".repeat(32))));
                body.insert("state_checkpoint_hash".into(), Value::Null);
                body.insert("gas_used".into(), json!("8"));
                body.insert("success".into(), json!(success));
                body.insert(
                    "vm_status".into(),
                    json!(if success {
                        "Executed successfully"
                    } else {
                        "Move abort in 0x1::fungible_asset: EINSUFFICIENT_BALANCE(0x10004): Insufficient balance in the store."
                    }),
                );
                body.insert("accumulator_root_hash".into(), json!(format!("0x{}", "33".repeat(32))));
                body.insert("changes".into(), json!(if success { tx.changes.clone() } else { Vec::new() }));
                let events: Vec<Value> = if success {
                    tx.events.clone()
                } else {
                    tx.events.iter().filter(|e| e["type"] == "0x1::transaction_fee::FeeStatement").cloned().collect()
                };
                body.insert("events".into(), json!(events));
                body.insert("timestamp".into(), json!((self.time_secs * 1_000_000).to_string()));
            }
        }
        Value::Object(body)
    }

    fn answer(&self, path: &str) -> HttpResponse {
        use actix_web::http::StatusCode;
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match parts.as_slice() {
            ["v1"] | ["v1", ""] => HttpResponse::Ok().json(self.ledger_json()),
            ["v1", "transactions", "by_hash", hash] => match self.txs.get(*hash) {
                Some(tx) => HttpResponse::Ok().json(self.tx_json(hash, tx)),
                None => error(
                    StatusCode::NOT_FOUND,
                    format!("Transaction not found by Transaction hash({hash})"),
                    "transaction_not_found",
                ),
            },
            ["v1", "accounts", address, "resources"] => match self.resources.get(*address) {
                Some(list) => HttpResponse::Ok().json(list),
                None => error(
                    StatusCode::NOT_FOUND,
                    format!("Account not found by Address({address}) and Ledger version({})", self.version),
                    "account_not_found",
                ),
            },
            _ => error(StatusCode::NOT_FOUND, format!("not found: {path}"), "web_framework_error"),
        }
    }
}

async fn dispatch(req: HttpRequest, state: web::Data<Arc<Mutex<AptosState>>>) -> HttpResponse {
    let path = req.path().to_owned();
    let mode = {
        let mut state = state.lock().unwrap();
        state.requests += 1;
        state.paths.push(path.clone());
        state.mode
    };
    match mode {
        Mode::Normal => state.lock().unwrap().answer(&path),
        Mode::RateLimited(seconds) => HttpResponse::TooManyRequests()
            .insert_header(("retry-after", seconds.to_string()))
            .json(json!({"message": "Too many requests", "error_code": "web_framework_error", "vm_error_code": null})),
        Mode::Down => HttpResponse::ServiceUnavailable().content_type("text/plain").body("upstream connect error"),
        Mode::Malformed => HttpResponse::Ok().json(json!({"ledger_version": 12, "type": "user_transaction"})),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            HttpResponse::Ok().finish()
        }
    }
}

impl FakeAptos {
    pub async fn start(height_offset: u64) -> FakeAptos {
        let state = AptosState {
            mode: Mode::Normal,
            block_height: BASE_HEIGHT + height_offset,
            version: BASE_VERSION,
            time_secs: BASE_TIME_SECS,
            txs: HashMap::new(),
            resources: HashMap::new(),
            requests: 0,
            paths: Vec::new(),
        };
        let state = Arc::new(Mutex::new(state));
        let port = super::fakes::serve_all(web::Data::new(state.clone()), dispatch);
        FakeAptos { base_url: format!("http://127.0.0.1:{port}"), state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    pub fn paths(&self) -> Vec<String> {
        self.state.lock().unwrap().paths.clone()
    }

    /// Into the mempool.
    pub fn submit(&self, hash: &str, tx: AptTx) {
        self.state.lock().unwrap().txs.insert(hash.to_owned(), tx);
    }

    /// Committed in the next version, successfully or not.
    pub fn commit(&self, hash: &str, success: bool) {
        let mut state = self.state.lock().unwrap();
        state.version += 1;
        state.block_height += 1;
        let version = state.version;
        state.txs.get_mut(hash).expect("submitted").state = TxState::Committed { version, success };
    }

    /// The mempool forgets it (as it does once it expired).
    pub fn forget(&self, hash: &str) {
        self.state.lock().unwrap().txs.remove(hash);
    }

    /// Blocks and time pass.
    pub fn advance(&self, blocks: u64, secs: u64) {
        let mut state = self.state.lock().unwrap();
        state.block_height += blocks;
        state.version += blocks * 3;
        state.time_secs += secs;
    }

    /// A secondary fungible store object, owned by `owner`, of `metadata`.
    pub fn add_store(&self, store: &str, owner: &str, metadata: &str) {
        let resources = vec![
            json!({"type": "0x1::object::ObjectCore",
                   "data": {"allow_ungated_transfer": false, "guid_creation_num": "1125899906842625",
                            "owner": owner, "transfer_events": {"counter": "0", "guid": {"id": {"addr": store, "creation_num": "1125899906842624"}}}}}),
            json!({"type": "0x1::fungible_asset::FungibleStore",
                   "data": {"balance": "0", "frozen": false, "metadata": {"inner": metadata}}}),
        ];
        self.state.lock().unwrap().resources.insert(store.to_owned(), resources);
    }
}

impl ExplorerFake for FakeAptos {
    fn base_url(&self) -> &str {
        &self.base_url
    }
    fn requests(&self) -> usize {
        FakeAptos::requests(self)
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
