//! `/console`: support's pages. Sign-in exchanges a support token (or the
//! identity an SSO proxy vouches for) for a signed, expiring session cookie;
//! every state-changing form carries the session's CSRF token. The pages call
//! the same service functions as the JSON API.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};

use super::sign::{login_csrf, login_csrf_matches, random_id, Identity, Session};
use super::text::{self, Texts};
use super::{age, cookie, in_utc, in_zone, message_page, page, page_language, see_other, set_cookie, Frame};
use crate::auth::Caller;
use crate::config::ConsoleSettings;
use crate::domain::escalation::DeliveryStatus;
use crate::domain::eta::DelayCode;
use crate::domain::message::Language;
use crate::domain::sla::SlaStatus;
use crate::domain::{Amount, Network, State, Withdrawal, WithdrawalId};
use crate::http::rate_limit::retry_after_seconds;
use crate::http::AppState;
use crate::service::{OverdueQuery, Service, ServiceError};
use crate::store::{Cursor, ListQuery, StoreError};
use crate::view::{ViewContext, WithdrawalView};

pub const SESSION_COOKIE: &str = "wt_console";
pub const LOGIN_COOKIE: &str = "wt_console_login";
pub const LANGUAGE_COOKIE: &str = "wt_lang";
/// How long the sign-in form may be left open.
const LOGIN_FORM_SECONDS: i64 = 3600;
/// The most rows one CSV download holds.
pub const CSV_MAX_ROWS: usize = 10_000;
const PAGE_SIZES: [usize; 4] = [25, 50, 100, 200];
const AUTO_REFRESH_SECONDS: [u32; 3] = [30, 60, 300];

/// Why a console request did not get its page.
enum Refusal {
    /// The console is not configured: the same 404 as any unknown path.
    Disabled,
    /// Not signed in: the sign-in form (401), which returns here afterwards.
    SignIn,
    BadRequest(String),
    Forbidden(String),
    NotFound,
    Unavailable,
}

impl From<ServiceError> for Refusal {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::NotFound | ServiceError::Expired { .. } => Refusal::NotFound,
            ServiceError::Store(StoreError::Unavailable(_)) | ServiceError::Contended(_) => Refusal::Unavailable,
            other => {
                tracing::error!(error = %other, "console request failed");
                Refusal::Unavailable
            }
        }
    }
}

struct Console<'a> {
    state: &'a AppState,
    settings: &'a ConsoleSettings,
    language: Language,
    t: &'static Texts,
    now: DateTime<Utc>,
}

impl<'a> Console<'a> {
    fn of(req: &HttpRequest, state: &'a AppState) -> Result<Console<'a>, Refusal> {
        let settings = state.console.as_ref().ok_or(Refusal::Disabled)?;
        let language = page_language(req, Some(LANGUAGE_COOKIE));
        Ok(Console { state, settings, language, t: text::texts(language), now: state.service.now() })
    }

    fn key(&self) -> &[u8] {
        self.settings.session_secret.expose().as_bytes()
    }

    fn secure(&self) -> bool {
        !self.settings.plain_http
    }

    /// The session of this request: an SSO proxy's word (from a trusted
    /// address only) or a valid session cookie.
    /// A state-changing form's session and fields, once its CSRF token
    /// proved it came from this session's own page.
    fn signed_form(&self, req: &HttpRequest, body: &[u8]) -> Result<(Session, BTreeMap<String, String>), Refusal> {
        let session = self.session(req)?;
        let fields = form(body)?;
        if !session.csrf_matches(self.key(), fields.get("csrf").map(String::as_str)) {
            return Err(Refusal::Forbidden(self.t.form_expired.to_owned()));
        }
        Ok((session, fields))
    }

    fn session(&self, req: &HttpRequest) -> Result<Session, Refusal> {
        if let Some(sso) = &self.settings.sso {
            let trusted = req.peer_addr().is_some_and(|addr| sso.trusted_proxies.contains(&addr.ip()));
            let name = req.headers().get(sso.header.as_str()).and_then(|v| v.to_str().ok()).map(str::trim);
            if let (true, Some(name)) = (trusted, name) {
                if !name.is_empty() && name.len() <= 254 && name.bytes().all(|b| b.is_ascii_graphic()) {
                    return Ok(Session {
                        identity: Identity::Sso(name.to_owned()),
                        expires_at: self.now + self.settings.session_ttl,
                        id: format!("sso:{name}"),
                    });
                }
            }
        }
        cookie(req, SESSION_COOKIE)
            .and_then(|value| Session::from_cookie(self.key(), value, self.now))
            .ok_or(Refusal::SignIn)
    }

    fn frame(&self, req: &HttpRequest, title: &str, session: Option<&Session>) -> Frame {
        let mut frame = Frame::new(req, self.language, title);
        frame.signed_in = session.map(|s| (s.identity.label().to_owned(), s.csrf_token(self.key())));
        frame
    }

    fn render(&self, req: &HttpRequest, status: StatusCode, template: &impl Template) -> HttpResponse {
        let mut response = page(status, self.language, template);
        // A switch of language is remembered for the next pages.
        if let Some(tag) = super::query_value(req, "lang").filter(|t| t == "en" || t == "zh") {
            response
                .headers_mut()
                .append(header::SET_COOKIE, set_cookie(LANGUAGE_COOKIE, &tag, 365 * 86_400, self.secure()));
        }
        response
    }

    fn context(&self) -> ViewContext<'a> {
        ViewContext { now: self.now, ..ViewContext::new(&self.state.service, self.language) }
    }

    fn support_time(&self, at: DateTime<Utc>) -> String {
        in_zone(at, &self.settings.support_time_zone)
    }
}

