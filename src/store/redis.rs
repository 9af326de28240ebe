//! The Redis store. Each record is a hash `{v: version, d: json}`; list
//! indexes are sorted sets ordered by member bytes (see `index::sort_key`);
//! SLA deadlines are a sorted set scored by milliseconds. Every write is one
//! Lua script, so a record and its index entries never disagree.
//!
//! All keys share the hash tag `{key_prefix}`, so the scripts stay valid on
//! Redis Cluster (they touch one slot).

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, Script, ServerErrorKind};
use tokio::sync::OnceCell;

use super::index::{self, sort_key, Cursor, IndexKey};
use super::{check_update, Inserted, ListQuery, Page, Store, StoreError, Updated};
use crate::domain::{Withdrawal, WithdrawalId};

const INSERT_SCRIPT: &str = r#"
local existing = redis.call('HGET', KEYS[1], 'd')
if existing then return existing end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2])
for i = 2, 6 do redis.call('ZADD', KEYS[i], 0, ARGV[3]) end
if ARGV[4] ~= '' then redis.call('ZADD', KEYS[7], ARGV[4], ARGV[5]) end
return false
"#;

/// Returns 1 written, 0 not found, -1 version conflict.
const UPDATE_SCRIPT: &str = r#"
local version = redis.call('HGET', KEYS[1], 'v')
if not version then return 0 end
if version ~= ARGV[1] then return -1 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3])
if KEYS[2] ~= KEYS[3] then
  redis.call('ZREM', KEYS[2], ARGV[4])
  redis.call('ZADD', KEYS[3], 0, ARGV[4])
  redis.call('ZREM', KEYS[4], ARGV[4])
  redis.call('ZADD', KEYS[5], 0, ARGV[4])
end
if ARGV[5] == '' then
  redis.call('ZREM', KEYS[6], ARGV[6])
else
  redis.call('ZADD', KEYS[6], ARGV[5], ARGV[6])
end
return 1
"#;

pub struct RedisStore {
    client: redis::Client,
    /// Connected on first use, so the service starts (and reports not ready)
    /// while Redis is down; the manager reconnects by itself afterwards.
    connection: OnceCell<ConnectionManager>,
    tag: String,
    timeout: Duration,
    insert: Script,
    update: Script,
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

fn deadline_score(withdrawal: &Withdrawal) -> String {
    withdrawal.next_deadline_at.map(|at| at.timestamp_millis().to_string()).unwrap_or_default()
}

impl RedisStore {
    /// Parses the URL only; no connection is made until the first operation.
    pub fn new(url: &str, key_prefix: &str, timeout: Duration) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|e| StoreError::Internal(format!("bad redis_url: {e}")))?;
        Ok(RedisStore {
            client,
            connection: OnceCell::new(),
            tag: format!("{{{key_prefix}}}"),
            timeout,
            insert: Script::new(INSERT_SCRIPT),
            update: Script::new(UPDATE_SCRIPT),
        })
    }

    fn record_key(&self, id: &WithdrawalId) -> String {
        format!("{}:w:{id}", self.tag)
    }

    fn index_key(&self, index: &IndexKey) -> String {
        format!("{}:idx:{}", self.tag, index.suffix())
    }

    fn deadlines_key(&self) -> String {
        format!("{}:deadlines", self.tag)
    }

    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        self.connection
            .get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), config))
            .await
            .cloned()
            .map_err(classify)
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

#[async_trait]
impl Store for RedisStore {
    async fn insert(&self, withdrawal: &Withdrawal) -> Result<Inserted, StoreError> {
        self.bounded(async {
            let mut invocation = self.insert.key(self.record_key(&withdrawal.id));
            for index in IndexKey::for_record(withdrawal) {
                invocation.key(self.index_key(&index));
            }
            invocation
                .key(self.deadlines_key())
                .arg(withdrawal.version)
                .arg(encode(withdrawal)?)
                .arg(sort_key(withdrawal))
                .arg(deadline_score(withdrawal))
                .arg(withdrawal.id.as_str());
            let mut conn = self.connection().await?;
            let existing: Option<String> = invocation.invoke_async(&mut conn).await.map_err(classify)?;
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
            let [_, _, old_state, _, old_state_network] = IndexKey::for_record(current);
            let [_, _, new_state, _, new_state_network] = IndexKey::for_record(next);
            let mut invocation = self.update.key(self.record_key(&next.id));
            invocation
                .key(self.index_key(&old_state))
                .key(self.index_key(&new_state))
                .key(self.index_key(&old_state_network))
                .key(self.index_key(&new_state_network))
                .key(self.deadlines_key())
                .arg(current.version)
                .arg(next.version)
                .arg(encode(next)?)
                .arg(sort_key(next))
                .arg(deadline_score(next))
                .arg(next.id.as_str());
            let mut conn = self.connection().await?;
            let outcome: i64 = invocation.invoke_async(&mut conn).await.map_err(classify)?;
            Ok(match outcome {
                1 => Updated::Written,
                0 => Updated::NotFound,
                _ => Updated::VersionConflict,
            })
        })
        .await
    }

    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        self.bounded(async {
            let (index, needs_filter) = IndexKey::plan(query);
            let key = self.index_key(&index);
            // One extra item tells whether another page exists.
            let wanted = query.limit + 1;
            let batch = if needs_filter { wanted.max(100) } else { wanted };
            let mut start = query.after.as_ref().map(|c| format!("({}", c.sort_key())).unwrap_or_else(|| "-".into());
            let mut items: Vec<Withdrawal> = Vec::new();
            loop {
                let mut conn = self.connection().await?;
                let members: Vec<String> = redis::cmd("ZRANGEBYLEX")
                    .arg(&key)
                    .arg(&start)
                    .arg("+")
                    .arg("LIMIT")
                    .arg(0)
                    .arg(batch)
                    .query_async(&mut conn)
                    .await
                    .map_err(classify)?;
                let exhausted = members.len() < batch;
                let ids: Vec<WithdrawalId> = members.iter().filter_map(|m| index::id_of_sort_key(m)).collect();
                let records = self.fetch_records(&ids).await?;
                items.extend(records.into_iter().flatten().filter(|w| !needs_filter || index::matches(query, w)));
                match members.last() {
                    Some(last) if !exhausted && items.len() < wanted => start = format!("({last}"),
                    _ => break,
                }
            }
            let more = items.len() > query.limit;
            items.truncate(query.limit);
            let next = if more { items.last().map(Cursor::after) } else { None };
            Ok(Page { items, next })
        })
        .await
    }

    async fn due(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<WithdrawalId>, StoreError> {
        self.bounded(async {
            let mut conn = self.connection().await?;
            let ids: Vec<String> = redis::cmd("ZRANGEBYSCORE")
                .arg(self.deadlines_key())
                .arg("-inf")
                .arg(until.timestamp_millis())
                .arg("LIMIT")
                .arg(0)
                .arg(limit)
                .query_async(&mut conn)
                .await
                .map_err(classify)?;
            ids.iter().map(|id| WithdrawalId::parse(id).map_err(|e| StoreError::Internal(e.to_string()))).collect()
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
