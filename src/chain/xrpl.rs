//! XRP Ledger through rippled's JSON-RPC (`POST /` with
//! `{"method": ..., "params": [{...}]}`, API version 2; version 1 answers,
//! with the transaction's fields at the top level, are read too). Followed
//! by status: rippled has no batch, so `statuses` sends one `tx` per hash,
//! all of a batch at once (`max_batch` 20 bounds how many run together).
//!
//! Heights are ledger indexes and `BlockRef.hash` the ledger hash; only
//! *validated* ledgers count as the best chain (`tip` is the validated
//! ledger), so nothing here reorganizes.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};

use super::http::ClientConfig;
use super::jsonrpc::{from_value, Envelope, JsonRpc, RpcError};
use super::{
    Asset, BaseUnits, Block, BlockRef, BlockTx, ChainError, ConflictKey, Payment, PendingTx, Replaced, StatusChain,
    TxInfo, TxLocation, TxStatus,
};

/// How many `tx` requests one `statuses` call runs at once.
pub const MAX_CONCURRENT_TX: usize = 20;

/// Issued-currency amounts are decimals of up to 15 significant digits with
/// no fixed precision; payments carry them in units of 10^-15 of the token
/// (`"25.5"` is 25_500_000_000_000_000). A value that is not a whole number
/// of such units (below 1e-15) or too large for `BaseUnits` is left out.
pub const TOKEN_DECIMALS: u32 = 15;

/// rippled never searches more than this many ledgers for `txnNotFound`
/// with `searched_all`.
const SEARCH_RANGE: u64 = 1000;

/// rippled (or Clio) JSON-RPC endpoints.
pub struct XrplClient {
    rpc: JsonRpc,
}

/// rippled's error names: throttling, a server not in sync or too loaded
/// (another may answer), not found, or a wrong request.
fn classify(error: &RpcError, method: &str) -> ChainError {
    match error.name.as_str() {
        "slowDown" => ChainError::RateLimited { retry_after: None },
        // This server is not in sync or too loaded: another may answer.
        "tooBusy" | "noNetwork" | "noCurrent" | "noClosed" | "notSynced" | "notReady" | "amendmentBlocked"
        | "internal" | "failedToForward" => ChainError::Unavailable(error.describe(method)),
        "txnNotFound" | "lgrNotFound" => ChainError::NotFound,
        _ => ChainError::BadResponse(error.describe(method)),
    }
}

/// A number, or a decimal string (API v1 writes some ledger indexes so).
#[derive(Debug, Clone, Copy)]
struct Index(u64);

impl<'de> Deserialize<'de> for Index {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Number(n) => n.as_u64().map(Index).ok_or_else(|| serde::de::Error::custom("negative index")),
            Value::String(s) => s.parse().map(Index).map_err(|_| serde::de::Error::custom(format!("bad index {s:?}"))),
            other => Err(serde::de::Error::custom(format!("expected a ledger index, got {other}"))),
        }
    }
}

#[derive(Deserialize)]
struct LedgerAnswer {
    ledger_hash: Option<String>,
    ledger_index: Option<Index>,
    #[serde(default)]
    validated: bool,
    ledger: LedgerHeader,
}

#[derive(Deserialize)]
struct LedgerHeader {
    ledger_hash: String,
    ledger_index: Index,
    parent_hash: String,
    /// Hashes, with `transactions: true` and `expand: false`.
    #[serde(default)]
    transactions: Vec<String>,
    /// Seconds since the Ripple epoch (2000-01-01T00:00:00Z).
    #[serde(default)]
    close_time: Option<i64>,
}

#[derive(Deserialize)]
struct TxAnswer {
    hash: String,
    ledger_index: Option<Index>,
    ledger_hash: Option<String>,
    #[serde(default)]
    validated: bool,
    meta: Option<TxMeta>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TxFields {
    account: String,
    transaction_type: String,
    #[serde(default)]
    sequence: u32,
    ticket_sequence: Option<u32>,
    last_ledger_sequence: Option<u64>,
    destination: Option<String>,
    destination_tag: Option<u32>,
}

#[derive(Deserialize)]
struct TxMeta {
    #[serde(rename = "TransactionResult")]
    transaction_result: String,
    /// What a Payment really delivered (partial payments deliver less than
    /// `Amount`); `"unavailable"` for ledgers before 2014.
    delivered_amount: Option<Value>,
}

struct Tx {
    answer: TxAnswer,
    fields: TxFields,
}

impl XrplClient {
    pub fn new(config: ClientConfig) -> Self {
        Self { rpc: JsonRpc::new(config, Envelope::Rippled, classify) }
    }

