//! TRON through the java-tron HTTP API (TronGrid or an own node): POST with
//! JSON bodies, several base URLs tried in order, `TRON-PRO-API-KEY`.
//!
//! How java-tron answers (tronprotocol/documentation-en `docs/api/http`):
//! an unknown block or transaction is `{}` with HTTP 200; a bad request is
//! HTTP 200 with `{"Error": "<exception class> : <message>"}`; addresses are
//! hex `41` + 20 bytes (turned into base58check `T...` here); amounts are
//! sun (TRX) or token base units. TronGrid throttles with 429, or with 403
//! `{"Error": "The key exceeds the frequency limit(30), and the query server
//! is suspended for 30s"}`: both are `RateLimited`.
//!
//! Finality: a block is irreversible once solidified (19 of 27 super
//! representatives built on it, about a minute). `tip` and `block_at` read
//! the solidity endpoints (`/walletsolidity/getnowblock`, `getblockbynum`),
//! so the tracker counts from, and reads, only final blocks, and one
//! confirmation past the solid tip is final. Transactions are read from the
//! full node (`/wallet/...`), so a withdrawal shows up in its block seconds
//! after inclusion, before that block is final; `is_in_best_chain` asks the
//! full node whether that block is still at its height. `head` gives the
//! full node's tip.
//!
//! Replacement: TRON has no nonce, no outputs and no replace-by-fee; a
//! transaction lands in a block before its `raw_data.expiration` (at most 24
//! hours after its timestamp, usually 60 seconds) or never. So nothing can
//! take its place: `replacement` is always `None`, the conflict key is an
//! empty `Outpoints`, and an expired transaction is a drop, which the
//! tracker sees as `transaction` answering `None` past its grace period.
//! java-tron does not serve unconfirmed transactions here, so a transaction
//! not yet in a block is also `None`, never `Mempool`.

use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::http::{endpoint, parse_json, snippet, ClientConfig, Endpoints, Reply};
use super::{
    evm, Asset, BaseUnits, Block, BlockChain, BlockRef, BlockTx, ChainError, ConflictKey, Payment, Replaced, TxInfo,
    TxLocation,
};

/// TronGrid's API key header.
pub const API_KEY_HEADER: &str = "TRON-PRO-API-KEY";

/// Base URLs like `https://api.trongrid.io`; each must serve `/wallet` and
/// `/walletsolidity`. The API key goes in `API_KEY_HEADER`.
pub struct TronClient {
    api: Endpoints,
}

// Only the fields we read; the API sends more. Protobuf JSON leaves out
// fields at their default (0, "", []).
#[derive(Deserialize)]
struct TronBlock {
    #[serde(rename = "blockID")]
    block_id: String,
    block_header: TronHeader,
    #[serde(default)]
    transactions: Vec<TronTx>,
}

#[derive(Deserialize)]
struct TronHeader {
    raw_data: TronHeaderRaw,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TronHeaderRaw {
    #[serde(default)]
    number: u64,
    parent_hash: Option<String>,
    /// Unix milliseconds.
    #[serde(default)]
    timestamp: Option<i64>,
}

#[derive(Deserialize)]
struct TronTx {
    #[serde(rename = "txID")]
    tx_id: String,
    raw_data: TronTxRaw,
    #[serde(default)]
    ret: Vec<TronRet>,
}

#[derive(Deserialize)]
struct TronTxRaw {
    #[serde(default)]
    contract: Vec<TronContract>,
}

#[derive(Deserialize)]
struct TronRet {
    #[serde(rename = "contractRet")]
    contract_ret: Option<String>,
}

#[derive(Deserialize)]
struct TronContract {
    #[serde(rename = "type")]
    kind: String,
    parameter: TronParameter,
}

#[derive(Deserialize)]
struct TronParameter {
    value: Value,
}

#[derive(Deserialize)]
struct TransferContract {
    to_address: String,
    #[serde(default)]
    amount: u64,
}

#[derive(Deserialize)]
struct TriggerSmartContract {
    contract_address: String,
    #[serde(default)]
    data: String,
    #[serde(default)]
    call_value: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TronTxInfo {
    #[serde(default)]
    block_number: u64,
    /// `FAILED` when execution failed; absent on success.
    result: Option<String>,
    receipt: Option<TronReceipt>,
    #[serde(default)]
    log: Vec<TronLog>,
}

#[derive(Deserialize)]
struct TronReceipt {
    /// `SUCCESS`, `REVERT`, `OUT_OF_ENERGY`, ...; absent for plain transfers.
    result: Option<String>,
}

#[derive(Deserialize)]
struct TronLog {
    /// 20 bytes hex, without the 41 prefix.
    address: String,
    #[serde(default)]
    topics: Vec<String>,
    #[serde(default)]
    data: String,
}

impl TronClient {
    pub fn new(config: ClientConfig) -> Self {
        Self { api: Endpoints::new(config) }
    }

