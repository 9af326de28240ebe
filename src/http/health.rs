//! Liveness and readiness, without auth: for orchestrators and load balancers.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::error::ApiError;
use super::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.service.store.ping().await.map_err(|_| ApiError::store_unavailable())?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
}
