//! TON through toncenter's indexer API v3
//! (<https://toncenter.com/api/v3/index.html>). Followed by status (a
//! `StatusChain`): TON's blocks are many and sharded, and the exchange knows
//! its transaction's external message hash before inclusion.
//!
//! A payout is the exchange wallet's transaction (found by the external
//! message: `GET /api/v3/transactionsByMessage?msg_hash=..&direction=in`, or
//! by its own hash: `GET /api/v3/transactions?hash=..`) plus the recipient's
//! transaction of each message it sent (`transactionsByMessage` with the
//! out-message hash; a message to the wallet itself, as a highload wallet
//! sends its batch, is followed through to that transaction's messages). It failed when the wallet's transaction was
//! `description.aborted` or its compute or action phase did not succeed, or
//! when a recipient's transaction bounced the value back; it is final once
//! every one of them sits in a masterchain block at or below the newest
//! (`GET /api/v3/masterchainInfo`). A TON payment is the out-message's
//! `destination` and `value` (nanotons) with its text comment
//! (`message_content.decoded.comment`) as the memo; a USDT payment is a
//! jetton transfer (`GET /api/v3/jetton/transfers`: `destination` owner,
//! `amount`, `jetton_master`, the comment in `forward_payload`) whose
//! `transaction_hash` is the recipient transaction of the wallet's message to
//! its jetton wallet. Addresses are compared in their raw `wc:hex` form.
//!
//! Expiry: a wallet message's `valid_until` (unix seconds, recorded as the
//! withdrawal's `last_valid_height`) against the newest masterchain block's
//! `gen_utime`.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use super::final_answers::FinalAnswers;
use super::http::{parse_json, ClientConfig, Endpoints, Reply};
use super::{
    AddressHistory, Asset, BaseUnits, BlockRef, ChainError, ConflictKey, Payment, PendingTx, StatusChain, TxInfo,
    TxLocation, TxStatus,
};
use crate::domain::address::ton_raw_form;

/// An account's newest transactions (and jetton transfers) read for discovery.
const HISTORY_LIMIT: usize = 10;
/// How many transactions one `statuses_of` call follows at once.
pub const MAX_CONCURRENT: usize = 20;
/// TEP-74 `transfer` (the owner's message to its jetton wallet).
pub const JETTON_TRANSFER_OPCODE: u32 = 0x0f8a_7ea5;
/// How many messages to itself a wallet's payout may pass through (a
/// highload wallet v3 sends its batch from one).
const MAX_RELAYS: usize = 2;
/// A hash no message had is asked as a transaction hash the first time and
/// then every this many times.
const RETRY_AS_TX_HASH: u32 = 10;
/// Hashes whose misses are counted at most.
const KEPT_MISSES: usize = 100_000;

#[derive(Deserialize)]
struct MasterchainInfo {
    last: McBlock,
}

#[derive(Deserialize, Clone)]
struct McBlock {
    seqno: u64,
    root_hash: String,
    gen_utime: Number,
}

/// A number, or a decimal string (toncenter writes 64-bit values as strings).
#[derive(Debug, Clone, Copy)]
struct Number(u64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Number(n) => n.as_u64().map(Number).ok_or_else(|| serde::de::Error::custom("not a u64")),
            Value::String(s) => {
                s.parse().map(Number).map_err(|_| serde::de::Error::custom(format!("bad number {s:?}")))
            }
            other => Err(serde::de::Error::custom(format!("expected a number, got {other}"))),
        }
    }
}

#[derive(Deserialize)]
struct Transactions {
    transactions: Vec<Tx>,
}

#[derive(Deserialize, Clone)]
struct Tx {
    account: String,
    hash: String,
    lt: Number,
    #[serde(default)]
    mc_block_seqno: Option<u64>,
    /// The hash of the trace's first transaction: for a payout's recipient,
    /// the exchange wallet's transaction.
    #[serde(default)]
    trace_id: Option<String>,
    description: Description,
    #[serde(default)]
    in_msg: Option<Message>,
    #[serde(default)]
    out_msgs: Vec<Message>,
}

#[derive(Deserialize, Clone)]
struct Description {
    #[serde(default)]
    aborted: Option<bool>,
    #[serde(default)]
    compute_ph: Option<ComputePhase>,
    #[serde(default)]
    action: Option<ActionPhase>,
}

#[derive(Deserialize, Clone)]
struct ComputePhase {
    #[serde(default)]
    skipped: Option<bool>,
    #[serde(default)]
    success: Option<bool>,
}

