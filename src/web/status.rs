//! `/status/{link}`: the page a user opens from a link the exchange or
//! support handed them. The link is signed and expires; it names one
//! withdrawal and shows nothing else of the user. Works without JavaScript
//! and on a phone. Tampered, expired or unknown: the same plain 404.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::sign::StatusLink;
use super::text::{self, Texts};
use super::{in_zone, message_page, page, page_language, Frame};
use crate::auth::Caller;
use crate::config::HumanDuration;
use crate::domain::message::Language;
use crate::domain::{rfc3339, WithdrawalId};
use crate::http::error::ApiError;
use crate::http::extract::{Authenticated, JsonBody};
use crate::http::AppState;
use crate::service::ServiceError;
use crate::store::StoreError;
use crate::view::{ViewContext, WithdrawalView};

pub const STATUS_PATH_PREFIX: &str = "/status/";

#[derive(Template)]
#[template(path = "web/status.html")]
struct StatusPage {
    frame: Frame,
    t: &'static Texts,
    id: String,
    message: String,
    state: &'static str,
    coin: String,
    amount: String,
    network: &'static str,
    confirmations: Option<(u64, u64)>,
    explorer_url: Option<String>,
    expected_by: Option<String>,
    expires: String,
    zone: String,
    /// The arrival estimate's p90, in the user's zone, while in flight.
    likely_by: Option<String>,
    /// Why it is late, in the user's language; `None` while on track.
    delay: Option<String>,
}

/// The zone a user reads times in: the link's, else UTC+8 for Chinese and
/// UTC for English.
enum UserZone {
    Named(chrono_tz::Tz),
    Offset(chrono::FixedOffset),
}

impl UserZone {
    fn of(link: &StatusLink, language: Language) -> UserZone {
        match (link.time_zone, language) {
            (Some(zone), _) => UserZone::Named(zone),
            (None, Language::SimplifiedChinese) => {
                UserZone::Offset(chrono::FixedOffset::east_opt(8 * 3600).expect("a valid offset"))
            }
            (None, Language::English) => UserZone::Named(chrono_tz::UTC),
        }
    }

    fn name(&self) -> String {
        match self {
            UserZone::Named(zone) => zone.name().to_owned(),
            UserZone::Offset(offset) => format!("UTC{offset}"),
        }
    }

    fn show(&self, at: DateTime<Utc>) -> String {
        match self {
            UserZone::Named(zone) => in_zone(at, zone),
            UserZone::Offset(offset) => in_zone(at, offset),
        }
    }
}

