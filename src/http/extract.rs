//! Extractors: who is calling, and a JSON body parsed with errors that name
//! the offending field.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use super::error::{ApiError, Code};
use super::rate_limit::{retry_after_seconds, RateLimiter};
use super::AppState;
use crate::auth::Caller;
use crate::domain::message::Language;
use crate::view::ViewContext;

pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Any authenticated caller. Handlers narrow the role with [`Authenticated::require_ingest`]
/// and friends; an unauthenticated request never reaches the handler.
pub struct Authenticated(pub Caller);

impl Authenticated {
    pub fn require_ingest(&self) -> Result<(), ApiError> {
        match self.0 {
            Caller::Ingest => Ok(()),
            _ => Err(ApiError::forbidden("this operation needs an ingest token")),
        }
    }

    pub fn require_support(&self) -> Result<(), ApiError> {
        match self.0 {
            Caller::Support => Ok(()),
            _ => Err(ApiError::forbidden("this operation needs a support token")),
        }
    }
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().expect("AppState is registered");
        std::future::ready(authenticate(req, state))
    }
}

/// Checks the token, rate-limited: a client IP that keeps failing is refused
/// before its next attempt is even checked, and each token has its budget.
fn authenticate(req: &HttpRequest, state: &AppState) -> Result<Authenticated, ApiError> {
    let now = std::time::Instant::now();
    let ip = req.peer_addr().map(|addr| addr.ip());
    let limiter = &state.rate_limiter;
    if let Some(wait) = ip.and_then(|ip| limiter.failed_auth_per_ip.is_exhausted(&ip, now)) {
        return Err(ApiError::rate_limited(retry_after_seconds(wait)));
    }
    let header = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    match state.auth.authenticate_with_digest(header, state.service.now().timestamp()) {
        Ok((caller, token_digest)) => {
            // Keyed by the digest the check computed: one SHA-256 per request, not two.
            limiter
                .per_token
                .take(&RateLimiter::key_of_digest(&token_digest), now)
                .map_err(|wait| ApiError::rate_limited(retry_after_seconds(wait)))?;
            Ok(Authenticated(caller))
        }
        Err(error) => {
            if let Some(ip) = ip {
                let _ = limiter.failed_auth_per_ip.take(&ip, now);
            }
            Err(error.into())
        }
    }
}

/// What a view of this request needs: the calendar, the service's clock and
/// the negotiated language.
pub fn view_context<'a>(state: &'a AppState, req: &HttpRequest) -> ViewContext<'a> {
    ViewContext::new(&state.service, language(req))
}

/// The language the caller's `Accept-Language` asks for.
pub fn language(req: &HttpRequest) -> Language {
    Language::negotiate(req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
}

/// A JSON body of at most 64 KiB. Syntax errors and unknown fields are 400
/// `bad_request`; a value of the wrong type is 422 `invalid_field`; both name
/// the field.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = match req.headers().get(header::CONTENT_TYPE).map(|v| v.to_str()) {
            None => true,
            Some(Ok(value)) => {
                let mime = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            }
            Some(Err(_)) => false,
        };
        let declared_len = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::new(Code::UnsupportedMediaType, "the body must be application/json"));
            }
            if declared_len.is_some_and(|n| n > MAX_BODY_BYTES) {
                return Err(too_large());
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| ApiError::bad_request(format!("cannot read the body: {e}")))?;
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            parse_json(&body).map(JsonBody)
        })
    }
}

fn too_large() -> ApiError {
    ApiError::new(Code::PayloadTooLarge, format!("the body is larger than {} KiB", MAX_BODY_BYTES / 1024))
}

pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // serde would take `["w-1", ...]` for a struct; only objects are accepted.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let message = inner.to_string();
        match inner.classify() {
            serde_json::error::Category::Data if message.starts_with("unknown field") => {
                let name = message.split('`').nth(1).unwrap_or("?").to_owned();
                let field = if path == "." || path.is_empty() { name } else { path };
                ApiError::bad_request(format!("unknown field `{field}`")).with_field(field)
            }
            serde_json::error::Category::Data if path != "." && !path.is_empty() => {
                ApiError::invalid_field(path.clone(), format!("{path}: {message}"))
            }
            _ => ApiError::bad_request(format!("malformed JSON: {message}")),
        }
    })
}

/// Query strings are parsed strictly too: an unknown parameter is a 400 that
/// names it, not something silently ignored.
pub fn parse_query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    serde_urlencoded::from_str(req.query_string()).map_err(|e| {
        let message = e.to_string();
        match message.split('`').nth(1) {
            Some(name) if message.starts_with("unknown field") => {
                ApiError::bad_request(format!("unknown query parameter `{name}`")).with_field(name)
            }
            _ => ApiError::bad_request(format!("bad query string: {message}")),
        }
    })
}