#[derive(Deserialize, Clone)]
struct ActionPhase {
    #[serde(default)]
    success: Option<bool>,
}

#[derive(Deserialize, Clone)]
struct Message {
    hash: String,
    /// `None` for an external message.
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    destination: Option<String>,
    #[serde(default)]
    value: Option<Number>,
    /// A number or `"0x0f8a7ea5"`-style text.
    #[serde(default)]
    opcode: Option<Value>,
    #[serde(default)]
    bounced: Option<bool>,
    #[serde(default)]
    message_content: Option<MessageContent>,
}

#[derive(Deserialize, Clone)]
struct MessageContent {
    #[serde(default)]
    decoded: Option<Decoded>,
}

#[derive(Deserialize, Clone)]
struct Decoded {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Deserialize)]
struct JettonTransfers {
    jetton_transfers: Vec<JettonTransfer>,
}

#[derive(Deserialize)]
struct JettonTransfer {
    destination: String,
    #[serde(default)]
    trace_id: Option<String>,
    amount: String,
    jetton_master: String,
    transaction_hash: String,
    transaction_aborted: bool,
    #[serde(default)]
    forward_payload: Option<String>,
}

impl Message {
    fn opcode(&self) -> Option<u32> {
        match self.opcode.as_ref()? {
            Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            Value::String(s) => {
                let hex = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"));
                match hex {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None => s.parse::<i64>().ok().map(|n| n as u32),
                }
            }
            _ => None,
        }
    }

    fn comment(&self) -> Option<String> {
        let decoded = self.message_content.as_ref()?.decoded.as_ref()?;
        (decoded.kind == "text_comment").then(|| decoded.comment.clone()).flatten()
    }
}

impl Tx {
    /// The wallet's own transaction failed: nothing was sent.
    fn failed(&self) -> bool {
        let d = &self.description;
        d.aborted == Some(true)
            || d.compute_ph.as_ref().is_some_and(|c| c.success == Some(false))
            || d.action.as_ref().is_some_and(|a| a.success == Some(false))
    }

    /// A recipient's transaction kept the value: it did not bounce it back
    /// (an uninitialized wallet's skipped compute phase still keeps a
    /// non-bounceable transfer).
    fn kept_value(&self) -> bool {
        let skipped = self.description.compute_ph.as_ref().is_some_and(|c| c.skipped == Some(true));
        let bounced_back = self.out_msgs.iter().any(|m| m.bounced == Some(true));
        !bounced_back && (self.description.aborted != Some(true) || skipped)
    }

    fn block(&self) -> Option<BlockRef> {
        self.mc_block_seqno.map(|seqno| BlockRef { height: seqno, hash: String::new() })
    }
}

/// An address as the payee check compares it: raw `wc:hex`, lowercase.
fn raw(address: &str) -> String {
    ton_raw_form(address).unwrap_or_else(|| address.to_ascii_lowercase())
}

/// The text comment of a jetton transfer's `forward_payload` (a base64
/// bag of cells whose root starts with the 32-bit opcode 0 and continues
/// as a "snake" of UTF-8 bytes through the first references).
pub fn boc_comment(payload: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload.trim())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(payload.trim()))
        .ok()?;
    let cells = parse_boc(&bytes)?;
    let mut text = Vec::new();
    let mut index = 0;
    let mut first = true;
    for _ in 0..cells.len() {
        let (data, refs) = cells.get(index)?;
        if first {
            if data.len() < 4 || data[..4] != [0, 0, 0, 0] {
                return None;
            }
            text.extend_from_slice(&data[4..]);
            first = false;
        } else {
            text.extend_from_slice(data);
        }
        match refs.first() {
            Some(&next) => index = next,
            None => return String::from_utf8(text).ok(),
        }
    }
    None
}

