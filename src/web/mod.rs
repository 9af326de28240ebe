//! The web pages the service serves itself: the support console
//! (`/console`, [`console`]) and the user status page (`/status/{link}`,
//! [`status`]). Server-rendered from askama templates compiled into the
//! binary (`templates/web/`), no JavaScript, one stylesheet served from the
//! binary. Handlers parse, check the session, call the same
//! [`crate::service::Service`] functions as the JSON API and render.
//!
//! Every page carries a strict Content-Security-Policy (nothing inline,
//! nothing from another origin, no framing), `nosniff`, `no-referrer` and
//! `no-store`; templates escape everything they print.

pub mod console;
pub mod sign;
pub mod status;
pub mod text;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use askama::Template;
use chrono::{DateTime, Utc};

use crate::domain::message::Language;
use text::Texts;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub const STYLESHEET_PATH: &str = "/assets/web.css";
const STYLESHEET: &str = include_str!("../../templates/web/web.css");

/// `GET /assets/web.css`: the one stylesheet, from the binary.
pub async fn stylesheet() -> HttpResponse {
    let mut response = HttpResponse::Ok();
    secure_headers(&mut response);
    response
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .content_type("text/css; charset=utf-8")
        .body(STYLESHEET)
}

/// The headers every web answer carries.
fn secure_headers(response: &mut HttpResponseBuilder) {
    response
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"));
}

/// A rendered page with the security headers, not cached (it holds live
/// data, and on the console a CSRF token).
pub fn page(status: StatusCode, language: Language, template: &impl Template) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    secure_headers(&mut response);
    match template.render() {
        Ok(body) => response
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::CONTENT_LANGUAGE, language.tag()))
            .insert_header((header::VARY, "Accept-Language, Cookie"))
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(error) => {
            tracing::error!(%error, "a web template failed to render");
            HttpResponse::InternalServerError().content_type("text/plain; charset=utf-8").body("error")
        }
    }
}

/// `303 See Other` to `location` (a path on this service).
pub fn see_other(location: &str) -> HttpResponseBuilder {
    let mut response = HttpResponse::SeeOther();
    secure_headers(&mut response);
    response.insert_header((header::LOCATION, location)).insert_header((header::CACHE_CONTROL, "no-store"));
    response
}

/// The value of one cookie of the request.
pub fn cookie<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// `Set-Cookie` text: always `HttpOnly`, `SameSite=Strict` and `Path=/`;
/// `Secure` unless the console is configured for plain HTTP on loopback.
pub fn set_cookie(name: &str, value: &str, max_age_seconds: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/; Max-Age={max_age_seconds}; HttpOnly; SameSite=Strict{secure}");
    HeaderValue::from_str(&text).expect("cookie values are base64url")
}

/// The language of a page: `?lang=` first (the switch on every page), then
/// `cookie` (the console remembers a switch), then `Accept-Language`.
pub fn page_language(req: &HttpRequest, cookie_name: Option<&str>) -> Language {
    let from_tag = |tag: &str| match tag {
        "en" => Some(Language::English),
        "zh" | "zh-CN" => Some(Language::SimplifiedChinese),
        _ => None,
    };
    query_value(req, "lang")
        .as_deref()
        .and_then(from_tag)
        .or_else(|| cookie_name.and_then(|name| cookie(req, name)).and_then(from_tag))
        .unwrap_or_else(|| crate::http::extract::language(req))
}

/// One parameter of the query string, decoded.
pub fn query_value(req: &HttpRequest, name: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .ok()?
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

/// The current URL with `lang` set to `tag` (the other parameters kept):
/// the language switch's links.
pub fn with_language(req: &HttpRequest, tag: &str) -> String {
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    pairs.retain(|(key, _)| key != "lang");
    pairs.push(("lang".to_owned(), tag.to_owned()));
    format!("{}?{}", req.path(), serde_urlencoded::to_string(&pairs).unwrap_or_default())
}

/// What the layout needs on every page.
pub struct Frame {
    pub title: String,
    pub lang: &'static str,
    pub t: &'static Texts,
    pub english_href: String,
    pub chinese_href: String,
    /// Signed in: the name shown and the sign-out form's CSRF token.
    pub signed_in: Option<(String, String)>,
}

impl Frame {
    pub fn new(req: &HttpRequest, language: Language, title: impl Into<String>) -> Frame {
        Frame {
            title: title.into(),
            lang: language.tag(),
            t: text::texts(language),
            english_href: with_language(req, "en"),
            chinese_href: with_language(req, "zh"),
            signed_in: None,
        }
    }
}

/// A page with a heading, a message and a way back: errors and notices.
#[derive(Template)]
#[template(path = "web/message.html")]
pub struct MessagePage {
    pub frame: Frame,
    pub heading: String,
    pub message: String,
    pub back: Option<String>,
}

/// The plain page of an error.
pub fn message_page(
    req: &HttpRequest,
    language: Language,
    status: StatusCode,
    heading: &str,
    message: &str,
    back: Option<&str>,
) -> HttpResponse {
    let template = MessagePage {
        frame: Frame::new(req, language, heading),
        heading: heading.to_owned(),
        message: message.to_owned(),
        back: back.map(str::to_owned),
    };
    let mut response = page(status, language, &template);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    response
}

/// A time in a zone, with the zone named: `2026-03-04 17:00 CST (UTC+08:00)`.
pub fn in_zone<Z: chrono::TimeZone>(at: DateTime<Utc>, zone: &Z) -> String
where
    Z::Offset: std::fmt::Display,
{
    let local = at.with_timezone(zone);
    let offset = local.format("%:z").to_string();
    let abbreviation = local.offset().to_string();
    let name = if abbreviation.starts_with(['+', '-']) || abbreviation == "UTC" && offset == "+00:00" {
        String::new()
    } else {
        format!("{abbreviation} ")
    };
    format!("{} {name}(UTC{offset})", local.format("%Y-%m-%d %H:%M"))
}

/// A time in UTC: `2026-03-04 09:00 UTC`.
pub fn in_utc(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A duration as days and hours (or hours and minutes when short).
pub fn age(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (days, hours, minutes) = (seconds / 86_400, seconds % 86_400 / 3600, seconds % 3600 / 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else {
        format!("{hours}h {minutes}m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_name_their_zone() {
        let at: DateTime<Utc> = "2026-03-04T09:00:00Z".parse().unwrap();
        assert_eq!(in_zone(at, &chrono_tz::Asia::Shanghai), "2026-03-04 17:00 CST (UTC+08:00)");
        assert_eq!(in_zone(at, &chrono_tz::UTC), "2026-03-04 09:00 (UTC+00:00)");
        assert_eq!(in_zone(at, &chrono::FixedOffset::east_opt(8 * 3600).unwrap()), "2026-03-04 17:00 (UTC+08:00)");
        assert_eq!(in_utc(at), "2026-03-04 09:00 UTC");
    }

    #[test]
    fn ages_read_as_days_and_hours() {
        assert_eq!(age(3 * 86_400 + 5 * 3600 + 59), "3d 5h");
        assert_eq!(age(2 * 3600 + 7 * 60), "2h 7m");
        assert_eq!(age(-5), "0h 0m");
    }

    #[test]
    fn cookies_are_http_only_and_strict() {
        let secure = set_cookie("a", "b", 60, true);
        assert_eq!(secure.to_str().unwrap(), "a=b; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure");
        assert!(!set_cookie("a", "b", 60, false).to_str().unwrap().contains("Secure"));
    }
}
