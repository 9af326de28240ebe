//! The Redis store. Each record is a hash `{v: version, d: json}`; every
//! index is a sorted set with score 0 read by member (`ZRANGEBYLEX`), see
//! `index.rs`. Every write is one Lua script, so a record and its index
//! entries never disagree.
//!
//! All keys share the hash tag `{key_prefix}`, so every script and every
//! pipeline touches one slot and runs unchanged on Redis Cluster: the
//! cluster connection routes it to the slot's master and follows `MOVED`/`ASK`
//! redirections. `Connection` hides which of the two kinds is in use.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::future::BoxFuture;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, ErrorKind, Pipeline, RedisError, RedisResult, Script, ServerErrorKind, Value};
use tokio::sync::OnceCell;

use super::index::{self, IndexEntry, IndexKey};
use super::{check_update, IndexPage, IndexRange, Inserted, RecordFilter, Store, StoreError, Updated};
use crate::domain::{Withdrawal, WithdrawalId};

/// KEYS: record, then index keys of removed entries, then of added ones.
/// ARGV: version, data, number of removed entries, removed members, added members.
const INSERT_SCRIPT: &str = r#"
local existing = redis.call('HGET', KEYS[1], 'd')
if existing then return existing end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2])
for i = 2, #KEYS do redis.call('ZADD', KEYS[i], 0, ARGV[i + 1]) end
return false
"#;

/// KEYS: record, index keys of removed entries, index keys of added entries.
/// ARGV: expected version, new version, data, number of removed entries,
/// then one member per index key. Returns 1 written, 0 not found, -1 stale.
const UPDATE_SCRIPT: &str = r#"
local version = redis.call('HGET', KEYS[1], 'v')
if not version then return 0 end
if version ~= ARGV[1] then return -1 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3])
local removed = tonumber(ARGV[4])
for i = 2, #KEYS do
  if i - 1 <= removed then
    redis.call('ZREM', KEYS[i], ARGV[i + 3])
  else
    redis.call('ZADD', KEYS[i], 0, ARGV[i + 3])
  end
end
return 1
"#;

/// Takes a free lease or extends one's own: KEYS[1] lease, ARGV owner, ttl ms.
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

/// Retries inside one operation (reconnects, redirections while a cluster
/// fails over); `bounded` caps the whole operation at the store timeout.
const RETRIES: u32 = 2;
const MAX_RETRY_DELAY: Duration = Duration::from_secs(1);

pub struct RedisStore {
    target: Target,
    /// Connected on first use, so the service starts (and reports not ready)
    /// while Redis is down; the connection reconnects by itself afterwards.
    connection: OnceCell<Connection>,
    tag: String,
    timeout: Duration,
    insert: Script,
    update: Script,
    lease: Script,
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

fn decode(json: &str) -> Result<Withdrawal, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Internal(format!("undecodable record: {e}")))
}

