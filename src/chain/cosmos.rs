//! Cosmos SDK chains (the Cosmos Hub's ATOM, and any other SDK chain by its
//! native denom) through the SDK's REST gateway (gRPC-gateway JSON, SDK
//! v0.47-v0.50). Followed by status (a `StatusChain`): CometBFT blocks are
//! final once committed, so a transaction the node returns is final.
//!
//! - Tip: `GET /cosmos/base/tendermint/v1beta1/blocks/latest` (`block_id.hash`
//!   in base64, `block.header.height` as a decimal string).
//! - A transaction: `GET /cosmos/tx/v1beta1/txs/{hash}` (`tx_response.code`:
//!   0 is success, anything else a failure that still took the fee;
//!   `tx_response.height`; `tx.body.messages`, `tx.body.memo`,
//!   `tx.body.timeout_height`). 404 (`{"code": 5, "message": "tx not found:
//!   .."}`) when the node's indexer does not have it: a transaction waiting
//!   in a mempool is not visible here.
//! - Payments: each `/cosmos.bank.v1beta1.MsgSend`'s `to_address` and
//!   `amount[]` (`denom`, `amount` in base units), and each `MsgMultiSend`
//!   output; the native denom (`uatom`) is `Asset::Native`, any other denom
//!   (an IBC voucher such as `ibc/F663…` for USDC) `Asset::Token(denom)`. The
//!   transaction's memo goes with every payment: exchanges tell their
//!   deposits apart by it.
//! - Expiry: a transaction with `timeout_height` set cannot be included in a
//!   block above it; one the node does not know is `expired` once the tip
//!   passes the `timeout_height` recorded at broadcast (`last_valid_height`).
//! - Discovery: `GET /cosmos/tx/v1beta1/txs?query=transfer.recipient='{addr}'`
//!   (SDK v0.50's `query`; the address's newest transactions).
//!
//! Reference: <https://docs.cosmos.network/api> (`cosmos.tx.v1beta1.Service`
//! `GetTx` / `GetTxsEvent`, `cosmos.base.tendermint.v1beta1.Service`
//! `GetLatestBlock`), <https://docs.cosmos.network/main/build/modules/bank>
//! (`MsgSend`, `MsgMultiSend`).

use async_trait::async_trait;
use base64::Engine;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::final_answers::FinalAnswers;
use super::http::{parse_json, ClientConfig, Endpoints, Reply};
use super::{
    AddressHistory, Asset, BaseUnits, BlockRef, ChainError, ConflictKey, Payment, PendingTx, StatusChain, TxInfo,
    TxLocation, TxStatus,
};

/// The Cosmos Hub's native denom (1 ATOM = 10^6 uatom).
pub const ATOM_DENOM: &str = "uatom";
/// Public Cosmos Hub REST endpoints, for a default configuration; none is
/// asked before the first poll.
pub const ATOM_DEFAULT_URLS: [&str; 2] =
    ["https://cosmos-rest.publicnode.com", "https://rest.cosmos.directory/cosmoshub"];
/// How many transactions one `statuses_of` call looks up at once.
pub const MAX_CONCURRENT: usize = 20;
/// An address's newest transactions read for discovery.
const HISTORY_LIMIT: usize = 10;

pub const MSG_SEND: &str = "/cosmos.bank.v1beta1.MsgSend";
pub const MSG_MULTI_SEND: &str = "/cosmos.bank.v1beta1.MsgMultiSend";

/// An `int64`/`uint64`, which protobuf JSON writes as a decimal string.
#[derive(Debug, Clone, Copy, Default)]
struct Int(u64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Number(n) => n.as_u64().map(Int).ok_or_else(|| serde::de::Error::custom("not a u64")),
            Value::String(s) => s.parse().map(Int).map_err(|_| serde::de::Error::custom(format!("bad integer {s:?}"))),
            other => Err(serde::de::Error::custom(format!("expected an integer, got {other}"))),
        }
    }
}

#[derive(Deserialize)]
struct LatestBlock {
    block_id: BlockId,
    block: BlockBody,
}

#[derive(Deserialize)]
struct BlockId {
    /// Base64 of the 32-byte block hash.
    hash: String,
}

#[derive(Deserialize)]
struct BlockBody {
    header: Header,
}

#[derive(Deserialize)]
struct Header {
    height: Int,
}

#[derive(Deserialize)]
struct GetTx {
    tx: Tx,
    tx_response: TxResponse,
}

#[derive(Deserialize)]
struct TxsEvent {
    #[serde(default)]
    txs: Vec<Tx>,
    #[serde(default)]
    tx_responses: Vec<TxResponse>,
}

#[derive(Deserialize)]
struct Tx {
    body: Body,
}

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    messages: Vec<Value>,
    #[serde(default)]
    memo: String,
    #[serde(default)]
    timeout_height: Int,
}

#[derive(Deserialize)]
struct TxResponse {
    height: Int,
    txhash: String,
    /// 0: success; otherwise the error code in `codespace`.
    #[serde(default)]
    code: u32,
}

