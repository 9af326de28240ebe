//! NEAR Protocol through a node's JSON-RPC (JSON-RPC 2.0 on the shared
//! transport). Followed by status (a `StatusChain`): NEAR makes a block a
//! second, sharded; the exchange knows its transaction's hash and its
//! signer (the hot wallet, configured as the network's `senders`).
//!
//! - Tip: `block` with `{"finality": "final"}` (`header.height`,
//!   `header.hash`).
//! - A transaction: `tx` with `{"tx_hash", "sender_account_id",
//!   "wait_until": "NONE"}`. `NONE` answers at once with the level the
//!   transaction reached (`final_execution_status`: `NONE`, `INCLUDED`,
//!   `EXECUTED_OPTIMISTIC`, `INCLUDED_FINAL`, `EXECUTED`, `FINAL`) and the
//!   outcome so far; waiting for `FINAL` instead would hold one connection
//!   per pending transaction for up to the node's 10 s polling timeout and
//!   end in `TIMEOUT_ERROR`. A `TIMEOUT_ERROR` at `NONE` (the node holds the
//!   transaction in its pool and waited for it in vain) is read as known and
//!   pending: an answer, not an outage. The signer's account picks the
//!   shard: each of `senders` is tried until one knows the hash
//!   (`UNKNOWN_TRANSACTION` otherwise).
//! - Final once `final_execution_status` is `FINAL`: the transaction's block
//!   and every receipt's block are final. A payment's credit is a receipt
//!   executed in a later block than the transaction; its block is where the
//!   withdrawal completes (its height read once through `block` by hash).
//! - Outcome: `status` is `{"SuccessValue": ..}` or `{"Failure": ..}` (a
//!   failed receipt anywhere fails it).
//! - Payments: the `Transfer` action's `deposit` (yoctoNEAR) to the
//!   transaction's `receiver_id`; a NEP-141 `ft_transfer` `FunctionCall`
//!   (args: base64 JSON `receiver_id`, `amount`, `memo`) pays
//!   `Asset::Token(<token contract>)`, e.g. `usdt.tether-token.near`.
//! - Expiry: a transaction names a recent block hash and can be included
//!   only within `VALIDITY_PERIOD_BLOCKS` (86400) blocks of it: one the node
//!   does not know is `expired` once the final tip passes the height
//!   recorded at broadcast (`last_valid_height` = that block's height +
//!   86400).
//!
//! Reference: <https://docs.near.org/api/rpc/transactions> (`tx`,
//! `wait_until`, `TxExecutionStatus`, errors `UNKNOWN_TRANSACTION`,
//! `TIMEOUT_ERROR`), <https://docs.near.org/api/rpc/block-chunk> (`block`,
//! `finality`), <https://nomicon.io/Standards/Tokens/FungibleToken/Core>
//! (`ft_transfer`).

use std::collections::HashMap;

use async_trait::async_trait;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::final_answers::FinalAnswers;
use super::http::ClientConfig;
use super::jsonrpc::{from_value, Envelope, JsonRpc, RpcError};
use super::{
    Asset, BaseUnits, BlockRef, ChainError, ConflictKey, Payment, PendingTx, StatusChain, TxInfo, TxLocation, TxStatus,
};

/// Public mainnet RPC endpoints (<https://docs.near.org/api/rpc/providers>),
/// for a default configuration; none is asked before the first poll.
pub const DEFAULT_URLS: [&str; 2] = ["https://free.rpc.fastnear.com", "https://near.lava.build"];
/// How many `tx` requests one `statuses_of` call runs at once.
pub const MAX_CONCURRENT: usize = 20;
/// Blocks after its reference block hash within which a transaction can be
/// included (mainnet's `transaction_validity_period`).
pub const VALIDITY_PERIOD_BLOCKS: u64 = 86_400;
/// NEP-141's transfer method.
pub const FT_TRANSFER: &str = "ft_transfer";
/// Block heights by hash kept at most.
const KEPT_HEIGHTS: usize = 10_000;