/// Answers a refusal as a page (or, not signed in, a redirect to sign-in).
fn refuse(req: &HttpRequest, state: &AppState, refusal: Refusal) -> HttpResponse {
    let language = page_language(req, Some(LANGUAGE_COOKIE));
    let t = text::texts(language);
    let back = Some("/console");
    match refusal {
        Refusal::Disabled => message_page(req, language, StatusCode::NOT_FOUND, t.not_found, t.not_found_text, None),
        Refusal::SignIn => match Console::of(req, state) {
            // The sign-in form, here: it returns to this page (a form post returns to the list).
            Ok(console) => {
                let here = match req.query_string() {
                    "" => req.path().to_owned(),
                    query => format!("{}?{query}", req.path()),
                };
                let next = if req.method() == actix_web::http::Method::GET {
                    safe_next(Some(&here))
                } else {
                    "/console".to_owned()
                };
                login_page(req, &console, StatusCode::UNAUTHORIZED, next, None)
            }
            Err(_) => message_page(req, language, StatusCode::NOT_FOUND, t.not_found, t.not_found_text, None),
        },
        Refusal::BadRequest(message) => {
            message_page(req, language, StatusCode::BAD_REQUEST, t.bad_request, &message, back)
        }
        Refusal::Forbidden(message) => message_page(req, language, StatusCode::FORBIDDEN, t.forbidden, &message, back),
        Refusal::NotFound => message_page(req, language, StatusCode::NOT_FOUND, t.not_found, t.not_found_text, back),
        Refusal::Unavailable => {
            message_page(req, language, StatusCode::SERVICE_UNAVAILABLE, t.unavailable, t.unavailable_text, back)
        }
    }
}

fn respond(req: &HttpRequest, state: &AppState, result: Result<HttpResponse, Refusal>) -> HttpResponse {
    result.unwrap_or_else(|refusal| refuse(req, state, refusal))
}

/// A form body (`application/x-www-form-urlencoded`) as name → value.
fn form(body: &[u8]) -> Result<BTreeMap<String, String>, Refusal> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .map(|pairs| pairs.into_iter().collect())
        .map_err(|_| Refusal::BadRequest("the form could not be read".to_owned()))
}

/// A path on the console to return to after sign-in: never another site.
fn safe_next(raw: Option<&str>) -> String {
    match raw {
        Some(next)
            if next.starts_with("/console")
                && !next.contains("//")
                && next.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_-.:?=&%+".contains(&b)) =>
        {
            next.to_owned()
        }
        _ => "/console".to_owned(),
    }
}

// ---- sign-in and sign-out ----

#[derive(Template)]
#[template(path = "web/login.html")]
struct LoginPage {
    frame: Frame,
    csrf: String,
    next: String,
    problem: Option<&'static str>,
}

fn login_page(
    req: &HttpRequest,
    console: &Console<'_>,
    status: StatusCode,
    next: String,
    problem: Option<&'static str>,
) -> HttpResponse {
    // A fresh nonce each time the form is shown; the form's token is bound to it.
    let nonce = random_id();
    let template = LoginPage {
        frame: console.frame(req, console.t.sign_in, None),
        csrf: login_csrf(console.key(), &nonce),
        next,
        problem,
    };
    let mut response = console.render(req, status, &template);
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, &nonce, LOGIN_FORM_SECONDS, console.secure()));
    response
}

/// `GET /console/login`.
pub async fn login_form(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    respond(
        &req,
        &state,
        async {
            let console = Console::of(&req, &state)?;
            let next = safe_next(super::query_value(&req, "next").as_deref());
            if console.session(&req).is_ok() {
                return Ok(see_other(&next).finish());
            }
            Ok(login_page(&req, &console, StatusCode::OK, next, None))
        }
        .await,
    )
}

/// `POST /console/login`: `token`, `csrf`, `next`. A wrong token counts
/// against the same per-IP limit as a failed API authentication.
pub async fn login(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    respond(
        &req,
        &state,
        async {
            let console = Console::of(&req, &state)?;
            let fields = form(&body)?;
            let next = safe_next(fields.get("next").map(String::as_str));
            let limiter = &state.rate_limiter;
            let instant = std::time::Instant::now();
            let ip = req.peer_addr().map(|addr| addr.ip());
            if let Some(wait) = ip.and_then(|ip| limiter.failed_auth_per_ip.is_exhausted(&ip, instant)) {
                let mut response =
                    login_page(&req, &console, StatusCode::TOO_MANY_REQUESTS, next, Some(console.t.too_many_attempts));
                response.headers_mut().insert(header::RETRY_AFTER, retry_after_seconds(wait).into());
                return Ok(response);
            }
            if !login_csrf_matches(console.key(), cookie(&req, LOGIN_COOKIE), fields.get("csrf").map(String::as_str)) {
                return Ok(login_page(&req, &console, StatusCode::FORBIDDEN, next, Some(console.t.form_expired)));
            }
            let token = fields.get("token").map(|t| t.trim()).unwrap_or_default();
            let bearer = format!("Bearer {token}");
            match state.auth.authenticate(Some(&bearer), console.now.timestamp()) {
                Ok(Caller::Support) => {
                    let session = Session::new(Identity::SupportToken, console.now + console.settings.session_ttl);
                    let max_age = console.settings.session_ttl.as_secs() as i64;
                    let mut response = see_other(&next);
                    response.append_header((
                        header::SET_COOKIE,
                        set_cookie(SESSION_COOKIE, &session.to_cookie(console.key()), max_age, console.secure()),
                    ));
                    response.append_header((header::SET_COOKIE, set_cookie(LOGIN_COOKIE, "", 0, console.secure())));
                    tracing::info!("console sign-in");
                    Ok(response.finish())
                }
                _ => {
                    if let Some(ip) = ip {
                        let _ = limiter.failed_auth_per_ip.take(&ip, instant);
                    }
                    tracing::warn!("console sign-in refused");
                    Ok(login_page(&req, &console, StatusCode::UNAUTHORIZED, next, Some(console.t.bad_token)))
                }
            }
        }
        .await,
    )
}

/// `POST /console/logout`: `csrf`. Clears the cookie.
pub async fn logout(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    respond(
        &req,
        &state,
        async {
            let console = Console::of(&req, &state)?;
            console.signed_form(&req, &body)?;
            let template = super::MessagePage {
                frame: console.frame(&req, console.t.sign_out, None),
                heading: console.t.sign_out.to_owned(),
                message: console.t.signed_out.to_owned(),
                back: Some("/console/login".to_owned()),
            };
            let mut response = console.render(&req, StatusCode::OK, &template);
            response.headers_mut().append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0, console.secure()));
            Ok(response)
        }
        .await,
    )
}

// ---- the overdue list ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlaFilter {
    Overdue,
    AtRisk,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    /// The index's order: most late first (overdue), newest first (at risk).
    Index,
    AmountDesc,
    OldestFirst,
    NewestFirst,
    Network,
}

const SORTS: [(&str, Sort); 5] = [
    ("index", Sort::Index),
    ("amount_desc", Sort::AmountDesc),
    ("oldest", Sort::OldestFirst),
    ("newest", Sort::NewestFirst),
    ("network", Sort::Network),
];

