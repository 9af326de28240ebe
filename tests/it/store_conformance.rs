//! One suite, every store: whatever the memory store does, Redis does too,
//! on one server and on a Redis Cluster.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use withdrawal_tracker::domain::escalation::{
    Delivery, DeliveryStatus, Escalation, TicketEvent, TicketStatus, Trigger,
};
use withdrawal_tracker::domain::observation::{NetworkRules, Observation};
use withdrawal_tracker::domain::sla::{SlaDeadlines, SlaStatus};
use withdrawal_tracker::domain::{Amount, Network, Registration, State, TxHash, UserId, Withdrawal, WithdrawalId};
use withdrawal_tracker::store::{
    index, Expired, IndexEntry, IndexKey, IndexRange, Inserted, ListQuery, MemoryStore, RedisStore, Store, StoreError,
    Updated,
};

use crate::support::chains::destination;
use crate::support::cluster::ClusterServer;
use crate::support::redis::{unique_prefix, RedisServer};

fn now() -> DateTime<Utc> {
    "2026-03-02T10:00:00Z".parse().unwrap()
}

fn record(id: &str, user: &str, network: Network, minutes_ago: i64) -> Withdrawal {
    let registration = Registration {
        id: WithdrawalId::parse(id).unwrap(),
        user_id: UserId::parse(user).unwrap(),
        coin: "USDT".into(),
        destination: destination(network),
        amount: Amount::parse("1.5").unwrap(),
        requested_at: Some((now() - Duration::minutes(minutes_ago)).fixed_offset()),
        tx_hash: None,
    };
    Withdrawal::register(registration, now())
}

fn hash(network: Network, byte: &str) -> TxHash {
    let raw = if network.is_evm() { format!("0x{}", byte.repeat(32)) } else { byte.repeat(32) };
    TxHash::parse(network, &raw).unwrap()
}

fn id(raw: &str) -> WithdrawalId {
    WithdrawalId::parse(raw).unwrap()
}

fn query(user: Option<&str>, state: Option<State>, network: Option<Network>, limit: usize) -> ListQuery {
    ListQuery { user_id: user.map(|u| UserId::parse(u).unwrap()), state, network, after: None, limit }
}

async fn list_all(store: &dyn Store, mut q: ListQuery) -> Vec<String> {
    let mut ids = Vec::new();
    loop {
        let page = store.list(&q).await.unwrap();
        assert!(page.items.len() <= q.limit);
        ids.extend(page.items.iter().map(|w| w.id.to_string()));
        match page.next {
            Some(cursor) => q.after = Some(cursor),
            None => return ids,
        }
    }
}

async fn insert_then_get_returns_the_same_record(store: Arc<dyn Store>) {
    let w = record("w-1", "alice", Network::Btc, 0);
    assert_eq!(store.insert(&w).await.unwrap(), Inserted::Created);
    assert_eq!(store.get(&w.id).await.unwrap(), Some(w.clone()));
    assert_eq!(store.get(&id("w-missing")).await.unwrap(), None);
}

async fn second_insert_returns_the_existing_record_unchanged(store: Arc<dyn Store>) {
    let first = record("w-1", "alice", Network::Btc, 0);
    store.insert(&first).await.unwrap();
    let second = record("w-1", "bob", Network::Eth, 5);
    assert_eq!(store.insert(&second).await.unwrap(), Inserted::Existing(Box::new(first.clone())));
    assert_eq!(store.get(&first.id).await.unwrap(), Some(first));
}

async fn update_is_a_compare_and_set_on_the_version(store: Arc<dyn Store>) {
    let v1 = record("w-1", "alice", Network::Trx, 0);
    store.insert(&v1).await.unwrap();
    let mut v2 = v1.clone();
    v2.set_tx_hash(hash(Network::Trx, "aa"), now()).unwrap();
    v2.version += 1;
    assert_eq!(store.update(&v1, &v2).await.unwrap(), Updated::Written);
    assert_eq!(store.get(&v1.id).await.unwrap(), Some(v2.clone()));

    let mut stale = v1.clone();
    stale.cancel("based on an old read", now()).unwrap();
    stale.version += 1;
    assert_eq!(store.update(&v1, &stale).await.unwrap(), Updated::VersionConflict);
    assert_eq!(store.get(&v1.id).await.unwrap(), Some(v2), "a stale write changes nothing");

    let ghost = record("w-ghost", "alice", Network::Trx, 0);
    let mut ghost2 = ghost.clone();
    ghost2.cancel("x", now()).unwrap();
    ghost2.version += 1;
    assert_eq!(store.update(&ghost, &ghost2).await.unwrap(), Updated::NotFound);
}

