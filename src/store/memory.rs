//! The in-memory store: the same contract as Redis, nothing persisted.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::index::{self, IndexEntry, IndexKey};
use super::{
    check_update, refuse_counted_only, Expired, IndexPage, IndexRange, Inserted, RecordFilter, Store, StoreError,
    Updated,
};
use crate::domain::{Withdrawal, WithdrawalId};

#[derive(Default)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Shared, so a read hands out the record without copying it.
    records: HashMap<WithdrawalId, Arc<Withdrawal>>,
    indexes: HashMap<IndexKey, BTreeSet<String>>,
    meta: HashMap<String, String>,
    leases: HashMap<String, (String, std::time::Instant)>,
    /// Counter hashes, each deleted at its instant.
    counters: HashMap<String, (HashMap<String, u64>, std::time::Instant)>,
    /// Expired ids: when they expired, until when the tombstone is kept.
    tombstones: HashMap<WithdrawalId, (DateTime<Utc>, std::time::Instant)>,
    /// The same ids in the order their tombstones lapse (one TTL per store
    /// in practice), so dropping lapsed ones costs what lapsed.
    tombstone_order: VecDeque<(std::time::Instant, WithdrawalId)>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Inner {
    /// The members of `range`'s index between its bounds, in order.
    fn in_range<'a>(&'a self, range: &IndexRange<'_>) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        let Some(members) = self.indexes.get(range.index) else { return Box::new(std::iter::empty()) };
        // BTreeSet::range panics on an empty interval; it holds nothing anyway.
        if let (Some(after), Some(until)) = (range.after, range.until) {
            if after >= until {
                return Box::new(std::iter::empty());
            }
        }
        let lower = range.after.map_or(Bound::Unbounded, |m| Bound::Excluded(m.to_owned()));
        let upper = range.until.map_or(Bound::Unbounded, |m| Bound::Included(m.to_owned()));
        Box::new(members.range((lower, upper)))
    }

    fn apply(&mut self, removed: Vec<IndexEntry>, added: Vec<IndexEntry>) {
        for (key, member) in removed {
            if let Some(set) = self.indexes.get_mut(&key) {
                set.remove(&member);
                if set.is_empty() {
                    self.indexes.remove(&key);
                }
            }
        }
        for (key, member) in added {
            self.indexes.entry(key).or_default().insert(member);
        }
    }
}

fn poisoned() -> StoreError {
    StoreError::Internal("memory store lock poisoned".into())
}

#[async_trait]
impl Store for MemoryStore {
    async fn insert(&self, withdrawal: &Withdrawal) -> Result<Inserted, StoreError> {
        let mut inner = self.inner.write().map_err(|_| poisoned())?;
        if let Some(existing) = inner.records.get(&withdrawal.id) {
            return Ok(Inserted::Existing(Box::new(Withdrawal::clone(existing))));
        }
        let now = std::time::Instant::now();
        if let Some((at, _)) = inner.tombstones.get(&withdrawal.id).filter(|(_, until)| *until > now) {
            return Ok(Inserted::Expired(*at));
        }
        inner.apply(Vec::new(), index::entries(withdrawal));
        inner.records.insert(withdrawal.id.clone(), Arc::new(withdrawal.clone()));
        Ok(Inserted::Created)
    }

    async fn get(&self, id: &WithdrawalId) -> Result<Option<Withdrawal>, StoreError> {
        Ok(self.inner.read().map_err(|_| poisoned())?.records.get(id).map(|w| Withdrawal::clone(w)))
    }

    async fn get_shared(&self, id: &WithdrawalId) -> Result<Option<Arc<Withdrawal>>, StoreError> {
        Ok(self.inner.read().map_err(|_| poisoned())?.records.get(id).cloned())
    }

    async fn get_many(&self, ids: &[WithdrawalId]) -> Result<Vec<Option<Withdrawal>>, StoreError> {
        let inner = self.inner.read().map_err(|_| poisoned())?;
        Ok(ids.iter().map(|id| inner.records.get(id).map(|w| Withdrawal::clone(w))).collect())
    }

    async fn update(&self, current: &Withdrawal, next: &Withdrawal) -> Result<Updated, StoreError> {
        check_update(current, next)?;
        let mut inner = self.inner.write().map_err(|_| poisoned())?;
        let Some(stored) = inner.records.get(&current.id) else {
            return Ok(Updated::NotFound);
        };
        if stored.version != current.version {
            return Ok(Updated::VersionConflict);
        }
        let (removed, added) = index::changes(current, next);
        inner.apply(removed, added);
        inner.records.insert(next.id.clone(), Arc::new(next.clone()));
        Ok(Updated::Written)
    }

    async fn restore_index_entries(&self, withdrawal: &Withdrawal, entries: &[IndexEntry]) -> Result<bool, StoreError> {
        entries.iter().try_for_each(|(index, _)| refuse_counted_only(index))?;
        let mut inner = self.inner.write().map_err(|_| poisoned())?;
        if inner.records.get(&withdrawal.id).is_none_or(|stored| stored.version != withdrawal.version) {
            return Ok(false);
        }
        for (index, member) in entries {
            inner.indexes.entry(index.clone()).or_default().insert(member.clone());
        }
        Ok(true)
    }

