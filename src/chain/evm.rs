//! Ethereum JSON-RPC (any EVM node or provider). Batches requests when the
//! node accepts batches and reads a block's receipts in one call when it has
//! `eth_getBlockReceipts`; both are detected once and remembered.

use super::unix_seconds;
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};

use super::http::ClientConfig;
pub use super::jsonrpc::Support;
use super::jsonrpc::{from_value, Answer, Envelope, JsonRpc, RpcError, SupportFlag, METHOD_NOT_FOUND};
use super::{
    Asset, BaseUnits, Block, BlockChain, BlockRef, BlockTx, ChainError, ConflictKey, EvmCall, Payment, Readings,
    Replaced, TxInfo, TxLocation, TxReading,
};

/// Waiting transactions looked at per `signals` call at most (one batch).
const MAX_WAITING_LOOKUPS: usize = 50;
/// Blocks of fee history read.
const FEE_HISTORY_BLOCKS: u64 = 5;

/// `eth_feeHistory` (execution-apis): `baseFeePerGas` has one entry more
/// than the blocks asked for, the next block's base fee last.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcFeeHistory {
    base_fee_per_gas: Vec<Quantity>,
    gas_used_ratio: Vec<f64>,
}

/// What a waiting transaction offers and where it sits in its sender's order.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcPendingTx {
    hash: String,
    from: String,
    nonce: Quantity,
    /// EIP-1559 transactions.
    #[serde(default)]
    max_fee_per_gas: Option<Quantity>,
    /// Legacy transactions (EIP-1559 ones carry it too, as the effective price).
    #[serde(default)]
    gas_price: Option<Quantity>,
    block_number: Option<Quantity>,
}

fn gwei(wei: u128) -> f64 {
    wei as f64 / 1e9
}

/// keccak256("Transfer(address,address,uint256)"): ERC-20 (and ERC-721, which
/// has a fourth topic) transfer events.
pub const TRANSFER_TOPIC: &str = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

/// First four bytes of keccak256("transfer(address,uint256)").
const TRANSFER_SELECTOR: &str = "a9059cbb";

/// EIP-1474 "limit exceeded", what providers send when throttling.
const LIMIT_EXCEEDED: i64 = -32005;

/// Node URLs are JSON-RPC endpoints (they may carry a provider key).
pub struct EvmClient {
    rpc: JsonRpc,
    block_receipts: SupportFlag,
}

/// Whether the error says the method does not exist on this node.
fn method_missing(error: &RpcError) -> bool {
    let message = error.message.to_ascii_lowercase();
    error.code == METHOD_NOT_FOUND
        || (message.contains("method")
            && ["not found", "not supported", "does not exist", "not available"].iter().any(|m| message.contains(m)))
}

