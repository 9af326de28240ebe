//! A stand-in toncenter indexer API v3 (<https://toncenter.com/api/v3/index.html>,
//! <https://docs.chainstack.com/reference/ton-transactionsbymessage-v3>; the
//! response models are the indexer's own, `toncenter/ton-indexer`
//! `index/models.go`, and its query parameters `index/request.go`):
//! - `GET /api/v3/masterchainInfo`: `{"first": Block, "last": Block}` with
//!   `seqno`, `root_hash` (base64), `gen_utime` (a decimal string);
//! - `GET /api/v3/transactionsByMessage?msg_hash=..&direction=in` and
//!   `GET /api/v3/transactions?hash=..`: `{"transactions": [...],
//!   "address_book": {...}}`, each transaction with `account` (raw,
//!   upper-case hex), `hash`, `lt` (string), `now`, `mc_block_seqno`,
//!   `description` (`aborted`, `compute_ph.success`/`skipped`,
//!   `action.success`), `in_msg`, `out_msgs` (`hash`, `destination`, `value`
//!   in nanotons as a string, `opcode` as `"0x0f8a7ea5"`, `bounced`,
//!   `message_content.decoded` `{"type": "text_comment", "comment"}`);
//! - `GET /api/v3/jetton/transfers?owner_address=..&direction=out&start_lt=..`:
//!   `{"jetton_transfers": [...]}` with `source`, `destination`, `amount`,
//!   `jetton_master`, `transaction_hash`, `transaction_lt`,
//!   `transaction_aborted`, `forward_payload` (a base64 BOC);
//! - errors as `{"error": "..."}`; 429 with `Retry-After` when throttled.
//!
//! A transaction is only served once its masterchain block exists (the
//! indexer serves committed blocks). Every request is logged; it can misbehave.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use serde_json::{json, Value};

use super::fake_esplora::fake_hash;

/// Tether's USDT jetton master on TON mainnet.
pub const USDT_MASTER: &str = "EQCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_sDs";
/// Masterchain block 0 was generated at this unix time; one every 5 seconds.
pub const GENESIS_TIME: u64 = 1_700_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    RateLimited(u64),
    /// 502 from the gateway in front of the indexer.
    Down,
    NotJson,
    Malformed,
    Hang,
}

