//! Stellar through Horizon's REST API
//! (<https://developers.stellar.org/docs/data/apis/horizon/api-reference>).
//! Followed ledger by ledger (a `BlockChain`): the tip is the newest ingested
//! ledger (`GET /ledgers?order=desc&limit=1`, height and hash in one answer);
//! a ledger is its header (`GET /ledgers/{sequence}`: hash, `prev_hash`,
//! `closed_at`) and its payments with their transactions
//! (`GET /ledgers/{sequence}/payments?include_failed=true&join=transactions`,
//! paged by `cursor`): the transaction hash, `successful`, the memo, and each
//! payment's `to`, `amount` and asset, so the payee check of every watched
//! transaction in a ledger costs no further request. A lookup is one request
//! (`GET /transactions/{hash}/operations?join=transactions`), discovery reads
//! an account's payments (`GET /accounts/{id}/payments?order=desc`).
//!
//! A closed ledger is final: Stellar does not reorganize (one confirmation).
//! Horizon knows no pending transactions, so an unknown hash is `None` until
//! its ledger closes. Expiry: a transaction's time bounds (`max_time`, unix
//! seconds) against the ledgers' close times (`Block::expiry_point`).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::http::{parse_json, ClientConfig, Endpoints, Reply};
use super::{
    AddressHistory, Asset, BaseUnits, Block, BlockChain, BlockRef, BlockTx, ChainError, ConflictKey, Payment, Replaced,
    TxInfo, TxLocation,
};

/// Every Stellar amount, lumens and issued assets alike, has 7 decimals
/// (`"10.0000000"`); one unit is a stroop.
pub const DECIMALS: u32 = 7;
/// Horizon's largest page.
pub const PAGE_LIMIT: usize = 200;
/// Ledgers whose payments are kept for `transactions_in_block` (the tracker
/// reads at most 50 per tick).
const KEPT_LEDGERS: usize = 64;
/// An account's newest payments read for discovery.
const HISTORY_LIMIT: usize = 20;

#[derive(Deserialize)]
struct Page<T> {
    #[serde(rename = "_embedded")]
    embedded: Records<T>,
}

#[derive(Deserialize)]
struct Records<T> {
    records: Vec<T>,
}

#[derive(Deserialize)]
struct Ledger {
    sequence: u64,
    hash: String,
    /// Absent (or empty) for the genesis ledger.
    #[serde(default)]
    prev_hash: Option<String>,
    closed_at: DateTime<Utc>,
}

/// An operation record as the payments and operations endpoints list it,
/// with `join=transactions`. Only the payment kinds carry the fields read.
#[derive(Deserialize)]
struct Operation {
    paging_token: String,
    #[serde(rename = "type")]
    kind: String,
    transaction_hash: String,
    /// `payment` and the path payments.
    to: Option<String>,
    /// Set when paid to a muxed (`M...`) account.
    to_muxed: Option<String>,
    amount: Option<String>,
    asset_type: Option<String>,
    asset_code: Option<String>,
    asset_issuer: Option<String>,
    /// `create_account`: the new account and what it received.
    account: Option<String>,
    starting_balance: Option<String>,
    transaction: Option<Transaction>,
}

#[derive(Deserialize, Clone)]
struct Transaction {
    hash: String,
    successful: bool,
    ledger: u64,
    source_account: String,
    source_account_sequence: String,
    memo_type: String,
    #[serde(default)]
    memo: Option<String>,
    #[serde(default)]
    preconditions: Option<Preconditions>,
    /// The older spelling of `preconditions.timebounds.max_time` (RFC 3339).
    #[serde(default)]
    valid_before: Option<String>,
}

#[derive(Deserialize, Clone)]
struct Preconditions {
    #[serde(default)]
    timebounds: Option<TimeBounds>,
}

#[derive(Deserialize, Clone)]
struct TimeBounds {
    /// Unix seconds as a decimal string; `"0"` (or absent) for none.
    #[serde(default)]
    max_time: Option<String>,
}

impl Transaction {
    /// The last close time (unix seconds) of a ledger that may include it.
    fn valid_until(&self) -> Option<u64> {
        let max_time =
            self.preconditions.as_ref().and_then(|p| p.timebounds.as_ref()).and_then(|t| t.max_time.as_deref());
        match max_time.and_then(|t| t.parse::<u64>().ok()) {
            Some(0) => None,
            Some(time) => Some(time),
            None => self
                .valid_before
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .and_then(|t| u64::try_from(t.timestamp()).ok())
                .filter(|&t| t > 0),
        }
    }

