//! A store written by an earlier version (index layout 1 or 2) is brought to
//! this version's layout: the in-flight indexes are rebuilt from the
//! records and the retired ones are deleted, and terminal records get their
//! terminal-index entry, once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use withdrawal_tracker::domain::{Amount, Network, Registration, State, TxHash, UserId, Withdrawal, WithdrawalId};
use withdrawal_tracker::store::{
    in_flight, index, layout, Expired, IndexEntry, IndexKey, IndexPage, IndexRange, Inserted, RecordFilter, RedisStore,
    Store, StoreError, Updated,
};

use crate::support::app::{Backend, TestApp};
use crate::support::chains::destination;
use crate::support::redis::{unique_prefix, RedisServer};

fn broadcast(id: &str, network: Network, byte: &str) -> Withdrawal {
    let hash = if network.is_evm() { format!("0x{}", byte.repeat(32)) } else { byte.repeat(32) };
    registered(id, network, Some(TxHash::parse(network, &hash).unwrap()))
}

fn registered(id: &str, network: Network, tx_hash: Option<TxHash>) -> Withdrawal {
    let registration = Registration {
        id: WithdrawalId::parse(id).unwrap(),
        user_id: UserId::parse("alice").unwrap(),
        coin: "USDT".into(),
        destination: destination(network),
        amount: Amount::parse("1.5").unwrap(),
        requested_at: None,
        tx_hash,
    };
    Withdrawal::register(registration, "2026-03-02T10:00:00Z".parse().unwrap())
}

async fn in_flight_members(store: &RedisStore, network: Network) -> Vec<String> {
    let index = IndexKey::InFlight(network);
    store.members(IndexRange { index: &index, after: None, until: None, limit: 100 }).await.unwrap()
}

/// Two withdrawals in flight (TRX broadcast, ETH confirming) and one
/// pending, indexed as the previous version left them.
async fn a_layout_1_store(server: &RedisServer, prefix: &str) -> (RedisStore, Withdrawal, Withdrawal) {
    let store = RedisStore::new(&server.url(), prefix, Duration::from_secs(2)).unwrap();
    let on_tron = broadcast("w-1", Network::Trx, "ab");
    let mut confirming = broadcast("w-2", Network::Eth, "cd");
    let pending = registered("w-3", Network::Btc, None);
    confirming.transition(State::Confirming, "in block 7", "2026-03-02T10:10:00Z".parse().unwrap()).unwrap();
    for w in [&on_tron, &confirming, &pending] {
        store.insert(w).await.unwrap();
    }
    // What the previous version left: its three tracker indexes, none of this one's.
    let mut make_layout_1 = redis::pipe();
    make_layout_1
        .del(index_key(prefix, "inflight:TRX"))
        .del(index_key(prefix, "inflight:ETH"))
        .zadd(index_key(prefix, "txs:TRX"), format!("{}|w-1", "ab".repeat(32)), 0)
        .zadd(index_key(prefix, "dropwatch:TRX"), "063912345678900|w-1", 0)
        .zadd(index_key(prefix, "unseen:TRX"), "063912345678900|w-1", 0)
        .zadd(index_key(prefix, "txs:ETH"), format!("0x{}|w-2", "cd".repeat(32)), 0);
    make_layout_1.query::<()>(&mut server.connection()).unwrap();
    assert!(in_flight_members(&store, Network::Trx).await.is_empty());
    (store, on_tron, confirming)
}

fn index_key(prefix: &str, suffix: &str) -> String {
    format!("{{{prefix}}}:idx:{suffix}")
}

async fn assert_upgraded(server: &RedisServer, prefix: &str, store: &RedisStore, in_flight: [&Withdrawal; 2]) {
    assert_eq!(in_flight_members(store, Network::Trx).await, [in_flight::member(in_flight[0]).unwrap()]);
    assert_eq!(in_flight_members(store, Network::Eth).await, [in_flight::member(in_flight[1]).unwrap()]);
    let retired: Vec<String> = layout::retired_index_suffixes().iter().map(|s| index_key(prefix, s)).collect();
    let left: usize = redis::cmd("EXISTS").arg(&retired).query(&mut server.connection()).unwrap();
    assert_eq!(left, 0, "retired indexes deleted");
}

#[tokio::test]
async fn a_layout_1_store_gets_its_in_flight_indexes_rebuilt_and_the_retired_ones_deleted() {
    let server = RedisServer::shared();
    let prefix = unique_prefix("layout");
    let (store, on_tron, confirming) = a_layout_1_store(server, &prefix).await;

    assert_eq!(layout::upgrade(&store).await.unwrap(), 2, "the two withdrawals in flight");

    assert_upgraded(server, &prefix, &store, [&on_tron, &confirming]).await;
    assert_eq!(layout::upgrade(&store).await.unwrap(), 0, "once per store");
}

