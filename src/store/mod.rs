//! Where withdrawals live. One trait, two implementations (Redis for
//! production, memory for trying things out) that pass one conformance suite.
//!
//! Every write is a compare-and-set on the record's version that moves the
//! record's index entries in the same atomic step, so two replicas sharing one
//! store can never lose a transition, write a stale record, or leave an index
//! disagreeing with its record.

mod codec;
pub mod in_flight;
pub mod index;
pub mod layout;
pub mod memory;
pub mod redis;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{Network, State, UserId, Withdrawal, WithdrawalId};

pub use in_flight::InFlightEntry;
pub use index::{Cursor, IndexEntry, IndexKey, ListPlan};
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
    /// Retention deleted a record with that id at this time and its
    /// tombstone is still kept: nothing was written, so a late resend of an
    /// old registration does not start tracking it again.
    Expired(DateTime<Utc>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Updated {
    Written,
    /// The stored version is no longer the one the change was based on.
    VersionConflict,
    NotFound,
}

/// What [`Store::expire`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// The record and every index entry are gone (and its tombstone written).
    Deleted,
    /// The stored version is no longer the one that was judged expired.
    VersionConflict,
    /// Nothing to delete: another replica got there first.
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
    /// In the index's order (for lists: newest `requested_at` first, ties by id).
    pub items: Vec<Withdrawal>,
    /// Present when more items may follow.
    pub next: Option<Cursor>,
}

/// A slice of one index, read in member order.
pub struct IndexRange<'a> {
    pub index: &'a IndexKey,
    /// Exclusive lower bound.
    pub after: Option<&'a str>,
    /// Inclusive upper bound.
    pub until: Option<&'a str>,
    pub limit: usize,
}

/// Records found in an index range, each with its member; `more` is true when
/// the range holds further records that pass the filter.
pub struct IndexPage {
    pub items: Vec<(String, Withdrawal)>,
    pub more: bool,
}

