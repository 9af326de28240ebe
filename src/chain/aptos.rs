//! Aptos through a fullnode's REST API (`/v1`, https://aptos.dev/build/apis/fullnode-rest-api,
//! the OpenAPI spec at https://fullnode.mainnet.aptoslabs.com/v1/spec): several
//! base URLs tried in order.
//!
//! Followed by status, not block by block: Aptos makes several blocks a
//! second, so reading every block (`/v1/blocks/by_height/{h}`) would cost
//! hundreds of thousands of requests a day whatever the withdrawals; a
//! transaction is instead looked up by hash (`/v1/transactions/by_hash/{h}`),
//! one request that answers everything: pending or committed, `success`,
//! `vm_status`, `expiration_timestamp_secs`, and the events that say who was
//! paid (`MAX_CONCURRENT` at a time). A committed transaction is final (no forks), so that answer is kept
//! (a bounded map) and handed to `transaction` without asking again: one
//! request per withdrawal plus the tip once per poll (docs/PERFORMANCE.md).
//!
//! How the node answers: 64-bit numbers are decimal strings; a hash the node
//! does not know is 404 `{"message", "error_code": "transaction_not_found",
//! "vm_error_code"}`; a provider's throttling is 429 with `Retry-After`.
//!
//! Payments are read from the events of a committed transaction:
//! `0x1::fungible_asset::Deposit {store, amount}` (APT itself and USDT are
//! fungible assets): the store is an object, so its owner and asset are
//! resolved without a request where the transaction tells them (a
//! `FungibleStore` or `ObjectCore` written to that address in `changes`, or
//! the store being the primary store of the sender or an address among the
//! call's arguments for a known asset: sha3-256(owner ‖ metadata ‖ 0xFC),
//! `object::create_user_derived_object_address`), else with one request
//! (`/v1/accounts/{store}/resources`: `ObjectCore.owner`,
//! `FungibleStore.metadata`); `0x1::coin::CoinDeposit {coin_type, account,
//! amount}`, and the legacy `0x1::coin::DepositEvent` (the account is the
//! event's `guid.account_address`, the coin the `CoinStore<T>` written there).
//! The native coin is metadata `0xa` or `0x1::aptos_coin::AptosCoin`; a
//! token is named by its metadata address (or coin type), long form.
//!
//! Expiry: a transaction can be committed only while the ledger's time is
//! at most its `expiration_timestamp_secs` (unix seconds); a pending one
//! past it, or an unknown one past the last valid point recorded at
//! broadcast, is `expired`. The ledger time is the tip's
//! `ledger_timestamp` (microseconds) read before the lookups.
//!
//! Discovery: the node API has no index of payments by recipient (since
//! the move to fungible assets deposits are module events without an
//! account handle), so a withdrawal registered without a hash is not
//! discovered here.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use futures_util::future::try_join_all;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use sha3::{Digest, Sha3_256};

use super::http::{parse_json, snippet, ClientConfig, Endpoints, Reply};
use super::{
    Asset, BaseUnits, BlockRef, ChainError, ConflictKey, Payment, PendingTx, StatusChain, TxInfo, TxLocation, TxStatus,
};

/// The native coin as a fungible asset (its metadata object).
pub const APT_METADATA: &str = "0x000000000000000000000000000000000000000000000000000000000000000a";
/// The native coin as a legacy coin type.
pub const APT_COIN: &str = "0x1::aptos_coin::AptosCoin";
/// Lookups in flight at once.
const MAX_CONCURRENT: usize = 20;
/// Committed answers kept for `transaction`, at most.
const KEPT: usize = 20_000;
/// `object::create_user_derived_object_address`'s domain separator.
const OBJECT_DERIVED_SCHEME: u8 = 0xFC;

/// Base URLs like `https://fullnode.mainnet.aptoslabs.com` (the client adds `/v1`).
pub struct AptosClient {
    api: Endpoints,
    /// Metadata addresses of the configured tokens (long form), tried with
    /// APT's when a deposit's asset is not in the transaction's changes.
    assets: Vec<String>,
    /// The ledger time (unix seconds) of the last tip read (the tracker reads
    /// the tip before each round of lookups); 0 before one.
    ledger_secs: AtomicU64,
    /// Committed transactions as last looked up: final, so never stale.
    committed: Mutex<HashMap<String, TxInfo>>,
}

