//! A stand-in Substrate API Sidecar in front of Polkadot Asset Hub,
//! following its documented paths and shapes
//! (<https://paritytech.github.io/substrate-api-sidecar/dist/>, the
//! `/blocks/head` and `/blocks/{blockId}` responses and their `Extrinsic`,
//! `GenericExtrinsicEra` and `SanitizedEvent` schemas): integers as decimal
//! strings, `0x` hashes, `MultiAddress` arguments as `{"id": "<SS58>"}`,
//! `era` as `{"mortalEra": ["64", "11"]}` or `{"immortalEra": "0x00"}`,
//! every block opening with its `timestamp.set` inherent, failed
//! extrinsics with `success: false` and a `system.ExtrinsicFailed` event,
//! and Sidecar's error body (`{"code", "message", "stack"}`, HTTP 400) for
//! a block number above the chain. Every block it serves is finalized (it
//! follows the finalized head only, like the client). It can misbehave.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::explorer_transport::{Behaviour, ExplorerFake};
use crate::support::fake_utxo_chain::fake_hash;

pub const BASE_HEIGHT: u64 = 10_500_000;
/// USDT on Polkadot Asset Hub.
pub const USDT_ASSET: u32 = 1984;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    RateLimited(u64),
    /// 502 from the gateway.
    Down,
    /// 200 with a body of the wrong shape.
    Malformed,
    Hang,
}

#[derive(Debug, Clone)]
pub enum DotCall {
    /// `balances.transferKeepAlive` of `planck` to `dest`.
    Balances { dest: String, planck: u128 },
    /// `assets.transfer` of `amount` of asset `id` to `target`.
    Asset { id: u32, target: String, amount: u128 },
    /// `utility.batchAll` of these calls.
    BatchAll(Vec<DotCall>),
}

impl DotCall {
    /// `method` and `args` as Sidecar writes a call.
    fn method_and_args(&self) -> (Value, Value) {
        match self {
            DotCall::Balances { dest, planck } => (
                json!({"pallet": "balances", "method": "transferKeepAlive"}),
                json!({"dest": {"id": dest}, "value": planck.to_string()}),
            ),
            DotCall::Asset { id, target, amount } => (
                json!({"pallet": "assets", "method": "transfer"}),
                json!({"id": id.to_string(), "target": {"id": target}, "amount": amount.to_string()}),
            ),
            DotCall::BatchAll(calls) => {
                let calls: Vec<Value> = calls
                    .iter()
                    .map(|c| {
                        let (method, args) = c.method_and_args();
                        json!({"method": method, "args": args})
                    })
                    .collect();
                (json!({"pallet": "utility", "method": "batchAll"}), json!({"calls": calls}))
            }
        }
    }

    /// The events the call emits when it succeeds.
    fn events(&self, signer: &str) -> Vec<Value> {
        match self {
            DotCall::Balances { dest, planck } => vec![json!({"method": {"pallet": "balances", "method": "Transfer"},
                                                              "data": [signer, dest, planck.to_string()]})],
            DotCall::Asset { id, target, amount } => {
                vec![json!({"method": {"pallet": "assets", "method": "Transferred"},
                                                                 "data": [id.to_string(), signer, target, amount.to_string()]})]
            }
            DotCall::BatchAll(calls) => {
                let mut events = Vec::new();
                for call in calls {
                    events.extend(call.events(signer));
                    events.push(json!({"method": {"pallet": "utility", "method": "ItemCompleted"}, "data": []}));
                }
                events.push(json!({"method": {"pallet": "utility", "method": "BatchCompleted"}, "data": []}));
                events
            }
        }
    }
}

/// A signed extrinsic.
#[derive(Debug, Clone)]
pub struct Xt {
    pub hash: String,
    pub signer: String,
    pub nonce: u64,
    pub call: DotCall,
    pub success: bool,
    /// (period, phase); `None` is immortal.
    pub era: Option<(u64, u64)>,
}

#[derive(Debug, Clone)]
pub struct FakeDotBlock {
    pub number: u64,
    pub hash: String,
    pub parent: String,
    pub xts: Vec<Xt>,
}

pub struct SidecarState {
    pub mode: Mode,
    pub chain: Vec<FakeDotBlock>,
    /// Submitted, not in a block yet.
    pub pool: HashMap<String, Xt>,
    pub requests: usize,
    counter: u64,
}