#[derive(Debug, Clone)]
pub struct TonMsg {
    pub hash: String,
    /// Raw upper-case form, as toncenter writes addresses.
    pub destination: String,
    pub value: u64,
    pub opcode: Option<u32>,
    pub bounced: bool,
    pub comment: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TonTx {
    pub hash: String,
    pub account: String,
    pub lt: u64,
    /// `None` while its block is not committed (not served).
    pub mc_block_seqno: Option<u64>,
    /// The message it processed.
    pub in_msg: String,
    /// Who sent that message (`None`: an external message).
    pub in_source: Option<String>,
    pub in_value: u64,
    pub in_comment: Option<String>,
    /// The hash of its trace's first transaction.
    pub trace_id: String,
    pub aborted: bool,
    pub compute_success: Option<bool>,
    pub compute_skipped: bool,
    pub action_success: Option<bool>,
    pub out_msgs: Vec<TonMsg>,
}

#[derive(Debug, Clone)]
pub struct FakeJettonTransfer {
    pub source: String,
    pub destination: String,
    pub amount: u64,
    pub jetton_master: String,
    pub transaction_hash: String,
    pub transaction_lt: u64,
    pub aborted: bool,
    pub comment: Option<String>,
    pub trace_id: String,
}

pub struct ToncenterState {
    pub mode: Mode,
    pub seqno: u64,
    pub txs: Vec<TonTx>,
    pub jetton_transfers: Vec<FakeJettonTransfer>,
    pub requests: Vec<String>,
    next_lt: u64,
}

#[derive(Clone)]
pub struct FakeToncenter {
    pub base_url: String,
    pub state: Arc<Mutex<ToncenterState>>,
}

/// A 32-byte hash in base64, as toncenter writes hashes.
pub fn ton_hash(kind: &str, n: u64) -> String {
    STANDARD.encode(hex::decode(fake_hash(kind, n)).unwrap())
}

/// The raw, upper-case form toncenter writes of the account `n`.
pub fn raw_account(kind: &str, n: u64) -> String {
    format!("0:{}", fake_hash(kind, n).to_ascii_uppercase())
}

/// The user-friendly bounceable form of a raw `0:<hex>` account (tag 0x11,
/// workchain, hash, CRC16-XMODEM), base64url.
pub fn friendly(raw: &str) -> String {
    let (_, hex) = raw.split_once(':').unwrap();
    let mut bytes = vec![0x11, 0x00];
    bytes.extend(hex::decode(hex).unwrap());
    let mut crc: u16 = 0;
    for byte in &bytes {
        crc ^= u16::from(*byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    bytes.extend(crc.to_be_bytes());
    URL_SAFE.encode(bytes)
}

/// A forward payload carrying a text comment: a one-cell BOC, opcode 0
/// then the text (at most 123 bytes).
pub fn comment_boc(text: &str) -> String {
    let mut data = vec![0u8; 4];
    data.extend_from_slice(text.as_bytes());
    let cell = [vec![0u8, (data.len() * 2) as u8], data].concat();
    let mut boc = vec![0xb5, 0xee, 0x9c, 0x72, 0x01, 0x01, 1, 1, 0, cell.len() as u8, 0];
    boc.extend(cell);
    STANDARD.encode(boc)
}

fn error(status: u16, message: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).json(json!({"error": message}))
}

fn block_json(seqno: u64) -> Value {
    json!({
        "workchain": -1,
        "shard": "-9223372036854775808",
        "seqno": seqno,
        "root_hash": ton_hash("mc-root", seqno),
        "file_hash": ton_hash("mc-file", seqno),
        "global_id": -239,
        "version": 0,
        "after_merge": false,
        "before_split": false,
        "after_split": false,
        "want_merge": false,
        "want_split": false,
        "key_block": false,
        "vert_seqno_incr": false,
        "flags": 1,
        "gen_utime": (GENESIS_TIME + 5 * seqno).to_string(),
        "start_lt": (seqno * 1_000_000).to_string(),
        "end_lt": (seqno * 1_000_000 + 4).to_string(),
        "validator_list_hash_short": 0,
        "gen_catchain_seqno": 0,
        "min_ref_mc_seqno": seqno.saturating_sub(1),
        "prev_key_block_seqno": 0,
        "vert_seqno": 1,
        "master_ref_seqno": 0,
        "rand_seed": ton_hash("rand", seqno),
        "created_by": ton_hash("validator", 1),
        "tx_count": 3,
        "masterchain_block_ref": {"workchain": -1, "shard": "-9223372036854775808", "seqno": seqno},
        "prev_blocks": [{"workchain": -1, "shard": "-9223372036854775808", "seqno": seqno.saturating_sub(1)}],
    })
}

fn msg_json(msg: &TonMsg, source: &str) -> Value {
    let decoded = msg.comment.as_ref().map(|c| json!({"type": "text_comment", "comment": c}));
    json!({
        "hash": msg.hash,
        "source": source,
        "destination": msg.destination,
        "value": msg.value.to_string(),
        "value_extra_currencies": {},
        "fwd_fee": "266669",
        "ihr_fee": "0",
        "created_lt": "0",
        "created_at": "0",
        "opcode": msg.opcode.map(|op| format!("0x{op:08x}")),
        "ihr_disabled": true,
        "bounce": !msg.bounced,
        "bounced": msg.bounced,
        "import_fee": null,
        "message_content": {"hash": ton_hash("body", msg.value), "body": "te6cckEBAQEAAgAAAEysuc0=", "decoded": decoded},
        "init_state": null,
    })
}

fn tx_json(tx: &TonTx) -> Value {
    let mc = tx.mc_block_seqno.unwrap_or_default();
    json!({
        "account": tx.account,
        "hash": tx.hash,
        "lt": tx.lt.to_string(),
        "now": GENESIS_TIME + 5 * mc,
        "mc_block_seqno": mc,
        "trace_id": tx.trace_id,
        "prev_trans_hash": ton_hash("prev", tx.lt),
        "prev_trans_lt": (tx.lt - 1).to_string(),
        "orig_status": "active",
        "end_status": "active",
        "total_fees": "2855644",
        "total_fees_extra_currencies": {},
        "description": {
            "type": "ord",
            "aborted": tx.aborted,
            "destroyed": false,
            "credit_first": tx.in_msg.starts_with('x'),
            "storage_ph": {"storage_fees_collected": "25", "status_change": "unchanged"},
            "compute_ph": if tx.compute_skipped {
                json!({"skipped": true, "reason": "no_state"})
            } else {
                json!({"skipped": false, "success": tx.compute_success, "gas_fees": "1325600", "gas_used": "3314",
                       "mode": 0, "exit_code": if tx.compute_success == Some(false) { 33 } else { 0 }, "vm_steps": 68})
            },
            "action": {"success": tx.action_success, "valid": true, "no_funds": tx.action_success == Some(false),
                       "status_change": "unchanged", "result_code": 0, "tot_actions": tx.out_msgs.len(),
                       "msgs_created": tx.out_msgs.len()},
        },
        "block_ref": {"workchain": 0, "shard": "8000000000000000", "seqno": 47_000_000 + mc},
        "in_msg": {"hash": tx.in_msg, "source": tx.in_source, "destination": tx.account,
                   "value": tx.in_source.as_ref().map(|_| tx.in_value.to_string()),
                   "opcode": tx.in_comment.as_ref().map(|_| "0x00000000"), "bounced": false,
                   "message_content": {"hash": tx.in_msg, "body": "te6cckEBAQEAAgAAAEysuc0=",
                                       "decoded": tx.in_comment.as_ref().map(|c| json!({"type": "text_comment", "comment": c}))}},
        "out_msgs": tx.out_msgs.iter().map(|m| msg_json(m, &tx.account)).collect::<Vec<_>>(),
        "account_state_before": {"hash": ton_hash("state", tx.lt - 1), "balance": "1000000000", "account_status": "active"},
        "account_state_after": {"hash": ton_hash("state", tx.lt), "balance": "900000000", "account_status": "active"},
        "emulated": false,
    })
}

fn same_account(a: &str, b: &str) -> bool {
    let raw = |s: &str| withdrawal_tracker::domain::address::ton_raw_form(s).unwrap_or_else(|| s.to_ascii_lowercase());
    raw(a) == raw(b)
}

impl ToncenterState {
    fn served(&self, tx: &TonTx) -> bool {
        tx.mc_block_seqno.is_some_and(|s| s <= self.seqno)
    }

    fn transactions(&self, found: Vec<&TonTx>) -> HttpResponse {
        let book: HashMap<String, Value> = found
            .iter()
            .map(|tx| (tx.account.clone(), json!({"user_friendly": friendly(&tx.account), "domain": null})))
            .collect();
        HttpResponse::Ok()
            .json(json!({"transactions": found.into_iter().map(tx_json).collect::<Vec<_>>(), "address_book": book}))
    }

    fn answer(&self, path: &str, query: &HashMap<String, String>) -> HttpResponse {
        match path {
            "/api/v3/masterchainInfo" => {
                HttpResponse::Ok().json(json!({"first": block_json(1), "last": block_json(self.seqno)}))
            }
            "/api/v3/transactionsByMessage" => {
                let Some(msg_hash) = query.get("msg_hash") else {
                    return error(422, "msg_hash, body_hash or opcode is required");
                };
                if query.get("direction").map(String::as_str) != Some("in") {
                    return error(422, "this fake answers direction=in only");
                }
                let found = self.txs.iter().filter(|tx| &tx.in_msg == msg_hash && self.served(tx)).collect();
                self.transactions(found)
            }
            "/api/v3/transactions" => {
                let limit: usize = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(10);
                let mut found: Vec<&TonTx> = match (query.get("hash"), query.get("account")) {
                    (Some(hash), _) => self.txs.iter().filter(|tx| &tx.hash == hash && self.served(tx)).collect(),
                    (None, Some(account)) => {
                        self.txs.iter().filter(|tx| same_account(&tx.account, account) && self.served(tx)).collect()
                    }
                    (None, None) => self.txs.iter().filter(|tx| self.served(tx)).collect(),
                };
                found.sort_by_key(|tx| std::cmp::Reverse(tx.lt));
                if query.get("sort").map(String::as_str) == Some("asc") {
                    found.reverse();
                }
                found.truncate(limit);
                self.transactions(found)
            }
            "/api/v3/jetton/transfers" => {
                let Some(owner) = query.get("owner_address") else {
                    return error(422, "owner_address or jetton_wallet is required");
                };
                let start_lt: u64 = query.get("start_lt").and_then(|l| l.parse().ok()).unwrap_or(0);
                let incoming = query.get("direction").map(String::as_str) == Some("in");
                let owned = |t: &FakeJettonTransfer| {
                    if incoming {
                        same_account(&t.destination, owner)
                    } else {
                        same_account(&t.source, owner)
                    }
                };
                let transfers: Vec<Value> = self
                    .jetton_transfers
                    .iter()
                    .filter(|t| owned(t) && t.transaction_lt >= start_lt)
                    .filter(|t| self.txs.iter().any(|tx| tx.hash == t.transaction_hash && self.served(tx)))
                    .map(|t| {
                        json!({
                            "query_id": "0",
                            "source": t.source,
                            "destination": t.destination,
                            "amount": t.amount.to_string(),
                            "source_wallet": raw_account("jetton-wallet", 1),
                            "jetton_master": t.jetton_master,
                            "transaction_hash": t.transaction_hash,
                            "transaction_lt": t.transaction_lt.to_string(),
                            "transaction_now": GENESIS_TIME,
                            "transaction_aborted": t.aborted,
                            "response_destination": t.source,
                            "custom_payload": null,
                            "forward_ton_amount": "1",
                            "forward_payload": t.comment.as_deref().map(comment_boc),
                            "trace_id": t.trace_id,
                        })
                    })
                    .collect();
                HttpResponse::Ok().json(json!({"jetton_transfers": transfers, "address_book": {}, "metadata": {}}))
            }
            _ => error(404, "Not Found"),
        }
    }
}

async fn dispatch(request: HttpRequest, state: web::Data<Arc<Mutex<ToncenterState>>>) -> HttpResponse {
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
            .json(json!({"error": "Ratelimit exceed"})),
        Mode::Down => HttpResponse::BadGateway().content_type("text/html").body("<html>502 Bad Gateway</html>"),
        Mode::NotJson => HttpResponse::Ok().content_type("text/html").body("<html>maintenance</html>"),
        Mode::Malformed => HttpResponse::Ok().json(json!({"last": {"seqno": "x"}, "transactions": 7})),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            HttpResponse::Ok().finish()
        }
    }
}

