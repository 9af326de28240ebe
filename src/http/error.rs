//! The one error shape every response uses:
//! `{"error": {"code", "message", "field"?}}`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::auth::AuthError;
use crate::domain::FieldError;
use crate::service::ServiceError;
use crate::store::StoreError;

/// Seconds a client should wait after a 503 before retrying.
pub const RETRY_AFTER_SECONDS: u64 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Machine-readable specifics, e.g. the address validator's verdict.
    pub details: Option<serde_json::Value>,
    /// Overrides the default `Retry-After` of a 429 or 503.
    pub retry_after_seconds: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), field: None, details: None, retry_after_seconds: None }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message).with_field(field)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn rate_limited(retry_after_seconds: u64) -> Self {
        let mut error = Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests; retry later");
        error.retry_after_seconds = Some(retry_after_seconds);
        error
    }

    pub fn store_unavailable() -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", "the store is unreachable; retry later")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::SERVICE_UNAVAILABLE || self.status == StatusCode::TOO_MANY_REQUESTS {
            let seconds = self.retry_after_seconds.unwrap_or(RETRY_AFTER_SECONDS);
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                field: self.field.as_deref(),
                details: self.details.as_ref(),
            },
        })
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        ApiError::invalid_field(error.field, error.message)
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        ApiError::unauthorized(format!("authentication failed: {error}"))
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "store unavailable");
                ApiError::store_unavailable()
            }
            StoreError::Internal(cause) => {
                tracing::error!(%cause, "store error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
            }
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::NotFound => ApiError::not_found("no such withdrawal"),
            ServiceError::Expired { id, at } => ApiError::new(
                StatusCode::GONE,
                "withdrawal_expired",
                format!(
                    "withdrawal {id} was terminal for longer than the retention period and was deleted at {}",
                    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                ),
            ),
            ServiceError::Conflict(id) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("withdrawal {id} already exists with different content"),
            ),
            ServiceError::InvalidTransition(e) => ApiError::new(
                StatusCode::CONFLICT,
                "invalid_transition",
                format!("a withdrawal in state {} cannot move to {}", e.from, e.to),
            ),
            ServiceError::Invalid(e) => e.into(),
            ServiceError::NothingToRetry(id) => ApiError::new(
                StatusCode::CONFLICT,
                "nothing_to_retry",
                format!("withdrawal {id} has no dead ticket delivery to retry"),
            ),
            ServiceError::NothingToResolve(id) => ApiError::new(
                StatusCode::CONFLICT,
                "nothing_to_resolve",
                format!("withdrawal {id} has no open ticket to resolve"),
            ),
            ServiceError::Contended(id) => {
                tracing::warn!(withdrawal_id = %id, "write contention");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "too many concurrent updates; retry",
                )
            }
            ServiceError::Store(e) => e.into(),
        }
    }
}
