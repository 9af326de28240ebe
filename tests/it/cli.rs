//! The binary's command line: check-config and mint-user-token.

use std::process::Command;

use base64::Engine as _;

const BIN: &str = env!("CARGO_BIN_EXE_withdrawal-tracker");

fn run(args: &[&str]) -> (bool, String) {
    let output = Command::new(BIN).args(args).env_remove("TRACKER_CONFIG").output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

fn write_config(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}

#[test]
fn the_shipped_dev_config_is_valid() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/dev.toml");
    let (ok, text) = run(&["check-config", "--config", path]);
    assert!(ok, "{text}");
    assert!(text.contains("config ok"));
}

#[test]
fn check_config_names_the_bad_key_and_never_prints_secrets() {
    let secret = "super-secret-value-0123456789abcdef";
    let file = write_config(&format!(
        "listen = \"127.0.0.1:8080\"\ncolour = \"blue\"\n[auth]\nuser_jwt_secret = \"{secret}\"\n"
    ));
    let (ok, text) = run(&["check-config", "--config", file.path().to_str().unwrap()]);
    assert!(!ok);
    assert!(text.contains("colour"), "{text}");
    assert!(!text.contains(secret), "{text}");

    let file = write_config(&format!("listen = \"nowhere\"\n[auth]\nuser_jwt_secret = \"{secret}\"\n"));
    let (ok, text) = run(&["check-config", "--config", file.path().to_str().unwrap()]);
    assert!(!ok);
    assert!(text.contains("listen"), "{text}");
    assert!(!text.contains(secret), "{text}");
}

#[test]
fn check_config_lists_every_problem_one_per_line() {
    let secret = "short-secret-0123";
    let file = write_config(&format!(
        "listen = \"nowhere\"\ncolour = \"blue\"\n[auth]\nuser_jwt_secret = \"{secret}\"\n\
         [networks.BTC]\nexplorer = \"esplora\"\nurls = [\"http://x\"]\npoll_interval = \"10ms\"\n\
         [tickets]\nsink = \"webhook\"\n"
    ));
    let (ok, text) = run(&["check-config", "--config", file.path().to_str().unwrap()]);
    assert!(!ok);
    assert!(!text.contains("config ok"), "{text}");
    assert!(!text.contains(secret), "{text}");
    // What does not fit the file's shape first, then every bad value.
    let keys =
        ["colour", "listen", "auth.user_jwt_secret", "networks.BTC.poll_interval", "tickets.url", "tickets.secret"];
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), keys.len(), "{text}");
    for (line, key) in lines.iter().zip(keys) {
        assert!(line.starts_with(&format!("error: {key}: ")), "{key} in {text}");
    }
    // Serving refuses the same file with the same list, before it listens.
    let (ok, served) = run(&["--config", file.path().to_str().unwrap()]);
    assert!(!ok);
    assert_eq!(served, text);
}

#[test]
fn a_missing_config_is_explained() {
    let (ok, text) = run(&["check-config"]);
    assert!(!ok);
    assert!(text.contains("--config") && text.contains("TRACKER_CONFIG"), "{text}");
    let (ok, text) = run(&["check-config", "--config", "/nonexistent/tracker.toml"]);
    assert!(!ok);
    assert!(text.contains("/nonexistent/tracker.toml"), "{text}");
}

#[test]
fn the_config_path_may_come_from_the_environment() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/dev.toml");
    let output = Command::new(BIN).arg("check-config").env("TRACKER_CONFIG", path).output().unwrap();
    assert!(output.status.success());
}

#[test]
fn minted_user_tokens_are_jwts_for_that_user() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/dev.toml");
    let (ok, token) = run(&["mint-user-token", "--config", path, "--user", "alice"]);
    assert!(ok, "{token}");
    let parts: Vec<&str> = token.trim().split('.').collect();
    assert_eq!(parts.len(), 3, "header.payload.signature: {token}");
    let decode = |part: &str| -> serde_json::Value {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("base64url");
        serde_json::from_slice(&bytes).expect("a JSON object")
    };
    assert_eq!(decode(parts[0])["alg"], "HS256");
    let claims = decode(parts[1]);
    assert_eq!(claims["sub"], "alice", "{claims}");
    assert!(claims["exp"].as_i64().is_some(), "a user token expires: {claims}");
    let (ok, _) = run(&["mint-user-token", "--config", path]);
    assert!(!ok, "--user is required");
}

#[tokio::test]
async fn healthcheck_exits_zero_only_for_a_live_service() {
    let app = crate::support::app::TestApp::memory().await;
    let url = app.url("/healthz");
    let status = tokio::task::spawn_blocking(move || Command::new(BIN).args(["healthcheck", "--url", &url]).status())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    let dead = crate::support::ports::free_port();
    let (ok, text) = run(&["healthcheck", "--url", &format!("http://127.0.0.1:{dead}/healthz")]);
    assert!(!ok, "{text}");
}
