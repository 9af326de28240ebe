//! Support's incidents on a network: the list, opening one by hand, and
//! closing the open one (`domain/incident.rs` holds the rules).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{Authenticated, JsonBody};
use super::network_status::{fresh_record_for_support, parse_by, path_network};
use super::AppState;
use crate::domain::network_status::{NetworkRecord, Reason};
use crate::view::IncidentView;

/// Support: the network's incidents, newest first (the open one, and the
/// newest closed ones with what recovered).
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
    network: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (network, record) = fresh_record_for_support(&state, &caller, &network).await?;
    let incidents: Vec<IncidentView> = record.incidents.iter().rev().map(IncidentView::new).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "network": network, "incidents": incidents })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenRequest {
    reason_en: String,
    reason_zh: String,
    by: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    by: String,
}

/// Support opens an incident: the network's late withdrawals join its one
/// ticket from now on, and users are told of a known problem.
pub async fn open(
    state: web::Data<AppState>,
    caller: Authenticated,
    network: web::Path<String>,
    JsonBody(body): JsonBody<OpenRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require_support()?;
    let network = path_network(&network)?;
    let by = parse_by(&body.by)?;
    let reason = Reason::parse(&body.reason_en, &body.reason_zh)?;
    let record = state.service.declare_incident(network, reason, &by).await?;
    Ok(HttpResponse::Created().json(newest(&record)))
}

/// Support closes the open incident: its withdrawals that completed are
/// listed as recovered, those still late get tickets of their own.
pub async fn close(
    state: web::Data<AppState>,
    caller: Authenticated,
    network: web::Path<String>,
    JsonBody(body): JsonBody<CloseRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require_support()?;
    let network = path_network(&network)?;
    let by = parse_by(&body.by)?;
    let record = state.service.close_incident(network, &by).await?;
    Ok(HttpResponse::Ok().json(newest(&record)))
}

fn newest(record: &NetworkRecord) -> IncidentView<'_> {
    IncidentView::new(record.incidents.last().expect("the change just made it"))
}
