//! Hedera through a mirror node's REST API
//! (<https://docs.hedera.com/hedera/sdks-and-apis/rest-api>, OpenAPI at
//! `<mirror>/api/v1/docs/openapi.yml`). Followed by status (a
//! `StatusChain`): Hedera has no blocks to read whole, and a transaction is
//! named by its id (`payer@seconds.nanos`, the mirror's
//! `payer-seconds-nanos`) before it reaches consensus.
//!
//! - The tip is the newest record block the mirror ingested
//!   (`GET /api/v1/blocks?order=desc&limit=1`: `number`, `hash`, and
//!   `timestamp.to`, the consensus time it covers up to).
//! - A transaction's status is `GET /api/v1/transactions/{transactionId}`:
//!   `result` (`SUCCESS`, else it failed: its fee was charged), the
//!   `consensus_timestamp`, `transfers` (tinybar) and `token_transfers`
//!   (the token's base units; USDC is token 0.0.456858), `memo_base64`.
//!   One id may list several entries: child transactions (`nonce` above 0),
//!   a scheduled one's execution (`scheduled`), and copies sent to several
//!   nodes (`DUPLICATE_TRANSACTION`); the transaction is the first entry
//!   with nonce 0, not scheduled, that is not a duplicate.
//! - Final at consensus (one confirmation); its block is the first whose
//!   `timestamp.to` is at or after its consensus time
//!   (`GET /api/v1/blocks?timestamp=gte:{ts}&order=asc&limit=1`).
//! - Expiry: a transaction can reach consensus only before its valid start
//!   plus its valid duration (at most 180 s). One the mirror does not know is
//!   expired once the mirror's newest block covers consensus time past that
//!   point: measured on the mirror's own clock, its lag cannot expire a
//!   transaction it simply has not ingested yet. The last valid point is the
//!   withdrawal's `last_valid_height` (unix seconds: valid start + duration)
//!   when sent, else the id's valid start plus 180 s.
//! - Discovery: an account's newest credits
//!   (`GET /api/v1/transactions?account.id=..&type=credit&order=desc`).

use async_trait::async_trait;
use base64::Engine;
use futures_util::future::try_join_all;
use serde::Deserialize;

use super::final_answers::FinalAnswers;
use super::http::{parse_json, ClientConfig, Endpoints, Reply};
use super::{
    AddressHistory, Asset, BaseUnits, BlockRef, ChainError, ConflictKey, Payment, PendingTx, StatusChain, TxInfo,
    TxLocation, TxStatus,
};

/// The longest valid duration the network accepts, in seconds.
pub const MAX_VALID_DURATION_SECS: u64 = 180;
/// How many transactions one `statuses_of` call looks up (together).
pub const MAX_BATCH: usize = 20;
/// An account's newest credits read for discovery.
const HISTORY_LIMIT: usize = 10;

#[derive(Deserialize)]
struct Blocks {
    blocks: Vec<MirrorBlock>,
}

#[derive(Deserialize)]
struct MirrorBlock {
    number: u64,
    /// `0x` and 96 hex digits (SHA-384).
    hash: String,
    timestamp: BlockTimes,
}

#[derive(Deserialize)]
struct BlockTimes {
    /// `seconds.nanoseconds`.
    to: String,
}

#[derive(Deserialize)]
struct Transactions {
    transactions: Vec<MirrorTx>,
}

#[derive(Deserialize)]
struct MirrorTx {
    /// The mirror's form of the id.
    #[serde(default)]
    transaction_id: Option<String>,
    consensus_timestamp: String,
    result: String,
    #[serde(default)]
    memo_base64: Option<String>,
    #[serde(default)]
    nonce: u64,
    #[serde(default)]
    scheduled: bool,
    #[serde(default)]
    transfers: Vec<Transfer>,
    #[serde(default)]
    token_transfers: Vec<TokenTransfer>,
    #[serde(default)]
    valid_start_timestamp: Option<String>,
    #[serde(default)]
    valid_duration_seconds: Option<String>,
}

#[derive(Deserialize)]
struct Transfer {
    account: String,
    /// Signed tinybar: credits are positive.
    amount: i64,
}

#[derive(Deserialize)]
struct TokenTransfer {
    token_id: String,
    account: String,
    amount: i64,
}