/// How one payout turns out on the fake chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// The wallet's action phase failed (not enough funds): nothing sent.
    WalletFailed,
    /// The recipient bounced the value back.
    Bounced,
}

/// A payout to build: native TON, or USDT (`jetton_master` set).
#[derive(Debug, Clone)]
pub struct Payout {
    pub n: u64,
    pub to: String,
    pub amount: u64,
    pub comment: Option<String>,
    pub jetton_master: Option<String>,
    pub outcome: Outcome,
}

impl Payout {
    pub fn ton(n: u64, to: &str, nanotons: u64, comment: Option<&str>) -> Payout {
        Payout {
            n,
            to: to.to_owned(),
            amount: nanotons,
            comment: comment.map(str::to_owned),
            jetton_master: None,
            outcome: Outcome::Delivered,
        }
    }

    /// The wallet transaction's hash of payout `n` (the trace's first).
    pub fn wallet_hash(n: u64) -> String {
        ton_hash("wallet-tx", n)
    }

    pub fn usdt(n: u64, to: &str, units: u64, comment: Option<&str>) -> Payout {
        Payout { jetton_master: Some(USDT_MASTER.to_owned()), ..Payout::ton(n, to, units, comment) }
    }

    pub fn turning_out(self, outcome: Outcome) -> Payout {
        Payout { outcome, ..self }
    }
}

