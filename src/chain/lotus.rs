//! Filecoin through a Lotus node's JSON-RPC API v1 (`POST /rpc/v1`,
//! <https://github.com/filecoin-project/lotus/blob/master/documentation/en/api-methods-v1-stable.md>,
//! also <https://docs.filecoin.io/reference/json-rpc>). Followed by status
//! (a `StatusChain`): each pending message is searched on chain
//! (`Filecoin.StateSearchMsg`, replacements allowed); its receipt's
//! `ExitCode` is the outcome; what it pays is the message itself
//! (`Filecoin.ChainGetMessage`: `To`, `Value` in attoFIL; read once per
//! CID, a message never changes).
//!
//! Finality: F3, where the node offers `Filecoin.ChainGetFinalizedTipSet`
//! (it falls back to EC finality itself when F3 is not running); a node
//! without the method (`-32601`, remembered) gives the head
//! (`Filecoin.ChainHead`) less `EC_FINALITY` epochs. A message is final once
//! the tipset that executed it is at or below the finalized height.
//!
//! Replacement: `StateSearchMsg` may answer with the message that replaced
//! ours (same sender, nonce and call, other gas values): a different
//! `Message` CID means ours will never land. A message the chain does not
//! hold is replaced once its sender's nonce (`Filecoin.StateGetActor`)
//! passed its own: another message with that nonce landed. Both are told by
//! `StatusChain::replaced`.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use super::http::ClientConfig;
use super::jsonrpc::{from_value, Envelope, JsonRpc, RpcError, Support, SupportFlag, METHOD_NOT_FOUND};
use super::{
    Asset, BaseUnits, BlockRef, ChainError, ConflictKey, Payment, PendingTx, Replaced, StatusChain, TxInfo, TxLocation,
    TxStatus,
};

/// FIL has 18 decimals: values are in attoFIL.
pub const DECIMALS: u32 = 18;
/// Expected Consensus finality: a tipset this deep is final.
pub const EC_FINALITY: u64 = 900;
/// How many `StateSearchMsg` calls one `statuses_of` runs at once.
pub const MAX_CONCURRENT: usize = 20;
/// How far back (epochs) a search looks: a day at 30 s an epoch.
pub const LOOKBACK_EPOCHS: i64 = 2880;

/// `{"/": "bafy..."}`, as Lotus writes every CID.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct Cid {
    #[serde(rename = "/")]
    cid: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TipSet {
    cids: Vec<Cid>,
    height: u64,
}

impl TipSet {
    fn block_ref(&self) -> BlockRef {
        BlockRef { height: self.height, hash: tipset_key(&self.cids) }
    }
}