/// EIP-1474 codes: throttling, a wrong request (or a missing method), or a
/// node that is behind or struggling, where another node may answer.
fn classify(error: &RpcError, method: &str) -> ChainError {
    if error.code == LIMIT_EXCEEDED || error.says_rate_limited() {
        ChainError::RateLimited { retry_after: None }
    } else if error.is_bad_request() || method_missing(error) {
        ChainError::BadResponse(error.describe(method))
    } else {
        // -32000 ("header not found"), -32603 internal error and the like:
        // the node is behind or struggling; asking later may work.
        ChainError::Unavailable(error.describe(method))
    }
}

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
    /// Unix seconds.
    #[serde(default)]
    timestamp: Option<Quantity>,
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
    /// `batch_size`: calls per batch request (providers cap it, often at 100
    /// or less).
    pub fn new(config: ClientConfig, batch_size: usize) -> Self {
        Self {
            rpc: JsonRpc::new(config, Envelope::JsonRpc2, classify).with_batches(batch_size),
            block_receipts: SupportFlag::new(),
        }
    }

    /// A block with full transactions, by number or tag (`"latest"`).
    async fn full_block(&self, number: Value) -> Result<Block, ChainError> {
        let block: Option<RpcBlock<RpcTx>> = self.rpc.request("eth_getBlockByNumber", json!([number, true])).await?;
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
            time: block.timestamp.and_then(|t| i64::try_from(t.0).ok()).and_then(unix_seconds),
            expiry_point: None,
        })
    }

    /// Whether the node has accepted (or refused) a batch request yet.
    pub fn batch_support(&self) -> Support {
        self.rpc.batch_support()
    }

    /// Whether the node has `eth_getBlockReceipts`, once we have asked.
    pub fn block_receipts_support(&self) -> Support {
        self.block_receipts.get()
    }

    pub async fn chain_id(&self) -> Result<u64, ChainError> {
        let id: Quantity = self.rpc.request("eth_chainId", json!([])).await?;
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
        let logs: Vec<RpcLog> = self.rpc.request("eth_getLogs", json!([filter])).await?;
        Ok(logs
            .iter()
            .filter_map(|log| Some((log.transaction_hash.as_deref()?.to_ascii_lowercase(), decode_transfer_log(log)?)))
            .collect())
    }

    /// Receipts of `txids` in `block`: one `eth_getBlockReceipts` when the
    /// node has it, else one batch of `eth_getTransactionReceipt`.
    async fn receipts(&self, block: &BlockRef, txids: &[&str]) -> Result<Vec<RpcReceipt>, ChainError> {
        if self.block_receipts.get() != Support::Unsupported {
            match self.rpc.call("eth_getBlockReceipts", json!([block.hash])).await? {
                Ok(Value::Null) => return Err(ChainError::NotFound),
                Ok(all) => {
                    self.block_receipts.set(Support::Supported);
                    let all: Vec<RpcReceipt> = from_value(all, "eth_getBlockReceipts")?;
                    return Ok(all
                        .into_iter()
                        .filter(|r| txids.iter().any(|t| t.eq_ignore_ascii_case(&r.transaction_hash)))
                        .collect());
                }
                Err(error) if method_missing(&error) => {
                    tracing::info!(message = %error.message, "node lacks eth_getBlockReceipts; reading receipts one by one");
                    self.block_receipts.set(Support::Unsupported);
                }
                Err(error) => return Err(classify(&error, "eth_getBlockReceipts")),
            }
        }
        let calls: Vec<(&str, Value)> = txids.iter().map(|t| ("eth_getTransactionReceipt", json!([t]))).collect();
        let mut receipts = Vec::new();
        for answer in self.rpc.batch(&calls).await? {
            let receipt: Option<RpcReceipt> =
                from_value(answer.map_err(|e| classify(&e, "eth_getTransactionReceipt"))?, "receipt")?;
            receipts.extend(receipt);
        }
        Ok(receipts)
    }
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
        valid_until: None,
    })
}

