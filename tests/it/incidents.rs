//! Incidents end to end: a halted chain (the fake Esplora stops producing
//! blocks) and a storm of overdue withdrawals each become one incident with
//! one parent ticket on the webhook, Zendesk and Jira; late withdrawals join
//! it instead of opening their own; the incident closes when the cause
//! clears (or by hand) and lists who recovered; three replicas against a
//! failing receiver send each incident event once.

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{json, Value};
use withdrawal_tracker::config::{Config, ExplorerKind, HumanDuration, JiraConfig, Secret, SinkKind, ZendeskConfig};

use crate::support::app::{expect_error, withdrawal, Backend, TestApp, INGEST_TOKEN, SUPPORT_TOKEN};
use crate::support::chains::{chain_config, BTC_PAYEE};
use crate::support::escalation::{at, complete, sweep_at, webhook};
use crate::support::fake_esplora::FakeEsplora;
use crate::support::fakes::{
    FakeJira, FakeZendesk, Mode, WebhookReceiver, JIRA_EMAIL, JIRA_TOKEN, ZENDESK_EMAIL, ZENDESK_TOKEN,
};
use crate::support::redis::{unique_prefix, RedisServer};

fn incident_rules(min_overdue: u64) -> impl Fn(&mut Config) {
    move |c: &mut Config| {
        c.incidents.min_overdue = min_overdue;
        c.incidents.update_interval = HumanDuration(std::time::Duration::from_secs(60));
        c.incidents.settle_for = HumanDuration(std::time::Duration::from_secs(600));
    }
}

/// The webhook's events as (event, idempotency key, body).
fn events(receiver: &WebhookReceiver) -> Vec<(String, String, Value)> {
    receiver
        .accepted()
        .into_iter()
        .map(|r| {
            let body: Value = serde_json::from_str(&r.body).unwrap();
            (body["event"].as_str().unwrap().to_owned(), r.idempotency_key, body)
        })
        .collect()
}

fn names(events: &[(String, String, Value)]) -> Vec<&str> {
    events.iter().map(|(e, _, _)| e.as_str()).collect()
}

async fn network_status(app: &TestApp, network: &str) -> Value {
    let body: Value = app.get_as("/v1/networks/status", SUPPORT_TOKEN).await.json().await.unwrap();
    body["networks"].as_array().unwrap().iter().find(|n| n["network"] == network).unwrap().clone()
}

