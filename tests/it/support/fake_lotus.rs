//! A stand-in Lotus node answering its JSON-RPC API v1 (`POST /rpc/v1`,
//! JSON-RPC 2.0) in the shapes of the Lotus reference
//! (<https://github.com/filecoin-project/lotus/blob/master/documentation/en/api-methods-v1-stable.md>,
//! <https://docs.filecoin.io/reference/json-rpc/chain> and `.../state`):
//! - `Filecoin.ChainHead` and `Filecoin.ChainGetTipSetByHeight` (a tipset:
//!   `Cids` as `{"/": cid}`, `Blocks`, `Height`);
//! - `Filecoin.ChainGetFinalizedTipSet` (F3; a node without it answers
//!   `-32601` "method not found");
//! - `Filecoin.StateSearchMsg` `[tsk, cid, lookbackLimit, allowReplaced]`:
//!   `null` when not on chain, else a `MsgLookup` (`Message`, `Receipt`
//!   with `ExitCode`, `ReturnDec`, `TipSet`, `Height`); with `allowReplaced`
//!   the lookup of a replacing message (same sender, nonce and call, other
//!   gas) carries the replacement's CID;
//! - `Filecoin.ChainGetMessage` (`Version`, `To`, `From`, `Nonce`, `Value`
//!   in attoFIL, `GasLimit`, `GasFeeCap`, `GasPremium`, `Method`, `Params`,
//!   `CID`); an unknown CID is error 1 "blockstore: block not found";
//! - `Filecoin.StateGetActor` (`Code`, `Head`, `Nonce`, `Balance`); an
//!   unknown address is error 1 "actor not found";
//! - HTTP 429 with `Retry-After` and 502/503 from the gateway in front
//!   (Glif's hosted endpoints).
//!
//! Every call is logged; it can misbehave.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::fake_esplora::fake_hash;

/// The exchange's hot wallet sending every withdrawal.
pub const HOT_WALLET: &str = "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za";
/// Epoch 0's time (mainnet genesis); an epoch every 30 seconds.
pub const GENESIS_TIME: i64 = 1_598_306_400;
const BASE32: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// 429 with `Retry-After: <seconds>`.
    RateLimited(u64),
    /// 502 from the gateway.
    Down,
    /// 200 with an HTML body.
    NotJson,
    /// 200 with a `result` of the wrong shape.
    Malformed,
    Hang,
}

/// A CIDv1 in base32 (`bafy2bzace` and 52 more characters).
fn cid(tag: &str, n: u64) -> String {
    let digest = fake_hash(tag, n);
    let body: String = digest.bytes().map(|b| BASE32[b as usize % 32] as char).take(52).collect();
    format!("bafy2bzace{body}")
}

pub fn message_cid(n: u64) -> String {
    cid("fil-msg", n)
}

pub fn block_cid(height: u64) -> String {
    cid("fil-block", height)
}

#[derive(Debug, Clone)]
pub struct FilMessage {
    pub cid: String,
    pub from: String,
    pub to: String,
    pub nonce: u64,
    /// attoFIL.
    pub value: u128,
    /// Fee cap: a replacement differs here only.
    pub gas_fee_cap: u64,
    /// `Some((height of the executing tipset, exit code))` once on chain.
    pub landed: Option<(u64, i64)>,
}

/// A send of `atto` from the hot wallet to `to` with nonce `n`.
pub fn send(n: u64, to: &str, atto: u128) -> FilMessage {
    FilMessage {
        cid: message_cid(n),
        from: HOT_WALLET.to_owned(),
        to: to.to_owned(),
        nonce: n,
        value: atto,
        gas_fee_cap: 100_000,
        landed: None,
    }
}

pub struct LotusState {
    pub mode: Mode,
    pub head: u64,
    /// How far F3's finalized tipset trails the head; `None`: a node
    /// without `ChainGetFinalizedTipSet`.
    pub f3_lag: Option<u64>,
    pub messages: Vec<FilMessage>,
    pub calls: Vec<(String, Value)>,
}

