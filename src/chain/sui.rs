//! Sui through its GraphQL RPC (JSON-RPC is being switched off on public
//! full nodes). Followed by status, not by reading checkpoints: a checkpoint
//! comes every quarter second or so with hundreds of transactions, read in
//! pages of 50; looking up the watched digests instead costs one request per
//! 50 watched transactions per poll, the tip included in the same query
//! (`multiGetTransactions(keys)` beside `checkpoint`, both answered at one
//! checkpoint). The answers found carry everything the
//! tracker needs (status, checkpoint, balance changes), kept until the
//! tracker asks `transaction` for the final ones: no second request.
//!
//! Heights are **checkpoint sequence numbers**, `BlockRef { height:
//! sequenceNumber, hash: checkpoint digest }`. The GraphQL service serves
//! only transactions in certified checkpoints: a transaction it knows is
//! final. Expiry is counted in **epochs**: a transaction whose `expiration`
//! epoch has passed can no longer be signed by validators, so one the service
//! does not know is `expired` once the tip's epoch is above the last valid
//! epoch recorded at broadcast (`PendingTx::last_valid_height`).
//!
//! Payments are the positive balance changes (`owner.address`, `amount`,
//! `coinType.repr`): SUI is the native coin (`0x2::sui::SUI`), anything
//! else a token named by its coin type in lower case with a 64-digit address
//! (`0xdba3...::usdc::usdc` for native USDC). A failed transaction changes
//! only its gas payer's balance.
//!
//! Discovery: `transactions(filter: {affectedAddress})`, the address's
//! newest 50 transactions (`AddressHistory`).
//!
//! The schema is the one the public service (`graphql.mainnet.sui.io`, the
//! indexer-backed GraphQL RPC that replaces JSON-RPC) serves: `Transaction`
//! and `TransactionEffects`, not the retired `TransactionBlock` of the first
//! GraphQL service. The fields read here (`digest`, `expiration.epochId`,
//! `effects.status`, `effects.checkpoint`, `effects.balanceChanges` with
//! `owner.address`, `amount`, `coinType.repr`; the checkpoint's
//! `sequenceNumber`, `digest`, `epoch.epochId`) are named alike in both.
//!
//! Schema: <https://docs.sui.io/references/sui-api/sui-graphql/beta/reference>
//! (`Query.checkpoint`, `Query.multiGetTransactions`, `Query.transaction`,
//! `Query.transactions`, `TransactionFilter`, `Transaction`,
//! `TransactionEffects`, `BalanceChange`).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use super::graphql::GraphQl;
use super::http::ClientConfig;
use super::{
    AddressHistory, Asset, BaseUnits, BlockRef, ChainError, ConflictKey, Payment, PendingTx, StatusChain, TxInfo,
    TxLocation, TxStatus,
};

/// Digests per `multiGetTransactions` (the service's default page size,
/// well under its multi-get limit).
pub const MAX_DIGESTS_PER_REQUEST: usize = 50;

/// The native coin's type, in the normalized form payments carry.
pub const SUI_COIN_TYPE: &str = "0x0000000000000000000000000000000000000000000000000000000000000002::sui::sui";

const CHECKPOINT_FIELDS: &str = "sequenceNumber digest timestamp epoch { epochId }";

const TX_FRAGMENT: &str = "fragment Tx on Transaction {
  digest
  expiration { epochId }
  effects {
    status
    checkpoint { sequenceNumber digest }
    balanceChanges(first: 50) { nodes { owner { address } amount coinType { repr } } }
  }
}";