/// The list's filters as the query string carries them; what the page shows
/// and the CSV holds are the same filters.
struct Filters {
    network: Option<Network>,
    state: Option<State>,
    sla: SlaFilter,
    min_amount: Option<Amount>,
    older_than: Option<chrono::Duration>,
    /// Why it is late, by the arrival estimate (`delay.code`).
    delay: Option<DelayCode>,
    sort: Sort,
    limit: usize,
    /// Reload the page every so many seconds (a `<meta http-equiv="refresh">`,
    /// no script): the URL, hence the filters, stays the same.
    every: Option<u32>,
    cursor: Option<Cursor>,
    /// As given, for the form and the links.
    raw: BTreeMap<String, String>,
}

impl Filters {
    fn parse(query: &str) -> Result<Filters, String> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query).map_err(|_| "the query string could not be read".to_owned())?;
        let raw: BTreeMap<String, String> = pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        let get = |key: &str| raw.get(key).map(String::as_str);
        let network = get("network")
            .map(|v| Network::parse(v).ok_or_else(|| format!("network: unknown network {v:?}")))
            .transpose()?;
        let state =
            get("state").map(|v| State::parse(v).ok_or_else(|| format!("state: unknown state {v:?}"))).transpose()?;
        let sla = match get("sla") {
            None | Some("overdue") => SlaFilter::Overdue,
            Some("at_risk") => SlaFilter::AtRisk,
            Some(other) => return Err(format!("sla: must be overdue or at_risk, not {other:?}")),
        };
        let min_amount = get("min_amount")
            .map(|v| Amount::parse(v).map_err(|_| format!("min_amount: {v:?} is not a decimal amount")))
            .transpose()?;
        let older_than = get("older_than")
            .map(|v| {
                crate::config::HumanDuration::parse(v)
                    .and_then(|d| chrono::Duration::from_std(d).ok())
                    .ok_or_else(|| format!("older_than: {v:?} is not a duration such as 12h or 3d"))
            })
            .transpose()?;
        let delay = get("delay")
            .map(|v| DelayCode::parse(v).ok_or_else(|| format!("delay: unknown delay reason {v:?}")))
            .transpose()?;
        let sort = match get("sort") {
            None => Sort::Index,
            Some(v) => SORTS
                .iter()
                .find(|(name, _)| *name == v)
                .map(|(_, s)| *s)
                .ok_or_else(|| format!("sort: unknown order {v:?}"))?,
        };
        let limit = match get("limit") {
            None => 50,
            Some(v) => v
                .parse()
                .ok()
                .filter(|n| PAGE_SIZES.contains(n))
                .ok_or_else(|| format!("limit: must be one of {PAGE_SIZES:?}"))?,
        };
        let every = match get("every") {
            None => None,
            Some(v) => Some(
                v.parse()
                    .ok()
                    .filter(|n| AUTO_REFRESH_SECONDS.contains(n))
                    .ok_or_else(|| format!("every: must be one of {AUTO_REFRESH_SECONDS:?} (seconds)"))?,
            ),
        };
        let cursor = get("cursor")
            .map(|v| Cursor::decode(v).ok_or_else(|| "cursor: not one this service issued".to_owned()))
            .transpose()?;
        Ok(Filters { network, state, sla, min_amount, older_than, delay, sort, limit, every, cursor, raw })
    }

    fn query(&self, limit: usize) -> OverdueQuery {
        OverdueQuery {
            network: self.network,
            coin: None,
            min_amount: self.min_amount.clone(),
            delay: None,
            after: self.cursor.clone(),
            limit,
        }
    }

    /// The filters besides those the service's query holds.
    fn also<'s>(&'s self, service: &'s Service, now: DateTime<Utc>) -> impl Fn(&Withdrawal) -> bool + Send + Sync + 's {
        move |w: &Withdrawal| {
            self.state.is_none_or(|s| w.state() == s)
                && self.older_than.is_none_or(|age| w.requested_at.to_utc() <= now - age)
                && self.delay.is_none_or(|code| service.estimate(w, now).delay.is_some_and(|d| d.code == code))
        }
    }

    /// This query string with `changes` applied (`None` removes a key).
    fn href(&self, path: &str, changes: &[(&str, Option<&str>)]) -> String {
        let mut pairs = self.raw.clone();
        pairs.remove("lang");
        for (key, value) in changes {
            match value {
                Some(value) => pairs.insert((*key).to_owned(), (*value).to_owned()),
                None => pairs.remove(*key),
            };
        }
        match serde_urlencoded::to_string(&pairs).unwrap_or_default() {
            query if query.is_empty() => path.to_owned(),
            query => format!("{path}?{query}"),
        }
    }

    fn sort(&self, items: &mut [Withdrawal]) {
        match self.sort {
            Sort::Index => {}
            Sort::AmountDesc => items.sort_by(|a, b| b.amount.cmp_value(&a.amount)),
            Sort::OldestFirst => items.sort_by_key(|w| w.requested_at),
            Sort::NewestFirst => items.sort_by_key(|w| std::cmp::Reverse(w.requested_at)),
            Sort::Network => items.sort_by(|a, b| a.network.code().cmp(b.network.code())),
        }
    }
}

async fn read_page(console: &Console<'_>, filters: &Filters, limit: usize) -> Result<crate::store::Page, Refusal> {
    let service = &console.state.service;
    let also = filters.also(service, console.now);
    let query = filters.query(limit);
    Ok(match filters.sla {
        SlaFilter::Overdue => service.overdue_where(&query, &also).await?,
        SlaFilter::AtRisk => service.at_risk(&query, &also).await?,
    })
}