#[derive(Clone)]
pub struct FakeLotus {
    pub base_url: String,
    pub state: Arc<Mutex<LotusState>>,
}

fn tipset_json(height: u64) -> Value {
    json!({
        "Cids": [{"/": block_cid(height)}],
        "Blocks": [{
            "Miner": "f01234",
            "Ticket": {"VRFProof": "rIPyBy+F827Szc5oN/6ylCmpzxfAWr7aI5F4YJrN4pLSyknkcJI3ivsCo2KKjQVZ"},
            "ElectionProof": {"WinCount": 1, "VRFProof": "sN51JqjZNf+xWxwoo+wlMH1bpXI9T3wUIrla6FpwTxU4"},
            "BeaconEntries": [],
            "WinPoStProof": [],
            "Parents": [{"/": block_cid(height.saturating_sub(1))}],
            "ParentWeight": "116575600954",
            "Height": height,
            "ParentStateRoot": {"/": cid("fil-state", height)},
            "ParentMessageReceipts": {"/": cid("fil-rcpt", height)},
            "Messages": {"/": cid("fil-msgs", height)},
            "BLSAggregate": {"Type": 2, "Data": "wFesXJqlqMRtK/AATvz0OEGSIKIS"},
            "Timestamp": GENESIS_TIME + 30 * height as i64,
            "BlockSig": {"Type": 2, "Data": "rI13cTVJ2tNI2Zs9CdhnjxzdUn8n"},
            "ForkSignaling": 0,
            "ParentBaseFee": "100"
        }],
        "Height": height
    })
}

fn message_json(m: &FilMessage) -> Value {
    json!({
        "Version": 0,
        "To": m.to,
        "From": m.from,
        "Nonce": m.nonce,
        "Value": m.value.to_string(),
        "GasLimit": 1_000_000,
        "GasFeeCap": m.gas_fee_cap.to_string(),
        "GasPremium": "99000",
        "Method": 0,
        "Params": null,
        "CID": {"/": m.cid}
    })
}

fn error(id: &Value, code: i64, message: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}))
}

