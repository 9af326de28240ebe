//! A stand-in Blockfrost (Cardano REST API v0), following its documented
//! paths and response shapes (https://docs.blockfrost.io, the OpenAPI spec
//! https://github.com/blockfrost/openapi: `block_content`,
//! `block_content_txs`, `block_content_txs_cbor` (each transaction's CBOR
//! in the ledger's CDDL, cardano-ledger `conway.cddl`), `tx_content`, `tx_content_utxo`,
//! `address_transactions_content`; errors as
//! `{"status_code", "error", "message"}`): amounts as `[{unit, quantity}]`
//! with decimal-string quantities, 404 for anything not in a best-chain
//! block (Blockfrost does not know other nodes' mempools), the key read
//! from `project_id`. The chain is the UTXO fakes' model (`UtxoChain`:
//! mining, reorgs); what only Cardano has (native assets, `valid_contract`,
//! `invalid_hereafter`) is kept beside it. Can misbehave like the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::explorer_transport::{Behaviour, ExplorerFake};
pub use super::fake_utxo_chain::fake_hash;
use super::fake_utxo_chain::{FakeBlock, UtxoChain, UtxoFake};

pub const BASE_HEIGHT: u64 = 11_000_000;
/// Shelley-era slots are seconds: slot = unix time - 1_591_566_291.
const SHELLEY_OFFSET: u64 = 1_591_566_291;
const BASE_SLOT: u64 = 140_000_000;
/// Cardano's mean block interval.
const BLOCK_SECONDS: u64 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    RateLimited(u64),
    Down,
    Malformed,
    Hang,
}

/// One output: the address, lovelace, and native assets as (unit, quantity).
#[derive(Debug, Clone)]
pub struct AdaOutput {
    pub address: String,
    pub lovelace: u64,
    pub assets: Vec<(String, u128)>,
}

impl AdaOutput {
    pub fn ada(address: &str, lovelace: u64) -> AdaOutput {
        AdaOutput { address: address.to_owned(), lovelace, assets: Vec::new() }
    }

    pub fn with_asset(mut self, unit: &str, quantity: u128) -> AdaOutput {
        self.assets.push((unit.to_owned(), quantity));
        self
    }
}

/// What Cardano adds to a transaction of the chain model.
#[derive(Debug, Clone)]
struct AdaTx {
    outputs: Vec<AdaOutput>,
    valid_contract: bool,
    invalid_hereafter: Option<u64>,
}

pub struct BlockfrostState {
    pub mode: Mode,
    pub ledger: UtxoChain,
    txs: HashMap<String, AdaTx>,
    pub requests: usize,
    /// A Blockfrost-compatible server without `/blocks/{id}/txs/cbor` (404).
    pub without_cbor: bool,
    pub last_project_id: Option<String>,
    pub paths: Vec<String>,
}

#[derive(Clone)]
pub struct FakeBlockfrost {
    pub base_url: String,
    pub state: Arc<Mutex<BlockfrostState>>,
}

pub fn slot_of(height: u64) -> u64 {
    BASE_SLOT + (height - BASE_HEIGHT) * BLOCK_SECONDS
}

fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({
        "status_code": 404,
        "error": "Not Found",
        "message": "The requested component has not been found.",
    }))
}

fn query(path_and_query: &str, key: &str) -> Option<String> {
    let (_, q) = path_and_query.split_once('?')?;
    q.split('&').find_map(|pair| pair.strip_prefix(&format!("{key}=")).map(str::to_owned))
}

impl BlockfrostState {
    /// The Cardano transactions of a block (the chain model's coinbase ids
    /// are not Cardano's and are left out).
    fn block_txs(&self, block: &FakeBlock) -> Vec<String> {
        block.txids.iter().filter(|t| self.txs.contains_key(*t)).cloned().collect()
    }

