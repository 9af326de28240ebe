//! Ethereum JSON-RPC (any EVM node or provider). Batches requests when the
//! node accepts batches and reads a block's receipts in one call when it has
//! `eth_getBlockReceipts`; both are detected once and remembered.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::http::{status_error, transport_error, Gate};
use super::{
    Asset, BaseUnits, Block, BlockRef, BlockTx, ChainClient, ChainError, ConflictKey, EvmCall, Payment, Replaced,
    TxInfo, TxLocation,
};

/// keccak256("Transfer(address,address,uint256)"): ERC-20 (and ERC-721, which
/// has a fourth topic) transfer events.
pub const TRANSFER_TOPIC: &str = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

/// First four bytes of keccak256("transfer(address,uint256)").
const TRANSFER_SELECTOR: &str = "a9059cbb";

/// EIP-1474 / JSON-RPC 2.0 codes that mean "your request is wrong or the
/// method does not exist": retrying the same thing will not help.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;
/// EIP-1474 "limit exceeded", what providers send when throttling.
const LIMIT_EXCEEDED: i64 = -32005;

#[derive(Debug, Clone)]
pub struct EvmConfig {
    /// The node's HTTP JSON-RPC endpoint; may carry a provider key, so it is
    /// never logged.
    pub url: String,
    pub timeout: Duration,
    /// Calls per batch request (providers cap it, often at 100 or less).
    pub batch_size: usize,
}

/// What we learned about an optional node feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    Unknown,
    Supported,
    Unsupported,
}

struct SupportFlag(AtomicU8);

impl SupportFlag {
    const fn new() -> Self {
        Self(AtomicU8::new(0))
    }

    fn get(&self) -> Support {
        match self.0.load(Ordering::Relaxed) {
            1 => Support::Supported,
            2 => Support::Unsupported,
            _ => Support::Unknown,
        }
    }

    fn set(&self, support: Support) {
        let value = match support {
            Support::Unknown => 0,
            Support::Supported => 1,
            Support::Unsupported => 2,
        };
        self.0.store(value, Ordering::Relaxed);
    }
}

pub struct EvmClient {
    http: reqwest::Client,
    config: EvmConfig,
    next_id: AtomicU64,
    batches: SupportFlag,
    block_receipts: SupportFlag,
    gate: std::sync::Arc<Gate>,
}

/// A JSON-RPC error object, kept apart from transport failures so callers
/// can detect missing methods.
#[derive(Debug, Clone, Deserialize)]
struct RpcError {
    code: i64,
    #[serde(default)]
    message: String,
}

impl RpcError {
    fn method_missing(&self) -> bool {
        let message = self.message.to_ascii_lowercase();
        self.code == METHOD_NOT_FOUND
            || (message.contains("method")
                && ["not found", "not supported", "does not exist", "not available"]
                    .iter()
                    .any(|m| message.contains(m)))
    }

    fn into_chain_error(self, method: &str) -> ChainError {
        let message = self.message.to_ascii_lowercase();
        let what = format!("{method}: JSON-RPC error {}: {}", self.code, self.message);
        if self.code == LIMIT_EXCEEDED || message.contains("rate limit") || message.contains("too many requests") {
            ChainError::RateLimited { retry_after: None }
        } else if matches!(self.code, PARSE_ERROR | INVALID_REQUEST | METHOD_NOT_FOUND | INVALID_PARAMS) {
            ChainError::BadResponse(what)
        } else {
            // -32000 ("header not found"), -32603 internal error and the like:
            // the node is behind or struggling; asking later may work.
            ChainError::Unavailable(what)
        }
    }
}

#[derive(Deserialize)]
struct RpcResponse {
    id: Option<Value>,
    #[serde(default)]
    result: Value,
    error: Option<RpcError>,
}

type Answer = Result<Value, RpcError>;

/// A hex quantity (`"0x1a"`) of up to 128 bits.
#[derive(Debug, Clone, Copy)]
struct Quantity(u128);

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_quantity(&text).map(Quantity).ok_or_else(|| {
            serde::de::Error::custom(format!("expected a 0x hex quantity of up to 128 bits, got {text:?}"))
        })
    }
}