fn encode(withdrawal: &Withdrawal) -> Result<String, StoreError> {
    serde_json::to_string(withdrawal).map_err(|e| StoreError::Internal(e.to_string()))
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
            connection: OnceCell::new(),
            tag: format!("{{{key_prefix}}}"),
            timeout,
            insert: Script::new(INSERT_SCRIPT),
            update: Script::new(UPDATE_SCRIPT),
            lease: Script::new(LEASE_SCRIPT),
        }
    }

    fn record_key(&self, id: &WithdrawalId) -> String {
        format!("{}:w:{id}", self.tag)
    }

    fn index_key(&self, index: &IndexKey) -> String {
        format!("{}:idx:{}", self.tag, index.suffix())
    }

    async fn connection(&self) -> Result<Connection, StoreError> {
        self.connection.get_or_try_init(|| self.connect()).await.cloned().map_err(classify)
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
            pipe.hget(self.record_key(id), "d");
        }
        let mut conn = self.connection().await?;
        let raw: Vec<Option<String>> = pipe.query_async(&mut conn).await.map_err(classify)?;
        raw.iter().map(|json| json.as_deref().map(decode).transpose()).collect()
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
            let mut invocation = self.insert.key(self.record_key(&withdrawal.id));
            for (key, _) in &entries {
                invocation.key(self.index_key(key));
            }
            invocation.arg(withdrawal.version).arg(encode(withdrawal)?);
            for (_, member) in &entries {
                invocation.arg(member);
            }
            let mut conn = self.connection().await?;
            let existing: Option<String> = run_script(&invocation, &mut conn).await?;
            match existing {
                None => Ok(Inserted::Created),
                Some(json) => Ok(Inserted::Existing(Box::new(decode(&json)?))),
            }
        })
        .await
    }

    async fn get(&self, id: &WithdrawalId) -> Result<Option<Withdrawal>, StoreError> {
        self.bounded(async {
            let mut conn = self.connection().await?;
            let json: Option<String> =
                redis::cmd("HGET").arg(self.record_key(id)).arg("d").query_async(&mut conn).await.map_err(classify)?;
            json.as_deref().map(decode).transpose()
        })
        .await
    }

    async fn update(&self, current: &Withdrawal, next: &Withdrawal) -> Result<Updated, StoreError> {
        check_update(current, next)?;
        self.bounded(async {
            let (removed, added) = index::changes(current, next);
            let entries: Vec<&IndexEntry> = removed.iter().chain(&added).collect();
            let mut invocation = self.update.key(self.record_key(&next.id));
            for (key, _) in &entries {
                invocation.key(self.index_key(key));
            }
            invocation.arg(current.version).arg(next.version).arg(encode(next)?).arg(removed.len());
            for (_, member) in &entries {
                invocation.arg(member);
            }
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

    async fn members(&self, range: IndexRange<'_>) -> Result<Vec<String>, StoreError> {
        self.bounded(async {
            let mut conn = self.connection().await?;
            redis::cmd("ZRANGEBYLEX")
                .arg(self.index_key(range.index))
                .arg(range.after.map_or_else(|| "-".to_owned(), |m| format!("({m}")))
                .arg(range.until.map_or_else(|| "+".to_owned(), |m| format!("[{m}")))
                .arg("LIMIT")
                .arg(0)
                .arg(range.limit)
                .query_async(&mut conn)
                .await
                .map_err(classify)
        })
        .await
    }

    async fn scan(&self, range: IndexRange<'_>, keep: RecordFilter<'_>) -> Result<IndexPage, StoreError> {
        self.bounded(async {
            let key = self.index_key(range.index);
            // One extra item tells whether another page exists; filtered scans
            // read larger batches to need fewer round trips.
            let wanted = range.limit + 1;
            let batch = wanted.max(100);
            let mut start = range.after.map_or_else(|| "-".to_owned(), |m| format!("({m}"));
            let end = range.until.map_or_else(|| "+".to_owned(), |m| format!("[{m}"));
            let mut items: Vec<(String, Withdrawal)> = Vec::new();
            loop {
                let mut conn = self.connection().await?;
                let members: Vec<String> = redis::cmd("ZRANGEBYLEX")
                    .arg(&key)
                    .arg(&start)
                    .arg(&end)
                    .arg("LIMIT")
                    .arg(0)
                    .arg(batch)
                    .query_async(&mut conn)
                    .await
                    .map_err(classify)?;
                let exhausted = members.len() < batch;
                let parsed: Vec<(&String, WithdrawalId)> =
                    members.iter().filter_map(|m| Some((m, index::id_of_member(m)?))).collect();
                let ids: Vec<WithdrawalId> = parsed.iter().map(|(_, id)| id.clone()).collect();
                let records = self.fetch_records(&ids).await?;
                let found =
                    parsed.into_iter().zip(records).filter_map(|((member, _), record)| Some((member.clone(), record?)));
                items.extend(found.filter(|(_, w)| keep(w)));
                match members.last() {
                    Some(last) if !exhausted && items.len() < wanted => start = format!("({last}"),
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
                pipe.zcard(self.index_key(index));
            }
            let mut conn = self.connection().await?;
            pipe.query_async(&mut conn).await.map_err(classify)
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
