//! The Redis store. Each record is a string `<version>:<encoded record>`
//! (see `codec.rs`); every index is a sorted set with score 0 read by member
//! (`ZRANGEBYLEX`), see `index.rs`, except the counted-only ones, which are
//! fields of one `counts` hash. Every write is one Lua script, so a record,
//! its index entries and the counts never disagree.
//!
//! All keys share the hash tag `{key_prefix}`, so every script and every
//! pipeline touches one slot and runs unchanged on Redis Cluster: the
//! cluster connection routes it to the slot's master and follows `MOVED`/`ASK`
//! redirections. `Connection` hides which of the two kinds is in use.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, ErrorKind, Pipeline, RedisError, RedisResult, Script, ServerErrorKind, Value};
use tokio::runtime;
use tokio::sync::OnceCell;

use super::index::{self, IndexEntry, IndexKey};
use super::{
    check_update, codec, refuse_counted_only, Expired, IndexPage, IndexRange, Inserted, RecordFilter, Store,
    StoreError, Updated,
};
use crate::domain::{Withdrawal, WithdrawalId};

/// Applies a write's index changes. KEYS[first_key..]: one per change, a
/// sorted set or the counts hash; `ops`: one character per change (`a` add,
/// `r` remove, `+`/`-` count up or down); ARGV from `first`: the member or
/// counts field.
const APPLY_INDEX_CHANGES: &str = r#"
local function apply_index_changes(ops, first, first_key)
  for i = first_key, #KEYS do
    local op, member = string.sub(ops, i - first_key + 1, i - first_key + 1), ARGV[first + i - first_key]
    if op == 'a' then
      redis.call('ZADD', KEYS[i], 0, member)
    elseif op == 'r' then
      redis.call('ZREM', KEYS[i], member)
    elseif op == '+' then
      redis.call('HINCRBY', KEYS[i], member, 1)
    elseif redis.call('HINCRBY', KEYS[i], member, -1) <= 0 then
      redis.call('HDEL', KEYS[i], member)
    end
  end
end
"#;

/// KEYS: record, tombstone, then one per index change. ARGV: stored value,
/// ops, members. Returns the existing stored value, the tombstone (an
/// integer: when the id expired), or nothing when it inserted.
const INSERT_SCRIPT: &str = r#"
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
local expired = redis.call('GET', KEYS[2])
if expired then return tonumber(expired) end
redis.call('SET', KEYS[1], ARGV[1])
apply_index_changes(ARGV[2], 3, 3)
return false
"#;

/// KEYS: record, then one per index change. ARGV: expected version, stored
/// value, ops, members. Returns 1 written, 0 not found, -1 stale.
const UPDATE_SCRIPT: &str = r#"
local stored = redis.call('GET', KEYS[1])
if not stored then return 0 end
if string.match(stored, '^%d+') ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[1], ARGV[2])
apply_index_changes(ARGV[3], 4, 2)
return 1
"#;

/// KEYS: record, then one per index entry. ARGV: expected version, ops,
/// members. Returns 1 restored, 0 when the record is gone or moved on.
const RESTORE_SCRIPT: &str = r#"
local stored = redis.call('GET', KEYS[1])
if not stored or string.match(stored, '^%d+') ~= ARGV[1] then return 0 end
apply_index_changes(ARGV[2], 3, 2)
return 1
"#;

/// KEYS: record, tombstone, then one per index entry. ARGV: expected
/// version, tombstone TTL in ms (0: none), tombstone value (the expiry time
/// in Unix ms: an integer, which Redis stores without a string), ops,
/// members.
/// Returns 1 deleted, 0 not found, -1 stale.
const EXPIRE_SCRIPT: &str = r#"
local stored = redis.call('GET', KEYS[1])
if not stored then return 0 end
if string.match(stored, '^%d+') ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[1])
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
end
apply_index_changes(ARGV[4], 5, 3)
return 1
"#;

/// Takes a free lease or extends one's own: KEYS[1] lease, ARGV owner, ttl ms.
/// KEYS[1] the value; ARGV[1] `1` when a current value is expected, ARGV[2]
/// that value, ARGV[3] the new one.
const SWAP_SCRIPT: &str = r#"
local current = redis.call('GET', KEYS[1])
if (ARGV[1] == '0' and current == false) or (ARGV[1] == '1' and current == ARGV[2]) then
  redis.call('SET', KEYS[1], ARGV[3])
  return 1
end
return 0
"#;

const LEASE_SCRIPT: &str = r#"
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"#;