async fn update_must_raise_the_version(store: Arc<dyn Store>) {
    let w = record("w-1", "alice", Network::Trx, 0);
    store.insert(&w).await.unwrap();
    let refused = store.update(&w, &w).await;
    assert!(
        matches!(&refused, Err(StoreError::Internal(message)) if message.contains("raise the version")),
        "{refused:?}"
    );
    assert_eq!(store.get(&w.id).await.unwrap(), Some(w), "the record is unchanged");
}

async fn lists_are_newest_first_and_pages_cover_everything_once(store: Arc<dyn Store>) {
    // Minutes ago, with ties, so both sort keys are exercised.
    let ages = [5, 1, 9, 1, 3, 7, 1, 2, 8, 0, 4, 6];
    for (i, age) in ages.iter().enumerate() {
        store.insert(&record(&format!("w-{i:02}"), "alice", Network::Btc, *age)).await.unwrap();
    }
    let mut expected: Vec<(i64, String)> = ages.iter().enumerate().map(|(i, a)| (*a, format!("w-{i:02}"))).collect();
    expected.sort();
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();
    for limit in [1, 2, 5, 12, 50] {
        assert_eq!(list_all(store.as_ref(), query(None, None, None, limit)).await, expected, "limit {limit}");
    }
    let full = store.list(&query(None, None, None, 12)).await.unwrap();
    assert!(full.next.is_none(), "an exactly full last page has no cursor");
}

async fn filters_agree_with_a_brute_force_reading(store: Arc<dyn Store>) {
    let users = ["alice", "bob", "carol"];
    let networks = [Network::Btc, Network::Eth, Network::Trx];
    let mut all = Vec::new();
    for i in 0..30 {
        let network = networks[i % 3];
        let mut w = record(&format!("w-{i:02}"), users[i % 2 + (i % 5 == 0) as usize], network, i as i64);
        store.insert(&w).await.unwrap();
        if i % 4 == 0 {
            let before = w.clone();
            w.set_tx_hash(hash(network, "ab"), now()).unwrap();
            w.version += 1;
            store.update(&before, &w).await.unwrap();
        } else if i % 7 == 0 {
            let before = w.clone();
            w.cancel("rejected", now()).unwrap();
            w.version += 1;
            store.update(&before, &w).await.unwrap();
        }
        all.push(w);
    }
    let states = [None, Some(State::Pending), Some(State::Broadcast), Some(State::Cancelled), Some(State::Completed)];
    for user in [None, Some("alice"), Some("bob"), Some("carol"), Some("nobody")] {
        for state in states {
            for network in [None, Some(Network::Btc), Some(Network::Eth), Some(Network::Sol)] {
                let q = query(user, state, network, 4);
                let mut expected: Vec<&Withdrawal> = all
                    .iter()
                    .filter(|w| user.is_none_or(|u| w.user_id.as_str() == u))
                    .filter(|w| state.is_none_or(|s| w.state() == s))
                    .filter(|w| network.is_none_or(|n| w.network == n))
                    .collect();
                expected.sort_by_key(|w| std::cmp::Reverse(w.requested_at));
                let expected: Vec<String> = expected.iter().map(|w| w.id.to_string()).collect();
                assert_eq!(list_all(store.as_ref(), q).await, expected, "{user:?} {state:?} {network:?}");
            }
        }
    }
}

async fn due_ids(store: &dyn Store, until: DateTime<Utc>, limit: usize) -> Vec<WithdrawalId> {
    store.due(until, limit).await.unwrap().into_iter().map(|w| w.id).collect()
}