/// `TxExecutionStatus`, in order.
const LEVELS: [&str; 6] = ["NONE", "INCLUDED", "EXECUTED_OPTIMISTIC", "INCLUDED_FINAL", "EXECUTED", "FINAL"];

/// NEAR's error objects: `name` (`HANDLER_ERROR`, `REQUEST_VALIDATION_ERROR`,
/// `INTERNAL_ERROR`) with a `cause.name`.
fn classify(error: &RpcError, method: &str) -> ChainError {
    let name = error.object.get("name").and_then(Value::as_str).unwrap_or("");
    let cause = cause_of(error);
    let describe = || format!("{} ({name}/{cause})", error.describe(method));
    match cause {
        "UNKNOWN_TRANSACTION" | "UNKNOWN_BLOCK" | "UNKNOWN_CHUNK" | "UNKNOWN_EPOCH" => ChainError::NotFound,
        // `tx`: the node knows the transaction (in its pool) but it did not
        // reach the level asked for in time. An answer, not an outage: no
        // other node would say more (`NearClient::tx` reads it as pending).
        "TIMEOUT_ERROR" if method == "tx" => ChainError::NotFound,
        // This node is behind or busy: another may answer.
        "TIMEOUT_ERROR" | "NOT_SYNCED_YET" | "NO_SYNCED_BLOCKS" | "INTERNAL_ERROR" => {
            ChainError::Unavailable(describe())
        }
        _ if error.says_rate_limited() => ChainError::RateLimited { retry_after: None },
        _ if name == "INTERNAL_ERROR" => ChainError::Unavailable(describe()),
        _ => ChainError::BadResponse(describe()),
    }
}

/// `cause.name`; for an error in the legacy shape (only `code`, `message`
/// and `data`), `UNKNOWN_TRANSACTION` when `data` says it does not exist.
fn cause_of(error: &RpcError) -> &str {
    if let Some(cause) = error.object.pointer("/cause/name").and_then(Value::as_str) {
        return cause;
    }
    let data = error.object.get("data").and_then(Value::as_str).unwrap_or("");
    if data.contains("doesn't exist") {
        "UNKNOWN_TRANSACTION"
    } else {
        ""
    }
}

#[derive(Deserialize)]
struct BlockView {
    header: BlockHeader,
}

#[derive(Deserialize)]
struct BlockHeader {
    height: u64,
    hash: String,
}

#[derive(Deserialize)]
struct TxAnswer {
    #[serde(default)]
    final_execution_status: Option<String>,
    /// `"NotStarted"`, `"Started"`, `{"SuccessValue": ..}`, `{"Failure": ..}`.
    #[serde(default)]
    status: Option<Value>,
    #[serde(default)]
    transaction: Option<TxView>,
    #[serde(default)]
    transaction_outcome: Option<OutcomeWithId>,
    #[serde(default)]
    receipts_outcome: Vec<OutcomeWithId>,
}

#[derive(Deserialize)]
struct TxView {
    hash: String,
    receiver_id: String,
    /// `{"Transfer": {"deposit"}}`, `{"FunctionCall": {..}}`, or a bare name
    /// such as `"CreateAccount"`.
    #[serde(default)]
    actions: Vec<Value>,
}

#[derive(Deserialize)]
struct OutcomeWithId {
    block_hash: String,
    outcome: Outcome,
}

#[derive(Deserialize)]
struct Outcome {
    executor_id: String,
}

#[derive(Deserialize)]
struct FtTransferArgs {
    receiver_id: String,
    amount: String,
    #[serde(default)]
    memo: Option<String>,
}

impl TxAnswer {
    /// A transaction the node holds in its pool: known, in no block.
    fn pooled() -> TxAnswer {
        TxAnswer {
            final_execution_status: Some("NONE".to_owned()),
            status: None,
            transaction: None,
            transaction_outcome: None,
            receipts_outcome: Vec::new(),
        }
    }

    fn level(&self) -> usize {
        let status = self.final_execution_status.as_deref().unwrap_or("NONE");
        LEVELS.iter().position(|l| *l == status).unwrap_or(0)
    }