/// Where the store connects: one server, or a cluster through its seed nodes.
/// One per store, built once: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Target {
    Single(redis::Client),
    Cluster(ClusterClient),
}

/// A connection to either kind of deployment. Both reconnect by themselves
/// and are cheap to clone; the cluster one routes each command and pipeline
/// by its keys' slot.
#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> BoxFuture<'a, RedisResult<Value>> {
        match self {
            Connection::Single(conn) => conn.req_packed_command(cmd),
            Connection::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> BoxFuture<'a, RedisResult<Vec<Value>>> {
        match self {
            Connection::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Connection::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(conn) => conn.get_db(),
            Connection::Cluster(conn) => conn.get_db(),
        }
    }
}

static NEXT_STORE_NUMBER: AtomicU64 = AtomicU64::new(0);

/// How many connections a thread keeps at hand: one per store and runtime
/// it uses (in the service, one), a few more where tests make many stores.
const THREAD_CONNECTIONS_KEPT: usize = 4;

thread_local! {
    /// The connections this thread used last, by store and runtime, in
    /// front of each store's `connections` table: its lock would otherwise
    /// be taken by both HTTP workers for every request (their runtimes
    /// differ, the lock's cache line is the same).
    static THREAD_CONNECTIONS: RefCell<Vec<((u64, runtime::Id), Connection)>> = const { RefCell::new(Vec::new()) };
}

/// Retries inside one operation (reconnects, redirections while a cluster
/// fails over); `bounded` caps the whole operation at the store timeout.
const RETRIES: u32 = 2;
const MAX_RETRY_DELAY: Duration = Duration::from_secs(1);

pub struct RedisStore {
    target: Target,
    /// One connection per tokio runtime, connected on first use there, so
    /// the service starts (and reports not ready) while Redis is down; each
    /// reconnects by itself afterwards. A connection's driver runs on the
    /// runtime that made it, and each HTTP worker is its own runtime: a shared
    /// connection would wake another thread for every command and reply,
    /// which cost about a fifth of a GET's CPU.
    connections: Mutex<HashMap<runtime::Id, Arc<OnceCell<Connection>>>>,
    /// Tells this store's connections apart in [`THREAD_CONNECTIONS`].
    number: u64,
    tag: String,
    timeout: Duration,
    insert: Script,
    update: Script,
    restore: Script,
    expire: Script,
    lease: Script,
    swap: Script,
}

fn classify(error: RedisError) -> StoreError {
    let transient = error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_cluster_error()
        || matches!(
            error.kind(),
            ErrorKind::Io
                | ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::BusyLoading
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::ClusterDown
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::ReadOnly
                )
        );
    if transient {
        StoreError::Unavailable(error.to_string())
    } else {
        StoreError::Internal(error.to_string())
    }
}

/// The stored value: the version in digits, so the scripts can compare it
/// without decoding, then the encoded record.
fn stored_value(withdrawal: &Withdrawal) -> Result<Vec<u8>, StoreError> {
    let mut value = format!("{}:", withdrawal.version).into_bytes();
    value.extend(codec::encode(withdrawal)?);
    Ok(value)
}

fn from_stored_value(value: &[u8]) -> Result<Withdrawal, StoreError> {
    match value.iter().position(|&b| b == b':') {
        Some(colon) => codec::decode(&value[colon + 1..]),
        None => Err(StoreError::Internal("stored record without its version".into())),
    }
}

fn tombstone_time(id: &WithdrawalId, millis: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(millis)
        .ok_or_else(|| StoreError::Internal(format!("bad tombstone of {id}: {millis}")))
}

