//! The HTTP edge: routes, extractors, the error shape. Handlers only parse,
//! authorize, call [`crate::service`] and map errors.

mod addresses;
pub mod error;
pub mod extract;
mod health;
mod incidents;
mod network_status;
mod query;
pub mod rate_limit;
pub(crate) mod support;
mod withdrawals;

use std::sync::Arc;

use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse, Route};

use crate::auth::Authenticator;
use crate::service::Service;
use error::ApiError;

/// Only `/metrics`, for a separate `metrics_listen` listener.
pub fn configure_metrics_only(cfg: &mut web::ServiceConfig) {
    cfg.route(METRICS_PATH, web::get().to(health::metrics));
    cfg.default_service(web::to(not_found));
}

pub struct AppState {
    pub service: Arc<Service>,
    pub auth: Authenticator,
    pub rate_limiter: rate_limit::RateLimiter,
    /// Networks followed on chain: explorer kind and required confirmations.
    pub explorers: std::collections::BTreeMap<crate::domain::Network, (&'static str, u64)>,
    /// The console and the status pages (`crate::web`); `None`: not configured.
    pub console: Option<crate::config::ConsoleSettings>,
}

/// One mounted route. The server is built from [`ROUTES`] alone, and a test
/// holds this table against `openapi.yaml`.
pub struct RouteSpec {
    pub method: Method,
    /// In OpenAPI path syntax, which actix shares: `/v1/withdrawals/{id}`.
    pub path: &'static str,
    pub handler: fn() -> Route,
}

pub const ROUTES: &[RouteSpec] = &[
    RouteSpec { method: Method::GET, path: "/healthz", handler: || web::get().to(health::healthz) },
    RouteSpec { method: Method::GET, path: "/readyz", handler: || web::get().to(health::readyz) },
    RouteSpec { method: Method::GET, path: "/metrics", handler: || web::get().to(health::metrics) },
    RouteSpec { method: Method::POST, path: "/v1/withdrawals", handler: || web::post().to(withdrawals::register) },
    RouteSpec { method: Method::GET, path: "/v1/withdrawals", handler: || web::get().to(withdrawals::list) },
    RouteSpec { method: Method::GET, path: "/v1/withdrawals/{id}", handler: || web::get().to(withdrawals::get) },
    RouteSpec { method: Method::PATCH, path: "/v1/withdrawals/{id}", handler: || web::patch().to(withdrawals::patch) },
    RouteSpec { method: Method::POST, path: "/v1/addresses/validate", handler: || web::post().to(addresses::validate) },
    RouteSpec { method: Method::GET, path: "/v1/networks", handler: || web::get().to(addresses::networks) },
    RouteSpec { method: Method::GET, path: "/v1/networks/status", handler: || web::get().to(network_status::all) },
    RouteSpec {
        method: Method::GET,
        path: "/v1/networks/{network}/history",
        handler: || web::get().to(network_status::history),
    },
    RouteSpec {
        method: Method::POST,
        path: "/v1/networks/{network}/maintenance",
        handler: || web::post().to(network_status::declare),
    },
    RouteSpec {
        method: Method::POST,
        path: "/v1/networks/{network}/maintenance/end",
        handler: || web::post().to(network_status::end),
    },
    RouteSpec {
        method: Method::GET,
        path: "/v1/networks/{network}/incidents",
        handler: || web::get().to(incidents::list),
    },
    RouteSpec {
        method: Method::POST,
        path: "/v1/networks/{network}/incidents",
        handler: || web::post().to(incidents::open),
    },
    RouteSpec {
        method: Method::POST,
        path: "/v1/networks/{network}/incidents/close",
        handler: || web::post().to(incidents::close),
    },
    RouteSpec { method: Method::GET, path: "/v1/overdue", handler: || web::get().to(support::overdue) },
    RouteSpec { method: Method::GET, path: "/v1/tickets", handler: || web::get().to(support::tickets) },
    RouteSpec {
        method: Method::POST,
        path: "/v1/tickets/{withdrawal_id}/retry",
        handler: || web::post().to(support::retry_ticket),
    },
    RouteSpec {
        method: Method::POST,
        path: "/v1/tickets/{withdrawal_id}/resolve",
        handler: || web::post().to(support::resolve_ticket),
    },
    RouteSpec { method: Method::POST, path: "/v1/status-links", handler: || web::post().to(crate::web::status::mint) },
    // The web pages (`crate::web`): HTML, and a session cookie instead of a bearer token.
    RouteSpec {
        method: Method::GET,
        path: "/status/{link}",
        handler: || web::get().to(crate::web::status::status_page),
    },
    RouteSpec { method: Method::GET, path: "/assets/web.css", handler: || web::get().to(crate::web::stylesheet) },
    RouteSpec { method: Method::GET, path: "/console", handler: || web::get().to(crate::web::console::overdue_page) },
    RouteSpec {
        method: Method::GET,
        path: "/console/overdue.csv",
        handler: || web::get().to(crate::web::console::overdue_csv),
    },
    RouteSpec {
        method: Method::GET,
        path: "/console/login",
        handler: || web::get().to(crate::web::console::login_form),
    },
    RouteSpec { method: Method::POST, path: "/console/login", handler: || web::post().to(crate::web::console::login) },
    RouteSpec {
        method: Method::POST,
        path: "/console/logout",
        handler: || web::post().to(crate::web::console::logout),
    },
    RouteSpec { method: Method::GET, path: "/console/search", handler: || web::get().to(crate::web::console::search) },
    RouteSpec {
        method: Method::GET,
        path: "/console/networks",
        handler: || web::get().to(crate::web::console::networks),
    },
    RouteSpec {
        method: Method::POST,
        path: "/console/networks/maintenance",
        handler: || web::post().to(crate::web::console::declare_maintenance),
    },
    RouteSpec {
        method: Method::POST,
        path: "/console/networks/maintenance/end",
        handler: || web::post().to(crate::web::console::end_maintenance),
    },
    RouteSpec {
        method: Method::POST,
        path: "/console/networks/incidents",
        handler: || web::post().to(crate::web::console::open_incident),
    },
    RouteSpec {
        method: Method::POST,
        path: "/console/networks/incidents/close",
        handler: || web::post().to(crate::web::console::close_incident),
    },
    RouteSpec {
        method: Method::GET,
        path: "/console/withdrawals/{id}",
        handler: || web::get().to(crate::web::console::withdrawal_page),
    },
    RouteSpec {
        method: Method::GET,
        path: "/console/withdrawals/{id}/retry",
        handler: || web::get().to(crate::web::console::confirm_retry),
    },
    RouteSpec {
        method: Method::POST,
        path: "/console/withdrawals/{id}/retry",
        handler: || web::post().to(crate::web::console::retry),
    },
    RouteSpec {
        method: Method::GET,
        path: "/console/withdrawals/{id}/resolve",
        handler: || web::get().to(crate::web::console::confirm_resolve),
    },
    RouteSpec {
        method: Method::POST,
        path: "/console/withdrawals/{id}/resolve",
        handler: || web::post().to(crate::web::console::resolve),
    },
];

pub const METRICS_PATH: &str = "/metrics";

/// Mounts every route in [`ROUTES`] (without `/metrics` when it is served on
/// its own listener), grouped by path so a wrong method on a known path is a
/// 405, and anything else a JSON 404. Paths are tried in the table's order:
/// a path with a `{parameter}` costs a regex match, so the hot
/// `/v1/withdrawals/{id}` comes before the ticket paths.
pub fn configure(cfg: &mut web::ServiceConfig, with_metrics: bool) {
    let mut paths: Vec<&'static str> = Vec::new();
    for route in ROUTES.iter().filter(|r| with_metrics || r.path != METRICS_PATH) {
        if !paths.contains(&route.path) {
            paths.push(route.path);
        }
    }
    for path in paths {
        let mut resource =
            web::resource(path).app_data(RoutePattern(path)).default_service(web::to(method_not_allowed));
        for route in ROUTES.iter().filter(|r| r.path == path) {
            resource = resource.route((route.handler)());
        }
        cfg.service(resource);
    }
    cfg.default_service(web::to(not_found));
}

/// The route pattern a request matched (`/v1/withdrawals/{id}`), as its
/// resource's data: the metrics and the access log label requests by it.
/// (`HttpRequest::match_pattern` would match the path against the routes
/// again, a regex per `{parameter}` path tried.)
#[derive(Debug, Clone, Copy)]
pub struct RoutePattern(pub &'static str);

impl RoutePattern {
    /// The pattern `req` matched, or `unmatched` (the JSON 404).
    pub fn of(req: &HttpRequest) -> &'static str {
        req.app_data::<RoutePattern>().map_or("unmatched", |pattern| pattern.0)
    }
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found(format!("no route for {} {}", req.method(), req.path())))
}

/// A 405 names the methods the path does serve in `Allow` (RFC 9110 15.5.6).
async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    let pattern = RoutePattern::of(&req);
    let error =
        ApiError::new(error::Code::MethodNotAllowed, format!("{} is not allowed on {}", req.method(), req.path()));
    let mut response = actix_web::ResponseError::error_response(&error);
    response.headers_mut().insert(
        actix_web::http::header::ALLOW,
        actix_web::http::header::HeaderValue::from_str(&allowed_methods(pattern)).expect("method names are ASCII"),
    );
    response
}

/// The methods [`ROUTES`] serves on a path pattern, e.g. `GET, PATCH`.
pub fn allowed_methods(pattern: &str) -> String {
    ROUTES.iter().filter(|r| r.path == pattern).map(|r| r.method.as_str()).collect::<Vec<_>>().join(", ")
}
