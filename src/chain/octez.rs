//! Tezos through an Octez node's RPC
//! (<https://octez.tezos.com/docs/active/rpc.html>, the shell's
//! <https://octez.tezos.com/docs/shell/rpc.html>). Followed block by block
//! (a `BlockChain`): the tip is `GET /chains/main/blocks/head/header` (level,
//! hash, predecessor, timestamp in one answer); a block is its header
//! (`GET /chains/main/blocks/{level}/header`) and its manager operations
//! (`GET /chains/main/blocks/{hash}/operations/3`, validation pass 3:
//! transactions with their `metadata.operation_result.status`), read by the
//! header's hash so both answers are the same block. What each operation
//! paid is kept for the blocks read last, so the payee check of a watched
//! operation in a block costs no request.
//!
//! The node has no index of operations by hash: an operation is found in
//! the blocks read, else in the mempool
//! (`GET /chains/main/mempool/pending_operations?version=2`). Under
//! Tenderbake a block is final with two blocks on top (3 confirmations by
//! default). Expiry: an operation names a recent block (`branch`) and can be
//! included only while that block is among the last `max_operations_ttl`
//! (`GET /chains/main/blocks/head/context/constants`,
//! `max_operations_time_to_live`; read once) levels: `valid_until` = the
//! branch's level + TTL, `Block::expiry_point` = the level. Replacement:
//! another operation used the sender's counter
//! (`GET /chains/main/blocks/head/context/contracts/{source}/counter`).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::http::{parse_json, ClientConfig, Endpoints, Reply};
use super::tezos_tokens::token_transfers;
use super::{
    Asset, BaseUnits, Block, BlockChain, BlockRef, BlockTx, ChainError, ConflictKey, Payment, Replaced, TxInfo,
    TxLocation,
};

/// XTZ has 6 decimals: amounts are in mutez.
pub const DECIMALS: u32 = 6;
/// `max_operations_time_to_live` when the node's constants do not say.
pub const DEFAULT_MAX_OPERATIONS_TTL: u64 = 240;
/// Blocks whose operations are kept for `transactions_in_block`, lookups and
/// discovery (about 16 minutes at 8 s a block).
const KEPT_BLOCKS: usize = 120;
/// How long one mempool read answers lookups when no block is read
/// meanwhile.
const MEMPOOL_FRESH: Duration = Duration::from_secs(5);

#[derive(Deserialize)]
struct Header {
    hash: String,
    level: u64,
    predecessor: String,
    timestamp: DateTime<Utc>,
}

/// An operation as `operations/3` and the mempool list it.
#[derive(Deserialize)]
struct Operation {
    hash: String,
    branch: String,
    #[serde(default)]
    contents: Vec<Content>,
}

#[derive(Deserialize)]
struct Content {
    kind: String,
    source: Option<String>,
    /// Decimal text.
    counter: Option<String>,
    destination: Option<String>,
    /// Mutez, decimal text.
    amount: Option<String>,
    /// A contract call's entrypoint and Micheline argument.
    parameters: Option<Parameters>,
    /// Absent in the mempool (not applied yet).
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct Parameters {
    entrypoint: String,
    value: Value,
}

#[derive(Deserialize)]
struct Metadata {
    operation_result: Option<OperationResult>,
    #[serde(default)]
    internal_operation_results: Vec<InternalResult>,
}

#[derive(Deserialize)]
struct OperationResult {
    /// `applied`, `failed`, `backtracked` or `skipped`.
    status: String,
}

/// A transfer a contract made while the operation ran.
#[derive(Deserialize)]
struct InternalResult {
    kind: String,
    destination: Option<String>,
    amount: Option<String>,
    parameters: Option<Parameters>,
    result: Option<OperationResult>,
}

/// `pending_operations?version=2`: each class a list of operations
/// (version 2 writes each as an object with its `hash`; older versions as
/// `[hash, operation]` pairs, and `applied` for `validated`: both read).
#[derive(Deserialize)]
struct Mempool {
    #[serde(default, alias = "applied")]
    validated: Vec<Pending>,
    #[serde(default)]
    branch_delayed: Vec<Pending>,
    #[serde(default)]
    unprocessed: Vec<Pending>,
}

/// One mempool entry, in either form.
#[derive(Deserialize)]
#[serde(untagged)]
enum Pending {
    Object(Operation),
    Pair(String, PairedOperation),
}

#[derive(Deserialize)]
struct PairedOperation {
    branch: String,
    #[serde(default)]
    contents: Vec<Content>,
}

impl Pending {
    fn into_operation(self) -> Operation {
        match self {
            Pending::Object(op) => op,
            Pending::Pair(hash, op) => Operation { hash, branch: op.branch, contents: op.contents },
        }
    }
}

#[derive(Deserialize)]
struct Constants {
    max_operations_time_to_live: Option<u64>,
}

fn applied(result: &Option<OperationResult>) -> bool {
    result.as_ref().is_some_and(|r| r.status == "applied")
}

fn mutez(amount: &Option<String>) -> Option<BaseUnits> {
    amount.as_deref()?.parse::<u128>().ok().map(BaseUnits::new)
}

impl Operation {
    /// Whether it is a manager operation with a transaction in it (the only
    /// kind that pays).
    fn pays(&self) -> bool {
        self.contents.iter().any(|c| c.kind == "transaction")
    }

