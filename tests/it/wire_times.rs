//! One time format on the wire: every time an endpoint writes, in JSON or
//! CSV (and in the ticket a webhook receives), is UTC with `Z`, even for a
//! withdrawal registered with another offset.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::app::{tron_hash, withdrawal, Backend, TestApp, SUPPORT_TOKEN};
use crate::support::escalation::{sweep_at, webhook};
use crate::support::fakes::{Mode, WebhookReceiver};

/// Sent as 17:00 in UTC+8; the API writes it as 09:00Z.
const REQUESTED_AT: &str = "2026-03-02T17:00:00+08:00";
const REQUESTED_AT_UTC: &str = "2026-03-02T09:00:00Z";

fn looks_like_a_time(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 20 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[7] == b'-' && b[10] == b'T'
}

fn times_in(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::String(text) if looks_like_a_time(text) => found.push(text.clone()),
        Value::Array(items) => items.iter().for_each(|item| times_in(item, found)),
        Value::Object(fields) => fields.values().for_each(|field| times_in(field, found)),
        _ => {}
    }
}

/// Every time in `body` ends in `Z`; `at_least` of them, so a shape change
/// cannot make the check vacuous.
fn assert_utc(endpoint: &str, body: &Value, at_least: usize) {
    let mut found = Vec::new();
    times_in(body, &mut found);
    assert!(found.len() >= at_least, "{endpoint}: {} times, expected at least {at_least}: {body}", found.len());
    for time in &found {
        assert!(time.ends_with('Z'), "{endpoint} wrote {time}: {body}");
    }
}

async fn json_of(endpoint: &str, response: reqwest::Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK, "{endpoint}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn every_endpoint_writes_times_in_utc_with_z() {
    let receiver = WebhookReceiver::start().await;
    receiver.set_mode(Mode::Rejecting);
    let app = TestApp::spawn_with(Backend::Memory, webhook(&receiver.url)).await;

    let created = app.register(&withdrawal("w-1", json!({"requested_at": REQUESTED_AT}))).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let view: Value = created.json().await.unwrap();
    assert_eq!(view["requested_at"], REQUESTED_AT_UTC);
    assert_utc("POST /v1/withdrawals", &view, 4);
    let view = json_of("PATCH", app.patch("w-1", &json!({"tx_hash": tron_hash("aa")})).await).await;
    assert_utc("PATCH /v1/withdrawals/{id}", &view, 5);

    // Overdue: the ticket opens, and its delivery dies (the receiver refuses).
    sweep_at(&app, "2026-03-04T12:00:00Z").await;
    let view = json_of("GET", app.get_as("/v1/withdrawals/w-1", SUPPORT_TOKEN).await).await;
    assert_eq!(view["requested_at"], REQUESTED_AT_UTC);
    assert_utc("GET /v1/withdrawals/{id}", &view, 6);
    let list = json_of("GET list", app.get_as("/v1/withdrawals", SUPPORT_TOKEN).await).await;
    assert_utc("GET /v1/withdrawals", &list, 6);
    let overdue = json_of("GET overdue", app.get_as("/v1/overdue", SUPPORT_TOKEN).await).await;
    assert_eq!(overdue["items"][0]["requested_at"], REQUESTED_AT_UTC, "{overdue}");
    assert_utc("GET /v1/overdue", &overdue, 2);
    let dead = json_of("GET tickets", app.get_as("/v1/tickets?status=dead", SUPPORT_TOKEN).await).await;
    assert_utc("GET /v1/tickets", &dead, 7);

    let csv = app.get_csv("/v1/overdue", SUPPORT_TOKEN).await.text().await.unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|line| line.split(',').collect()).collect();
    assert_eq!((rows[0][8], rows[0][9]), ("requested_at", "overdue_at"), "{csv}");
    assert_eq!(rows.len(), 2, "{csv}");
    assert_eq!(rows[1][8], REQUESTED_AT_UTC, "{csv}");
    assert!(looks_like_a_time(rows[1][9]) && rows[1][9].ends_with('Z'), "{csv}");

    receiver.set_mode(Mode::Normal);
    let retried = json_of("retry", app.post_json("/v1/tickets/w-1/retry", SUPPORT_TOKEN, &json!({})).await).await;
    assert_utc("POST /v1/tickets/{id}/retry", &retried, 7);
    sweep_at(&app, "2026-03-04T12:00:00Z").await;
    let resolved = json_of("resolve", app.post_json("/v1/tickets/w-1/resolve", SUPPORT_TOKEN, &json!({})).await).await;
    assert_utc("POST /v1/tickets/{id}/resolve", &resolved, 8);
    let link = app.post_json("/v1/status-links", SUPPORT_TOKEN, &json!({ "withdrawal_id": "w-1" })).await;
    assert_eq!(link.status(), StatusCode::CREATED);
    assert_utc("POST /v1/status-links", &link.json().await.unwrap(), 1);

    let delivered = receiver.accepted();
    assert!(!delivered.is_empty(), "the retried delivery reached the receiver");
    for ticket in delivered {
        let body: Value = serde_json::from_str(&ticket.body).unwrap();
        assert_eq!(body["withdrawal"]["requested_at"], REQUESTED_AT_UTC, "{body}");
        assert_utc("the webhook's ticket", &body, 5);
    }
}
