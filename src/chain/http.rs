//! What every client of a chain API shares: one client config shape, the
//! endpoint set (one network's base URLs, key header, HTTP client and `Gate`)
//! with the one failover loop over those URLs, status and transport errors
//! sorted into `ChainError`s, JSON errors that say where.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::RETRY_AFTER;
use reqwest::{Response, StatusCode};

use super::ChainError;
use crate::config::Secret;

/// How to reach one network's API, for every client: REST or JSON-RPC.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Without a trailing slash (REST clients append paths; JSON-RPC clients
    /// post to the URL as it is). Tried in order on every request; may carry
    /// a provider key, so never logged.
    pub base_urls: Vec<String>,
    /// Sent as a header on every request.
    pub api_key: Option<ApiKey>,
    /// Per request and per URL.
    pub timeout: Duration,
    /// The network's request budget and request metrics, shared by all its
    /// clients and URLs.
    pub gate: Arc<Gate>,
}

impl ClientConfig {
    /// No API key, and no budget or metrics (`Gate::unlimited`).
    pub fn new<U: Into<String>>(base_urls: impl IntoIterator<Item = U>, timeout: Duration) -> ClientConfig {
        ClientConfig {
            base_urls: base_urls.into_iter().map(Into::into).collect(),
            api_key: None,
            timeout,
            gate: Arc::new(Gate::unlimited()),
        }
    }

    pub fn with_api_key(mut self, api_key: Option<ApiKey>) -> ClientConfig {
        self.api_key = api_key;
        self
    }

    /// Sends every request through `gate` (the network's budget and metrics).
    pub fn with_gate(mut self, gate: Arc<Gate>) -> ClientConfig {
        self.gate = gate;
        self
    }
}

/// Sent as a header on every request (providers differ in its name).
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub header: String,
    pub value: Secret,
}

/// Idle connections are not reused after this long: servers close idle
/// keep-alive connections after a few seconds (actix-web after 5), and a
/// request sent on one the server is closing fails ("error sending
/// request"). Requests within one poll still share connections.
const POOL_IDLE: Duration = Duration::from_secs(4);

/// The HTTP client every explorer client uses: one timeout per request.
fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .pool_idle_timeout(POOL_IDLE)
        .user_agent(concat!("withdrawal-tracker/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("an HTTP client with default TLS builds")
}

/// reqwest's messages include the URL, which may carry an API key.
fn transport_error(error: &reqwest::Error) -> ChainError {
    let what = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        error.to_string().split(" for url").next().unwrap_or("error").to_owned()
    };
    ChainError::Unavailable(what)
}

/// `Retry-After` as seconds or an HTTP date (RFC 9110 allows both).
fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some((at.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO))
}

/// The error for a non-success status other than 404 (which each caller
/// reads in its own way). Reads a little of the body for the message.
async fn status_error(response: Response) -> ChainError {
    let status = response.status();
    if status == StatusCode::TOO_MANY_REQUESTS {
        return ChainError::RateLimited { retry_after: retry_after(&response) };
    }
    let body = response.text().await.unwrap_or_default();
    let body: String = body.chars().take(200).collect();
    if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
        ChainError::Unavailable(format!("HTTP {}: {body}", status.as_u16()))
    } else {
        ChainError::BadResponse(format!("HTTP {}: {body}", status.as_u16()))
    }
}

/// Every HTTP request to one network's explorer passes here: a request budget
/// that is never exceeded (token bucket, burst of one second's budget) and
/// the request metrics. Shared by all clients (and URLs) of a network.
pub struct Gate {
    labels: Option<(String, &'static str, std::sync::Arc<crate::metrics::Metrics>)>,
    requests_per_second: f64,
    budget: tokio::sync::Mutex<(f64, tokio::time::Instant)>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate").field("requests_per_second", &self.requests_per_second).finish_non_exhaustive()
    }
}

impl Gate {
    pub fn new(
        network: crate::domain::Network,
        explorer: &'static str,
        requests_per_second: f64,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
    ) -> Gate {
        Gate {
            labels: Some((network.code().to_owned(), explorer, metrics)),
            requests_per_second,
            budget: tokio::sync::Mutex::new((requests_per_second.max(1.0), tokio::time::Instant::now())),
        }
    }

    /// No budget and no metrics: for clients used on their own.
    pub fn unlimited() -> Gate {
        Gate {
            labels: None,
            requests_per_second: f64::INFINITY,
            budget: tokio::sync::Mutex::new((0.0, tokio::time::Instant::now())),
        }
    }