async fn due_deadlines_come_earliest_first_and_follow_updates(store: Arc<dyn Store>) {
    for (i, minutes) in [30, 10, 20].iter().enumerate() {
        let mut w = record(&format!("w-{i}"), "alice", Network::Btc, 0);
        w.next_deadline_at = Some(now() + Duration::minutes(*minutes));
        store.insert(&w).await.unwrap();
    }
    store.insert(&record("w-none", "alice", Network::Btc, 0)).await.unwrap();
    assert_eq!(due_ids(store.as_ref(), now() + Duration::minutes(25), 10).await, vec![id("w-1"), id("w-2")]);
    assert_eq!(due_ids(store.as_ref(), now() + Duration::minutes(10), 10).await, vec![id("w-1")], "inclusive");
    assert_eq!(due_ids(store.as_ref(), now() + Duration::hours(1), 1).await, vec![id("w-1")]);

    let current = store.get(&id("w-1")).await.unwrap().unwrap();
    let mut next = current.clone();
    next.cancel("stop", now()).unwrap();
    next.next_deadline_at = None;
    next.version += 1;
    store.update(&current, &next).await.unwrap();
    let current = store.get(&id("w-2")).await.unwrap().unwrap();
    let mut later = current.clone();
    later.set_tx_hash(hash(Network::Btc, "cd"), now()).unwrap();
    later.next_deadline_at = Some(now() + Duration::hours(5));
    later.version += 1;
    store.update(&current, &later).await.unwrap();
    assert_eq!(due_ids(store.as_ref(), now() + Duration::hours(1), 10).await, vec![id("w-0")]);
}

async fn concurrent_writers_lose_no_transition(store: Arc<dyn Store>) {
    let mut w = record("w-race", "alice", Network::Btc, 0);
    w.set_tx_hash(hash(Network::Btc, "aa"), now()).unwrap();
    w.transition(State::Confirming, "in block", now()).unwrap();
    store.insert(&w).await.unwrap();
    let writers = 16;
    let tasks: Vec<_> = (0..writers)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                // The compare-and-set retry loop a writer runs: re-read on a lost race.
                for _ in 0..8 {
                    let current = store.get(&id("w-race")).await.unwrap().unwrap();
                    let mut next = current.clone();
                    next.transition(State::Confirming, format!("reorg {n}"), now()).unwrap();
                    next.version += 1;
                    if store.update(&current, &next).await.unwrap() == Updated::Written {
                        return true;
                    }
                }
                false
            })
        })
        .collect();
    let mut succeeded = 0;
    for task in tasks {
        if task.await.unwrap() {
            succeeded += 1;
        }
    }
    let stored = store.get(&id("w-race")).await.unwrap().unwrap();
    let reorgs: HashSet<&str> =
        stored.history().iter().filter(|h| h.reason.starts_with("reorg")).map(|h| h.reason.as_str()).collect();
    assert_eq!(reorgs.len(), succeeded, "every acknowledged write is in the history, once");
    assert_eq!(stored.version, w.version + succeeded as u64);
    assert!(succeeded >= writers / 2, "the retry loop lets most writers through ({succeeded}/{writers})");
}

/// The SLA gauges read counts the stores keep instead of index members:
/// they must follow every insert and update exactly.
async fn counted_indexes_follow_every_change(store: Arc<dyn Store>) {
    let networks = [Network::Btc, Network::Eth];
    let statuses = [SlaStatus::OnTrack, SlaStatus::AtRisk, SlaStatus::Overdue];
    let mut all = Vec::new();
    for i in 0..24 {
        let mut w = record(&format!("w-{i:02}"), "alice", networks[i % 2], i as i64);
        let overdue_at = now() + Duration::hours(i as i64);
        w.sla = Some(SlaDeadlines { at_risk_at: overdue_at, overdue_at, status: statuses[i % 3] });
        store.insert(&w).await.unwrap();
        all.push(w);
    }
    // Status changes, a deadline moved with the status kept, and terminal
    // records (no longer in flight, so no longer counted).
    for (i, w) in all.iter_mut().enumerate().filter(|(i, _)| i % 2 == 0) {
        let before = w.clone();
        match i % 3 {
            0 => w.sla.as_mut().unwrap().status = statuses[(i / 6 + 1) % 3],
            1 => w.sla.as_mut().unwrap().overdue_at += Duration::minutes(1),
            _ => {
                w.cancel("stop", now()).unwrap();
            }
        }
        w.version += 1;
        assert_eq!(store.update(&before, w).await.unwrap(), Updated::Written);
    }
    let keys: Vec<(SlaStatus, Network)> =
        statuses.iter().flat_map(|s| networks.iter().map(move |n| (*s, *n))).collect();
    let indexes: Vec<IndexKey> = keys.iter().map(|(s, n)| IndexKey::Sla(*s, *n)).collect();
    let counted = store.count(&indexes).await.unwrap();
    for ((status, network), counted) in keys.iter().zip(counted) {
        let expected = all
            .iter()
            .filter(|w| !w.state().is_terminal() && w.network == *network)
            .filter(|w| w.sla.as_ref().unwrap().status == *status)
            .count();
        assert_eq!(counted, expected as u64, "{status:?} {network:?}");
    }
    let range = IndexRange { index: &indexes[0], after: None, until: None, limit: 10 };
    assert!(matches!(store.members(range).await, Err(StoreError::Internal(_))), "counted, not listed");
}

