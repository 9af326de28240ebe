//! The in-memory store: the same contract as Redis, nothing persisted.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::RwLock;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::index::{self, sort_key, Cursor, IndexKey};
use super::{check_update, Inserted, ListQuery, Page, Store, StoreError, Updated};
use crate::domain::{Withdrawal, WithdrawalId};

#[derive(Default)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    records: HashMap<WithdrawalId, Withdrawal>,
    indexes: HashMap<IndexKey, BTreeSet<String>>,
    deadlines: BTreeSet<(DateTime<Utc>, WithdrawalId)>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Inner {
    fn add_to_indexes(&mut self, withdrawal: &Withdrawal) {
        let key = sort_key(withdrawal);
        for index in IndexKey::for_record(withdrawal) {
            self.indexes.entry(index).or_default().insert(key.clone());
        }
        if let Some(at) = withdrawal.next_deadline_at {
            self.deadlines.insert((at, withdrawal.id.clone()));
        }
    }

    fn remove_from_indexes(&mut self, withdrawal: &Withdrawal) {
        let key = sort_key(withdrawal);
        for index in IndexKey::for_record(withdrawal) {
            if let Some(set) = self.indexes.get_mut(&index) {
                set.remove(&key);
                if set.is_empty() {
                    self.indexes.remove(&index);
                }
            }
        }
        if let Some(at) = withdrawal.next_deadline_at {
            self.deadlines.remove(&(at, withdrawal.id.clone()));
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
            return Ok(Inserted::Existing(Box::new(existing.clone())));
        }
        inner.add_to_indexes(withdrawal);
        inner.records.insert(withdrawal.id.clone(), withdrawal.clone());
        Ok(Inserted::Created)
    }

    async fn get(&self, id: &WithdrawalId) -> Result<Option<Withdrawal>, StoreError> {
        Ok(self.inner.read().map_err(|_| poisoned())?.records.get(id).cloned())
    }

    async fn update(&self, current: &Withdrawal, next: &Withdrawal) -> Result<Updated, StoreError> {
        check_update(current, next)?;
        let mut inner = self.inner.write().map_err(|_| poisoned())?;
        let Some(stored) = inner.records.get(&current.id).cloned() else {
            return Ok(Updated::NotFound);
        };
        if stored.version != current.version {
            return Ok(Updated::VersionConflict);
        }
        inner.remove_from_indexes(&stored);
        inner.add_to_indexes(next);
        inner.records.insert(next.id.clone(), next.clone());
        Ok(Updated::Written)
    }

    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        let inner = self.inner.read().map_err(|_| poisoned())?;
        let (index, needs_filter) = IndexKey::plan(query);
        let Some(keys) = inner.indexes.get(&index) else {
            return Ok(Page { items: Vec::new(), next: None });
        };
        let start = match &query.after {
            Some(cursor) => Bound::Excluded(cursor.sort_key().to_owned()),
            None => Bound::Unbounded,
        };
        let mut items = Vec::new();
        let mut more = false;
        for key in keys.range((start, Bound::Unbounded)) {
            let Some(record) = index::id_of_sort_key(key).and_then(|id| inner.records.get(&id)) else {
                continue;
            };
            if needs_filter && !index::matches(query, record) {
                continue;
            }
            if items.len() == query.limit {
                more = true;
                break;
            }
            items.push(record.clone());
        }
        let next = if more { items.last().map(Cursor::after) } else { None };
        Ok(Page { items, next })
    }

    async fn due(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<WithdrawalId>, StoreError> {
        let inner = self.inner.read().map_err(|_| poisoned())?;
        Ok(inner.deadlines.iter().take_while(|(at, _)| *at <= until).take(limit).map(|(_, id)| id.clone()).collect())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
