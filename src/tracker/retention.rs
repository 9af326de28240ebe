//! Retention: terminal withdrawals leave the store `retention.terminal_for`
//! after they became terminal, with every index entry, so Redis memory is
//! bounded by the rate of withdrawals, not their total. Reads the terminal
//! index up to `now - terminal_for` (never all records), archives each
//! record if an archive is configured, then deletes it with
//! [`Store::expire`](crate::store::Store::expire): a compare-and-set on the
//! version it archived, so a record that changed meanwhile stays. A record
//! with a ticket delivery due or a ticket open waits for it.
//!
//! Safe with several replicas: one holds the `retention` lease and does the
//! work (so records are archived once), and the compare-and-set makes a
//! second deleter (a lapsed lease) find nothing to delete.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

use crate::archive::Archive;
use crate::domain::escalation::TicketStatus;
use crate::domain::Withdrawal;
use crate::service::Service;
use crate::store::{Expired, StoreError};

/// Records read per round trip.
const BATCH: usize = 200;
/// Records examined per run at most; the rest wait for the next run.
const MAX_PER_RUN: usize = 5_000;
const LEASE: &str = "retention";

/// Kept past its time while something still needs the record: a ticket
/// delivery still due (e.g. the "resolved" event), or a ticket still open
/// (a wrong payment that completed the withdrawal keeps its ticket open
/// until support resolves it). It expires on the first run after that.
fn still_needed(withdrawal: &Withdrawal) -> bool {
    withdrawal.next_deadline_at.is_some()
        || withdrawal.escalation.as_ref().is_some_and(|e| e.status == TicketStatus::Open)
}

#[derive(Debug, Clone, Copy)]
pub struct RetentionSettings {
    /// Zero: keep everything.
    pub terminal_for: Duration,
    pub tombstone_for: Duration,
    pub interval: Duration,
}

#[derive(Clone)]
pub struct Retention {
    service: Arc<Service>,
    archive: Option<Arc<dyn Archive>>,
    settings: RetentionSettings,
    owner: String,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RetentionReport {
    /// False when another replica holds the lease (or retention is off).
    pub ran: bool,
    pub examined: usize,
    pub expired: usize,
    pub archived: usize,
    pub archive_failures: usize,
    /// Expired by time, but kept for now: a ticket delivery is still due or
    /// a ticket still open, or the record changed between the read and the
    /// delete.
    pub kept: usize,
}

impl Retention {
    pub fn new(service: Arc<Service>, archive: Option<Arc<dyn Archive>>, settings: RetentionSettings) -> Retention {
        let owner = format!("retention-{:016x}", rand::rng().random::<u64>());
        Retention { service, archive, settings, owner }
    }

    /// Longer than a run, renewed every batch; if it lapses anyway the
    /// compare-and-set still deletes each record once.
    fn lease_ttl(&self) -> Duration {
        (self.settings.interval * 3).max(Duration::from_secs(60))
    }

    pub async fn run(self) {
        if self.settings.terminal_for.is_zero() {
            return std::future::pending().await;
        }
        // The first run one interval after start: start-up has enough to do
        // (the layout upgrade this job depends on runs just before).
        let interval = self.settings.interval;
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match self.expire_once().await {
                Ok(report) if report.expired > 0 || report.archive_failures > 0 => {
                    tracing::info!(
                        expired = report.expired,
                        archived = report.archived,
                        archive_failures = report.archive_failures,
                        kept = report.kept,
                        "retention run"
                    )
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "retention run failed; retrying next interval"),
            }
        }
    }

    pub async fn expire_once(&self) -> Result<RetentionReport, StoreError> {
        let mut report = RetentionReport::default();
        let Ok(terminal_for) = chrono::Duration::from_std(self.settings.terminal_for) else {
            return Ok(report);
        };
        if terminal_for.is_zero() {
            return Ok(report);
        }
        let store = &self.service.store;
        let metrics = &self.service.metrics;
        let mut after: Option<String> = None;
        while report.examined < MAX_PER_RUN {
            if !store.try_lease(LEASE, &self.owner, self.lease_ttl()).await? {
                return Ok(report);
            }
            report.ran = true;
            let now = self.service.now();
            let cutoff = now - terminal_for;
            let page = store.terminal_until(cutoff, after.as_deref(), BATCH).await?;
            for (member, withdrawal) in page.items {
                report.examined += 1;
                after = Some(member);
                let expired_by_time = withdrawal.terminal_at().is_some_and(|at| at <= cutoff);
                if !expired_by_time || still_needed(&withdrawal) {
                    report.kept += 1;
                    continue;
                }
                if let Some(archive) = &self.archive {
                    if let Err(error) = archive.write(&withdrawal, now).await {
                        metrics.retention_archived.with_label_values(&[archive.name(), "failed"]).inc();
                        tracing::warn!(withdrawal_id = %withdrawal.id, %error, "archive failed; the record stays");
                        report.archive_failures += 1;
                        // The archive is down: stop here, and retry next run.
                        return Ok(report);
                    }
                    metrics.retention_archived.with_label_values(&[archive.name(), "ok"]).inc();
                    report.archived += 1;
                }
                match store.expire(&withdrawal, now, self.settings.tombstone_for).await? {
                    Expired::Deleted => {
                        metrics.retention_expired.with_label_values(&[withdrawal.state().as_str()]).inc();
                        tracing::debug!(withdrawal_id = %withdrawal.id, "expired");
                        report.expired += 1;
                    }
                    Expired::VersionConflict | Expired::NotFound => report.kept += 1,
                }
            }
            if !page.more {
                break;
            }
        }
        Ok(report)
    }
}