#[derive(Clone)]
pub struct FakeSidecar {
    pub base_url: String,
    pub state: Arc<Mutex<SidecarState>>,
}

/// A valid Polkadot (SS58 prefix 0) address, one per `seed`.
pub fn dot_address(seed: &str) -> String {
    use blake2::{Blake2b512, Digest as _};
    use sha2::Sha256;
    let mut bytes = vec![0u8];
    bytes.extend_from_slice(&Sha256::digest(seed.as_bytes()));
    let mut checksum = Blake2b512::new();
    checksum.update(b"SS58PRE");
    checksum.update(&bytes);
    let digest = checksum.finalize();
    bytes.extend_from_slice(&digest[..2]);
    bs58::encode(bytes).into_string()
}

fn block_hash(number: u64, n: u64) -> String {
    format!("0x{}", fake_hash(&format!("dot-block-{number}"), n))
}

fn block_time_ms(number: u64) -> u64 {
    1_764_000_000_000 + (number - BASE_HEIGHT) * 6_000
}

fn sidecar_error(message: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({"code": 400, "message": message, "stack": "Error: ..."}))
}

impl Xt {
    fn json(&self) -> Value {
        let (method, args) = self.call.method_and_args();
        let mut events = vec![json!({"method": {"pallet": "balances", "method": "Withdraw"},
                                     "data": [self.signer, "15937408"]})];
        if self.success {
            events.extend(self.call.events(&self.signer));
            events.push(json!({"method": {"pallet": "system", "method": "ExtrinsicSuccess"},
                               "data": [{"weight": {"refTime": "292714000", "proofSize": "3593"}, "class": "Normal", "paysFee": "Yes"}]}));
        } else {
            events.push(json!({"method": {"pallet": "system", "method": "ExtrinsicFailed"},
                               "data": [{"module": {"index": "10", "error": "0x02000000"}},
                                        {"weight": {"refTime": "292714000", "proofSize": "3593"}, "class": "Normal", "paysFee": "Yes"}]}));
        }
        let era = match self.era {
            Some((period, phase)) => json!({"mortalEra": [period.to_string(), phase.to_string()]}),
            None => json!({"immortalEra": "0x00"}),
        };
        json!({
            "method": method,
            "signature": {"signature": format!("0x{}", "ab".repeat(64)), "signer": {"id": self.signer}},
            "nonce": self.nonce.to_string(),
            "args": args,
            "tip": "0",
            "hash": self.hash,
            "info": {},
            "era": era,
            "events": events,
            "success": self.success,
            "paysFee": true
        })
    }
}

impl FakeDotBlock {
    fn json(&self) -> Value {
        let mut extrinsics = vec![json!({
            "method": {"pallet": "timestamp", "method": "set"},
            "signature": null,
            "nonce": null,
            "args": {"now": block_time_ms(self.number).to_string()},
            "tip": null,
            "hash": format!("0x{}", fake_hash("dot-inherent", self.number)),
            "info": {},
            "era": {"immortalEra": "0x00"},
            "events": [],
            "success": true,
            "paysFee": false
        })];
        extrinsics.extend(self.xts.iter().map(Xt::json));
        json!({
            "number": self.number.to_string(),
            "hash": self.hash,
            "parentHash": self.parent,
            "stateRoot": format!("0x{}", fake_hash("dot-state", self.number)),
            "extrinsicsRoot": format!("0x{}", fake_hash("dot-xroot", self.number)),
            "authorId": dot_address("collator"),
            "logs": [],
            "onInitialize": {"events": []},
            "extrinsics": extrinsics,
            "onFinalize": {"events": []},
            "finalized": true
        })
    }
}

impl SidecarState {
    fn head(&self) -> &FakeDotBlock {
        self.chain.last().expect("the chain has blocks")
    }