    fn block_json(&self, block: &FakeBlock) -> Value {
        let next = self.ledger.chain.iter().find(|b| b.prev.as_deref() == Some(block.hash.as_str()));
        let slot = slot_of(block.height);
        json!({
            "time": slot + SHELLEY_OFFSET,
            "height": block.height,
            "hash": block.hash,
            "slot": slot,
            "epoch": 425,
            "epoch_slot": slot % 432_000,
            "slot_leader": "pool1pu5jlj4q9w9jlxeu370a3c9myx47md5j5m2str0naunn2qnikdy",
            "size": 3,
            "tx_count": self.block_txs(block).len(),
            "output": "128314491794",
            "fees": "592661",
            "block_vrf": "vrf_vk1wf2k6lhujezqcfe00l6zetxpnmh9n6mwhpmhm0dvfh3fxgmdnrfqkms8ty",
            "op_cert": "da905277534faf75dae41732650568af545134ee08a3c0392dbefc8096ae177c",
            "op_cert_counter": "18",
            "previous_block": block.prev,
            "next_block": next.map(|b| b.hash.clone()),
            "confirmations": self.ledger.tip().height - block.height,
        })
    }

    /// A transaction Blockfrost knows: in a best-chain block.
    fn on_chain(&self, txid: &str) -> Option<(&FakeBlock, &AdaTx, usize)> {
        let block = self.ledger.block_of(txid)?;
        let index = self.block_txs(block).iter().position(|t| t == txid)?;
        Some((block, self.txs.get(txid)?, index))
    }

    fn amount_json(lovelace: u64, assets: &[(String, u128)]) -> Vec<Value> {
        std::iter::once(json!({"unit": "lovelace", "quantity": lovelace.to_string()}))
            .chain(assets.iter().map(|(unit, q)| json!({"unit": unit, "quantity": q.to_string()})))
            .collect()
    }

    fn tx_json(&self, txid: &str) -> Option<Value> {
        let (block, tx, index) = self.on_chain(txid)?;
        let lovelace: u64 = tx.outputs.iter().map(|o| o.lovelace).sum();
        Some(json!({
            "hash": txid,
            "block": block.hash,
            "block_height": block.height,
            "block_time": slot_of(block.height) + SHELLEY_OFFSET,
            "slot": slot_of(block.height),
            "index": index,
            "output_amount": [{"unit": "lovelace", "quantity": lovelace.to_string()}],
            "fees": "182485",
            "deposit": "0",
            "size": 433,
            "invalid_before": null,
            "invalid_hereafter": tx.invalid_hereafter.map(|s| s.to_string()),
            "utxo_count": 4,
            "withdrawal_count": 0,
            "mir_cert_count": 0,
            "delegation_count": 0,
            "stake_cert_count": 0,
            "pool_update_count": 0,
            "pool_retire_count": 0,
            "asset_mint_or_burn_count": 0,
            "redeemer_count": if tx.valid_contract { 0 } else { 1 },
            "valid_contract": tx.valid_contract,
        }))
    }

    /// Which best-chain transaction spent output `index` of `txid`.
    fn consumer(&self, txid: &str, index: u32) -> Option<String> {
        self.ledger.chain.iter().flat_map(|b| b.txids.iter()).find_map(|spender| {
            let tx = self.ledger.txs.get(spender)?;
            tx.inputs.iter().any(|(t, v)| t == txid && *v == index).then(|| spender.clone())
        })
    }