async fn metrics(app: &TestApp) -> String {
    app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn a_halt_holds_its_late_withdrawals_in_one_incident_ticket_and_lists_them_recovered() {
    let esplora = FakeEsplora::start(5).await;
    let receiver = WebhookReceiver::start().await;
    let chain = chain_config(ExplorerKind::Esplora, &esplora.base_url, 2);
    let app = TestApp::spawn_with(Backend::Memory, |c: &mut Config| {
        webhook(&receiver.url)(c);
        incident_rules(50)(c);
        c.networks.insert("BTC".into(), chain);
    })
    .await;
    let mut txids = Vec::new();
    for n in 0..20 {
        let input = format!("{:064x}", n + 1);
        let txid = esplora.broadcast(&[(input.as_str(), 0)], &[(Some(BTC_PAYEE), 50_000_000)]);
        let body = withdrawal(
            &format!("w-{n}"),
            json!({"coin": "BTC", "network": "BTC", "address": BTC_PAYEE, "amount": "0.5", "tx_hash": txid}),
        );
        assert_eq!(app.register(&body).await.status(), StatusCode::CREATED);
        txids.push(txid);
    }
    let tracker = &app.chain_trackers[0];
    tracker.tick().await.unwrap();

    // No block for 101 minutes: halted, and the next sweep opens the incident.
    app.clock.set(app.clock_now() + TimeDelta::minutes(101));
    tracker.tick().await.unwrap();
    sweep_at(&app, "2026-03-02T11:42:00Z").await;
    assert_eq!(names(&events(&receiver)), ["incident.opened"]);
    let opened = &events(&receiver)[0];
    assert_eq!(opened.1, "incident:BTC-20260302T114200Z:opened");
    assert_eq!(
        (opened.2["incident"]["cause"].as_str(), opened.2["incident"]["status"].as_str()),
        (Some("halted"), Some("open"))
    );
    assert_eq!(network_status(&app, "BTC").await["incident"]["id"], "BTC-20260302T114200Z");

    // Two days later the 20 are overdue: they join the incident, no ticket of their own.
    app.clock.set(at("2026-03-04T09:30:00Z"));
    tracker.tick().await.unwrap();
    sweep_at(&app, "2026-03-04T09:30:00Z").await;
    sweep_at(&app, "2026-03-04T09:31:00Z").await;
    let sent = events(&receiver);
    assert_eq!(names(&sent), ["incident.opened", "incident.updated"], "one ticket, no per-withdrawal events");
    let update = &sent[1].2["incident"];
    assert_eq!(update["affected_count"], 20);
    assert_eq!(update["affected"].as_array().unwrap().len(), 20);
    let view = app.get_withdrawal("w-7").await;
    assert_eq!((view["sla"]["status"].as_str(), &view["escalation"]), (Some("overdue"), &Value::Null));
    assert_eq!(view["network_notice"]["incident"], "BTC-20260302T114200Z");
    let listed: Value = app.get_as("/v1/networks/BTC/incidents", SUPPORT_TOKEN).await.json().await.unwrap();
    assert_eq!(listed["incidents"][0]["affected_count"], 20);
    let refused = app.get_as("/v1/networks/BTC/incidents", &app.user_token("alice")).await;
    expect_error(refused, StatusCode::FORBIDDEN, "forbidden").await;

    // Blocks flow again; the withdrawals complete; 10 minutes later it closes.
    let all: Vec<&str> = txids.iter().map(String::as_str).collect();
    esplora.mine(&all);
    esplora.mine(&[]);
    tracker.tick().await.unwrap();
    assert_eq!(app.get_withdrawal("w-19").await["state"], "completed");
    sweep_at(&app, "2026-03-04T09:40:00Z").await;
    assert_eq!(network_status(&app, "BTC").await["incident"]["id"], "BTC-20260302T114200Z", "settling");
    sweep_at(&app, "2026-03-04T09:50:00Z").await;
    let sent = events(&receiver);
    assert_eq!(names(&sent), ["incident.opened", "incident.updated", "incident.closed"]);
    let closed = &sent[2].2["incident"];
    assert_eq!(closed["recovered"].as_array().unwrap().len(), 20);
    assert_eq!(closed["still_late"], json!([]));
    assert_eq!(network_status(&app, "BTC").await["incident"], Value::Null);
    let text = metrics(&app).await;
    for line in [
        r#"withdrawal_tracker_incidents_opened_total{cause="halted",network="BTC"} 1"#,
        r#"withdrawal_tracker_incidents_closed_total{cause="halted",network="BTC"} 1"#,
        r#"withdrawal_tracker_withdrawals_grouped_total{network="BTC"} 20"#,
        r#"withdrawal_tracker_incidents_open{network="BTC"} 0"#,
        r#"withdrawal_tracker_incident_events_total{event="closed",result="delivered",sink="webhook"} 1"#,
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
    let keys: std::collections::BTreeSet<String> = sent.iter().map(|(_, k, _)| k.clone()).collect();
    assert_eq!(keys.len(), 3, "each event once");
}

fn zendesk_sink(zendesk: &FakeZendesk) -> impl FnOnce(&mut Config) {
    let base_url = zendesk.base_url.clone();
    move |c: &mut Config| {
        c.tickets.sink = SinkKind::Zendesk;
        c.tickets.zendesk =
            Some(ZendeskConfig { base_url, email: ZENDESK_EMAIL.into(), api_token: Secret::from(ZENDESK_TOKEN) });
    }
}

#[tokio::test]
async fn overdue_piling_up_opens_one_zendesk_problem_ticket_and_a_close_by_hand_hands_back_the_still_late() {
    let zendesk = FakeZendesk::start().await;
    let app = TestApp::spawn_with(Backend::Memory, |c: &mut Config| {
        zendesk_sink(&zendesk)(c);
        incident_rules(3)(c);
    })
    .await;
    for n in 0..4 {
        app.register(&withdrawal(&format!("w-{n}"), json!({}))).await;
    }
    let late = withdrawal("w-late", json!({"requested_at": "2026-03-02T09:59:00Z"}));
    assert_eq!(app.register(&late).await.status(), StatusCode::CREATED);
    // Four cross their deadline in one sweep: the incident opens first, and
    // its create lands but the answer is lost (the retry must find it).
    zendesk.set_mode(Mode::FailAfterWrite);
    sweep_at(&app, "2026-03-04T09:10:00Z").await;
    sweep_at(&app, "2026-03-04T09:11:00Z").await;
    let tickets = zendesk.tickets();
    assert_eq!(tickets.len(), 1, "one problem ticket, no per-withdrawal tickets: {tickets:?}");
    let problem = &tickets[0];
    assert!(problem.external_id.starts_with("incident-TRX-20260304T091000Z"), "{}", problem.external_id);
    assert!(problem.tags.contains(&"incident".to_owned()) && problem.tags.contains(&"overdue".to_owned()));
    assert!(
        problem.comments[0].contains("- w-0\n") && problem.comments[0].contains("- w-3\n"),
        "{}",
        problem.comments[0]
    );

    // A fifth goes late an hour later: a comment on the same ticket.
    sweep_at(&app, "2026-03-04T10:05:00Z").await;
    let problem = zendesk.tickets().remove(0);
    assert_eq!(problem.comments.len(), 2, "{:?}", problem.comments);
    assert!(problem.comments[1].starts_with("Update: 5 withdrawals late") && problem.comments[1].contains("w-late"));
    assert_eq!(app.get_withdrawal("w-late").await["escalation"], Value::Null);

    // Support closes it after two were paid: three still late get their own.
    complete(&app, "w-0").await;
    complete(&app, "w-1").await;
    let path = "/v1/networks/TRX/incidents/close";
    let refused = app.post_json(path, INGEST_TOKEN, &json!({"by": "bob"})).await;
    expect_error(refused, StatusCode::FORBIDDEN, "forbidden").await;
    let closed = app.post_json(path, SUPPORT_TOKEN, &json!({"by": "bob@support"})).await;
    assert_eq!(closed.status(), StatusCode::OK);
    let closed: Value = closed.json().await.unwrap();
    assert_eq!((closed["status"].as_str(), closed["closed_by"].as_str()), (Some("closed"), Some("bob@support")));
    assert_eq!(closed["recovered"], json!(["w-0", "w-1"]));
    assert_eq!(closed["still_late"], json!(["w-2", "w-3", "w-late"]));
    let again = app.post_json(path, SUPPORT_TOKEN, &json!({"by": "bob"})).await;
    expect_error(again, StatusCode::CONFLICT, "no_open_incident").await;
    // The still-late ones open their tickets in the background.
    for _ in 0..100 {
        if app.get_withdrawal("w-late").await["escalation"] != Value::Null {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    sweep_at(&app, "2026-03-04T10:10:00Z").await;
    let tickets = zendesk.tickets();
    let problem = tickets.iter().find(|t| t.external_id.starts_with("incident-")).unwrap();
    assert_eq!(problem.status, "solved");
    assert!(problem.comments.last().unwrap().contains("Recovered (2)"), "{:?}", problem.comments);
    let own: Vec<&str> =
        tickets.iter().filter(|t| !t.external_id.starts_with("incident-")).map(|t| t.external_id.as_str()).collect();
    assert_eq!(own, ["w-2", "w-3", "w-late"], "the still late get tickets of their own");
}

#[tokio::test]
async fn a_declared_incident_is_one_jira_issue_told_to_users_and_closed_by_hand() {
    let jira = FakeJira::start().await;
    let base_url = jira.base_url.clone();
    let app = TestApp::spawn_with(Backend::Memory, move |c: &mut Config| {
        c.tickets.sink = SinkKind::Jira;
        c.tickets.jira = Some(JiraConfig {
            base_url,
            email: JIRA_EMAIL.into(),
            api_token: Secret::from(JIRA_TOKEN),
            project_key: "WD".into(),
            issue_type: "Task".into(),
            done_transition: "Done".into(),
        });
        incident_rules(100)(c);
    })
    .await;
    app.register(&withdrawal("w-1", json!({}))).await;
    let path = "/v1/networks/TRX/incidents";
    let blank = app
        .post_json(path, SUPPORT_TOKEN, &json!({"reason_en": "hot wallet refill", "reason_zh": "", "by": "alice"}))
        .await;
    let body = expect_error(blank, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
    assert_eq!(body["error"]["field"], "reason_zh");
    let declaration = json!({"reason_en": "hot wallet refill", "reason_zh": "热钱包补充", "by": "alice@support"});
    let opened = app.post_json(path, SUPPORT_TOKEN, &declaration).await;
    assert_eq!(opened.status(), StatusCode::CREATED);
    let opened: Value = opened.json().await.unwrap();
    assert_eq!((opened["cause"].as_str(), opened["opened_by"].as_str()), (Some("declared"), Some("alice@support")));
    expect_error(app.post_json(path, SUPPORT_TOKEN, &declaration).await, StatusCode::CONFLICT, "incident_open").await;

    // Users are told, in their language.
    let view: Value = app
        .client
        .get(app.url("/v1/withdrawals/w-1"))
        .bearer_auth(app.user_token("alice"))
        .header("Accept-Language", "zh-CN")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(view["message"].as_str().unwrap().contains("TRON 提现因已知问题（热钱包补充）出现延迟"), "{view}");

    // Late during it: the one issue hears of it; the comment's answer is lost once.
    sweep_at(&app, "2026-03-02T10:00:00Z").await;
    jira.set_mode(Mode::FailAfterWrite);
    sweep_at(&app, "2026-03-04T09:30:00Z").await;
    sweep_at(&app, "2026-03-04T09:40:00Z").await;
    let issues = jira.issues();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].comments.len(), 1, "the update once, though its answer was lost: {:?}", issues[0].comments);
    assert!(issues[0].labels.iter().any(|l| l.starts_with("incident-TRX-")));

    complete(&app, "w-1").await;
    let closed = app.post_json(&format!("{path}/close"), SUPPORT_TOKEN, &json!({"by": "carol"})).await;
    assert_eq!(closed.status(), StatusCode::OK);
    sweep_at(&app, "2026-03-04T09:50:00Z").await;
    let issue = jira.issues().remove(0);
    assert_eq!(issue.status, "Done");
    assert!(issue.comments.last().unwrap().contains("Recovered (1)"), "{:?}", issue.comments);
    let history: Value = app.get_as("/v1/networks/TRX/history", SUPPORT_TOKEN).await.json().await.unwrap();
    let notes: Vec<&str> = history["history"].as_array().unwrap().iter().map(|c| c["note"].as_str().unwrap()).collect();
    assert!(notes[0].contains("closed") && notes[1].contains("opened"), "{notes:?}");
}

#[tokio::test]
async fn three_replicas_and_a_failing_receiver_send_one_incident_opened_and_no_per_withdrawal_ticket() {
    let receiver = WebhookReceiver::start().await;
    let redis = RedisServer::shared();
    let prefix = unique_prefix("incident-replicas");
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let app = TestApp::spawn_with(Backend::Redis(redis, prefix.clone()), |c: &mut Config| {
            webhook(&receiver.url)(c);
            incident_rules(10)(c);
        })
        .await;
        replicas.push(app);
    }
    for n in 0..12 {
        let status = replicas[n % 3].register(&withdrawal(&format!("w-{n}"), json!({}))).await.status();
        assert_eq!(status, StatusCode::CREATED);
    }
    receiver.set_mode(Mode::Down);
    let mut when = at("2026-03-04T09:05:00Z");
    for round in 0..8 {
        if round == 3 {
            receiver.set_mode(Mode::Normal);
        }
        for app in &replicas {
            app.clock.set(when);
        }
        let (a, b, c) = tokio::join!(
            replicas[0].sweeper.sweep_once(),
            replicas[1].sweeper.sweep_once(),
            replicas[2].sweeper.sweep_once()
        );
        for result in [a, b, c] {
            result.unwrap();
        }
        // Past any backoff of the failed attempts.
        when += TimeDelta::minutes(10);
    }
    let sent = events(&receiver);
    assert_eq!(names(&sent), ["incident.opened"], "one event, delivered once, no per-withdrawal ticket");
    assert_eq!(sent[0].2["incident"]["affected_count"], 12);
    for app in &replicas {
        assert_eq!(app.get_withdrawal("w-5").await["escalation"], Value::Null);
    }
}
