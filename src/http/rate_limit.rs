//! Per-caller rate limits: a token bucket per token (keyed by a digest, never
//! the token itself), and a stricter one per client IP for failed
//! authentication, so a brute-force attempt is slowed before it is checked.
//! Limits are per replica.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// Entries idle this long are forgotten when the table grows.
const IDLE_EVICTION: Duration = Duration::from_secs(600);
const EVICT_ABOVE_ENTRIES: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketSpec {
    /// Tokens added per second.
    pub rate: f64,
    /// Most tokens held at once (the burst).
    pub burst: f64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn full(spec: BucketSpec, now: Instant) -> Bucket {
        Bucket { tokens: spec.burst, updated: now }
    }

    fn refill(&mut self, spec: BucketSpec, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * spec.rate).min(spec.burst);
        self.updated = now;
    }

    /// Takes one token, or says how long until one is there.
    fn take(&mut self, spec: BucketSpec, now: Instant) -> Result<(), Duration> {
        self.refill(spec, now);
        if let Some(wait) = self.until_one_token(spec) {
            return Err(wait);
        }
        self.tokens -= 1.0;
        Ok(())
    }

    /// How long until the bucket holds a whole token; `None` while it does.
    fn until_one_token(&self, spec: BucketSpec) -> Option<Duration> {
        (self.tokens < 1.0).then(|| Duration::from_secs_f64((1.0 - self.tokens) / spec.rate))
    }
}

/// A table of buckets by key.
pub struct Buckets<K> {
    spec: BucketSpec,
    buckets: Mutex<HashMap<K, Bucket>>,
    /// Until when (milliseconds after `epoch`) some bucket may hold less
    /// than one token. The failed-authentication table is checked on every
    /// request; while no client is being refused, the check takes no lock
    /// (which both HTTP workers would take for every request).
    may_refuse_until: AtomicU64,
    epoch: Instant,
}

impl<K: std::hash::Hash + Eq + Clone> Buckets<K> {
    pub fn new(spec: BucketSpec) -> Self {
        Buckets {
            spec,
            buckets: Mutex::new(HashMap::new()),
            may_refuse_until: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    fn millis_since_epoch(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_millis().try_into().unwrap_or(u64::MAX)
    }

    pub fn take(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > EVICT_ABOVE_ENTRIES {
            buckets.retain(|_, b| now.saturating_duration_since(b.updated) < IDLE_EVICTION);
        }
        let spec = self.spec;
        let bucket = buckets.entry(key.clone()).or_insert_with(|| Bucket::full(spec, now));
        let taken = bucket.take(spec, now);
        if let Some(wait) = bucket.until_one_token(spec) {
            // Rounded up: the lock-free answer must never say "not exhausted" early.
            let until = self.millis_since_epoch(now + wait).saturating_add(1);
            self.may_refuse_until.fetch_max(until, Ordering::Relaxed);
        }
        taken
    }

    /// Whether a bucket is empty, without taking from it.
    pub fn is_exhausted(&self, key: &K, now: Instant) -> Option<Duration> {
        // Relaxed is enough: a take racing with this check is one attempt let
        // through, as it would have been a moment earlier.
        if self.millis_since_epoch(now) >= self.may_refuse_until.load(Ordering::Relaxed) {
            return None;
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.get_mut(key)?;
        bucket.refill(self.spec, now);
        bucket.until_one_token(self.spec)
    }
}

pub struct RateLimiter {
    pub per_token: Buckets<[u8; 16]>,
    pub failed_auth_per_ip: Buckets<IpAddr>,
}

impl RateLimiter {
    pub fn new(per_token: BucketSpec, failed_auth_per_ip: BucketSpec) -> RateLimiter {
        RateLimiter { per_token: Buckets::new(per_token), failed_auth_per_ip: Buckets::new(failed_auth_per_ip) }
    }

    /// The key a token is counted under: a digest, so the table never holds
    /// a usable credential.
    pub fn token_key(token: &str) -> [u8; 16] {
        Self::key_of_digest(&Sha256::digest(token.as_bytes()).into())
    }

    /// The key of a token whose SHA-256 digest is already known (the
    /// authenticator computes it to check the token).
    pub fn key_of_digest(digest: &[u8; 32]) -> [u8; 16] {
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        key
    }
}

/// Whole seconds for `Retry-After`, at least 1.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: BucketSpec = BucketSpec { rate: 2.0, burst: 3.0 };

    #[test]
    fn a_burst_then_the_steady_rate() {
        let buckets = Buckets::new(SPEC);
        let start = Instant::now();
        for _ in 0..3 {
            assert!(buckets.take(&"a", start).is_ok());
        }
        let wait = buckets.take(&"a", start).unwrap_err();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-9, "{wait:?}");
        assert!(buckets.take(&"b", start).is_ok(), "keys are independent");
        assert!(buckets.take(&"a", start + Duration::from_millis(500)).is_ok());
        assert!(buckets.take(&"a", start + Duration::from_millis(500)).is_err());
        assert!(buckets.take(&"a", start + Duration::from_secs(60)).is_ok(), "refills up to the burst");
    }

    #[test]
    fn exhaustion_is_visible_without_taking() {
        let buckets = Buckets::new(SPEC);
        let start = Instant::now();
        assert_eq!(buckets.is_exhausted(&"ip", start), None);
        for _ in 0..3 {
            let _ = buckets.take(&"ip", start);
        }
        assert!(buckets.is_exhausted(&"ip", start).is_some());
        assert_eq!(buckets.is_exhausted(&"ip", start + Duration::from_secs(1)), None);
    }

    #[test]
    fn exhaustion_is_seen_by_the_lock_free_check_until_the_bucket_refills() {
        let buckets = Buckets::new(SPEC);
        let start = Instant::now();
        for _ in 0..3 {
            assert!(buckets.take(&"ip", start).is_ok());
        }
        // Zero tokens at `start`: one is back after 500 ms.
        assert!(buckets.is_exhausted(&"ip", start + Duration::from_millis(499)).is_some());
        assert_eq!(buckets.is_exhausted(&"ip", start + Duration::from_millis(501)), None);
        assert!(buckets.take(&"other", start).is_ok(), "another key's bucket is full");
        assert_eq!(buckets.is_exhausted(&"other", start), None);
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_seconds(Duration::from_millis(10)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1500)), 2);
    }

    #[test]
    fn token_keys_are_digests() {
        let key = RateLimiter::token_key("secret-token-0123456789");
        assert_ne!(&key[..], &b"secret-token-012"[..]);
        assert_eq!(key, RateLimiter::token_key("secret-token-0123456789"));
        let digest: [u8; 32] = Sha256::digest(b"secret-token-0123456789").into();
        assert_eq!(RateLimiter::key_of_digest(&digest), key);
    }
}
