//! Starts the real server on a free port, zero2prod style, with helpers that
//! speak its API.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use prometheus::core::Collector;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use withdrawal_tracker::auth::mint_user_jwt;
use withdrawal_tracker::clock::ManualClock;
use withdrawal_tracker::config::Config;
use withdrawal_tracker::service::Service;
use withdrawal_tracker::startup::Application;
use withdrawal_tracker::store::{MemoryStore, RedisStore, Store};
use withdrawal_tracker::tickets::build_sink;
use withdrawal_tracker::tracker::chain::ChainTracker;
use withdrawal_tracker::tracker::retention::Retention;
use withdrawal_tracker::tracker::store_gauges::StoreGauges;
use withdrawal_tracker::tracker::sweeper::Sweeper;

use super::redis::{unique_prefix, RedisServer};

pub const INGEST_TOKEN: &str = "test-ingest-token-0123456789";
pub const SUPPORT_TOKEN: &str = "test-support-token-0123456789";
pub const JWT_SECRET: &str = "test-user-jwt-secret-0123456789abcdef";
pub const CONSOLE_SESSION_SECRET: &str = "test-console-session-secret-0123456789";
pub const STATUS_LINK_SECRET: &str = "test-status-link-secret-0123456789abcd";

pub fn test_config(redis_url: Option<&str>, key_prefix: &str) -> Config {
    let redis_lines = redis_url.map(|u| format!("redis_url = \"{u}\"")).unwrap_or_default();
    config_with(&redis_lines, key_prefix)
}

/// On a Redis Cluster reached through `seeds` (comma-separated URLs).
pub fn cluster_config(seeds: &str, key_prefix: &str) -> Config {
    config_with(&format!("redis_cluster = true\nredis_url = \"{seeds}\""), key_prefix)
}

fn config_with(redis_line: &str, key_prefix: &str) -> Config {
    let text = format!(
        r#"
        listen = "127.0.0.1:0"
        {redis_line}
        key_prefix = "{key_prefix}"
        store_timeout = "500ms"
        [sla]
        sweep_interval = "1h"
        # Tests send bursts from one token; the rate-limit tests set their own.
        [rate_limit]
        per_token_per_second = 100000
        per_token_burst = 100000
        failed_auth_per_ip_per_minute = 100000
        [auth]
        ingest_tokens = ["{INGEST_TOKEN}"]
        support_tokens = ["{SUPPORT_TOKEN}"]
        user_jwt_secret = "{JWT_SECRET}"
        [console]
        session_secret = "{CONSOLE_SESSION_SECRET}"
        status_link_secret = "{STATUS_LINK_SECRET}"
        plain_http = true
        "#
    );
    Config::parse_toml(&text, "test").unwrap()
}

pub fn start_time() -> DateTime<Utc> {
    "2026-03-02T10:00:00Z".parse().unwrap()
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub service: Arc<Service>,
    pub sweeper: Sweeper,
    pub retention: Retention,
    pub store_gauges: StoreGauges,
    pub chain_trackers: Vec<ChainTracker>,
    pub metrics_port: Option<u16>,
    pub handle: actix_web::dev::ServerHandle,
}

pub enum Backend<'a> {
    Memory,
    /// A Redis server and the key prefix to use on it.
    Redis(&'a RedisServer, String),
    /// A Redis Cluster's seed URLs (comma-separated) and the key prefix.
    Cluster(String, String),
}

impl TestApp {
    pub async fn memory() -> TestApp {
        Self::spawn(Backend::Memory).await
    }

    /// On the shared Redis server, under a prefix of its own.
    pub async fn redis(name: &str) -> TestApp {
        Self::spawn(Backend::Redis(RedisServer::shared(), unique_prefix(name))).await
    }