    fn memo(&self) -> Option<String> {
        (self.memo_type != "none").then(|| self.memo.clone()).flatten()
    }

    fn conflict(&self) -> ConflictKey {
        ConflictKey::Nonce {
            from: self.source_account.clone(),
            nonce: self.source_account_sequence.parse().unwrap_or_default(),
        }
    }
}

/// `native`, or an issued asset as `{asset_code}:{asset_issuer}` (USDC is
/// `USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN`): codes
/// are case-sensitive, so compared as written.
fn asset(op: &Operation) -> Option<Asset> {
    match op.asset_type.as_deref()? {
        "native" => Some(Asset::Native),
        _ => Some(Asset::Token(format!("{}:{}", op.asset_code.as_deref()?, op.asset_issuer.as_deref()?))),
    }
}

/// What one operation pays, with the transaction's memo; `None` for
/// operations that pay nothing (or an amount with no exact stroops).
fn payment(op: &Operation, memo: &Option<String>) -> Option<Payment> {
    let (to, amount, asset) = match op.kind.as_str() {
        "payment" | "path_payment_strict_receive" | "path_payment_strict_send" | "path_payment" => {
            (op.to_muxed.clone().or_else(|| op.to.clone())?, op.amount.as_deref()?, asset(op)?)
        }
        "create_account" => (op.account.clone()?, op.starting_balance.as_deref()?, Asset::Native),
        _ => return None,
    };
    let amount = BaseUnits::from_decimal(amount, DECIMALS).ok()?;
    Some(Payment { to, amount, asset, memo: memo.clone() })
}

/// One transaction's outcome and payments from its operations (each carrying
/// the joined transaction); payments only when it succeeded.
fn tx_info(tx: &Transaction, ops: &[&Operation], ledger: BlockRef) -> TxInfo {
    let memo = tx.memo();
    let payments = if tx.successful { ops.iter().filter_map(|op| payment(op, &memo)).collect() } else { Vec::new() };
    TxInfo {
        txid: tx.hash.to_ascii_lowercase(),
        location: TxLocation::Block(ledger),
        success: Some(tx.successful),
        payments,
        conflict: tx.conflict(),
        valid_until: tx.valid_until(),
    }
}

/// Operations grouped by transaction, in the order listed; every record
/// must carry its joined transaction.
fn by_transaction<'a>(ops: &'a [Operation], path: &str) -> Result<Vec<(Transaction, Vec<&'a Operation>)>, ChainError> {
    let mut grouped: Vec<(Transaction, Vec<&'a Operation>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for op in ops {
        let hash = op.transaction_hash.to_ascii_lowercase();
        match index.get(&hash) {
            Some(&at) => grouped[at].1.push(op),
            None => {
                let tx = op.transaction.clone().ok_or_else(|| {
                    ChainError::BadResponse(format!("{path}: an operation without its joined transaction"))
                })?;
                index.insert(hash, grouped.len());
                grouped.push((tx, vec![op]));
            }
        }
    }
    Ok(grouped)
}

/// A ledger read by `block_at`: its payments, for `transactions_in_block`.
struct ReadLedger {
    at: BlockRef,
    txs: HashMap<String, TxInfo>,
}

/// Horizon endpoints (SDF's, or any provider's), tried in order.
pub struct HorizonClient {
    api: Endpoints,
    /// The ledgers read last, oldest first.
    read: Mutex<VecDeque<ReadLedger>>,
}

/// JSON for a 2xx, `None` for a 404 (Horizon's `not_found` problem).
fn found<T: serde::de::DeserializeOwned>(reply: Reply, path: &str) -> Result<Option<T>, ChainError> {
    if reply.status == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !reply.status.is_success() {
        return Err(reply.unexpected_status());
    }
    parse_json(&reply.body, path).map(Some)
}

