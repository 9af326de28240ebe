//! Retention end to end, on both stores: terminal withdrawals leave the
//! store `retention.terminal_for` after they became terminal (not before,
//! never with `"0"`), archived first when an archive is configured, and an
//! expired id answers 410 `withdrawal_expired` to ingest and support but the
//! same 404 as a never-existing id to users. Time moves by the ManualClock.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use withdrawal_tracker::config::{ArchiveConfig, Config, HumanDuration, Secret};
use withdrawal_tracker::domain::escalation::{Escalation, TicketStatus, Trigger};
use withdrawal_tracker::domain::WithdrawalId;
use withdrawal_tracker::tickets::signature;
use withdrawal_tracker::tracker::retention::{Retention, RetentionSettings};

use crate::support::app::{expect_error, withdrawal, Backend, TestApp, INGEST_TOKEN, SUPPORT_TOKEN};
use crate::support::fakes::{Mode, WebhookReceiver};

const SEVEN_DAYS: Duration = Duration::from_secs(7 * 86_400);
const ARCHIVE_SECRET: &str = "archive-secret-0123456789";

fn seven_days(config: &mut Config) {
    config.retention.terminal_for = HumanDuration(SEVEN_DAYS);
}

/// Registers and cancels `id`: terminal at the clock's current time.
async fn cancelled(app: &TestApp, id: &str, user: &str) {
    let response = app.register(&withdrawal(id, json!({ "user_id": user }))).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = app.patch(id, &json!({"state": "cancelled", "reason": "rejected"})).await;
    assert_eq!(response.status(), StatusCode::OK);
}

fn advance(app: &TestApp, by: Duration) {
    app.clock.set(app.clock_now() + chrono::Duration::from_std(by).unwrap());
}

fn counter(app: &TestApp, name: &str, labels: &[&str]) -> u64 {
    let metrics = &app.service.metrics;
    match name {
        "expired" => metrics.retention_expired.with_label_values(labels).get(),
        _ => metrics.retention_archived.with_label_values(labels).get(),
    }
}