    async fn acquire(&self) {
        if self.requests_per_second.is_infinite() {
            return;
        }
        loop {
            let wait = {
                let mut budget = self.budget.lock().await;
                let now = tokio::time::Instant::now();
                let refill = now.duration_since(budget.1).as_secs_f64() * self.requests_per_second;
                budget.0 = (budget.0 + refill).min(self.requests_per_second.max(1.0));
                budget.1 = now;
                if budget.0 >= 1.0 {
                    budget.0 -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - budget.0) / self.requests_per_second)
            };
            tokio::time::sleep(wait).await;
        }
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> reqwest::Result<Response> {
        self.acquire().await;
        let started = std::time::Instant::now();
        let result = request.send().await;
        if let Some((network, explorer, metrics)) = &self.labels {
            let outcome = match &result {
                Ok(r) if r.status().is_success() => "ok",
                Ok(r) if r.status() == StatusCode::NOT_FOUND => "not_found",
                Ok(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => "rate_limited",
                Ok(r) if r.status().is_server_error() => "server_error",
                Ok(_) => "client_error",
                Err(e) if e.is_timeout() => "timeout",
                Err(_) => "unavailable",
            };
            metrics.explorer_requests.with_label_values(&[network.as_str(), explorer, outcome]).inc();
            metrics
                .explorer_request_duration
                .with_label_values(&[network.as_str(), explorer])
                .observe(started.elapsed().as_secs_f64());
        }
        result
    }
}

/// An answer to read: a 2xx, or a 4xx other than 429 and 408 that the
/// client reads in its own way (Esplora 404 for "not found", Blockbook 400,
/// TronGrid 403 when throttling).
pub(super) struct Reply {
    pub status: StatusCode,
    pub body: String,
}

impl Reply {
    /// The error for a status the client does not expect: `HTTP 400: <body>`.
    pub fn unexpected_status(&self) -> ChainError {
        let body: String = self.body.chars().take(200).collect();
        ChainError::BadResponse(format!("HTTP {}: {body}", self.status.as_u16()))
    }
}

/// One network's API as every client reaches it: the base URLs in order,
/// the API key header, the HTTP client (with the timeout) and the `Gate`.
pub(super) struct Endpoints {
    http: reqwest::Client,
    base_urls: Vec<String>,
    api_key: Option<ApiKey>,
    gate: Arc<Gate>,
}

impl Endpoints {
    pub fn new(config: ClientConfig) -> Endpoints {
        let ClientConfig { base_urls, api_key, timeout, gate } = config;
        Endpoints { http: client(timeout), base_urls, api_key, gate }
    }

    /// GET `{base}{path}`; see `send`.
    pub async fn get<T>(&self, path: &str, read: impl Fn(Reply) -> Result<T, ChainError>) -> Result<T, ChainError> {
        self.send(path, |base| self.http.get(format!("{base}{path}")), read).await
    }

    /// POST `body` as JSON to `{base}{path}` (`path` empty for JSON-RPC);
    /// `what` names the call in logs. See `send`.
    pub async fn post<T>(
        &self,
        what: &str,
        path: &str,
        body: &serde_json::Value,
        read: impl Fn(Reply) -> Result<T, ChainError>,
    ) -> Result<T, ChainError> {
        self.send(what, |base| self.http.post(format!("{base}{path}")).json(body), read).await
    }

    /// The one failover loop: sends the request `build` makes for each base
    /// URL in order until one gives an answer. Connect errors, timeouts (the
    /// body's too), 5xx and 408, and whatever `read` turns into `Unavailable`
    /// (a node saying it is behind) move on to the next URL; a 429 is the
    /// answer (another URL of the same provider would throttle as well), and
    /// so is anything else `read` returns. URLs may carry keys: logs name
    /// them by index.
    async fn send<T>(
        &self,
        what: &str,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
        read: impl Fn(Reply) -> Result<T, ChainError>,
    ) -> Result<T, ChainError> {
        let mut last = ChainError::Unavailable("no base URL configured".to_owned());
        for (index, base) in self.base_urls.iter().enumerate() {
            let mut request = build(base);
            if let Some(key) = &self.api_key {
                request = request.header(key.header.as_str(), key.value.expose());
            }
            let answer = match self.gate.send(request).await {
                Err(error) => Err(transport_error(&error)),
                Ok(response) => {
                    let status = response.status();
                    let readable = status.is_success()
                        || (status.is_client_error()
                            && status != StatusCode::TOO_MANY_REQUESTS
                            && status != StatusCode::REQUEST_TIMEOUT);
                    if !readable {
                        Err(status_error(response).await)
                    } else {
                        match response.text().await {
                            Ok(body) => read(Reply { status, body }),
                            Err(error) => Err(transport_error(&error)),
                        }
                    }
                }
            };
            match answer {
                Err(error @ ChainError::Unavailable(_)) => {
                    tracing::debug!(what = %endpoint(what), url = index, %error, "trying the next URL");
                    last = error;
                }
                answer => return answer,
            }
        }
        tracing::debug!(what = %endpoint(what), error = %last, "every URL failed");
        Err(last)
    }
}

/// JSON into `T`, or a `BadResponse` naming the endpoint and the path inside
/// the document where it went wrong.
pub(super) fn parse_json<T: serde::de::DeserializeOwned>(body: &str, path: &str) -> Result<T, ChainError> {
    let mut deserializer = serde_json::Deserializer::from_str(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let at = e.path().to_string();
        ChainError::BadResponse(format!("{}: at `{at}`: {}", endpoint(path), e.inner()))
    })
}

/// The path without ids or query, so messages group well in logs.
pub(super) fn endpoint(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    path.split('/')
        .map(|part| if part.len() > 20 || part.parse::<u64>().is_ok() { ":id" } else { part })
        .collect::<Vec<_>>()
        .join("/")
}

/// A block hash as 64 hex digits (surrounding white space ignored),
/// lowercased; `what` names where it came from in the error.
pub(super) fn parse_hash(text: &str, what: &str) -> Result<String, ChainError> {
    let hash = text.trim();
    if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hash.to_ascii_lowercase())
    } else {
        Err(ChainError::BadResponse(format!("{what}: expected a 64-hex-digit hash, got {:?}", snippet(hash))))
    }
}

/// The start of a body, for error messages.
pub(super) fn snippet(text: &str) -> String {
    text.chars().take(120).collect()
}

#[cfg(test)]
mod gate_tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_budget_is_never_exceeded() {
        let gate =
            Gate::new(crate::domain::Network::Btc, "esplora", 5.0, std::sync::Arc::new(crate::metrics::Metrics::new()));
        let started = tokio::time::Instant::now();
        for _ in 0..15 {
            gate.acquire().await;
        }
        // A burst of 5, then 10 more at 5 per second.
        assert!(started.elapsed() >= Duration::from_secs(2), "{:?}", started.elapsed());
        assert!(started.elapsed() < Duration::from_millis(2100));
    }
}
