//! Liveness and readiness, without auth: for orchestrators and load balancers.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::error::ApiError;
use super::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Prometheus text format; no auth, like the probes (keep it off the public
/// internet, or serve it on `metrics_listen`).
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(state.service.metrics.render())
}

pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.service.store.ping().await.map_err(|_| ApiError::store_unavailable())?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
}