/// The cells of a BOC (`b5ee9c72`), root first: each cell's whole data
/// bytes and its references (cell indexes).
fn parse_boc(bytes: &[u8]) -> Option<Vec<(Vec<u8>, Vec<usize>)>> {
    if bytes.get(..4)? != [0xb5, 0xee, 0x9c, 0x72] {
        return None;
    }
    let flags = *bytes.get(4)?;
    let has_index = flags & 0x80 != 0;
    let size = usize::from(flags & 0x07);
    let offset_bytes = usize::from(*bytes.get(5)?);
    let read = |at: usize, n: usize| -> Option<usize> {
        bytes.get(at..at + n).map(|b| b.iter().fold(0usize, |acc, &x| (acc << 8) | usize::from(x)))
    };
    let mut at = 6;
    let count = read(at, size)?;
    let roots = read(at + size, size)?;
    at += 3 * size;
    let total = read(at, offset_bytes)?;
    at += offset_bytes;
    let root = read(at, size)?;
    at += roots * size;
    if has_index {
        at += count * offset_bytes;
    }
    let end = at.checked_add(total)?;
    let mut cells = Vec::with_capacity(count);
    while at < end && cells.len() < count {
        let d1 = *bytes.get(at)?;
        let d2 = usize::from(*bytes.get(at + 1)?);
        at += 2;
        if d1 & 0x10 != 0 {
            let levels = (d1 >> 5).count_ones() as usize + 1;
            at += levels * (32 + 2);
        }
        let length = d2.div_ceil(2);
        let mut data = bytes.get(at..at + length)?.to_vec();
        if d2 % 2 == 1 {
            // The last byte is partial: drop it (a comment is whole bytes).
            data.pop();
        }
        at += length;
        let mut refs = Vec::new();
        for _ in 0..usize::from(d1 & 0x07) {
            refs.push(read(at, size)?);
            at += size;
        }
        cells.push((data, refs));
    }
    (root == 0 && cells.len() == count).then_some(cells)
}

/// A wallet transaction followed to its recipients.
struct Followed {
    wallet: Tx,
    /// The wallet's own later transactions on the way: a highload wallet
    /// sends its batch from a message to itself.
    relays: Vec<Tx>,
    /// Each message paying out, with the transaction that received it
    /// (`None` while not indexed yet).
    legs: Vec<(Message, Option<Tx>)>,
}

impl Followed {
    fn all_arrived(&self) -> bool {
        self.legs.iter().all(|(_, tx)| tx.is_some())
    }

    fn parts(&self) -> impl Iterator<Item = &Tx> {
        std::iter::once(&self.wallet).chain(&self.relays).chain(self.legs.iter().filter_map(|(_, tx)| tx.as_ref()))
    }

    fn success(&self) -> Option<bool> {
        if self.wallet.failed() || self.relays.iter().any(Tx::failed) {
            return Some(false);
        }
        if !self.all_arrived() {
            return None;
        }
        Some(self.legs.iter().filter_map(|(_, tx)| tx.as_ref()).all(Tx::kept_value))
    }

    /// In masterchain blocks at or below `tip`: every part of it (only the
    /// wallet's transaction when that failed: then nothing was sent).
    fn final_at(&self, tip: u64) -> bool {
        let settled = |tx: &Tx| tx.mc_block_seqno.is_some_and(|seqno| seqno <= tip);
        if self.wallet.failed() {
            return settled(&self.wallet);
        }
        self.all_arrived() && self.parts().all(settled)
    }

    /// The masterchain block that completed it: the highest of its parts.
    fn block(&self) -> Option<BlockRef> {
        let mut block = self.wallet.block()?;
        for tx in self.parts() {
            if let Some(b) = tx.block().filter(|b| b.height > block.height) {
                block = b;
            }
        }
        Some(block)
    }
}

/// toncenter v3 endpoints, tried in order (an API key goes in `X-API-Key`).
pub struct ToncenterClient {
    api: Endpoints,
    /// Final answers from `statuses_of`, for the `transaction` call after it.
    finals: FinalAnswers,
    /// How often each hash was not found as a message's.
    misses: Mutex<HashMap<String, u32>>,
}

fn ok_json<T: serde::de::DeserializeOwned>(reply: Reply, path: &str) -> Result<T, ChainError> {
    if !reply.status.is_success() {
        return Err(reply.unexpected_status());
    }
    parse_json(&reply.body, path)
}

fn query(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).expect("string pairs encode")
}

impl ToncenterClient {
    pub fn new(config: ClientConfig) -> Self {
        Self { api: Endpoints::new(config), finals: FinalAnswers::default(), misses: Mutex::new(HashMap::new()) }
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: String) -> Result<T, ChainError> {
        self.api.get(&path, |reply| ok_json(reply, &path)).await
    }

    async fn masterchain(&self) -> Result<McBlock, ChainError> {
        let info: MasterchainInfo = self.get("/api/v3/masterchainInfo".to_owned()).await?;
        Ok(info.last)
    }