    /// Applied when every content was (a batch is applied whole or not at
    /// all); `None` before it ran (the mempool).
    fn success(&self) -> Option<bool> {
        let results: Vec<&Option<OperationResult>> =
            self.contents.iter().filter_map(|c| c.metadata.as_ref().map(|m| &m.operation_result)).collect();
        if results.is_empty() {
            return None;
        }
        Some(results.iter().all(|r| applied(r)))
    }

    /// What its transactions ask to pay, before it ran (the mempool): tez
    /// in mutez to each `destination`, tokens by their `transfer` calls.
    fn requested_payments(&self) -> Vec<Payment> {
        self.contents
            .iter()
            .filter(|c| c.kind == "transaction")
            .flat_map(|c| transfer_payments(&c.destination, &c.amount, &c.parameters))
            .collect()
    }

    /// Tez moved by its transactions and by the contracts they called, and
    /// the tokens their `transfer` calls moved, when applied.
    fn payments(&self) -> Vec<Payment> {
        let mut payments = Vec::new();
        for content in self.contents.iter().filter(|c| c.kind == "transaction") {
            let Some(metadata) = &content.metadata else { continue };
            if !applied(&metadata.operation_result) {
                continue;
            }
            payments.extend(transfer_payments(&content.destination, &content.amount, &content.parameters));
            for internal in metadata.internal_operation_results.iter().filter(|i| i.kind == "transaction") {
                if applied(&internal.result) {
                    payments.extend(transfer_payments(&internal.destination, &internal.amount, &internal.parameters));
                }
            }
        }
        payments
    }

    /// The first manager content's source and counter.
    fn conflict(&self) -> ConflictKey {
        let first = self.contents.iter().find(|c| c.source.is_some() && c.counter.is_some());
        ConflictKey::Nonce {
            from: first.and_then(|c| c.source.clone()).unwrap_or_default(),
            nonce: first.and_then(|c| c.counter.as_deref()).and_then(|c| c.parse().ok()).unwrap_or_default(),
        }
    }