/// What a layout upgrade relies on (`store/layout.rs`): entries come back
/// only on the record's current version, idempotently, never for counts.
async fn restoring_index_entries_is_a_compare_and_set_on_the_version(store: Arc<dyn Store>) {
    let mut w = record("w-1", "alice", Network::Trx, 0);
    w.set_tx_hash(hash(Network::Trx, "ab"), now()).unwrap();
    store.insert(&w).await.unwrap();
    let in_flight_index = IndexKey::InFlight(Network::Trx);
    let in_flight_entries = |w: &Withdrawal| -> Vec<IndexEntry> {
        index::entries(w).into_iter().filter(|(i, _)| *i == in_flight_index).collect()
    };
    let in_flight = in_flight_entries(&w);
    assert_eq!(in_flight.len(), 1);
    let read = || store.members(IndexRange { index: &in_flight_index, after: None, until: None, limit: 10 });
    assert_eq!(read().await.unwrap(), [in_flight[0].1.clone()]);

    assert!(store.restore_index_entries(&w, &in_flight).await.unwrap());
    assert_eq!(read().await.unwrap(), [in_flight[0].1.clone()], "restoring twice adds nothing");
    let mut stale = w.clone();
    stale.version = 0;
    let txid = stale.tx_hash().expect("in flight").as_str().to_owned();
    let looked_up = Observation::LookedUp { txid, found: None, tip: 0 };
    stale.observe(&looked_up, stale.updated_at, &NetworkRules::default()).unwrap();
    assert!(!store.restore_index_entries(&stale, &in_flight_entries(&stale)).await.unwrap());
    assert_eq!(read().await.unwrap(), [in_flight[0].1.clone()], "a stale record's entries are not restored");
    let missing = record("w-missing", "alice", Network::Trx, 0);
    assert!(!store.restore_index_entries(&missing, &[]).await.unwrap());
    let counted = [(IndexKey::OutboxPending, "x".to_owned())];
    assert!(matches!(store.restore_index_entries(&w, &counted).await, Err(StoreError::Internal(_))));
}

/// A cancelled withdrawal with every kind of entry a terminal record can
/// have: lists, deadlines, terminal, tickets and the counted outbox.
fn terminal_with_a_ticket(id: &str, user: &str) -> Withdrawal {
    let mut w = record(id, user, Network::Eth, 30);
    w.cancel("rejected", now()).unwrap();
    w.next_deadline_at = Some(now() + Duration::minutes(5));
    w.escalation = Some(Escalation {
        status: TicketStatus::Resolved,
        level: 1,
        reason: Trigger::Overdue,
        opened_at: now() - Duration::hours(1),
        raised_at: None,
        resolved_at: Some(now()),
        raise_at: None,
        ticket_id: None,
        deliveries: vec![Delivery {
            event: TicketEvent::Resolved,
            idempotency_key: format!("{id}:resolved"),
            status: DeliveryStatus::Pending,
            next_attempt_at: now() + Duration::minutes(5),
            attempts: Vec::new(),
            attempt_limit: 8,
            claim: None,
        }],
    });
    w
}

async fn index_holds(store: &dyn Store, (index, member): &IndexEntry) -> bool {
    if index.is_counted_only() {
        return store.count(std::slice::from_ref(index)).await.unwrap()[0] > 0;
    }
    let range = IndexRange { index, after: None, until: None, limit: 1000 };
    store.members(range).await.unwrap().contains(member)
}