    /// `None` for java-tron's `{}` (unknown block or transaction).
    async fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<Option<T>, ChainError> {
        self.api.post(path, path, body, |reply| read(reply, path)).await
    }

    async fn block(&self, path: &str, height: u64) -> Result<Option<TronBlock>, ChainError> {
        let block: Option<TronBlock> = self.post(path, &json!({"num": height})).await?;
        block.map(|b| check_block(b, Some(height), path)).transpose()
    }

    async fn now_block(&self, path: &str) -> Result<BlockRef, ChainError> {
        let block: TronBlock = self.post(path, &json!({})).await?.ok_or(ChainError::NotFound)?;
        let block = check_block(block, None, path)?;
        Ok(BlockRef { height: block.block_header.raw_data.number, hash: block.block_id })
    }

    /// The full node's newest block: ahead of `tip` by the blocks not yet
    /// solidified.
    pub async fn head(&self) -> Result<BlockRef, ChainError> {
        self.now_block("/wallet/getnowblock").await
    }

    async fn tx_and_info(&self, txid: &str) -> Result<Option<(TronTx, Option<TronTxInfo>)>, ChainError> {
        let body = json!({"value": txid});
        let Some(tx) = self.post::<TronTx>("/wallet/gettransactionbyid", &body).await? else { return Ok(None) };
        let info = self.post::<TronTxInfo>("/wallet/gettransactioninfobyid", &body).await?;
        Ok(Some((tx, info)))
    }
}

/// How java-tron answers: `{}` for unknown, `{"Error"}` for a bad request
/// (or TronGrid's throttling, also as HTTP 403).
fn read<T: DeserializeOwned>(reply: Reply, path: &str) -> Result<Option<T>, ChainError> {
    let node_error = serde_json::from_str::<Value>(&reply.body)
        .ok()
        .and_then(|v| v.get("Error").and_then(Value::as_str).map(str::to_owned));
    if let Some(limited) = node_error.as_deref().and_then(throttled) {
        return Err(limited);
    }
    if !reply.status.is_success() {
        let what = node_error.unwrap_or_else(|| snippet(&reply.body));
        return Err(ChainError::BadResponse(format!("{path}: HTTP {}: {what}", reply.status.as_u16())));
    }
    if let Some(error) = node_error {
        return Err(ChainError::BadResponse(format!("{path}: node error: {}", snippet(&error))));
    }
    if reply.body.trim() == "{}" {
        return Ok(None);
    }
    parse_json(&reply.body, path).map(Some)
}

/// TronGrid's throttling message, with the suspension it names.
fn throttled(error: &str) -> Option<ChainError> {
    if !error.contains("frequency limit") {
        return None;
    }
    let seconds = error
        .split("suspended for ")
        .nth(1)
        .and_then(|rest| rest.trim_end_matches(|c: char| !c.is_ascii_digit()).parse::<u64>().ok());
    Some(ChainError::RateLimited { retry_after: seconds.map(Duration::from_secs) })
}

/// A block ID is the block number (8 bytes) followed by 24 bytes of the
/// header's hash: check both against what was asked.
fn check_block(mut block: TronBlock, height: Option<u64>, path: &str) -> Result<TronBlock, ChainError> {
    let what = endpoint(path);
    let id = block.block_id.to_ascii_lowercase();
    if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ChainError::BadResponse(format!("{what}: blockID {:?} is not 64 hex digits", snippet(&id))));
    }
    let number = block.block_header.raw_data.number;
    if u64::from_str_radix(&id[..16], 16).ok() != Some(number) || height.is_some_and(|h| h != number) {
        return Err(ChainError::BadResponse(format!(
            "{what}: asked for block {height:?}, got number {number} with blockID {id}"
        )));
    }
    block.block_id = id;
    Ok(block)
}