    fn utxos_json(&self, txid: &str) -> Option<Value> {
        let (_, tx, _) = self.on_chain(txid)?;
        let model = self.ledger.txs.get(txid)?;
        let mut inputs: Vec<Value> = model
            .inputs
            .iter()
            .map(|(prev, index)| {
                json!({
                    "address": "addr1q9ld26v2lv8wvrxxmvg90pn8n8n5k6tdst06q2s856rwmvnueldzuuqmnsye359fqrk8hwvenjnqultn7djtrlft7jnq7dy7wv",
                    "amount": Self::amount_json(100_000_000, &[]),
                    "tx_hash": prev,
                    "output_index": index,
                    "data_hash": null,
                    "inline_datum": null,
                    "reference_script_hash": null,
                    "collateral": false,
                    "reference": false,
                })
            })
            .collect();
        if !tx.valid_contract {
            // A script transaction puts up collateral (taken when it fails).
            inputs.push(json!({
                "address": "addr1q9ld26v2lv8wvrxxmvg90pn8n8n5k6tdst06q2s856rwmvnueldzuuqmnsye359fqrk8hwvenjnqultn7djtrlft7jnq7dy7wv",
                "amount": Self::amount_json(5_000_000, &[]),
                "tx_hash": fake_hash("ada-collateral", 0),
                "output_index": 0,
                "data_hash": null,
                "inline_datum": null,
                "reference_script_hash": null,
                "collateral": true,
                "reference": false,
            }));
        }
        let mut outputs: Vec<Value> = tx
            .outputs
            .iter()
            .enumerate()
            .map(|(i, o)| {
                json!({
                    "address": o.address,
                    "amount": Self::amount_json(o.lovelace, &o.assets),
                    "output_index": i,
                    "data_hash": null,
                    "inline_datum": null,
                    "collateral": false,
                    "reference_script_hash": null,
                    "consumed_by_tx": self.consumer(txid, i as u32),
                })
            })
            .collect();
        if !tx.valid_contract {
            // The collateral return output, the only one a failed script creates.
            outputs.push(json!({
                "address": "addr1q9ld26v2lv8wvrxxmvg90pn8n8n5k6tdst06q2s856rwmvnueldzuuqmnsye359fqrk8hwvenjnqultn7djtrlft7jnq7dy7wv",
                "amount": Self::amount_json(4_000_000, &[]),
                "output_index": tx.outputs.len(),
                "data_hash": null,
                "inline_datum": null,
                "collateral": true,
                "reference_script_hash": null,
                "consumed_by_tx": null,
            }));
        }
        Some(json!({"hash": txid, "inputs": inputs, "outputs": outputs}))
    }

    /// The transaction as the ledger encodes it: `[body, witnesses, is_valid,
    /// null]`, the body `{0: inputs (tag 258 set), 1: outputs, 2: fee, 3: ttl,
    /// 13: collateral}`; outputs alternate between the legacy array and the
    /// post-Alonzo map form, so the client reads both.
    fn tx_cbor(&self, txid: &str) -> String {
        let (tx, model) = (&self.txs[txid], &self.ledger.txs[txid]);
        let mut c = Cbor::default();
        c.head(4, 4);
        let entries = 3 + u64::from(tx.invalid_hereafter.is_some()) + u64::from(!tx.valid_contract);
        c.head(5, entries);
        c.uint(0);
        c.tag(258);
        c.head(4, model.inputs.len() as u64);
        for (prev, index) in &model.inputs {
            c.head(4, 2);
            c.bytes(&hex::decode(prev).unwrap());
            c.uint(u64::from(*index));
        }
        c.uint(1);
        c.head(4, tx.outputs.len() as u64);
        for (i, output) in tx.outputs.iter().enumerate() {
            let (_, address) = bech32::decode(&output.address).expect("a bech32 address");
            if i % 2 == 0 {
                c.head(4, 2);
                c.bytes(&address);
            } else {
                c.head(5, 2);
                c.uint(0);
                c.bytes(&address);
                c.uint(1);
            }
            if output.assets.is_empty() {
                c.uint(output.lovelace);
            } else {
                c.head(4, 2);
                c.uint(output.lovelace);
                c.head(5, output.assets.len() as u64);
                for (unit, quantity) in &output.assets {
                    c.bytes(&hex::decode(&unit[..56]).unwrap());
                    c.head(5, 1);
                    c.bytes(&hex::decode(&unit[56..]).unwrap());
                    c.uint(u64::try_from(*quantity).unwrap());
                }
            }
        }
        c.uint(2);
        c.uint(182_485);
        if let Some(ttl) = tx.invalid_hereafter {
            c.uint(3);
            c.uint(ttl);
        }
        if !tx.valid_contract {
            c.uint(13);
            c.head(4, 1);
            c.head(4, 2);
            c.bytes(&hex::decode(fake_hash("ada-collateral", 0)).unwrap());
            c.uint(0);
        }
        c.head(5, 0); // witnesses (not checked here)
        c.0.push(if tx.valid_contract { 0xf5 } else { 0xf4 });
        c.0.push(0xf6);
        hex::encode(c.0)
    }