#[async_trait]
impl BlockChain for EvmClient {
    fn name(&self) -> &'static str {
        "evm"
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn tip(&self) -> Result<BlockRef, ChainError> {
        // One call gives height and hash of the same block.
        let block: Option<RpcBlock<Value>> = self.rpc.request("eth_getBlockByNumber", json!(["latest", false])).await?;
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
            self.rpc.request("eth_getBlockByNumber", json!([format!("{:#x}", block.height), false])).await?;
        Ok(at.is_some_and(|at| at.hash.eq_ignore_ascii_case(&block.hash)))
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn transaction(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        let answers = self
            .rpc
            .batch(&[("eth_getTransactionByHash", json!([txid])), ("eth_getTransactionReceipt", json!([txid]))])
            .await?;
        let [tx, receipt]: [Answer; 2] =
            answers.try_into().map_err(|_| ChainError::BadResponse("expected two answers".to_owned()))?;
        let tx: Option<RpcTx> =
            from_value(tx.map_err(|e| classify(&e, "eth_getTransactionByHash"))?, "eth_getTransactionByHash")?;
        let Some(tx) = tx else { return Ok(None) };
        let receipt: Option<RpcReceipt> =
            from_value(receipt.map_err(|e| classify(&e, "eth_getTransactionReceipt"))?, "eth_getTransactionReceipt")?;
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
            .rpc
            .batch(&[
                ("eth_getTransactionReceipt", json!([txid])),
                ("eth_getTransactionCount", json!([from, "latest"])),
            ])
            .await?;
        let [receipt, count]: [Answer; 2] =
            answers.try_into().map_err(|_| ChainError::BadResponse("expected two answers".to_owned()))?;
        let receipt: Option<Value> =
            from_value(receipt.map_err(|e| classify(&e, "eth_getTransactionReceipt"))?, "eth_getTransactionReceipt")?;
        if receipt.is_some() {
            return Ok(None); // mined: it is the one that used the nonce
        }
        let count: Quantity =
            from_value(count.map_err(|e| classify(&e, "eth_getTransactionCount"))?, "eth_getTransactionCount")?;
        // The sender's mined transactions use nonces 0..count: ours is taken,
        // yet ours has no receipt, so another transaction took it.
        Ok((count.0 > u128::from(*nonce)).then_some(Replaced { by: None }))
    }

    /// One batch: `eth_feeHistory` over the last blocks (the next base fee,
    /// how full they ran) and `eth_getTransactionByHash` for each waiting
    /// transaction (its max fee, sender and nonce); then, for the senders of
    /// those still unmined, one batch of `eth_getTransactionCount` at
    /// `latest` and `pending`. Two requests with batches, whatever the number
    /// waiting (up to 50).
    #[tracing::instrument(skip(self, waiting), err(level = "debug"))]
    async fn signals(&self, waiting: &[String]) -> Result<Readings, ChainError> {
        let waiting = &waiting[..waiting.len().min(MAX_WAITING_LOOKUPS)];
        let mut calls = vec![("eth_feeHistory", json!([format!("{FEE_HISTORY_BLOCKS:#x}"), "latest", []]))];
        calls.extend(waiting.iter().map(|txid| ("eth_getTransactionByHash", json!([txid]))));
        let mut answers = self.rpc.batch(&calls).await?.into_iter();
        let history = answers.next().ok_or_else(|| ChainError::BadResponse("no eth_feeHistory answer".to_owned()))?;
        let history: RpcFeeHistory =
            from_value(history.map_err(|e| classify(&e, "eth_feeHistory"))?, "eth_feeHistory")?;
        let mut readings = Readings {
            base_fee_gwei: history.base_fee_per_gas.last().map(|q| gwei(q.0)),
            gas_used_ratio: (!history.gas_used_ratio.is_empty())
                .then(|| history.gas_used_ratio.iter().sum::<f64>() / history.gas_used_ratio.len() as f64),
            ..Readings::default()
        };
        let mut unmined = Vec::new();
        for answer in answers {
            let tx: Option<RpcPendingTx> =
                from_value(answer.map_err(|e| classify(&e, "eth_getTransactionByHash"))?, "eth_getTransactionByHash")?;
            if let Some(tx) = tx.filter(|tx| tx.block_number.is_none()) {
                unmined.push(tx);
            }
        }
        let mut senders: Vec<String> = unmined.iter().map(|tx| tx.from.to_ascii_lowercase()).collect();
        senders.sort();
        senders.dedup();
        let calls: Vec<(&str, Value)> = senders
            .iter()
            .flat_map(|from| {
                [
                    ("eth_getTransactionCount", json!([from, "latest"])),
                    ("eth_getTransactionCount", json!([from, "pending"])),
                ]
            })
            .collect();
        let mut counts = std::collections::HashMap::new();
        for (from, pair) in senders.iter().zip(self.rpc.batch(&calls).await?.chunks(2)) {
            let count = |answer: &Answer| -> Result<u64, ChainError> {
                let quantity: Quantity = from_value(
                    answer.clone().map_err(|e| classify(&e, "eth_getTransactionCount"))?,
                    "eth_getTransactionCount",
                )?;
                quantity.as_u64("eth_getTransactionCount")
            };
            counts.insert(from.clone(), (count(&pair[0])?, count(&pair[1])?));
        }
        for tx in unmined {
            let (latest, pending) = counts.get(&tx.from.to_ascii_lowercase()).copied().unzip();
            let reading = TxReading {
                max_fee_gwei: tx.max_fee_per_gas.or(tx.gas_price).map(|q| gwei(q.0)),
                nonce: Some(tx.nonce.as_u64("nonce")?),
                sender_latest_nonce: latest,
                sender_pending_nonce: pending,
                ..TxReading::default()
            };
            readings.txs.insert(tx.hash.to_ascii_lowercase(), reading);
        }
        Ok(readings)
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
        let err = |code, message: &str| classify(&RpcError::new(code, message), "m");
        assert!(matches!(err(-32601, "the method x does not exist"), ChainError::BadResponse(_)));
        assert!(matches!(err(-32005, "limit exceeded"), ChainError::RateLimited { .. }));
        assert!(matches!(err(-32000, "header not found"), ChainError::Unavailable(_)));
        assert!(method_missing(&RpcError::new(-32000, "the method eth_getBlockReceipts is not available")));
    }
}