/// TRON hex (`41` + 20 bytes, or the 20 bytes alone as in logs) to its
/// base58check form `T...`; `None` if it is neither.
pub fn tron_address(hex: &str) -> Option<String> {
    let hex = hex.strip_prefix("0x").unwrap_or(hex);
    let hex = match hex.len() {
        40 => format!("41{hex}"),
        42 if hex[..2].eq_ignore_ascii_case("41") => hex.to_owned(),
        _ => return None,
    };
    let mut bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    let check = Sha256::digest(Sha256::digest(&bytes));
    bytes.extend_from_slice(&check[..4]);
    Some(bs58::encode(bytes).into_string())
}

fn address(hex: &str, what: &str) -> Result<String, ChainError> {
    tron_address(hex)
        .ok_or_else(|| ChainError::BadResponse(format!("{what}: {:?} is not a TRON address", snippet(hex))))
}

/// A TRC-20 `transfer(address,uint256)` call's recipient (base58) and amount.
/// The address word's 12 high bytes must be zero, as the ABI pads them.
pub fn decode_trc20_transfer(data: &str) -> Option<(String, BaseUnits)> {
    if !data.get(8..32)?.bytes().all(|b| b == b'0') {
        return None;
    }
    let (to, amount) = evm::decode_transfer_call(&format!("0x{}", data.to_ascii_lowercase()))?;
    Some((tron_address(&to)?, amount))
}

/// A TRC-20 `Transfer(address,address,uint256)` log as a payment of the
/// emitting contract's token; `None` for any other log.
fn decode_transfer_log(log: &TronLog) -> Option<Payment> {
    let topic = evm::TRANSFER_TOPIC.trim_start_matches("0x");
    if log.topics.len() != 3 || !log.topics[0].eq_ignore_ascii_case(topic) || log.data.len() != 64 {
        return None;
    }
    let to = log.topics[2].get(24..)?;
    if log.topics[2].len() != 64 || !log.topics[2][..24].bytes().all(|b| b == b'0') {
        return None;
    }
    let amount = u128::from_str_radix(log.data.trim_start_matches('0'), 16)
        .ok()
        .or_else(|| log.data.bytes().all(|b| b == b'0').then_some(0))?;
    Some(Payment {
        to: tron_address(to)?,
        amount: BaseUnits::new(amount),
        asset: Asset::Token(tron_address(&log.address)?),
        memo: None,
    })
}

fn is_success(result: Option<&str>) -> bool {
    matches!(result, None | Some("SUCCESS") | Some("DEFAULT"))
}

/// Whether it executed successfully (`None` before execution), and what it paid.
fn outcome(tx: &TronTx, info: Option<&TronTxInfo>) -> Result<(Option<bool>, Vec<Payment>), ChainError> {
    let what = "/wallet/gettransactionbyid";
    let success = info.map(|info| {
        info.result.as_deref() != Some("FAILED")
            && is_success(info.receipt.as_ref().and_then(|r| r.result.as_deref()))
            && is_success(tx.ret.first().and_then(|r| r.contract_ret.as_deref()))
    });
    if success == Some(false) {
        return Ok((success, Vec::new()));
    }
    let Some(contract) = tx.raw_data.contract.first() else { return Ok((success, Vec::new())) };
    let parameter = |e: serde_json::Error| ChainError::BadResponse(format!("{what}: {} parameter: {e}", contract.kind));
    let mut payments = Vec::new();
    match contract.kind.as_str() {
        "TransferContract" => {
            let transfer: TransferContract =
                serde_json::from_value(contract.parameter.value.clone()).map_err(parameter)?;
            if transfer.amount > 0 {
                payments.push(Payment {
                    to: address(&transfer.to_address, what)?,
                    amount: BaseUnits::new(transfer.amount.into()),
                    asset: Asset::Native,
                    memo: None,
                });
            }
        }
        "TriggerSmartContract" => {
            let call: TriggerSmartContract =
                serde_json::from_value(contract.parameter.value.clone()).map_err(parameter)?;
            let token = address(&call.contract_address, what)?;
            if call.call_value > 0 {
                payments.push(Payment {
                    to: token.clone(),
                    amount: BaseUnits::new(call.call_value.into()),
                    asset: Asset::Native,
                    memo: None,
                });
            }
            match info {
                // What happened: the token's Transfer logs.
                Some(info) => payments.extend(info.log.iter().filter_map(decode_transfer_log)),
                // Not executed yet: what the calldata asks for.
                None => payments.extend(decode_trc20_transfer(&call.data).map(|(to, amount)| Payment {
                    to,
                    amount,
                    asset: Asset::Token(token),
                    memo: None,
                })),
            }
        }
        // TRC-10, staking, votes, ...: no payment a withdrawal makes.
        _ => {}
    }
    Ok((success, payments))
}

