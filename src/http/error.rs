//! The one error shape every response uses:
//! `{"error": {"code", "message", "field"?}}`, and the one table of the codes
//! a client can see.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::auth::AuthError;
use crate::domain::FieldError;
use crate::service::ServiceError;
use crate::store::StoreError;

/// Seconds a client should wait after a 503 before retrying.
pub const RETRY_AFTER_SECONDS: u64 = 2;

/// Builds [`Code`] from the table below: each code once, with its HTTP
/// status (meilisearch's `make_error_codes!`).
macro_rules! error_codes {
    ($($variant:ident = $code:literal, $status:ident;)+) => {
        /// Every error code the API answers with. An [`ApiError`] holds one, and
        /// its status comes from here; a test holds this table against
        /// `openapi.yaml`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($variant,)+
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)+
                }
            }

            pub const fn status(self) -> StatusCode {
                match self {
                    $(Code::$variant => StatusCode::$status,)+
                }
            }
        }
    };
}

error_codes! {
    BadRequest = "bad_request", BAD_REQUEST;
    Unauthorized = "unauthorized", UNAUTHORIZED;
    Forbidden = "forbidden", FORBIDDEN;
    NotFound = "not_found", NOT_FOUND;
    WithdrawalExpired = "withdrawal_expired", GONE;
    MethodNotAllowed = "method_not_allowed", METHOD_NOT_ALLOWED;
    Conflict = "conflict", CONFLICT;
    InvalidTransition = "invalid_transition", CONFLICT;
    NothingToRetry = "nothing_to_retry", CONFLICT;
    NothingToResolve = "nothing_to_resolve", CONFLICT;
    NotInMaintenance = "not_in_maintenance", CONFLICT;
    IncidentOpen = "incident_open", CONFLICT;
    NoOpenIncident = "no_open_incident", CONFLICT;
    PayloadTooLarge = "payload_too_large", PAYLOAD_TOO_LARGE;
    UnsupportedMediaType = "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE;
    InvalidField = "invalid_field", UNPROCESSABLE_ENTITY;
    UnknownNetwork = "unknown_network", UNPROCESSABLE_ENTITY;
    InvalidAddress = "invalid_address", UNPROCESSABLE_ENTITY;
    InvalidMemo = "invalid_memo", UNPROCESSABLE_ENTITY;
    RateLimited = "rate_limited", TOO_MANY_REQUESTS;
    Internal = "internal", INTERNAL_SERVER_ERROR;
    StoreUnavailable = "store_unavailable", SERVICE_UNAVAILABLE;
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: Code,
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
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into(), field: None, details: None, retry_after_seconds: None }
    }

    pub fn status(&self) -> StatusCode {
        self.code.status()
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
        Self::new(Code::BadRequest, message)
    }

    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Code::InvalidField, message).with_field(field)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(Code::Unauthorized, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Code::Forbidden, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Code::NotFound, message)
    }

    pub fn rate_limited(retry_after_seconds: u64) -> Self {
        let mut error = Self::new(Code::RateLimited, "too many requests; retry later");
        error.retry_after_seconds = Some(retry_after_seconds);
        error
    }

    pub fn store_unavailable() -> Self {
        Self::new(Code::StoreUnavailable, "the store is unreachable; retry later")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status().as_u16(), self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status();
        let mut response = HttpResponse::build(status);
        if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
            let seconds = self.retry_after_seconds.unwrap_or(RETRY_AFTER_SECONDS);
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(Body {
            error: Inner {
                code: self.code.as_str(),
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
                ApiError::new(Code::Internal, "internal error")
            }
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::NotFound => ApiError::not_found("no such withdrawal"),
            ServiceError::Expired { id, at } => ApiError::new(
                Code::WithdrawalExpired,
                format!(
                    "withdrawal {id} was terminal for longer than the retention period and was deleted at {}",
                    crate::domain::rfc3339::utc_text(&at)
                ),
            ),
            ServiceError::Conflict(id) => {
                ApiError::new(Code::Conflict, format!("withdrawal {id} already exists with different content"))
            }
            ServiceError::InvalidTransition(e) => ApiError::new(
                Code::InvalidTransition,
                format!("a withdrawal in state {} cannot move to {}", e.from, e.to),
            ),
            ServiceError::Invalid(e) => e.into(),
            ServiceError::NothingToRetry(id) => {
                ApiError::new(Code::NothingToRetry, format!("withdrawal {id} has no dead ticket delivery to retry"))
            }
            ServiceError::NothingToResolve(id) => {
                ApiError::new(Code::NothingToResolve, format!("withdrawal {id} has no open ticket to resolve"))
            }
            ServiceError::Contended(id) => {
                tracing::warn!(withdrawal_id = %id, "write contention");
                ApiError::new(Code::StoreUnavailable, "too many concurrent updates; retry")
            }
            ServiceError::Store(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_is_listed_once_in_snake_case() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} twice");
            assert!(text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{text}");
            assert!(code.status().is_client_error() || code.status().is_server_error(), "{text}");
        }
    }

    #[test]
    fn an_error_answers_with_its_codes_status() {
        let error = ApiError::from(ServiceError::NothingToResolve(crate::domain::WithdrawalId::parse("w-1").unwrap()));
        assert_eq!((error.code, error.status()), (Code::NothingToResolve, StatusCode::CONFLICT));
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::CONFLICT);
    }
}