    /// The transaction that received message `msg_hash`.
    async fn by_message(&self, msg_hash: &str) -> Result<Option<Tx>, ChainError> {
        let q = query(&[("msg_hash", msg_hash), ("direction", "in"), ("limit", "1"), ("offset", "0")]);
        let found: Transactions = self.get(format!("/api/v3/transactionsByMessage?{q}")).await?;
        Ok(found.transactions.into_iter().next())
    }

    /// The wallet's transaction: by the external message's hash, else by
    /// its own hash. A wallet transaction's hash is known only once the
    /// indexer has it, so a hash not found as one the first time is mostly
    /// a message still on its way: it is asked as a transaction hash again
    /// only every `RETRY_AS_TX_HASH`-th time.
    async fn wallet_tx(&self, txid: &str) -> Result<Option<Tx>, ChainError> {
        if let Some(tx) = self.by_message(txid).await? {
            return Ok(Some(tx));
        }
        let misses = {
            let mut misses = self.misses.lock().expect("not poisoned");
            if misses.len() >= KEPT_MISSES {
                misses.clear();
            }
            let count = misses.entry(txid.to_owned()).or_insert(0);
            *count += 1;
            *count
        };
        if misses != 1 && misses % RETRY_AS_TX_HASH != 0 {
            return Ok(None);
        }
        let q = query(&[("hash", txid), ("limit", "1"), ("offset", "0")]);
        let found: Transactions = self.get(format!("/api/v3/transactions?{q}")).await?;
        Ok(found.transactions.into_iter().next())
    }

    async fn follow(&self, txid: &str) -> Result<Option<Followed>, ChainError> {
        let Some(wallet) = self.wallet_tx(txid).await? else { return Ok(None) };
        let (mut relays, mut legs) = (Vec::new(), Vec::new());
        if !wallet.failed() {
            let own = raw(&wallet.account);
            let mut sent: Vec<Message> = wallet.out_msgs.iter().filter(|m| m.destination.is_some()).cloned().collect();
            for hop in 0..=MAX_RELAYS {
                let mut next = Vec::new();
                for message in sent {
                    let received = self.by_message(&message.hash).await?;
                    let to_self = message.destination.as_deref().is_some_and(|d| raw(d) == own);
                    match received {
                        Some(relay) if to_self && hop < MAX_RELAYS => {
                            next.extend(relay.out_msgs.iter().filter(|m| m.destination.is_some()).cloned());
                            relays.push(relay);
                        }
                        received => legs.push((message, received)),
                    }
                }
                if next.is_empty() {
                    break;
                }
                sent = next;
            }
        }
        Ok(Some(Followed { wallet, relays, legs }))
    }

    /// What the payout paid: TON by message, USDT (any jetton) through the
    /// jetton transfers its wallet's messages started.
    async fn payments(&self, followed: &Followed) -> Result<Vec<Payment>, ChainError> {
        let mut payments = Vec::new();
        let mut jetton_txs = Vec::new();
        for (message, recipient) in &followed.legs {
            if message.opcode() == Some(JETTON_TRANSFER_OPCODE) {
                if let Some(tx) = recipient {
                    jetton_txs.push(tx.hash.clone());
                }
                continue;
            }
            let (Some(to), Some(value)) = (&message.destination, message.value) else { continue };
            payments.push(Payment {
                to: raw(to),
                amount: BaseUnits::new(u128::from(value.0)),
                asset: Asset::Native,
                memo: message.comment(),
            });
        }
        if !jetton_txs.is_empty() {
            let lt = followed.wallet.lt.0.to_string();
            let q = query(&[
                ("owner_address", followed.wallet.account.as_str()),
                ("direction", "out"),
                ("start_lt", lt.as_str()),
                ("limit", "256"),
                ("offset", "0"),
                ("sort", "asc"),
            ]);
            let transfers: JettonTransfers = self.get(format!("/api/v3/jetton/transfers?{q}")).await?;
            for transfer in transfers.jetton_transfers {
                let ours = jetton_txs.iter().any(|h| h == &transfer.transaction_hash);
                if !ours || transfer.transaction_aborted {
                    continue;
                }
                let Ok(amount) = transfer.amount.parse::<u128>() else { continue };
                payments.push(Payment {
                    to: raw(&transfer.destination),
                    amount: BaseUnits::new(amount),
                    asset: Asset::Token(raw(&transfer.jetton_master)),
                    memo: transfer.forward_payload.as_deref().and_then(boc_comment),
                });
            }
        }
        Ok(payments)
    }

