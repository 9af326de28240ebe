//! SLA and escalation end to end: the sweeper against a webhook receiver and
//! fake Zendesk and Jira servers, with the clock set by the test.

use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;
use withdrawal_tracker::config::{JiraConfig, Secret, SinkKind, ZendeskConfig};
use withdrawal_tracker::domain::observation::{NetworkRules, Observation};
use withdrawal_tracker::domain::onchain::{Asset, BaseUnits, BlockRef, Payment, ReplacementKey, TxInfo, TxLocation};
use withdrawal_tracker::domain::{State, WithdrawalId};

use crate::support::app::{expect_error, tron_hash, withdrawal, Backend, TestApp, INGEST_TOKEN, SUPPORT_TOKEN};
use crate::support::escalation::{at, complete, sweep_at, webhook, OVERDUE, WEBHOOK_SECRET};
use crate::support::fakes::{
    FakeJira, FakeZendesk, Mode, WebhookReceiver, JIRA_EMAIL, JIRA_TOKEN, ZENDESK_EMAIL, ZENDESK_TOKEN,
};
use crate::support::redis::{unique_prefix, RedisServer};

const RAISE_DUE: &str = "2026-03-05T09:00:00Z";

fn verify_signature(body: &str, signature: &str) -> bool {
    let mut mac = Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    signature == format!("sha256={hex}")
}

#[tokio::test]
async fn sla_status_moves_with_working_time() {
    let app = TestApp::memory().await;
    app.register(&withdrawal("w-1", json!({}))).await;
    app.clock.set(at("2026-03-03T09:00:00Z"));
    assert_eq!(app.get_withdrawal("w-1").await["sla"]["status"], "at_risk");
    app.clock.set(at(OVERDUE));
    let view = app.get_withdrawal("w-1").await;
    assert_eq!(view["sla"]["status"], "overdue");
    assert_eq!(view["sla"]["working_days_elapsed"], 2.0);
    complete(&app, "w-1").await;
    assert_eq!(app.get_withdrawal("w-1").await["sla"]["status"], "met", "completed exactly at overdue_at");
}