/// A transaction id in the mirror's form, `0.0.1234-1700000000-000000001`,
/// from either that or the SDK's `0.0.1234@1700000000.000000001`; `None`
/// when it is neither.
pub fn mirror_id(txid: &str) -> Option<String> {
    let (payer, start) = match txid.split_once('@') {
        Some((payer, start)) => (payer, start.split_once('.')?),
        None => {
            let mut parts = txid.rsplitn(3, '-');
            let nanos = parts.next()?;
            let seconds = parts.next()?;
            (parts.next()?, (seconds, nanos))
        }
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let account_ok = payer.split('.').count() == 3 && payer.split('.').all(digits);
    (account_ok && digits(start.0) && digits(start.1) && start.1.len() <= 9)
        .then(|| format!("{payer}-{}-{:0>9}", start.0, start.1))
}

/// The valid start's whole seconds, from the id.
fn valid_start_secs(mirror_id: &str) -> Option<u64> {
    mirror_id.rsplit('-').nth(1)?.parse().ok()
}

/// `seconds.nanoseconds` as whole seconds.
fn seconds(timestamp: &str) -> Option<u64> {
    timestamp.split('.').next()?.parse().ok()
}

fn memo(tx: &MirrorTx) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(tx.memo_base64.as_deref()?).ok()?;
    String::from_utf8(bytes).ok().filter(|m| !m.is_empty())
}

/// What a transaction credits: tinybar and token amounts to each account
/// (the fee's credits to the node and the fee accounts included).
fn payments(tx: &MirrorTx) -> Vec<Payment> {
    let memo = memo(tx);
    let credit = |to: &str, amount: i64, asset: Asset| {
        let amount = u128::try_from(amount).ok().filter(|&a| a > 0)?;
        Some(Payment { to: to.to_owned(), amount: BaseUnits::new(amount), asset, memo: memo.clone() })
    };
    let hbar = tx.transfers.iter().filter_map(|t| credit(&t.account, t.amount, Asset::Native));
    let tokens =
        tx.token_transfers.iter().filter_map(|t| credit(&t.account, t.amount, Asset::Token(t.token_id.clone())));
    let mut all: Vec<Payment> = hbar.chain(tokens).collect();
    // The fee's credits (node accounts, 0.0.98, the reward accounts: all
    // system accounts, 0.0.1000 and below) last, so a mismatch names the
    // real recipients first.
    all.sort_by_key(|p| system_account(&p.to));
    all
}

fn system_account(account: &str) -> bool {
    account.strip_prefix("0.0.").and_then(|num| num.parse::<u64>().ok()).is_some_and(|num| num <= 1000)
}

/// The transaction's own entry, not a child, a scheduled execution or a
/// copy submitted through another node.
fn own(tx: &MirrorTx) -> bool {
    tx.nonce == 0 && !tx.scheduled && tx.result != "DUPLICATE_TRANSACTION"
}

/// The transaction itself among the entries listed for its id.
fn the_transaction(list: Vec<MirrorTx>) -> Option<MirrorTx> {
    let mut entries: Vec<MirrorTx> = list.into_iter().filter(|tx| tx.nonce == 0 && !tx.scheduled).collect();
    let at = entries.iter().position(own).unwrap_or(0);
    (!entries.is_empty()).then(|| entries.swap_remove(at))
}

fn block_ref(block: &MirrorBlock) -> BlockRef {
    let hash = block.hash.strip_prefix("0x").unwrap_or(&block.hash).to_ascii_lowercase();
    BlockRef { height: block.number, hash }
}

/// JSON for a 2xx, `None` for a 404 (`{"_status": {"messages": [...]}}`).
fn found<T: serde::de::DeserializeOwned>(reply: Reply, path: &str) -> Result<Option<T>, ChainError> {
    if reply.status == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !reply.status.is_success() {
        return Err(reply.unexpected_status());
    }
    parse_json(&reply.body, path).map(Some)
}

/// Mirror node URLs, tried in order.
pub struct HederaMirrorClient {
    api: Endpoints,
    /// Final transactions from the last statuses, for `transaction`.
    finals: FinalAnswers,
}