/// The exchange's hot wallet (raw form).
pub fn hot_wallet() -> String {
    raw_account("hot-wallet", 1)
}

/// The external message hash of payout `n`: what the exchange registers.
pub fn external_hash(n: u64) -> String {
    ton_hash("external", n)
}

impl FakeToncenter {
    pub async fn start(seqno: u64) -> FakeToncenter {
        let state = Arc::new(Mutex::new(ToncenterState {
            mode: Mode::Normal,
            seqno,
            txs: Vec::new(),
            jetton_transfers: Vec::new(),
            requests: Vec::new(),
            next_lt: 50_000_000_000_000,
        }));
        let port = super::fakes::serve_all(web::Data::new(state.clone()), dispatch);
        FakeToncenter { base_url: format!("http://127.0.0.1:{port}"), state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests.len()
    }

    pub fn paths(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn seqno(&self) -> u64 {
        self.state.lock().unwrap().seqno
    }

    /// New masterchain blocks.
    pub fn advance(&self, blocks: u64) {
        self.state.lock().unwrap().seqno += blocks;
    }

    /// The unix time of masterchain block `seqno`.
    pub fn time_of(seqno: u64) -> u64 {
        GENESIS_TIME + 5 * seqno
    }

    /// Payout `p`: the wallet's transaction in masterchain block `wallet_at`,
    /// the recipient's in `recipient_at` (`None`: not yet). Returns the
    /// external message hash.
    pub fn pay(&self, p: &Payout, wallet_at: u64, recipient_at: Option<u64>) -> String {
        let mut state = self.state.lock().unwrap();
        state.next_lt += 10;
        let lt = state.next_lt;
        let external = external_hash(p.n);
        let wallet_hash = ton_hash("wallet-tx", p.n);
        let out_hash = ton_hash("out-msg", p.n);
        let recipient_hash = ton_hash("recipient-tx", p.n);
        let failed = p.outcome == Outcome::WalletFailed;
        let (destination, value, opcode, comment): (String, u64, Option<u32>, Option<String>) = match &p.jetton_master {
            None => (p.to.clone(), p.amount, None, p.comment.clone()),
            Some(_) => (raw_account("jetton-wallet", 1), 50_000_000, Some(0x0f8a_7ea5), None),
        };
        let out = TonMsg {
            hash: out_hash.clone(),
            destination: destination.clone(),
            value,
            opcode,
            bounced: false,
            comment: comment.clone(),
        };
        state.txs.push(TonTx {
            hash: wallet_hash.clone(),
            account: hot_wallet(),
            lt,
            mc_block_seqno: Some(wallet_at),
            in_msg: external.clone(),
            in_source: None,
            in_value: 0,
            in_comment: None,
            trace_id: wallet_hash.clone(),
            aborted: failed,
            compute_success: Some(true),
            compute_skipped: false,
            action_success: Some(!failed),
            out_msgs: if failed { Vec::new() } else { vec![out] },
        });
        if failed {
            return external;
        }
        let bounced = p.outcome == Outcome::Bounced;
        let bounce_back = TonMsg {
            hash: ton_hash("bounce", p.n),
            destination: hot_wallet(),
            value: value.saturating_sub(1_000_000),
            opcode: Some(0xffff_ffff),
            bounced: true,
            comment: None,
        };
        state.txs.push(TonTx {
            hash: recipient_hash.clone(),
            account: destination,
            lt: lt + 1,
            mc_block_seqno: recipient_at,
            in_msg: out_hash,
            in_source: Some(hot_wallet()),
            in_value: value,
            in_comment: comment,
            trace_id: wallet_hash.clone(),
            aborted: bounced,
            compute_success: Some(!bounced),
            compute_skipped: false,
            action_success: Some(true),
            out_msgs: if bounced { vec![bounce_back] } else { Vec::new() },
        });
        if let Some(master) = &p.jetton_master {
            state.jetton_transfers.push(FakeJettonTransfer {
                source: hot_wallet(),
                destination: p.to.clone(),
                amount: p.amount,
                jetton_master: withdrawal_tracker::domain::address::ton_raw_form(master).unwrap().to_ascii_uppercase(),
                transaction_hash: recipient_hash,
                transaction_lt: lt + 1,
                aborted: bounced,
                comment: p.comment.clone(),
                trace_id: wallet_hash,
            });
        }
        external
    }

    /// Commits the recipient's transaction of payout `n` in block `seqno`.
    pub fn deliver(&self, n: u64, seqno: u64) {
        let hash = ton_hash("recipient-tx", n);
        let mut state = self.state.lock().unwrap();
        for tx in state.txs.iter_mut().filter(|tx| tx.hash == hash) {
            tx.mc_block_seqno = Some(seqno);
        }
    }
}

impl FakeToncenter {
    /// A highload-wallet batch `n`: the external message makes the wallet
    /// send a message to itself, whose transaction sends one TON transfer per
    /// `(to, nanotons, comment)`; all in masterchain block `at`. Returns the
    /// external message hash.
    pub fn pay_batch(&self, n: u64, transfers: &[(&str, u64, Option<&str>)], at: u64) -> String {
        let mut state = self.state.lock().unwrap();
        state.next_lt += 10 + transfers.len() as u64;
        let lt = state.next_lt;
        let external = external_hash(n);
        let wallet_hash = ton_hash("wallet-tx", n);
        let to_self = TonMsg {
            hash: ton_hash("self-msg", n),
            destination: hot_wallet(),
            value: 100_000_000,
            opcode: Some(0xae42_e5a4),
            bounced: false,
            comment: None,
        };
        let outgoing: Vec<TonMsg> = transfers
            .iter()
            .enumerate()
            .map(|(i, (to, value, comment))| TonMsg {
                hash: ton_hash("batch-msg", n * 1000 + i as u64),
                destination: (*to).to_owned(),
                value: *value,
                opcode: comment.map(|_| 0),
                bounced: false,
                comment: comment.map(str::to_owned),
            })
            .collect();
        let tx = |hash: String, account: String, lt: u64, in_msg: String, out_msgs: Vec<TonMsg>| TonTx {
            hash,
            account,
            lt,
            mc_block_seqno: Some(at),
            in_msg,
            in_source: None,
            in_value: 0,
            in_comment: None,
            trace_id: wallet_hash.clone(),
            aborted: false,
            compute_success: Some(true),
            compute_skipped: false,
            action_success: Some(true),
            out_msgs,
        };
        let wallet = tx(wallet_hash.clone(), hot_wallet(), lt, external.clone(), vec![to_self.clone()]);
        let relay = tx(ton_hash("relay-tx", n), hot_wallet(), lt + 1, to_self.hash.clone(), outgoing.clone());
        let mut received = Vec::new();
        for (i, message) in outgoing.iter().enumerate() {
            let mut recipient = tx(
                ton_hash("batch-recipient", n * 1000 + i as u64),
                message.destination.clone(),
                lt + 2 + i as u64,
                message.hash.clone(),
                Vec::new(),
            );
            recipient.in_source = Some(hot_wallet());
            recipient.in_value = message.value;
            recipient.in_comment = message.comment.clone();
            received.push(recipient);
        }
        state.txs.push(wallet);
        state.txs.push(relay);
        state.txs.extend(received);
        external
    }
}