#[tokio::test]
async fn a_webhook_gets_opened_raised_and_resolved_once_each_signed() {
    let receiver = WebhookReceiver::start().await;
    let app = TestApp::spawn_with(Backend::Memory, webhook(&receiver.url)).await;
    app.register(&withdrawal("w-1", json!({}))).await;
    sweep_at(&app, "2026-03-03T12:00:00Z").await;
    assert!(receiver.accepted().is_empty(), "at risk is not an escalation");

    sweep_at(&app, OVERDUE).await;
    sweep_at(&app, OVERDUE).await;
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), 1);
    let opened: Value = serde_json::from_str(&accepted[0].body).unwrap();
    assert_eq!(opened["event"], "escalation.opened");
    assert_eq!(opened["reason"], "overdue");
    assert_eq!(opened["level"], 1);
    assert_eq!(opened["idempotency_key"], "w-1:opened");
    assert_eq!(accepted[0].idempotency_key, "w-1:opened");
    assert_eq!(opened["withdrawal"]["id"], "w-1");
    assert_eq!(opened["withdrawal"]["sla"]["status"], "overdue");
    assert!(verify_signature(&accepted[0].body, &accepted[0].signature), "signature verifies");

    let view = app.get_withdrawal("w-1").await;
    assert_eq!(view["escalation"]["status"], "open");
    assert_eq!(view["escalation"]["level"], 1);

    sweep_at(&app, RAISE_DUE).await;
    sweep_at(&app, "2026-03-06T09:00:00Z").await;
    complete(&app, "w-1").await;
    sweep_at(&app, "2026-03-06T09:00:00Z").await;
    sweep_at(&app, "2026-03-09T09:00:00Z").await;

    let events: Vec<(String, u64)> = receiver
        .accepted()
        .iter()
        .map(|r| {
            assert!(verify_signature(&r.body, &r.signature));
            let body: Value = serde_json::from_str(&r.body).unwrap();
            (body["event"].as_str().unwrap().to_owned(), body["level"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(
        events,
        [("escalation.opened".into(), 1), ("escalation.raised".into(), 2), ("escalation.resolved".into(), 2)]
    );
    let page: Value = app.get_as("/v1/tickets?status=resolved", SUPPORT_TOKEN).await.json().await.unwrap();
    let ticket = &page["items"][0];
    assert_eq!(ticket["withdrawal_id"], "w-1");
    assert_eq!(ticket["deliveries"].as_array().unwrap().len(), 3);
    assert!(ticket["deliveries"].as_array().unwrap().iter().all(|d| d["status"] == "delivered"));
}

#[tokio::test]
async fn a_sink_that_is_down_for_a_while_gets_each_event_once_when_back() {
    let receiver = WebhookReceiver::start().await;
    receiver.set_mode(Mode::Down);
    let app = TestApp::spawn_with(Backend::Memory, |c| {
        webhook(&receiver.url)(c);
        c.tickets.max_attempts = 20;
    })
    .await;
    app.register(&withdrawal("w-1", json!({}))).await;
    let mut now = at(OVERDUE);
    for _ in 0..6 {
        app.clock.set(now);
        app.sweeper.sweep_once().await.unwrap();
        now += chrono::Duration::minutes(10);
    }
    assert!(receiver.state.lock().unwrap().refused >= 3, "retried while down");
    assert!(receiver.accepted().is_empty());
    receiver.set_mode(Mode::Normal);
    for _ in 0..3 {
        now += chrono::Duration::hours(1);
        sweep_at(&app, &now.to_rfc3339()).await;
    }
    let keys: Vec<String> = receiver.accepted().iter().map(|r| r.idempotency_key.clone()).collect();
    assert_eq!(keys, ["w-1:opened"]);
    let page: Value = app.get_as("/v1/tickets?status=open", SUPPORT_TOKEN).await.json().await.unwrap();
    let attempts = page["items"][0]["deliveries"][0]["attempts"].as_array().unwrap();
    assert!(attempts.len() >= 4 && attempts.last().unwrap()["outcome"] == "delivered", "{attempts:?}");
}

#[tokio::test]
async fn dead_deliveries_are_listed_and_support_can_retry_them() {
    let receiver = WebhookReceiver::start().await;
    receiver.set_mode(Mode::Rejecting);
    let app = TestApp::spawn_with(Backend::Memory, webhook(&receiver.url)).await;
    app.register(&withdrawal("w-1", json!({}))).await;
    sweep_at(&app, OVERDUE).await;
    let page: Value = app.get_as("/v1/tickets?status=dead", SUPPORT_TOKEN).await.json().await.unwrap();
    assert_eq!(page["items"][0]["withdrawal_id"], "w-1", "a 400 is not retried: dead at once");
    assert_eq!(page["items"][0]["deliveries"][0]["status"], "dead");

    receiver.set_mode(Mode::Normal);
    let retried = app.post_json("/v1/tickets/w-1/retry", SUPPORT_TOKEN, &json!({})).await;
    assert_eq!(retried.status(), StatusCode::OK);
    sweep_at(&app, OVERDUE).await;
    assert_eq!(receiver.accepted().len(), 1);
    let page: Value = app.get_as("/v1/tickets?status=open", SUPPORT_TOKEN).await.json().await.unwrap();
    assert_eq!(page["items"][0]["deliveries"][0]["status"], "delivered");
    let again = app.post_json("/v1/tickets/w-1/retry", SUPPORT_TOKEN, &json!({})).await;
    expect_error(again, StatusCode::CONFLICT, "nothing_to_retry").await;
    let missing = app.post_json("/v1/tickets/w-none/retry", SUPPORT_TOKEN, &json!({})).await;
    expect_error(missing, StatusCode::NOT_FOUND, "not_found").await;
}

/// Completed by a payment to the wrong place: the ticket stays open (the
/// money did not arrive) until support resolves it by hand.
#[tokio::test]
async fn a_wrong_payment_keeps_its_ticket_open_until_support_resolves_it() {
    let receiver = WebhookReceiver::start().await;
    let app = TestApp::spawn_with(Backend::Memory, webhook(&receiver.url)).await;
    app.register(&withdrawal("w-1", json!({"tx_hash": tron_hash("aa")}))).await;
    let (id, now) = (WithdrawalId::parse("w-1").unwrap(), app.clock_now());
    // In a block deep enough at once (confirming, then completed), paying 5
    // base units to another address.
    let paid_elsewhere = Payment { to: "TXYZ".into(), amount: BaseUnits::new(5), asset: Asset::Native, memo: None };
    let tx = TxInfo {
        txid: tron_hash("aa"),
        location: TxLocation::Block(BlockRef { height: 7, hash: "b7".into() }),
        success: Some(true),
        payments: vec![paid_elsewhere],
        conflict: ReplacementKey::Outpoints(Vec::new()),
        valid_until: None,
    };
    let rules = NetworkRules { required_confirmations: 1, ..NetworkRules::default() };
    let seen = Observation::Seen { tx, tip: 7 };
    let w = app.service.modify(&id, |w| Ok(w.observe(&seen, now, &rules)?)).await.unwrap();
    assert_eq!(w.state(), State::Completed);
    assert!(w.chain().payee_mismatch.is_some());
    app.sweeper.sweep_once().await.unwrap();
    let keys = |r: &WebhookReceiver| r.accepted().iter().map(|e| e.idempotency_key.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&receiver), ["w-1:opened"]);
    assert_eq!(app.get_withdrawal("w-1").await["escalation"]["status"], "open", "completed, but not to its payee");

    let by_ingest = app.post_json("/v1/tickets/w-1/resolve", INGEST_TOKEN, &json!({})).await;
    expect_error(by_ingest, StatusCode::FORBIDDEN, "forbidden").await;
    let resolved = app.post_json("/v1/tickets/w-1/resolve", SUPPORT_TOKEN, &json!({})).await;
    assert_eq!(resolved.status(), StatusCode::OK);
    let ticket: Value = resolved.json().await.unwrap();
    assert_eq!((ticket["withdrawal_id"].as_str(), ticket["status"].as_str()), (Some("w-1"), Some("resolved")));
    app.sweeper.sweep_once().await.unwrap();
    assert_eq!(keys(&receiver), ["w-1:opened", "w-1:resolved"], "the sink hears it once");

    let again = app.post_json("/v1/tickets/w-1/resolve", SUPPORT_TOKEN, &json!({})).await;
    expect_error(again, StatusCode::CONFLICT, "nothing_to_resolve").await;
    app.register(&withdrawal("w-2", json!({}))).await;
    let no_ticket = app.post_json("/v1/tickets/w-2/resolve", SUPPORT_TOKEN, &json!({})).await;
    expect_error(no_ticket, StatusCode::CONFLICT, "nothing_to_resolve").await;
    let missing = app.post_json("/v1/tickets/w-none/resolve", SUPPORT_TOKEN, &json!({})).await;
    expect_error(missing, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn a_failed_transaction_escalates_at_once_and_cancellation_resolves() {
    let receiver = WebhookReceiver::start().await;
    let app = TestApp::spawn_with(Backend::Memory, webhook(&receiver.url)).await;
    app.register(&withdrawal("w-1", json!({"tx_hash": tron_hash("aa")}))).await;
    let now = app.clock_now();
    let id = WithdrawalId::parse("w-1").unwrap();
    app.service.modify(&id, |w| Ok(w.transition(State::Failed, "reverted", now)?)).await.unwrap();
    app.sweeper.sweep_once().await.unwrap();
    app.patch("w-1", &json!({"state": "cancelled", "reason": "refunded"})).await;
    app.sweeper.sweep_once().await.unwrap();
    let bodies: Vec<Value> = receiver.accepted().iter().map(|r| serde_json::from_str(&r.body).unwrap()).collect();
    assert_eq!(bodies.len(), 2);
    assert_eq!(
        (bodies[0]["event"].as_str(), bodies[0]["reason"].as_str()),
        (Some("escalation.opened"), Some("failed"))
    );
    assert_eq!(bodies[1]["event"], "escalation.resolved");
    assert_eq!(app.get_withdrawal("w-1").await["sla"]["status"], "stopped");
}

#[tokio::test]
async fn two_instances_on_one_redis_deliver_each_event_once() {
    let receiver = WebhookReceiver::start().await;
    let prefix = unique_prefix("twosweep");
    // Ten late at once would be one incident (tests/it/incidents.rs); here
    // each withdrawal's own ticket is under test.
    let own_tickets = |c: &mut withdrawal_tracker::config::Config| {
        webhook(&receiver.url)(c);
        c.incidents.automatic = false;
    };
    let a = TestApp::spawn_with(Backend::Redis(RedisServer::shared(), prefix.clone()), own_tickets).await;
    let b = TestApp::spawn_with(Backend::Redis(RedisServer::shared(), prefix), own_tickets).await;
    let count = 10;
    for i in 0..count {
        a.register(&withdrawal(&format!("w-{i}"), json!({}))).await;
    }
    for app in [&a, &b] {
        app.clock.set(at(OVERDUE));
    }
    for _ in 0..3 {
        let (ra, rb) = tokio::join!(a.sweeper.sweep_once(), b.sweeper.sweep_once());
        ra.unwrap();
        rb.unwrap();
    }
    let mut keys: Vec<String> = receiver.accepted().iter().map(|r| r.idempotency_key.clone()).collect();
    keys.sort();
    let mut expected: Vec<String> = (0..count).map(|i| format!("w-{i}:opened")).collect();
    expected.sort();
    assert_eq!(keys, expected, "each event exactly once across both replicas");
}

#[tokio::test]
async fn overdue_lists_most_late_first_in_json_and_csv() {
    let app = TestApp::memory().await;
    app.register(&withdrawal("w-early", json!({"requested_at": "2026-03-02T08:00:00Z", "amount": "500"}))).await;
    app.register(&withdrawal("w-late", json!({"requested_at": "2026-03-02T09:30:00Z", "amount": "20"}))).await;
    let eth = json!({"network": "ETH", "coin": "ETH", "address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"});
    app.register(&withdrawal("w-eth", eth)).await;
    app.register(&withdrawal("w-fresh", json!({"requested_at": "2026-03-02T10:00:00Z"}))).await;
    sweep_at(&app, "2026-03-04T09:45:00Z").await;

    let ids = |page: &Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
    };
    let page: Value = app.get_as("/v1/overdue", SUPPORT_TOKEN).await.json().await.unwrap();
    assert_eq!(ids(&page), ["w-early", "w-eth", "w-late"]);
    assert_eq!(page["items"][0]["overdue_at"], "2026-03-04T08:00:00Z");
    let page: Value = app.get_as("/v1/overdue?network=TRX&min_amount=100.0", SUPPORT_TOKEN).await.json().await.unwrap();
    assert_eq!(ids(&page), ["w-early"]);
    let page: Value = app.get_as("/v1/overdue?coin=ETH", SUPPORT_TOKEN).await.json().await.unwrap();
    assert_eq!(ids(&page), ["w-eth"]);
    let page: Value = app.get_as("/v1/overdue?limit=1", SUPPORT_TOKEN).await.json().await.unwrap();
    let cursor = page["next_cursor"].as_str().unwrap();
    let next: Value =
        app.get_as(&format!("/v1/overdue?limit=2&cursor={cursor}"), SUPPORT_TOKEN).await.json().await.unwrap();
    assert_eq!(ids(&next), ["w-eth", "w-late"]);

    let csv = app.get_csv("/v1/overdue", SUPPORT_TOKEN).await;
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "id,user_id,coin,network,amount,address,state,tx_hash,requested_at,overdue_at,working_days_elapsed,ticket_id,\
         delay_code,eta_p90"
    );
    assert_eq!(lines.len(), 4);
    assert!(
        lines[1].starts_with("w-early,alice,USDT,TRX,500,TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t,pending,,"),
        "{}",
        lines[1]
    );
    // Pending two days, far past the usual 4 hours to be sent: awaiting_send,
    // with the estimate's p90 (whole seconds, UTC) after now.
    let (before, p90) = lines[1].rsplit_once(',').unwrap();
    assert!(before.ends_with(",2026-03-04T08:00:00Z,2.07,,awaiting_send"), "{}", lines[1]);
    assert!(p90 > "2026-03-04T09:45:00Z" && p90.len() == 20 && p90.ends_with('Z'), "{p90}");

    // The delay filter, and the delay and estimate in JSON.
    let page: Value = app.get_as("/v1/overdue?delay=awaiting_send", SUPPORT_TOKEN).await.json().await.unwrap();
    assert_eq!(ids(&page), ["w-early", "w-eth", "w-late"]);
    assert_eq!(page["items"][0]["delay"]["code"], "awaiting_send");
    assert_eq!(page["items"][0]["eta"]["basis"], "queue");
    assert!(page["items"][0]["eta"]["p90"].as_str().unwrap() > "2026-03-04T09:45:00Z");
    let page: Value = app.get_as("/v1/overdue?delay=low_fee", SUPPORT_TOKEN).await.json().await.unwrap();
    assert_eq!(ids(&page), Vec::<String>::new());
    let bad = app.get_as("/v1/overdue?delay=late", SUPPORT_TOKEN).await;
    assert_eq!(expect_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await["error"]["field"], "delay");

    expect_error(app.get_as("/v1/overdue", &app.user_token("alice")).await, StatusCode::FORBIDDEN, "forbidden").await;
    expect_error(app.get_as("/v1/tickets", &app.user_token("alice")).await, StatusCode::FORBIDDEN, "forbidden").await;
    let bad = app.get_as("/v1/overdue?min_amount=-5", SUPPORT_TOKEN).await;
    assert_eq!(
        expect_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await["error"]["field"],
        "min_amount"
    );
}

#[tokio::test]
async fn zendesk_gets_one_ticket_per_withdrawal_updated_in_place() {
    let zendesk = FakeZendesk::start().await;
    let base_url = zendesk.base_url.clone();
    let app = TestApp::spawn_with(Backend::Memory, move |c| {
        c.tickets.sink = SinkKind::Zendesk;
        c.tickets.zendesk =
            Some(ZendeskConfig { base_url, email: ZENDESK_EMAIL.into(), api_token: Secret::from(ZENDESK_TOKEN) });
    })
    .await;
    app.register(&withdrawal("w-1", json!({}))).await;
    app.register(&withdrawal("w-2", json!({}))).await;
    // The first create lands but its answer is lost: the retry must find it.
    zendesk.set_mode(Mode::FailAfterWrite);
    sweep_at(&app, OVERDUE).await;
    sweep_at(&app, "2026-03-04T10:00:00Z").await;
    let tickets = zendesk.tickets();
    assert_eq!(tickets.len(), 2, "one ticket per withdrawal, none duplicated: {tickets:?}");
    let first = tickets.iter().find(|t| t.external_id == "w-1").unwrap();
    assert!(first.tags.contains(&"overdue".to_owned()));
    assert!(first.comments[0].contains("Tx hash") && first.comments[0].contains("Working days elapsed"));
    // The reason and the estimate: pending past the usual time to be sent.
    assert!(
        first.comments[0].contains("Delay: awaiting_send: It is taking the exchange longer"),
        "{}",
        first.comments[0]
    );
    assert!(first.comments[0].contains("Expected by: 2026-"), "{}", first.comments[0]);

    sweep_at(&app, RAISE_DUE).await;
    complete(&app, "w-1").await;
    sweep_at(&app, RAISE_DUE).await;
    let tickets = zendesk.tickets();
    assert_eq!(tickets.len(), 2);
    let first = tickets.iter().find(|t| t.external_id == "w-1").unwrap();
    assert_eq!((first.priority.as_str(), first.status.as_str()), ("urgent", "solved"));
    assert_eq!(first.comments.len(), 3, "description, raise, resolution");
    let second = tickets.iter().find(|t| t.external_id == "w-2").unwrap();
    assert_eq!((second.priority.as_str(), second.status.as_str()), ("urgent", "new"));
    assert_eq!(app.get_withdrawal("w-1").await["escalation"]["ticket_id"], first.id.to_string());
}

#[tokio::test]
async fn jira_gets_one_issue_per_withdrawal_raised_commented_and_closed() {
    let jira = FakeJira::start().await;
    let base_url = jira.base_url.clone();
    let app = TestApp::spawn_with(Backend::Memory, move |c| {
        c.tickets.sink = SinkKind::Jira;
        c.tickets.jira = Some(JiraConfig {
            base_url,
            email: JIRA_EMAIL.into(),
            api_token: Secret::from(JIRA_TOKEN),
            project_key: "WD".into(),
            issue_type: "Task".into(),
            done_transition: "Done".into(),
        });
    })
    .await;
    app.register(&withdrawal("w-1", json!({}))).await;
    jira.set_mode(Mode::FailAfterWrite);
    sweep_at(&app, OVERDUE).await;
    sweep_at(&app, "2026-03-04T10:00:00Z").await;
    assert_eq!(jira.issues().len(), 1, "the lost answer did not create a second issue");
    sweep_at(&app, RAISE_DUE).await;
    // The raise's comment lands but its answer is lost: no second comment.
    complete(&app, "w-1").await;
    jira.set_mode(Mode::FailAfterWrite);
    sweep_at(&app, RAISE_DUE).await;
    sweep_at(&app, "2026-03-05T10:00:00Z").await;
    let issues = jira.issues();
    assert_eq!(issues.len(), 1);
    let issue = &issues[0];
    assert!(issue.labels.contains(&"withdrawal-w-1".to_owned()));
    assert!(issue.summary.contains("w-1") && issue.summary.contains("overdue"), "{}", issue.summary);
    assert_eq!((issue.priority.as_str(), issue.status.as_str()), ("Highest", "Done"));
    assert_eq!(issue.comments.len(), 2, "raise and resolution, once each: {:?}", issue.comments);
    assert_eq!(app.get_withdrawal("w-1").await["escalation"]["ticket_id"], issue.key);
}

#[tokio::test]
async fn a_changed_calendar_recomputes_deadlines_at_start() {
    let prefix = unique_prefix("calchange");
    let redis = RedisServer::shared();
    let first = TestApp::spawn(Backend::Redis(redis, prefix.clone())).await;
    first.register(&withdrawal("w-1", json!({}))).await;
    assert_eq!(first.get_withdrawal("w-1").await["sla"]["overdue_at"], "2026-03-04T09:00:00Z");
    first.handle.stop(true).await;

    // Wednesday becomes a holiday: overdue moves to Thursday.
    let second =
        TestApp::spawn_with(Backend::Redis(redis, prefix), |c| c.sla.holidays = vec!["2026-03-04".into()]).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let view = second.get_withdrawal("w-1").await;
        if view["sla"]["overdue_at"] == "2026-03-05T09:00:00Z" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "deadlines were not recomputed: {}", view["sla"]);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