    async fn tx_info(&self, txid: &str, followed: &Followed, tip: u64) -> Result<TxInfo, ChainError> {
        let success = followed.success();
        let payments = if success == Some(true) { self.payments(followed).await? } else { Vec::new() };
        let location = match followed.block() {
            Some(block) if followed.final_at(tip) => TxLocation::Block(block),
            _ => TxLocation::Mempool,
        };
        // TON wallets order messages by seqno, but nothing can take a sent
        // message's place: it lands or expires.
        Ok(TxInfo {
            txid: txid.to_owned(),
            location,
            success,
            payments,
            conflict: ConflictKey::Outpoints(Vec::new()),
            // The wallet message's `valid_until` is inside its signed body,
            // which toncenter does not decode: only the recorded value tells.
            valid_until: None,
        })
    }

    async fn status(&self, pending: &PendingTx, tip: &McBlock) -> Result<TxStatus, ChainError> {
        let Some(followed) = self.follow(&pending.txid).await? else {
            return Ok(TxStatus {
                txid: pending.txid.clone(),
                location: None,
                finalized: false,
                success: None,
                expired: pending.last_valid_height.is_some_and(|until| tip.gen_utime.0 > until),
            });
        };
        let finalized = followed.final_at(tip.seqno);
        if finalized {
            let info = self.tx_info(&pending.txid, &followed, tip.seqno).await?;
            self.finals.keep(&pending.txid, info);
        }
        Ok(TxStatus {
            txid: pending.txid.clone(),
            location: Some(followed.block().map_or(TxLocation::Mempool, TxLocation::Block)),
            finalized,
            success: if finalized { followed.success() } else { None },
            expired: false,
        })
    }
}

#[async_trait]
impl StatusChain for ToncenterClient {
    fn name(&self) -> &'static str {
        "toncenter"
    }

    fn max_batch(&self) -> usize {
        MAX_CONCURRENT
    }

    /// The newest masterchain block: seqno and root hash.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn tip(&self) -> Result<BlockRef, ChainError> {
        let last = self.masterchain().await?;
        Ok(BlockRef { height: last.seqno, hash: last.root_hash })
    }

    /// The masterchain tip once, then each transaction followed (wallet,
    /// then recipients), `MAX_CONCURRENT` at a time. Final once all of it
    /// is in masterchain blocks; `success` false when the wallet's
    /// transaction failed or a recipient bounced the value; `expired` for
    /// a transaction toncenter does not know once the tip's `gen_utime`
    /// passed its recorded `valid_until`.
    #[tracing::instrument(skip_all, fields(count = txs.len()), err(level = "debug"))]
    async fn statuses_of(&self, txs: &[PendingTx]) -> Result<Vec<TxStatus>, ChainError> {
        let tip = self.masterchain().await?;
        super::in_chunks(txs, MAX_CONCURRENT, |tx| self.status(tx, &tip)).await
    }

    fn address_history(&self) -> Option<&dyn AddressHistory> {
        Some(self)
    }

    /// The payout's outcome and payments (from the last status when it was
    /// final, else read again); `None` when toncenter does not know it.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn transaction(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        if let Some(info) = self.finals.take(txid) {
            return Ok(Some(info));
        }
        let tip = self.masterchain().await?;
        match self.follow(txid).await? {
            Some(followed) => Ok(Some(self.tx_info(txid, &followed, tip.seqno).await?)),
            None => Ok(None),
        }
    }
}

/// A discovered payment, named by its trace's first transaction (the
/// exchange wallet's, which `statuses_of` finds by its hash).
fn discovered(root: String, block: BlockRef, payment: Option<Payment>) -> TxInfo {
    TxInfo {
        txid: root,
        location: TxLocation::Block(block),
        success: Some(payment.is_some()),
        payments: payment.into_iter().collect(),
        conflict: ConflictKey::Outpoints(Vec::new()),
        valid_until: None,
    }
}