/// `GET /status/{link}`.
pub async fn status_page(req: HttpRequest, state: web::Data<AppState>, link: web::Path<String>) -> HttpResponse {
    let language = page_language(&req, None);
    let t = text::texts(language);
    let not_found = || message_page(&req, language, StatusCode::NOT_FOUND, t.not_found, t.not_found_text, None);
    let Some(settings) = state.console.as_ref() else { return not_found() };
    let now = state.service.now();
    let Some(link) = StatusLink::verify(settings.status_link_secret.expose().as_bytes(), &link, now) else {
        return not_found();
    };
    let w = match state.service.get_visible(&Caller::Support, &link.withdrawal_id).await {
        Ok(w) => w,
        Err(ServiceError::Store(StoreError::Unavailable(_))) => {
            return message_page(
                &req,
                language,
                StatusCode::SERVICE_UNAVAILABLE,
                t.unavailable,
                t.unavailable_text,
                None,
            )
        }
        Err(_) => return not_found(),
    };
    let zone = UserZone::of(&link, language);
    let chain = w.chain();
    // The status view's sentence: the state, the delay reason, the estimate
    // and any network notice, as the API tells it.
    let view = WithdrawalView::new(&w, &ViewContext::new(&state.service, language));
    let template = StatusPage {
        frame: Frame::new(&req, language, t.your_withdrawal),
        t,
        id: w.id.to_string(),
        message: view.message.clone(),
        state: text::state_name(w.state(), language),
        coin: w.coin.clone(),
        amount: w.amount.as_str().to_owned(),
        network: w.network.display_name(),
        confirmations: chain.required_confirmations.map(|need| (chain.confirmations.unwrap_or(0).min(need), need)),
        explorer_url: w.tx_hash().and_then(|h| w.network.explorer_tx_url(h.as_str())),
        expected_by: w.sla.as_ref().filter(|_| !w.state().is_terminal()).map(|d| zone.show(d.overdue_at)),
        likely_by: view.eta.p90.map(|at| zone.show(at)),
        delay: view.delay.as_ref().map(|d| d.message.clone()),
        expires: zone.show(link.expires_at),
        zone: zone.name(),
    };
    page(StatusCode::OK, language, &template)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MintRequest {
    withdrawal_id: Option<String>,
    /// How long the link works, e.g. `"3d"`; at most `console.status_link_ttl`.
    ttl: Option<String>,
    /// The user's IANA time zone, for the times the page shows.
    time_zone: Option<String>,
}

#[derive(Debug, Serialize)]
struct Minted {
    /// The path to hand out, on this service's public address.
    path: String,
    #[serde(with = "rfc3339")]
    expires_at: DateTime<Utc>,
}

/// `POST /v1/status-links`: ingest and support mint a link to one
/// withdrawal's status page.
pub async fn mint(
    state: web::Data<AppState>,
    caller: Authenticated,
    JsonBody(body): JsonBody<MintRequest>,
) -> Result<HttpResponse, ApiError> {
    if !matches!(caller.0, Caller::Ingest | Caller::Support) {
        return Err(ApiError::forbidden("minting a status link needs an ingest or support token"));
    }
    let settings = state.console.as_ref().ok_or_else(|| ApiError::not_found("status links are not configured"))?;
    let raw_id = body
        .withdrawal_id
        .as_deref()
        .ok_or_else(|| ApiError::invalid_field("withdrawal_id", "withdrawal_id is required"))?;
    let id = WithdrawalId::parse(raw_id)
        .map_err(|e| ApiError::invalid_field("withdrawal_id", e.message.replace("id ", "withdrawal_id ")))?;
    let ttl = match body.ttl.as_deref() {
        None => settings.status_link_ttl,
        Some(raw) => {
            HumanDuration::parse(raw).filter(|d| !d.is_zero() && *d <= settings.status_link_ttl).ok_or_else(|| {
                ApiError::invalid_field(
                    "ttl",
                    format!("ttl must be a duration such as \"3d\", at most {}s", settings.status_link_ttl.as_secs()),
                )
            })?
        }
    };
    let time_zone = body
        .time_zone
        .as_deref()
        .map(|raw| {
            raw.parse::<chrono_tz::Tz>()
                .map_err(|_| ApiError::invalid_field("time_zone", format!("{raw:?} is not an IANA time zone")))
        })
        .transpose()?;
    // Only for a withdrawal that exists (or, expired, the 410 that says so).
    state.service.get_visible(&Caller::Support, &id).await?;
    let expires_at = state.service.now() + ttl;
    let link = StatusLink { withdrawal_id: id, expires_at, time_zone };
    let path = format!("{STATUS_PATH_PREFIX}{}", link.mint(settings.status_link_secret.expose().as_bytes()));
    Ok(HttpResponse::Created().json(Minted { path, expires_at }))
}

/// The CLI's mint: the same link, without asking the store.
pub fn mint_offline(
    secret: &str,
    id: &WithdrawalId,
    expires_at: DateTime<Utc>,
    time_zone: Option<chrono_tz::Tz>,
) -> String {
    let link = StatusLink { withdrawal_id: id.clone(), expires_at, time_zone };
    format!("{STATUS_PATH_PREFIX}{}", link.mint(secret.as_bytes()))
}
