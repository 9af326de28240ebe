//! HTTP details both clients share: status and transport errors sorted into
//! `ChainError`s.

use std::time::Duration;

use reqwest::header::RETRY_AFTER;
use reqwest::{Response, StatusCode};

use super::ChainError;

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

/// POSTs `body` (JSON) to each URL in order until one gives an answer:
/// connect errors, timeouts, 5xx, and whatever `read` turns into
/// `Unavailable` (a node saying it is behind) move on to the next URL; a 429,
/// another 4xx, or anything else `read` returns is the answer. `what` names
/// the call in logs; URLs may carry keys, so they are never logged.
pub(super) async fn post_with_failover<T>(
    http: &reqwest::Client,
    urls: &[String],
    body: &serde_json::Value,
    what: &str,
    read: impl Fn(&str) -> Result<T, ChainError>,
) -> Result<T, ChainError> {
    let mut last = ChainError::Unavailable("no URL configured".to_owned());
    for (index, url) in urls.iter().enumerate() {
        let response = match http.post(url).json(body).send().await {
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