#[async_trait]
impl AddressHistory for ToncenterClient {
    /// The account's newest incoming transfers: TON by its transactions
    /// (`GET /api/v3/transactions?account=..&sort=desc`, the incoming
    /// message's value and comment), jettons by the transfers it received
    /// (`GET /api/v3/jetton/transfers?owner_address=..&direction=in`, each
    /// transfer's transaction read for its masterchain block). Each is named
    /// by its `trace_id`, the paying wallet's transaction.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn payments_to(&self, address: &str) -> Result<Vec<TxInfo>, ChainError> {
        let limit = HISTORY_LIMIT.to_string();
        let q = query(&[("account", address), ("limit", &limit), ("offset", "0"), ("sort", "desc")]);
        let received: Transactions = self.get(format!("/api/v3/transactions?{q}")).await?;
        let mut infos = Vec::new();
        for tx in &received.transactions {
            let (Some(message), Some(root), Some(block)) = (&tx.in_msg, &tx.trace_id, tx.block()) else { continue };
            let (Some(_), Some(value)) = (&message.source, message.value) else { continue };
            if root == &tx.hash {
                continue; // started by an external message: nobody paid it
            }
            let payment = tx.kept_value().then(|| Payment {
                to: raw(&tx.account),
                amount: BaseUnits::new(u128::from(value.0)),
                asset: Asset::Native,
                memo: message.comment(),
            });
            infos.push(discovered(root.clone(), block, payment));
        }
        let q = query(&[
            ("owner_address", address),
            ("direction", "in"),
            ("limit", &limit),
            ("offset", "0"),
            ("sort", "desc"),
        ]);
        let transfers: JettonTransfers = self.get(format!("/api/v3/jetton/transfers?{q}")).await?;
        for transfer in transfers.jetton_transfers {
            let (Some(root), false) = (transfer.trace_id.clone(), transfer.transaction_aborted) else { continue };
            let Ok(amount) = transfer.amount.parse::<u128>() else { continue };
            let q = query(&[("hash", &transfer.transaction_hash), ("limit", "1"), ("offset", "0")]);
            let landed: Transactions = self.get(format!("/api/v3/transactions?{q}")).await?;
            let Some(block) = landed.transactions.first().and_then(Tx::block) else { continue };
            let payment = Payment {
                to: raw(&transfer.destination),
                amount: BaseUnits::new(amount),
                asset: Asset::Token(raw(&transfer.jetton_master)),
                memo: transfer.forward_payload.as_deref().and_then(boc_comment),
            };
            infos.push(discovered(root, block, Some(payment)));
        }
        Ok(infos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-cell BOC: opcode 0 then `text` (at most 123 bytes).
    fn comment_boc(text: &str) -> String {
        let mut data = vec![0u8; 4];
        data.extend_from_slice(text.as_bytes());
        let d2 = (data.len() * 2) as u8;
        let cell: Vec<u8> = [vec![0u8, d2], data].concat();
        let mut boc = vec![0xb5, 0xee, 0x9c, 0x72, 0x01, 0x01, 1, 1, 0, cell.len() as u8, 0];
        boc.extend(cell);
        base64::engine::general_purpose::STANDARD.encode(boc)
    }

    #[test]
    fn a_forward_payload_comment_reads_back() {
        assert_eq!(boc_comment(&comment_boc("order 7")).as_deref(), Some("order 7"));
        assert_eq!(boc_comment(&comment_boc("")).as_deref(), Some(""));
        assert_eq!(boc_comment("te6cckEBAQEAAgAAAEysuc0="), None, "an empty cell is no comment");
        assert_eq!(boc_comment("not base64!"), None);
    }

    #[test]
    fn a_real_forward_payload_with_a_comment() {
        // "Hello, TON!" as serializers write it by default: the CRC-32C flag
        // set and the checksum after the cells (not verified here).
        let payload = base64::engine::general_purpose::STANDARD.encode(
            [
                &[0xb5u8, 0xee, 0x9c, 0x72, 0x41, 0x01, 0x01, 0x01, 0x00, 0x11, 0x00, 0x00, 0x1e][..],
                &[0, 0, 0, 0],
                b"Hello, TON!",
                &[0xde, 0xad, 0xbe, 0xef],
            ]
            .concat(),
        );
        assert_eq!(boc_comment(&payload).as_deref(), Some("Hello, TON!"));
    }

    #[test]
    fn opcodes_as_numbers_or_hex_text() {
        let message = |opcode: Value| Message {
            hash: "h".into(),
            source: None,
            destination: None,
            value: None,
            opcode: Some(opcode),
            bounced: None,
            message_content: None,
        };
        assert_eq!(message(serde_json::json!("0x0f8a7ea5")).opcode(), Some(JETTON_TRANSFER_OPCODE));
        assert_eq!(message(serde_json::json!(260_734_629)).opcode(), Some(JETTON_TRANSFER_OPCODE));
        assert_eq!(message(serde_json::json!("0x00000000")).opcode(), Some(0));
    }
}