fn result(id: &Value, result: Value) -> HttpResponse {
    HttpResponse::Ok().json(json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

impl LotusState {
    fn answer(&self, id: &Value, method: &str, params: &Value) -> HttpResponse {
        match method {
            "Filecoin.ChainHead" => result(id, tipset_json(self.head)),
            "Filecoin.ChainGetFinalizedTipSet" => match self.f3_lag {
                Some(lag) => result(id, tipset_json(self.head.saturating_sub(lag))),
                None => error(id, -32601, "method 'Filecoin.ChainGetFinalizedTipSet' not found"),
            },
            "Filecoin.ChainGetTipSetByHeight" => match params[0].as_u64() {
                Some(height) if height <= self.head => result(id, tipset_json(height)),
                _ => error(id, 1, "looking for tipset with height greater than start point"),
            },
            "Filecoin.StateSearchMsg" => {
                let wanted = params[1]["/"].as_str().unwrap_or_default();
                let allow_replaced = params[3].as_bool().unwrap_or(true);
                let Some(ours) = self.messages.iter().find(|m| m.cid == wanted) else { return result(id, Value::Null) };
                let landed = self.messages.iter().find(|m| {
                    m.landed.is_some()
                        && (m.cid == wanted
                            || allow_replaced
                                && m.from == ours.from
                                && m.nonce == ours.nonce
                                && m.to == ours.to
                                && m.value == ours.value)
                });
                match landed {
                    Some(m) => {
                        let (height, exit_code) = m.landed.unwrap();
                        result(
                            id,
                            json!({
                                "Message": {"/": m.cid},
                                "Receipt": {"ExitCode": exit_code, "Return": null, "GasUsed": 489_767, "EventsRoot": null},
                                "ReturnDec": null,
                                "TipSet": [{"/": block_cid(height)}],
                                "Height": height
                            }),
                        )
                    }
                    None => result(id, Value::Null),
                }
            }
            "Filecoin.ChainGetMessage" => {
                let wanted = params[0]["/"].as_str().unwrap_or_default();
                match self.messages.iter().find(|m| m.cid == wanted) {
                    Some(m) => result(id, message_json(m)),
                    None => error(id, 1, &format!("failed to load message: blockstore: block not found ({wanted})")),
                }
            }
            "Filecoin.StateGetActor" => {
                let address = params[0].as_str().unwrap_or_default();
                let sent = self.messages.iter().filter(|m| m.from == address && m.landed.is_some());
                match sent.map(|m| m.nonce + 1).max() {
                    Some(nonce) => result(
                        id,
                        json!({
                            "Code": {"/": "bafk2bzacebp3shtrn43k7g3unredz7fxn4gj533d3o43tqn2p2ipxxhrvchve"},
                            "Head": {"/": cid("fil-head", nonce)},
                            "Nonce": nonce,
                            "Balance": "12000000000000000000000",
                            "DelegatedAddress": null
                        }),
                    ),
                    None => error(
                        id,
                        1,
                        &format!("resolution lookup failed ({address}): resolve address {address}: actor not found"),
                    ),
                }
            }
            _ => error(id, -32601, &format!("method '{method}' not found")),
        }
    }
}

async fn dispatch(body: web::Bytes, state: web::Data<Arc<Mutex<LotusState>>>) -> HttpResponse {
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return HttpResponse::Ok()
            .json(json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "Parse error"}}));
    };
    let method = request["method"].as_str().unwrap_or("").to_owned();
    let params = request["params"].clone();
    let id = request["id"].clone();
    let mode = {
        let mut state = state.lock().unwrap();
        state.calls.push((method.clone(), params.clone()));
        state.mode
    };
    match mode {
        Mode::Normal => state.lock().unwrap().answer(&id, &method, &params),
        Mode::RateLimited(seconds) => HttpResponse::TooManyRequests()
            .insert_header(("retry-after", seconds.to_string()))
            .content_type("text/plain")
            .body("Too Many Requests"),
        Mode::Down => HttpResponse::BadGateway().content_type("text/html").body("<html>502 Bad Gateway</html>"),
        Mode::NotJson => HttpResponse::Ok().content_type("text/html").body("<html>maintenance</html>"),
        Mode::Malformed => result(&id, json!({"Cids": "nope", "Height": -1})),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            HttpResponse::Ok().finish()
        }
    }
}

impl FakeLotus {
    /// A node at `head` whose F3 finalizes `f3_lag` epochs behind it
    /// (`None`: no `ChainGetFinalizedTipSet`).
    pub async fn start(head: u64, f3_lag: Option<u64>) -> FakeLotus {
        let state = Arc::new(Mutex::new(LotusState {
            mode: Mode::Normal,
            head,
            f3_lag,
            messages: Vec::new(),
            calls: Vec::new(),
        }));
        let port = super::fakes::serve_all(web::Data::new(state.clone()), dispatch);
        FakeLotus { base_url: format!("http://127.0.0.1:{port}/rpc/v1"), state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    /// Pushes messages to the node's mempool.
    pub fn push(&self, messages: Vec<FilMessage>) {
        self.state.lock().unwrap().messages.extend(messages);
    }

    /// A new head whose tipset executes the messages `cids` names with
    /// their exit codes; returns its height.
    pub fn execute(&self, landed: &[(&str, i64)]) -> u64 {
        let mut state = self.state.lock().unwrap();
        state.head += 1;
        let height = state.head;
        for (cid, exit_code) in landed {
            if let Some(m) = state.messages.iter_mut().find(|m| m.cid == *cid) {
                m.landed = Some((height, *exit_code));
            }
        }
        height
    }

    /// The head moves on by `epochs` empty tipsets.
    pub fn advance(&self, epochs: u64) {
        self.state.lock().unwrap().head += epochs;
    }

    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().calls.len()
    }

    pub fn methods(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.iter().map(|(m, _)| m.clone()).collect()
    }
}