impl HorizonClient {
    pub fn new(config: ClientConfig) -> Self {
        Self { api: Endpoints::new(config), read: Mutex::new(VecDeque::new()) }
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<Option<T>, ChainError> {
        self.api.get(path, |reply| found(reply, path)).await
    }

    async fn ledger(&self, sequence: u64) -> Result<Option<Ledger>, ChainError> {
        self.get(&format!("/ledgers/{sequence}")).await
    }

    fn ledger_ref(ledger: &Ledger) -> BlockRef {
        BlockRef { height: ledger.sequence, hash: ledger.hash.to_ascii_lowercase() }
    }

    /// The hash of ledger `sequence`: from the ledgers read, else asked.
    async fn ledger_at(&self, sequence: u64) -> Result<BlockRef, ChainError> {
        let known =
            self.read.lock().expect("not poisoned").iter().find(|l| l.at.height == sequence).map(|l| l.at.clone());
        if let Some(at) = known {
            return Ok(at);
        }
        let ledger = self
            .ledger(sequence)
            .await?
            .ok_or_else(|| ChainError::Unavailable(format!("ledger {sequence} is not in this server's history")))?;
        Ok(Self::ledger_ref(&ledger))
    }

    /// Every payment of ledger `sequence` with its transaction, page by page.
    async fn payments_in(&self, sequence: u64) -> Result<Vec<Operation>, ChainError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path =
                format!("/ledgers/{sequence}/payments?limit={PAGE_LIMIT}&include_failed=true&join=transactions");
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let page: Page<Operation> = self.get(&path).await?.ok_or(ChainError::NotFound)?;
            let full = page.embedded.records.len() >= PAGE_LIMIT;
            cursor = page.embedded.records.last().map(|op| op.paging_token.clone());
            all.extend(page.embedded.records);
            if !full {
                return Ok(all);
            }
        }
    }

    fn remember(&self, ledger: ReadLedger) {
        let mut read = self.read.lock().expect("not poisoned");
        read.retain(|l| l.at.height != ledger.at.height);
        read.push_back(ledger);
        while read.len() > KEPT_LEDGERS {
            read.pop_front();
        }
    }
}

fn block(ledger: &Ledger, txs: Vec<BlockTx>) -> Block {
    Block {
        at: HorizonClient::ledger_ref(ledger),
        parent_hash: ledger.prev_hash.as_deref().filter(|h| !h.is_empty()).map(str::to_ascii_lowercase),
        txs,
        time: Some(ledger.closed_at),
        expiry_point: u64::try_from(ledger.closed_at.timestamp()).ok(),
    }
}