pub type RecordFilter<'a> = &'a (dyn Fn(&Withdrawal) -> bool + Send + Sync);

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates the record and its index entries in one atomic step, unless a
    /// record with that id already exists or its tombstone is kept.
    async fn insert(&self, withdrawal: &Withdrawal) -> Result<Inserted, StoreError>;

    async fn get(&self, id: &WithdrawalId) -> Result<Option<Withdrawal>, StoreError>;

    /// [`Store::get`], shared: a store holding its records in memory hands
    /// out the record itself instead of a copy (the copy, and freeing it,
    /// were about 3% of the CPU of a `GET` on the in-memory store).
    async fn get_shared(&self, id: &WithdrawalId) -> Result<Option<std::sync::Arc<Withdrawal>>, StoreError> {
        Ok(self.get(id).await?.map(std::sync::Arc::new))
    }

    /// The records of `ids`, in order, `None` where there is none.
    async fn get_many(&self, ids: &[WithdrawalId]) -> Result<Vec<Option<Withdrawal>>, StoreError>;

    /// Replaces `current` by `next` if the stored version is still
    /// `current.version`, moving index entries in the same atomic step.
    async fn update(&self, current: &Withdrawal, next: &Withdrawal) -> Result<Updated, StoreError>;

    /// Adds `entries`, which must be among `index::entries(withdrawal)` and
    /// not counted-only, if the stored record is still at
    /// `withdrawal.version`: rebuilds an index whose layout changed (see
    /// `layout.rs`). False when the record is gone or has moved on: an update
    /// writes only the entries it changes, so read the record again and retry.
    async fn restore_index_entries(&self, withdrawal: &Withdrawal, entries: &[IndexEntry]) -> Result<bool, StoreError>;

    /// Deletes the record and every one of its index entries (and counts) in
    /// one atomic step, if the stored version is still `withdrawal.version`:
    /// what retention does to a terminal withdrawal it judged expired. With
    /// `tombstone_for` above zero, a tombstone saying when (`now`) is kept
    /// that long, so callers who may know the id can be told it expired.
    async fn expire(
        &self,
        withdrawal: &Withdrawal,
        now: DateTime<Utc>,
        tombstone_for: std::time::Duration,
    ) -> Result<Expired, StoreError>;

    /// When the record of `id` was deleted by retention, while its tombstone
    /// is kept.
    async fn tombstone(&self, id: &WithdrawalId) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Deletes whole indexes by key suffix: those an older layout kept.
    async fn delete_indexes(&self, suffixes: &[String]) -> Result<(), StoreError>;

    /// The raw members of `range` of an index, without reading records.
    async fn members(&self, range: IndexRange<'_>) -> Result<Vec<String>, StoreError>;

    /// The first `limit` members after `after` of each index, in one round
    /// trip where the store allows.
    async fn members_of_each(
        &self,
        indexes: &[IndexKey],
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Vec<String>>, StoreError>;

    /// Reads `range` of an index, keeping the records that pass `keep`.
    async fn scan(&self, range: IndexRange<'_>, keep: RecordFilter<'_>) -> Result<IndexPage, StoreError>;

    async fn ping(&self) -> Result<(), StoreError>;

    /// Small named values the service keeps for itself (e.g. which calendar
    /// the stored deadlines were computed with).
    async fn get_meta(&self, name: &str) -> Result<Option<String>, StoreError>;

    async fn set_meta(&self, name: &str, value: &str) -> Result<(), StoreError>;

    /// Sets `name` to `value` only if it still holds `expected` (`None`:
    /// absent): a compare-and-set for named values several replicas change
    /// (a network's status record). `false` when another writer came first.
    async fn swap_meta(&self, name: &str, expected: Option<&str>, value: &str) -> Result<bool, StoreError>;
    /// Adds to named counters in the hash `name` (`HINCRBY` on
    /// `{p}:stats:<name>`), in one round trip; the hash is deleted
    /// `keep_for` after its last addition. The arrival estimate's shared
    /// statistics (`eta.rs`): one hash per network, metric and period.
    async fn add_counters(
        &self,
        name: &str,
        increments: &[(String, u64)],
        keep_for: std::time::Duration,
    ) -> Result<(), StoreError>;

    /// Every counter of each hash in `names`, in one round trip (a hash that
    /// does not exist, or expired, has none).
    async fn counters(&self, names: &[String]) -> Result<Vec<Vec<(String, u64)>>, StoreError>;

    /// How many entries each index holds, in one round trip. The only
    /// question [`IndexKey::is_counted_only`] indexes answer.
    async fn count(&self, indexes: &[IndexKey]) -> Result<Vec<u64>, StoreError>;

    /// Takes the named lease for `owner`, or extends it if `owner` holds it.
    /// False while another owner holds an unexpired lease.
    async fn try_lease(&self, name: &str, owner: &str, ttl: std::time::Duration) -> Result<bool, StoreError>;

    /// One page of an index from a cursor on, keeping what passes `keep`.
    async fn page(
        &self,
        index: &IndexKey,
        after: Option<&Cursor>,
        limit: usize,
        keep: RecordFilter<'_>,
    ) -> Result<Page, StoreError> {
        let range = IndexRange { index, after: after.map(Cursor::member), until: None, limit };
        let page = self.scan(range, keep).await?;
        let next =
            if page.more { page.items.last().map(|(member, _)| Cursor::at_member(member.clone())) } else { None };
        Ok(Page { items: page.items.into_iter().map(|(_, w)| w).collect(), next })
    }

    /// Served from one index or a merge of a few (see [`ListPlan`]): never a
    /// scan of all records.
    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        match ListPlan::for_query(query) {
            ListPlan::One { index, filtered } => {
                let keep = |w: &Withdrawal| !filtered || index::matches(query, w);
                self.page(&index, query.after.as_ref(), query.limit, &keep).await
            }
            ListPlan::Merge(indexes) => merged_page(self, &indexes, query).await,
        }
    }

    /// Terminal records that became terminal at or before `until`, earliest
    /// first, from after `after` (a member of the terminal index); with the
    /// member to continue from.
    async fn terminal_until(
        &self,
        until: DateTime<Utc>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<IndexPage, StoreError> {
        let upper = index::time_key_upper_bound(until);
        let range = IndexRange { index: &IndexKey::Terminal, after, until: Some(&upper), limit };
        self.scan(range, &|_| true).await
    }

    /// Every entry of `network`'s in-flight index: the transactions its
    /// chain tracker watches. The member encoding stays in `in_flight.rs`.
    async fn in_flight(&self, network: Network) -> Result<Vec<InFlightEntry>, StoreError> {
        const PAGE: usize = 1000;
        let index = IndexKey::InFlight(network);
        let mut entries = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let range = IndexRange { index: &index, after: after.as_deref(), until: None, limit: PAGE };
            let members = self.members(range).await?;
            entries.extend(members.iter().filter_map(|m| in_flight::parse(m)));
            match members.last() {
                Some(last) if members.len() == PAGE => after = Some(last.clone()),
                _ => return Ok(entries),
            }
        }
    }

    /// In-flight entries of `network` broadcast (or last seen) at or before
    /// `cutoff`, earliest first: the drop check's candidates. Confirming
    /// transactions are never among them.
    async fn in_flight_unseen_since(
        &self,
        network: Network,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<InFlightEntry>, StoreError> {
        let until = in_flight::watched_until(cutoff);
        let range = IndexRange { index: &IndexKey::InFlight(network), after: None, until: Some(&until), limit };
        Ok(self.members(range).await?.iter().filter_map(|m| in_flight::parse(m)).collect())
    }

    /// Ids in `network`'s undiscovered index (pending withdrawals without a
    /// hash), those due by `due_by` when given, earliest first.
    async fn undiscovered(
        &self,
        network: Network,
        due_by: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<WithdrawalId>, StoreError> {
        let until = due_by.map(index::time_key_upper_bound);
        let range = IndexRange { index: &IndexKey::Undiscovered(network), after: None, until: until.as_deref(), limit };
        Ok(self.members(range).await?.iter().filter_map(|m| index::id_of_member(m)).collect())
    }

    /// Records whose `next_deadline_at` is at or before `until`, earliest first.
    async fn due(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<Withdrawal>, StoreError> {
        let upper = index::time_key_upper_bound(until);
        let range = IndexRange { index: &IndexKey::Deadlines, after: None, until: Some(&upper), limit };
        let page = self.scan(range, &|_| true).await?;
        Ok(page.items.into_iter().map(|(_, w)| w).collect())
    }
}

/// One page of the union of `indexes`, which share an order and never
/// hold the same record twice: the first `limit + 1` members of the union
/// are among the first `limit + 1` of each.
async fn merged_page<S: Store + ?Sized>(
    store: &S,
    indexes: &[IndexKey],
    query: &ListQuery,
) -> Result<Page, StoreError> {
    let after = query.after.as_ref().map(Cursor::member);
    let heads = store.members_of_each(indexes, after, query.limit + 1).await?;
    let mut members: Vec<String> = heads.into_iter().flatten().collect();
    members.sort_unstable();
    let more = members.len() > query.limit;
    members.truncate(query.limit);
    let ids: Vec<WithdrawalId> = members.iter().filter_map(|m| index::id_of_member(m)).collect();
    let records = store.get_many(&ids).await?;
    // A record whose state changed after its member was read no longer
    // answers the query.
    let items = records.into_iter().flatten().filter(|w| index::matches(query, w)).collect();
    let next = if more { members.last().map(|m| Cursor::at_member(m.clone())) } else { None };
    Ok(Page { items, next })
}

/// Ranging over an index kept only as a count is a bug, in every store.
fn refuse_counted_only(index: &IndexKey) -> Result<(), StoreError> {
    if index.is_counted_only() {
        return Err(StoreError::Internal(format!("index {} is counted, not listed", index.suffix())));
    }
    Ok(())
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
