//! HTTP details the REST clients share: status and transport errors sorted
//! into `ChainError`s, failover across base URLs, JSON errors that say where.

use std::time::Duration;

use reqwest::header::RETRY_AFTER;
use reqwest::{Response, StatusCode};

use super::ChainError;

/// The HTTP client every explorer client uses: one timeout per request.
pub(super) fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("withdrawal-tracker/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("an HTTP client with default TLS builds")
}

/// reqwest's messages include the URL, which may carry an API key.
pub(super) fn transport_error(error: &reqwest::Error) -> ChainError {
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
pub(super) fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some((at.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO))
}

/// The error for a non-success status other than 404 (which each caller
/// reads in its own way). Reads a little of the body for the message.
pub(super) async fn status_error(response: Response) -> ChainError {
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

/// A 2xx answer, or a 4xx other than 429 that the caller reads in its own
/// way (Blockbook answers 400 for "not found", TronGrid 403 when throttling).
pub(super) struct Reply {
    pub status: StatusCode,
    pub body: String,
}

/// Sends the request `build` makes for each base URL in order until one
/// answers: connect errors, timeouts (the body's too) and 5xx move on to the
/// next URL; a 429 is the answer (another URL of the same provider would
/// throttle as well). `api` names the API in the final error's log line.
pub(super) async fn send_with_failover<F>(
    api: &str,
    base_urls: &[String],
    gate: &Gate,
    build: F,
) -> Result<Reply, ChainError>
where
    F: Fn(&str) -> reqwest::RequestBuilder,
{
    let mut last = ChainError::Unavailable(format!("no {api} base URL configured"));
    for base in base_urls {
        let response = match gate.send(build(base)).await {
            Ok(response) => response,
            Err(error) => {
                last = transport_error(&error);
                continue;
            }
        };
        let status = response.status();
        let readable = status.is_success()
            || (status.is_client_error()
                && status != StatusCode::TOO_MANY_REQUESTS
                && status != StatusCode::REQUEST_TIMEOUT);
        if !readable {
            match status_error(response).await {
                error @ ChainError::Unavailable(_) => {
                    last = error;
                    continue;
                }
                error => return Err(error),
            }
        }
        match response.text().await {
            Ok(body) => return Ok(Reply { status, body }),
            Err(error) => last = transport_error(&error),
        }
    }
    tracing::debug!(api, error = %last, "every base URL failed");
    Err(last)
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

/// The start of a body, for error messages.
pub(super) fn snippet(text: &str) -> String {
    text.chars().take(120).collect()
}

/// POSTs `body` (JSON) to each URL in order until one gives an answer:
/// connect errors, timeouts, 5xx, and whatever `read` turns into
/// `Unavailable` (a node saying it is behind) move on to the next URL; a 429,
/// another 4xx, or anything else `read` returns is the answer. `what` names
/// the call in logs; URLs may carry keys, so they are never logged.
pub(super) async fn post_with_failover<T>(
    http: &reqwest::Client,
    gate: &Gate,
    urls: &[String],
    body: &serde_json::Value,
    what: &str,
    read: impl Fn(&str) -> Result<T, ChainError>,
) -> Result<T, ChainError> {
    let mut last = ChainError::Unavailable("no URL configured".to_owned());
    for (index, url) in urls.iter().enumerate() {
        let response = match gate.send(http.post(url).json(body)).await {
            Ok(response) => response,
            Err(error) => {
                last = transport_error(&error);
                tracing::debug!(what, url = index, error = %last, "trying the next URL");
                continue;
            }
        };
        if !response.status().is_success() {
            match status_error(response).await {
                error @ ChainError::Unavailable(_) => {
                    tracing::debug!(what, url = index, error = %error, "trying the next URL");
                    last = error;
                    continue;
                }
                error => return Err(error),
            }
        }
        let text = match response.text().await {
            Ok(text) => text,
            Err(error) => {
                last = transport_error(&error);
                continue;
            }
        };
        match read(&text) {
            Err(error @ ChainError::Unavailable(_)) => {
                tracing::debug!(what, url = index, error = %error, "trying the next URL");
                last = error;
            }
            answer => return answer,
        }
    }
    tracing::debug!(what, error = %last, "every URL failed");
    Err(last)
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
