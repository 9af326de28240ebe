//! The console and the status page in a real browser: headless Chromium over
//! WebDriver (`support/browser.rs`), against the real server. Saves the
//! screenshots shown in the README (`docs/screenshots/`).

use std::collections::BTreeSet;

use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::{json, Value};
use withdrawal_tracker::domain::observation::{NetworkRules, Observation};
use withdrawal_tracker::domain::onchain::BlockRef;
use withdrawal_tracker::domain::{Network, WithdrawalId};
use withdrawal_tracker::service::ChainPort;

use crate::support::app::{tron_hash, withdrawal, Backend, TestApp, INGEST_TOKEN, SUPPORT_TOKEN};
use crate::support::browser::{exclusive, Browser};
use crate::support::escalation::{sweep_at, webhook, OVERDUE};
use crate::support::fakes::{Mode, WebhookReceiver};

const EOS_ACCOUNT: &str = "binancecold1";

/// What must never run: each part would set the title or a global.
pub const XSS_MEMO: &str = "<script>document.title='pwned';window.__xss=1</script>\
     <img src=x onerror=\"window.__xss=2;document.title='pwned'\"><svg onload=\"window.__xss=3\"></svg>\"'&";

async fn css(browser: &Browser, selector: &str) -> fantoccini::elements::Element {
    browser.client.find(Locator::Css(selector)).await.unwrap_or_else(|e| panic!("{selector}: {e}"))
}

async fn texts(browser: &Browser, selector: &str) -> Vec<String> {
    let mut found = Vec::new();
    for element in browser.client.find_all(Locator::Css(selector)).await.unwrap() {
        found.push(element.text().await.unwrap());
    }
    found
}