struct Row {
    id: String,
    href: String,
    user: String,
    coin: String,
    network: &'static str,
    amount: String,
    state: &'static str,
    sla: &'static str,
    since: String,
    age: String,
    /// The arrival estimate's delay reason, empty while on track.
    delay: &'static str,
    ticket: String,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

fn choices(options: impl IntoIterator<Item = (String, String)>, current: Option<&String>, any: &str) -> Vec<Choice> {
    let mut list = vec![Choice { value: String::new(), label: any.to_owned(), selected: current.is_none() }];
    list.extend(options.into_iter().map(|(value, label)| Choice { selected: current == Some(&value), value, label }));
    list
}

/// One network's bar in the chart: at risk and overdue, drawn to scale.
struct Bar {
    network: &'static str,
    y: u32,
    text_y: u32,
    at_risk: u64,
    overdue: u64,
    at_risk_width: u32,
    overdue_x: u32,
    overdue_width: u32,
    label_x: u32,
}

const CHART_LEFT: u32 = 70;
const CHART_WIDTH: u32 = 400;
const BAR_HEIGHT: u32 = 18;

fn bars(counts: &[(Network, SlaStatus, u64)]) -> Vec<Bar> {
    let mut per_network: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
    for (network, status, count) in counts {
        let entry = per_network.entry(network.code()).or_default();
        match status {
            SlaStatus::AtRisk => entry.0 += count,
            SlaStatus::Overdue => entry.1 += count,
            _ => {}
        }
    }
    let mut rows: Vec<(&'static str, u64, u64)> =
        per_network.into_iter().filter(|(_, (r, o))| r + o > 0).map(|(n, (r, o))| (n, r, o)).collect();
    // The worst network first: most overdue, then most at risk.
    rows.sort_by(|a, b| (b.2, b.1).cmp(&(a.2, a.1)).then(a.0.cmp(b.0)));
    let largest = rows.iter().map(|(_, r, o)| r + o).max().unwrap_or(1).max(1);
    let scale = |n: u64| ((n * u64::from(CHART_WIDTH)) / largest) as u32;
    rows.into_iter()
        .enumerate()
        .map(|(i, (network, at_risk, overdue))| {
            let y = 4 + i as u32 * (BAR_HEIGHT + 6);
            let at_risk_width = scale(at_risk);
            // The total to scale, so rounding never shortens the largest bar.
            let overdue_width = scale(at_risk + overdue) - at_risk_width;
            Bar {
                network,
                y,
                text_y: y + 13,
                at_risk,
                overdue,
                at_risk_width,
                overdue_x: CHART_LEFT + at_risk_width,
                overdue_width,
                label_x: CHART_LEFT + at_risk_width + overdue_width + 6,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "web/overdue.html")]
struct OverduePage {
    frame: Frame,
    t: &'static Texts,
    rows: Vec<Row>,
    bars: Vec<Bar>,
    chart_height: u32,
    chart_left: u32,
    at_risk_label: &'static str,
    overdue_label: &'static str,
    networks: Vec<Choice>,
    states: Vec<Choice>,
    sla_at_risk: bool,
    sorts: Vec<Choice>,
    sizes: Vec<Choice>,
    every: Vec<Choice>,
    auto_refresh: Option<u32>,
    min_amount: String,
    older_than: String,
    delays: Vec<Choice>,
    since_heading: &'static str,
    csv_href: String,
    refresh_href: String,
    next_href: Option<String>,
    first_href: Option<String>,
    zone_note: String,
}

/// `GET /console`: the overdue (or at-risk) list with its filters and the chart.
pub async fn overdue_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    respond(
        &req,
        &state,
        async {
            let console = Console::of(&req, &state)?;
            let session = console.session(&req)?;
            let filters = Filters::parse(req.query_string()).map_err(Refusal::BadRequest)?;
            let mut page = read_page(&console, &filters, filters.limit).await?;
            filters.sort(&mut page.items);
            let counts = state.service.sla_counts(&[SlaStatus::AtRisk, SlaStatus::Overdue]).await?;
            let t = console.t;
            let rows = page.items.iter().map(|w| row(&console, w)).collect();
            let bars = bars(&counts);
            let chart_height = (bars.len() as u32 * (BAR_HEIGHT + 6)).max(BAR_HEIGHT) + 8;
            let language = console.language;
            let template = OverduePage {
                frame: console.frame(&req, t.overdue_title, Some(&session)),
                t,
                rows,
                bars,
                chart_height,
                chart_left: CHART_LEFT,
                at_risk_label: text::sla_name(SlaStatus::AtRisk, language),
                overdue_label: text::sla_name(SlaStatus::Overdue, language),
                networks: choices(
                    Network::ALL
                        .into_iter()
                        .map(|n| (n.code().to_owned(), format!("{} ({})", n.code(), n.display_name()))),
                    filters.raw.get("network"),
                    t.any,
                ),
                states: choices(
                    State::ALL
                        .into_iter()
                        .filter(|s| !s.is_terminal())
                        .map(|s| (s.as_str().to_owned(), text::state_name(s, language).to_owned())),
                    filters.raw.get("state"),
                    t.any,
                ),
                sla_at_risk: filters.sla == SlaFilter::AtRisk,
                sorts: SORTS
                    .iter()
                    .map(|(name, sort)| Choice {
                        value: (*name).to_owned(),
                        label: sort_label(*sort, language).to_owned(),
                        selected: filters.sort == *sort,
                    })
                    .collect(),
                sizes: PAGE_SIZES
                    .iter()
                    .map(|n| Choice { value: n.to_string(), label: n.to_string(), selected: filters.limit == *n })
                    .collect(),
                every: choices(
                    AUTO_REFRESH_SECONDS.iter().map(|n| (n.to_string(), every_label(*n, language))),
                    filters.raw.get("every"),
                    t.off,
                ),
                auto_refresh: filters.every,
                min_amount: filters.raw.get("min_amount").cloned().unwrap_or_default(),
                older_than: filters.raw.get("older_than").cloned().unwrap_or_default(),
                delays: choices(
                    DelayCode::ALL.into_iter().map(|code| (code.as_str().to_owned(), code.as_str().replace('_', " "))),
                    filters.raw.get("delay"),
                    t.any,
                ),
                since_heading: if filters.sla == SlaFilter::AtRisk { t.at_risk_since } else { t.overdue_since },
                csv_href: filters.href("/console/overdue.csv", &[("cursor", None)]),
                refresh_href: filters.href("/console", &[]),
                next_href: page.next.map(|c| filters.href("/console", &[("cursor", Some(&c.encode()))])),
                first_href: filters.cursor.as_ref().map(|_| filters.href("/console", &[("cursor", None)])),
                zone_note: format!("{} {}", t.times_in, console.settings.support_time_zone.name()),
            };
            Ok(console.render(&req, StatusCode::OK, &template))
        }
        .await,
    )
}

fn every_label(seconds: u32, language: Language) -> String {
    match (language, seconds) {
        (Language::English, s) if s < 60 => format!("{s} s"),
        (Language::English, s) => format!("{} min", s / 60),
        (Language::SimplifiedChinese, s) if s < 60 => format!("{s} 秒"),
        (Language::SimplifiedChinese, s) => format!("{} 分钟", s / 60),
    }
}

fn sort_label(sort: Sort, language: Language) -> &'static str {
    match (language, sort) {
        (Language::English, Sort::Index) => "most late first",
        (Language::English, Sort::AmountDesc) => "largest amount first",
        (Language::English, Sort::OldestFirst) => "oldest request first",
        (Language::English, Sort::NewestFirst) => "newest request first",
        (Language::English, Sort::Network) => "by network",
        (Language::SimplifiedChinese, Sort::Index) => "最晚的在前",
        (Language::SimplifiedChinese, Sort::AmountDesc) => "金额从大到小",
        (Language::SimplifiedChinese, Sort::OldestFirst) => "申请时间从早到晚",
        (Language::SimplifiedChinese, Sort::NewestFirst) => "申请时间从晚到早",
        (Language::SimplifiedChinese, Sort::Network) => "按网络",
    }
}

fn row(console: &Console<'_>, w: &Withdrawal) -> Row {
    let status = w.sla.as_ref().map(|d| crate::domain::sla::status_at(d, w, console.now));
    let since = match status {
        Some(SlaStatus::AtRisk) => w.sla.as_ref().map(|d| d.at_risk_at),
        _ => w.sla.as_ref().map(|d| d.overdue_at),
    };
    Row {
        id: w.id.to_string(),
        href: format!("/console/withdrawals/{}", w.id),
        user: w.user_id.to_string(),
        coin: w.coin.clone(),
        network: w.network.code(),
        amount: w.amount.as_str().to_owned(),
        state: text::state_name(w.state(), console.language),
        sla: status.map(|s| text::sla_name(s, console.language)).unwrap_or(""),
        since: since.map(|at| console.support_time(at)).unwrap_or_default(),
        age: age((console.now - w.requested_at.to_utc()).num_seconds()),
        delay: console.state.service.estimate(w, console.now).delay.map_or("", |d| d.code.as_str()),
        ticket: w.escalation.as_ref().and_then(|e| e.ticket_id.clone()).unwrap_or_default(),
    }
}

/// `GET /console/overdue.csv`: every row the filters select (from the first
/// page on, up to 10,000), in the page's order, as `GET /v1/overdue` writes
/// CSV.
pub async fn overdue_csv(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    respond(
        &req,
        &state,
        async {
            let console = Console::of(&req, &state)?;
            console.session(&req)?;
            let mut filters = Filters::parse(req.query_string()).map_err(Refusal::BadRequest)?;
            filters.cursor = None;
            let mut rows = Vec::new();
            loop {
                let page = read_page(&console, &filters, 500).await?;
                rows.extend(page.items);
                match page.next {
                    Some(next) if rows.len() < CSV_MAX_ROWS => filters.cursor = Some(next),
                    _ => break,
                }
            }
            rows.truncate(CSV_MAX_ROWS);
            filters.sort(&mut rows);
            let body = crate::http::support::overdue_csv(&rows, &state);
            let mut response = HttpResponse::Ok();
            super::secure_headers(&mut response);
            Ok(response
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"overdue.csv\""))
                .content_type("text/csv; charset=utf-8")
                .body(body))
        }
        .await,
    )
}

