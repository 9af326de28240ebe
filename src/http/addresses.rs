//! `/v1/addresses/validate` and `/v1/networks`: the validator as an API, and
//! what each network accepts.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::{ApiError, Code};
use super::extract::{Authenticated, JsonBody};
use super::query::parse_network;
use super::AppState;
use crate::config::ExplorerKind;
use crate::domain::address::{self, AddressError, ErrorCode};
use crate::domain::Network;
use crate::metrics::Metrics;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateRequest {
    network: Option<String>,
    address: Option<String>,
    memo: Option<String>,
}

#[derive(Debug, Serialize)]
struct ValidateResponse {
    valid: bool,
    network: Network,
    normalized: Option<String>,
    kind: Option<&'static str>,
    code: Option<ErrorCode>,
    reason: Option<String>,
    detected_networks: Vec<Network>,
}

/// Any authenticated caller, users included: the app checks an address as
/// the user types it.
pub async fn validate(
    state: web::Data<AppState>,
    _caller: Authenticated,
    JsonBody(body): JsonBody<ValidateRequest>,
) -> Result<HttpResponse, ApiError> {
    let network = parse_network(
        body.network.as_deref().ok_or_else(|| ApiError::invalid_field("network", "network is required"))?,
    )?;
    let raw = body.address.ok_or_else(|| ApiError::invalid_field("address", "address is required"))?;
    let memo = body.memo.as_deref().filter(|m| !m.is_empty());
    let verdict = address::validate(network, &raw, memo);
    count(&state.service.metrics, network, verdict.error.as_ref().map(|e| e.code));
    let (code, reason) = match verdict.error {
        Some(AddressError { code, reason }) => (Some(code), Some(reason)),
        None => (None, None),
    };
    Ok(HttpResponse::Ok().json(ValidateResponse {
        valid: verdict.valid,
        network,
        normalized: verdict.normalized,
        kind: verdict.kind,
        code,
        reason,
        detected_networks: address::detect_networks(&raw),
    }))
}

/// Counts one validation: `valid`, or the error code.
pub fn count(metrics: &Metrics, network: Network, error: Option<ErrorCode>) {
    let result = error.map_or("valid", ErrorCode::as_str);
    metrics.address_validations.with_label_values(&[network.code(), result]).inc();
}

/// Registration's refusal of a bad destination: 422 carrying the validator's
/// verdict, so the client can say "this looks like a TRON address".
pub fn refusal(network: Network, raw: &str, error: AddressError) -> ApiError {
    let memo_problem = matches!(error.code, ErrorCode::BadMemo | ErrorCode::MemoNotSupported);
    let (code, field) = if memo_problem { (Code::InvalidMemo, "memo") } else { (Code::InvalidAddress, "address") };
    let detected = address::detect_networks(raw);
    ApiError::new(code, format!("not a valid {network} destination: {}", error.reason))
        .with_field(field)
        .with_details(json!({ "code": error.code, "reason": error.reason, "detected_networks": detected }))
}

#[derive(Debug, Serialize)]
struct NetworkInfo {
    code: Network,
    name: &'static str,
    address_kinds: &'static [&'static str],
    memo: MemoInfo,
    /// Null for networks not followed on chain (tracked for the SLA only).
    required_confirmations: Option<u64>,
    explorer: Option<&'static str>,
    /// The explorer kinds that can follow it here (`[networks.<CODE>] explorer`).
    explorer_kinds: Vec<&'static str>,
    default_required_confirmations: u64,
}

#[derive(Debug, Serialize)]
struct MemoInfo {
    rule: crate::domain::network::MemoRule,
    supported: bool,
    description: &'static str,
}

pub async fn networks(state: web::Data<AppState>, _caller: Authenticated) -> HttpResponse {
    let networks: Vec<NetworkInfo> = Network::ALL
        .into_iter()
        .map(|network| {
            let rule = network.memo_rule();
            NetworkInfo {
                code: network,
                name: network.display_name(),
                address_kinds: address::address_kinds(network),
                memo: MemoInfo { rule, supported: rule.supported(), description: rule.description() },
                required_confirmations: state.explorers.get(&network).map(|(_, required)| *required),
                explorer: state.explorers.get(&network).map(|(explorer, _)| *explorer),
                explorer_kinds: ExplorerKind::serving(network).into_iter().map(ExplorerKind::as_str).collect(),
                default_required_confirmations: network.default_required_confirmations(),
            }
        })
        .collect();
    HttpResponse::Ok().json(json!({ "networks": networks }))
}