impl HederaMirrorClient {
    pub fn new(config: ClientConfig) -> Self {
        Self { api: Endpoints::new(config), finals: FinalAnswers::default() }
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<Option<T>, ChainError> {
        self.api.get(path, |reply| found(reply, path)).await
    }

    /// The first block listed at `path`.
    async fn first_block(&self, path: &str) -> Result<Option<MirrorBlock>, ChainError> {
        let page: Blocks = self.get(path).await?.ok_or(ChainError::NotFound)?;
        Ok(page.blocks.into_iter().next())
    }

    /// The newest block and the consensus second it covers up to.
    async fn newest(&self) -> Result<(BlockRef, u64), ChainError> {
        let block = self
            .first_block("/api/v1/blocks?order=desc&limit=1")
            .await?
            .ok_or_else(|| ChainError::Unavailable("the mirror has no block yet".to_owned()))?;
        let to = seconds(&block.timestamp.to)
            .ok_or_else(|| ChainError::BadResponse(format!("blocks: timestamp.to {:?}", block.timestamp.to)))?;
        Ok((block_ref(&block), to))
    }

    /// The transaction with its block; `None` when the mirror does not know
    /// it (or the id is no transaction id).
    async fn lookup(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        let Some(id) = mirror_id(txid) else { return Ok(None) };
        let path = format!("/api/v1/transactions/{id}");
        let Some(list) = self.get::<Transactions>(&path).await? else { return Ok(None) };
        let Some(tx) = the_transaction(list.transactions) else { return Ok(None) };
        self.info(txid.to_owned(), &tx).await.map(Some)
    }

    /// What `tx` did, with the block that holds its consensus time.
    async fn info(&self, txid: String, tx: &MirrorTx) -> Result<TxInfo, ChainError> {
        let path = format!("/api/v1/blocks?timestamp=gte:{}&order=asc&limit=1", tx.consensus_timestamp);
        let block = self.first_block(&path).await?.ok_or_else(|| {
            ChainError::Unavailable(format!("no block holds consensus time {} yet", tx.consensus_timestamp))
        })?;
        let success = tx.result == "SUCCESS";
        let valid_until = match (&tx.valid_start_timestamp, &tx.valid_duration_seconds) {
            (Some(start), Some(duration)) => Some(seconds(start).unwrap_or(0) + duration.parse::<u64>().unwrap_or(0)),
            _ => None,
        };
        Ok(TxInfo {
            txid,
            location: TxLocation::Block(block_ref(&block)),
            success: Some(success),
            payments: if success { payments(tx) } else { Vec::new() },
            conflict: ConflictKey::Outpoints(Vec::new()),
            valid_until,
        })
    }
}

#[async_trait]
impl StatusChain for HederaMirrorClient {
    fn name(&self) -> &'static str {
        "hedera_mirror"
    }

    fn max_batch(&self) -> usize {
        MAX_BATCH
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn tip(&self) -> Result<BlockRef, ChainError> {
        Ok(self.newest().await?.0)
    }

    /// Each transaction looked up (together), then, when one is unknown,
    /// the newest block once: an unknown transaction is `expired` once that
    /// block covers consensus time past its last valid second.
    #[tracing::instrument(skip_all, fields(count = txs.len()), err(level = "debug"))]
    async fn statuses_of(&self, txs: &[PendingTx]) -> Result<Vec<TxStatus>, ChainError> {
        let infos = try_join_all(txs.iter().map(|tx| self.lookup(&tx.txid))).await?;
        let newest = if infos.iter().any(Option::is_none) { Some(self.newest().await?.1) } else { None };
        let mut statuses = Vec::with_capacity(txs.len());
        for (tx, info) in txs.iter().zip(infos) {
            let status = match info {
                Some(info) => {
                    let status = TxStatus {
                        txid: tx.txid.clone(),
                        location: Some(info.location.clone()),
                        finalized: true,
                        success: info.success,
                        expired: false,
                    };
                    self.finals.keep(&tx.txid, info);
                    status
                }
                None => {
                    let last_valid = tx.last_valid_height.or_else(|| {
                        mirror_id(&tx.txid).and_then(|id| valid_start_secs(&id)).map(|s| s + MAX_VALID_DURATION_SECS)
                    });
                    let expired = matches!((last_valid, newest), (Some(last), Some(now)) if now > last);
                    TxStatus { txid: tx.txid.clone(), location: None, finalized: false, success: None, expired }
                }
            };
            statuses.push(status);
        }
        Ok(statuses)
    }

    fn address_history(&self) -> Option<&dyn AddressHistory> {
        Some(self)
    }

    /// From the last statuses when final there, else looked up again.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn transaction(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        if let Some(info) = self.finals.take(txid) {
            return Ok(Some(info));
        }
        self.lookup(txid).await
    }
}