// Only the fields we read; the API sends more.
#[derive(Deserialize)]
struct LedgerInfo {
    ledger_version: String,
    block_height: String,
    /// Microseconds.
    ledger_timestamp: String,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum AptTx {
    #[serde(rename = "pending_transaction")]
    Pending(AptPending),
    #[serde(rename = "user_transaction")]
    User(AptUser),
    /// A block's own transactions: block metadata, state checkpoint, block
    /// epilogue, genesis, validator.
    #[serde(
        rename = "block_metadata_transaction",
        alias = "state_checkpoint_transaction",
        alias = "block_epilogue_transaction",
        alias = "genesis_transaction",
        alias = "validator_transaction"
    )]
    System(AptOther),
}

#[derive(Deserialize)]
struct AptOther {
    hash: String,
}

#[derive(Deserialize)]
struct AptPending {
    hash: String,
    sender: String,
    sequence_number: String,
    expiration_timestamp_secs: String,
}

#[derive(Deserialize)]
struct AptUser {
    version: String,
    hash: String,
    success: bool,
    vm_status: String,
    sender: String,
    sequence_number: String,
    expiration_timestamp_secs: String,
    #[serde(default)]
    payload: Value,
    #[serde(default)]
    events: Vec<AptEvent>,
    #[serde(default)]
    changes: Vec<AptChange>,
}

#[derive(Deserialize)]
struct AptEvent {
    guid: AptGuid,
    #[serde(rename = "type")]
    kind: String,
    data: Value,
}

#[derive(Deserialize)]
struct AptGuid {
    account_address: String,
}

#[derive(Deserialize)]
struct AptChange {
    #[serde(rename = "type")]
    kind: String,
    address: Option<String>,
    data: Option<AptResource>,
}

#[derive(Deserialize)]
struct AptResource {
    #[serde(rename = "type")]
    kind: String,
    data: Value,
}

