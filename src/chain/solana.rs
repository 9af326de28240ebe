//! Solana JSON-RPC (agave nodes and providers). Followed by status
//! (`getSignatureStatuses`, 256 signatures a request), not by reading its
//! blocks: a slot every 400 ms with thousands of transactions each.
//!
//! Heights here are **slots**: `BlockRef { height: slot, hash: blockhash }`,
//! the blockhash being the one `getBlock` reports for that slot (the bank's
//! last blockhash). `tip` is the finalized bank from `getLatestBlockhash`
//! (`context.slot` and `value.blockhash` come from one bank, so one read).
//! Expiry is counted in **block heights** (`getBlockHeight`), the unit of
//! `lastValidBlockHeight`; see `PendingTx`.

use super::unix_seconds;
use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};

use super::http::ClientConfig;
use super::jsonrpc::{from_value, Envelope, JsonRpc, RpcError, INTERNAL_ERROR};
use super::{
    Asset, BaseUnits, Block, BlockRef, BlockTx, ChainError, ConflictKey, Payment, PendingTx, Replaced, StatusChain,
    TxInfo, TxLocation, TxStatus,
};

/// `getSignatureStatuses` takes at most this many signatures.
pub const MAX_SIGNATURES_PER_REQUEST: usize = 256;

/// Finalized slots whose blockhash we remember (they never change).
const SLOT_HASH_CACHE: usize = 4096;

// agave `rpc-client-api/src/custom_error.rs`.
const BLOCK_CLEANED_UP: i64 = -32001;
const BLOCK_NOT_AVAILABLE: i64 = -32004;
const NODE_UNHEALTHY: i64 = -32005;
const SLOT_SKIPPED: i64 = -32007;
const LONG_TERM_STORAGE_SLOT_SKIPPED: i64 = -32009;
const TRANSACTION_HISTORY_NOT_AVAILABLE: i64 = -32011;
const BLOCK_STATUS_NOT_AVAILABLE_YET: i64 = -32014;
const MIN_CONTEXT_SLOT_NOT_REACHED: i64 = -32016;
const LONG_TERM_STORAGE_UNREACHABLE: i64 = -32019;

/// Node URLs are JSON-RPC endpoints (they may carry provider keys).
pub struct SolanaClient {
    rpc: JsonRpc,
    finalized_hashes: Mutex<HashMap<u64, String>>,
}

/// Says there is no block at the slot (skipped, cleaned up, or not yet
/// reached at the commitment asked).
fn no_block(error: &RpcError) -> bool {
    matches!(error.code, BLOCK_CLEANED_UP | BLOCK_NOT_AVAILABLE | SLOT_SKIPPED | LONG_TERM_STORAGE_SLOT_SKIPPED)
}

/// agave's codes: throttling, a node that is behind or lacks history
/// (another may answer), no block at a slot, or a wrong request.
fn classify(error: &RpcError, method: &str) -> ChainError {
    if matches!(error.code, 429 | -32429) || error.says_rate_limited() {
        ChainError::RateLimited { retry_after: None }
    } else if matches!(
        error.code,
        NODE_UNHEALTHY
            | TRANSACTION_HISTORY_NOT_AVAILABLE
            | BLOCK_STATUS_NOT_AVAILABLE_YET
            | MIN_CONTEXT_SLOT_NOT_REACHED
            | LONG_TERM_STORAGE_UNREACHABLE
            | INTERNAL_ERROR
    ) {
        // This node is behind or lacks history: another may answer.
        ChainError::Unavailable(error.describe(method))
    } else if no_block(error) {
        ChainError::NotFound
    } else {
        ChainError::BadResponse(error.describe(method))
    }
}

#[derive(Deserialize)]
struct WithContext<T> {
    context: Context,
    value: T,
}