impl RedisStore {
    /// Parses the URL only; no connection is made until the first operation.
    pub fn new(url: &str, key_prefix: &str, timeout: Duration) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|e| StoreError::Internal(format!("bad redis_url: {e}")))?;
        Ok(Self::with_target(Target::Single(client), key_prefix, timeout))
    }

    /// On a Redis Cluster, given one or more of its nodes (the others are
    /// discovered). Parses the URLs only, like `new`.
    pub fn cluster(nodes: &[&str], key_prefix: &str, timeout: Duration) -> Result<Self, StoreError> {
        let client = ClusterClient::builder(nodes.iter().copied())
            .connection_timeout(timeout)
            .response_timeout(timeout)
            .retries(RETRIES)
            .max_retry_wait(MAX_RETRY_DELAY.as_millis() as u64)
            .build()
            .map_err(|e| StoreError::Internal(format!("bad redis_url: {e}")))?;
        Ok(Self::with_target(Target::Cluster(client), key_prefix, timeout))
    }

    fn with_target(target: Target, key_prefix: &str, timeout: Duration) -> Self {
        RedisStore {
            target,
            connections: Mutex::default(),
            number: NEXT_STORE_NUMBER.fetch_add(1, Ordering::Relaxed),
            tag: format!("{{{key_prefix}}}"),
            timeout,
            insert: Script::new(&format!("{APPLY_INDEX_CHANGES}{INSERT_SCRIPT}")),
            update: Script::new(&format!("{APPLY_INDEX_CHANGES}{UPDATE_SCRIPT}")),
            restore: Script::new(&format!("{APPLY_INDEX_CHANGES}{RESTORE_SCRIPT}")),
            expire: Script::new(&format!("{APPLY_INDEX_CHANGES}{EXPIRE_SCRIPT}")),
            lease: Script::new(LEASE_SCRIPT),
            swap: Script::new(SWAP_SCRIPT),
        }
    }

    fn record_key(&self, id: &WithdrawalId) -> String {
        format!("{}:w:{id}", self.tag)
    }

    /// Kept for `retention.tombstone_for` after a record expired (a key with
    /// a TTL: Redis drops it by itself).
    fn tombstone_key(&self, id: &WithdrawalId) -> String {
        format!("{}:gone:{id}", self.tag)
    }

    fn index_key(&self, index: &IndexKey) -> String {
        format!("{}:idx:{}", self.tag, index.suffix())
    }

    /// `ZRANGEBYLEX` over `range`: after (exclusive) up to until (inclusive).
    fn range_command(&self, range: &IndexRange<'_>) -> Cmd {
        let mut command = redis::cmd("ZRANGEBYLEX");
        command
            .arg(self.index_key(range.index))
            .arg(range.after.map_or_else(|| "-".to_owned(), |m| format!("({m}")))
            .arg(range.until.map_or_else(|| "+".to_owned(), |m| format!("[{m}")))
            .arg("LIMIT")
            .arg(0)
            .arg(range.limit);
        command
    }

    fn counts_key(&self) -> String {
        format!("{}:counts", self.tag)
    }

    /// Puts one key per index change on a script call, and returns what
    /// goes in ARGV for them: one character per change (see
    /// `APPLY_INDEX_CHANGES`), and per change the member or counts field.
    fn index_changes(
        &self,
        invocation: &mut redis::ScriptInvocation<'_>,
        changes: &[(&IndexEntry, bool)],
    ) -> (String, Vec<String>) {
        let mut ops = String::with_capacity(changes.len());
        let mut members = Vec::with_capacity(changes.len());
        for ((index, member), added) in changes {
            if index.is_counted_only() {
                invocation.key(self.counts_key());
                ops.push(if *added { '+' } else { '-' });
                members.push(index.suffix());
            } else {
                invocation.key(self.index_key(index));
                ops.push(if *added { 'a' } else { 'r' });
                members.push(member.clone());
            }
        }
        (ops, members)
    }

    async fn connection(&self) -> Result<Connection, StoreError> {
        let runtime = runtime::Handle::current().id();
        let key = (self.number, runtime);
        let cached = THREAD_CONNECTIONS
            .with_borrow(|cached| cached.iter().find(|(at, _)| *at == key).map(|(_, connection)| connection.clone()));
        if let Some(connection) = cached {
            return Ok(connection);
        }
        let slot = {
            let mut connections = self.connections.lock().unwrap_or_else(PoisonError::into_inner);
            connections.entry(runtime).or_default().clone()
        };
        let connection = slot.get_or_try_init(|| self.connect()).await.cloned().map_err(classify)?;
        THREAD_CONNECTIONS.with_borrow_mut(|cached| {
            if cached.len() == THREAD_CONNECTIONS_KEPT {
                cached.remove(0);
            }
            cached.push((key, connection.clone()));
        });
        Ok(connection)
    }

    async fn connect(&self) -> RedisResult<Connection> {
        match &self.target {
            Target::Single(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(RETRIES as usize)
                    .set_max_delay(MAX_RETRY_DELAY);
                Ok(Connection::Single(ConnectionManager::new_with_config(client.clone(), config).await?))
            }
            Target::Cluster(client) => Ok(Connection::Cluster(client.get_async_connection().await?)),
        }
    }

    /// Bounds every operation by the configured timeout, whatever the
    /// connection is doing.
    async fn bounded<T>(&self, operation: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        tokio::time::timeout(self.timeout, operation)
            .await
            .unwrap_or_else(|_| Err(StoreError::Unavailable(format!("no answer within {:?}", self.timeout))))
    }

    async fn fetch_records(&self, ids: &[WithdrawalId]) -> Result<Vec<Option<Withdrawal>>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.get(self.record_key(id));
        }
        let mut conn = self.connection().await?;
        let raw: Vec<Option<Vec<u8>>> = pipe.query_async(&mut conn).await.map_err(classify)?;
        raw.iter().map(|value| value.as_deref().map(from_stored_value).transpose()).collect()
    }
}