    fn is_final(&self) -> bool {
        self.final_execution_status.as_deref() == Some("FINAL")
    }

    fn success(&self) -> Option<bool> {
        match self.status.as_ref()? {
            Value::Object(status) if status.contains_key("SuccessValue") => Some(true),
            Value::Object(status) if status.contains_key("Failure") => Some(false),
            _ => None,
        }
    }

    /// The block where the payment is credited: the first receipt the
    /// transaction's receiver executed (the payee for a transfer, the token
    /// contract for `ft_transfer`), else the transaction's own block.
    fn credit_block(&self) -> Option<&str> {
        let receiver = self.transaction.as_ref().map(|t| t.receiver_id.as_str());
        self.receipts_outcome
            .iter()
            .find(|r| Some(r.outcome.executor_id.as_str()) == receiver)
            .or(self.transaction_outcome.as_ref())
            .map(|o| o.block_hash.as_str())
    }

    /// What the transaction's actions pay (only a successful one pays).
    fn payments(&self) -> Vec<Payment> {
        let Some(tx) = &self.transaction else { return Vec::new() };
        let mut payments = Vec::new();
        for action in &tx.actions {
            if let Some(deposit) = action.pointer("/Transfer/deposit").and_then(Value::as_str) {
                let Ok(amount) = deposit.parse::<u128>() else { continue };
                payments.push(Payment {
                    to: tx.receiver_id.clone(),
                    amount: BaseUnits::new(amount),
                    asset: Asset::Native,
                    memo: None,
                });
            } else if let Some(call) = action.get("FunctionCall") {
                if call.get("method_name").and_then(Value::as_str) != Some(FT_TRANSFER) {
                    continue;
                }
                let Some(args) = call.get("args").and_then(Value::as_str).and_then(ft_transfer_args) else { continue };
                let Ok(amount) = args.amount.parse::<u128>() else { continue };
                payments.push(Payment {
                    to: args.receiver_id,
                    amount: BaseUnits::new(amount),
                    asset: Asset::Token(tx.receiver_id.clone()),
                    memo: args.memo,
                });
            }
        }
        payments
    }
}

/// `ft_transfer`'s arguments: base64 of their JSON.
fn ft_transfer_args(base64: &str) -> Option<FtTransferArgs> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(base64).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// NEAR RPC endpoints, tried in order.
pub struct NearClient {
    rpc: JsonRpc,
    /// The accounts whose transactions are followed (the exchange's hot
    /// wallets), tried in order for each hash.
    senders: Vec<String>,
    heights: tokio::sync::Mutex<HashMap<String, u64>>,
    finals: FinalAnswers,
}

impl NearClient {
    /// `senders`: the signer accounts of the transactions to follow.
    pub fn new(config: ClientConfig, senders: impl IntoIterator<Item = String>) -> Self {
        Self {
            rpc: JsonRpc::new(config, Envelope::JsonRpc2, classify),
            senders: senders.into_iter().collect(),
            heights: tokio::sync::Mutex::new(HashMap::new()),
            finals: FinalAnswers::default(),
        }
    }

    async fn block(&self, params: Value) -> Result<BlockRef, ChainError> {
        let block: BlockView = self.rpc.request("block", params).await?;
        Ok(BlockRef { height: block.header.height, hash: block.header.hash })
    }

    /// A block's height by its hash, asked once: the lookups of one batch
    /// (its transactions mostly share their blocks) wait for each other.
    async fn block_by_hash(&self, hash: &str) -> Result<BlockRef, ChainError> {
        let mut heights = self.heights.lock().await;
        if let Some(&height) = heights.get(hash) {
            return Ok(BlockRef { height, hash: hash.to_owned() });
        }
        let block = self.block(json!({ "block_id": hash })).await?;
        if heights.len() >= KEPT_HEIGHTS {
            heights.clear();
        }
        heights.insert(block.hash.clone(), block.height);
        Ok(block)
    }