#[derive(Deserialize)]
struct Coin {
    denom: String,
    amount: String,
}

/// The gRPC gateway's error body.
#[derive(Deserialize)]
struct GatewayError {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
}

/// gRPC's NOT_FOUND.
const GRPC_NOT_FOUND: i64 = 5;

/// A Cosmos SDK node's REST gateway, tried in order.
pub struct CosmosClient {
    api: Endpoints,
    native_denom: String,
    /// Final answers from `statuses_of`, for the `transaction` call after it.
    finals: FinalAnswers,
}

fn ok_json<T: serde::de::DeserializeOwned>(reply: Reply, path: &str) -> Result<T, ChainError> {
    if !reply.status.is_success() {
        return Err(reply.unexpected_status());
    }
    parse_json(&reply.body, path)
}

/// A hash as 64 upper-case hex digits (CometBFT's form), from base64.
fn hash_hex(base64: &str) -> Result<String, ChainError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64.trim())
        .map_err(|_| ChainError::BadResponse(format!("block_id.hash: not base64: {base64:?}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02X}")).collect())
}

impl CosmosClient {
    /// `native_denom`: the chain's own coin in base units (`uatom`).
    pub fn new(config: ClientConfig, native_denom: impl Into<String>) -> Self {
        Self { api: Endpoints::new(config), native_denom: native_denom.into(), finals: FinalAnswers::default() }
    }

    async fn latest(&self) -> Result<BlockRef, ChainError> {
        let path = "/cosmos/base/tendermint/v1beta1/blocks/latest";
        let latest: LatestBlock = self.api.get(path, |reply| ok_json(reply, path)).await?;
        Ok(BlockRef { height: latest.block.header.height.0, hash: hash_hex(&latest.block_id.hash)? })
    }

    /// `None` on 404 (gRPC NOT_FOUND): the node's indexer does not have it.
    async fn get_tx(&self, txid: &str) -> Result<Option<GetTx>, ChainError> {
        let path = format!("/cosmos/tx/v1beta1/txs/{txid}");
        self.api
            .get(&path, |reply| {
                if reply.status == StatusCode::NOT_FOUND {
                    let error: Option<GatewayError> = serde_json::from_str(&reply.body).ok();
                    return match error {
                        Some(e) if e.code == GRPC_NOT_FOUND || e.message.contains("not found") => Ok(None),
                        _ => Err(reply.unexpected_status()),
                    };
                }
                ok_json(reply, &path).map(Some)
            })
            .await
    }

    fn payments(&self, body: &Body) -> Vec<Payment> {
        let memo = (!body.memo.is_empty()).then(|| body.memo.clone());
        let mut payments = Vec::new();
        let mut pay = |to: &str, coins: &Value| {
            let coins: Vec<Coin> = serde_json::from_value(coins.clone()).unwrap_or_default();
            for coin in coins {
                // An amount beyond u128 pays no withdrawal: left out.
                let Ok(amount) = coin.amount.parse::<u128>() else { continue };
                let asset = if coin.denom == self.native_denom { Asset::Native } else { Asset::Token(coin.denom) };
                payments.push(Payment {
                    to: to.to_ascii_lowercase(),
                    amount: BaseUnits::new(amount),
                    asset,
                    memo: memo.clone(),
                });
            }
        };
        for message in &body.messages {
            match message.get("@type").and_then(Value::as_str) {
                Some(MSG_SEND) => {
                    if let Some(to) = message.get("to_address").and_then(Value::as_str) {
                        pay(to, message.get("amount").unwrap_or(&Value::Null));
                    }
                }
                Some(MSG_MULTI_SEND) => {
                    for output in message.get("outputs").and_then(Value::as_array).into_iter().flatten() {
                        if let Some(to) = output.get("address").and_then(Value::as_str) {
                            pay(to, output.get("coins").unwrap_or(&Value::Null));
                        }
                    }
                }
                _ => {}
            }
        }
        payments
    }

    /// What a committed transaction did: final, failed unless `code` is 0
    /// (a failed one pays nothing).
    fn info(&self, tx: &Tx, response: &TxResponse) -> TxInfo {
        let success = response.code == 0;
        TxInfo {
            // CometBFT writes hashes in upper case; the service keeps ATOM
            // hashes in lower case.
            txid: response.txhash.to_ascii_lowercase(),
            // The transaction answer names no block hash: the height pins it
            // (CometBFT does not fork once committed).
            location: TxLocation::Block(BlockRef { height: response.height.0, hash: String::new() }),
            success: Some(success),
            payments: if success { self.payments(&tx.body) } else { Vec::new() },
            // Nothing takes a committed transaction's place; a pending one
            // with the same account sequence only makes ours expire.
            conflict: ConflictKey::Outpoints(Vec::new()),
            valid_until: Some(tx.body.timeout_height.0).filter(|&h| h > 0),
        }
    }