impl AptosClient {
    /// `assets`: the metadata addresses of the configured tokens.
    pub fn new(config: ClientConfig, assets: impl IntoIterator<Item = String>) -> Self {
        let assets = assets.into_iter().filter_map(|a| long_address(&a)).collect();
        Self {
            api: Endpoints::new(config),
            assets,
            ledger_secs: AtomicU64::new(0),
            committed: Mutex::new(HashMap::new()),
        }
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, ChainError> {
        self.api.get(path, |reply| read(reply, path)).await
    }

    async fn ledger(&self) -> Result<(BlockRef, u64), ChainError> {
        let what = "/v1";
        let info: LedgerInfo = self.get_json(what).await?.ok_or(ChainError::NotFound)?;
        let height = number(&info.block_height, what, "block_height")?;
        number(&info.ledger_version, what, "ledger_version")?;
        let secs = number(&info.ledger_timestamp, what, "ledger_timestamp")? / 1_000_000;
        self.ledger_secs.store(secs, Ordering::Relaxed);
        // The ledger has no block hash to offer; its version names this state.
        Ok((BlockRef { height, hash: info.ledger_version }, secs))
    }

    async fn by_hash(&self, txid: &str) -> Result<Option<AptTx>, ChainError> {
        self.get_json(&format!("/v1/transactions/by_hash/{txid}")).await
    }

    /// What a lookup answer says, committed answers kept for `transaction`.
    async fn info(&self, tx: AptTx) -> Result<TxInfo, ChainError> {
        let what = "/v1/transactions/by_hash/:id";
        match tx {
            AptTx::Pending(p) => Ok(TxInfo {
                txid: p.hash.to_ascii_lowercase(),
                location: TxLocation::Mempool,
                success: None,
                payments: Vec::new(),
                conflict: nonce(&p.sender, &p.sequence_number, what)?,
                valid_until: Some(number(&p.expiration_timestamp_secs, what, "expiration_timestamp_secs")?),
            }),
            AptTx::User(u) => {
                let version = number(&u.version, what, "version")?;
                let payments = if u.success { self.payments(&u).await? } else { Vec::new() };
                if !u.success {
                    tracing::debug!(txid = %u.hash, vm_status = %u.vm_status, "failed on chain");
                }
                let info = TxInfo {
                    txid: u.hash.to_ascii_lowercase(),
                    // Aptos orders transactions by ledger version, not by
                    // block: the version stands where a height would.
                    location: TxLocation::Block(BlockRef { height: version, hash: u.hash.to_ascii_lowercase() }),
                    success: Some(u.success),
                    payments,
                    conflict: nonce(&u.sender, &u.sequence_number, what)?,
                    valid_until: Some(number(&u.expiration_timestamp_secs, what, "expiration_timestamp_secs")?),
                };
                let mut kept = self.committed.lock().expect("not poisoned");
                if kept.len() >= KEPT {
                    kept.clear();
                }
                kept.insert(info.txid.clone(), info.clone());
                Ok(info)
            }
            // A block's own transactions (metadata, checkpoints, genesis)
            // pay no one: what a withdrawal's hash should never name, so
            // its payee check says so rather than the poll failing on it.
            AptTx::System(AptOther { hash }) => Ok(TxInfo {
                txid: hash.to_ascii_lowercase(),
                location: TxLocation::Block(BlockRef { height: 0, hash: hash.to_ascii_lowercase() }),
                success: Some(true),
                payments: Vec::new(),
                conflict: ConflictKey::Outpoints(Vec::new()),
                valid_until: None,
            }),
        }
    }

    /// Where one transaction stands, with the ledger at `now` (unix seconds).
    async fn status(&self, tx: &PendingTx, now: u64) -> Result<TxStatus, ChainError> {
        Ok(match self.by_hash(&tx.txid).await? {
            None => TxStatus {
                txid: tx.txid.clone(),
                location: None,
                finalized: false,
                success: None,
                expired: tx.last_valid_height.is_some_and(|last| now > last),
            },
            Some(answer) => {
                let info = self.info(answer).await?;
                let past = info.valid_until.is_some_and(|last| now > last);
                match info.location {
                    // Past its expiry the mempool can never commit it.
                    TxLocation::Mempool if past => TxStatus {
                        txid: tx.txid.clone(),
                        location: None,
                        finalized: false,
                        success: None,
                        expired: true,
                    },
                    location => TxStatus {
                        txid: tx.txid.clone(),
                        finalized: matches!(location, TxLocation::Block(_)),
                        location: Some(location),
                        success: info.success,
                        expired: false,
                    },
                }
            }
        })
    }

    /// Every deposit the transaction's events record, with its payee and asset.
    async fn payments(&self, tx: &AptUser) -> Result<Vec<Payment>, ChainError> {
        let what = "/v1/transactions/by_hash/:id";
        let mut payments = Vec::new();
        for event in &tx.events {
            let amount = || -> Result<BaseUnits, ChainError> {
                let text = event.data.get("amount").and_then(Value::as_str).unwrap_or_default();
                text.parse::<u128>()
                    .map(BaseUnits::new)
                    .map_err(|_| bad(what, format!("{} amount {:?} is not a whole number", event.kind, snippet(text))))
            };
            match event.kind.as_str() {
                "0x1::fungible_asset::Deposit" => {
                    let store = field_address(&event.data, "store", what)?;
                    let (owner, metadata) = self.store_of(tx, &store).await?;
                    payments.push(Payment {
                        to: owner,
                        amount: amount()?,
                        asset: asset_of_metadata(&metadata),
                        memo: None,
                    });
                }
                "0x1::coin::CoinDeposit" => {
                    let coin = event.data.get("coin_type").and_then(Value::as_str).unwrap_or_default();
                    let account = field_address(&event.data, "account", what)?;
                    payments.push(Payment { to: account, amount: amount()?, asset: asset_of_coin(coin), memo: None });
                }
                "0x1::coin::DepositEvent" => {
                    let account = address(&event.guid.account_address, what)?;
                    let Some(coin) = coin_store_written(tx, &account) else { continue };
                    payments.push(Payment { to: account, amount: amount()?, asset: asset_of_coin(&coin), memo: None });
                }
                _ => {}
            }
        }
        Ok(payments)
    }

    /// The owner and metadata (both long form) of a fungible store: from the
    /// transaction where it tells, else from the store's resources.
    async fn store_of(&self, tx: &AptUser, store: &str) -> Result<(String, String), ChainError> {
        let written = |kind: &str| {
            tx.changes.iter().find_map(|c| {
                let data = c.data.as_ref()?;
                (c.kind == "write_resource"
                    && data.kind == kind
                    && c.address.as_deref().and_then(long_address).as_deref() == Some(store))
                .then_some(&data.data)
            })
        };
        let metadata = written("0x1::fungible_asset::FungibleStore").and_then(metadata_of);
        let owner = written("0x1::object::ObjectCore").and_then(|d| d.get("owner")?.as_str().and_then(long_address));
        if let (Some(owner), Some(metadata)) = (&owner, &metadata) {
            return Ok((owner.clone(), metadata.clone()));
        }
        let mut owners: Vec<String> = owner.into_iter().collect();
        owners.extend(long_address(&tx.sender));
        owners.extend(addresses_in(&tx.payload));
        let mut assets: Vec<String> = match &metadata {
            Some(m) => vec![m.clone()],
            None => [APT_METADATA.to_owned()].into_iter().chain(self.assets.iter().cloned()).collect(),
        };
        if metadata.is_none() {
            assets.extend(addresses_in(&tx.payload));
        }
        for owner in &owners {
            for asset in &assets {
                if primary_store(owner, asset).as_deref() == Some(store) {
                    return Ok((owner.clone(), asset.clone()));
                }
            }
        }
        // Not the primary store of anyone the transaction names: ask.
        let what = "/v1/accounts/:id/resources";
        let resources: Vec<AptResource> =
            self.get_json(&format!("/v1/accounts/{store}/resources")).await?.ok_or(ChainError::NotFound)?;
        let find = |kind: &str| resources.iter().find(|r| r.kind == kind).map(|r| &r.data);
        let owner = find("0x1::object::ObjectCore")
            .and_then(|d| d.get("owner")?.as_str().and_then(long_address))
            .ok_or_else(|| bad(what, format!("store {store} has no ObjectCore owner")))?;
        let metadata = metadata
            .or_else(|| find("0x1::fungible_asset::FungibleStore").and_then(metadata_of))
            .ok_or_else(|| bad(what, format!("store {store} has no FungibleStore metadata")))?;
        Ok((owner, metadata))
    }
}

/// 404 is "not found"; any other readable 4xx is a request we got wrong.
fn read<T: DeserializeOwned>(reply: Reply, path: &str) -> Result<Option<T>, ChainError> {
    match reply.status {
        StatusCode::NOT_FOUND => Ok(None),
        status if status.is_success() => parse_json(&reply.body, path).map(Some),
        _ => Err(reply.unexpected_status()),
    }
}

fn bad(what: &str, detail: String) -> ChainError {
    ChainError::BadResponse(format!("{what}: {detail}"))
}

fn number(text: &str, what: &str, field: &str) -> Result<u64, ChainError> {
    text.parse().map_err(|_| bad(what, format!("{field} {:?} is not a u64", snippet(text))))
}

fn nonce(sender: &str, sequence_number: &str, what: &str) -> Result<ConflictKey, ChainError> {
    Ok(ConflictKey::Nonce { from: address(sender, what)?, nonce: number(sequence_number, what, "sequence_number")? })
}

/// An address in its long form: `0x` + 64 lowercase hex digits (the API
/// writes special addresses such as `0xa` short).
pub fn long_address(text: &str) -> Option<String> {
    let hex = text.strip_prefix("0x")?;
    if hex.is_empty() || hex.len() > 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(format!("0x{:0>64}", hex.to_ascii_lowercase()))
}

fn address(text: &str, what: &str) -> Result<String, ChainError> {
    long_address(text).ok_or_else(|| bad(what, format!("{:?} is not an address", snippet(text))))
}

fn field_address(data: &Value, field: &str, what: &str) -> Result<String, ChainError> {
    address(data.get(field).and_then(Value::as_str).unwrap_or_default(), what)
}

fn metadata_of(store: &Value) -> Option<String> {
    store.get("metadata")?.get("inner")?.as_str().and_then(long_address)
}

/// Every address among a call's arguments (`Object<T>` arguments may be
/// written `{"inner": "0x.."}`).
fn addresses_in(payload: &Value) -> Vec<String> {
    let Some(arguments) = payload.get("arguments").and_then(Value::as_array) else { return Vec::new() };
    arguments
        .iter()
        .filter_map(|a| a.as_str().or_else(|| a.get("inner")?.as_str()))
        .filter(|a| a.starts_with("0x"))
        .filter_map(long_address)
        .collect()
}

/// The coin type `T` of the one `0x1::coin::CoinStore<T>` the transaction
/// wrote at `account`; `None` if none or several.
fn coin_store_written(tx: &AptUser, account: &str) -> Option<String> {
    let mut coins = tx.changes.iter().filter_map(|c| {
        let data = c.data.as_ref()?;
        if c.kind != "write_resource" || c.address.as_deref().and_then(long_address).as_deref() != Some(account) {
            return None;
        }
        data.kind.strip_prefix("0x1::coin::CoinStore<")?.strip_suffix('>').map(str::to_owned)
    });
    let coin = coins.next()?;
    coins.next().is_none().then_some(coin)
}

/// The primary fungible store of `owner` for the asset `metadata` (both
/// long form): `object::create_user_derived_object_address(owner, metadata)`.
pub fn primary_store(owner: &str, metadata: &str) -> Option<String> {
    let bytes = |a: &str| data_encoding::HEXLOWER.decode(a.strip_prefix("0x")?.as_bytes()).ok();
    let mut hasher = Sha3_256::new();
    hasher.update(bytes(owner)?);
    hasher.update(bytes(metadata)?);
    hasher.update([OBJECT_DERIVED_SCHEME]);
    Some(format!("0x{}", data_encoding::HEXLOWER.encode(&hasher.finalize())))
}

fn asset_of_metadata(metadata: &str) -> Asset {
    if metadata == APT_METADATA {
        Asset::Native
    } else {
        Asset::Token(metadata.to_owned())
    }
}

fn asset_of_coin(coin: &str) -> Asset {
    if coin == APT_COIN {
        Asset::Native
    } else {
        Asset::Token(coin.to_owned())
    }
}

#[async_trait]
impl StatusChain for AptosClient {
    fn name(&self) -> &'static str {
        "aptos"
    }