async fn expired_withdrawals_leave_at_terminal_for_and_not_before(backend: Backend<'static>) {
    let app = TestApp::spawn_with(backend, seven_days).await;
    cancelled(&app, "w-1", "alice").await;
    let pending = app.register(&withdrawal("w-pending", json!({}))).await;
    assert_eq!(pending.status(), StatusCode::CREATED);

    advance(&app, SEVEN_DAYS - Duration::from_millis(1));
    let report = app.retention.expire_once().await.unwrap();
    assert_eq!(report.expired, 0, "{report:?}");
    assert_eq!(app.get_as("/v1/withdrawals/w-1", SUPPORT_TOKEN).await.status(), StatusCode::OK);

    advance(&app, Duration::from_millis(1));
    let report = app.retention.expire_once().await.unwrap();
    assert_eq!((report.expired, report.examined), (1, 1), "{report:?}");
    assert_eq!(counter(&app, "expired", &["cancelled"]), 1);
    assert_eq!(app.retention.expire_once().await.unwrap().expired, 0, "gone once");
    let listed: Vec<String> = app.list_all("").await.into_keys().collect();
    assert_eq!(listed, ["w-pending"], "in no list any more; what is in flight stays");

    // Those who may know the id existed are told it expired ...
    for token in [INGEST_TOKEN, SUPPORT_TOKEN] {
        let body =
            expect_error(app.get_as("/v1/withdrawals/w-1", token).await, StatusCode::GONE, "withdrawal_expired").await;
        assert!(body["error"]["message"].as_str().unwrap().contains("w-1"), "{body}");
    }
    // ... a user, even its owner, gets what a never-existing id gets.
    for user in ["alice", "bob"] {
        let token = app.user_token(user);
        let expired =
            expect_error(app.get_as("/v1/withdrawals/w-1", &token).await, StatusCode::NOT_FOUND, "not_found").await;
        let never =
            expect_error(app.get_as("/v1/withdrawals/w-never", &token).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_eq!(expired, never, "{user}");
    }
    expect_error(app.get_as("/v1/withdrawals/w-never", SUPPORT_TOKEN).await, StatusCode::NOT_FOUND, "not_found").await;

    // Writes on the expired id, by ingest and support, are told the same;
    // a late resend of the registration registers nothing.
    let resend = app.register(&withdrawal("w-1", json!({ "user_id": "alice" }))).await;
    expect_error(resend, StatusCode::GONE, "withdrawal_expired").await;
    let cancel = app.patch("w-1", &json!({"state": "cancelled", "reason": "again"})).await;
    expect_error(cancel, StatusCode::GONE, "withdrawal_expired").await;
    let retry = app.post_json("/v1/tickets/w-1/retry", SUPPORT_TOKEN, &json!({})).await;
    expect_error(retry, StatusCode::GONE, "withdrawal_expired").await;
    let never = app.patch("w-never", &json!({"state": "cancelled", "reason": "x"})).await;
    expect_error(never, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(app.list_all("").await.into_keys().collect::<Vec<_>>(), ["w-pending"]);
}

async fn zero_keeps_terminal_withdrawals_forever(backend: Backend<'static>) {
    let app = TestApp::spawn_with(backend, |c| c.retention.terminal_for = HumanDuration(Duration::ZERO)).await;
    cancelled(&app, "w-1", "alice").await;
    advance(&app, Duration::from_secs(10 * 365 * 86_400));
    let report = app.retention.expire_once().await.unwrap();
    assert!(!report.ran && report.examined == 0, "{report:?}");
    assert_eq!(app.get_as("/v1/withdrawals/w-1", SUPPORT_TOKEN).await.status(), StatusCode::OK);
}

/// Replicas each run the job: the lease lets one do the work, and each
/// record is deleted (and counted) once.
async fn two_replicas_expire_each_record_once(backend: Backend<'static>) {
    let app = TestApp::spawn_with(backend, seven_days).await;
    for i in 0..30 {
        cancelled(&app, &format!("w-{i:02}"), "alice").await;
    }
    advance(&app, SEVEN_DAYS);
    let settings =
        RetentionSettings { terminal_for: SEVEN_DAYS, tombstone_for: SEVEN_DAYS, interval: Duration::from_secs(60) };
    let replicas: Vec<Retention> = (0..2).map(|_| Retention::new(app.service.clone(), None, settings)).collect();
    let runs: Vec<_> = replicas.iter().cloned().map(|r| tokio::spawn(async move { r.expire_once().await })).collect();
    let mut expired = 0;
    let mut ran = 0;
    for run in runs {
        let report = run.await.unwrap().unwrap();
        expired += report.expired;
        ran += usize::from(report.ran);
    }
    assert_eq!(expired, 30);
    assert_eq!(ran, 1, "the other replica found the lease taken");
    assert_eq!(counter(&app, "expired", &["cancelled"]), 30);
    assert!(app.list_all("").await.is_empty());
}

/// A record whose ticket delivery is still due, or whose ticket is still
/// open, is kept past its time; the record itself stays whole.
async fn a_due_ticket_delivery_or_an_open_ticket_keeps_the_record(backend: Backend<'static>) {
    let app = TestApp::spawn_with(backend, seven_days).await;
    cancelled(&app, "w-due", "alice").await;
    cancelled(&app, "w-open", "alice").await;
    // Written directly, as the outbox and a payee mismatch leave them: this
    // test has no ticket sink to make them.
    let mut kept = Vec::new();
    for (id, open) in [("w-due", false), ("w-open", true)] {
        let id = WithdrawalId::parse(id).unwrap();
        let current = app.service.store.get(&id).await.unwrap().unwrap();
        let mut next = current.clone();
        if open {
            next.escalation = Some(Escalation {
                status: TicketStatus::Open,
                level: 1,
                reason: Trigger::PayeeMismatch,
                opened_at: app.clock_now(),
                raised_at: None,
                resolved_at: None,
                raise_at: None,
                ticket_id: Some("T-1".into()),
                deliveries: Vec::new(),
            });
        } else {
            next.next_deadline_at = Some(app.clock_now() + chrono::Duration::days(30));
        }
        next.version += 1;
        app.service.store.update(&current, &next).await.unwrap();
        kept.push(next);
    }
    advance(&app, SEVEN_DAYS);
    let report = app.retention.expire_once().await.unwrap();
    assert_eq!((report.expired, report.kept), (0, 2), "{report:?}");
    for next in kept {
        assert_eq!(app.service.store.get(&next.id).await.unwrap(), Some(next));
    }
}

async fn the_archive_file_holds_each_record_before_it_is_deleted(backend: Backend<'static>) {
    let dir = tempfile::tempdir().unwrap();
    let archive_dir = dir.path().join("archive");
    let path = archive_dir.clone();
    let app = TestApp::spawn_with(backend, move |c| {
        seven_days(c);
        c.retention.archive = Some(ArchiveConfig::File { dir: path });
    })
    .await;
    cancelled(&app, "w-1", "alice").await;
    cancelled(&app, "w-2", "bob").await;
    let stored = app.service.store.get(&WithdrawalId::parse("w-1").unwrap()).await.unwrap().unwrap();
    advance(&app, SEVEN_DAYS);
    let report = app.retention.expire_once().await.unwrap();
    assert_eq!((report.archived, report.expired), (2, 2), "{report:?}");
    assert_eq!(counter(&app, "archived", &["file", "ok"]), 2);
    let file = archive_dir.join(format!("withdrawals-{}.jsonl", app.clock_now().format("%Y-%m-%d")));
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "one line per record: {text}");
    assert_eq!(lines[0], serde_json::to_value(&stored).unwrap(), "the whole record as stored");
    assert_eq!(lines[1]["id"], "w-2");
}

async fn a_failing_archive_keeps_the_record(backend: Backend<'static>) {
    let dir = tempfile::tempdir().unwrap();
    // A file where the archive directory should be: nothing can be written.
    let blocked = dir.path().join("not-a-dir");
    std::fs::write(&blocked, b"").unwrap();
    let app = TestApp::spawn_with(backend, move |c| {
        seven_days(c);
        c.retention.archive = Some(ArchiveConfig::File { dir: blocked });
    })
    .await;
    cancelled(&app, "w-1", "alice").await;
    advance(&app, SEVEN_DAYS);
    let report = app.retention.expire_once().await.unwrap();
    assert_eq!((report.archive_failures, report.expired), (1, 0), "{report:?}");
    assert_eq!(counter(&app, "archived", &["file", "failed"]), 1);
    assert_eq!(app.get_as("/v1/withdrawals/w-1", SUPPORT_TOKEN).await.status(), StatusCode::OK);
    assert_eq!(counter(&app, "expired", &["cancelled"]), 0);
}

fn url_archive(url: String) -> impl FnOnce(&mut Config) {
    move |c: &mut Config| {
        seven_days(c);
        c.retention.archive = Some(ArchiveConfig::Url {
            url,
            secret: Secret::from(ARCHIVE_SECRET),
            timeout: HumanDuration(Duration::from_secs(5)),
            max_attempts: 10,
        });
    }
}

/// Signed like the ticket webhook, retried while the receiver is down, with
/// one idempotency key per record version; deleted only once accepted.
async fn the_archive_url_gets_a_signed_retried_post_with_an_idempotency_key(backend: Backend<'static>) {
    let receiver = WebhookReceiver::start().await;
    receiver.set_mode(Mode::Down);
    let app = TestApp::spawn_with(backend, url_archive(receiver.url.clone())).await;
    cancelled(&app, "w-1", "alice").await;
    let stored = app.service.store.get(&WithdrawalId::parse("w-1").unwrap()).await.unwrap().unwrap();
    advance(&app, SEVEN_DAYS);
    let retention = app.retention.clone();
    let run = tokio::spawn(async move { retention.expire_once().await });
    let started = std::time::Instant::now();
    while receiver.state.lock().unwrap().refused < 2 {
        assert!(started.elapsed() < Duration::from_secs(10), "the archive was not retried");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.get_as("/v1/withdrawals/w-1", SUPPORT_TOKEN).await.status(), StatusCode::OK, "not yet archived");
    receiver.set_mode(Mode::Normal);
    let report = run.await.unwrap().unwrap();
    assert_eq!((report.archived, report.expired), (1, 1), "{report:?}");
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].signature, signature(ARCHIVE_SECRET, accepted[0].body.as_bytes()));
    assert_eq!(accepted[0].idempotency_key, format!("expire:w-1:{}", stored.version));
    let body: Value = serde_json::from_str(&accepted[0].body).unwrap();
    assert_eq!(body, serde_json::to_value(&stored).unwrap());
    expect_error(app.get_as("/v1/withdrawals/w-1", SUPPORT_TOKEN).await, StatusCode::GONE, "withdrawal_expired").await;
}