// ---- one withdrawal ----

struct HistoryRow {
    at: String,
    state: &'static str,
    reason: String,
}

struct AttemptRow {
    at: String,
    outcome: String,
}

struct DeliveryRow {
    event: &'static str,
    status: &'static str,
    dead: bool,
    next_attempt: String,
    attempts: Vec<AttemptRow>,
}

struct TicketBox {
    id: String,
    status: &'static str,
    level: u8,
    reason: &'static str,
    opened_at: String,
    raised_at: String,
    resolved_at: String,
    deliveries: Vec<DeliveryRow>,
}

#[derive(Template)]
#[template(path = "web/withdrawal.html")]
struct WithdrawalPage {
    frame: Frame,
    t: &'static Texts,
    id: String,
    message: String,
    user: String,
    user_href: String,
    coin: String,
    network: String,
    amount: String,
    address: String,
    memo: String,
    state: &'static str,
    requested_support: String,
    requested_utc: String,
    completed: Option<(String, String)>,
    tx_hash: Option<String>,
    explorer_url: Option<String>,
    block: Option<u64>,
    confirmations: Option<(u64, u64)>,
    payee_mismatch: Option<String>,
    sla: Option<SlaBox>,
    history: Vec<HistoryRow>,
    ticket: Option<TicketBox>,
    can_retry: bool,
    can_resolve: bool,
    notice: Option<&'static str>,
    zone: String,
}

struct SlaBox {
    status: &'static str,
    at_risk_support: String,
    at_risk_utc: String,
    overdue_support: String,
    overdue_utc: String,
    working_days: String,
}

fn withdrawal_id(raw: &str) -> Result<WithdrawalId, Refusal> {
    WithdrawalId::parse(raw).map_err(|_| Refusal::NotFound)
}