    fn info(&self, location: TxLocation, valid_until: Option<u64>) -> TxInfo {
        let (success, payments) = match location {
            TxLocation::Block(_) => {
                let success = self.success();
                (success, if success == Some(true) { self.payments() } else { Vec::new() })
            }
            TxLocation::Mempool => (None, self.requested_payments()),
        };
        TxInfo { txid: self.hash.clone(), location, success, payments, conflict: self.conflict(), valid_until }
    }
}

/// The mempool as last read: its pending operations by hash, with their
/// branch.
struct MempoolRead {
    at: Instant,
    pending: HashMap<String, (String, TxInfo)>,
}

/// A block read by `block_at`: what its paying operations did.
struct ReadBlock {
    at: BlockRef,
    txs: HashMap<String, TxInfo>,
}

/// Octez node RPC endpoints, tried in order.
pub struct OctezClient {
    api: Endpoints,
    /// The blocks read last, oldest first.
    read: Mutex<VecDeque<ReadBlock>>,
    /// `max_operations_time_to_live`, once read.
    ttl: Mutex<Option<u64>>,
    /// Levels of branch blocks asked for (a block's level never changes).
    branch_levels: Mutex<HashMap<String, u64>>,
    /// Shared by the lookups until the next block read (or `MEMPOOL_FRESH`).
    mempool: Mutex<Option<Arc<MempoolRead>>>,
}

/// JSON for a 2xx, `None` for a 404 (an unknown block, or a level above
/// the head).
fn found<T: serde::de::DeserializeOwned>(reply: Reply, path: &str) -> Result<Option<T>, ChainError> {
    if reply.status == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !reply.status.is_success() {
        return Err(reply.unexpected_status());
    }
    parse_json(&reply.body, path).map(Some)
}

impl OctezClient {
    pub fn new(config: ClientConfig) -> Self {
        Self {
            api: Endpoints::new(config),
            read: Mutex::new(VecDeque::new()),
            ttl: Mutex::new(None),
            branch_levels: Mutex::new(HashMap::new()),
            mempool: Mutex::new(None),
        }
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<Option<T>, ChainError> {
        self.api.get(path, |reply| found(reply, path)).await
    }

    async fn header(&self, block: &str) -> Result<Option<Header>, ChainError> {
        self.get(&format!("/chains/main/blocks/{block}/header")).await
    }

    /// `max_operations_time_to_live` from the head's constants, read once;
    /// the default when the node's protocol does not list it.
    pub async fn max_operations_ttl(&self) -> Result<u64, ChainError> {
        if let Some(ttl) = *self.ttl.lock().expect("not poisoned") {
            return Ok(ttl);
        }
        let constants: Option<Constants> = self.get("/chains/main/blocks/head/context/constants").await?;
        let ttl = constants.and_then(|c| c.max_operations_time_to_live).unwrap_or(DEFAULT_MAX_OPERATIONS_TTL);
        *self.ttl.lock().expect("not poisoned") = Some(ttl);
        Ok(ttl)
    }

    /// The last level that may include an operation on `branch`.
    async fn valid_until(&self, branch: &str) -> Result<Option<u64>, ChainError> {
        let known = self.branch_levels.lock().expect("not poisoned").get(branch).copied();
        let level = match known {
            Some(level) => level,
            None => {
                // A branch the node no longer knows is long past any TTL.
                let Some(header) = self.header(branch).await? else { return Ok(None) };
                self.branch_levels.lock().expect("not poisoned").insert(branch.to_owned(), header.level);
                header.level
            }
        };
        Ok(Some(level + self.max_operations_ttl().await?))
    }

    /// The mempool's pending operations (validated, branch delayed,
    /// unprocessed): one request, shared by every lookup until the next
    /// block read.
    async fn mempool(&self) -> Result<Arc<MempoolRead>, ChainError> {
        let fresh = self.mempool.lock().expect("not poisoned").clone().filter(|m| m.at.elapsed() < MEMPOOL_FRESH);
        if let Some(read) = fresh {
            return Ok(read);
        }
        let path = "/chains/main/mempool/pending_operations?version=2";
        let mempool: Mempool = self.get(path).await?.ok_or(ChainError::NotFound)?;
        let pending = mempool
            .validated
            .into_iter()
            .chain(mempool.branch_delayed)
            .chain(mempool.unprocessed)
            .map(Pending::into_operation)
            .map(|op| (op.hash.clone(), (op.branch.clone(), op.info(TxLocation::Mempool, None))))
            .collect();
        let read = Arc::new(MempoolRead { at: Instant::now(), pending });
        *self.mempool.lock().expect("not poisoned") = Some(read.clone());
        Ok(read)
    }

    fn remember(&self, block: ReadBlock) {
        *self.mempool.lock().expect("not poisoned") = None;
        let mut read = self.read.lock().expect("not poisoned");
        read.retain(|b| b.at.height != block.at.height);
        read.push_back(block);
        while read.len() > KEPT_BLOCKS {
            read.pop_front();
        }
    }

    fn kept(&self, txid: &str) -> Option<TxInfo> {
        self.read.lock().expect("not poisoned").iter().rev().find_map(|b| b.txs.get(txid).cloned())
    }
}

/// One transaction's payments: its tez (mutez) to `destination`, and when
/// it calls a token contract's `transfer`, the tokens it moves.
fn transfer_payments(
    destination: &Option<String>,
    amount: &Option<String>,
    parameters: &Option<Parameters>,
) -> Vec<Payment> {
    let Some(to) = destination else { return Vec::new() };
    let mut payments = Vec::new();
    if let Some(amount) = mutez(amount).filter(|a| *a != BaseUnits::ZERO) {
        payments.push(Payment { to: to.clone(), amount, asset: Asset::Native, memo: None });
    }
    if let Some(parameters) = parameters.as_ref().filter(|p| p.entrypoint == "transfer") {
        payments.extend(token_transfers(to, &parameters.value));
    }
    payments
}

fn block_ref(header: &Header) -> BlockRef {
    BlockRef { height: header.level, hash: header.hash.clone() }
}

#[async_trait]
impl BlockChain for OctezClient {
    fn name(&self) -> &'static str {
        "octez"
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn tip(&self) -> Result<BlockRef, ChainError> {
        let header = self
            .header("head")
            .await?
            .ok_or_else(|| ChainError::Unavailable("/chains/main/blocks/head/header: no head".to_owned()))?;
        Ok(block_ref(&header))
    }