    /// One command at API version 2; rippled's error kept for the caller to
    /// read.
    async fn call(&self, method: &str, mut params: Value) -> Result<Result<Value, RpcError>, ChainError> {
        params["api_version"] = json!(2);
        self.rpc.call(method, params).await
    }

    /// The ledger at `index` (a number or `"validated"`); `None` when the
    /// server does not have it validated.
    async fn ledger(&self, index: Value, transactions: bool) -> Result<Option<LedgerAnswer>, ChainError> {
        let params = json!({"ledger_index": index, "transactions": transactions, "expand": false});
        match self.call("ledger", params).await? {
            Ok(result) => {
                let ledger: LedgerAnswer = from_value(result, "ledger")?;
                Ok(ledger.validated.then_some(ledger))
            }
            Err(error) if error.name == "lgrNotFound" => Ok(None),
            Err(error) => Err(classify(&error, "ledger")),
        }
    }

    fn ledger_ref(ledger: &LedgerAnswer) -> BlockRef {
        BlockRef {
            height: ledger.ledger_index.unwrap_or(ledger.ledger.ledger_index).0,
            hash: ledger.ledger_hash.clone().unwrap_or_else(|| ledger.ledger.ledger_hash.clone()).to_ascii_uppercase(),
        }
    }

    /// `Ok(None)` on `txnNotFound`. With `range`, rippled says whether it
    /// searched all of those ledgers (`searched_all`), returned as the error.
    async fn tx(&self, txid: &str, range: Option<(u64, u64)>) -> Result<Result<Tx, RpcError>, ChainError> {
        let mut params = json!({"transaction": txid, "binary": false});
        if let Some((min, max)) = range {
            params["min_ledger"] = json!(min);
            params["max_ledger"] = json!(max);
        }
        let result = match self.call("tx", params).await? {
            Ok(result) => result,
            Err(error) if error.name == "txnNotFound" => return Ok(Err(error)),
            Err(error) => return Err(classify(&error, "tx")),
        };
        // API v2 nests the transaction in `tx_json`; v1 puts it beside `meta`.
        let fields = result.get("tx_json").cloned().unwrap_or_else(|| result.clone());
        let fields: TxFields = from_value(fields, "tx: tx_json")?;
        let answer: TxAnswer = from_value(result, "tx")?;
        Ok(Ok(Tx { answer, fields }))
    }

    /// Where a validated transaction is; API v1 answers lack the ledger hash,
    /// so it is read then.
    async fn location(&self, answer: &TxAnswer) -> Result<Option<BlockRef>, ChainError> {
        if !answer.validated {
            return Ok(None);
        }
        let index = answer
            .ledger_index
            .ok_or_else(|| ChainError::BadResponse("tx: validated without ledger_index".to_owned()))?
            .0;
        let hash = match &answer.ledger_hash {
            Some(hash) => hash.to_ascii_uppercase(),
            None => {
                let ledger = self.ledger(json!(index), false).await?;
                Self::ledger_ref(&ledger.ok_or(ChainError::Unavailable(format!("ledger {index} not available")))?).hash
            }
        };
        Ok(Some(BlockRef { height: index, hash }))
    }

