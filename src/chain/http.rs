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