    /// The header, then the manager operations of that very block (by its
    /// hash); the block lists each operation with a transaction in it, in
    /// block order.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn block_at(&self, height: u64) -> Result<Block, ChainError> {
        let header = self.header(&height.to_string()).await?.ok_or(ChainError::NotFound)?;
        let at = block_ref(&header);
        let path = format!("/chains/main/blocks/{}/operations/3", header.hash);
        let ops: Vec<Operation> = self.get(&path).await?.ok_or(ChainError::NotFound)?;
        let mut txs = Vec::new();
        let mut infos = HashMap::new();
        for op in ops.iter().filter(|op| op.pays()) {
            txs.push(BlockTx { txid: op.hash.clone(), call: None });
            infos.insert(op.hash.clone(), op.info(TxLocation::Block(at.clone()), None));
        }
        self.remember(ReadBlock { at: at.clone(), txs: infos });
        Ok(Block {
            at,
            parent_hash: Some(header.predecessor.clone()),
            txs,
            time: Some(header.timestamp),
            expiry_point: Some(header.level),
        })
    }

    async fn is_in_best_chain(&self, block: &BlockRef) -> Result<bool, ChainError> {
        let hash: Option<String> = self.get(&format!("/chains/main/blocks/{}/hash", block.height)).await?;
        Ok(hash.is_some_and(|h| h == block.hash))
    }

    /// From the blocks read (no request), else the mempool (one request
    /// shared by the lookups until the next block read; plus the branch's
    /// header once per branch, for `valid_until`).
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn transaction(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        if let Some(info) = self.kept(txid) {
            return Ok(Some(info));
        }
        let mempool = self.mempool().await?;
        let Some((branch, info)) = mempool.pending.get(txid) else { return Ok(None) };
        let valid_until = self.valid_until(branch).await?;
        Ok(Some(TxInfo { valid_until, ..info.clone() }))
    }

    /// From the operations read with the block: no request (one the block
    /// did not list is looked up).
    async fn transactions_in_block(&self, block: &Block, txids: &[String]) -> Result<Vec<TxInfo>, ChainError> {
        let mut found = Vec::with_capacity(txids.len());
        let mut missing = Vec::new();
        {
            let read = self.read.lock().expect("not poisoned");
            let kept = read.iter().find(|b| b.at == block.at);
            for txid in txids {
                match kept.and_then(|b| b.txs.get(txid)) {
                    Some(info) => found.push(info.clone()),
                    None => missing.push(txid.clone()),
                }
            }
        }
        for txid in missing {
            found.extend(self.transaction(&txid).await?);
        }
        Ok(found)
    }

    /// A payee checked in the mempool still needs the block's result (an
    /// operation can fail there), which the block read already holds.
    fn outcome_in_block(&self) -> bool {
        true
    }

    /// Payments are found in each new block's operations: no address index
    /// needed.
    fn discovers_in_blocks(&self) -> bool {
        true
    }

    /// What the block's applied transactions paid, from the operations read
    /// with it (their results are in the block already).
    fn requested_payments(&self, block: &Block) -> Vec<(String, Payment)> {
        let read = self.read.lock().expect("not poisoned");
        let Some(kept) = read.iter().find(|b| b.at == block.at) else { return Vec::new() };
        block
            .txs
            .iter()
            .filter_map(|tx| kept.txs.get(&tx.txid))
            .flat_map(|info| info.payments.iter().map(|p| (info.txid.clone(), p.clone())))
            .collect()
    }