    fn block_by(&self, hash_or_number: &str) -> Option<&FakeBlock> {
        match hash_or_number {
            "latest" => Some(self.ledger.tip()),
            n if n.len() < 20 => n.parse::<u64>().ok().and_then(|h| self.ledger.chain.iter().find(|b| b.height == h)),
            hash => self.ledger.chain.iter().find(|b| b.hash == hash),
        }
    }

    fn answer(&self, path_and_query: &str) -> HttpResponse {
        let path = path_and_query.split('?').next().unwrap_or_default();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match parts.as_slice() {
            ["blocks", id] => match self.block_by(id) {
                Some(block) => HttpResponse::Ok().json(self.block_json(block)),
                None => not_found(),
            },
            ["blocks", id, "txs"] => match self.block_by(id) {
                Some(block) => {
                    let count: usize = query(path_and_query, "count").and_then(|c| c.parse().ok()).unwrap_or(100);
                    let page: usize = query(path_and_query, "page").and_then(|c| c.parse().ok()).unwrap_or(1);
                    let txs = self.block_txs(block);
                    let slice: Vec<&String> = txs.iter().skip((page - 1) * count).take(count).collect();
                    HttpResponse::Ok().json(slice)
                }
                None => not_found(),
            },
            ["blocks", _, "txs", "cbor"] if self.without_cbor => not_found(),
            ["blocks", id, "txs", "cbor"] => match self.block_by(id) {
                Some(block) => {
                    let count: usize = query(path_and_query, "count").and_then(|c| c.parse().ok()).unwrap_or(100);
                    let page: usize = query(path_and_query, "page").and_then(|c| c.parse().ok()).unwrap_or(1);
                    let txs = self.block_txs(block);
                    let slice: Vec<Value> = txs
                        .iter()
                        .skip((page - 1) * count)
                        .take(count)
                        .map(|t| json!({"tx_hash": t, "cbor": self.tx_cbor(t)}))
                        .collect();
                    HttpResponse::Ok().json(slice)
                }
                None => not_found(),
            },
            ["txs", txid] => self.tx_json(txid).map_or_else(not_found, |v| HttpResponse::Ok().json(v)),
            ["txs", txid, "utxos"] => self.utxos_json(txid).map_or_else(not_found, |v| HttpResponse::Ok().json(v)),
            ["addresses", address, "transactions"] => {
                let mut found: Vec<(u64, usize, String)> = self
                    .txs
                    .iter()
                    .filter(|(_, tx)| tx.outputs.iter().any(|o| o.address == *address))
                    .filter_map(|(txid, _)| self.on_chain(txid).map(|(b, _, i)| (b.height, i, txid.clone())))
                    .collect();
                if found.is_empty() {
                    return not_found();
                }
                found.sort();
                if query(path_and_query, "order").as_deref() == Some("desc") {
                    found.reverse();
                }
                let count: usize = query(path_and_query, "count").and_then(|c| c.parse().ok()).unwrap_or(100);
                let list: Vec<Value> = found
                    .into_iter()
                    .take(count)
                    .map(|(height, index, txid)| {
                        json!({"tx_hash": txid, "tx_index": index, "block_height": height,
                               "block_time": slot_of(height) + SHELLEY_OFFSET})
                    })
                    .collect();
                HttpResponse::Ok().json(list)
            }
            _ => HttpResponse::BadRequest().json(json!({
                "status_code": 400, "error": "Bad Request", "message": "Invalid path"
            })),
        }
    }
}

/// A CBOR writer for what the fake encodes (RFC 8949, definite lengths).
#[derive(Default)]
struct Cbor(Vec<u8>);