fn tx_info(tx: &TronTx, info: Option<&TronTxInfo>, location: TxLocation) -> Result<TxInfo, ChainError> {
    let (success, payments) = outcome(tx, info)?;
    Ok(TxInfo {
        txid: tx.tx_id.to_ascii_lowercase(),
        location,
        success,
        payments,
        conflict: ConflictKey::Outpoints(Vec::new()),
        valid_until: None,
    })
}

#[async_trait]
impl BlockChain for TronClient {
    fn name(&self) -> &'static str {
        "tron"
    }

    /// The newest solidified (irreversible) block.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn tip(&self) -> Result<BlockRef, ChainError> {
        self.now_block("/walletsolidity/getnowblock").await
    }

    /// A solidified block: `NotFound` above the solid tip.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn block_at(&self, height: u64) -> Result<Block, ChainError> {
        let block = self.block("/walletsolidity/getblockbynum", height).await?.ok_or(ChainError::NotFound)?;
        let time = block.block_header.raw_data.timestamp.and_then(chrono::DateTime::from_timestamp_millis);
        Ok(Block {
            at: BlockRef { height, hash: block.block_id },
            parent_hash: block.block_header.raw_data.parent_hash.map(|p| p.to_ascii_lowercase()).filter(|_| height > 0),
            // Not `EvmCall`s: TRON addresses are base58, not 0x hex; payments
            // come from `transactions_in_block`.
            txs: block
                .transactions
                .into_iter()
                .map(|tx| BlockTx { txid: tx.tx_id.to_ascii_lowercase(), call: None })
                .collect(),
            time,
            expiry_point: None,
        })
    }

    /// Asks the full node (not the solidity endpoint), so blocks not yet
    /// final are answered too.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn is_in_best_chain(&self, block: &BlockRef) -> Result<bool, ChainError> {
        let found = self.block("/wallet/getblockbynum", block.height).await?;
        Ok(found.is_some_and(|b| b.block_id.eq_ignore_ascii_case(&block.hash)))
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn transaction(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        let Some((tx, info)) = self.tx_and_info(txid).await? else { return Ok(None) };
        let location = match &info {
            Some(info) => {
                // The info names the height only; the block names its hash.
                let block = self.block("/wallet/getblockbynum", info.block_number).await?;
                match block {
                    Some(block) => TxLocation::Block(BlockRef { height: info.block_number, hash: block.block_id }),
                    None => TxLocation::Mempool,
                }
            }
            None => TxLocation::Mempool,
        };
        tx_info(&tx, info.as_ref(), location).map(Some)
    }

    /// Two requests per transaction (body and info); the block's own ID
    /// saves fetching its header again.
    async fn transactions_in_block(&self, block: &Block, txids: &[String]) -> Result<Vec<TxInfo>, ChainError> {
        let mut found = Vec::with_capacity(txids.len());
        for txid in txids {
            let Some((tx, info)) = self.tx_and_info(txid).await? else { continue };
            match &info {
                Some(i) if i.block_number == block.at.height => {
                    found.push(tx_info(&tx, info.as_ref(), TxLocation::Block(block.at.clone()))?)
                }
                // Moved since the block was read (a reorg): look it up in full.
                _ => found.extend(self.transaction(txid).await?),
            }
        }
        Ok(found)
    }

    /// Never: see the module documentation.
    async fn replacement(&self, txid: &str, conflict: &ConflictKey) -> Result<Option<Replaced>, ChainError> {
        let _ = (txid, conflict);
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::address::validate;
    use crate::domain::network::Network;

    const USDT_HEX: &str = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c";
    const USDT: &str = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";

    #[test]
    fn hex_addresses_become_base58check() {
        assert_eq!(tron_address(USDT_HEX).as_deref(), Some(USDT));
        assert_eq!(tron_address(&USDT_HEX[2..]).as_deref(), Some(USDT), "log addresses lack the 41");
        assert_eq!(tron_address(&USDT_HEX.to_ascii_uppercase()).as_deref(), Some(USDT));
        for n in 0..50u8 {
            let hex = format!("41{}", format!("{n:02x}").repeat(20));
            let address = tron_address(&hex).unwrap();
            assert!(address.starts_with('T'), "{address}");
            assert!(validate(Network::Trx, &address, None).valid, "{address} must pass the TRX validator");
        }
        assert_eq!(tron_address("42a614f803b6fd780986a42c78ec9c7f77e6ded13c"), None, "not a 41 address");
        assert_eq!(tron_address("41a614"), None);
        assert_eq!(tron_address(&format!("41{}", "zz".repeat(20))), None);
    }

    #[test]
    fn decodes_trc20_transfer_calldata() {
        let data = format!("a9059cbb{:0>64}{:064x}", &USDT_HEX[2..], 25_500_000u128);
        assert_eq!(decode_trc20_transfer(&data), Some((USDT.to_owned(), BaseUnits::new(25_500_000))));
        assert_eq!(
            decode_trc20_transfer(&data.to_ascii_uppercase()),
            Some((USDT.to_owned(), BaseUnits::new(25_500_000)))
        );
        let approve = format!("095ea7b3{}", &data[8..]);
        assert_eq!(decode_trc20_transfer(&approve), None, "approve is not a transfer");
        assert_eq!(decode_trc20_transfer(&data[..data.len() - 2]), None, "truncated");
        let dirty = format!("a9059cbb{:1>64}{:064x}", &USDT_HEX[2..], 1u8);
        assert_eq!(decode_trc20_transfer(&dirty), None, "an address word with high bytes set");
    }

    #[test]
    fn decodes_transfer_logs_only() {
        let topic = evm::TRANSFER_TOPIC.trim_start_matches("0x").to_owned();
        let log = |topics: Vec<String>, data: String| TronLog { address: USDT_HEX[2..].to_owned(), topics, data };
        let to_word = format!("{:0>64}", "22".repeat(20));
        let transfer = log(vec![topic.clone(), format!("{:064}", 0), to_word.clone()], format!("{:064x}", 7u8));
        let payment = decode_transfer_log(&transfer).unwrap();
        assert_eq!(payment.amount, BaseUnits::new(7));
        assert_eq!(payment.asset, Asset::Token(USDT.to_owned()));
        assert_eq!(Some(payment.to), tron_address(&"22".repeat(20)));
        let zero = log(vec![topic.clone(), format!("{:064}", 0), to_word.clone()], format!("{:064}", 0));
        assert_eq!(decode_transfer_log(&zero).unwrap().amount, BaseUnits::ZERO);
        assert!(decode_transfer_log(&log(vec![topic.clone(), to_word.clone()], format!("{:064}", 1))).is_none());
        assert!(decode_transfer_log(&log(vec!["00".repeat(32), format!("{:064}", 0), to_word], "01".into())).is_none());
        let huge = log(vec![topic, format!("{:064}", 0), format!("{:0>64}", "22".repeat(20))], "f".repeat(64));
        assert!(decode_transfer_log(&huge).is_none(), "more than u128 holds");
    }

    #[test]
    fn throttling_messages_name_the_suspension() {
        let message = "The key exceeds the frequency limit(30), and the query server is suspended for 30s";
        assert_eq!(throttled(message), Some(ChainError::RateLimited { retry_after: Some(Duration::from_secs(30)) }));
        assert_eq!(throttled("class java.lang.NumberFormatException : For input string"), None);
    }
}