    fn answer(&self, path: &str) -> HttpResponse {
        let Some(id) = path.strip_prefix("/blocks/") else { return HttpResponse::NotFound().body("Not Found") };
        if id == "head" {
            return HttpResponse::Ok().json(self.head().json());
        }
        let Ok(number) = id.parse::<u64>() else {
            return sidecar_error(&format!("Cannot get block hash for {id}."));
        };
        match self.chain.iter().find(|b| b.number == number) {
            Some(block) => HttpResponse::Ok().json(block.json()),
            None if number > self.head().number => {
                sidecar_error("Specified block number is larger than the current largest block number.")
            }
            None => sidecar_error(&format!("Block {number} is not available on this node.")),
        }
    }
}

async fn dispatch(req: HttpRequest, state: web::Data<Arc<Mutex<SidecarState>>>) -> HttpResponse {
    let mode = {
        let mut state = state.lock().unwrap();
        state.requests += 1;
        state.mode
    };
    match mode {
        Mode::Normal => state.lock().unwrap().answer(req.path()),
        Mode::RateLimited(seconds) => HttpResponse::TooManyRequests()
            .insert_header(("retry-after", seconds.to_string()))
            .content_type("text/plain")
            .body("Too Many Requests"),
        Mode::Down => HttpResponse::BadGateway().content_type("text/html").body("<html>502 Bad Gateway</html>"),
        Mode::Malformed => HttpResponse::Ok().json(json!({"number": "not a number", "hash": 7, "extrinsics": {}})),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            HttpResponse::Ok().finish()
        }
    }
}

impl FakeSidecar {
    /// A chain whose finalized head is block `head`.
    pub async fn start(head: u64) -> FakeSidecar {
        let state =
            SidecarState { mode: Mode::Normal, chain: Vec::new(), pool: HashMap::new(), requests: 0, counter: 0 };
        let state = Arc::new(Mutex::new(state));
        {
            let mut state = state.lock().unwrap();
            state.counter += 1;
            state.chain.push(FakeDotBlock {
                number: BASE_HEIGHT,
                hash: block_hash(BASE_HEIGHT, 0),
                parent: block_hash(BASE_HEIGHT - 1, 0),
                xts: Vec::new(),
            });
        }
        let fake = FakeSidecar { base_url: String::new(), state: state.clone() };
        while fake.head().number < head {
            fake.produce(&[]);
        }
        let port = super::fakes::serve_all(web::Data::new(state), dispatch);
        FakeSidecar { base_url: format!("http://127.0.0.1:{port}"), ..fake }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    pub fn head(&self) -> FakeDotBlock {
        self.state.lock().unwrap().head().clone()
    }

    /// Submits a signed extrinsic making `call`, mortal for 64 blocks from
    /// the head; returns its hash (not in a block yet).
    pub fn submit(&self, call: DotCall, success: bool) -> String {
        let mut state = self.state.lock().unwrap();
        state.counter += 1;
        let n = state.counter;
        let head = state.head().number;
        let xt = Xt {
            hash: format!("0x{}", fake_hash("dot-xt", n)),
            signer: dot_address("exchange-hot-wallet"),
            nonce: n,
            call,
            success,
            era: Some((64, head % 64)),
        };
        let hash = xt.hash.clone();
        state.pool.insert(hash.clone(), xt);
        hash
    }

    pub fn transfer(&self, dest: &str, planck: u128) -> String {
        self.submit(DotCall::Balances { dest: dest.into(), planck }, true)
    }

    pub fn asset_transfer(&self, id: u32, target: &str, amount: u128) -> String {
        self.submit(DotCall::Asset { id, target: target.into(), amount }, true)
    }

    /// Finalizes a new block holding the pooled extrinsics `hashes`.
    pub fn produce(&self, hashes: &[&str]) -> FakeDotBlock {
        let mut state = self.state.lock().unwrap();
        state.counter += 1;
        let n = state.counter;
        let head = state.head().clone();
        let xts = hashes.iter().map(|h| state.pool.remove(*h).expect("submitted first")).collect();
        let block =
            FakeDotBlock { number: head.number + 1, hash: block_hash(head.number + 1, n), parent: head.hash, xts };
        state.chain.push(block.clone());
        block
    }

    /// `count` empty blocks.
    pub fn advance(&self, count: u64) {
        for _ in 0..count {
            self.produce(&[]);
        }
    }
}

impl ExplorerFake for FakeSidecar {
    fn base_url(&self) -> &str {
        &self.base_url
    }
    fn requests(&self) -> usize {
        FakeSidecar::requests(self)
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