pub struct SuiClient {
    api: GraphQl,
    /// What the last `statuses_of` found, by digest: `transaction` answers
    /// from here without a request.
    found: Mutex<HashMap<String, TxInfo>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Checkpoint {
    sequence_number: u64,
    digest: String,
    epoch: Option<Epoch>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Epoch {
    epoch_id: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CheckpointRef {
    sequence_number: u64,
    digest: String,
}

#[derive(Deserialize)]
struct Transaction {
    digest: String,
    expiration: Option<Epoch>,
    effects: Option<Effects>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Effects {
    /// `SUCCESS` or `FAILURE`.
    status: Option<String>,
    checkpoint: Option<CheckpointRef>,
    balance_changes: Connection<BalanceChange>,
}

#[derive(Deserialize)]
struct Connection<T> {
    nodes: Vec<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BalanceChange {
    owner: Option<Owner>,
    /// `BigInt`: a signed decimal string.
    amount: String,
    coin_type: Option<MoveType>,
}

#[derive(Deserialize)]
struct Owner {
    address: String,
}

#[derive(Deserialize)]
struct MoveType {
    repr: String,
}

#[derive(Deserialize)]
struct TipData {
    checkpoint: Checkpoint,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusesData {
    checkpoint: Checkpoint,
    /// As long as the keys, `null` for a digest the service does not know.
    multi_get_transactions: Vec<Option<Transaction>>,
}

#[derive(Deserialize)]
struct AffectedData {
    transactions: Connection<Transaction>,
}

#[derive(Deserialize)]
struct TxData {
    transaction: Option<Transaction>,
}

/// A coin type as payments carry it: the address as 64 lower-case hex
/// digits, module and name in lower case (`0x2::sui::SUI` →
/// `0x00..02::sui::sui`). `None` when it is not `address::module::name`
/// (generic arguments are kept as they are, in lower case).
pub fn normalize_coin_type(repr: &str) -> Option<String> {
    let (address, rest) = repr.split_once("::")?;
    let hex = address.strip_prefix("0x").unwrap_or(address);
    if hex.is_empty() || hex.len() > 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) || !rest.contains("::") {
        return None;
    }
    Some(format!("0x{:0>64}::{}", hex.to_ascii_lowercase(), rest.to_ascii_lowercase()))
}

/// An address as payments carry it: `0x` and 64 lower-case hex digits.
fn normalize_address(address: &str) -> String {
    let hex = address.strip_prefix("0x").unwrap_or(address);
    format!("0x{:0>64}", hex.to_ascii_lowercase())
}

impl Transaction {
    fn info(&self) -> Result<TxInfo, ChainError> {
        let effects = self.effects.as_ref();
        let location = match effects.and_then(|e| e.checkpoint.as_ref()) {
            Some(c) => TxLocation::Block(BlockRef { height: c.sequence_number, hash: c.digest.clone() }),
            None => TxLocation::Mempool,
        };
        let success = match effects.and_then(|e| e.status.as_deref()) {
            Some("SUCCESS") => Some(true),
            Some("FAILURE") => Some(false),
            Some(other) => return Err(ChainError::BadResponse(format!("effects.status: unknown status {other:?}"))),
            None => None,
        };
        let mut payments = Vec::new();
        if success != Some(false) {
            for change in effects.map(|e| e.balance_changes.nodes.as_slice()).unwrap_or_default() {
                let Some(payment) = change.payment()? else { continue };
                payments.push(payment);
            }
        }
        Ok(TxInfo {
            txid: self.digest.clone(),
            location,
            success,
            payments,
            // Nothing replaces a Sui transaction: it lands or expires.
            conflict: ConflictKey::Outpoints(Vec::new()),
            valid_until: self.expiration.as_ref().map(|e| e.epoch_id),
        })
    }
}

impl BalanceChange {
    /// A credit to an address, as a payment; debits and object owners are none.
    fn payment(&self) -> Result<Option<Payment>, ChainError> {
        let (Some(owner), Some(coin_type)) = (&self.owner, &self.coin_type) else { return Ok(None) };
        if self.amount.starts_with('-') {
            return Ok(None);
        }
        let units: u128 = self.amount.parse().map_err(|_| {
            ChainError::BadResponse(format!("balanceChanges.amount: expected a decimal integer, got {:?}", self.amount))
        })?;
        let Some(coin_type) = normalize_coin_type(&coin_type.repr) else {
            return Err(ChainError::BadResponse(format!("coinType.repr: not a coin type: {:?}", coin_type.repr)));
        };
        let asset = if coin_type == SUI_COIN_TYPE { Asset::Native } else { Asset::Token(coin_type) };
        Ok(Some(Payment { to: normalize_address(&owner.address), amount: BaseUnits::new(units), asset, memo: None }))
    }
}

impl SuiClient {
    /// `config.base_urls` are GraphQL endpoints, posted to as they are
    /// (e.g. `https://graphql.mainnet.sui.io/graphql`).
    pub fn new(config: ClientConfig) -> SuiClient {
        SuiClient { api: GraphQl::new(config), found: Mutex::new(HashMap::new()) }
    }

    /// The latest checkpoint and its epoch.
    pub async fn tip_epoch(&self) -> Result<(BlockRef, u64), ChainError> {
        let query = format!("query Tip {{ checkpoint {{ {CHECKPOINT_FIELDS} }} }}");
        let data: TipData = self.api.query("checkpoint", &query, json!({})).await?;
        Ok(tip_of(&data.checkpoint))
    }
}

fn tip_of(checkpoint: &Checkpoint) -> (BlockRef, u64) {
    let epoch = checkpoint.epoch.as_ref().map_or(0, |e| e.epoch_id);
    (BlockRef { height: checkpoint.sequence_number, hash: checkpoint.digest.clone() }, epoch)
}

#[async_trait]
impl StatusChain for SuiClient {
    fn name(&self) -> &'static str {
        "sui"
    }

    fn max_batch(&self) -> usize {
        MAX_DIGESTS_PER_REQUEST
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn tip(&self) -> Result<BlockRef, ChainError> {
        Ok(self.tip_epoch().await?.0)
    }

    #[tracing::instrument(skip(self, txs), fields(txs = txs.len()), err(level = "debug"))]
    async fn statuses_of(&self, txs: &[PendingTx]) -> Result<Vec<TxStatus>, ChainError> {
        let query = format!(
            "query Statuses($digests: [String!]!) {{
  checkpoint {{ {CHECKPOINT_FIELDS} }}
  multiGetTransactions(keys: $digests) {{ ...Tx }}
}}
{TX_FRAGMENT}"
        );
        let digests: Vec<&str> = txs.iter().map(|t| t.txid.as_str()).collect();
        let data: StatusesData = self.api.query("multiGetTransactions", &query, json!({ "digests": digests })).await?;
        let (_, epoch) = tip_of(&data.checkpoint);
        let mut found = HashMap::new();
        for tx in data.multi_get_transactions.iter().flatten() {
            found.insert(tx.digest.clone(), tx.info()?);
        }
        let statuses = txs
            .iter()
            .map(|pending| match found.get(&pending.txid) {
                Some(info) => TxStatus {
                    txid: pending.txid.clone(),
                    location: Some(info.location.clone()),
                    finalized: matches!(info.location, TxLocation::Block(_)),
                    success: info.success,
                    expired: false,
                },
                None => TxStatus {
                    txid: pending.txid.clone(),
                    location: None,
                    finalized: false,
                    success: None,
                    expired: pending.last_valid_height.is_some_and(|last| epoch > last),
                },
            })
            .collect();
        *self.found.lock().expect("not poisoned") = found;
        Ok(statuses)
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn transaction(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        if let Some(info) = self.found.lock().expect("not poisoned").remove(txid) {
            return Ok(Some(info));
        }
        let query = format!("query Tx($digest: String!) {{ transaction(digest: $digest) {{ ...Tx }} }}\n{TX_FRAGMENT}");
        let data: TxData = self.api.query("transaction", &query, json!({ "digest": txid })).await?;
        data.transaction.map(|tx| tx.info()).transpose()
    }

    fn address_history(&self) -> Option<&dyn AddressHistory> {
        Some(self)
    }
}

/// `transactions(filter: {affectedAddress})`: the address's newest
/// transactions (a page of 50), for discovery.
#[async_trait]
impl AddressHistory for SuiClient {
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn payments_to(&self, address: &str) -> Result<Vec<TxInfo>, ChainError> {
        let query = format!(
            "query Affected($address: SuiAddress!, $last: Int!) {{
  transactions(last: $last, filter: {{ affectedAddress: $address }}) {{ nodes {{ ...Tx }} }}
}}
{TX_FRAGMENT}"
        );
        let data: AffectedData = self
            .api
            .query("transactions", &query, json!({ "address": address, "last": MAX_DIGESTS_PER_REQUEST }))
            .await?;
        // Oldest first in a page; newest first here.
        data.transactions.nodes.iter().rev().map(Transaction::info).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coin_types_are_normalized_to_the_long_lower_case_form() {
        assert_eq!(normalize_coin_type("0x2::sui::SUI").as_deref(), Some(SUI_COIN_TYPE));
        assert_eq!(
            normalize_coin_type("0xDBA34672E30CB065B1F93E3AB55318768FD6FEF66C15942C9F7CB846E2F900E7::usdc::USDC")
                .as_deref(),
            Some("0xdba34672e30cb065b1f93e3ab55318768fd6fef66c15942c9f7cb846e2f900e7::usdc::usdc")
        );
        assert_eq!(normalize_coin_type("sui"), None);
        assert_eq!(normalize_coin_type("0xzz::a::B"), None);
        assert_eq!(normalize_coin_type("0x2::sui"), None);
    }

    #[test]
    fn credits_are_payments_and_debits_are_not() {
        let change = |amount: &str, repr: &str| BalanceChange {
            owner: Some(Owner { address: "0xAB".into() }),
            amount: amount.into(),
            coin_type: Some(MoveType { repr: repr.into() }),
        };
        let paid = change("1500000000", "0x2::sui::SUI").payment().unwrap().unwrap();
        assert_eq!((paid.to.len(), paid.amount, paid.asset), (66, BaseUnits::new(1_500_000_000), Asset::Native));
        assert!(change("-5", "0x2::sui::SUI").payment().unwrap().is_none());
        assert!(change("1.5", "0x2::sui::SUI").payment().is_err());
    }
}