    /// Each transaction is its own request; a batch's go out together (the
    /// network's `Gate` still paces them).
    fn max_batch(&self) -> usize {
        MAX_CONCURRENT
    }

    /// The ledger's newest block height (committed is final).
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn tip(&self) -> Result<BlockRef, ChainError> {
        Ok(self.ledger().await?.0)
    }

    #[tracing::instrument(skip(self, txs), err(level = "debug"))]
    async fn statuses_of(&self, txs: &[PendingTx]) -> Result<Vec<TxStatus>, ChainError> {
        // The ledger time read before the lookups: a transaction the ledger
        // had passed then can have been committed neither before nor after.
        let now = match self.ledger_secs.load(Ordering::Relaxed) {
            0 => self.ledger().await?.1,
            secs => secs,
        };
        try_join_all(txs.iter().map(|tx| self.status(tx, now))).await
    }

    /// From the answer `statuses_of` just read where there is one (committed
    /// is final), else one request.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn transaction(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        if let Some(kept) = self.committed.lock().expect("not poisoned").remove(&txid.to_ascii_lowercase()) {
            return Ok(Some(kept));
        }
        match self.by_hash(txid).await? {
            Some(answer) => self.info(answer).await.map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocks_own_transactions_read_as_system_ones() {
        for kind in ["block_metadata_transaction", "state_checkpoint_transaction", "block_epilogue_transaction"] {
            let tx: AptTx = serde_json::from_value(serde_json::json!({"type": kind, "hash": "0x1", "version": "5"}))
                .unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert!(matches!(tx, AptTx::System(AptOther { hash }) if hash == "0x1"), "{kind}");
        }
        assert!(serde_json::from_value::<AptTx>(serde_json::json!({"type": "martian", "hash": "0x1"})).is_err());
    }

    #[test]
    fn addresses_take_their_long_form() {
        assert_eq!(long_address("0xa").as_deref(), Some(APT_METADATA));
        assert_eq!(long_address(&format!("0x{}", "AB".repeat(32))), Some(format!("0x{}", "ab".repeat(32))));
        assert_eq!(long_address("0x"), None);
        assert_eq!(long_address(&format!("0x{}", "1".repeat(65))), None);
        assert_eq!(long_address("0xzz"), None);
        assert_eq!(long_address("1"), None);
    }

    #[test]
    fn a_primary_store_is_derived_from_owner_and_metadata() {
        let owner = format!("0x{}", "11".repeat(32));
        let store = primary_store(&owner, APT_METADATA).unwrap();
        let mut preimage = vec![0x11u8; 32];
        preimage.extend_from_slice(&[0; 31]);
        preimage.extend_from_slice(&[0x0a, 0xFC]);
        assert_eq!(store, format!("0x{}", data_encoding::HEXLOWER.encode(&Sha3_256::digest(&preimage))));
        assert_ne!(primary_store(&owner, &format!("0x{}", "22".repeat(32))), Some(store));
        assert_eq!(primary_store("0x1", APT_METADATA), None, "short forms are normalized first");
    }
}
