//! The web pages over plain HTTP: security headers, cookie flags, CSRF,
//! the shared failed-authentication limit, SSO, status links (minting,
//! signing, expiry) and the 404s.

use reqwest::header::{HeaderMap, CONTENT_SECURITY_POLICY, SET_COOKIE};
use reqwest::{redirect, Client, StatusCode};
use serde_json::{json, Value};
use withdrawal_tracker::config::{ConsoleConfig, Secret};

use crate::support::app::{
    expect_error, withdrawal, Backend, TestApp, INGEST_TOKEN, STATUS_LINK_SECRET, SUPPORT_TOKEN,
};
use crate::support::escalation::{sweep_at, webhook, OVERDUE};
use crate::support::fakes::{Mode, WebhookReceiver};

fn no_redirects() -> Client {
    Client::builder().redirect(redirect::Policy::none()).build().unwrap()
}

fn cookies(headers: &HeaderMap) -> Vec<String> {
    headers.get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect()
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    cookies(headers)
        .iter()
        .find_map(|c| c.strip_prefix(&format!("{name}=")).map(|rest| rest.split(';').next().unwrap().to_owned()))
}

/// The value of `<input ... name="NAME" value="...">` in a page.
fn hidden(page: &str, name: &str) -> String {
    let at = page.find(&format!("name=\"{name}\" value=\"")).unwrap_or_else(|| panic!("no {name} in {page}"));
    let rest = &page[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// A signed-in session: (cookie header, CSRF token of its forms).
async fn sign_in(app: &TestApp, client: &Client) -> (String, String) {
    let form = client.get(app.url("/console/login")).send().await.unwrap();
    let nonce = cookie_value(form.headers(), "wt_console_login").unwrap();
    let csrf = hidden(&form.text().await.unwrap(), "csrf");
    let answer = client
        .post(app.url("/console/login"))
        .header("cookie", format!("wt_console_login={nonce}"))
        .form(&[("token", SUPPORT_TOKEN), ("csrf", csrf.as_str()), ("next", "/console")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let session = format!("wt_console={}", cookie_value(answer.headers(), "wt_console").unwrap());
    let page = client.get(app.url("/console")).header("cookie", &session).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csrf = hidden(&page.text().await.unwrap(), "csrf");
    (session, csrf)
}

fn assert_secure_headers(headers: &HeaderMap, what: &str) {
    let csp = headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
    for part in ["default-src 'none'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"] {
        assert!(csp.contains(part), "{what}: {csp}");
    }
    assert!(!csp.contains("unsafe") && !csp.contains("script-src") && !csp.contains("http"), "{what}: {csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(headers["referrer-policy"], "no-referrer", "{what}");
}

#[tokio::test]
async fn every_web_answer_carries_the_security_headers() {
    let app = TestApp::memory().await;
    app.register(&withdrawal("w-1", json!({}))).await;
    let client = no_redirects();
    let (session, _) = sign_in(&app, &client).await;
    let link = mint(&app, INGEST_TOKEN, json!({ "withdrawal_id": "w-1" })).await["path"].as_str().unwrap().to_owned();
    for (path, cookie, status) in [
        ("/console", "", StatusCode::UNAUTHORIZED),
        ("/console/login", "", StatusCode::OK),
        ("/console", session.as_str(), StatusCode::OK),
        ("/console/withdrawals/w-1", session.as_str(), StatusCode::OK),
        ("/console/withdrawals/w-none", session.as_str(), StatusCode::NOT_FOUND),
        ("/console/networks", session.as_str(), StatusCode::OK),
        ("/console/overdue.csv", session.as_str(), StatusCode::OK),
        (link.as_str(), "", StatusCode::OK),
        ("/status/not-a-link", "", StatusCode::NOT_FOUND),
        ("/assets/web.css", "", StatusCode::OK),
    ] {
        let response = client.get(app.url(path)).header("cookie", cookie).send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        assert_secure_headers(response.headers(), path);
    }
    let reloading =
        client.get(app.url("/console?every=60&network=TRX")).header("cookie", &session).send().await.unwrap();
    let reloading = reloading.text().await.unwrap();
    assert!(reloading.contains("<meta http-equiv=\"refresh\" content=\"60\">"), "reloads itself, filters kept");
    let page = client.get(app.url(&link)).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("<script") && !page.contains("style=") && !page.contains(" on"), "nothing inline");
}

#[tokio::test]
async fn the_session_cookie_is_http_only_strict_signed_and_secure_unless_configured() {
    for plain_http in [true, false] {
        let app = TestApp::spawn_with(Backend::Memory, |c| c.console.as_mut().unwrap().plain_http = plain_http).await;
        let client = no_redirects();
        let form = client.get(app.url("/console/login")).send().await.unwrap();
        let login_cookie = cookies(form.headers()).join("\n");
        assert!(login_cookie.contains("HttpOnly") && login_cookie.contains("SameSite=Strict"), "{login_cookie}");
        let nonce = cookie_value(form.headers(), "wt_console_login").unwrap();
        let csrf = hidden(&form.text().await.unwrap(), "csrf");
        let answer = client
            .post(app.url("/console/login"))
            .header("cookie", format!("wt_console_login={nonce}"))
            .form(&[("token", SUPPORT_TOKEN), ("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        assert_eq!(answer.headers()["location"], "/console");
        let set = cookies(answer.headers()).into_iter().find(|c| c.starts_with("wt_console=")).unwrap();
        assert!(
            set.contains("; HttpOnly") && set.contains("; SameSite=Strict") && set.contains("Max-Age=28800"),
            "{set}"
        );
        assert_eq!(set.contains("; Secure"), !plain_http, "{set}");
        assert!(!set.contains(SUPPORT_TOKEN), "the cookie holds no token");
        let value = cookie_value(answer.headers(), "wt_console").unwrap();
        let ok = client.get(app.url("/console")).header("cookie", format!("wt_console={value}")).send().await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        // Changed by one character: not signed in.
        let mut forged = value.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == 'A' { 'B' } else { 'A' });
        let refused =
            client.get(app.url("/console")).header("cookie", format!("wt_console={forged}")).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        // Expired: the session lasts console.session_ttl (8h by default) on the service's clock.
        app.clock.set(app.clock_now() + chrono::Duration::hours(8));
        let expired =
            client.get(app.url("/console")).header("cookie", format!("wt_console={value}")).send().await.unwrap();
        assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
        let form = expired.text().await.unwrap();
        assert!(form.contains("id=\"token\"") && form.contains("name=\"next\" value=\"/console\""), "{form}");
    }
}

#[tokio::test]
async fn state_changing_forms_without_their_csrf_token_are_refused() {
    let receiver = WebhookReceiver::start().await;
    receiver.set_mode(Mode::Rejecting);
    let app = TestApp::spawn_with(Backend::Memory, webhook(&receiver.url)).await;
    app.register(&withdrawal("w-1", json!({}))).await;
    sweep_at(&app, OVERDUE).await;
    let client = no_redirects();
    let (session, csrf) = sign_in(&app, &client).await;
    let other_session_csrf = sign_in(&app, &client).await.1;
    for (path, form) in [
        ("/console/withdrawals/w-1/retry", vec![]),
        ("/console/withdrawals/w-1/retry", vec![("csrf", "forged")]),
        ("/console/withdrawals/w-1/retry", vec![("csrf", other_session_csrf.as_str())]),
        ("/console/withdrawals/w-1/resolve", vec![]),
        ("/console/logout", vec![]),
    ] {
        let refused = client.post(app.url(path)).header("cookie", &session).form(&form).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path} {form:?}");
        assert!(refused.text().await.unwrap().contains("reload the page"));
    }
    let page: Value = app.get_as("/v1/tickets?status=dead", SUPPORT_TOKEN).await.json().await.unwrap();
    assert_eq!(page["items"][0]["deliveries"][0]["status"], "dead", "nothing was retried");
    // Without a session at all: to the sign-in page.
    let anonymous =
        client.post(app.url("/console/withdrawals/w-1/retry")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    // A sign-in form without its token, or with another browser's: refused.
    let no_token = client.post(app.url("/console/login")).form(&[("token", SUPPORT_TOKEN)]).send().await.unwrap();
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);
    // With it: done, and back on the withdrawal's page.
    let done = client
        .post(app.url("/console/withdrawals/w-1/retry"))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(done.headers()["location"], "/console/withdrawals/w-1?done=retried");
    let again = client
        .post(app.url("/console/withdrawals/w-1/retry"))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT, "nothing left to retry");
}

#[tokio::test]
async fn failed_sign_ins_count_against_the_per_ip_limit_of_failed_authentications() {
    let app = TestApp::spawn_with(Backend::Memory, |c| c.rate_limit.failed_auth_per_ip_per_minute = 3).await;
    let client = no_redirects();
    let wrong = || async {
        let form = client.get(app.url("/console/login")).send().await.unwrap();
        let nonce = cookie_value(form.headers(), "wt_console_login").unwrap();
        let csrf = hidden(&form.text().await.unwrap(), "csrf");
        client
            .post(app.url("/console/login"))
            .header("cookie", format!("wt_console_login={nonce}"))
            .form(&[("token", "wrong-token-0123456789"), ("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap()
    };
    for _ in 0..2 {
        assert_eq!(wrong().await.status(), StatusCode::UNAUTHORIZED);
    }
    // The API's failures count too.
    let api = app.get_as("/v1/withdrawals/w-1", "wrong-token-0123456789").await;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    let limited = wrong().await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key("retry-after"));
    expect_error(app.get_as("/v1/withdrawals/w-1", SUPPORT_TOKEN).await, StatusCode::TOO_MANY_REQUESTS, "rate_limited")
        .await;
}

#[tokio::test]
async fn an_sso_proxy_signs_people_in_only_from_its_own_address() {
    for (proxies, signed_in) in [(vec!["127.0.0.1".to_owned()], true), (vec!["192.0.2.7".to_owned()], false)] {
        let app = TestApp::spawn_with(Backend::Memory, |c| {
            let console = c.console.as_mut().unwrap();
            console.sso_header = Some("X-Forwarded-Email".to_owned());
            console.trusted_proxies = proxies.clone();
        })
        .await;
        let page = no_redirects()
            .get(app.url("/console"))
            .header("x-forwarded-email", "ann@example.com")
            .send()
            .await
            .unwrap();
        if signed_in {
            assert_eq!(page.status(), StatusCode::OK);
            assert!(page.text().await.unwrap().contains("<b id=\"who\">ann@example.com</b>"));
        } else {
            assert_eq!(page.status(), StatusCode::UNAUTHORIZED, "a header from an untrusted address is ignored");
        }
    }
}

async fn mint(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app.post_json("/v1/status-links", token, &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

#[tokio::test]
async fn status_links_name_one_withdrawal_expire_and_refuse_tampering() {
    let app = TestApp::memory().await;
    app.register(&withdrawal("w-1", json!({}))).await;
    for token in [INGEST_TOKEN, SUPPORT_TOKEN] {
        let minted = mint(&app, token, json!({ "withdrawal_id": "w-1" })).await;
        assert_eq!(minted["expires_at"], "2026-03-09T10:00:00Z", "7 days by default");
        assert!(minted["path"].as_str().unwrap().starts_with("/status/"));
    }
    let minted =
        mint(&app, INGEST_TOKEN, json!({ "withdrawal_id": "w-1", "ttl": "1h", "time_zone": "America/New_York" })).await;
    assert_eq!(minted["expires_at"], "2026-03-02T11:00:00Z");
    let path = minted["path"].as_str().unwrap().to_owned();
    let page = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let text = page.text().await.unwrap();
    assert!(text.contains("America/New_York") && text.contains("EST (UTC-05:00)"), "{text}");
    assert!(!text.contains("alice"), "no user id");

    // Each byte changed: the plain 404 page.
    let link = path.trim_start_matches("/status/");
    for at in [0, link.len() / 2, link.len() - 1] {
        let mut bytes = link.as_bytes().to_vec();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        let tampered =
            app.client.get(app.url(&format!("/status/{}", String::from_utf8(bytes).unwrap()))).send().await.unwrap();
        assert_eq!(tampered.status(), StatusCode::NOT_FOUND);
        assert!(tampered.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    }
    // Signed with another secret: 404.
    let other = withdrawal_tracker::web::status::mint_offline(
        "another-secret-0123456789abcdefghijkl",
        &withdrawal_tracker::domain::WithdrawalId::parse("w-1").unwrap(),
        "2026-03-09T00:00:00Z".parse().unwrap(),
        None,
    );
    assert_eq!(app.client.get(app.url(&other)).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    // The same secret, offline (the CLI's mint): works.
    let offline = withdrawal_tracker::web::status::mint_offline(
        STATUS_LINK_SECRET,
        &withdrawal_tracker::domain::WithdrawalId::parse("w-1").unwrap(),
        "2026-03-09T00:00:00Z".parse().unwrap(),
        None,
    );
    assert_eq!(app.client.get(app.url(&offline)).send().await.unwrap().status(), StatusCode::OK);
    // Expired.
    app.clock.set(app.clock_now() + chrono::Duration::hours(1));
    assert_eq!(app.client.get(app.url(&path)).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn minting_refuses_users_unknown_withdrawals_and_bad_fields() {
    let app = TestApp::memory().await;
    app.register(&withdrawal("w-1", json!({}))).await;
    let user = app.user_token("alice");
    expect_error(
        app.post_json("/v1/status-links", &user, &json!({ "withdrawal_id": "w-1" })).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_error(
        app.post_json("/v1/status-links", "not-a-token-0123456789", &json!({})).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    expect_error(
        app.post_json("/v1/status-links", INGEST_TOKEN, &json!({ "withdrawal_id": "w-none" })).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    for (body, field) in [
        (json!({}), "withdrawal_id"),
        (json!({ "withdrawal_id": "w 1" }), "withdrawal_id"),
        (json!({ "withdrawal_id": "w-1", "ttl": "8d" }), "ttl"),
        (json!({ "withdrawal_id": "w-1", "ttl": "soon" }), "ttl"),
        (json!({ "withdrawal_id": "w-1", "time_zone": "Mars/Olympus" }), "time_zone"),
    ] {
        let refused = expect_error(
            app.post_json("/v1/status-links", INGEST_TOKEN, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        )
        .await;
        assert_eq!(refused["error"]["field"], field, "{body}");
    }
    expect_error(
        app.post_json("/v1/status-links", INGEST_TOKEN, &json!({ "withdrawal_id": "w-1", "user_id": "alice" })).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
}

#[tokio::test]
async fn without_a_console_section_the_pages_are_not_there() {
    let app = TestApp::spawn_with(Backend::Memory, |c| c.console = None).await;
    for path in ["/console", "/console/login", "/status/anything"] {
        let response = no_redirects().get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    expect_error(
        app.post_json("/v1/status-links", INGEST_TOKEN, &json!({ "withdrawal_id": "w-1" })).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[test]
fn console_settings_name_each_bad_key() {
    let mut config = crate::support::app::test_config(None, "wt");
    config.listen = "0.0.0.0:8080".to_owned();
    config.console = Some(ConsoleConfig {
        session_secret: Secret::from("short"),
        status_link_secret: Secret::from("short"),
        session_ttl: withdrawal_tracker::config::HumanDuration(std::time::Duration::from_secs(1)),
        status_link_ttl: withdrawal_tracker::config::HumanDuration(std::time::Duration::from_secs(86_400 * 365)),
        plain_http: true,
        support_time_zone: Some("Moon/Base".to_owned()),
        sso_header: Some("X Bad".to_owned()),
        trusted_proxies: vec!["not-an-ip".to_owned()],
    });
    let errors = config.settings().unwrap_err();
    let keys = errors.keys();
    for key in [
        "console.session_secret",
        "console.status_link_secret",
        "console.session_ttl",
        "console.status_link_ttl",
        "console.plain_http",
        "console.support_time_zone",
        "console.sso_header",
        "console.trusted_proxies[0]",
    ] {
        assert!(keys.contains(&key), "{key} not in {keys:?}");
    }
}

#[test]
fn the_dev_config_serves_the_console_over_plain_http_on_loopback() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/dev.toml");
    let settings = withdrawal_tracker::config::Config::load(Some(std::path::Path::new(path))).unwrap();
    let console = settings.console.expect("the dev config has a [console]");
    assert!(console.plain_http && settings.listen.ip().is_loopback());
    assert_eq!(console.support_time_zone.name(), "Asia/Shanghai");
}

#[tokio::test]
async fn the_cli_mints_links_the_service_opens() {
    let app = TestApp::memory().await;
    app.register(&withdrawal("w-1", json!({}))).await;
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        format!(
            "[auth]\nuser_jwt_secret = \"{}\"\n[console]\nsession_secret = \"{}\"\nstatus_link_secret = \"{STATUS_LINK_SECRET}\"\n",
            crate::support::app::JWT_SECRET,
            crate::support::app::CONSOLE_SESSION_SECRET,
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_withdrawal-tracker"))
            .args(args)
            .args(["--config", config.path().to_str().unwrap()])
            .env_remove("TRACKER_CONFIG")
            .env_remove("TRACKER_STATUS_LINK_SECRET")
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).trim().to_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, path, _) = run(&["mint-status-link", "--withdrawal", "w-1", "--ttl", "3d", "--time-zone", "Asia/Tokyo"]);
    assert_eq!(code, Some(0));
    assert!(path.starts_with("/status/"), "{path}");
    let page = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Asia/Tokyo"));
    for (args, complaint) in [
        (vec!["mint-status-link"], "--withdrawal"),
        (vec!["mint-status-link", "--withdrawal", "w 1"], "--withdrawal"),
        (vec!["mint-status-link", "--withdrawal", "w-1", "--ttl", "30d"], "--ttl"),
        (vec!["mint-status-link", "--withdrawal", "w-1", "--time-zone", "Nowhere"], "--time-zone"),
    ] {
        let (code, _, stderr) = run(&args);
        assert_eq!(code, Some(2), "{args:?}");
        assert!(stderr.contains(complaint), "{args:?}: {stderr}");
    }
}

/// The overdue list filters by the arrival estimate's delay reason and shows
/// it; the status page gives the estimate and the reason (issue 15 on the
/// pages of issue 17).
#[tokio::test]
async fn the_console_filters_by_delay_reason_and_the_status_page_tells_why_and_when() {
    let app = TestApp::memory().await;
    for id in ["w-1", "w-2"] {
        app.register(&withdrawal(id, json!({}))).await;
    }
    sweep_at(&app, OVERDUE).await;
    let client = no_redirects();
    let (session, _) = sign_in(&app, &client).await;
    let list = |query: &'static str| {
        let (client, session) = (client.clone(), session.clone());
        let url = app.url(&format!("/console?{query}"));
        async move { client.get(url).header("cookie", session).send().await.unwrap() }
    };
    let waiting = list("delay=awaiting_send").await;
    assert_eq!(waiting.status(), StatusCode::OK);
    let page = waiting.text().await.unwrap();
    for id in ["w-1", "w-2"] {
        assert!(page.contains(&format!("data-id=\"{id}\"")), "{id} is waiting to be sent: {page}");
    }
    assert!(page.contains("<td class=\"delay\">awaiting_send</td>"), "the reason is shown");
    assert!(page.contains("<option value=\"awaiting_send\" selected>"), "the filter is kept");
    let low_fee = list("delay=low_fee").await.text().await.unwrap();
    assert!(!low_fee.contains("data-id=\"w-1\"") && !low_fee.contains("data-id=\"w-2\""), "{low_fee}");
    assert_eq!(list("delay=sunspots").await.status(), StatusCode::BAD_REQUEST);

    let minted = mint(&app, INGEST_TOKEN, json!({ "withdrawal_id": "w-1" })).await;
    let page = app.client.get(app.url(minted["path"].as_str().unwrap())).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"likely-by\""), "the arrival estimate: {page}");
    assert!(page.contains("id=\"delay\""), "why it is late: {page}");
}

/// Support declares and ends maintenance from the networks page, with its
/// CSRF token, as the signed-in person; the API shows the same status.
#[tokio::test]
async fn the_networks_page_shows_each_status_and_declares_and_ends_maintenance() {
    let app = TestApp::memory().await;
    let client = no_redirects();
    let (session, csrf) = sign_in(&app, &client).await;
    let post = |path: &'static str, fields: Vec<(&'static str, &'static str)>, csrf: Option<String>| {
        let (client, session) = (client.clone(), session.clone());
        let url = app.url(path);
        async move {
            let mut fields: Vec<(&str, String)> = fields.into_iter().map(|(k, v)| (k, v.to_owned())).collect();
            if let Some(csrf) = csrf {
                fields.push(("csrf", csrf));
            }
            client.post(url).header("cookie", session).form(&fields).send().await.unwrap()
        }
    };
    let declaration = vec![
        ("network", "TRX"),
        ("reason_en", "network upgrade"),
        ("reason_zh", "网络升级"),
        ("expected_end", "2026-03-02T14:00:00Z"),
        ("suspends_withdrawals", "on"),
    ];
    let forged = post("/console/networks/maintenance", declaration.clone(), None).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "no CSRF token");
    let declared = post("/console/networks/maintenance", declaration, Some(csrf.clone())).await;
    assert_eq!(declared.status(), StatusCode::SEE_OTHER);
    assert_eq!(declared.headers()["location"], "/console/networks?done=declared");

    let status: Value = app.get_as("/v1/networks/status", SUPPORT_TOKEN).await.json().await.unwrap();
    let trx = status["networks"].as_array().unwrap().iter().find(|n| n["network"] == "TRX").unwrap().clone();
    assert_eq!(trx["status"], "maintenance");
    assert_eq!(trx["maintenance"]["declared_by"], "support token", "{trx}");
    assert_eq!(trx["maintenance"]["suspends_withdrawals"], true);
    let page = client.get(app.url("/console/networks")).header("cookie", &session).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains(r#"data-network="TRX" data-status="maintenance""#), "{page}");
    assert!(page.contains("network upgrade") && page.contains("class=\"end-maintenance\""), "{page}");

    let bad = post("/console/networks/maintenance", vec![("network", "TRX"), ("reason_en", "x")], Some(csrf.clone()));
    assert_eq!(bad.await.status(), StatusCode::BAD_REQUEST, "no Chinese reason");
    let ended = post("/console/networks/maintenance/end", vec![("network", "TRX")], Some(csrf.clone())).await;
    assert_eq!(ended.status(), StatusCode::SEE_OTHER);
    let status: Value = app.get_as("/v1/networks/status", SUPPORT_TOKEN).await.json().await.unwrap();
    assert_eq!(
        status["networks"].as_array().unwrap().iter().find(|n| n["network"] == "TRX").unwrap()["status"],
        "operational"
    );
    let again = post("/console/networks/maintenance/end", vec![("network", "TRX")], Some(csrf.clone())).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST, "not in maintenance");

    // An incident opened and closed from the same page.
    let incident = vec![("network", "ETH"), ("reason_en", "hot wallet refill"), ("reason_zh", "热钱包补充")];
    let forged = post("/console/networks/incidents", incident.clone(), None).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "no CSRF token");
    let opened = post("/console/networks/incidents", incident.clone(), Some(csrf.clone())).await;
    assert_eq!(opened.headers()["location"], "/console/networks?done=incident_opened");
    let twice = post("/console/networks/incidents", incident, Some(csrf.clone())).await;
    assert_eq!(twice.status(), StatusCode::BAD_REQUEST, "one open incident per network");
    let page = client.get(app.url("/console/networks")).header("cookie", &session).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(
        page.contains(r#"data-incident="ETH-20260302T100000Z""#) && page.contains("class=\"close-incident\""),
        "{page}"
    );
    let listed: Value = app.get_as("/v1/networks/ETH/incidents", SUPPORT_TOKEN).await.json().await.unwrap();
    assert_eq!(listed["incidents"][0]["opened_by"], "support token");
    let closed = post("/console/networks/incidents/close", vec![("network", "ETH")], Some(csrf.clone())).await;
    assert_eq!(closed.headers()["location"], "/console/networks?done=incident_closed");
    let listed: Value = app.get_as("/v1/networks/ETH/incidents", SUPPORT_TOKEN).await.json().await.unwrap();
    assert_eq!(listed["incidents"][0]["status"], "closed");
    let again = post("/console/networks/incidents/close", vec![("network", "ETH")], Some(csrf)).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST, "none open");
}