    /// The transaction as the node knows it now, asked under each sender in
    /// turn; `None` when none knows it.
    async fn tx(&self, txid: &str) -> Result<Option<TxAnswer>, ChainError> {
        for sender in &self.senders {
            let params = json!({"tx_hash": txid, "sender_account_id": sender, "wait_until": "NONE"});
            match self.rpc.call("tx", params).await? {
                Ok(result) => return from_value(result, "tx").map(Some),
                Err(error) => match cause_of(&error) {
                    "UNKNOWN_TRANSACTION" => continue,
                    // Not a hash the node can read: no node knows it, and
                    // the other transactions of the batch still get answers.
                    "PARSE_ERROR" => return Ok(None),
                    // Known (in the pool), in no block yet.
                    "TIMEOUT_ERROR" => return Ok(Some(TxAnswer::pooled())),
                    _ => return Err(classify(&error, "tx")),
                },
            }
        }
        Ok(None)
    }

    async fn info(&self, txid: &str, answer: &TxAnswer) -> Result<TxInfo, ChainError> {
        let location = match answer.credit_block() {
            Some(hash) if answer.level() >= 1 => match self.block_by_hash(hash).await {
                Ok(block) => TxLocation::Block(block),
                // A node a block behind the one that answered `tx`: placed next poll.
                Err(ChainError::NotFound) => TxLocation::Mempool,
                Err(error) => return Err(error),
            },
            _ => TxLocation::Mempool,
        };
        let success = if answer.is_final() { answer.success() } else { None };
        Ok(TxInfo {
            txid: answer.transaction.as_ref().map_or_else(|| txid.to_owned(), |t| t.hash.clone()),
            location,
            success,
            payments: if success == Some(true) { answer.payments() } else { Vec::new() },
            // An access key's nonce orders its transactions, but nothing
            // takes a sent one's place: it lands or expires.
            conflict: ConflictKey::Outpoints(Vec::new()),
            // The reference block hash is not in the answer: only the
            // recorded height tells.
            valid_until: None,
        })
    }

    async fn status(&self, pending: &PendingTx, tip: u64) -> Result<TxStatus, ChainError> {
        let Some(answer) = self.tx(&pending.txid).await? else {
            return Ok(TxStatus {
                txid: pending.txid.clone(),
                location: None,
                finalized: false,
                success: None,
                expired: pending.last_valid_height.is_some_and(|last| tip > last),
            });
        };
        let info = self.info(&pending.txid, &answer).await?;
        let finalized = answer.is_final();
        let status = TxStatus {
            txid: pending.txid.clone(),
            location: Some(info.location.clone()),
            finalized,
            success: info.success,
            expired: false,
        };
        if finalized {
            self.finals.keep(&pending.txid, info);
        }
        Ok(status)
    }
}

