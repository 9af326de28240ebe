//! `/v1/networks/status` and support's maintenance declarations.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::{ApiError, Code};
use super::extract::{Authenticated, JsonBody};
use super::AppState;
use crate::auth::Caller;
use crate::domain::incident::{IncidentCause, IncidentError};
use crate::domain::network_status::{
    ChainHealth, Maintenance, NetworkRecord, NetworkStatus, NetworkStatusError, Reason, StatusChange,
};
use crate::domain::{rfc3339, FieldError, Network};
use crate::networks::{BoardError, Declaration, NetworkSnapshot};

#[derive(Debug, Serialize)]
struct MaintenanceView<'a> {
    reason: &'a Reason,
    #[serde(with = "rfc3339")]
    since: DateTime<Utc>,
    #[serde(with = "rfc3339::option")]
    expected_end: Option<DateTime<Utc>>,
    suspends_withdrawals: bool,
    /// Support and ingest only: who declared it.
    #[serde(skip_serializing_if = "Option::is_none")]
    declared_by: Option<&'a str>,
}

impl<'a> MaintenanceView<'a> {
    fn new(m: &'a Maintenance, staff: bool) -> Self {
        MaintenanceView {
            reason: &m.reason,
            since: m.since,
            expected_end: m.expected_end,
            suspends_withdrawals: m.suspends_withdrawals,
            declared_by: staff.then_some(m.declared_by.as_str()),
        }
    }
}

/// What the polling replica last saw: support and ingest only (explorer
/// errors may name internal hosts).
#[derive(Debug, Serialize)]
struct ChainView<'a> {
    tip_height: Option<u64>,
    #[serde(with = "rfc3339::option")]
    tip_changed_at: Option<DateTime<Utc>>,
    #[serde(with = "rfc3339::option")]
    failing_since: Option<DateTime<Utc>>,
    last_error: Option<&'a str>,
}

impl<'a> ChainView<'a> {
    fn new(health: &'a ChainHealth) -> Self {
        ChainView {
            tip_height: health.tip_height,
            tip_changed_at: health.tip_changed_at,
            failing_since: health.failing_since,
            last_error: health.last_error.as_deref(),
        }
    }
}

#[derive(Debug, Serialize)]
struct NetworkStatusView<'a> {
    network: Network,
    name: &'static str,
    status: NetworkStatus,
    #[serde(with = "rfc3339::option")]
    since: Option<DateTime<Utc>>,
    /// Followed on chain here (an explorer is configured).
    followed: bool,
    maintenance: Option<MaintenanceView<'a>>,
    /// The open incident, if any (its withdrawals are for support: see
    /// `/v1/networks/{network}/incidents`).
    incident: Option<IncidentSummary<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chain: Option<ChainView<'a>>,
}

#[derive(Debug, Serialize)]
struct IncidentSummary<'a> {
    id: &'a str,
    cause: IncidentCause,
    #[serde(with = "rfc3339")]
    opened_at: DateTime<Utc>,
    affected_count: u64,
}

fn status_view<'a>(snapshot: &'a NetworkSnapshot, state: &AppState, staff: bool) -> NetworkStatusView<'a> {
    let (status, since) = snapshot.record.status();
    NetworkStatusView {
        network: snapshot.network,
        name: snapshot.network.display_name(),
        status,
        since,
        followed: state.explorers.contains_key(&snapshot.network),
        maintenance: snapshot.record.maintenance.as_ref().map(|m| MaintenanceView::new(m, staff)),
        incident: snapshot.record.open_incident().map(|i| IncidentSummary {
            id: &i.id,
            cause: i.cause,
            opened_at: i.opened_at,
            affected_count: i.affected_count(),
        }),
        chain: snapshot.health.as_ref().filter(|_| staff).map(ChainView::new),
    }
}

fn is_staff(caller: &Authenticated) -> bool {
    matches!(caller.0, Caller::Support | Caller::Ingest)
}

/// Every network's status, for the exchange's status page: any
/// authenticated caller (users see no names and no explorer errors).
pub async fn all(state: web::Data<AppState>, caller: Authenticated) -> HttpResponse {
    let snapshots = state.service.networks.snapshot();
    let staff = is_staff(&caller);
    let networks: Vec<NetworkStatusView> = snapshots.iter().map(|s| status_view(s, &state, staff)).collect();
    HttpResponse::Ok().json(serde_json::json!({ "networks": networks }))
}