async fn path(browser: &Browser) -> String {
    let url = browser.client.current_url().await.unwrap();
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

/// Clicks `selector`, which loads another page, and waits until that page
/// is the document: WebDriver's click can return before a form's or a
/// link's navigation has finished, and a read right after would see the
/// page before.
async fn click_to_load(browser: &Browser, selector: &str) {
    let element = css(browser, selector).await;
    browser.client.execute("window.__loaded_before_click = true;", vec![]).await.unwrap();
    element.click().await.unwrap();
    let probe = "return window.__loaded_before_click === true ? 'before' : document.readyState;";
    for _ in 0..200 {
        // A navigation in progress can refuse the script: ask again.
        if let Ok(state) = browser.client.execute(probe, vec![]).await {
            if state == "complete" {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("clicking {selector} loaded no new page within 10 s");
}

async fn row_ids(browser: &Browser) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for row in browser.client.find_all(Locator::Css("#list tr.row")).await.unwrap() {
        ids.insert(row.attr("data-id").await.unwrap().unwrap());
    }
    ids
}

/// Three overdue withdrawals (two on TRON, one on EOS) whose ticket
/// deliveries died at a rejecting webhook.
async fn overdue_with_dead_tickets() -> (TestApp, WebhookReceiver) {
    let receiver = WebhookReceiver::start().await;
    receiver.set_mode(Mode::Rejecting);
    let app = TestApp::spawn_with(Backend::Memory, |config| {
        webhook(&receiver.url)(config);
        config.console.as_mut().unwrap().support_time_zone = Some("Asia/Shanghai".to_owned());
    })
    .await;
    for (id, amount) in [("w-trx-1", "25.50"), ("w-trx-2", "1000")] {
        let created = app.register(&withdrawal(id, json!({ "amount": amount }))).await;
        assert_eq!(created.status(), StatusCode::CREATED);
    }
    let eos = withdrawal(
        "w-eos-1",
        json!({ "network": "EOS", "coin": "EOS", "address": EOS_ACCOUNT, "memo": "deposit-7", "amount": "7.25" }),
    );
    assert_eq!(app.register(&eos).await.status(), StatusCode::CREATED);
    sweep_at(&app, OVERDUE).await;
    receiver.set_mode(Mode::Normal);
    (app, receiver)
}

async fn sign_in(browser: &Browser, app: &TestApp, token: &str) {
    css(browser, "#token").await.send_keys(token).await.unwrap();
    click_to_load(browser, "#sign-in").await;
    let _ = app;
}

#[tokio::test]
async fn support_signs_in_filters_downloads_opens_retries_switches_language_and_signs_out() {
    let _one = exclusive().await;
    let (app, _receiver) = overdue_with_dead_tickets().await;
    let browser = Browser::start(1280, 1000).await;

    // Not signed in: the sign-in form, which refuses a wrong token.
    browser.client.goto(&app.url("/console")).await.unwrap();
    assert_eq!(path(&browser).await, "/console");
    assert_eq!(css(&browser, "h1").await.text().await.unwrap(), "Sign in");
    sign_in(&browser, &app, "not-the-support-token-0123").await;
    assert_eq!(css(&browser, "#problem").await.text().await.unwrap(), "That is not a support token.");
    sign_in(&browser, &app, INGEST_TOKEN).await;
    assert!(browser.client.find(Locator::Css("#problem")).await.is_ok(), "an ingest token is not a support token");
    sign_in(&browser, &app, SUPPORT_TOKEN).await;
    assert_eq!(path(&browser).await, "/console");
    assert_eq!(css(&browser, "#who").await.text().await.unwrap(), "support token");

    // The overdue list and the chart, worst network first.
    assert_eq!(row_ids(&browser).await, BTreeSet::from(["w-trx-1".into(), "w-trx-2".into(), "w-eos-1".into()]));
    let mut bars = Vec::new();
    for bar in browser.client.find_all(Locator::Css("#chart g.bar")).await.unwrap() {
        bars.push(bar.attr("data-network").await.unwrap().unwrap());
    }
    assert_eq!(bars, ["TRX", "EOS"]);
    browser.screenshot("console-list").await;

    // Filter by network and amount; the form keeps what was chosen.
    css(&browser, "#f-network").await.select_by_value("TRX").await.unwrap();
    css(&browser, "#f-sort").await.select_by_value("amount_desc").await.unwrap();
    click_to_load(&browser, "#apply").await;
    assert!(path(&browser).await.contains("network=TRX"), "{}", path(&browser).await);
    assert_eq!(row_ids(&browser).await, BTreeSet::from(["w-trx-1".into(), "w-trx-2".into()]));
    let mut order = Vec::new();
    for row in browser.client.find_all(Locator::Css("#list tr.row")).await.unwrap() {
        order.push(row.attr("data-id").await.unwrap().unwrap());
    }
    assert_eq!(order, ["w-trx-2", "w-trx-1"], "largest amount first");
    css(&browser, "#f-min-amount").await.send_keys("100").await.unwrap();
    click_to_load(&browser, "#apply").await;
    assert_eq!(row_ids(&browser).await, BTreeSet::from(["w-trx-2".into()]));

    // The CSV link, fetched with the browser's session cookie, holds exactly the filtered rows.
    let csv_href = css(&browser, "#csv").await.attr("href").await.unwrap().unwrap();
    assert!(csv_href.contains("network=TRX") && csv_href.contains("min_amount=100"), "{csv_href}");
    let session = browser.client.get_named_cookie("wt_console").await.unwrap();
    assert!(session.http_only().unwrap_or(false), "the session cookie is HttpOnly");
    let csv = app
        .client
        .get(app.url(&csv_href))
        .header("cookie", format!("wt_console={}", session.value()))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let body = csv.text().await.unwrap();
    let ids: Vec<&str> = body.lines().skip(1).map(|line| line.split(',').next().unwrap()).collect();
    assert_eq!(ids, ["w-trx-2"], "{body}");

    // Refresh keeps the filters.
    click_to_load(&browser, "#refresh").await;
    assert!(path(&browser).await.contains("min_amount=100"));
    assert_eq!(row_ids(&browser).await, BTreeSet::from(["w-trx-2".into()]));

    // A withdrawal's page: its ticket's delivery is dead; retry it behind a confirmation.
    click_to_load(&browser, "#list a[href='/console/withdrawals/w-trx-2']").await;
    assert_eq!(css(&browser, "#withdrawal-id").await.text().await.unwrap(), "w-trx-2");
    assert_eq!(texts(&browser, "#deliveries tr.dead .delivery-status").await, ["dead"]);
    assert!(css(&browser, "#history").await.text().await.unwrap().contains("pending"));
    assert!(
        css(&browser, ".sla").await.text().await.unwrap().contains("2026-03-04 17:00 CST (UTC+08:00)"),
        "support's zone"
    );
    browser.client.set_window_size(1280, 1700).await.unwrap();
    browser.screenshot("console-withdrawal").await;
    browser.client.set_window_size(1280, 1000).await.unwrap();
    click_to_load(&browser, "#retry").await;
    assert!(css(&browser, "#question").await.text().await.unwrap().contains("again"));
    click_to_load(&browser, "#confirm").await;
    assert_eq!(path(&browser).await, "/console/withdrawals/w-trx-2?done=retried");
    assert!(css(&browser, "#notice").await.text().await.unwrap().contains("sent again"));
    assert!(texts(&browser, "#deliveries tr.dead").await.is_empty(), "no dead delivery left");
    let tickets: Value = app.get_as("/v1/tickets?status=open", SUPPORT_TOKEN).await.json().await.unwrap();
    let retried = tickets["items"].as_array().unwrap().iter().find(|t| t["withdrawal_id"] == "w-trx-2").unwrap();
    assert_ne!(retried["deliveries"][0]["status"], "dead", "{retried}");

    // Switch language; the choice sticks on the next page.
    click_to_load(&browser, "#lang-zh").await;
    let lang = browser.client.execute("return document.documentElement.lang", vec![]).await.unwrap();
    assert_eq!(lang, "zh-CN");
    assert!(css(&browser, "h1").await.text().await.unwrap().starts_with("提现"));
    browser.client.goto(&app.url("/console")).await.unwrap();
    assert_eq!(css(&browser, "h1").await.text().await.unwrap(), "逾期与有逾期风险的提现");
    click_to_load(&browser, "#lang-en").await;
    assert_eq!(css(&browser, "h1").await.text().await.unwrap(), "Overdue and at-risk withdrawals");

    // Search by user id, then sign out: the console asks to sign in again.
    browser.client.goto(&app.url("/console/search?q=alice")).await.unwrap();
    let mut found = BTreeSet::new();
    for row in browser.client.find_all(Locator::Css("#results tr.row")).await.unwrap() {
        found.insert(row.attr("data-id").await.unwrap().unwrap());
    }
    assert_eq!(found, BTreeSet::from(["w-trx-1".into(), "w-trx-2".into(), "w-eos-1".into()]));
    click_to_load(&browser, "#sign-out").await;
    assert_eq!(css(&browser, "#message").await.text().await.unwrap(), "You are signed out.");
    browser.client.goto(&app.url("/console/withdrawals/w-trx-2")).await.unwrap();
    assert_eq!(css(&browser, "h1").await.text().await.unwrap(), "Sign in");
    assert!(browser.client.find(Locator::Css("#withdrawal-id")).await.is_err(), "nothing of the withdrawal");
    browser.close().await;
}

/// A TRON withdrawal in a block, 5 of 19 confirmations.
async fn confirming(app: &TestApp, id: &str) {
    let body = withdrawal(id, json!({ "tx_hash": tron_hash("ab") }));
    assert_eq!(app.register(&body).await.status(), StatusCode::CREATED);
    let trx = Network::parse("TRX").unwrap();
    let port =
        ChainPort::new(app.service.clone(), trx, NetworkRules { required_confirmations: 19, ..Default::default() });
    let block = BlockRef { height: 100, hash: "cd".repeat(32) };
    port.observe(&WithdrawalId::parse(id).unwrap(), &Observation::InBlock { block, tip: 104 }).await.unwrap();
}

async fn mint(app: &TestApp, body: Value) -> String {
    let minted = app.post_json("/v1/status-links", INGEST_TOKEN, &body).await;
    assert_eq!(minted.status(), StatusCode::CREATED);
    let minted: Value = minted.json().await.unwrap();
    minted["path"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_status_page_fits_a_phone_and_works_without_javascript() {
    let _one = exclusive().await;
    let app = TestApp::memory().await;
    confirming(&app, "w-phone").await;
    let link = mint(&app, json!({ "withdrawal_id": "w-phone", "time_zone": "Europe/Berlin" })).await;

    let phone = Browser::phone(390, 844, &[]).await;
    phone.client.goto(&app.url(&link)).await.unwrap();
    assert_eq!(css(&phone, "#state").await.text().await.unwrap(), "confirming");
    let progress = css(&phone, "progress#confirmations").await;
    assert_eq!(progress.attr("value").await.unwrap().as_deref(), Some("5"));
    assert_eq!(progress.attr("max").await.unwrap().as_deref(), Some("19"));
    let expected = css(&phone, "#expected-by").await.text().await.unwrap();
    assert_eq!(expected, "2026-03-04 10:00 CET (UTC+01:00)", "the SLA promise in the user's zone");
    assert!(css(&phone, "#explorer").await.attr("href").await.unwrap().unwrap().starts_with("https://tronscan.org/"));
    let page_text = css(&phone, "main").await.text().await.unwrap();
    assert!(!page_text.contains("alice"), "no user id on the page");
    let fits =
        phone.client.execute("return document.documentElement.scrollWidth <= window.innerWidth", vec![]).await.unwrap();
    assert_eq!(fits, Value::Bool(true), "no sideways scrolling on a phone");
    let width = phone.client.execute("return window.innerWidth", vec![]).await.unwrap();
    assert_eq!(width, json!(390), "a phone's width");
    phone.screenshot("status-phone").await;
    phone.close().await;

    // Without JavaScript the page says the same (in Chinese: UTC+8 without a zone in the link).
    let zh_link = mint(&app, json!({ "withdrawal_id": "w-phone" })).await;
    let no_script = Browser::phone(390, 844, &["--blink-settings=scriptEnabled=false"]).await;
    no_script.client.goto(&app.url(&format!("{zh_link}?lang=zh"))).await.unwrap();
    assert_eq!(css(&no_script, "#state").await.text().await.unwrap(), "确认中");
    assert_eq!(css(&no_script, "#expected-by").await.text().await.unwrap(), "2026-03-04 17:00 (UTC+08:00)");
    assert!(css(&no_script, "progress#confirmations").await.attr("value").await.unwrap().is_some());
    // A tampered link: the plain 404 page.
    let mut tampered = zh_link.clone();
    tampered.pop();
    tampered.push(if zh_link.ends_with('A') { 'B' } else { 'A' });
    no_script.client.goto(&app.url(&tampered)).await.unwrap();
    assert_eq!(css(&no_script, "h1").await.text().await.unwrap(), "Not found");
    no_script.close().await;
}

#[tokio::test]
async fn script_in_memos_search_and_filters_is_shown_as_text_never_run() {
    let _one = exclusive().await;
    let app = TestApp::memory().await;
    let body = withdrawal(
        "w-xss",
        json!({ "network": "EOS", "coin": "EOS", "address": EOS_ACCOUNT, "memo": XSS_MEMO, "amount": "1" }),
    );
    let created = app.register(&body).await;
    assert_eq!(created.status(), StatusCode::CREATED, "{:?}", created.text().await);
    sweep_at(&app, OVERDUE).await;
    let browser = Browser::start(1280, 1000).await;
    browser.client.goto(&app.url("/console/login")).await.unwrap();
    sign_in(&browser, &app, SUPPORT_TOKEN).await;

    let untouched = |title: &str| {
        let title = title.to_owned();
        let browser = &browser;
        async move {
            let state = browser
                .client
                .execute(
                    "return [document.title, typeof window.__xss, document.querySelectorAll('main script').length]",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(state, json!([title, "undefined", 0]), "at {}", path(browser).await);
        }
    };
    browser.client.goto(&app.url("/console/withdrawals/w-xss")).await.unwrap();
    assert_eq!(css(&browser, "#memo").await.text().await.unwrap(), XSS_MEMO, "the memo is shown as written");
    untouched("Withdrawal w-xss").await;

    browser.client.goto(&app.url("/console")).await.unwrap();
    assert_eq!(row_ids(&browser).await, BTreeSet::from(["w-xss".into()]));
    untouched("Overdue and at-risk withdrawals").await;

    // Reflected input: the search box and a refused filter value.
    let query = serde_urlencoded::to_string([("q", XSS_MEMO)]).unwrap();
    browser.client.goto(&app.url(&format!("/console/search?{query}"))).await.unwrap();
    assert_eq!(css(&browser, "#q").await.attr("value").await.unwrap().as_deref(), Some(XSS_MEMO));
    untouched("Search").await;
    let query = serde_urlencoded::to_string([("min_amount", XSS_MEMO)]).unwrap();
    browser.client.goto(&app.url(&format!("/console?{query}"))).await.unwrap();
    assert!(css(&browser, "#message").await.text().await.unwrap().starts_with("min_amount:"));
    untouched("Bad request").await;
    let query = serde_urlencoded::to_string([("next", "/console\"><script>window.__xss=9</script>")]).unwrap();
    browser.client.goto(&app.url(&format!("/console/login?{query}"))).await.unwrap();
    untouched("Overdue and at-risk withdrawals").await;
    browser.close().await;
}