    async fn expire(
        &self,
        withdrawal: &Withdrawal,
        now: DateTime<Utc>,
        tombstone_for: std::time::Duration,
    ) -> Result<Expired, StoreError> {
        let mut inner = self.inner.write().map_err(|_| poisoned())?;
        let Some(stored) = inner.records.get(&withdrawal.id) else {
            return Ok(Expired::NotFound);
        };
        if stored.version != withdrawal.version {
            return Ok(Expired::VersionConflict);
        }
        inner.apply(index::entries(withdrawal), Vec::new());
        inner.records.remove(&withdrawal.id);
        let instant = std::time::Instant::now();
        while inner.tombstone_order.front().is_some_and(|(until, _)| *until <= instant) {
            let (until, id) = inner.tombstone_order.pop_front().expect("checked");
            if inner.tombstones.get(&id).is_some_and(|(_, kept_until)| *kept_until == until) {
                inner.tombstones.remove(&id);
            }
        }
        if !tombstone_for.is_zero() {
            let until = instant + tombstone_for;
            inner.tombstones.insert(withdrawal.id.clone(), (now, until));
            inner.tombstone_order.push_back((until, withdrawal.id.clone()));
        }
        Ok(Expired::Deleted)
    }

    async fn tombstone(&self, id: &WithdrawalId) -> Result<Option<DateTime<Utc>>, StoreError> {
        let inner = self.inner.read().map_err(|_| poisoned())?;
        let now = std::time::Instant::now();
        Ok(inner.tombstones.get(id).filter(|(_, until)| *until > now).map(|(at, _)| *at))
    }

    /// Nothing to do: this store starts empty, in this version's layout.
    async fn delete_indexes(&self, _suffixes: &[String]) -> Result<(), StoreError> {
        Ok(())
    }

    async fn members(&self, range: IndexRange<'_>) -> Result<Vec<String>, StoreError> {
        refuse_counted_only(range.index)?;
        let inner = self.inner.read().map_err(|_| poisoned())?;
        Ok(inner.in_range(&range).take(range.limit).cloned().collect())
    }

    async fn members_of_each(
        &self,
        indexes: &[IndexKey],
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Vec<String>>, StoreError> {
        let inner = self.inner.read().map_err(|_| poisoned())?;
        indexes
            .iter()
            .map(|index| {
                refuse_counted_only(index)?;
                let range = IndexRange { index, after, until: None, limit };
                Ok(inner.in_range(&range).take(limit).cloned().collect())
            })
            .collect()
    }

    async fn scan(&self, range: IndexRange<'_>, keep: RecordFilter<'_>) -> Result<IndexPage, StoreError> {
        refuse_counted_only(range.index)?;
        let inner = self.inner.read().map_err(|_| poisoned())?;
        let mut items = Vec::new();
        for member in inner.in_range(&range) {
            let Some(record) = index::id_of_member(member).and_then(|id| inner.records.get(&id)) else {
                continue;
            };
            if !keep(record) {
                continue;
            }
            if items.len() == range.limit {
                return Ok(IndexPage { items, more: true });
            }
            items.push((member.clone(), Withdrawal::clone(record)));
        }
        Ok(IndexPage { items, more: false })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn get_meta(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self.inner.read().map_err(|_| poisoned())?.meta.get(name).cloned())
    }

    async fn count(&self, indexes: &[IndexKey]) -> Result<Vec<u64>, StoreError> {
        let inner = self.inner.read().map_err(|_| poisoned())?;
        Ok(indexes.iter().map(|i| inner.indexes.get(i).map_or(0, |set| set.len() as u64)).collect())
    }

    async fn try_lease(&self, name: &str, owner: &str, ttl: std::time::Duration) -> Result<bool, StoreError> {
        let mut inner = self.inner.write().map_err(|_| poisoned())?;
        let now = std::time::Instant::now();
        let free = inner.leases.get(name).is_none_or(|(holder, until)| holder == owner || *until <= now);
        if free {
            inner.leases.insert(name.to_owned(), (owner.to_owned(), now + ttl));
        }
        Ok(free)
    }

    async fn add_counters(
        &self,
        name: &str,
        increments: &[(String, u64)],
        keep_for: std::time::Duration,
    ) -> Result<(), StoreError> {
        let mut inner = self.inner.write().map_err(|_| poisoned())?;
        let now = std::time::Instant::now();
        inner.counters.retain(|_, (_, until)| *until > now);
        let (counters, until) = inner.counters.entry(name.to_owned()).or_insert_with(|| (HashMap::new(), now));
        for (field, by) in increments {
            let counter = counters.entry(field.clone()).or_insert(0);
            *counter = counter.saturating_add(*by);
        }
        *until = now + keep_for;
        Ok(())
    }

    async fn counters(&self, names: &[String]) -> Result<Vec<Vec<(String, u64)>>, StoreError> {
        let inner = self.inner.read().map_err(|_| poisoned())?;
        let now = std::time::Instant::now();
        Ok(names
            .iter()
            .map(|name| match inner.counters.get(name) {
                Some((counters, until)) if *until > now => {
                    let mut all: Vec<(String, u64)> = counters.iter().map(|(f, c)| (f.clone(), *c)).collect();
                    all.sort();
                    all
                }
                _ => Vec::new(),
            })
            .collect())
    }

    async fn set_meta(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.inner.write().map_err(|_| poisoned())?.meta.insert(name.to_owned(), value.to_owned());
        Ok(())
    }

    async fn swap_meta(&self, name: &str, expected: Option<&str>, value: &str) -> Result<bool, StoreError> {
        let mut inner = self.inner.write().map_err(|_| poisoned())?;
        if inner.meta.get(name).map(String::as_str) != expected {
            return Ok(false);
        }
        inner.meta.insert(name.to_owned(), value.to_owned());
        Ok(true)
    }
}