#[async_trait]
impl AddressHistory for HederaMirrorClient {
    /// The account's newest credits
    /// (`GET /api/v1/transactions?account.id=..&type=credit&order=desc`),
    /// each with its block (a request each); named by their ids in the
    /// mirror's form.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn payments_to(&self, address: &str) -> Result<Vec<TxInfo>, ChainError> {
        let path = format!("/api/v1/transactions?account.id={address}&type=credit&order=desc&limit={HISTORY_LIMIT}");
        let Some(list) = self.get::<Transactions>(&path).await? else { return Ok(Vec::new()) };
        let mut infos = Vec::new();
        for tx in list.transactions.iter().filter(|tx| own(tx)) {
            let Some(id) = tx.transaction_id.clone() else { continue };
            infos.push(self.info(id, tx).await?);
        }
        Ok(infos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_ids_read_in_both_forms() {
        assert_eq!(mirror_id("0.0.1234@1700000000.000000001").as_deref(), Some("0.0.1234-1700000000-000000001"));
        assert_eq!(mirror_id("0.0.1234@1700000000.5").as_deref(), Some("0.0.1234-1700000000-000000005"));
        assert_eq!(mirror_id("0.0.1234-1700000000-000000001").as_deref(), Some("0.0.1234-1700000000-000000001"));
        assert_eq!(valid_start_secs("0.0.1234-1700000000-000000001"), Some(1_700_000_000));
        for bad in ["0.0.1234", "abc", "0.0.x@1.2", "0.0.1@1700000000.1234567890", "0.1@1.2"] {
            assert_eq!(mirror_id(bad), None, "{bad}");
        }
    }

    fn entry(result: &str, nonce: u64, scheduled: bool) -> MirrorTx {
        serde_json::from_value(serde_json::json!({
            "consensus_timestamp": "1.0", "result": result, "nonce": nonce, "scheduled": scheduled,
            "memo_base64": "b3JkZXIgNw==",
            "transfers": [{"account": "0.0.98", "amount": 5}, {"account": "0.0.7", "amount": -105},
                          {"account": "0.0.1009", "amount": 100}],
            "token_transfers": [{"token_id": "0.0.456858", "account": "0.0.1009", "amount": 2500000},
                                {"token_id": "0.0.456858", "account": "0.0.7", "amount": -2500000}]
        }))
        .unwrap()
    }

    #[test]
    fn the_transaction_is_the_first_own_entry_that_is_no_duplicate() {
        let list =
            vec![entry("SUCCESS", 1, false), entry("DUPLICATE_TRANSACTION", 0, false), entry("SUCCESS", 0, true)];
        assert_eq!(the_transaction(list).map(|t| t.result).as_deref(), Some("DUPLICATE_TRANSACTION"), "only one own");
        let list = vec![entry("DUPLICATE_TRANSACTION", 0, false), entry("INSUFFICIENT_PAYER_BALANCE", 0, false)];
        assert_eq!(the_transaction(list).map(|t| t.result).as_deref(), Some("INSUFFICIENT_PAYER_BALANCE"));
        assert!(the_transaction(vec![entry("SUCCESS", 2, false)]).is_none());
    }

    #[test]
    fn credits_are_payments_with_the_memo() {
        let paid: Vec<(String, u128, Asset, Option<String>)> = payments(&entry("SUCCESS", 0, false))
            .into_iter()
            .map(|p| (p.to, p.amount.get(), p.asset, p.memo))
            .collect();
        let memo = Some("order 7".to_owned());
        assert_eq!(
            paid,
            [
                ("0.0.1009".into(), 100, Asset::Native, memo.clone()),
                ("0.0.1009".into(), 2_500_000, Asset::Token("0.0.456858".into()), memo.clone()),
                ("0.0.98".into(), 5, Asset::Native, memo),
            ],
            "the fee's credits last"
        );
    }
}
