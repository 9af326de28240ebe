//! Support's endpoints: the overdue list (JSON or CSV) and the escalation
//! tickets with their deliveries.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::{parse_query, view_context, Authenticated};
use super::query::{parse_cursor, parse_limit, parse_network};
use super::AppState;
use crate::domain::escalation::TicketStatus;
use crate::domain::eta::{Delay, DelayCode, Eta};
use crate::domain::{rfc3339, sla};
use crate::domain::{Amount, Withdrawal, WithdrawalId};
use crate::service::OverdueQuery;
use crate::view::TicketView;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverdueParams {
    network: Option<String>,
    coin: Option<String>,
    min_amount: Option<String>,
    delay: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

#[derive(Debug, Serialize)]
struct OverdueItem<'a> {
    id: &'a str,
    user_id: &'a str,
    coin: &'a str,
    network: &'a str,
    amount: &'a str,
    address: &'a str,
    state: &'a str,
    tx_hash: Option<&'a str>,
    #[serde(with = "rfc3339")]
    requested_at: DateTime<Utc>,
    #[serde(with = "rfc3339::option")]
    overdue_at: Option<DateTime<Utc>>,
    working_days_elapsed: f64,
    ticket_id: Option<&'a str>,
    /// When it is expected, and why it is late (`null` while on track).
    eta: Eta,
    delay: Option<Delay>,
}

const CSV_HEADER: &str = "id,user_id,coin,network,amount,address,state,tx_hash,requested_at,overdue_at,\
                          working_days_elapsed,ticket_id,delay_code,eta_p90";

fn overdue_item<'a>(w: &'a Withdrawal, state: &AppState) -> OverdueItem<'a> {
    let now = state.service.now();
    let estimate = state.service.estimate(w, now);
    OverdueItem {
        id: w.id.as_str(),
        user_id: w.user_id.as_str(),
        coin: &w.coin,
        network: w.network.code(),
        amount: w.amount.as_str(),
        address: &w.address,
        state: w.state().as_str(),
        tx_hash: w.tx_hash().map(|h| h.as_str()),
        requested_at: w.requested_at.to_utc(),
        overdue_at: w.sla.as_ref().map(|s| s.overdue_at),
        working_days_elapsed: sla::working_days_elapsed(state.service.calendar.as_ref(), w, now),
        ticket_id: w.escalation.as_ref().and_then(|e| e.ticket_id.as_deref()),
        eta: estimate.eta,
        delay: estimate.delay,
    }
}

/// RFC 4180 quoting, and a leading `'` on text a spreadsheet would run as a
/// formula.
fn csv_field(value: &str) -> String {
    let risky = value.starts_with(['=', '+', '@', '\t', '\r'])
        || (value.starts_with('-') && !value[1..].starts_with(|c: char| c.is_ascii_digit()));
    let value = if risky { format!("'{value}") } else { value.to_owned() };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn csv_row(item: &OverdueItem<'_>) -> String {
    let fields = [
        item.id.to_owned(),
        item.user_id.to_owned(),
        item.coin.to_owned(),
        item.network.to_owned(),
        item.amount.to_owned(),
        item.address.to_owned(),
        item.state.to_owned(),
        item.tx_hash.unwrap_or("").to_owned(),
        rfc3339::utc_text(&item.requested_at),
        item.overdue_at.as_ref().map(rfc3339::utc_text).unwrap_or_default(),
        format!("{:.2}", item.working_days_elapsed),
        item.ticket_id.unwrap_or("").to_owned(),
        item.delay.as_ref().map(|d| d.code.as_str()).unwrap_or("").to_owned(),
        item.eta.p90.as_ref().map(rfc3339::utc_text).unwrap_or_default(),
    ];
    fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",")
}

fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.split(',').any(|part| part.trim().starts_with("text/csv")))
}

pub async fn overdue(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    caller.require_support()?;
    let params: OverdueParams = parse_query(&req)?;
    let query = OverdueQuery {
        network: params.network.as_deref().map(parse_network).transpose()?,
        coin: params.coin,
        min_amount: params
            .min_amount
            .as_deref()
            .map(|raw| {
                Amount::parse(raw)
                    .map_err(|e| ApiError::invalid_field("min_amount", e.message.replace("amount", "min_amount")))
            })
            .transpose()?,
        delay: params
            .delay
            .as_deref()
            .map(|raw| {
                DelayCode::parse(raw).ok_or_else(|| {
                    let codes: Vec<&str> = DelayCode::ALL.iter().map(|c| c.as_str()).collect();
                    ApiError::invalid_field("delay", format!("delay must be one of {}", codes.join(", ")))
                })
            })
            .transpose()?,
        after: parse_cursor(params.cursor.as_deref())?,
        limit: parse_limit(params.limit.as_deref())?,
    };
    let page = state.service.overdue(&query).await?;
    let items: Vec<OverdueItem<'_>> = page.items.iter().map(|w| overdue_item(w, &state)).collect();
    let next_cursor = page.next.map(|c| c.encode());
    if wants_csv(&req) {
        let mut body = String::from(CSV_HEADER);
        body.push_str("\r\n");
        for item in &items {
            body.push_str(&csv_row(item));
            body.push_str("\r\n");
        }
        let mut response = HttpResponse::Ok();
        response.content_type("text/csv; charset=utf-8");
        if let Some(cursor) = &next_cursor {
            response.insert_header(("x-next-cursor", cursor.as_str()));
        }
        return Ok(response.body(body));
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items, "next_cursor": next_cursor })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketParams {
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

pub async fn tickets(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    caller.require_support()?;
    let params: TicketParams = parse_query(&req)?;
    let status = match params.status.as_deref() {
        None => TicketStatus::Open,
        Some(raw) => TicketStatus::parse(raw)
            .ok_or_else(|| ApiError::invalid_field("status", "status must be open, resolved or dead"))?,
    };
    let after = parse_cursor(params.cursor.as_deref())?;
    let page = state.service.tickets(status, after.as_ref(), parse_limit(params.limit.as_deref())?).await?;
    let context = view_context(&state, &req);
    let items: Vec<TicketView<'_>> =
        page.items.iter().filter_map(|w| w.escalation.as_ref().map(|e| TicketView::new(w, e, &context))).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items, "next_cursor": page.next.map(|c| c.encode()) })))
}

pub async fn retry_ticket(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Authenticated,
    withdrawal_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_support()?;
    let withdrawal = state.service.retry_ticket(&ticket_id(&withdrawal_id)?).await?;
    ticket_response(&req, &state, &withdrawal)
}

pub async fn resolve_ticket(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Authenticated,
    withdrawal_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_support()?;
    let withdrawal = state.service.resolve_ticket(&ticket_id(&withdrawal_id)?).await?;
    ticket_response(&req, &state, &withdrawal)
}

fn ticket_id(raw: &str) -> Result<WithdrawalId, ApiError> {
    WithdrawalId::parse(raw).map_err(|e| ApiError::invalid_field("withdrawal_id", e.message))
}

fn ticket_response(req: &HttpRequest, state: &AppState, withdrawal: &Withdrawal) -> Result<HttpResponse, ApiError> {
    let context = view_context(state, req);
    let escalation = withdrawal.escalation.as_ref().expect("a ticket action needs an escalation");
    Ok(HttpResponse::Ok().json(TicketView::new(withdrawal, escalation, &context)))
}
