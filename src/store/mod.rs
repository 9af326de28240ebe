//! Where withdrawals live. One trait, two implementations (Redis for
//! production, memory for trying things out) that pass one conformance suite.
//!
//! Every write is a compare-and-set on the record's version, so two replicas
//! sharing one store can never lose a transition or write a stale record.

mod index;
pub mod memory;
pub mod redis;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{Network, State, UserId, Withdrawal, WithdrawalId};

pub use index::{Cursor, IndexKey};
pub use memory::MemoryStore;
pub use redis::RedisStore;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached right now; the caller may retry later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The store answered with something we cannot use (a bug or corruption).
    #[error("store error: {0}")]
    Internal(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    Created,
    /// A record with that id exists; it is returned unchanged.
    Existing(Box<Withdrawal>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Updated {
    Written,
    /// The stored version is no longer the one the change was based on.
    VersionConflict,
    NotFound,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub user_id: Option<UserId>,
    pub state: Option<State>,
    pub network: Option<Network>,
    pub after: Option<Cursor>,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Newest `requested_at` first; ties broken by id.
    pub items: Vec<Withdrawal>,
    /// Present when more items may follow.
    pub next: Option<Cursor>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates the record and its index entries in one atomic step, unless a
    /// record with that id already exists.
    async fn insert(&self, withdrawal: &Withdrawal) -> Result<Inserted, StoreError>;

    async fn get(&self, id: &WithdrawalId) -> Result<Option<Withdrawal>, StoreError>;

    /// Replaces `current` by `next` if the stored version is still
    /// `current.version`, moving index entries in the same atomic step.
    async fn update(&self, current: &Withdrawal, next: &Withdrawal) -> Result<Updated, StoreError>;

    /// Served from an index (see [`IndexKey::plan`]): never a scan of all records.
    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError>;

    /// Ids whose `next_deadline_at` is at or before `until`, earliest first.
    async fn due(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<WithdrawalId>, StoreError>;

    async fn ping(&self) -> Result<(), StoreError>;
}

/// Checks an update's arguments the same way for every store.
fn check_update(current: &Withdrawal, next: &Withdrawal) -> Result<(), StoreError> {
    let same_identity = current.id == next.id
        && current.user_id == next.user_id
        && current.network == next.network
        && current.requested_at == next.requested_at;
    if !same_identity || next.version <= current.version {
        return Err(StoreError::Internal(format!(
            "update of {} must keep its identity and raise the version",
            current.id
        )));
    }
    Ok(())
}
