//! The real binary's logs: JSON lines with request ids and state changes,
//! and never a token or secret, whatever the requests carried.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use withdrawal_tracker::auth::mint_user_jwt;

const BIN: &str = env!("CARGO_BIN_EXE_withdrawal-tracker");
const INGEST: &str = "log-test-ingest-token-0123456789";
const SUPPORT: &str = "log-test-support-token-0123456789";
const JWT_SECRET: &str = "log-test-jwt-secret-0123456789abcdef";
const WEBHOOK_SECRET: &str = "log-test-webhook-secret-0123456789";

/// The binary serving `config` (written into `dir`) at `rust_log`, its stderr
/// piped for the test to read.
fn spawn_binary(dir: &tempfile::TempDir, config: String, rust_log: &str, stdout: Stdio) -> std::process::Child {
    let path = dir.path().join("tracker.toml");
    std::fs::write(&path, config).unwrap();
    Command::new(BIN)
        .args(["--config", path.to_str().unwrap()])
        .env("RUST_LOG", rust_log)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn json_logs_have_request_ids_and_state_changes_and_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_binary(
        &dir,
        format!(
            r#"
            listen = "127.0.0.1:0"
            log_format = "json"
            [auth]
            ingest_tokens = ["{INGEST}"]
            support_tokens = ["{SUPPORT}"]
            user_jwt_secret = "{JWT_SECRET}"
            [tickets]
            sink = "webhook"
            url = "http://127.0.0.1:9/hook"
            secret = "{WEBHOOK_SECRET}"
            "#
        ),
        "debug",
        Stdio::piped(),
    );
    let stderr = child.stderr.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut lines: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let port = loop {
        let line = lines_rx.recv_timeout(deadline - Instant::now()).expect("the service logs that it listens");
        let parsed: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("not a JSON line: {line}"));
        lines.push(line);
        if parsed["fields"]["message"] == "listening" {
            break parsed["fields"]["port"].as_u64().unwrap();
        }
    };

    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let jwt = mint_user_jwt(JWT_SECRET, "alice", chrono::Utc::now().timestamp() + 600);
    let body = json!({"id": "w-log", "user_id": "alice", "coin": "USDT", "network": "TRX",
        "address": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "amount": "5"});
    client.post(format!("{base}/v1/withdrawals")).bearer_auth(INGEST).json(&body).send().await.unwrap();
    client
        .patch(format!("{base}/v1/withdrawals/w-log"))
        .bearer_auth(INGEST)
        .header("x-request-id", "trace-me-42")
        .json(&json!({"tx_hash": "ab".repeat(32)}))
        .send()
        .await
        .unwrap();
    client.get(format!("{base}/v1/withdrawals/w-log")).bearer_auth(&jwt).send().await.unwrap();
    client.get(format!("{base}/v1/withdrawals/w-log")).bearer_auth("wrong-token-but-secretish").send().await.unwrap();
    client.get(format!("{base}/v1/withdrawals?user_id=alice")).bearer_auth(SUPPORT).send().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    child.kill().unwrap();
    let _ = child.wait();
    while let Ok(line) = lines_rx.recv_timeout(Duration::from_millis(500)) {
        lines.push(line);
    }

    let all = lines.join("\n");
    for secret in [INGEST, SUPPORT, JWT_SECRET, WEBHOOK_SECRET, jwt.as_str(), "wrong-token-but-secretish"] {
        assert!(!all.contains(secret), "a secret leaked into the logs: {secret}");
    }
    let parsed: Vec<Value> = lines.iter().map(|l| serde_json::from_str(l).expect("every line is JSON")).collect();
    let state_change =
        parsed.iter().find(|l| l["fields"]["message"] == "state changed").expect("a state change is logged");
    assert_eq!(state_change["fields"]["withdrawal_id"], "w-log");
    assert_eq!(state_change["span"]["request_id"], "trace-me-42", "the event carries its request's id");
    let requests: Vec<&Value> = parsed.iter().filter(|l| l["fields"]["message"] == "request").collect();
    assert!(requests.len() >= 5, "one line per request");
    assert!(requests.iter().all(|l| l["span"]["request_id"].as_str().is_some_and(|id| !id.is_empty())));
    assert!(requests.iter().any(|l| l["fields"]["route"] == "/v1/withdrawals/{id}"));
}

/// A stderr nobody reads stalls the log writer: requests must still be
/// answered (the lines they log are dropped, not waited for), every line that
/// does get out is whole, and the dropped ones are counted in the metric.
#[tokio::test]
async fn a_stalled_stderr_drops_whole_lines_counts_them_and_holds_no_request() {
    // A queue of one line drops even start-up lines, so the port is chosen
    // here, not read from the "listening" line.
    let port = crate::support::ports::free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_binary(
        &dir,
        format!(
            r#"
            listen = "127.0.0.1:{port}"
            log_format = "json"
            log_buffer_lines = 1
            [auth]
            ingest_tokens = ["{INGEST}"]
            support_tokens = ["{SUPPORT}"]
            user_jwt_secret = "{JWT_SECRET}"
            "#
        ),
        "info",
        Stdio::null(),
    );
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let base = format!("http://127.0.0.1:{port}");
    // A request held by a blocked log write fails the test instead of hanging it.
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the service does not answer");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // From here nobody reads stderr until the flood is over: a pipe holds
    // 64 KiB, and each request logs a line of about 200 bytes.
    for _ in 0..5_000 {
        let response = client.get(format!("{base}/healthz")).send().await.unwrap();
        assert!(response.status().is_success());
    }
    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    let dropped: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("withdrawal_tracker_log_lines_dropped_total "))
        .unwrap_or_else(|| panic!("no dropped-lines counter in\n{metrics}"))
        .parse()
        .unwrap();
    assert!(dropped > 0, "a stalled stderr drops lines, and they are counted");

    drop(client);
    // Reading again lets the writer go on; what it wrote is whole JSON lines.
    let reader = std::thread::spawn(move || {
        let mut written = 0;
        for line in stderr.lines().map_while(Result::ok) {
            serde_json::from_str::<Value>(&line).unwrap_or_else(|_| panic!("a torn line: {line}"));
            written += 1;
        }
        written
    });
    let stopped = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(stopped.success());
    assert!(child.wait().unwrap().success(), "a stopped service exits cleanly");
    let written: u64 = reader.join().unwrap();
    assert!(written > 0 && written + dropped >= 5_000, "{written} written, {dropped} dropped");
    drop(dir);
}