/// A refusal that retrying cannot fix (4xx) is not retried; the record stays.
async fn an_archive_url_that_refuses_keeps_the_record(backend: Backend<'static>) {
    let receiver = WebhookReceiver::start().await;
    receiver.set_mode(Mode::Rejecting);
    let app = TestApp::spawn_with(backend, url_archive(receiver.url.clone())).await;
    cancelled(&app, "w-1", "alice").await;
    advance(&app, SEVEN_DAYS);
    let report = app.retention.expire_once().await.unwrap();
    assert_eq!((report.archive_failures, report.expired), (1, 0), "{report:?}");
    assert_eq!(receiver.state.lock().unwrap().refused, 1, "a 400 is final");
    assert_eq!(counter(&app, "archived", &["url", "failed"]), 1);
    assert_eq!(app.get_as("/v1/withdrawals/w-1", SUPPORT_TOKEN).await.status(), StatusCode::OK);
}

/// The 410 and its code are in the contract (`contract.rs` checks the rest).
#[test]
fn the_spec_declares_the_expired_answer() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    let spec: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let get = &spec["paths"]["/v1/withdrawals/{id}"]["get"]["responses"];
    assert_eq!(get["410"]["$ref"].as_str(), Some("#/components/responses/Expired"));
    let codes = spec["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
        .as_sequence()
        .unwrap();
    assert!(codes.iter().any(|c| c.as_str() == Some("withdrawal_expired")));
}

macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test]
            async fn $name() {
                super::$name(crate::support::app::Backend::Memory).await
            })*
        }
        mod redis {
            $(#[tokio::test]
            async fn $name() {
                let server = crate::support::redis::RedisServer::shared();
                let prefix = crate::support::redis::unique_prefix(stringify!($name));
                super::$name(crate::support::app::Backend::Redis(server, prefix)).await
            })*
        }
    };
}

on_both_stores!(
    expired_withdrawals_leave_at_terminal_for_and_not_before,
    zero_keeps_terminal_withdrawals_forever,
    two_replicas_expire_each_record_once,
    a_due_ticket_delivery_or_an_open_ticket_keeps_the_record,
    the_archive_file_holds_each_record_before_it_is_deleted,
    a_failing_archive_keeps_the_record,
    the_archive_url_gets_a_signed_retried_post_with_an_idempotency_key,
    an_archive_url_that_refuses_keeps_the_record,
);