impl Quantity {
    fn as_u64(self, what: &str) -> Result<u64, ChainError> {
        u64::try_from(self.0).map_err(|_| ChainError::BadResponse(format!("{what} does not fit in 64 bits")))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcBlock<T> {
    number: Quantity,
    hash: String,
    parent_hash: String,
    transactions: Vec<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcTx {
    hash: String,
    from: String,
    to: Option<String>,
    value: Quantity,
    nonce: Quantity,
    input: String,
    block_number: Option<Quantity>,
    block_hash: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcReceipt {
    transaction_hash: String,
    block_number: Quantity,
    block_hash: String,
    /// Absent before Byzantium (which had `root` instead).
    status: Option<Quantity>,
    logs: Vec<RpcLog>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcLog {
    address: String,
    topics: Vec<String>,
    data: String,
    transaction_hash: Option<String>,
    #[serde(default)]
    removed: bool,
}

impl EvmClient {
    pub fn new(config: EvmConfig) -> Self {
        let http = super::http::client(config.timeout);
        Self {
            http,
            config,
            next_id: AtomicU64::new(1),
            batches: SupportFlag::new(),
            block_receipts: SupportFlag::new(),
            gate: std::sync::Arc::new(Gate::unlimited()),
        }
    }

    /// Sends every request through `gate` (the network's budget and metrics).
    pub fn with_gate(mut self, gate: std::sync::Arc<Gate>) -> Self {
        self.gate = gate;
        self
    }

    /// A block with full transactions, by number or tag (`"latest"`).
    async fn full_block(&self, number: Value) -> Result<Block, ChainError> {
        let block: Option<RpcBlock<RpcTx>> = self.request("eth_getBlockByNumber", json!([number, true])).await?;
        let block = block.ok_or(ChainError::NotFound)?;
        let txs = block
            .transactions
            .iter()
            .map(|tx| Ok(BlockTx { txid: tx.hash.to_ascii_lowercase(), call: Some(call_from(tx)?) }))
            .collect::<Result<_, ChainError>>()?;
        let height = block.number.as_u64("number")?;
        Ok(Block {
            at: BlockRef { height, hash: block.hash.to_ascii_lowercase() },
            // Genesis names an all-zero parent.
            parent_hash: (height > 0).then(|| block.parent_hash.to_ascii_lowercase()),
            txs,
        })
    }

    /// Whether the node has accepted (or refused) a batch request yet.
    pub fn batch_support(&self) -> Support {
        self.batches.get()
    }

    /// Whether the node has `eth_getBlockReceipts`, once we have asked.
    pub fn block_receipts_support(&self) -> Support {
        self.block_receipts.get()
    }

    pub async fn chain_id(&self) -> Result<u64, ChainError> {
        let id: Quantity = self.request("eth_chainId", json!([])).await?;
        id.as_u64("eth_chainId")
    }

    /// ERC-20 `Transfer` events in one block, optionally only from `tokens`,
    /// with the transaction each came from: one request for a whole block.
    pub async fn token_transfers(
        &self,
        block: &BlockRef,
        tokens: &[String],
    ) -> Result<Vec<(String, Payment)>, ChainError> {
        let mut filter = json!({"blockHash": block.hash, "topics": [TRANSFER_TOPIC]});
        if !tokens.is_empty() {
            filter["address"] = json!(tokens);
        }
        let logs: Vec<RpcLog> = self.request("eth_getLogs", json!([filter])).await?;
        Ok(logs
            .iter()
            .filter_map(|log| Some((log.transaction_hash.as_deref()?.to_ascii_lowercase(), decode_transfer_log(log)?)))
            .collect())
    }

    async fn post(&self, body: &Value) -> Result<Value, ChainError> {
        let response =
            self.gate.send(self.http.post(&self.config.url).json(body)).await.map_err(|e| transport_error(&e))?;
        if !response.status().is_success() {
            return Err(status_error(response).await);
        }
        let text = response.text().await.map_err(|e| transport_error(&e))?;
        serde_json::from_str(&text)
            .map_err(|e| ChainError::BadResponse(format!("JSON-RPC response is not JSON ({e}): {:.80}", text)))
    }

    fn envelope(&self, method: &str, params: &Value) -> (u64, Value) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        (id, json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
    }

    async fn single(&self, method: &str, params: &Value) -> Result<Answer, ChainError> {
        let (_, body) = self.envelope(method, params);
        let reply = self.post(&body).await?;
        let response: RpcResponse = from_value(reply, method)?;
        Ok(match response.error {
            Some(error) => Err(error),
            None => Ok(response.result),
        })
    }

    /// One call, its error object already turned into a `ChainError`.
    async fn request<T: DeserializeOwned>(&self, method: &str, params: Value) -> Result<T, ChainError> {
        let result = self.single(method, &params).await?.map_err(|e| e.into_chain_error(method))?;
        from_value(result, method)
    }

    /// Answers in call order. Sent as batches of `batch_size` while the node
    /// accepts them; the first refusal switches to one request per call for
    /// the life of the client.
    async fn batch(&self, calls: &[(&str, Value)]) -> Result<Vec<Answer>, ChainError> {
        let mut answers = Vec::with_capacity(calls.len());
        for chunk in calls.chunks(self.config.batch_size.max(1)) {
            if chunk.len() > 1 && self.batches.get() != Support::Unsupported {
                if let Some(chunk_answers) = self.try_batch(chunk).await? {
                    answers.extend(chunk_answers);
                    continue;
                }
            }
            for (method, params) in chunk {
                answers.push(self.single(method, params).await?);
            }
        }
        Ok(answers)
    }

    /// `Ok(None)` when the node refused the batch as such.
    async fn try_batch(&self, chunk: &[(&str, Value)]) -> Result<Option<Vec<Answer>>, ChainError> {
        let (ids, bodies): (Vec<u64>, Vec<Value>) =
            chunk.iter().map(|(method, params)| self.envelope(method, params)).unzip();
        let reply = match self.post(&Value::Array(bodies)).await {
            Ok(reply) => reply,
            // Some gateways answer a batch with HTTP 400/405/413.
            Err(ChainError::BadResponse(why)) if self.batches.get() == Support::Unknown => {
                return Ok(self.refused_batches(&why));
            }
            Err(error) => return Err(error),
        };
        let Value::Array(replies) = reply else {
            // A single error object instead of an array: the batch was refused.
            if self.batches.get() == Support::Unknown {
                return Ok(self.refused_batches(&reply.to_string()));
            }
            return Err(ChainError::BadResponse(format!("batch answered with a non-array: {:.80}", reply.to_string())));
        };
        self.batches.set(Support::Supported);
        let mut by_id: Vec<Option<Answer>> = vec![None; ids.len()];
        for reply in replies {
            let response: RpcResponse = from_value(reply, "batch")?;
            let index = response.id.as_ref().and_then(Value::as_u64).and_then(|id| ids.iter().position(|&i| i == id));
            let Some(index) = index else {
                return Err(ChainError::BadResponse(format!("batch answer with unknown id {:?}", response.id)));
            };
            by_id[index] = Some(match response.error {
                Some(error) => Err(error),
                None => Ok(response.result),
            });
        }
        let answers: Option<Vec<Answer>> = by_id.into_iter().collect();
        answers.map(Some).ok_or_else(|| ChainError::BadResponse("batch answer is missing some ids".to_owned()))
    }

    fn refused_batches(&self, why: &str) -> Option<Vec<Answer>> {
        tracing::info!(why = %why.chars().take(120).collect::<String>(), "node refuses JSON-RPC batches; sending single requests");
        self.batches.set(Support::Unsupported);
        None
    }

    /// Receipts of `txids` in `block`: one `eth_getBlockReceipts` when the
    /// node has it, else one batch of `eth_getTransactionReceipt`.
    async fn receipts(&self, block: &BlockRef, txids: &[&str]) -> Result<Vec<RpcReceipt>, ChainError> {
        if self.block_receipts.get() != Support::Unsupported {
            match self.single("eth_getBlockReceipts", &json!([block.hash])).await? {
                Ok(Value::Null) => return Err(ChainError::NotFound),
                Ok(all) => {
                    self.block_receipts.set(Support::Supported);
                    let all: Vec<RpcReceipt> = from_value(all, "eth_getBlockReceipts")?;
                    return Ok(all
                        .into_iter()
                        .filter(|r| txids.iter().any(|t| t.eq_ignore_ascii_case(&r.transaction_hash)))
                        .collect());
                }
                Err(error) if error.method_missing() => {
                    tracing::info!(message = %error.message, "node lacks eth_getBlockReceipts; reading receipts one by one");
                    self.block_receipts.set(Support::Unsupported);
                }
                Err(error) => return Err(error.into_chain_error("eth_getBlockReceipts")),
            }
        }
        let calls: Vec<(&str, Value)> = txids.iter().map(|t| ("eth_getTransactionReceipt", json!([t]))).collect();
        let mut receipts = Vec::new();
        for answer in self.batch(&calls).await? {
            let receipt: Option<RpcReceipt> =
                from_value(answer.map_err(|e| e.into_chain_error("eth_getTransactionReceipt"))?, "receipt")?;
            receipts.extend(receipt);
        }
        Ok(receipts)
    }
}

fn from_value<T: DeserializeOwned>(value: Value, what: &str) -> Result<T, ChainError> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| ChainError::BadResponse(format!("{what}: at `{}`: {}", e.path(), e.inner())))
}

fn parse_quantity(text: &str) -> Option<u128> {
    let digits = text.strip_prefix("0x")?;
    if digits.is_empty() {
        return None;
    }
    u128::from_str_radix(digits, 16).ok()
}

/// A 32-byte word (hex, no prefix) as u128, `None` when larger.
fn word_to_u128(word: &str) -> Option<u128> {
    let significant = word.trim_start_matches('0');
    if significant.is_empty() {
        return Some(0);
    }
    if significant.len() > 32 {
        return None;
    }
    u128::from_str_radix(significant, 16).ok()
}

/// The address in the low 20 bytes of a 32-byte word.
fn word_to_address(word: &str) -> Option<String> {
    (word.len() == 64 && word.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("0x{}", word[24..].to_ascii_lowercase()))
}

fn address(raw: &str) -> Result<String, ChainError> {
    let hex = raw.strip_prefix("0x").unwrap_or("");
    if hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(raw.to_ascii_lowercase())
    } else {
        Err(ChainError::BadResponse(format!("expected a 20-byte 0x address, got {raw:?}")))
    }
}

/// `Transfer(from, to, value)` with both addresses indexed (ERC-20). ERC-721
/// indexes the token id too (four topics) and is left out.
fn decode_transfer_log(log: &RpcLog) -> Option<Payment> {
    if log.removed || log.topics.len() != 3 || !log.topics[0].eq_ignore_ascii_case(TRANSFER_TOPIC) {
        return None;
    }
    let to = word_to_address(log.topics[2].strip_prefix("0x")?)?;
    let data = log.data.strip_prefix("0x")?;
    if data.len() != 64 {
        return None;
    }
    let amount = BaseUnits::new(word_to_u128(data)?);
    Some(Payment { to, amount, asset: Asset::Token(address(&log.address).ok()?), memo: None })
}

/// `transfer(address to, uint256 amount)` calldata → (to, amount).
pub(super) fn decode_transfer_call(input: &str) -> Option<(String, BaseUnits)> {
    let args = input.strip_prefix("0x")?.strip_prefix(TRANSFER_SELECTOR)?;
    if args.len() != 128 {
        return None;
    }
    let to = word_to_address(&args[..64])?;
    Some((to, BaseUnits::new(word_to_u128(&args[64..])?)))
}

fn call_from(tx: &RpcTx) -> Result<EvmCall, ChainError> {
    Ok(EvmCall {
        from: address(&tx.from)?,
        to: tx.to.as_deref().map(address).transpose()?,
        value: BaseUnits::new(tx.value.0),
        nonce: tx.nonce.as_u64("nonce")?,
        input: tx.input.to_ascii_lowercase(),
    })
}

/// What the call moved natively, plus what the receipt's logs say tokens did.
fn tx_info(
    txid: &str,
    call: &EvmCall,
    fallback: TxLocation,
    receipt: Option<&RpcReceipt>,
) -> Result<TxInfo, ChainError> {
    let mut payments = Vec::new();
    if let (Some(to), true) = (&call.to, call.value != BaseUnits::ZERO) {
        payments.push(Payment { to: to.clone(), amount: call.value, asset: Asset::Native, memo: None });
    }
    let (location, success) = match receipt {
        Some(receipt) => {
            payments.extend(receipt.logs.iter().filter_map(decode_transfer_log));
            let at = BlockRef { height: receipt.block_number.as_u64("blockNumber")?, hash: receipt.block_hash.clone() };
            let success = receipt.status.map(|s| s.0 == 1);
            if success == Some(false) {
                // Reverted: the value went nowhere and there are no logs.
                payments.clear();
            }
            (TxLocation::Block(at), success)
        }
        None => (fallback, None),
    };
    Ok(TxInfo {
        txid: txid.to_ascii_lowercase(),
        location,
        success,
        payments,
        conflict: ConflictKey::Nonce { from: call.from.clone(), nonce: call.nonce },
    })
}

#[async_trait]
impl ChainClient for EvmClient {
    fn name(&self) -> &'static str {
        "evm"
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn tip(&self) -> Result<BlockRef, ChainError> {
        // One call gives height and hash of the same block.
        let block: Option<RpcBlock<Value>> = self.request("eth_getBlockByNumber", json!(["latest", false])).await?;
        let block = block.ok_or_else(|| ChainError::BadResponse("no latest block".to_owned()))?;
        Ok(BlockRef { height: block.number.as_u64("number")?, hash: block.hash.to_ascii_lowercase() })
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn block_at(&self, height: u64) -> Result<Block, ChainError> {
        self.full_block(json!(format!("{height:#x}"))).await
    }

    fn tip_carries_block(&self) -> bool {
        true
    }

    async fn tip_block(&self) -> Result<Block, ChainError> {
        self.full_block(json!("latest")).await
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn is_in_best_chain(&self, block: &BlockRef) -> Result<bool, ChainError> {
        let at: Option<RpcBlock<Value>> =
            self.request("eth_getBlockByNumber", json!([format!("{:#x}", block.height), false])).await?;
        Ok(at.is_some_and(|at| at.hash.eq_ignore_ascii_case(&block.hash)))
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn transaction(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        let answers = self
            .batch(&[("eth_getTransactionByHash", json!([txid])), ("eth_getTransactionReceipt", json!([txid]))])
            .await?;
        let [tx, receipt]: [Answer; 2] =
            answers.try_into().map_err(|_| ChainError::BadResponse("expected two answers".to_owned()))?;
        let tx: Option<RpcTx> =
            from_value(tx.map_err(|e| e.into_chain_error("eth_getTransactionByHash"))?, "eth_getTransactionByHash")?;
        let Some(tx) = tx else { return Ok(None) };
        let receipt: Option<RpcReceipt> = from_value(
            receipt.map_err(|e| e.into_chain_error("eth_getTransactionReceipt"))?,
            "eth_getTransactionReceipt",
        )?;
        let fallback = match (tx.block_number, &tx.block_hash) {
            (Some(number), Some(hash)) => {
                TxLocation::Block(BlockRef { height: number.as_u64("blockNumber")?, hash: hash.to_ascii_lowercase() })
            }
            _ => TxLocation::Mempool,
        };
        tx_info(&tx.hash, &call_from(&tx)?, fallback, receipt.as_ref()).map(Some)
    }

    #[tracing::instrument(skip(self, block), fields(block = block.at.height), err(level = "debug"))]
    async fn transactions_in_block(&self, block: &Block, txids: &[String]) -> Result<Vec<TxInfo>, ChainError> {
        let wanted: Vec<(&str, &EvmCall)> = block
            .txs
            .iter()
            .filter(|tx| txids.iter().any(|t| t.eq_ignore_ascii_case(&tx.txid)))
            .filter_map(|tx| Some((tx.txid.as_str(), tx.call.as_ref()?)))
            .collect();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = wanted.iter().map(|(txid, _)| *txid).collect();
        let receipts = self.receipts(&block.at, &ids).await?;
        wanted
            .into_iter()
            .map(|(txid, call)| {
                let receipt = receipts.iter().find(|r| r.transaction_hash.eq_ignore_ascii_case(txid));
                tx_info(txid, call, TxLocation::Block(block.at.clone()), receipt)
            })
            .collect()
    }

    #[tracing::instrument(skip(self, conflict), err(level = "debug"))]
    async fn replacement(&self, txid: &str, conflict: &ConflictKey) -> Result<Option<Replaced>, ChainError> {
        let ConflictKey::Nonce { from, nonce } = conflict else {
            return Err(ChainError::BadResponse("EVM replacement needs a nonce, got outpoints".to_owned()));
        };
        let answers = self
            .batch(&[
                ("eth_getTransactionReceipt", json!([txid])),
                ("eth_getTransactionCount", json!([from, "latest"])),
            ])
            .await?;
        let [receipt, count]: [Answer; 2] =
            answers.try_into().map_err(|_| ChainError::BadResponse("expected two answers".to_owned()))?;
        let receipt: Option<Value> = from_value(
            receipt.map_err(|e| e.into_chain_error("eth_getTransactionReceipt"))?,
            "eth_getTransactionReceipt",
        )?;
        if receipt.is_some() {
            return Ok(None); // mined: it is the one that used the nonce
        }
        let count: Quantity =
            from_value(count.map_err(|e| e.into_chain_error("eth_getTransactionCount"))?, "eth_getTransactionCount")?;
        // The sender's mined transactions use nonces 0..count: ours is taken,
        // yet ours has no receipt, so another transaction took it.
        Ok((count.0 > u128::from(*nonce)).then_some(Replaced { by: None }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha3::{Digest, Keccak256};

    fn keccak_hex(text: &str) -> String {
        Keccak256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn constants_are_the_keccak_of_their_signatures() {
        assert_eq!(TRANSFER_TOPIC, format!("0x{}", keccak_hex("Transfer(address,address,uint256)")));
        assert_eq!(TRANSFER_SELECTOR, &keccak_hex("transfer(address,uint256)")[..8]);
    }

    #[test]
    fn decodes_transfer_calldata() {
        let input = format!("0x{TRANSFER_SELECTOR}{:0>64}{:064x}", "AbCd".repeat(10), 1_000_000u128);
        let (to, amount) = decode_transfer_call(&input).unwrap();
        assert_eq!(to, format!("0x{}", "abcd".repeat(10)));
        assert_eq!(amount, BaseUnits::new(1_000_000));
        assert_eq!(decode_transfer_call("0x"), None);
        assert_eq!(decode_transfer_call(&input[..input.len() - 2]), None);
    }

    #[test]
    fn transfer_logs_need_three_topics_and_a_fitting_amount() {
        let log = |topics: usize, data: String| RpcLog {
            address: format!("0x{}", "11".repeat(20)),
            topics: [TRANSFER_TOPIC.to_owned(), format!("0x{:064}", 0), format!("0x{:0>64}", "22".repeat(20))]
                .into_iter()
                .chain(std::iter::repeat(format!("0x{:064}", 7)))
                .take(topics)
                .collect(),
            data,
            transaction_hash: None,
            removed: false,
        };
        let payment = decode_transfer_log(&log(3, format!("0x{:064x}", 5u8))).unwrap();
        assert_eq!(payment.to, format!("0x{}", "22".repeat(20)));
        assert_eq!(payment.amount, BaseUnits::new(5));
        assert_eq!(payment.asset, Asset::Token(format!("0x{}", "11".repeat(20))));
        assert!(decode_transfer_log(&log(4, "0x".to_owned())).is_none(), "ERC-721");
        assert!(decode_transfer_log(&log(3, format!("0x{}", "f".repeat(64)))).is_none(), "beyond u128");
    }

    #[test]
    fn rpc_errors_sort_into_chain_errors() {
        let err = |code, message: &str| RpcError { code, message: message.to_owned() }.into_chain_error("m");
        assert!(matches!(err(-32601, "the method x does not exist"), ChainError::BadResponse(_)));
        assert!(matches!(err(-32005, "limit exceeded"), ChainError::RateLimited { .. }));
        assert!(matches!(err(-32000, "header not found"), ChainError::Unavailable(_)));
        assert!(RpcError { code: -32000, message: "the method eth_getBlockReceipts is not available".into() }
            .method_missing());
    }
}
