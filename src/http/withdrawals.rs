//! `/v1/withdrawals`: handlers parse, authorize, call the service, map errors.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::addresses;
use super::error::ApiError;
use super::extract::{parse_query, view_context, Authenticated, JsonBody};
use super::query::{parse_cursor, parse_limit, parse_network};
use super::AppState;
use crate::auth::Caller;
use crate::domain::address::ValidatedAddress;
use crate::domain::withdrawal::{self, parse_requested_at, MAX_REASON_LEN};
use crate::domain::{Amount, Registration, State, TxHash, UserId, Withdrawal, WithdrawalId};
use crate::metrics::Metrics;
use crate::service::Registered;
use crate::store::ListQuery;
use crate::view::json as view_json;
use crate::view::{ViewContext, WithdrawalList, WithdrawalView};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    id: Option<String>,
    user_id: Option<String>,
    coin: Option<String>,
    network: Option<String>,
    address: Option<String>,
    memo: Option<String>,
    amount: Option<String>,
    requested_at: Option<String>,
    tx_hash: Option<String>,
}

fn required<'a>(value: &'a Option<String>, field: &'static str) -> Result<&'a str, ApiError> {
    value.as_deref().ok_or_else(|| ApiError::invalid_field(field, format!("{field} is required")))
}

impl RegisterRequest {
    fn parse(self, now: chrono::DateTime<chrono::Utc>, metrics: &Metrics) -> Result<Registration, ApiError> {
        let id = WithdrawalId::parse(required(&self.id, "id")?)?;
        let user_id = UserId::parse(required(&self.user_id, "user_id")?)?;
        let coin = withdrawal::parse_coin(required(&self.coin, "coin")?)?;
        let network = parse_network(required(&self.network, "network")?)?;
        let address = withdrawal::parse_address_text(required(&self.address, "address")?)?;
        let memo = withdrawal::parse_memo_text(self.memo.as_deref())?;
        let destination = ValidatedAddress::parse(network, &address, memo.as_deref());
        addresses::count(metrics, network, destination.as_ref().err().map(|e| e.code));
        let destination = destination.map_err(|error| addresses::refusal(network, &address, error))?;
        let amount = Amount::parse(required(&self.amount, "amount")?)?;
        let requested_at = self.requested_at.as_deref().map(|t| parse_requested_at(t, now)).transpose()?;
        let tx_hash = self.tx_hash.as_deref().map(|h| TxHash::parse(network, h)).transpose()?;
        Ok(Registration { id, user_id, coin, destination, amount, requested_at, tx_hash })
    }
}

fn view_response(response: actix_web::HttpResponseBuilder, w: &Withdrawal, context: &ViewContext<'_>) -> HttpResponse {
    let view = WithdrawalView::new(w, context);
    in_language(response, context, view_json::view_to_vec(&view), &view)
}

/// A JSON body whose sentences are in the context's language. `value` is
/// what `body` was written from: debug builds (the tests) check every body
/// against serde_json's bytes for it.
fn in_language(
    mut response: actix_web::HttpResponseBuilder,
    context: &ViewContext<'_>,
    body: Vec<u8>,
    value: &impl serde::Serialize,
) -> HttpResponse {
    debug_assert_eq!(
        String::from_utf8_lossy(&body),
        String::from_utf8_lossy(&serde_json::to_vec(value).expect("the view serializes")),
        "view::json and the view's Serialize disagree"
    );
    response
        .insert_header((header::CONTENT_LANGUAGE, context.language.tag()))
        .insert_header((header::VARY, "Accept-Language"))
        .insert_header(header::ContentType::json())
        .body(body)
}

pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Authenticated,
    JsonBody(body): JsonBody<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require_ingest()?;
    let registration = body.parse(state.service.now(), &state.service.metrics)?;
    let (withdrawal, outcome) = state.service.register(registration).await?;
    let response = match outcome {
        Registered::Created => {
            let mut created = HttpResponse::Created();
            created.insert_header((header::LOCATION, format!("/v1/withdrawals/{}", withdrawal.id)));
            created
        }
        Registered::AlreadyExisted => HttpResponse::Ok(),
    };
    Ok(view_response(response, &withdrawal, &view_context(&state, &req)))
}