/// Retention's delete (`Store::expire`): record, every index entry and the
/// counts go in one step; a neighbour keeps all of its own.
async fn expiry_deletes_the_record_and_every_index_entry(store: Arc<dyn Store>) {
    let gone = terminal_with_a_ticket("w-gone", "alice");
    let kept = record("w-kept", "alice", Network::Eth, 10);
    store.insert(&gone).await.unwrap();
    store.insert(&kept).await.unwrap();
    let entries = index::entries(&gone);
    let kinds: HashSet<String> = entries.iter().map(|(index, _)| index.suffix()).collect();
    for kind in ["all", "user:alice", "sn:cancelled:ETH", "deadlines", "terminal", "tickets:resolved", "outbox"] {
        assert!(kinds.contains(kind), "the test record has a {kind} entry: {kinds:?}");
    }
    for entry in &entries {
        assert!(index_holds(store.as_ref(), entry).await, "{entry:?} before");
    }
    let at = now() + Duration::days(8);
    assert_eq!(store.expire(&gone, at, std::time::Duration::from_secs(60)).await.unwrap(), Expired::Deleted);
    assert_eq!(store.get(&gone.id).await.unwrap(), None);
    for entry in &entries {
        assert!(!index_holds(store.as_ref(), entry).await, "{entry:?} after");
    }
    assert_eq!(store.count(&[IndexKey::OutboxPending]).await.unwrap(), [0], "the counted outbox went down");
    assert_eq!(store.tombstone(&gone.id).await.unwrap(), Some(at), "the tombstone says when");
    assert_eq!(store.tombstone(&kept.id).await.unwrap(), None);
    assert_eq!(store.get(&kept.id).await.unwrap(), Some(kept.clone()));
    for entry in index::entries(&kept) {
        assert!(index_holds(store.as_ref(), &entry).await, "{entry:?} of the neighbour");
    }
    assert_eq!(store.expire(&gone, at, std::time::Duration::ZERO).await.unwrap(), Expired::NotFound);
    assert_eq!(store.insert(&gone).await.unwrap(), Inserted::Expired(at), "no second life while the tombstone is kept");
    assert_eq!(store.get(&gone.id).await.unwrap(), None);

    let no_tombstone = terminal_with_a_ticket("w-quiet", "bob");
    store.insert(&no_tombstone).await.unwrap();
    assert_eq!(store.expire(&no_tombstone, at, std::time::Duration::ZERO).await.unwrap(), Expired::Deleted);
    assert_eq!(store.tombstone(&no_tombstone.id).await.unwrap(), None, "tombstone_for 0 keeps none");
    assert_eq!(store.insert(&no_tombstone).await.unwrap(), Inserted::Created, "without one, the id is free again");
}

/// The terminal index retention reads: by when a record became terminal,
/// up to a bound, and only terminal records.
async fn terminal_records_come_by_when_they_became_terminal(store: Arc<dyn Store>) {
    for (i, minutes) in [30, 10, 20].iter().enumerate() {
        let mut w = record(&format!("w-{i}"), "alice", Network::Btc, 60);
        w.cancel("stop", now() + Duration::minutes(*minutes)).unwrap();
        store.insert(&w).await.unwrap();
    }
    store.insert(&record("w-pending", "alice", Network::Btc, 0)).await.unwrap();
    let ids = |page: withdrawal_tracker::store::IndexPage| -> Vec<String> {
        page.items.into_iter().map(|(_, w)| w.id.to_string()).collect()
    };
    let until = now() + Duration::minutes(25);
    assert_eq!(ids(store.terminal_until(until, None, 10).await.unwrap()), ["w-1", "w-2"]);
    assert_eq!(ids(store.terminal_until(now() + Duration::minutes(10), None, 10).await.unwrap()), ["w-1"]);
    let first = store.terminal_until(now() + Duration::hours(1), None, 1).await.unwrap();
    assert!(first.more);
    let after = first.items[0].0.clone();
    assert_eq!(ids(store.terminal_until(now() + Duration::hours(1), Some(&after), 10).await.unwrap()), ["w-2", "w-0"]);
}

