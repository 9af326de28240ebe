//! Metrics, request ids and logs, checked with the real tools: promtool on a
//! real scrape, a real Prometheus scraping a running tracker, and the real
//! binary's JSON logs searched for secrets.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::app::{tron_hash, withdrawal, Backend, TestApp, INGEST_TOKEN, SUPPORT_TOKEN};
use crate::support::redis::{unique_prefix, RedisServer};
use crate::support::tools;

/// A sample line (not a comment) equal to `sample` ("name{labels} value"),
/// or, for a bare name, any sample of that name.
fn has_sample(text: &str, sample: &str) -> bool {
    let exact = sample.contains(' ');
    text.lines().filter(|l| !l.starts_with('#')).any(|l| if exact { l == sample } else { l.starts_with(sample) })
}

async fn scrape(app: &TestApp, base: &str) -> String {
    let response = app.client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

async fn exercise(app: &TestApp) {
    app.register(&withdrawal("w-1", json!({}))).await;
    app.register(&withdrawal(
        "w-2",
        json!({"network": "ETH", "coin": "ETH", "address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}),
    ))
    .await;
    app.register(&withdrawal("w-bad", json!({"network": "ETH", "address": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"})))
        .await;
    app.patch("w-1", &json!({"tx_hash": tron_hash("aa")})).await;
    app.get_as("/v1/withdrawals/w-1", SUPPORT_TOKEN).await;
    app.get_as("/v1/withdrawals/w-nope", SUPPORT_TOKEN).await;
    app.store_gauges.refresh_once().await;
}

#[tokio::test]
async fn metrics_carry_the_documented_families_with_route_patterns_and_pass_promtool() {
    // A followed network, so promtool also lints the explorer families.
    let esplora = crate::support::fake_esplora::FakeEsplora::start(3).await;
    let chain =
        crate::support::chains::chain_config(withdrawal_tracker::config::ExplorerKind::Esplora, &esplora.base_url, 2);
    let app = TestApp::spawn_with(Backend::Memory, move |c| {
        c.networks.insert("BTC".into(), chain);
    })
    .await;
    app.chain_trackers[0].tick().await.unwrap();
    exercise(&app).await;
    let text = scrape(&app, &app.base).await;
    for family in [
        "withdrawal_tracker_withdrawals{network=\"TRX\",state=\"broadcast\"} 1",
        "withdrawal_tracker_withdrawals{network=\"ETH\",state=\"pending\"} 1",
        "withdrawal_tracker_sla{network=\"TRX\",status=\"on_track\"} 1",
        "withdrawal_tracker_address_validations_total{network=\"ETH\",result=\"valid\"} 1",
        "withdrawal_tracker_http_requests_total{method=\"GET\",route=\"/v1/withdrawals/{id}\",status=\"200\"} 1",
        "withdrawal_tracker_http_requests_total{method=\"GET\",route=\"/v1/withdrawals/{id}\",status=\"404\"} 1",
        "withdrawal_tracker_http_request_duration_seconds_bucket",
        "withdrawal_tracker_store_up 1",
        "withdrawal_tracker_store_gauges_exporter 1",
        "withdrawal_tracker_ticket_deliveries_pending 0",
        "withdrawal_tracker_ticket_deliveries_dead 0",
        // Tests install no log writer, so nothing is dropped.
        "withdrawal_tracker_log_lines_dropped_total 0",
        "withdrawal_tracker_chain_tip_height{network=\"BTC\"} 840002",
        "withdrawal_tracker_explorer_requests_total",
        "withdrawal_tracker_explorer_request_duration_seconds_bucket",
        "process_resident_memory_bytes",
    ] {
        assert!(has_sample(&text, family), "missing {family} in\n{text}");
    }
    assert!(
        text.contains("result=\"wrong_network\"") || text.contains("result=\"bad_prefix\""),
        "refusals are counted"
    );
    assert!(!text.contains("w-1") && !text.contains("w-nope"), "no raw ids in labels");
    assert!(!text.contains(INGEST_TOKEN) && !text.contains(SUPPORT_TOKEN));

    let mut promtool = Command::new(tools::promtool())
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    promtool.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = promtool.wait_with_output().unwrap();
    let findings = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success() && findings.trim().is_empty(), "promtool check metrics: {findings}");
}

#[tokio::test]
async fn completions_and_breaches_are_counted_once() {
    let app = TestApp::memory().await;
    app.register(&withdrawal("w-1", json!({"tx_hash": tron_hash("aa")}))).await;
    app.clock.set("2026-03-05T09:00:00Z".parse().unwrap());
    let id = withdrawal_tracker::domain::WithdrawalId::parse("w-1").unwrap();
    let now = app.clock_now();
    app.service
        .modify(&id, |w| {
            w.transition(withdrawal_tracker::domain::State::Confirming, "in block", now)?;
            Ok(w.transition(withdrawal_tracker::domain::State::Completed, "confirmed", now)?)
        })
        .await
        .unwrap();
    let text = scrape(&app, &app.base).await;
    assert!(has_sample(&text, "withdrawal_tracker_sla_breaches_total{network=\"TRX\"} 1"), "{text}");
    assert!(has_sample(&text, "withdrawal_tracker_completion_working_days_count{network=\"TRX\"} 1"), "{text}");
    assert!(has_sample(&text, "withdrawal_tracker_completion_working_days_bucket{network=\"TRX\",le=\"3\"} 1"));
    assert!(has_sample(&text, "withdrawal_tracker_completion_working_days_bucket{network=\"TRX\",le=\"2\"} 0"));
}

#[tokio::test]
async fn one_replica_at_a_time_exports_store_wide_gauges() {
    let prefix = unique_prefix("lease");
    let a = TestApp::spawn(Backend::Redis(RedisServer::shared(), prefix.clone())).await;
    let b = TestApp::spawn(Backend::Redis(RedisServer::shared(), prefix)).await;
    a.register(&withdrawal("w-1", json!({}))).await;
    a.store_gauges.refresh_once().await;
    b.store_gauges.refresh_once().await;
    let (text_a, text_b) = (scrape(&a, &a.base).await, scrape(&b, &b.base).await);
    let exporting = |t: &str| has_sample(t, "withdrawal_tracker_store_gauges_exporter 1");
    assert!(exporting(&text_a) != exporting(&text_b), "exactly one replica exports");
    let pending = "withdrawal_tracker_withdrawals{network=\"TRX\",state=\"pending\"} 1";
    assert_eq!(
        has_sample(&text_a, pending) as u8 + has_sample(&text_b, pending) as u8,
        1,
        "counted once across replicas"
    );
}

#[tokio::test]
async fn metrics_can_live_on_their_own_listener() {
    let app = TestApp::spawn_with(Backend::Memory, |c| c.metrics_listen = Some("127.0.0.1:0".into())).await;
    let main = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(main.status(), StatusCode::NOT_FOUND);
    let port = app.metrics_port.expect("a metrics listener");
    assert!(scrape(&app, &format!("http://127.0.0.1:{port}")).await.contains("withdrawal_tracker_store_up"));
}

#[tokio::test]
async fn request_ids_are_echoed_or_made() {
    let app = TestApp::memory().await;
    let given = app.client.get(app.url("/healthz")).header("x-request-id", "req-abc.123").send().await.unwrap();
    assert_eq!(given.headers()["x-request-id"], "req-abc.123");
    let made = app.client.get(app.url("/healthz")).send().await.unwrap();
    let id = made.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 16);
    let hostile = app.client.get(app.url("/healthz")).header("x-request-id", "a b\"c").send().await.unwrap();
    assert_ne!(hostile.headers()["x-request-id"], "a b\"c");
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn prometheus_query(client: &reqwest::Client, base: &str, query: &str) -> Option<f64> {
    let response = client.get(format!("{base}/api/v1/query")).query(&[("query", query)]).send().await.ok()?;
    let body: Value = response.json().await.ok()?;
    let value = body["data"]["result"][0]["value"][1].as_str()?;
    value.parse().ok()
}

#[tokio::test]
async fn a_real_prometheus_scrapes_the_tracker() {
    use withdrawal_tracker::config::{ExplorerKind, HumanDuration};
    use withdrawal_tracker::domain::{State, WithdrawalId};

    // A followed network, so the explorer families have samples too.
    let esplora = crate::support::fake_esplora::FakeEsplora::start(4).await;
    let mut chain = crate::support::chains::chain_config(ExplorerKind::Esplora, &esplora.base_url, 2);
    chain.poll_interval = HumanDuration(Duration::from_millis(200));
    let app = TestApp::spawn_with(Backend::Memory, move |c| {
        c.networks.insert("BTC".into(), chain);
    })
    .await;
    exercise(&app).await;
    // One withdrawal fails (an escalation goes out), one completes late (a breach).
    let now = app.clock_now();
    let w1 = WithdrawalId::parse("w-1").unwrap();
    app.service.modify(&w1, |w| Ok(w.transition(State::Failed, "reverted", now)?)).await.unwrap();
    app.sweeper.sweep_once().await.unwrap();
    app.register(&withdrawal("w-late", json!({"tx_hash": tron_hash("cc"), "requested_at": "2026-02-20T09:00:00Z"})))
        .await;
    let late = WithdrawalId::parse("w-late").unwrap();
    app.service
        .modify(&late, |w| {
            w.transition(State::Confirming, "in block", now)?;
            Ok(w.transition(State::Completed, "confirmed", now)?)
        })
        .await
        .unwrap();
    app.store_gauges.refresh_once().await;
    let dir = tempfile::tempdir().unwrap();
    let tracker_port = app.base.rsplit(':').next().unwrap().to_owned();
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: withdrawal-tracker\n    static_configs:\n      - targets: ['127.0.0.1:{tracker_port}']\n"
    );
    std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
    let port = crate::support::ports::free_port();
    let _prometheus = KillOnDrop(
        Command::new(tools::prometheus())
            .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let checks = [
        ("up{job=\"withdrawal-tracker\"}", 1.0),
        ("sum(withdrawal_tracker_withdrawals)", 3.0),
        ("withdrawal_tracker_withdrawals{network=\"TRX\",state=\"failed\"}", 1.0),
        ("withdrawal_tracker_withdrawals{network=\"TRX\",state=\"completed\"}", 1.0),
        ("sum(withdrawal_tracker_sla{status=\"on_track\"})", 2.0),
        ("withdrawal_tracker_sla_breaches_total{network=\"TRX\"}", 1.0),
        ("withdrawal_tracker_completion_working_days_count{network=\"TRX\"}", 1.0),
        ("withdrawal_tracker_escalations_total{sink=\"none\",event=\"opened\",outcome=\"delivered\"}", 1.0),
        ("withdrawal_tracker_ticket_deliveries_pending", 1.0), // w-late: overdue at once, not swept since
        ("withdrawal_tracker_ticket_deliveries_dead", 0.0),
        ("sum(withdrawal_tracker_http_requests_total{route=\"/v1/withdrawals\",method=\"POST\"})", 4.0),
        ("withdrawal_tracker_address_validations_total{network=\"ETH\",result=\"valid\"}", 1.0),
        ("withdrawal_tracker_store_up", 1.0),
        ("withdrawal_tracker_chain_tip_height{network=\"BTC\"}", 840_003.0),
        ("sum(withdrawal_tracker_explorer_requests_total{network=\"BTC\",outcome=\"ok\"}) > bool 0", 1.0),
        ("sum(withdrawal_tracker_explorer_request_duration_seconds_count{network=\"BTC\"}) > bool 0", 1.0),
        ("withdrawal_tracker_poll_lag_seconds{network=\"BTC\"} < bool 60", 1.0),
        ("sum(withdrawal_tracker_http_request_duration_seconds_count) > bool 0", 1.0),
    ];
    let deadline = Instant::now() + Duration::from_secs(30);
    for (query, expected) in checks {
        loop {
            if prometheus_query(&client, &base, query).await == Some(expected) {
                break;
            }
            assert!(Instant::now() < deadline, "Prometheus never saw {query} = {expected}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    let resident = prometheus_query(&client, &base, "process_resident_memory_bytes").await.unwrap();
    assert!(resident > 1e6 && resident < 4e9, "plausible RSS: {resident}");
}