    async fn status(&self, pending: &PendingTx, validated: u64) -> Result<TxStatus, ChainError> {
        let passed = |last: u64| validated > last;
        // Past its last ledger, ask whether rippled searched every ledger that
        // could hold it; only then is "not found" final.
        let range = pending
            .last_valid_height
            .filter(|&last| passed(last))
            .map(|last| (last.saturating_sub(SEARCH_RANGE - 1).max(1), last));
        let tx = match self.tx(&pending.txid, range).await? {
            Ok(tx) => tx,
            Err(not_found) => {
                return Ok(TxStatus {
                    txid: pending.txid.clone(),
                    location: None,
                    finalized: false,
                    success: None,
                    expired: range.is_some() && not_found.object.get("searched_all") == Some(&Value::Bool(true)),
                })
            }
        };
        let location = self.location(&tx.answer).await?;
        let last = tx.fields.last_ledger_sequence.or(pending.last_valid_height);
        Ok(match location {
            Some(at) => TxStatus {
                txid: pending.txid.clone(),
                location: Some(TxLocation::Block(at)),
                finalized: true,
                success: Some(succeeded(&tx.answer)),
                expired: false,
            },
            // Known, in no validated ledger: provisional. The validated index
            // was read before this answer, so a ledger it names as passed
            // would have shown the transaction validated.
            None => TxStatus {
                txid: pending.txid.clone(),
                location: Some(TxLocation::Mempool),
                finalized: false,
                success: None,
                expired: last.is_some_and(passed),
            },
        })
    }
}

fn succeeded(answer: &TxAnswer) -> bool {
    answer.meta.as_ref().is_some_and(|meta| meta.transaction_result == "tesSUCCESS")
}

/// `delivered_amount`: XRP drops as a string, or an issued currency
/// `{currency, issuer, value}` (see `TOKEN_DECIMALS`). `None` for what has
/// no exact base units: `"unavailable"`, MPT amounts, values out of range.
fn delivered(amount: &Value) -> Option<(BaseUnits, Asset)> {
    match amount {
        Value::String(drops) => {
            let units = drops.parse::<u128>().ok()?;
            Some((BaseUnits::new(units), Asset::Native))
        }
        Value::Object(fields) => {
            let currency = fields.get("currency")?.as_str()?;
            let issuer = fields.get("issuer")?.as_str()?;
            let value = fields.get("value")?.as_str()?;
            let units = scaled(value, TOKEN_DECIMALS)?;
            Some((BaseUnits::new(units), Asset::Token(format!("{currency}.{issuer}"))))
        }
        _ => None,
    }
}

/// `value × 10^decimals` for a non-negative decimal that may carry an
/// exponent (`"1.5"`, `"1e-7"`, `"2.5E3"`); `None` unless it is a whole
/// number that fits in u128.
fn scaled(value: &str, decimals: u32) -> Option<u128> {
    let (mantissa, exponent) = match value.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, exponent.parse::<i64>().ok()?),
        None => (value, 0),
    };
    let mantissa = mantissa.strip_prefix('+').unwrap_or(mantissa);
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (int.is_empty() && frac.is_empty()) || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some(0);
    }
    let shift = exponent - frac.len() as i64 + i64::from(decimals);
    if shift >= 0 {
        let factor = 10u128.checked_pow(u32::try_from(shift).ok()?)?;
        digits.parse::<u128>().ok()?.checked_mul(factor)
    } else {
        let cut = usize::try_from(-shift).ok()?;
        let keep = digits.len().checked_sub(cut)?;
        let (whole, dropped) = digits.split_at(keep);
        if dropped.bytes().any(|b| b != b'0') {
            return None;
        }
        if whole.is_empty() {
            return Some(0);
        }
        whole.parse().ok()
    }
}

fn tx_info(txid: &str, tx: Tx, location: Option<BlockRef>) -> TxInfo {
    let mut payments = Vec::new();
    if let (true, Some(meta), Some(destination)) =
        (tx.fields.transaction_type == "Payment", &tx.answer.meta, &tx.fields.destination)
    {
        if meta.transaction_result == "tesSUCCESS" {
            if let Some((amount, asset)) = meta.delivered_amount.as_ref().and_then(delivered) {
                payments.push(Payment {
                    to: destination.clone(),
                    amount,
                    asset,
                    memo: tx.fields.destination_tag.map(|tag| tag.to_string()),
                });
            }
        }
    }
    let validated = location.is_some();
    let nonce = match (tx.fields.sequence, tx.fields.ticket_sequence) {
        (0, Some(ticket)) => ticket,
        (sequence, _) => sequence,
    };
    TxInfo {
        txid: if tx.answer.hash.is_empty() { txid.to_ascii_uppercase() } else { tx.answer.hash.to_ascii_uppercase() },
        success: validated.then(|| succeeded(&tx.answer)),
        location: location.map_or(TxLocation::Mempool, TxLocation::Block),
        payments,
        conflict: ConflictKey::Nonce { from: tx.fields.account, nonce: u64::from(nonce) },
        valid_until: None,
    }
}

#[async_trait]
impl StatusChain for XrplClient {
    fn name(&self) -> &'static str {
        "xrpl"
    }

    fn max_batch(&self) -> usize {
        MAX_CONCURRENT_TX
    }

    /// The validated ledger index first (one `ledger` request), then one `tx`
    /// per transaction, `MAX_CONCURRENT_TX` at a time. Validated →
    /// `finalized`, `success` when `tesSUCCESS` (any `tec` is a failure that
    /// still cost the fee). `expired` once the validated ledger passed its
    /// `LastLedgerSequence`: read from the `tx` answer when rippled knows the
    /// transaction, else the recorded `last_valid_height`, and then only when
    /// rippled confirms it searched every ledger up to it (`searched_all`).
    #[tracing::instrument(skip_all, fields(count = txs.len()), err(level = "debug"))]
    async fn statuses_of(&self, txs: &[PendingTx]) -> Result<Vec<TxStatus>, ChainError> {
        let validated = self.tip().await?.height;
        super::in_chunks(txs, MAX_CONCURRENT_TX, |tx| self.status(tx, validated)).await
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn tip(&self) -> Result<BlockRef, ChainError> {
        let ledger = self
            .ledger(json!("validated"), false)
            .await?
            .ok_or_else(|| ChainError::Unavailable("ledger: no validated ledger yet".to_owned()))?;
        Ok(Self::ledger_ref(&ledger))
    }

    /// Payments of a `Payment` transaction: `Destination` with its
    /// `DestinationTag` as `memo`, for `meta.delivered_amount` (never
    /// `Amount`: a partial payment delivers less). Issued currencies are
    /// `Asset::Token("{currency}.{issuer}")` in 10^-15 units. The conflict key
    /// is the account and its `Sequence` (or `TicketSequence`).
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn transaction(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        let Ok(tx) = self.tx(txid, None).await? else { return Ok(None) };
        let location = self.location(&tx.answer).await?;
        Ok(Some(tx_info(txid, tx, location)))
    }
}

