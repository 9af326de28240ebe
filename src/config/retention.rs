//! `[retention]`: how long terminal withdrawals stay in the store, and where
//! they are archived before they leave it.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{check_url, HumanDuration, Problems, Secret, MIN_TOKEN_LEN};

#[derive(Debug, Clone)]
pub struct RetentionSettings {
    /// Zero keeps terminal withdrawals forever.
    pub terminal_for: Duration,
    /// Zero keeps no tombstone.
    pub tombstone_for: Duration,
    pub interval: Duration,
    pub archive: Option<ArchiveSettings>,
}

#[derive(Debug, Clone)]
pub enum ArchiveSettings {
    File { dir: PathBuf },
    Url { url: String, secret: Secret, timeout: Duration, max_attempts: u32 },
}

/// `[retention]`: how long terminal withdrawals stay in the store.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// A terminal withdrawal is deleted this long after it became terminal;
    /// `"0"` keeps everything forever.
    pub terminal_for: HumanDuration,
    /// How long an expired id is remembered, so ingest and support are told
    /// it expired rather than that it never existed; `"0"` keeps none.
    pub tombstone_for: HumanDuration,
    /// How often the retention job looks for expired withdrawals.
    pub interval: HumanDuration,
    /// Where each record goes before it is deleted; none: nowhere.
    pub archive: Option<ArchiveConfig>,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            terminal_for: HumanDuration(Duration::from_secs(90 * 86_400)),
            tombstone_for: HumanDuration(Duration::from_secs(30 * 86_400)),
            interval: HumanDuration(Duration::from_secs(60)),
            archive: None,
        }
    }
}

/// `[retention.archive]`: one JSON line per record in a file per day, or a
/// signed POST per record.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ArchiveConfig {
    /// Appends to `<dir>/withdrawals-YYYY-MM-DD.jsonl` (the UTC day of the expiry).
    File { dir: PathBuf },
    /// POSTs the record with `Idempotency-Key` and `X-Tracker-Signature`.
    Url {
        url: String,
        /// Or `TRACKER_RETENTION_ARCHIVE_SECRET`.
        #[serde(default)]
        secret: Secret,
        #[serde(default = "default_archive_timeout")]
        timeout: HumanDuration,
        #[serde(default = "default_archive_attempts")]
        max_attempts: u32,
    },
}

fn default_archive_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(10))
}

fn default_archive_attempts() -> u32 {
    5
}

impl RetentionConfig {
    pub(super) fn settings(&self, problems: &mut Problems) -> Option<RetentionSettings> {
        let mark = problems.mark();
        if self.interval.0 < Duration::from_millis(100) {
            problems.add("retention.interval", "must be at least 100ms");
        }
        let archive = match &self.archive {
            None => None,
            Some(ArchiveConfig::File { dir }) => Some(ArchiveSettings::File { dir: dir.clone() }),
            Some(ArchiveConfig::Url { url, secret, timeout, max_attempts }) => {
                problems.take(check_url("retention.archive.url", url));
                if secret.expose().len() < MIN_TOKEN_LEN {
                    problems.add("retention.archive.secret", format!("must be at least {MIN_TOKEN_LEN} bytes"));
                }
                if timeout.0.is_zero() {
                    problems.add("retention.archive.timeout", "must be greater than zero");
                }
                if *max_attempts == 0 {
                    problems.add("retention.archive.max_attempts", "must be at least 1");
                }
                Some(ArchiveSettings::Url {
                    url: url.clone(),
                    secret: secret.clone(),
                    timeout: timeout.0,
                    max_attempts: *max_attempts,
                })
            }
        };
        problems.clean_since(mark).then_some(RetentionSettings {
            terminal_for: self.terminal_for.0,
            tombstone_for: self.tombstone_for.0,
            interval: self.interval.0,
            archive,
        })
    }
}