/// `GET /console/withdrawals/{id}`.
pub async fn withdrawal_page(req: HttpRequest, state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    respond(
        &req,
        &state,
        async {
            let console = Console::of(&req, &state)?;
            let session = console.session(&req)?;
            let id = withdrawal_id(&id)?;
            let w = state.service.get_visible(&Caller::Support, &id).await?;
            let context = console.context();
            let view = WithdrawalView::new(&w, &context);
            let t = console.t;
            let language = console.language;
            let notice = match super::query_value(&req, "done").as_deref() {
                Some("retried") => Some(t.retried),
                Some("resolved") => Some(t.resolved),
                _ => None,
            };
            let ticket = w.escalation.as_ref().map(|e| TicketBox {
                id: e.ticket_id.clone().unwrap_or_else(|| "-".to_owned()),
                status: text::ticket_status_name(e.status, language),
                level: e.level,
                reason: text::trigger_name(e.reason, language),
                opened_at: console.support_time(e.opened_at),
                raised_at: e.raised_at.map(|at| console.support_time(at)).unwrap_or_default(),
                resolved_at: e.resolved_at.map(|at| console.support_time(at)).unwrap_or_default(),
                deliveries: e
                    .deliveries
                    .iter()
                    .map(|d| DeliveryRow {
                        event: d.event.wire_name(),
                        status: text::delivery_status_name(d.status, language),
                        dead: d.status == DeliveryStatus::Dead,
                        next_attempt: if matches!(d.status, DeliveryStatus::Pending | DeliveryStatus::InFlight) {
                            console.support_time(d.next_attempt_at)
                        } else {
                            String::new()
                        },
                        attempts: d
                            .attempts
                            .iter()
                            .map(|a| AttemptRow { at: console.support_time(a.at), outcome: a.outcome.clone() })
                            .collect(),
                    })
                    .collect(),
            });
            let can_retry = ticket.as_ref().is_some_and(|t| t.deliveries.iter().any(|d| d.dead));
            let can_resolve =
                w.escalation.as_ref().is_some_and(|e| e.status != crate::domain::escalation::TicketStatus::Resolved);
            let template = WithdrawalPage {
                frame: console.frame(&req, &format!("{} {}", t.withdrawal, w.id), Some(&session)),
                t,
                id: w.id.to_string(),
                message: view.message.clone(),
                user: w.user_id.to_string(),
                user_href: format!(
                    "/console/search?{}",
                    serde_urlencoded::to_string([("q", w.user_id.as_str())]).unwrap_or_default()
                ),
                coin: w.coin.clone(),
                network: format!("{} ({})", w.network.code(), w.network.display_name()),
                amount: w.amount.as_str().to_owned(),
                address: w.address.clone(),
                memo: w.memo.clone().unwrap_or_default(),
                state: text::state_name(w.state(), language),
                requested_support: console.support_time(view.requested_at),
                requested_utc: in_utc(view.requested_at),
                completed: view.completed_at.map(|at| (console.support_time(at), in_utc(at))),
                tx_hash: view.tx_hash.map(str::to_owned),
                explorer_url: view.explorer_url.clone(),
                block: view.block_height,
                confirmations: view
                    .required_confirmations
                    .map(|need| (view.confirmations.unwrap_or(0).min(need), need)),
                payee_mismatch: view.payee_mismatch.map(str::to_owned),
                sla: view.sla.as_ref().map(|s| SlaBox {
                    status: text::sla_name(s.status, language),
                    at_risk_support: console.support_time(s.at_risk_at),
                    at_risk_utc: in_utc(s.at_risk_at),
                    overdue_support: console.support_time(s.overdue_at),
                    overdue_utc: in_utc(s.overdue_at),
                    working_days: format!("{:.2}", s.working_days_elapsed),
                }),
                history: w
                    .history()
                    .iter()
                    .map(|h| HistoryRow {
                        at: console.support_time(h.at),
                        state: text::state_name(h.state, language),
                        reason: h.reason.clone(),
                    })
                    .collect(),
                ticket,
                can_retry,
                can_resolve,
                notice,
                zone: console.settings.support_time_zone.name().to_owned(),
            };
            Ok(console.render(&req, StatusCode::OK, &template))
        }
        .await,
    )
}

// ---- actions, each behind a confirmation ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Retry,
    Resolve,
}

#[derive(Template)]
#[template(path = "web/confirm.html")]
struct ConfirmPage {
    frame: Frame,
    t: &'static Texts,
    question: &'static str,
    button: &'static str,
    action: String,
    back: String,
    csrf: String,
    id: String,
}

/// `GET /console/withdrawals/{id}/retry` and `/resolve`: the confirmation.
pub async fn confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    action: Action,
) -> HttpResponse {
    respond(
        &req,
        &state,
        async {
            let console = Console::of(&req, &state)?;
            let session = console.session(&req)?;
            let id = withdrawal_id(&id)?;
            state.service.get_visible(&Caller::Support, &id).await?;
            let t = console.t;
            let (question, button, verb) = match action {
                Action::Retry => (t.confirm_retry, t.retry_dead, "retry"),
                Action::Resolve => (t.confirm_resolve, t.resolve_ticket, "resolve"),
            };
            let template = ConfirmPage {
                frame: console.frame(&req, button, Some(&session)),
                t,
                question,
                button,
                action: format!("/console/withdrawals/{id}/{verb}"),
                back: format!("/console/withdrawals/{id}"),
                csrf: session.csrf_token(console.key()),
                id: id.to_string(),
            };
            Ok(console.render(&req, StatusCode::OK, &template))
        }
        .await,
    )
}

pub async fn confirm_retry(req: HttpRequest, state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    confirm(req, state, id, Action::Retry).await
}

pub async fn confirm_resolve(req: HttpRequest, state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    confirm(req, state, id, Action::Resolve).await
}

/// `POST /console/withdrawals/{id}/retry` and `/resolve`: `csrf`. Then back
/// to the withdrawal's page, which says what happened.
pub async fn act(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
    action: Action,
) -> HttpResponse {
    respond(&req, &state, async {
        let console = Console::of(&req, &state)?;
        let (session, _) = console.signed_form(&req, &body)?;
        let id = withdrawal_id(&id)?;
        let t = console.t;
        let back = format!("/console/withdrawals/{id}");
        let result = match action {
            Action::Retry => state.service.retry_ticket(&id).await.map(|_| "retried"),
            Action::Resolve => state.service.resolve_ticket(&id).await.map(|_| "resolved"),
        };
        tracing::info!(withdrawal_id = %id, who = session.identity.label(), ?action, ok = result.is_ok(), "console action");
        match result {
            Ok(done) => Ok(see_other(&format!("{back}?done={done}")).finish()),
            Err(ServiceError::NothingToRetry(_)) => {
                Ok(message_page(&req, console.language, StatusCode::CONFLICT, t.retry_dead, t.nothing_to_retry, Some(&back)))
            }
            Err(ServiceError::NothingToResolve(_)) => Ok(message_page(
                &req,
                console.language,
                StatusCode::CONFLICT,
                t.resolve_ticket,
                t.nothing_to_resolve,
                Some(&back),
            )),
            Err(other) => Err(other.into()),
        }
    }.await)
}

pub async fn retry(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    act(req, state, id, body, Action::Retry).await
}

pub async fn resolve(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    act(req, state, id, body, Action::Resolve).await
}

// ---- search ----

#[derive(Template)]
#[template(path = "web/search.html")]
struct SearchPage {
    frame: Frame,
    t: &'static Texts,
    q: String,
    heading: String,
    rows: Vec<Row>,
    searched: bool,
}

