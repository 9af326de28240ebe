//! Where retention puts a terminal record before deleting it: one JSON line
//! in a file per day, or a signed POST per record. A record is deleted only
//! after its archive write succeeded, so a failing archive keeps records in
//! the store (and retention retries them on its next run).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rand::Rng;
use reqwest::StatusCode;

use crate::config::ArchiveSettings;
use crate::domain::Withdrawal;
use crate::tickets::signature;

#[derive(Debug, thiserror::Error)]
#[error("archive write failed: {0}")]
pub struct ArchiveError(pub String);

#[async_trait]
pub trait Archive: Send + Sync + 'static {
    /// A short name for logs and metrics.
    fn name(&self) -> &'static str;

    /// Writes the record durably, or says why not. `expired_at` picks the
    /// file of a file archive.
    async fn write(&self, withdrawal: &Withdrawal, expired_at: DateTime<Utc>) -> Result<(), ArchiveError>;
}

/// Stable per record version: a receiver that already has it can drop a
/// repeat (a retry, or a second attempt after a failed delete).
pub fn idempotency_key(withdrawal: &Withdrawal) -> String {
    format!("expire:{}:{}", withdrawal.id, withdrawal.version)
}

pub fn build_archive(config: Option<&ArchiveSettings>) -> Option<Arc<dyn Archive>> {
    match config? {
        ArchiveSettings::File { dir } => Some(Arc::new(FileArchive { dir: dir.clone() })),
        ArchiveSettings::Url { url, secret, timeout, max_attempts } => {
            let client = reqwest::Client::builder()
                .timeout(*timeout)
                .user_agent(concat!("withdrawal-tracker/", env!("CARGO_PKG_VERSION")))
                .build()
                .expect("an HTTP client with default TLS builds");
            Some(Arc::new(UrlArchive {
                client,
                url: url.clone(),
                secret: secret.expose().to_owned(),
                max_attempts: *max_attempts,
                first_retry_delay: FIRST_RETRY_DELAY,
            }))
        }
    }
}

/// `<dir>/withdrawals-YYYY-MM-DD.jsonl`, appended one whole line per write
/// and flushed to disk before the write counts as done.
pub struct FileArchive {
    pub dir: PathBuf,
}

impl FileArchive {
    pub fn path_for(&self, expired_at: DateTime<Utc>) -> PathBuf {
        self.dir.join(format!("withdrawals-{}.jsonl", expired_at.format("%Y-%m-%d")))
    }
}

#[async_trait]
impl Archive for FileArchive {
    fn name(&self) -> &'static str {
        "file"
    }

    async fn write(&self, withdrawal: &Withdrawal, expired_at: DateTime<Utc>) -> Result<(), ArchiveError> {
        let mut line = serde_json::to_vec(withdrawal).map_err(|e| ArchiveError(e.to_string()))?;
        line.push(b'\n');
        let (dir, path) = (self.dir.clone(), self.path_for(expired_at));
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            std::fs::create_dir_all(&dir)?;
            let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
            // One write of the whole line: appends from several writers never interleave.
            file.write_all(&line)?;
            file.sync_data()
        })
        .await
        .map_err(|e| ArchiveError(e.to_string()))?
        .map_err(|e| ArchiveError(e.to_string()))
    }
}

const FIRST_RETRY_DELAY: Duration = Duration::from_millis(200);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

/// POSTs the record's JSON, signed like the ticket webhook
/// (`X-Tracker-Signature: sha256=<HMAC of the body>`), with an
/// `Idempotency-Key`; retries transport errors, 429 and 5xx with doubling,
/// jittered delays.
pub struct UrlArchive {
    pub client: reqwest::Client,
    pub url: String,
    pub secret: String,
    pub max_attempts: u32,
    pub first_retry_delay: Duration,
}

#[async_trait]
impl Archive for UrlArchive {
    fn name(&self) -> &'static str {
        "url"
    }

    async fn write(&self, withdrawal: &Withdrawal, _expired_at: DateTime<Utc>) -> Result<(), ArchiveError> {
        let body = serde_json::to_vec(withdrawal).map_err(|e| ArchiveError(e.to_string()))?;
        let key = idempotency_key(withdrawal);
        let signed = signature(&self.secret, &body);
        let mut delay = self.first_retry_delay;
        let mut last_error = String::new();
        for attempt in 1..=self.max_attempts {
            let sent = self
                .client
                .post(&self.url)
                .header("content-type", "application/json")
                .header("idempotency-key", &key)
                .header("x-tracker-signature", &signed)
                .body(body.clone())
                .send()
                .await;
            let retryable = match sent {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) => {
                    let status = response.status();
                    // Never the URL: it may carry a credential.
                    last_error = format!("the archive URL answered {status}");
                    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
                }
                Err(error) => {
                    last_error = format!("the archive URL: {}", error.without_url());
                    true
                }
            };
            if !retryable || attempt == self.max_attempts {
                break;
            }
            let jitter = rand::rng().random_range(0.5..1.0);
            tokio::time::sleep(delay.mul_f64(jitter)).await;
            delay = (delay * 2).min(MAX_RETRY_DELAY);
        }
        Err(ArchiveError(last_error))
    }
}