#[derive(Debug, Serialize)]
struct HistoryView<'a> {
    network: Network,
    history: Vec<&'a StatusChange>,
}

/// Support: every status change on a network, newest first, with who made it.
pub async fn history(
    state: web::Data<AppState>,
    caller: Authenticated,
    network: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (network, record) = fresh_record_for_support(&state, &caller, &network).await?;
    let history = record.history.iter().rev().collect();
    Ok(HttpResponse::Ok().json(HistoryView { network, history }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclareRequest {
    reason_en: String,
    reason_zh: String,
    #[serde(default)]
    expected_end: Option<String>,
    #[serde(default = "suspends_by_default")]
    suspends_withdrawals: bool,
    by: String,
}

fn suspends_by_default() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndRequest {
    by: String,
}

/// Who made a change: support's own name for it, one line.
pub(super) fn parse_by(by: &str) -> Result<String, FieldError> {
    let by = by.trim();
    if by.is_empty() || by.chars().count() > 128 || by.chars().any(char::is_control) {
        return Err(FieldError::new("by", "by must name who makes the change: 1 to 128 characters, one line"));
    }
    Ok(by.to_owned())
}

impl DeclareRequest {
    fn parse(self) -> Result<Declaration, FieldError> {
        let by = parse_by(&self.by)?;
        Declaration::parse(
            &self.reason_en,
            &self.reason_zh,
            self.expected_end.as_deref(),
            self.suspends_withdrawals,
            by,
        )
    }
}

/// Support declares maintenance (or updates the one in force).
pub async fn declare(
    state: web::Data<AppState>,
    caller: Authenticated,
    network: web::Path<String>,
    JsonBody(body): JsonBody<DeclareRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require_support()?;
    let network = path_network(&network)?;
    let record = state.service.declare_maintenance(network, body.parse()?).await?;
    changed(&state, network, &record)
}

/// Support ends maintenance.
pub async fn end(
    state: web::Data<AppState>,
    caller: Authenticated,
    network: web::Path<String>,
    JsonBody(body): JsonBody<EndRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require_support()?;
    let network = path_network(&network)?;
    let by = parse_by(&body.by)?;
    let record = state.service.end_maintenance(network, &by).await?;
    changed(&state, network, &record)
}

/// The network's new status.
fn changed(state: &AppState, network: Network, record: &NetworkRecord) -> Result<HttpResponse, ApiError> {
    let snapshot = NetworkSnapshot { network, record: std::sync::Arc::new(record.clone()), health: None };
    Ok(HttpResponse::Ok().json(status_view(&snapshot, state, true)))
}

/// Support's read of a network's record as the store holds it now (not
/// this replica's cache, which may be seconds old).
pub(super) async fn fresh_record_for_support(
    state: &AppState,
    caller: &Authenticated,
    raw_network: &str,
) -> Result<(Network, std::sync::Arc<NetworkRecord>), ApiError> {
    caller.require_support()?;
    let network = path_network(raw_network)?;
    state.service.networks.reload().await?;
    Ok((network, state.service.networks.record(network)))
}

pub(super) fn path_network(raw: &str) -> Result<Network, ApiError> {
    Network::parse(raw).ok_or_else(|| {
        ApiError::new(Code::UnknownNetwork, format!("{raw:?} is not a network code")).with_field("network")
    })
}

impl From<BoardError> for ApiError {
    fn from(error: BoardError) -> Self {
        match error {
            BoardError::Rule(NetworkStatusError::NotInMaintenance) => {
                ApiError::new(Code::NotInMaintenance, "the network is not in maintenance")
            }
            BoardError::Rule(NetworkStatusError::EndInThePast) => {
                ApiError::invalid_field("expected_end", "expected_end must be later than now")
            }
            BoardError::Incident(IncidentError::AlreadyOpen) => {
                ApiError::new(Code::IncidentOpen, "the network already has an open incident")
            }
            BoardError::Incident(IncidentError::NoneOpen) => {
                ApiError::new(Code::NoOpenIncident, "the network has no open incident")
            }
            BoardError::Store(error) => error.into(),
            BoardError::Contended => ApiError::new(Code::Conflict, "the network's status changed meanwhile; try again"),
        }
    }
}