#[tokio::test]
async fn the_service_upgrades_the_store_when_it_starts() {
    let server = RedisServer::shared();
    let prefix = unique_prefix("layoutstart");
    let (store, on_tron, confirming) = a_layout_1_store(server, &prefix).await;

    let _app = TestApp::spawn(Backend::Redis(server, prefix.clone())).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.get_meta("index_layout").await.unwrap().as_deref() != Some(layout::CURRENT) {
        assert!(Instant::now() < deadline, "the service did not upgrade the store within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_upgraded(server, &prefix, &store, [&on_tron, &confirming]).await;
}

/// A Redis store that, the first time the upgrade restores an entry, lets
/// another writer update that record first: a change that leaves its
/// in-flight member as it was, as a sweeper's SLA refresh does.
struct UpdatedDuringTheUpgrade {
    inner: RedisStore,
    raced: AtomicBool,
}

#[async_trait]
impl Store for UpdatedDuringTheUpgrade {
    async fn restore_index_entries(&self, w: &Withdrawal, entries: &[IndexEntry]) -> Result<bool, StoreError> {
        if !self.raced.swap(true, Ordering::SeqCst) {
            let mut next = w.clone();
            next.version += 1;
            next.updated_at += chrono::Duration::seconds(1);
            assert_eq!(self.inner.update(w, &next).await?, Updated::Written);
        }
        self.inner.restore_index_entries(w, entries).await
    }
    async fn insert(&self, w: &Withdrawal) -> Result<Inserted, StoreError> {
        self.inner.insert(w).await
    }
    async fn get(&self, id: &WithdrawalId) -> Result<Option<Withdrawal>, StoreError> {
        self.inner.get(id).await
    }
    async fn get_many(&self, ids: &[WithdrawalId]) -> Result<Vec<Option<Withdrawal>>, StoreError> {
        self.inner.get_many(ids).await
    }
    async fn update(&self, current: &Withdrawal, next: &Withdrawal) -> Result<Updated, StoreError> {
        self.inner.update(current, next).await
    }
    async fn delete_indexes(&self, suffixes: &[String]) -> Result<(), StoreError> {
        self.inner.delete_indexes(suffixes).await
    }
    async fn members(&self, range: IndexRange<'_>) -> Result<Vec<String>, StoreError> {
        self.inner.members(range).await
    }
    async fn members_of_each(
        &self,
        indexes: &[IndexKey],
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Vec<String>>, StoreError> {
        self.inner.members_of_each(indexes, after, limit).await
    }
    async fn scan(&self, range: IndexRange<'_>, keep: RecordFilter<'_>) -> Result<IndexPage, StoreError> {
        self.inner.scan(range, keep).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
    async fn get_meta(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.inner.get_meta(name).await
    }
    async fn set_meta(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.inner.set_meta(name, value).await
    }
    async fn swap_meta(&self, name: &str, expected: Option<&str>, value: &str) -> Result<bool, StoreError> {
        self.inner.swap_meta(name, expected, value).await
    }
    async fn add_counters(
        &self,
        name: &str,
        increments: &[(String, u64)],
        keep_for: std::time::Duration,
    ) -> Result<(), StoreError> {
        self.inner.add_counters(name, increments, keep_for).await
    }
    async fn counters(&self, names: &[String]) -> Result<Vec<Vec<(String, u64)>>, StoreError> {
        self.inner.counters(names).await
    }
    async fn count(&self, indexes: &[IndexKey]) -> Result<Vec<u64>, StoreError> {
        self.inner.count(indexes).await
    }
    async fn try_lease(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.inner.try_lease(name, owner, ttl).await
    }
    async fn expire(&self, w: &Withdrawal, now: DateTime<Utc>, tombstone_for: Duration) -> Result<Expired, StoreError> {
        self.inner.expire(w, now, tombstone_for).await
    }
    async fn tombstone(&self, id: &WithdrawalId) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.inner.tombstone(id).await
    }
}

#[tokio::test]
async fn a_record_updated_while_the_upgrade_runs_still_gets_its_in_flight_entry() {
    let server = RedisServer::shared();
    let prefix = unique_prefix("layoutrace");
    let (store, on_tron, confirming) = a_layout_1_store(server, &prefix).await;
    let racing = UpdatedDuringTheUpgrade { inner: store, raced: AtomicBool::new(false) };

    assert_eq!(layout::upgrade(&racing).await.unwrap(), 2);

    assert!(racing.raced.load(Ordering::SeqCst));
    assert_upgraded(server, &prefix, &racing.inner, [&on_tron, &confirming]).await;
}

/// Layout 2 had no terminal index: records already terminal get their entry
/// at start, so retention expires them like new ones.
#[tokio::test]
async fn a_layout_2_store_gets_its_terminal_index_built_from_its_terminal_records() {
    let server = RedisServer::shared();
    let prefix = unique_prefix("layout2");
    let store = RedisStore::new(&server.url(), &prefix, Duration::from_secs(2)).unwrap();
    let at: DateTime<Utc> = "2026-03-02T11:00:00Z".parse().unwrap();
    let mut cancelled = registered("w-1", Network::Btc, None);
    cancelled.cancel("rejected", at).unwrap();
    let mut completed = broadcast("w-2", Network::Trx, "cd");
    completed.transition(State::Completed, "final", at).unwrap();
    let in_flight = broadcast("w-3", Network::Eth, "ef");
    for w in [&cancelled, &completed, &in_flight] {
        store.insert(w).await.unwrap();
    }
    let mut make_layout_2 = redis::pipe();
    make_layout_2.del(index_key(&prefix, "terminal")).set(format!("{{{prefix}}}:meta:index_layout"), "2");
    make_layout_2.query::<()>(&mut server.connection()).unwrap();
    let terminal = || store.members(IndexRange { index: &IndexKey::Terminal, after: None, until: None, limit: 10 });
    assert!(terminal().await.unwrap().is_empty());

    assert_eq!(layout::upgrade(&store).await.unwrap(), 2, "the two terminal withdrawals");

    let expected: Vec<String> = [&cancelled, &completed]
        .iter()
        .flat_map(|w| index::entries(w))
        .filter(|(index, _)| *index == IndexKey::Terminal)
        .map(|(_, member)| member)
        .collect();
    let mut found = terminal().await.unwrap();
    found.sort();
    assert_eq!(found, expected);
    assert_eq!(in_flight_members(&store, Network::Eth).await, [in_flight::member(&in_flight).unwrap()], "kept");
    assert_eq!(store.get_meta("index_layout").await.unwrap().as_deref(), Some(layout::CURRENT));
    assert_eq!(layout::upgrade(&store).await.unwrap(), 0, "once per store");
}