#[async_trait]
impl StatusChain for NearClient {
    fn name(&self) -> &'static str {
        "near_rpc"
    }

    fn max_batch(&self) -> usize {
        MAX_CONCURRENT
    }

    /// The newest final block.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn tip(&self) -> Result<BlockRef, ChainError> {
        self.block(json!({ "finality": "final" })).await
    }

    /// The final tip once, then one `tx` per transaction (per sender until
    /// one knows it), `MAX_CONCURRENT` at a time. Final at `FINAL`; the
    /// outcome is reported only then; an unknown transaction is `expired`
    /// once the final tip passes its recorded last valid height.
    #[tracing::instrument(skip_all, fields(count = txs.len()), err(level = "debug"))]
    async fn statuses_of(&self, txs: &[PendingTx]) -> Result<Vec<TxStatus>, ChainError> {
        let tip = self.tip().await?.height;
        super::in_chunks(txs, MAX_CONCURRENT, |tx| self.status(tx, tip)).await
    }

    /// The outcome and payments (kept from the last final status, else read
    /// again); `None` when no sender's shard knows it.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn transaction(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        if let Some(info) = self.finals.take(txid) {
            return Ok(Some(info));
        }
        match self.tx(txid).await? {
            Some(answer) => Ok(Some(self.info(txid, &answer).await?)),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(value: Value) -> TxAnswer {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn transfers_and_ft_transfers_are_payments() {
        let args = base64::engine::general_purpose::STANDARD
            .encode(br#"{"receiver_id":"bob.near","amount":"25500000","memo":"order 7"}"#);
        let tx = |receiver: &str, action: Value| {
            answer(json!({
                "final_execution_status": "FINAL",
                "status": {"SuccessValue": ""},
                "transaction": {"hash": "h", "signer_id": "hot.near", "receiver_id": receiver, "actions": [action]},
                "transaction_outcome": {"id": "h", "block_hash": "B1", "outcome": {"executor_id": "hot.near"}},
                "receipts_outcome": [{"id": "r", "block_hash": "B2", "outcome": {"executor_id": receiver}}]
            }))
        };
        let native = tx("bob.near", json!({"Transfer": {"deposit": "1500000000000000000000000"}}));
        assert_eq!(
            native.payments(),
            [Payment {
                to: "bob.near".into(),
                amount: BaseUnits::new(1_500_000_000_000_000_000_000_000),
                asset: Asset::Native,
                memo: None
            }]
        );
        assert_eq!(native.credit_block(), Some("B2"), "the credit lands in the receipt's block");
        let call = json!({"FunctionCall": {"method_name": "ft_transfer", "args": args, "gas": 30, "deposit": "1"}});
        let usdt = tx("usdt.tether-token.near", call);
        let paid = &usdt.payments()[0];
        assert_eq!(
            (paid.to.as_str(), paid.amount, &paid.asset, paid.memo.as_deref()),
            ("bob.near", BaseUnits::new(25_500_000), &Asset::Token("usdt.tether-token.near".into()), Some("order 7"))
        );
        let other = json!({"FunctionCall": {"method_name": "storage_deposit", "args": args, "gas": 1, "deposit": "0"}});
        assert!(tx("usdt.tether-token.near", other).payments().is_empty());
        assert!(tx("x.near", json!("CreateAccount")).payments().is_empty());
    }

    #[test]
    fn outcomes_and_levels() {
        let failed = answer(json!({"final_execution_status": "FINAL", "status": {"Failure": {"ActionError": {}}}}));
        assert_eq!((failed.success(), failed.is_final()), (Some(false), true));
        let started = answer(json!({"final_execution_status": "INCLUDED", "status": "Started"}));
        assert_eq!((started.success(), started.is_final(), started.level()), (None, false, 1));
        assert_eq!(answer(json!({})).level(), 0);
    }

    #[test]
    fn near_errors_sort_into_chain_errors() {
        let error = |name: &str, cause: &str| RpcError {
            object: json!({"name": name, "cause": {"name": cause, "info": {}}, "code": -32000}),
            ..RpcError::new(-32000, "Server error")
        };
        assert_eq!(classify(&error("HANDLER_ERROR", "UNKNOWN_TRANSACTION"), "tx"), ChainError::NotFound);
        assert_eq!(classify(&error("HANDLER_ERROR", "TIMEOUT_ERROR"), "tx"), ChainError::NotFound, "an answer");
        assert!(matches!(classify(&error("HANDLER_ERROR", "TIMEOUT_ERROR"), "block"), ChainError::Unavailable(_)));
        assert!(matches!(classify(&error("INTERNAL_ERROR", "X"), "tx"), ChainError::Unavailable(_)));
        let legacy = RpcError {
            object: json!({"code": -32000, "message": "Server error", "data": "Transaction 9av2 doesn't exist"}),
            ..RpcError::new(-32000, "Server error")
        };
        assert_eq!(classify(&legacy, "tx"), ChainError::NotFound, "the legacy shape, by its data");
        assert!(matches!(
            classify(&error("REQUEST_VALIDATION_ERROR", "PARSE_ERROR"), "tx"),
            ChainError::BadResponse(m) if m.contains("PARSE_ERROR")
        ));
    }
}