    /// Replaced once the sender's counter reached the operation's own while
    /// neither the blocks read nor the mempool hold it: another operation
    /// used that counter.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn replacement(&self, txid: &str, conflict: &ConflictKey) -> Result<Option<Replaced>, ChainError> {
        let ConflictKey::Nonce { from, nonce } = conflict else { return Ok(None) };
        if from.is_empty() {
            return Ok(None);
        }
        let path = format!("/chains/main/blocks/head/context/contracts/{from}/counter");
        let counter: Option<String> = self.get(&path).await?;
        let used = counter.and_then(|c| c.parse::<u64>().ok()).is_some_and(|counter| counter >= *nonce);
        let _ = txid;
        Ok(used.then_some(Replaced { by: None }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(contents: serde_json::Value) -> Operation {
        serde_json::from_value(serde_json::json!({"hash": "oo1", "branch": "BL1", "contents": contents})).unwrap()
    }

    fn tx(status: &str, to: &str, amount: &str) -> serde_json::Value {
        serde_json::json!({"kind": "transaction", "source": "tz1src", "counter": "42", "amount": amount,
            "destination": to, "metadata": {"operation_result": {"status": status}}})
    }

    #[test]
    fn an_applied_batch_pays_its_transfers_and_internal_ones_in_mutez() {
        let mut contract_call = tx("applied", "KT1batch", "0");
        contract_call["metadata"]["internal_operation_results"] = serde_json::json!([
            {"kind": "transaction", "source": "KT1batch", "destination": "tz1b", "amount": "7",
             "result": {"status": "applied"}},
            {"kind": "event", "source": "KT1batch", "result": {"status": "applied"}}
        ]);
        let reveal = serde_json::json!({"kind": "reveal", "source": "tz1src", "counter": "41",
            "metadata": {"operation_result": {"status": "applied"}}});
        let batch = op(serde_json::json!([reveal, tx("applied", "tz1a", "1500000"), contract_call]));
        assert_eq!(batch.success(), Some(true));
        let paid: Vec<(String, u128)> = batch.payments().into_iter().map(|p| (p.to, p.amount.get())).collect();
        assert_eq!(paid, [("tz1a".to_owned(), 1_500_000), ("tz1b".to_owned(), 7)]);
        assert_eq!(batch.conflict(), ConflictKey::Nonce { from: "tz1src".into(), nonce: 41 });
    }

    #[test]
    fn mempool_entries_are_read_as_objects_or_pairs() {
        let content = serde_json::json!({"kind": "transaction", "source": "tz1src", "counter": "9",
            "amount": "5", "destination": "tz1a"});
        let v2 = serde_json::json!({"validated": [{"hash": "oo1", "branch": "BL1", "contents": [content]}],
            "branch_delayed": [{"hash": "oo2", "branch": "BL2", "contents": [], "error": []}]});
        let v0 = serde_json::json!({"applied": [{"hash": "oo3", "branch": "BL3", "contents": [content]}],
            "branch_delayed": [["oo4", {"branch": "BL4", "contents": [content], "error": []}]]});
        for (answer, hashes) in [(v2, ["oo1", "oo2"]), (v0, ["oo3", "oo4"])] {
            let mempool: Mempool = serde_json::from_value(answer).unwrap();
            let ops: Vec<Operation> =
                mempool.validated.into_iter().chain(mempool.branch_delayed).map(Pending::into_operation).collect();
            assert_eq!(ops.iter().map(|op| op.hash.as_str()).collect::<Vec<_>>(), hashes);
        }
    }

    #[test]
    fn a_failed_content_fails_the_operation_and_pays_nothing() {
        for status in ["failed", "backtracked", "skipped"] {
            let failed = op(serde_json::json!([tx("backtracked", "tz1a", "5"), tx(status, "tz1b", "6")]));
            assert_eq!(failed.success(), Some(false), "{status}");
            let info = failed.info(TxLocation::Block(BlockRef { height: 1, hash: "BL".into() }), None);
            assert!(info.payments.is_empty());
        }
        let pending = op(serde_json::json!([{"kind": "transaction", "source": "tz1src", "counter": "9",
            "amount": "5", "destination": "tz1a"}]));
        assert_eq!(pending.success(), None, "not run yet");
        let info = pending.info(TxLocation::Mempool, Some(7));
        let asked: Vec<(String, u128)> = info.payments.into_iter().map(|p| (p.to, p.amount.get())).collect();
        assert_eq!((info.success, asked), (None, vec![("tz1a".to_owned(), 5)]), "what it asks to pay");
    }
}