/// A tipset key as text: its block CIDs joined by commas.
fn tipset_key(cids: &[Cid]) -> String {
    cids.iter().map(|c| c.cid.as_str()).collect::<Vec<_>>().join(",")
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MsgLookup {
    message: Cid,
    receipt: Receipt,
    /// The tipset that executed it (its parent holds the message).
    #[serde(default)]
    tip_set: Vec<Cid>,
    height: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Receipt {
    exit_code: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Message {
    to: String,
    from: String,
    nonce: u64,
    /// attoFIL, decimal text.
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Actor {
    nonce: u64,
}

/// Lotus' errors: throttling said in words, a missing object, a wrong
/// request; anything else the node's own trouble (another may answer).
fn classify(error: &RpcError, method: &str) -> ChainError {
    let message = error.message.to_ascii_lowercase();
    if error.says_rate_limited() {
        ChainError::RateLimited { retry_after: None }
    } else if error.is_bad_request() {
        ChainError::BadResponse(error.describe(method))
    } else if message.contains("not found") || message.contains("could not find") || message.contains("not exist") {
        ChainError::NotFound
    } else {
        ChainError::Unavailable(error.describe(method))
    }
}

/// Lotus JSON-RPC endpoints (`https://api.node.glif.io/rpc/v1`, or a node's
/// `/rpc/v1`), as they are.
pub struct LotusClient {
    rpc: JsonRpc,
    f3: SupportFlag,
    /// Messages by CID (immutable), read once.
    messages: Mutex<HashMap<String, Message>>,
    /// What the last `statuses_of` found: lookups of our own messages, and
    /// the messages another took the place of.
    lookups: Mutex<HashMap<String, MsgLookup>>,
    replaced: Mutex<HashMap<String, Replaced>>,
}

/// Where one message stands.
enum Search {
    Landed(MsgLookup),
    ReplacedBy(String),
    NotOnChain,
}

impl LotusClient {
    pub fn new(config: ClientConfig) -> Self {
        Self {
            rpc: JsonRpc::new(config, Envelope::JsonRpc2, classify),
            f3: SupportFlag::new(),
            messages: Mutex::new(HashMap::new()),
            lookups: Mutex::new(HashMap::new()),
            replaced: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the node offers `ChainGetFinalizedTipSet` (known after the
    /// first `tip`).
    pub fn f3_support(&self) -> Support {
        self.f3.get()
    }

    /// The F3-finalized tipset, or `None` (remembered) where the node does
    /// not have the method.
    async fn finalized_tipset(&self) -> Result<Option<TipSet>, ChainError> {
        if self.f3.get() == Support::Unsupported {
            return Ok(None);
        }
        let method = "Filecoin.ChainGetFinalizedTipSet";
        match self.rpc.call(method, json!([])).await? {
            Ok(result) => {
                self.f3.set(Support::Supported);
                from_value(result, method).map(Some)
            }
            Err(error) if error.code == METHOD_NOT_FOUND => {
                tracing::info!("the node has no ChainGetFinalizedTipSet; finality is the head less 900 epochs");
                self.f3.set(Support::Unsupported);
                Ok(None)
            }
            Err(error) => Err(self.rpc.chain_error(&error, method)),
        }
    }

    async fn head(&self) -> Result<TipSet, ChainError> {
        self.rpc.request("Filecoin.ChainHead", json!([])).await
    }

    /// The newest final height: one request.
    async fn finalized_height(&self) -> Result<u64, ChainError> {
        match self.finalized_tipset().await? {
            Some(tipset) => Ok(tipset.height),
            None => Ok(self.head().await?.height.saturating_sub(EC_FINALITY)),
        }
    }

    async fn search(&self, cid: &str) -> Result<Search, ChainError> {
        let params = json!([[], {"/": cid}, LOOKBACK_EPOCHS, true]);
        let lookup: Option<MsgLookup> = self.rpc.request("Filecoin.StateSearchMsg", params).await?;
        Ok(match lookup {
            None => Search::NotOnChain,
            Some(lookup) if lookup.message.cid == cid => Search::Landed(lookup),
            Some(lookup) => Search::ReplacedBy(lookup.message.cid),
        })
    }

    /// The message, from memory or the node; `None` when the node never
    /// saw it.
    async fn message(&self, cid: &str) -> Result<Option<Message>, ChainError> {
        if let Some(message) = self.messages.lock().expect("not poisoned").get(cid) {
            return Ok(Some(message.clone()));
        }
        let method = "Filecoin.ChainGetMessage";
        let message: Message = match self.rpc.request(method, json!([{"/": cid}])).await {
            Ok(message) => message,
            Err(ChainError::NotFound) => return Ok(None),
            Err(error) => return Err(error),
        };
        self.messages.lock().expect("not poisoned").insert(cid.to_owned(), message.clone());
        Ok(Some(message))
    }

    async fn actor_nonce(&self, address: &str) -> Result<Option<u64>, ChainError> {
        match self.rpc.request::<Option<Actor>>("Filecoin.StateGetActor", json!([address, []])).await {
            Ok(actor) => Ok(actor.map(|a| a.nonce)),
            Err(ChainError::NotFound) => Ok(None),
            Err(error) => Err(error),
        }
    }

    async fn status(&self, pending: &PendingTx, finalized: u64) -> Result<TxStatus, ChainError> {
        let cid = pending.txid.as_str();
        let unknown =
            |location| TxStatus { txid: cid.to_owned(), location, finalized: false, success: None, expired: false };
        let mut search = self.search(cid).await?;
        if let Search::NotOnChain = search {
            let Some(message) = self.message(cid).await? else { return Ok(unknown(None)) };
            let passed = self.actor_nonce(&message.from).await?.is_some_and(|nonce| nonce > message.nonce);
            if !passed {
                return Ok(unknown(Some(TxLocation::Mempool)));
            }
            // The nonce was used: by ours, if it landed since the search.
            search = match self.search(cid).await? {
                Search::NotOnChain => {
                    self.replaced.lock().expect("not poisoned").insert(cid.to_owned(), Replaced { by: None });
                    return Ok(unknown(None));
                }
                other => other,
            };
        }
        match search {
            Search::Landed(lookup) => {
                let at = BlockRef { height: lookup.height, hash: tipset_key(&lookup.tip_set) };
                let is_final = lookup.height <= finalized;
                let success = is_final.then_some(lookup.receipt.exit_code == 0);
                self.lookups.lock().expect("not poisoned").insert(cid.to_owned(), lookup);
                Ok(TxStatus {
                    txid: cid.to_owned(),
                    location: Some(TxLocation::Block(at)),
                    finalized: is_final,
                    success,
                    expired: false,
                })
            }
            Search::ReplacedBy(by) => {
                self.replaced.lock().expect("not poisoned").insert(cid.to_owned(), Replaced { by: Some(by) });
                Ok(unknown(None))
            }
            Search::NotOnChain => Ok(unknown(None)),
        }
    }
}

/// Payments: the message's `Value` to its `To` (a send, or a call carrying
/// value), when it ran with exit code 0.
fn payments(message: &Message, success: Option<bool>) -> Vec<Payment> {
    let Some(amount) = message.value.parse::<u128>().ok().map(BaseUnits::new) else { return Vec::new() };
    if success != Some(true) || amount == BaseUnits::ZERO {
        return Vec::new();
    }
    vec![Payment { to: message.to.clone(), amount, asset: Asset::Native, memo: None }]
}

#[async_trait]
impl StatusChain for LotusClient {
    fn name(&self) -> &'static str {
        "lotus"
    }

    fn max_batch(&self) -> usize {
        MAX_CONCURRENT
    }

    /// The finalized tipset (F3), or the head's ancestor `EC_FINALITY`
    /// epochs down (`ChainHead` + `ChainGetTipSetByHeight`).
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn tip(&self) -> Result<BlockRef, ChainError> {
        if let Some(tipset) = self.finalized_tipset().await? {
            return Ok(tipset.block_ref());
        }
        let head = self.head().await?;
        let height = head.height.saturating_sub(EC_FINALITY);
        let params = json!([height, head.cids.iter().map(|c| json!({"/": c.cid})).collect::<Vec<_>>()]);
        let tipset: TipSet = self.rpc.request("Filecoin.ChainGetTipSetByHeight", params).await?;
        Ok(tipset.block_ref())
    }

    /// The finalized height (one request), then per message a search, and
    /// for one not on chain its message (once) and its sender's nonce.
    /// Landed → in that tipset, `finalized` at or below the finalized height
    /// (the exit code is told then); replaced → nowhere, and `replaced`
    /// says by what.
    #[tracing::instrument(skip_all, fields(count = txs.len()), err(level = "debug"))]
    async fn statuses_of(&self, txs: &[PendingTx]) -> Result<Vec<TxStatus>, ChainError> {
        let finalized = self.finalized_height().await?;
        {
            self.lookups.lock().expect("not poisoned").clear();
            self.replaced.lock().expect("not poisoned").clear();
        }
        super::in_chunks(txs, MAX_CONCURRENT, |tx| self.status(tx, finalized)).await
    }

    /// The message (read once) with where it landed: from the last
    /// `statuses_of`, else searched. A replaced message is `None` (it never
    /// ran); one only the mempool holds is in the mempool.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn transaction(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        let Some(message) = self.message(txid).await? else { return Ok(None) };
        let known = self.lookups.lock().expect("not poisoned").remove(txid);
        let lookup = match known {
            Some(lookup) => Some(lookup),
            None => match self.search(txid).await? {
                Search::Landed(lookup) => Some(lookup),
                Search::ReplacedBy(_) => return Ok(None),
                Search::NotOnChain => None,
            },
        };
        let (location, success) = match &lookup {
            Some(l) => (
                TxLocation::Block(BlockRef { height: l.height, hash: tipset_key(&l.tip_set) }),
                Some(l.receipt.exit_code == 0),
            ),
            None => (TxLocation::Mempool, None),
        };
        Ok(Some(TxInfo {
            txid: txid.to_owned(),
            location,
            success,
            payments: payments(&message, success),
            conflict: ConflictKey::Nonce { from: message.from.clone(), nonce: message.nonce },
            valid_until: None,
        }))
    }

    fn replaced(&self, txid: &str) -> Option<Replaced> {
        self.replaced.lock().expect("not poisoned").get(txid).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_successful_message_pays_its_value_in_attofil() {
        let message =
            Message { to: "f1abc".into(), from: "f1hot".into(), nonce: 3, value: "1500000000000000000".into() };
        assert_eq!(
            payments(&message, Some(true)),
            [Payment {
                to: "f1abc".into(),
                amount: BaseUnits::new(1_500_000_000_000_000_000),
                asset: Asset::Native,
                memo: None
            }]
        );
        assert!(payments(&message, Some(false)).is_empty(), "a non-zero exit code pays nothing");
        assert!(payments(&Message { value: "0".into(), ..message }, Some(true)).is_empty());
    }

    #[test]
    fn lotus_errors_sort_into_chain_errors() {
        let err = |code: i64, message: &str| classify(&RpcError::new(code, message), "m");
        assert_eq!(err(1, "failed to load message: ipld: could not find bafy2"), ChainError::NotFound);
        assert!(matches!(err(-32601, "method 'Filecoin.X' not found"), ChainError::BadResponse(_)));
        assert!(matches!(err(429, "rate limit exceeded"), ChainError::RateLimited { .. }));
        assert!(matches!(err(1, "chain not synced"), ChainError::Unavailable(_)));
    }
}
