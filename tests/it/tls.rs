//! `rediss://` URLs: the real binary speaks TLS (rustls, server certificate
//! verified against the system's CA store) to a TLS-only `redis-server`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::support::ports::free_port;
use crate::support::redis::{redis_server_binary, watch_for_test_exit, INSTALL_HINT};

const BIN: &str = env!("CARGO_BIN_EXE_withdrawal-tracker");

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl is required to make the test certificates (apt-get install openssl)");
    assert!(status.success(), "openssl {args:?}");
}

/// A throwaway CA (`ca.pem`) and a server certificate for 127.0.0.1 it signed.
fn make_certificates(dir: &Path) {
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let rsa = ["-newkey", "rsa:2048", "-nodes"];
    openssl(
        dir,
        &[&["req", "-x509"][..], &rsa, &["-days", "1", "-subj", "/CN=test-ca", "-keyout", "ca.key", "-out", "ca.pem"]]
            .concat(),
    );
    openssl(
        dir,
        &[&["req"][..], &rsa, &["-subj", "/CN=localhost", "-keyout", "key.pem", "-out", "server.csr"]].concat(),
    );
    openssl(
        dir,
        &["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1"]
            .into_iter()
            .chain(["-extfile", "server.ext", "-out", "cert.pem"])
            .collect::<Vec<_>>(),
    );
}

#[tokio::test]
async fn the_service_reaches_redis_over_tls_with_a_rediss_url() {
    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    let redis_port = free_port();
    let redis = Command::new(redis_server_binary())
        .current_dir(dir.path())
        .args(["--port", "0", "--tls-port", &redis_port.to_string(), "--bind", "127.0.0.1", "--save", ""])
        .args(["--tls-cert-file", "cert.pem", "--tls-key-file", "key.pem", "--tls-ca-cert-file", "ca.pem"])
        .args(["--tls-auth-clients", "no", "--dir", "."])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start redis-server: {e}\n{INSTALL_HINT}"));
    watch_for_test_exit(redis.id());
    let _redis = KillOnDrop(redis);

    let listen_port = free_port();
    let config = dir.path().join("tracker.toml");
    std::fs::write(
        &config,
        format!(
            r#"
            listen = "127.0.0.1:{listen_port}"
            redis_url = "rediss://127.0.0.1:{redis_port}/0"
            log_format = "json"
            [auth]
            ingest_tokens = ["tls-test-ingest-token-0123456789"]
            user_jwt_secret = "tls-test-jwt-secret-0123456789abcdef"
            "#
        ),
    )
    .unwrap();
    // The throwaway CA stands in for the system's CA store.
    let service = Command::new(BIN)
        .args(["--config", config.to_str().unwrap()])
        .env("SSL_CERT_FILE", dir.path().join("ca.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _service = KillOnDrop(service);

    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = client.get(format!("http://127.0.0.1:{listen_port}/readyz")).send().await.map(|r| r.status());
        if matches!(status, Ok(StatusCode::OK)) {
            break;
        }
        assert!(Instant::now() < deadline, "never ready over TLS (last /readyz {status:?})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