/// Two replicas judging the same record expired delete it once; a record
/// that changed after it was judged (its version moved) is not deleted.
async fn expiry_is_a_compare_and_set_on_the_version(store: Arc<dyn Store>) {
    let w = terminal_with_a_ticket("w-race", "alice");
    store.insert(&w).await.unwrap();
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let (store, w) = (store.clone(), w.clone());
            tokio::spawn(async move { store.expire(&w, now(), std::time::Duration::from_secs(60)).await.unwrap() })
        })
        .collect();
    let mut outcomes = Vec::new();
    for racer in racers {
        outcomes.push(racer.await.unwrap());
    }
    assert_eq!(outcomes.iter().filter(|o| **o == Expired::Deleted).count(), 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| matches!(o, Expired::Deleted | Expired::NotFound)));

    let judged = terminal_with_a_ticket("w-moved", "alice");
    store.insert(&judged).await.unwrap();
    let mut moved = judged.clone();
    moved.escalation.as_mut().unwrap().deliveries[0].status = DeliveryStatus::Delivered;
    moved.version += 1;
    assert_eq!(store.update(&judged, &moved).await.unwrap(), Updated::Written);
    assert_eq!(
        store.expire(&judged, now(), std::time::Duration::from_secs(60)).await.unwrap(),
        Expired::VersionConflict
    );
    assert_eq!(store.get(&judged.id).await.unwrap(), Some(moved.clone()), "the changed record stays whole");
    for entry in index::entries(&moved) {
        assert!(index_holds(store.as_ref(), &entry).await, "{entry:?}");
    }
    assert_eq!(store.tombstone(&judged.id).await.unwrap(), None);
}

/// A named value changes only from what the writer read: of racing writers
/// that read the same value, one wins.
async fn swapping_a_named_value_is_a_compare_and_set(store: Arc<dyn Store>) {
    assert!(store.swap_meta("network:TRX", None, "v1").await.unwrap(), "absent, as expected");
    assert!(!store.swap_meta("network:TRX", None, "v1b").await.unwrap(), "no longer absent");
    assert!(!store.swap_meta("network:TRX", Some("v0"), "v2").await.unwrap(), "not what it holds");
    assert_eq!(store.get_meta("network:TRX").await.unwrap().as_deref(), Some("v1"));
    let racers: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(
                async move { store.swap_meta("network:TRX", Some("v1"), &format!("racer {i}")).await.unwrap() },
            )
        })
        .collect();
    let mut won = 0;
    for racer in racers {
        won += usize::from(racer.await.unwrap());
    }
    assert_eq!(won, 1);
    assert!(store.get_meta("network:TRX").await.unwrap().unwrap().starts_with("racer "));
}

fn redis_store(name: &str) -> Arc<dyn Store> {
    let server = RedisServer::shared();
    Arc::new(RedisStore::new(&server.url(), &unique_prefix(name), std::time::Duration::from_secs(2)).unwrap())
}

/// On the shared cluster; successive tests' prefixes are served by
/// different masters.
fn cluster_store(name: &str) -> Arc<dyn Store> {
    let cluster = ClusterServer::shared();
    let seeds = cluster.seed_urls();
    let seeds: Vec<&str> = seeds.iter().map(String::as_str).collect();
    Arc::new(RedisStore::cluster(&seeds, &cluster.prefix(name), std::time::Duration::from_secs(2)).unwrap())
}