/// The Ripple epoch (2000-01-01T00:00:00Z) in unix seconds.
const RIPPLE_EPOCH: i64 = 946_684_800;

/// Reads beyond what the tracker follows XRPL by, kept for callers that want
/// them: validated ledgers by index and whether one is still validated.
impl XrplClient {
    /// The validated ledger `height` with its transaction hashes; `NotFound`
    /// above the validated ledger or outside the server's history.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    pub async fn block_at(&self, height: u64) -> Result<Block, ChainError> {
        let ledger = self.ledger(json!(height), true).await?.ok_or(ChainError::NotFound)?;
        let time = ledger.ledger.close_time.map(|t| t + RIPPLE_EPOCH).and_then(super::unix_seconds);
        Ok(Block {
            at: Self::ledger_ref(&ledger),
            parent_hash: Some(ledger.ledger.parent_hash.to_ascii_uppercase()),
            txs: ledger
                .ledger
                .transactions
                .into_iter()
                .map(|txid| BlockTx { txid: txid.to_ascii_uppercase(), call: None })
                .collect(),
            time,
            expiry_point: None,
        })
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    pub async fn is_in_best_chain(&self, block: &BlockRef) -> Result<bool, ChainError> {
        let ledger = self.ledger(json!(block.height), false).await?;
        Ok(ledger.is_some_and(|ledger| Self::ledger_ref(&ledger).hash.eq_ignore_ascii_case(&block.hash)))
    }

    /// Always `None`: an XRPL transaction carrying `LastLedgerSequence`
    /// (every exchange sets one) ends as `expired` instead, which is what the
    /// tracker acts on; another transaction with the same sequence can only
    /// validate if ours did not.
    pub async fn replacement(&self, txid: &str, conflict: &ConflictKey) -> Result<Option<Replaced>, ChainError> {
        let _ = (txid, conflict);
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_amounts_scale_exactly_or_not_at_all() {
        assert_eq!(scaled("25.5", 15), Some(25_500_000_000_000_000));
        assert_eq!(scaled("1e-15", 15), Some(1));
        assert_eq!(scaled("1.5E3", 0), Some(1500));
        assert_eq!(scaled("1000000000000000e-20", 15), Some(10_000_000_000), "1e-5");
        assert_eq!(scaled("0", 15), Some(0));
        assert_eq!(scaled("1e-16", 15), None, "below one unit");
        assert_eq!(scaled("9999999999999999e80", 15), None, "beyond u128");
        for bad in ["", "-1", "1.2.3", "abc", "1e", "."] {
            assert_eq!(scaled(bad, 15), None, "{bad:?}");
        }
    }

    #[test]
    fn delivered_amounts() {
        assert_eq!(delivered(&json!("1000000")), Some((BaseUnits::new(1_000_000), Asset::Native)));
        assert_eq!(delivered(&json!("unavailable")), None);
        let usd = json!({"currency": "USD", "issuer": "rvYAfWj5gh67oV6fW32ZzP3Aw4Eubs59B", "value": "12.5"});
        assert_eq!(
            delivered(&usd),
            Some((
                BaseUnits::new(12_500_000_000_000_000),
                Asset::Token("USD.rvYAfWj5gh67oV6fW32ZzP3Aw4Eubs59B".into())
            ))
        );
        assert_eq!(delivered(&json!({"mpt_issuance_id": "00", "value": "1"})), None);
    }

    #[test]
    fn rippled_errors_sort_into_chain_errors() {
        let err = |code: &str| {
            classify(
                &RpcError { code: 0, name: code.to_owned(), message: "m".into(), object: json!({"error": code}) },
                "tx",
            )
        };
        assert!(matches!(err("slowDown"), ChainError::RateLimited { .. }));
        assert!(matches!(err("noNetwork"), ChainError::Unavailable(_)));
        assert!(matches!(err("invalidParams"), ChainError::BadResponse(m) if m.contains("invalidParams")));
    }
}