/// `EVALSHA` falls back to loading a script once; a `SCRIPT FLUSH` (or a
/// failover to a node that never saw it) racing that is retried a few times.
async fn run_script<T: redis::FromRedisValue>(
    invocation: &redis::ScriptInvocation<'_>,
    conn: &mut (impl redis::aio::ConnectionLike + Send),
) -> Result<T, StoreError> {
    let mut retries = 0;
    loop {
        match invocation.invoke_async(conn).await {
            Err(error) if error.kind() == ErrorKind::Server(ServerErrorKind::NoScript) && retries < 3 => retries += 1,
            result => return result.map_err(classify),
        }
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn insert(&self, withdrawal: &Withdrawal) -> Result<Inserted, StoreError> {
        self.bounded(async {
            let entries = index::entries(withdrawal);
            let changes: Vec<(&IndexEntry, bool)> = entries.iter().map(|e| (e, true)).collect();
            let mut invocation = self.insert.key(self.record_key(&withdrawal.id));
            invocation.key(self.tombstone_key(&withdrawal.id));
            let (ops, members) = self.index_changes(&mut invocation, &changes);
            invocation.arg(stored_value(withdrawal)?).arg(ops).arg(members);
            let mut conn = self.connection().await?;
            match run_script::<Value>(&invocation, &mut conn).await? {
                Value::Nil => Ok(Inserted::Created),
                Value::BulkString(value) => Ok(Inserted::Existing(Box::new(from_stored_value(&value)?))),
                Value::Int(millis) => Ok(Inserted::Expired(tombstone_time(&withdrawal.id, millis)?)),
                other => Err(StoreError::Internal(format!("insert answered {other:?}"))),
            }
        })
        .await
    }

    async fn get(&self, id: &WithdrawalId) -> Result<Option<Withdrawal>, StoreError> {
        self.bounded(async {
            let mut conn = self.connection().await?;
            let value: Option<Vec<u8>> =
                redis::cmd("GET").arg(self.record_key(id)).query_async(&mut conn).await.map_err(classify)?;
            value.as_deref().map(from_stored_value).transpose()
        })
        .await
    }

    async fn get_many(&self, ids: &[WithdrawalId]) -> Result<Vec<Option<Withdrawal>>, StoreError> {
        self.bounded(self.fetch_records(ids)).await
    }

    async fn update(&self, current: &Withdrawal, next: &Withdrawal) -> Result<Updated, StoreError> {
        check_update(current, next)?;
        self.bounded(async {
            let (removed, added) = index::changes(current, next);
            let changes: Vec<(&IndexEntry, bool)> =
                removed.iter().map(|e| (e, false)).chain(added.iter().map(|e| (e, true))).collect();
            let mut invocation = self.update.key(self.record_key(&next.id));
            let (ops, members) = self.index_changes(&mut invocation, &changes);
            invocation.arg(current.version).arg(stored_value(next)?).arg(ops).arg(members);
            let mut conn = self.connection().await?;
            let outcome: i64 = run_script(&invocation, &mut conn).await?;
            Ok(match outcome {
                1 => Updated::Written,
                0 => Updated::NotFound,
                _ => Updated::VersionConflict,
            })
        })
        .await
    }

    async fn restore_index_entries(&self, withdrawal: &Withdrawal, entries: &[IndexEntry]) -> Result<bool, StoreError> {
        entries.iter().try_for_each(|(index, _)| refuse_counted_only(index))?;
        self.bounded(async {
            let changes: Vec<(&IndexEntry, bool)> = entries.iter().map(|e| (e, true)).collect();
            let mut invocation = self.restore.key(self.record_key(&withdrawal.id));
            let (ops, members) = self.index_changes(&mut invocation, &changes);
            invocation.arg(withdrawal.version).arg(ops).arg(members);
            let mut conn = self.connection().await?;
            let restored: i64 = run_script(&invocation, &mut conn).await?;
            Ok(restored == 1)
        })
        .await
    }

    async fn expire(
        &self,
        withdrawal: &Withdrawal,
        now: DateTime<Utc>,
        tombstone_for: Duration,
    ) -> Result<Expired, StoreError> {
        self.bounded(async {
            let entries = index::entries(withdrawal);
            let changes: Vec<(&IndexEntry, bool)> = entries.iter().map(|e| (e, false)).collect();
            let mut invocation = self.expire.key(self.record_key(&withdrawal.id));
            invocation.key(self.tombstone_key(&withdrawal.id));
            let (ops, members) = self.index_changes(&mut invocation, &changes);
            invocation
                .arg(withdrawal.version)
                .arg(tombstone_for.as_millis() as u64)
                .arg(now.timestamp_millis())
                .arg(ops)
                .arg(members);
            let mut conn = self.connection().await?;
            let outcome: i64 = run_script(&invocation, &mut conn).await?;
            Ok(match outcome {
                1 => Expired::Deleted,
                0 => Expired::NotFound,
                _ => Expired::VersionConflict,
            })
        })
        .await
    }

    async fn tombstone(&self, id: &WithdrawalId) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.bounded(async {
            let mut conn = self.connection().await?;
            let value: Option<i64> =
                redis::cmd("GET").arg(self.tombstone_key(id)).query_async(&mut conn).await.map_err(classify)?;
            value.map(|millis| tombstone_time(id, millis)).transpose()
        })
        .await
    }

    async fn delete_indexes(&self, suffixes: &[String]) -> Result<(), StoreError> {
        self.bounded(async {
            let mut command = redis::cmd("DEL");
            for suffix in suffixes {
                command.arg(format!("{}:idx:{suffix}", self.tag));
            }
            let mut conn = self.connection().await?;
            command.query_async::<()>(&mut conn).await.map_err(classify)
        })
        .await
    }

    async fn members(&self, range: IndexRange<'_>) -> Result<Vec<String>, StoreError> {
        refuse_counted_only(range.index)?;
        self.bounded(async {
            let mut conn = self.connection().await?;
            self.range_command(&range).query_async(&mut conn).await.map_err(classify)
        })
        .await
    }

    async fn members_of_each(
        &self,
        indexes: &[IndexKey],
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Vec<String>>, StoreError> {
        let mut pipe = redis::pipe();
        for index in indexes {
            refuse_counted_only(index)?;
            pipe.add_command(self.range_command(&IndexRange { index, after, until: None, limit }));
        }
        self.bounded(async {
            let mut conn = self.connection().await?;
            pipe.query_async(&mut conn).await.map_err(classify)
        })
        .await
    }

    async fn scan(&self, range: IndexRange<'_>, keep: RecordFilter<'_>) -> Result<IndexPage, StoreError> {
        refuse_counted_only(range.index)?;
        self.bounded(async {
            // One extra item tells whether another page exists; filtered scans
            // read larger batches to need fewer round trips.
            let wanted = range.limit + 1;
            let batch = wanted.max(100);
            let mut after = range.after.map(str::to_owned);
            let mut items: Vec<(String, Withdrawal)> = Vec::new();
            loop {
                let batch_range =
                    IndexRange { index: range.index, after: after.as_deref(), until: range.until, limit: batch };
                let mut conn = self.connection().await?;
                let members: Vec<String> =
                    self.range_command(&batch_range).query_async(&mut conn).await.map_err(classify)?;
                let exhausted = members.len() < batch;
                let parsed: Vec<(&String, WithdrawalId)> =
                    members.iter().filter_map(|m| Some((m, index::id_of_member(m)?))).collect();
                let ids: Vec<WithdrawalId> = parsed.iter().map(|(_, id)| id.clone()).collect();
                let records = self.fetch_records(&ids).await?;
                let found =
                    parsed.into_iter().zip(records).filter_map(|((member, _), record)| Some((member.clone(), record?)));
                items.extend(found.filter(|(_, w)| keep(w)));
                match members.last() {
                    Some(last) if !exhausted && items.len() < wanted => after = Some(last.clone()),
                    _ => break,
                }
            }
            let more = items.len() > range.limit;
            items.truncate(range.limit);
            Ok(IndexPage { items, more })
        })
        .await
    }

    async fn count(&self, indexes: &[IndexKey]) -> Result<Vec<u64>, StoreError> {
        self.bounded(async {
            let mut pipe = redis::pipe();
            for index in indexes {
                if index.is_counted_only() {
                    pipe.cmd("HGET").arg(self.counts_key()).arg(index.suffix());
                } else {
                    pipe.zcard(self.index_key(index));
                }
            }
            let mut conn = self.connection().await?;
            // A count that was never raised (or fell back to zero) is no field at all.
            let counts: Vec<Option<u64>> = pipe.query_async(&mut conn).await.map_err(classify)?;
            Ok(counts.into_iter().map(Option::unwrap_or_default).collect())
        })
        .await
    }

    async fn try_lease(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.bounded(async {
            let mut conn = self.connection().await?;
            let mut invocation = self.lease.key(format!("{}:lease:{name}", self.tag));
            invocation.arg(owner).arg(ttl.as_millis() as u64);
            let held: i64 = run_script(&invocation, &mut conn).await?;
            Ok(held == 1)
        })
        .await
    }

    async fn get_meta(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.bounded(async {
            let mut conn = self.connection().await?;
            redis::cmd("GET").arg(format!("{}:meta:{name}", self.tag)).query_async(&mut conn).await.map_err(classify)
        })
        .await
    }

    async fn set_meta(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.bounded(async {
            let mut conn = self.connection().await?;
            redis::cmd("SET")
                .arg(format!("{}:meta:{name}", self.tag))
                .arg(value)
                .query_async::<()>(&mut conn)
                .await
                .map_err(classify)
        })
        .await
    }

    async fn swap_meta(&self, name: &str, expected: Option<&str>, value: &str) -> Result<bool, StoreError> {
        self.bounded(async {
            let mut conn = self.connection().await?;
            let mut invocation = self.swap.key(format!("{}:meta:{name}", self.tag));
            invocation.arg(if expected.is_some() { "1" } else { "0" }).arg(expected.unwrap_or("")).arg(value);
            let swapped: i64 = run_script(&invocation, &mut conn).await?;
            Ok(swapped == 1)
        })
        .await
    }

    async fn add_counters(
        &self,
        name: &str,
        increments: &[(String, u64)],
        keep_for: Duration,
    ) -> Result<(), StoreError> {
        if increments.is_empty() {
            return Ok(());
        }
        self.bounded(async {
            let key = format!("{}:stats:{name}", self.tag);
            let mut pipe = redis::pipe();
            for (field, by) in increments {
                pipe.cmd("HINCRBY").arg(&key).arg(field).arg(*by).ignore();
            }
            pipe.cmd("PEXPIRE").arg(&key).arg(keep_for.as_millis().max(1) as u64).ignore();
            let mut conn = self.connection().await?;
            pipe.query_async::<()>(&mut conn).await.map_err(classify)
        })
        .await
    }

    async fn counters(&self, names: &[String]) -> Result<Vec<Vec<(String, u64)>>, StoreError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        self.bounded(async {
            let mut pipe = redis::pipe();
            for name in names {
                pipe.cmd("HGETALL").arg(format!("{}:stats:{name}", self.tag));
            }
            let mut conn = self.connection().await?;
            let hashes: Vec<Vec<(String, u64)>> = pipe.query_async(&mut conn).await.map_err(classify)?;
            Ok(hashes
                .into_iter()
                .map(|mut hash| {
                    hash.sort();
                    hash
                })
                .collect())
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.bounded(async {
            let mut conn = self.connection().await?;
            redis::cmd("PING").query_async::<String>(&mut conn).await.map_err(classify)?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_redirections_and_failover_answers_are_unavailable_not_internal() {
        let transient = [
            ServerErrorKind::Moved,
            ServerErrorKind::Ask,
            ServerErrorKind::TryAgain,
            ServerErrorKind::ClusterDown,
            ServerErrorKind::MasterDown,
            ServerErrorKind::ReadOnly,
            ServerErrorKind::BusyLoading,
        ];
        for kind in transient {
            let error = RedisError::from((ErrorKind::Server(kind), "during failover"));
            assert!(matches!(classify(error), StoreError::Unavailable(_)), "{kind:?}");
        }
        let error = RedisError::from((ErrorKind::ClusterConnectionNotFound, "no node for the slot"));
        assert!(matches!(classify(error), StoreError::Unavailable(_)));
        let error = RedisError::from((ErrorKind::Io, "Failed to create initial connections"));
        assert!(matches!(classify(error), StoreError::Unavailable(_)));
        let error = RedisError::from((ErrorKind::Server(ServerErrorKind::CrossSlot), "keys in different slots"));
        assert!(matches!(classify(error), StoreError::Internal(_)), "a cross-slot script is a bug, not an outage");
    }
}