/// The arrival estimate's shared statistics: counters add up across
/// writers, hashes are read in one go, and a hash goes once its time is up.
async fn counters_add_up_and_expire(store: Arc<dyn Store>) {
    let keep = std::time::Duration::from_secs(60);
    let names = ["eta:BTC:block_interval:1".to_owned(), "eta:BTC:block_interval:2".to_owned(), "none".to_owned()];
    store.add_counters(&names[0], &[("37".into(), 2), ("40".into(), 1)], keep).await.unwrap();
    store.add_counters(&names[0], &[("37".into(), 3)], keep).await.unwrap();
    store.add_counters(&names[1], &[("12".into(), 7)], keep).await.unwrap();
    store.add_counters(&names[1], &[], keep).await.unwrap();
    let read = store.counters(&names).await.unwrap();
    assert_eq!(read, vec![vec![("37".to_owned(), 5), ("40".to_owned(), 1)], vec![("12".to_owned(), 7)], Vec::new()]);
    // Many writers at once lose nothing.
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let name = names[1].clone();
            tokio::spawn(async move { store.add_counters(&name, &[("12".into(), 1)], keep).await.unwrap() })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    assert_eq!(store.counters(&names[1..2]).await.unwrap(), vec![vec![("12".to_owned(), 15)]]);
    // A hash kept for a moment is gone after it.
    let short = "eta:ETH:broadcast_to_block:9".to_owned();
    store.add_counters(&short, &[("3".into(), 1)], std::time::Duration::from_millis(50)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert_eq!(store.counters(std::slice::from_ref(&short)).await.unwrap(), vec![Vec::new()]);
    assert!(store.counters(&[]).await.unwrap().is_empty());
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test]
            async fn $name() {
                super::$name(std::sync::Arc::new(super::MemoryStore::new())).await
            })*
        }
        mod redis {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::redis_store(stringify!($name))).await
            })*
        }
        mod cluster {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::cluster_store(stringify!($name))).await
            })*
        }
    };
}

conformance!(
    insert_then_get_returns_the_same_record,
    second_insert_returns_the_existing_record_unchanged,
    update_is_a_compare_and_set_on_the_version,
    update_must_raise_the_version,
    lists_are_newest_first_and_pages_cover_everything_once,
    filters_agree_with_a_brute_force_reading,
    due_deadlines_come_earliest_first_and_follow_updates,
    concurrent_writers_lose_no_transition,
    counted_indexes_follow_every_change,
    restoring_index_entries_is_a_compare_and_set_on_the_version,
    expiry_deletes_the_record_and_every_index_entry,
    terminal_records_come_by_when_they_became_terminal,
    expiry_is_a_compare_and_set_on_the_version,
    swapping_a_named_value_is_a_compare_and_set,
    counters_add_up_and_expire,
);

#[tokio::test]
async fn redis_keys_stay_under_the_prefix_and_prefixes_do_not_see_each_other() {
    let server = RedisServer::shared();
    let prefix_a = unique_prefix("prefa");
    let a = RedisStore::new(&server.url(), &prefix_a, std::time::Duration::from_secs(2)).unwrap();
    let b = RedisStore::new(&server.url(), &unique_prefix("prefb"), std::time::Duration::from_secs(2)).unwrap();
    let mut w = record("w-1", "alice", Network::Btc, 0);
    w.next_deadline_at = Some(now());
    a.insert(&w).await.unwrap();
    assert_eq!(b.get(&w.id).await.unwrap(), None);
    assert!(b.list(&query(None, None, None, 10)).await.unwrap().items.is_empty());

    let mut conn = server.connection();
    let keys: Vec<String> = ::redis::cmd("KEYS").arg(format!("{{{prefix_a}}}*")).query(&mut conn).unwrap();
    assert_eq!(keys.len(), 6, "record, three list indexes, deadlines, undiscovered: {keys:?}");
    assert!(keys.iter().all(|k| k.starts_with(&format!("{{{prefix_a}}}:"))));
}

/// The Redis store keeps a connection per tokio runtime (each HTTP worker
/// is one). A runtime that is gone must not take the store with it: later
/// runtimes, on other threads, connect their own.
#[test]
fn a_redis_store_outlives_the_runtimes_that_used_it() {
    let server = RedisServer::shared();
    let store = Arc::new(
        RedisStore::new(&server.url(), &unique_prefix("runtimes"), std::time::Duration::from_secs(2)).unwrap(),
    );
    let runtime = || tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let first = record("w-1", "alice", Network::Btc, 0);
    runtime().block_on(store.insert(&first)).unwrap();
    let readers: Vec<_> = (0..2)
        .map(|n| {
            let store = store.clone();
            std::thread::spawn(move || {
                runtime().block_on(async {
                    let mine = record(&format!("w-thread-{n}"), "bob", Network::Eth, n);
                    store.insert(&mine).await.unwrap();
                    (store.get(&id("w-1")).await.unwrap(), store.get(&mine.id).await.unwrap() == Some(mine))
                })
            })
        })
        .collect();
    for reader in readers {
        let (read, own_found) = reader.join().unwrap();
        assert_eq!(read, Some(first.clone()));
        assert!(own_found);
    }
}