    pub async fn spawn(backend: Backend<'_>) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// With the file's config adjusted by `tweak` before it is converted to
    /// settings (the ticket sink comes from it).
    pub async fn spawn_with(backend: Backend<'_>, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let (mut config, store): (Config, Option<Arc<dyn Store>>) = match backend {
            Backend::Memory => (test_config(None, "wt"), Some(Arc::new(MemoryStore::new()))),
            Backend::Redis(server, prefix) => {
                let config = test_config(Some(&server.url()), &prefix);
                let store = RedisStore::new(&server.url(), &prefix, config.store_timeout.0).unwrap();
                (config, Some(Arc::new(store)))
            }
            // Built below as the binary builds it, from the settings.
            Backend::Cluster(seeds, prefix) => (cluster_config(&seeds, &prefix), None),
        };
        tweak(&mut config);
        let settings = config.settings().expect("test config is valid");
        let store = store.unwrap_or_else(|| withdrawal_tracker::startup::build_store(&settings.store).unwrap());
        let sink = build_sink(&settings.tickets);
        let clock = Arc::new(ManualClock::new(start_time()));
        let app = Application::build_with(settings, store, sink, clock.clone()).expect("app builds");
        let base = format!("http://127.0.0.1:{}", app.port());
        let (handle, service, sweeper) = (app.handle(), app.service(), app.sweeper());
        let (store_gauges, metrics_port) = (app.store_gauges(), app.metrics_port());
        let chain_trackers = app.chain_trackers();
        let retention = app.retention();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            base,
            // Idle connections are dropped before the server's 5 s keep-alive
            // closes them, so a test never reuses one the server just closed.
            client: reqwest::Client::builder()
                .pool_idle_timeout(std::time::Duration::from_secs(2))
                .build()
                .expect("a client builds"),
            clock,
            service,
            sweeper,
            retention,
            store_gauges,
            chain_trackers,
            metrics_port,
            handle,
        }
    }

    pub fn user_token(&self, user: &str) -> String {
        mint_user_jwt(JWT_SECRET, user, self.clock_now().timestamp() + 3600)
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        use withdrawal_tracker::clock::Clock;
        self.clock.now()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn post_json(&self, path: &str, token: &str, body: &Value) -> Response {
        self.client.post(self.url(path)).bearer_auth(token).json(body).send().await.unwrap()
    }

    pub async fn register(&self, body: &Value) -> Response {
        self.post_json("/v1/withdrawals", INGEST_TOKEN, body).await
    }

    pub async fn patch(&self, id: &str, body: &Value) -> Response {
        self.client
            .patch(self.url(&format!("/v1/withdrawals/{id}")))
            .bearer_auth(INGEST_TOKEN)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_as(&self, path: &str, token: &str) -> Response {
        self.client.get(self.url(path)).bearer_auth(token).send().await.unwrap()
    }

    /// `GET path` asking for CSV (`Accept: text/csv`).
    pub async fn get_csv(&self, path: &str, token: &str) -> Response {
        self.client.get(self.url(path)).bearer_auth(token).header("accept", "text/csv").send().await.unwrap()
    }

    /// Every withdrawal `GET /v1/withdrawals?limit=500{filter}` returns, by id,
    /// following its cursors; `filter` is `""` or starts with `&`.
    pub async fn list_all(&self, filter: &str) -> BTreeMap<String, Value> {
        let mut found = BTreeMap::new();
        let mut cursor: Option<String> = None;
        loop {
            let after = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
            let response = self.get_as(&format!("/v1/withdrawals?limit=500{filter}{after}"), SUPPORT_TOKEN).await;
            assert_eq!(response.status(), StatusCode::OK, "listing {filter:?}");
            let page: Value = response.json().await.unwrap();
            for item in page["items"].as_array().unwrap() {
                let previous = found.insert(item["id"].as_str().unwrap().to_owned(), item.clone());
                assert!(previous.is_none(), "listed twice under {filter:?}: {item}");
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return found,
            }
        }
    }

    /// Waits (up to 20 s) for `/readyz` to answer 200: after a start, or
    /// while Redis comes back.
    pub async fn wait_until_ready(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            // A pooled keep-alive connection may have been closed by the server
            // while the test was busy elsewhere: that is "try again", not a failure.
            let status = self.client.get(self.url("/readyz")).send().await.map(|r| r.status());
            if matches!(status, Ok(StatusCode::OK)) {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "service did not become ready (last /readyz {status:?})");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Waits (up to 30 s) until the app's own chain tracker for `network`
    /// finished its first poll (it polls once at start, then every
    /// `poll_interval`): tests that count explorer requests start counting
    /// after it, or a start delayed by a loaded machine lands in their count.
    pub async fn wait_for_first_poll(&self, network: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let polled = || {
            self.service.metrics.poll_lag_seconds.collect().iter().flat_map(|family| family.get_metric()).any(
                |metric| metric.get_label().iter().any(|label| label.name() == "network" && label.value() == network),
            )
        };
        while !polled() {
            assert!(std::time::Instant::now() < deadline, "the {network} tracker never finished its first poll");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    pub async fn get_withdrawal(&self, id: &str) -> Value {
        let response = self.get_as(&format!("/v1/withdrawals/{id}"), SUPPORT_TOKEN).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        // Stop without waiting: the runtime may already be shutting down.
        drop(handle.stop(false));
    }
}

/// A valid registration body; `overrides` replace fields (null removes one).
pub fn withdrawal(id: &str, overrides: Value) -> Value {
    let mut body = json!({
        "id": id,
        "user_id": "alice",
        "coin": "USDT",
        "network": "TRX",
        "address": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        "amount": "25.50",
        "requested_at": "2026-03-02T09:00:00Z",
    });
    for (key, value) in overrides.as_object().unwrap() {
        if value.is_null() {
            body.as_object_mut().unwrap().remove(key);
        } else {
            body[key] = value.clone();
        }
    }
    body
}

pub fn tron_hash(byte: &str) -> String {
    byte.repeat(32)
}

/// Asserts the error shape and returns its body.
pub async fn expect_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "unexpected status");
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    body
}