/// `GET /console/search?q=`: a withdrawal id opens its page; otherwise the
/// withdrawals whose transaction is `q` and those of user `q`.
pub async fn search(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    respond(
        &req,
        &state,
        async {
            let console = Console::of(&req, &state)?;
            let session = console.session(&req)?;
            let q = super::query_value(&req, "q").unwrap_or_default().trim().to_owned();
            let mut found: Vec<Withdrawal> = Vec::new();
            let mut heading = String::new();
            if !q.is_empty() {
                if let Ok(id) = WithdrawalId::parse(&q) {
                    match state.service.get_visible(&Caller::Support, &id).await {
                        Ok(_) => return Ok(see_other(&format!("/console/withdrawals/{id}")).finish()),
                        Err(ServiceError::NotFound | ServiceError::Expired { .. }) => {}
                        Err(other) => return Err(other.into()),
                    }
                }
                found.extend(state.service.in_flight_with_hash(&q).await?);
                if let Ok(user_id) = crate::domain::UserId::parse(&q) {
                    let query = ListQuery { user_id: Some(user_id), limit: 100, ..ListQuery::default() };
                    found.extend(state.service.list(&query).await?.items);
                }
                heading = format!("{} {q}", console.t.results_for);
            }
            let template = SearchPage {
                frame: console.frame(&req, console.t.search, Some(&session)),
                t: console.t,
                rows: found.iter().map(|w| row(&console, w)).collect(),
                searched: !q.is_empty(),
                q,
                heading,
            };
            Ok(console.render(&req, StatusCode::OK, &template))
        }
        .await,
    )
}

// ---- networks ----

struct NetworkRow {
    code: &'static str,
    name: &'static str,
    explorer: &'static str,
    confirmations: u64,
    tip: String,
    lag: String,
    ok: u64,
    errors: u64,
}

/// A network's status as support sees it, with the maintenance in force.
struct StatusRow {
    code: &'static str,
    name: &'static str,
    status: &'static str,
    since: String,
    reason: String,
    expected_end: String,
    in_maintenance: bool,
    /// The open incident: its id, cause and how many late withdrawals it holds.
    incident: Option<(String, &'static str, u64)>,
}

#[derive(Template)]
#[template(path = "web/networks.html")]
struct NetworksPage {
    frame: Frame,
    t: &'static Texts,
    rows: Vec<NetworkRow>,
    statuses: Vec<StatusRow>,
    networks: Vec<Choice>,
    csrf: String,
    done: Option<String>,
}

/// What this replica's metrics say of one network's explorer: last tip,
/// seconds since the last good poll, requests answered and failed. Read
/// from the collected series, so nothing is created for a network never
/// polled.
fn explorer_figures(metrics: &crate::metrics::Metrics, network: Network) -> (Option<i64>, Option<f64>, u64, u64) {
    use prometheus::core::Collector;
    let label_is = |m: &prometheus::proto::Metric, name: &str, value: &str| {
        m.get_label().iter().any(|l| l.name() == name && l.value() == value)
    };
    let code = network.code();
    let mut tip = None;
    for family in metrics.chain_tip_height.collect() {
        for m in family.get_metric().iter().filter(|m| label_is(m, "network", code)) {
            tip = Some(m.get_gauge().get_value() as i64);
        }
    }
    let mut lag = None;
    for family in metrics.poll_lag_seconds.collect() {
        for m in family.get_metric().iter().filter(|m| label_is(m, "network", code)) {
            lag = Some(m.get_gauge().get_value());
        }
    }
    let (mut ok, mut errors) = (0, 0);
    for family in metrics.explorer_requests.collect() {
        for m in family.get_metric().iter().filter(|m| label_is(m, "network", code)) {
            let count = m.get_counter().get_value() as u64;
            if label_is(m, "outcome", "ok") || label_is(m, "outcome", "not_found") {
                ok += count;
            } else {
                errors += count;
            }
        }
    }
    (tip, lag, ok, errors)
}

/// `GET /console/networks`: each network followed on chain, its explorer
/// and how its polling goes; every network's status, maintenance and open
/// incident, with the forms that change them.
pub async fn networks(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    respond(
        &req,
        &state,
        async {
            let console = Console::of(&req, &state)?;
            let session = console.session(&req)?;
            let rows = state
                .explorers
                .iter()
                .map(|(network, (explorer, confirmations))| {
                    let (tip, lag, ok, errors) = explorer_figures(&state.service.metrics, *network);
                    NetworkRow {
                        code: network.code(),
                        name: network.display_name(),
                        explorer,
                        confirmations: *confirmations,
                        tip: tip.map(|t| t.to_string()).unwrap_or_else(|| "-".to_owned()),
                        lag: lag.map(|l| format!("{l:.0} {}", console.t.seconds)).unwrap_or_else(|| "-".to_owned()),
                        ok,
                        errors,
                    }
                })
                .collect();
            let statuses = state
                .service
                .networks
                .snapshot()
                .into_iter()
                .map(|snapshot| {
                    let (status, since) = snapshot.record.status();
                    let maintenance = snapshot.record.maintenance.as_ref();
                    let reason = maintenance.map(|m| match console.language {
                        Language::English => m.reason.en.clone(),
                        Language::SimplifiedChinese => m.reason.zh.clone(),
                    });
                    StatusRow {
                        code: snapshot.network.code(),
                        name: snapshot.network.display_name(),
                        status: status.as_str(),
                        since: since.map(|at| console.support_time(at)).unwrap_or_default(),
                        reason: reason.unwrap_or_default(),
                        expected_end: maintenance
                            .and_then(|m| m.expected_end)
                            .map(|at| console.support_time(at))
                            .unwrap_or_default(),
                        in_maintenance: maintenance.is_some(),
                        incident: snapshot
                            .record
                            .open_incident()
                            .map(|i| (i.id.clone(), i.cause.as_str(), i.affected_count())),
                    }
                })
                .collect();
            let networks = choices(
                Network::ALL.into_iter().map(|n| (n.code().to_owned(), format!("{} ({})", n.code(), n.display_name()))),
                None,
                "-",
            );
            let template = NetworksPage {
                frame: console.frame(&req, console.t.networks, Some(&session)),
                t: console.t,
                rows,
                statuses,
                networks,
                csrf: session.csrf_token(console.key()),
                done: super::query_value(&req, "done").filter(|d| NetworkAction::DONE.contains(&d.as_str())),
            };
            Ok(console.render(&req, StatusCode::OK, &template))
        }
        .await,
    )
}

/// What a networks-page form does, each as its API call does it, signed
/// with who is signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NetworkAction {
    DeclareMaintenance,
    EndMaintenance,
    OpenIncident,
    CloseIncident,
}