fn path_id(raw: &str) -> Result<WithdrawalId, ApiError> {
    Ok(WithdrawalId::parse(raw)?)
}

pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id)?;
    let withdrawal = state.service.get_visible(&caller.0, &id).await?;
    Ok(view_response(HttpResponse::Ok(), &withdrawal, &view_context(&state, &req)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchRequest {
    tx_hash: Option<String>,
    last_valid_height: Option<u64>,
    state: Option<String>,
    reason: Option<String>,
}

enum PatchAction {
    SetTxHash(String, Option<u64>),
    Cancel(String),
}

impl PatchRequest {
    fn parse(self) -> Result<PatchAction, ApiError> {
        if let Some(reason) = &self.reason {
            if reason.trim().is_empty() || reason.chars().count() > MAX_REASON_LEN {
                return Err(ApiError::invalid_field("reason", format!("reason must be 1-{MAX_REASON_LEN} characters")));
            }
        }
        if self.last_valid_height.is_some() && self.tx_hash.is_none() {
            return Err(ApiError::invalid_field("last_valid_height", "last_valid_height goes with tx_hash"));
        }
        if self.last_valid_height.is_some_and(|h| h > i64::MAX as u64) {
            return Err(ApiError::invalid_field("last_valid_height", "last_valid_height must fit in 63 bits"));
        }
        match (self.tx_hash, self.state.as_deref()) {
            (Some(_), Some(_)) => Err(ApiError::invalid_field("state", "send either tx_hash or state, not both")),
            (Some(tx_hash), None) => Ok(PatchAction::SetTxHash(tx_hash, self.last_valid_height)),
            (None, Some("cancelled")) => {
                Ok(PatchAction::Cancel(self.reason.unwrap_or_else(|| "cancelled by the exchange".to_owned())))
            }
            (None, Some(other)) => Err(ApiError::invalid_field(
                "state",
                format!("state can only be set to \"cancelled\", not {other:?}; other states come from the chain"),
            )),
            (None, None) => Err(ApiError::invalid_field("tx_hash", "send tx_hash or state")),
        }
    }
}

pub async fn patch(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<String>,
    JsonBody(body): JsonBody<PatchRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require_ingest()?;
    let id = path_id(&id)?;
    let withdrawal = match body.parse()? {
        PatchAction::SetTxHash(tx_hash, last_valid_height) => {
            state.service.set_tx_hash(&id, &tx_hash, last_valid_height).await?
        }
        PatchAction::Cancel(reason) => state.service.cancel(&id, &reason).await?,
    };
    Ok(view_response(HttpResponse::Ok(), &withdrawal, &view_context(&state, &req)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    user_id: Option<String>,
    state: Option<String>,
    network: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

impl ListParams {
    fn parse(self, caller: &Caller) -> Result<ListQuery, ApiError> {
        let user_id = self.user_id.as_deref().map(UserId::parse).transpose()?;
        let user_id = match (caller, user_id) {
            (Caller::Support, user_id) => user_id,
            (Caller::User(own), None) => Some(own.clone()),
            (Caller::User(own), Some(asked)) if asked == *own => Some(asked),
            (Caller::User(_), Some(_)) => {
                return Err(ApiError::forbidden("a user token can only list its own withdrawals"))
            }
            (Caller::Ingest, _) => return Err(ApiError::forbidden("listing needs a support or user token")),
        };
        let state = match self.state.as_deref() {
            None => None,
            Some(raw) => Some(
                State::parse(raw).ok_or_else(|| ApiError::invalid_field("state", format!("unknown state {raw:?}")))?,
            ),
        };
        let network = self.network.as_deref().map(parse_network).transpose()?;
        let after = parse_cursor(self.cursor.as_deref())?;
        let limit = parse_limit(self.limit.as_deref())?;
        Ok(ListQuery { user_id, state, network, after, limit })
    }
}

pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let query = parse_query::<ListParams>(&req)?.parse(&caller.0)?;
    let page = state.service.list(&query).await?;
    let context = view_context(&state, &req);
    let body = WithdrawalList {
        items: page.items.iter().map(|w| WithdrawalView::new(w, &context)).collect(),
        next_cursor: page.next.map(|c| c.encode()),
    };
    Ok(in_language(HttpResponse::Ok(), &context, view_json::list_to_vec(&body), &body))
}