    async fn status(&self, pending: &PendingTx, tip: u64) -> Result<TxStatus, ChainError> {
        let Some(found) = self.get_tx(&pending.txid).await? else {
            return Ok(TxStatus {
                txid: pending.txid.clone(),
                location: None,
                finalized: false,
                success: None,
                expired: pending.last_valid_height.is_some_and(|timeout| tip > timeout),
            });
        };
        let info = self.info(&found.tx, &found.tx_response);
        let status = TxStatus {
            txid: pending.txid.clone(),
            location: Some(info.location.clone()),
            finalized: true,
            success: info.success,
            expired: false,
        };
        self.finals.keep(&pending.txid, info);
        Ok(status)
    }
}

#[async_trait]
impl StatusChain for CosmosClient {
    fn name(&self) -> &'static str {
        "cosmos_rest"
    }

    fn max_batch(&self) -> usize {
        MAX_CONCURRENT
    }

    /// The latest committed block: height and hash (hex, upper case).
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn tip(&self) -> Result<BlockRef, ChainError> {
        self.latest().await
    }

    /// The tip once, then one `GET /cosmos/tx/v1beta1/txs/{hash}` per
    /// transaction, `MAX_CONCURRENT` at a time. Found is final (committed);
    /// `success` from `code`; an unknown one is `expired` once the tip is
    /// above its recorded `timeout_height`.
    #[tracing::instrument(skip_all, fields(count = txs.len()), err(level = "debug"))]
    async fn statuses_of(&self, txs: &[PendingTx]) -> Result<Vec<TxStatus>, ChainError> {
        let tip = self.latest().await?.height;
        super::in_chunks(txs, MAX_CONCURRENT, |tx| self.status(tx, tip)).await
    }

    /// The transaction's outcome and payments (kept from the last status,
    /// else read again); `None` when the node does not know it.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn transaction(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        if let Some(info) = self.finals.take(txid) {
            return Ok(Some(info));
        }
        Ok(self.get_tx(txid).await?.map(|found| self.info(&found.tx, &found.tx_response)))
    }

    fn address_history(&self) -> Option<&dyn AddressHistory> {
        Some(self)
    }
}

#[async_trait]
impl AddressHistory for CosmosClient {
    /// The address's newest transactions that credited it
    /// (`query=transfer.recipient='{address}'`, newest first).
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn payments_to(&self, address: &str) -> Result<Vec<TxInfo>, ChainError> {
        let limit = HISTORY_LIMIT.to_string();
        let query = format!("transfer.recipient='{address}'");
        let q = serde_urlencoded::to_string([
            ("query", query.as_str()),
            ("order_by", "ORDER_BY_DESC"),
            ("page", "1"),
            ("limit", limit.as_str()),
        ])
        .expect("string pairs encode");
        let path = format!("/cosmos/tx/v1beta1/txs?{q}");
        let found: TxsEvent = self.api.get(&path, |reply| ok_json(reply, &path)).await?;
        if found.txs.len() != found.tx_responses.len() {
            return Err(ChainError::BadResponse(format!(
                "/cosmos/tx/v1beta1/txs: {} txs but {} tx_responses",
                found.txs.len(),
                found.tx_responses.len()
            )));
        }
        Ok(found.txs.iter().zip(&found.tx_responses).map(|(tx, response)| self.info(tx, response)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn client() -> CosmosClient {
        CosmosClient::new(ClientConfig::new(["http://127.0.0.1:9"], std::time::Duration::from_secs(1)), ATOM_DENOM)
    }

    #[test]
    fn msg_send_and_multi_send_pay_with_the_memo() {
        let body: Body = serde_json::from_value(json!({
            "messages": [
                {"@type": MSG_SEND, "from_address": "cosmos1from", "to_address": "cosmos1to",
                 "amount": [{"denom": "uatom", "amount": "1500000"}, {"denom": "ibc/F663", "amount": "7"}]},
                {"@type": MSG_MULTI_SEND, "inputs": [], "outputs": [
                    {"address": "cosmos1other", "coins": [{"denom": "uatom", "amount": "3"}]}]},
                {"@type": "/cosmos.staking.v1beta1.MsgDelegate", "amount": {"denom": "uatom", "amount": "9"}}
            ],
            "memo": "104729",
            "timeout_height": "0"
        }))
        .unwrap();
        let payments = client().payments(&body);
        let shown: Vec<(&str, u128, &Asset, Option<&str>)> =
            payments.iter().map(|p| (p.to.as_str(), p.amount.get(), &p.asset, p.memo.as_deref())).collect();
        assert_eq!(
            shown,
            [
                ("cosmos1to", 1_500_000, &Asset::Native, Some("104729")),
                ("cosmos1to", 7, &Asset::Token("ibc/F663".into()), Some("104729")),
                ("cosmos1other", 3, &Asset::Native, Some("104729")),
            ]
        );
    }

    #[test]
    fn block_hashes_are_read_from_base64_into_upper_case_hex() {
        let hash = base64::engine::general_purpose::STANDARD.encode([0xab; 32]);
        assert_eq!(hash_hex(&hash).unwrap(), "AB".repeat(32));
        assert!(hash_hex("not base64!").is_err());
    }
}