impl NetworkAction {
    /// The `done` the page is sent back with, one per action.
    const DONE: [&'static str; 4] = ["declared", "ended", "incident_opened", "incident_closed"];

    fn done(self) -> &'static str {
        Self::DONE[self as usize]
    }
}

/// `POST /console/networks/maintenance`: as `POST /v1/networks/{network}/maintenance`.
pub async fn declare_maintenance(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    change_network(req, state, body, NetworkAction::DeclareMaintenance).await
}

/// `POST /console/networks/maintenance/end`.
pub async fn end_maintenance(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    change_network(req, state, body, NetworkAction::EndMaintenance).await
}

/// `POST /console/networks/incidents`: as `POST /v1/networks/{network}/incidents`.
pub async fn open_incident(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    change_network(req, state, body, NetworkAction::OpenIncident).await
}

/// `POST /console/networks/incidents/close`.
pub async fn close_incident(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    change_network(req, state, body, NetworkAction::CloseIncident).await
}

async fn change_network(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
    action: NetworkAction,
) -> HttpResponse {
    respond(
        &req,
        &state,
        async {
            let console = Console::of(&req, &state)?;
            let (session, fields) = console.signed_form(&req, &body)?;
            let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
            let network = Network::parse(field("network"))
                .ok_or_else(|| Refusal::BadRequest(format!("network: unknown network {:?}", field("network"))))?;
            let by = session.identity.label().to_owned();
            let service = &state.service;
            let result = match action {
                NetworkAction::DeclareMaintenance => {
                    let declaration = crate::networks::Declaration::parse(
                        field("reason_en"),
                        field("reason_zh"),
                        // The form's empty box means no expected end.
                        Some(field("expected_end").trim()).filter(|text| !text.is_empty()),
                        fields.contains_key("suspends_withdrawals"),
                        by.clone(),
                    )
                    .map_err(|e| Refusal::BadRequest(e.message))?;
                    service.declare_maintenance(network, declaration).await
                }
                NetworkAction::EndMaintenance => service.end_maintenance(network, &by).await,
                NetworkAction::OpenIncident => {
                    let reason = crate::domain::network_status::Reason::parse(field("reason_en"), field("reason_zh"))
                        .map_err(|e| Refusal::BadRequest(e.message))?;
                    service.declare_incident(network, reason, &by).await
                }
                NetworkAction::CloseIncident => service.close_incident(network, &by).await,
            };
            tracing::info!(%network, who = by.as_str(), action = action.done(), ok = result.is_ok(), "console network change");
            match result {
                Ok(_) => Ok(see_other(&format!("/console/networks?done={}", action.done())).finish()),
                Err(crate::networks::BoardError::Rule(rule)) => Err(Refusal::BadRequest(rule.to_string())),
                Err(crate::networks::BoardError::Incident(rule)) => Err(Refusal::BadRequest(rule.to_string())),
                Err(crate::networks::BoardError::Store(_) | crate::networks::BoardError::Contended) => {
                    Err(Refusal::Unavailable)
                }
            }
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_name_the_bad_one() {
        let f =
            Filters::parse("network=TRX&state=pending&sla=at_risk&min_amount=10.5&older_than=2d&sort=oldest&limit=25")
                .unwrap();
        assert_eq!(f.network, Some(Network::parse("TRX").unwrap()));
        assert_eq!(f.state, Some(State::Pending));
        assert_eq!(f.sla, SlaFilter::AtRisk);
        assert_eq!(f.older_than, Some(chrono::Duration::days(2)));
        assert_eq!((f.sort, f.limit), (Sort::OldestFirst, 25));
        let empty = Filters::parse("network=&state=").unwrap();
        assert_eq!((empty.network, empty.state, empty.sla, empty.limit), (None, None, SlaFilter::Overdue, 50));
        for (query, field) in [
            ("network=NOPE", "network"),
            ("state=lost", "state"),
            ("sla=late", "sla"),
            ("min_amount=ten", "min_amount"),
            ("older_than=soon", "older_than"),
            ("sort=random", "sort"),
            ("limit=7", "limit"),
            ("cursor=zzz", "cursor"),
            ("every=5", "every"),
        ] {
            let error = Filters::parse(query).err().unwrap_or_else(|| panic!("{query} parses"));
            assert!(error.starts_with(field), "{query}: {error}");
        }
    }

    #[test]
    fn links_keep_the_filters() {
        let f = Filters::parse("network=TRX&lang=zh&min_amount=5&sort=").unwrap();
        assert_eq!(
            f.href("/console/overdue.csv", &[("cursor", None)]),
            "/console/overdue.csv?min_amount=5&network=TRX"
        );
        assert_eq!(f.href("/console", &[("cursor", Some("c1"))]), "/console?cursor=c1&min_amount=5&network=TRX");
    }

    #[test]
    fn only_console_paths_are_returned_to() {
        assert_eq!(safe_next(Some("/console/withdrawals/w-1")), "/console/withdrawals/w-1");
        for bad in
            ["https://evil.example", "//evil.example", "/status/x", "/console//evil", "/console\\x", "/console\"><b>"]
        {
            assert_eq!(safe_next(Some(bad)), "/console", "{bad}");
        }
        assert_eq!(safe_next(None), "/console");
    }

    #[test]
    fn the_worst_network_is_drawn_first_and_to_scale() {
        let trx = Network::parse("TRX").unwrap();
        let btc = Network::parse("BTC").unwrap();
        let eth = Network::parse("ETH").unwrap();
        let counts = [
            (btc, SlaStatus::AtRisk, 6),
            (btc, SlaStatus::Overdue, 1),
            (trx, SlaStatus::AtRisk, 0),
            (trx, SlaStatus::Overdue, 3),
            (eth, SlaStatus::AtRisk, 0),
            (eth, SlaStatus::Overdue, 0),
        ];
        let bars = bars(&counts);
        assert_eq!(
            bars.iter().map(|b| b.network).collect::<Vec<_>>(),
            ["TRX", "BTC"],
            "most overdue first; empty left out"
        );
        assert_eq!(bars[1].at_risk_width + bars[1].overdue_width, CHART_WIDTH, "the largest total fills the width");
        assert_eq!(bars[0].overdue_width, CHART_WIDTH * 3 / 7);
    }
}