#[derive(Deserialize)]
struct Context {
    slot: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LatestBlockhash {
    blockhash: String,
    last_valid_block_height: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignatureStatus {
    slot: u64,
    /// `null` once rooted (finalized).
    confirmations: Option<u64>,
    #[serde(default)]
    err: Value,
    /// `processed`, `confirmed` or `finalized`; absent from old nodes.
    confirmation_status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcBlock {
    blockhash: String,
    previous_blockhash: String,
    /// With `transactionDetails: "signatures"`: each transaction's first
    /// signature (its id), in block order.
    #[serde(default)]
    signatures: Vec<String>,
    /// Unix seconds; `null` where the node does not know it.
    #[serde(default)]
    block_time: Option<i64>,
}

#[derive(Deserialize)]
struct RpcTransaction {
    slot: u64,
    meta: Option<TxMeta>,
    transaction: TxBody,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TxMeta {
    #[serde(default)]
    err: Value,
    pre_balances: Vec<u64>,
    post_balances: Vec<u64>,
    #[serde(default)]
    pre_token_balances: Vec<TokenBalance>,
    #[serde(default)]
    post_token_balances: Vec<TokenBalance>,
    /// `json` encoding of a v0 transaction: the lookup-table accounts,
    /// indexed after the static keys (`jsonParsed` lists them in
    /// `accountKeys` already).
    loaded_addresses: Option<LoadedAddresses>,
}

#[derive(Deserialize)]
struct LoadedAddresses {
    writable: Vec<String>,
    readonly: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenBalance {
    account_index: usize,
    mint: String,
    owner: Option<String>,
    ui_token_amount: TokenAmount,
}

#[derive(Deserialize)]
struct TokenAmount {
    /// Base units as a decimal string.
    amount: String,
}

#[derive(Deserialize)]
struct TxBody {
    signatures: Vec<String>,
    message: TxMessage,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TxMessage {
    account_keys: Vec<AccountKey>,
}

/// `jsonParsed` gives objects, `json` plain strings.
#[derive(Deserialize)]
#[serde(untagged)]
enum AccountKey {
    Parsed { pubkey: String },
    Plain(String),
}

impl AccountKey {
    fn pubkey(&self) -> &str {
        match self {
            AccountKey::Parsed { pubkey } | AccountKey::Plain(pubkey) => pubkey,
        }
    }
}

impl SolanaClient {
    pub fn new(config: ClientConfig) -> Self {
        Self { rpc: JsonRpc::new(config, Envelope::JsonRpc2, classify), finalized_hashes: Mutex::new(HashMap::new()) }
    }

    /// The finalized bank's blockhash with the block height up to which a
    /// transaction using it can land: what a sender records at signing.
    pub async fn latest_blockhash(&self) -> Result<(BlockRef, u64), ChainError> {
        let latest: WithContext<LatestBlockhash> =
            self.rpc.request("getLatestBlockhash", json!([{"commitment": "finalized"}])).await?;
        let at = BlockRef { height: latest.context.slot, hash: latest.value.blockhash };
        Ok((at, latest.value.last_valid_block_height))
    }

    /// The finalized block height (not a slot): what `lastValidBlockHeight`
    /// is compared with.
    pub async fn block_height(&self) -> Result<u64, ChainError> {
        self.rpc.request("getBlockHeight", json!([{"commitment": "finalized"}])).await
    }

    /// The block at `slot` at `commitment` (`confirmed` or `finalized`):
    /// `Ok(None)` when there is none (skipped, cleaned up, not reached).
    async fn block(&self, slot: u64, details: &str, commitment: &str) -> Result<Option<RpcBlock>, ChainError> {
        let config = json!({
            "encoding": "json",
            "transactionDetails": details,
            "rewards": false,
            "commitment": commitment,
            "maxSupportedTransactionVersion": 0,
        });
        match self.rpc.call("getBlock", json!([slot, config])).await? {
            Ok(Value::Null) => Ok(None),
            Ok(block) => from_value(block, "getBlock").map(Some),
            Err(error) if no_block(&error) => Ok(None),
            Err(error) => Err(classify(&error, "getBlock")),
        }
    }

    /// The blockhash of `slot`, remembered once the slot is final.
    async fn slot_hash(&self, slot: u64, finalized: bool) -> Result<String, ChainError> {
        if let Some(hash) = self.finalized_hashes.lock().expect("not poisoned").get(&slot) {
            return Ok(hash.clone());
        }
        let block = self.block(slot, "none", "confirmed").await?.ok_or_else(|| {
            ChainError::Unavailable(format!("getBlock: no confirmed block at slot {slot} for a transaction seen there"))
        })?;
        if finalized {
            let mut cache = self.finalized_hashes.lock().expect("not poisoned");
            if cache.len() >= SLOT_HASH_CACHE {
                cache.clear();
            }
            cache.insert(slot, block.blockhash.clone());
        }
        Ok(block.blockhash)
    }

    async fn statuses_chunk(&self, chunk: &[PendingTx], height: Option<u64>) -> Result<Vec<TxStatus>, ChainError> {
        let signatures: Vec<&str> = chunk.iter().map(|tx| tx.txid.as_str()).collect();
        let answer: WithContext<Vec<Option<SignatureStatus>>> =
            self.rpc.request("getSignatureStatuses", json!([signatures, {"searchTransactionHistory": true}])).await?;
        if answer.value.len() != chunk.len() {
            return Err(ChainError::BadResponse(format!(
                "getSignatureStatuses: {} statuses for {} signatures",
                answer.value.len(),
                chunk.len()
            )));
        }
        let mut statuses = Vec::with_capacity(chunk.len());
        let mut confirmed_hashes: HashMap<u64, String> = HashMap::new();
        for (index, (pending, status)) in chunk.iter().zip(answer.value).enumerate() {
            let Some(status) = status else {
                let expired = matches!((pending.last_valid_height, height), (Some(last), Some(now)) if now > last);
                statuses.push(TxStatus {
                    txid: pending.txid.clone(),
                    location: None,
                    finalized: false,
                    success: None,
                    expired,
                });
                continue;
            };
            let level = match status.confirmation_status.as_deref() {
                Some(level @ ("processed" | "confirmed" | "finalized")) => level,
                None if status.confirmations.is_none() => "finalized",
                None => "confirmed",
                Some(other) => {
                    return Err(ChainError::BadResponse(format!(
                        "getSignatureStatuses: at `value[{index}].confirmationStatus`: unknown level {other:?}"
                    )))
                }
            };
            let finalized = level == "finalized";
            let location = if level == "processed" {
                // In a block only this node's fork has voted on so far: it
                // can still vanish, as a mempool entry can.
                TxLocation::Mempool
            } else {
                let hash = match confirmed_hashes.get(&status.slot) {
                    Some(hash) => hash.clone(),
                    None => self.slot_hash(status.slot, finalized).await?,
                };
                confirmed_hashes.insert(status.slot, hash.clone());
                TxLocation::Block(BlockRef { height: status.slot, hash })
            };
            statuses.push(TxStatus {
                txid: pending.txid.clone(),
                location: Some(location),
                finalized,
                success: Some(status.err.is_null()),
                expired: false,
            });
        }
        Ok(statuses)
    }
}

/// What each account gained: native lamports by account, SPL tokens by
/// owner and mint (token accounts belong to a wallet; the wallet is the
/// payee). Balance differences rather than instructions, so transfers made
/// through other programs count too, and `transfer` and `transferChecked`
/// need no telling apart. Losses (the sender, fees) are no payments.
fn payments(tx: &RpcTransaction) -> Result<Vec<Payment>, ChainError> {
    let Some(meta) = &tx.meta else { return Ok(Vec::new()) };
    if !meta.err.is_null() {
        return Ok(Vec::new()); // failed: only the fee moved
    }
    let mut keys: Vec<&str> = tx.transaction.message.account_keys.iter().map(AccountKey::pubkey).collect();
    if keys.len() < meta.pre_balances.len() {
        if let Some(loaded) = &meta.loaded_addresses {
            keys.extend(loaded.writable.iter().chain(&loaded.readonly).map(String::as_str));
        }
    }
    if meta.pre_balances.len() != meta.post_balances.len() || keys.len() != meta.pre_balances.len() {
        return Err(ChainError::BadResponse(format!(
            "getTransaction: {} account keys, {} preBalances, {} postBalances",
            keys.len(),
            meta.pre_balances.len(),
            meta.post_balances.len()
        )));
    }
    let mut payments = Vec::new();
    for (key, (pre, post)) in keys.iter().zip(meta.pre_balances.iter().zip(&meta.post_balances)) {
        if post > pre {
            payments.push(Payment {
                to: (*key).to_owned(),
                amount: BaseUnits::new(u128::from(post - pre)),
                asset: Asset::Native,
                memo: None,
            });
        }
    }
    let units = |balance: &TokenBalance| {
        balance.ui_token_amount.amount.parse::<u128>().map_err(|_| {
            ChainError::BadResponse(format!(
                "getTransaction: token amount {:?} is not a whole number",
                balance.ui_token_amount.amount
            ))
        })
    };
    for post in &meta.post_token_balances {
        let pre = meta
            .pre_token_balances
            .iter()
            .find(|pre| pre.account_index == post.account_index && pre.mint == post.mint)
            .map(units)
            .transpose()?
            .unwrap_or(0);
        let after = units(post)?;
        if after > pre {
            // Old nodes omit `owner`: the token account itself is then all we know.
            let to = match &post.owner {
                Some(owner) => owner.clone(),
                None => keys.get(post.account_index).map(|k| (*k).to_owned()).ok_or_else(|| {
                    ChainError::BadResponse(format!(
                        "getTransaction: token accountIndex {} out of range",
                        post.account_index
                    ))
                })?,
            };
            payments.push(Payment {
                to,
                amount: BaseUnits::new(after - pre),
                asset: Asset::Token(post.mint.clone()),
                memo: None,
            });
        }
    }
    Ok(payments)
}

#[async_trait]
impl StatusChain for SolanaClient {
    fn name(&self) -> &'static str {
        "solana"
    }

    fn max_batch(&self) -> usize {
        MAX_SIGNATURES_PER_REQUEST
    }

    /// One `getSignatureStatuses` per 256 signatures (with
    /// `searchTransactionHistory`, so older ones are found too). When any
    /// `last_valid_height` was recorded, the finalized block height is read
    /// *first*: if it already passed a transaction's last valid height, every
    /// block that could hold it is final before the statuses are asked, so
    /// "unknown" then means it never landed.
    #[tracing::instrument(skip_all, fields(count = txs.len()), err(level = "debug"))]
    async fn statuses_of(&self, txs: &[PendingTx]) -> Result<Vec<TxStatus>, ChainError> {
        let height = match txs.iter().any(|tx| tx.last_valid_height.is_some()) {
            true => Some(self.block_height().await?),
            false => None,
        };
        let mut statuses = Vec::with_capacity(txs.len());
        for chunk in txs.chunks(MAX_SIGNATURES_PER_REQUEST) {
            statuses.extend(self.statuses_chunk(chunk, height).await?);
        }
        Ok(statuses)
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn tip(&self) -> Result<BlockRef, ChainError> {
        Ok(self.latest_blockhash().await?.0)
    }

    /// `getTransaction` (`jsonParsed`, `confirmed`, versioned transactions).
    /// Solana has no replacement by nonce or outputs, so `conflict` is an
    /// empty `Outpoints`: what ends a lost transaction is its expiry.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn transaction(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        let config = json!({"encoding": "jsonParsed", "commitment": "confirmed", "maxSupportedTransactionVersion": 0});
        let tx: Option<RpcTransaction> = self.rpc.request("getTransaction", json!([txid, config])).await?;
        let Some(tx) = tx else { return Ok(None) };
        let payments = payments(&tx)?;
        let success = tx.meta.as_ref().map(|meta| meta.err.is_null());
        let hash = self.slot_hash(tx.slot, false).await?;
        let txid = tx.transaction.signatures.first().cloned().unwrap_or_else(|| txid.to_owned());
        Ok(Some(TxInfo {
            txid,
            location: TxLocation::Block(BlockRef { height: tx.slot, hash }),
            success,
            payments,
            conflict: ConflictKey::Outpoints(Vec::new()),
            valid_until: None,
        }))
    }
}

/// Reads beyond what the tracker follows Solana by, kept for callers that
/// want them: blocks by slot and whether one is still on the best chain.
impl SolanaClient {
    /// The finalized block at slot `height` with its transaction ids;
    /// `NotFound` for a skipped slot as well as above the finalized tip.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    pub async fn block_at(&self, height: u64) -> Result<Block, ChainError> {
        let block = self.block(height, "signatures", "finalized").await?.ok_or(ChainError::NotFound)?;
        Ok(Block {
            at: BlockRef { height, hash: block.blockhash },
            parent_hash: (height > 0).then_some(block.previous_blockhash),
            txs: block.signatures.into_iter().map(|txid| BlockTx { txid, call: None }).collect(),
            time: block.block_time.and_then(unix_seconds),
            expiry_point: None,
        })
    }

    /// Whether the confirmed block at the slot still has this hash; a
    /// skipped or not yet confirmed slot is not on the best chain.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    pub async fn is_in_best_chain(&self, block: &BlockRef) -> Result<bool, ChainError> {
        let at = self.block(block.height, "none", "confirmed").await?;
        Ok(at.is_some_and(|at| at.blockhash == block.hash))
    }

    /// Always `None`: a Solana transaction is not replaced, it expires (see
    /// `TxStatus::expired`); a resend with a new blockhash is a new withdrawal
    /// transaction the back office reports.
    pub async fn replacement(&self, txid: &str, conflict: &ConflictKey) -> Result<Option<Replaced>, ChainError> {
        let _ = (txid, conflict);
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_errors_sort_into_chain_errors() {
        let err = |code, message: &str| classify(&RpcError::new(code, message), "m");
        assert!(matches!(err(-32005, "Node is behind by 42 slots"), ChainError::Unavailable(_)));
        assert!(matches!(err(-32602, "Invalid param: WrongSize"), ChainError::BadResponse(m) if m.contains("-32602")));
        assert!(matches!(err(429, "Too many requests for a specific RPC call"), ChainError::RateLimited { .. }));
        assert_eq!(err(-32007, "Slot 5 was skipped"), ChainError::NotFound);
    }
}