#[async_trait]
impl BlockChain for HorizonClient {
    fn name(&self) -> &'static str {
        "horizon"
    }

    /// The newest ledger Horizon ingested (its `history_latest_ledger`),
    /// with its hash.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn tip(&self) -> Result<BlockRef, ChainError> {
        let path = "/ledgers?order=desc&limit=1";
        let page: Page<Ledger> = self.get(path).await?.ok_or(ChainError::NotFound)?;
        let latest = page
            .embedded
            .records
            .first()
            .ok_or_else(|| ChainError::Unavailable("no ledger ingested yet".to_owned()))?;
        Ok(Self::ledger_ref(latest))
    }

    /// The ledger's header, then its payments (failed transactions included)
    /// with their transactions; the block lists each transaction that pays
    /// something, once, in ledger order.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn block_at(&self, height: u64) -> Result<Block, ChainError> {
        let ledger = self.ledger(height).await?.ok_or(ChainError::NotFound)?;
        let at = Self::ledger_ref(&ledger);
        let ops = self.payments_in(height).await?;
        let grouped = by_transaction(&ops, "/ledgers/:id/payments")?;
        let mut txs = Vec::with_capacity(grouped.len());
        let mut infos = HashMap::with_capacity(grouped.len());
        for (tx, ops) in &grouped {
            let info = tx_info(tx, ops, at.clone());
            txs.push(BlockTx { txid: info.txid.clone(), call: None });
            infos.insert(info.txid.clone(), info);
        }
        self.remember(ReadLedger { at, txs: infos });
        Ok(block(&ledger, txs))
    }

    async fn is_in_best_chain(&self, block: &BlockRef) -> Result<bool, ChainError> {
        Ok(self.ledger(block.height).await?.is_some_and(|l| l.hash.eq_ignore_ascii_case(&block.hash)))
    }

    /// One request: the transaction's operations with the transaction
    /// joined (Horizon lists a failed transaction's operations here too);
    /// the ledger's hash from the ledgers read, else one more request.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn transaction(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        let txid = txid.to_ascii_lowercase();
        let path = format!("/transactions/{txid}/operations?limit={PAGE_LIMIT}&include_failed=true&join=transactions");
        let Some(page) = self.get::<Page<Operation>>(&path).await? else { return Ok(None) };
        let grouped = by_transaction(&page.embedded.records, "/transactions/:id/operations")?;
        let Some((tx, ops)) = grouped.iter().find(|(tx, _)| tx.hash.eq_ignore_ascii_case(&txid)) else {
            return Ok(None);
        };
        let ledger = self.ledger_at(tx.ledger).await?;
        Ok(Some(tx_info(tx, ops, ledger)))
    }

    /// From the payments read with the ledger: no request (a transaction
    /// the ledger's payments did not list is looked up).
    async fn transactions_in_block(&self, block: &Block, txids: &[String]) -> Result<Vec<TxInfo>, ChainError> {
        let mut found = Vec::with_capacity(txids.len());
        let mut missing = Vec::new();
        {
            let read = self.read.lock().expect("not poisoned");
            let ledger = read.iter().find(|l| l.at == block.at);
            for txid in txids {
                match ledger.and_then(|l| l.txs.get(&txid.to_ascii_lowercase())) {
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

    fn address_history(&self) -> Option<&dyn AddressHistory> {
        Some(self)
    }

    /// Always `None`: a Stellar transaction consumes its account's next
    /// sequence number; one that never lands ends by its time bounds
    /// (`expired`) or unseen for `drop_after`.
    async fn replacement(&self, txid: &str, conflict: &ConflictKey) -> Result<Option<Replaced>, ChainError> {
        let _ = (txid, conflict);
        Ok(None)
    }
}

#[async_trait]
impl AddressHistory for HorizonClient {
    /// The account's newest successful payments with their transactions
    /// (`GET /accounts/{id}/payments?order=desc&join=transactions`); an
    /// account that does not exist yet has none.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn payments_to(&self, address: &str) -> Result<Vec<TxInfo>, ChainError> {
        let path = format!("/accounts/{address}/payments?order=desc&limit={HISTORY_LIMIT}&join=transactions");
        let Some(page) = self.get::<Page<Operation>>(&path).await? else { return Ok(Vec::new()) };
        let grouped = by_transaction(&page.embedded.records, "/accounts/:id/payments")?;
        let mut infos = Vec::with_capacity(grouped.len());
        for (tx, ops) in &grouped {
            let ledger = self.ledger_at(tx.ledger).await?;
            infos.push(tx_info(tx, ops, ledger));
        }
        Ok(infos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(kind: &str, fields: serde_json::Value) -> Operation {
        let mut record = serde_json::json!({"paging_token": "1", "type": kind, "transaction_hash": "ab"});
        for (k, v) in fields.as_object().unwrap() {
            record[k] = v.clone();
        }
        serde_json::from_value(record).unwrap()
    }

    #[test]
    fn payments_in_stroops_with_their_asset_and_memo() {
        let memo = Some("12345".to_owned());
        let usdc = op(
            "payment",
            serde_json::json!({"to": "GB", "amount": "25.5000000", "asset_type": "credit_alphanum4",
                "asset_code": "USDC", "asset_issuer": "GA5Z"}),
        );
        assert_eq!(
            payment(&usdc, &memo),
            Some(Payment {
                to: "GB".into(),
                amount: BaseUnits::new(255_000_000),
                asset: Asset::Token("USDC:GA5Z".into()),
                memo: memo.clone()
            })
        );
        let created = op("create_account", serde_json::json!({"account": "GC", "starting_balance": "1.0000000"}));
        assert_eq!(
            payment(&created, &None).map(|p| (p.to, p.amount, p.asset)),
            Some(("GC".into(), BaseUnits::new(10_000_000), Asset::Native))
        );
        let muxed =
            op("payment", serde_json::json!({"to": "GB", "to_muxed": "MB", "amount": "1", "asset_type": "native"}));
        assert_eq!(payment(&muxed, &None).map(|p| p.to), Some("MB".into()));
        let merge = op("account_merge", serde_json::json!({"account": "GA", "into": "GB"}));
        assert_eq!(payment(&merge, &None), None);
        let finer = op("payment", serde_json::json!({"to": "GB", "amount": "0.00000001", "asset_type": "native"}));
        assert_eq!(payment(&finer, &None), None, "no exact stroops");
    }

    #[test]
    fn time_bounds_give_the_last_valid_close_time() {
        let tx = |pre: serde_json::Value, before: Option<&str>| Transaction {
            hash: "ab".into(),
            successful: true,
            ledger: 1,
            source_account: "GA".into(),
            source_account_sequence: "7".into(),
            memo_type: "none".into(),
            memo: None,
            preconditions: serde_json::from_value(pre).unwrap(),
            valid_before: before.map(str::to_owned),
        };
        assert_eq!(
            tx(serde_json::json!({"timebounds": {"min_time": "0", "max_time": "1700000300"}}), None).valid_until(),
            Some(1_700_000_300)
        );
        assert_eq!(tx(serde_json::json!({"timebounds": {"min_time": "0", "max_time": "0"}}), None).valid_until(), None);
        assert_eq!(tx(serde_json::json!(null), Some("2023-11-14T22:18:20Z")).valid_until(), Some(1_700_000_300));
        assert_eq!(tx(serde_json::json!(null), None).valid_until(), None);
    }
}
