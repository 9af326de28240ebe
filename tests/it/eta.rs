//! The arrival estimate and delay reason end to end (issue 15): the status
//! view, the outcome counters (once across replicas), the statistics a
//! completion adds for every replica, and the calibration alert's rules.

use std::process::Command;

use serde_json::{json, Value};
use withdrawal_tracker::domain::{Network, State, WithdrawalId};

use crate::support::app::{tron_hash, withdrawal, Backend, TestApp, SUPPORT_TOKEN};
use crate::support::redis::{unique_prefix, RedisServer};
use crate::support::tools;

async fn view(app: &TestApp, id: &str, language: &str) -> Value {
    let response = app
        .client
        .get(app.url(&format!("/v1/withdrawals/{id}")))
        .bearer_auth(SUPPORT_TOKEN)
        .header("accept-language", language)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_status_view_says_when_and_why() {
    let app = TestApp::memory().await;
    // Requested at 09:00, the clock at 10:00: in the exchange's queue.
    app.register(&withdrawal("w-1", json!({}))).await;
    let fresh = view(&app, "w-1", "en").await;
    assert_eq!(fresh["eta"]["basis"], "queue");
    let (p50, p90) = (fresh["eta"]["p50"].as_str().unwrap(), fresh["eta"]["p90"].as_str().unwrap());
    assert!("2026-03-02T10:00:00Z" < p50 && p50 < p90 && p90.ends_with('Z'), "{p50} {p90}");
    assert_eq!(fresh["delay"], Value::Null);
    assert!(fresh["message"].as_str().unwrap().contains("Expected within about"), "{}", fresh["message"]);

    // Five hours later it still was not sent: past the usual 4 hours.
    app.clock.set("2026-03-02T14:00:00Z".parse().unwrap());
    let late = view(&app, "w-1", "en").await;
    assert_eq!(late["delay"]["code"], "awaiting_send");
    assert_eq!(late["delay"]["since"], "2026-03-02T13:00:00Z");
    assert_eq!(late["delay"]["details"]["usual_send_seconds"], 14400.0);
    assert_eq!(late["delay"]["message"], "It is taking the exchange longer than usual to send it.");
    let message = late["message"].as_str().unwrap();
    assert!(message.contains("longer than usual to send it; expected within about"), "{message}");
    let chinese = view(&app, "w-1", "zh-CN").await;
    assert_eq!(chinese["delay"]["message"], "交易所发送时间比平时长。");
    assert!(chinese["message"].as_str().unwrap().contains("预计约"), "{}", chinese["message"]);

    // Sent: the estimate moves to the mempool; a TRX block every 3 s.
    app.patch("w-1", &json!({"tx_hash": tron_hash("aa")})).await;
    let sent = view(&app, "w-1", "en").await;
    assert_eq!(sent["eta"]["basis"], "mempool");
    assert_eq!(sent["delay"], Value::Null);
    let p90: chrono::DateTime<chrono::Utc> = sent["eta"]["p90"].as_str().unwrap().parse().unwrap();
    let left = p90 - app.clock_now();
    assert!(left > chrono::Duration::seconds(30) && left < chrono::Duration::minutes(5), "{left}");

    // Cancelled ones have nothing to estimate.
    app.register(&withdrawal("w-2", json!({}))).await;
    app.patch("w-2", &json!({"state": "cancelled", "reason": "user asked"})).await;
    let cancelled = view(&app, "w-2", "en").await;
    assert_eq!(cancelled["state"], "cancelled");
    assert_eq!(cancelled["eta"], json!({"p50": null, "p90": null, "basis": "none"}));
    assert_eq!(cancelled["delay"], Value::Null);
}

fn samples(text: &str, prefix: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap() as u64)
        .sum()
}

#[tokio::test]
async fn outcomes_are_counted_once_and_durations_shared_across_replicas() {
    let prefix = unique_prefix("eta-outcomes");
    let a = TestApp::spawn(Backend::Redis(RedisServer::shared(), prefix.clone())).await;
    let b = TestApp::spawn(Backend::Redis(RedisServer::shared(), prefix)).await;
    // Sent at registration (10:00): a mempool estimate is given.
    a.register(&withdrawal("w-1", json!({"tx_hash": tron_hash("aa")}))).await;
    let id = WithdrawalId::parse("w-1").unwrap();
    let done = "2026-03-02T10:01:00Z".parse().unwrap();
    for app in [&a, &b] {
        app.clock.set(done);
    }
    let complete = |app: &TestApp| {
        let (service, id) = (app.service.clone(), id.clone());
        async move {
            service
                .modify(&id, |w| {
                    if w.state() == State::Broadcast {
                        w.transition(State::Confirming, "in block", done)?;
                        w.transition(State::Completed, "confirmed", done)?;
                    }
                    Ok(())
                })
                .await
                .unwrap()
        }
    };
    let (ra, rb) = tokio::join!(complete(&a), complete(&b));
    assert_eq!((ra.state(), rb.state()), (State::Completed, State::Completed));
    let scrape = |app: &TestApp| {
        let url = app.url("/metrics");
        let client = app.client.clone();
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let (text_a, text_b) = (scrape(&a).await, scrape(&b).await);
    let family = "withdrawal_tracker_eta_outcomes_total{basis=\"mempool\",network=\"TRX\"";
    assert_eq!(samples(&text_a, family) + samples(&text_b, family), 1, "judged once:\n{text_a}\n{text_b}");
    // Sixty seconds from broadcast to the block, seen by the other replica too.
    let stats = withdrawal_tracker::eta::load_stats(b.service.store.as_ref(), Network::Trx, done).await.unwrap();
    assert_eq!(stats.broadcast_to_block.count(), 1.0);
    let p50 = stats.broadcast_to_block.quantile(0.5).unwrap();
    assert!((50.0..70.0).contains(&p50), "{p50}");
    b.service.eta.refresh(b.service.store.as_ref(), &[Network::Trx], done).await.unwrap();
    assert_eq!(b.service.eta.inputs(Network::Trx).stats.broadcast_to_block.count(), 1.0);
}

#[test]
fn the_calibration_alert_rules_pass_promtool() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/prometheus");
    for args in [["check", "rules", "alerts.yml"], ["test", "rules", "alerts_test.yml"]] {
        let output = Command::new(tools::promtool()).args(args).current_dir(dir).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "promtool {args:?}: {text}");
    }
    let rules = std::fs::read_to_string(format!("{dir}/alerts.yml")).unwrap();
    assert!(rules.contains("alert: EtaP90HitRateLow") && rules.contains("withdrawal_tracker_eta_outcomes_total"));
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/deploy/grafana/dashboards/withdrawal-tracker.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels
        .iter()
        .any(|p| p["targets"][0]["expr"].as_str().unwrap().contains("withdrawal_tracker_eta_outcomes_total")));
}