impl Cbor {
    fn head(&mut self, major: u8, n: u64) {
        let major = major << 5;
        match n {
            0..=23 => self.0.push(major | n as u8),
            24..=0xff => self.0.extend([major | 24, n as u8]),
            0x100..=0xffff => {
                self.0.push(major | 25);
                self.0.extend((n as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                self.0.push(major | 26);
                self.0.extend((n as u32).to_be_bytes());
            }
            _ => {
                self.0.push(major | 27);
                self.0.extend(n.to_be_bytes());
            }
        }
    }

    fn uint(&mut self, n: u64) {
        self.head(0, n);
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.head(2, bytes.len() as u64);
        self.0.extend_from_slice(bytes);
    }

    fn tag(&mut self, tag: u64) {
        self.head(6, tag);
    }
}

async fn dispatch(req: HttpRequest, state: web::Data<Arc<Mutex<BlockfrostState>>>) -> HttpResponse {
    let path_and_query = req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let mode = {
        let mut state = state.lock().unwrap();
        state.requests += 1;
        state.last_project_id = req.headers().get("project_id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        state.paths.push(path_and_query.clone());
        state.mode
    };
    match mode {
        Mode::Normal => state.lock().unwrap().answer(&path_and_query),
        Mode::RateLimited(seconds) => {
            HttpResponse::TooManyRequests().insert_header(("retry-after", seconds.to_string())).json(json!({
                "status_code": 429,
                "error": "Project Over Limit",
                "message": "Your request was rate-limited, please slow down.",
            }))
        }
        Mode::Down => HttpResponse::BadGateway().content_type("text/html").body("<html>502 Bad Gateway</html>"),
        Mode::Malformed => HttpResponse::Ok().json(json!({"height": "not a number", "hash": 7})),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            HttpResponse::Ok().finish()
        }
    }
}

impl FakeBlockfrost {
    /// A chain of `blocks` empty blocks from `BASE_HEIGHT`.
    pub async fn start(blocks: usize) -> FakeBlockfrost {
        let mut ledger = UtxoChain::new("ada", BASE_HEIGHT, false);
        for _ in 1..blocks {
            ledger.mine(&[]);
        }
        let state = BlockfrostState {
            mode: Mode::Normal,
            ledger,
            txs: HashMap::new(),
            requests: 0,
            without_cbor: false,
            last_project_id: None,
            paths: Vec::new(),
        };
        let state = Arc::new(Mutex::new(state));
        let port = super::fakes::serve_all(web::Data::new(state.clone()), dispatch);
        FakeBlockfrost { base_url: format!("http://127.0.0.1:{port}"), state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    /// A transaction spending `inputs` and paying `outputs`, known only once
    /// mined; `invalid_hereafter` is its validity's (exclusive) upper slot.
    pub fn submit(&self, inputs: &[(&str, u32)], outputs: &[AdaOutput], invalid_hereafter: Option<u64>) -> String {
        self.submit_with(inputs, outputs, invalid_hereafter, true)
    }

    /// The same for a script transaction that fails phase 2 (`valid_contract: false`).
    pub fn submit_failing(&self, inputs: &[(&str, u32)], outputs: &[AdaOutput]) -> String {
        self.submit_with(inputs, outputs, None, false)
    }

    fn submit_with(
        &self,
        inputs: &[(&str, u32)],
        outputs: &[AdaOutput],
        invalid_hereafter: Option<u64>,
        valid_contract: bool,
    ) -> String {
        let mut state = self.state.lock().unwrap();
        let model: Vec<(Option<&str>, u64)> = outputs.iter().map(|o| (Some(o.address.as_str()), o.lovelace)).collect();
        let txid = state.ledger.broadcast(inputs, &model);
        state.txs.insert(txid.clone(), AdaTx { outputs: outputs.to_vec(), valid_contract, invalid_hereafter });
        txid
    }

    pub fn mine(&self, txids: &[&str]) -> FakeBlock {
        self.state.lock().unwrap().ledger.mine(txids)
    }

    pub fn paths(&self) -> Vec<String> {
        self.state.lock().unwrap().paths.clone()
    }
}

impl ExplorerFake for FakeBlockfrost {
    fn base_url(&self) -> &str {
        &self.base_url
    }
    fn requests(&self) -> usize {
        FakeBlockfrost::requests(self)
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

impl UtxoFake for FakeBlockfrost {
    fn with_chain<R>(&self, f: impl FnOnce(&mut UtxoChain) -> R) -> R {
        f(&mut self.state.lock().unwrap().ledger)
    }
}
