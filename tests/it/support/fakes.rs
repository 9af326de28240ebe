//! Stand-ins for the ticket systems that cannot run here. They follow the
//! real APIs' documented request paths and response shapes (Zendesk Support
//! API v2 tickets, Jira REST API v2 issues), errors included, and record what
//! they receive so tests can count it.

// Guards hand back the refusal itself; boxing it would only add noise to test fakes.
#![allow(clippy::result_large_err)]

use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};

/// How a fake answers its next requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// 503 with `Retry-After: 1` for everything.
    Down,
    /// 400 for everything: a request the server will never accept.
    Rejecting,
    /// Performs the next write, then answers 500 as if the connection broke:
    /// the client cannot know it landed.
    FailAfterWrite,
}

async fn start(app: impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static) -> String {
    let server = HttpServer::new(move || App::new().configure(app.clone())).workers(1).bind("127.0.0.1:0").unwrap();
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    format!("http://127.0.0.1:{port}")
}

/// Serves `handler` for every path, with `state` as app data, on a free
/// port: how every fake server here runs. Returns the port.
pub fn serve_all<T, F, Args>(state: web::Data<T>, handler: F) -> u16
where
    T: Send + Sync + 'static,
    F: actix_web::Handler<Args> + Send + Clone + 'static,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    let server = HttpServer::new(move || App::new().app_data(state.clone()).default_service(web::to(handler.clone())))
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    port
}

fn refusal(mode: Mode) -> Option<HttpResponse> {
    match mode {
        Mode::Down => Some(
            HttpResponse::ServiceUnavailable()
                .insert_header(("retry-after", "1"))
                .json(json!({"error": "Unavailable"})),
        ),
        Mode::Rejecting => Some(HttpResponse::BadRequest().json(json!({"error": "RecordInvalid"}))),
        _ => None,
    }
}

// ---- webhook receiver ----

#[derive(Debug, Clone)]
pub struct Received {
    pub body: String,
    pub idempotency_key: String,
    pub signature: String,
}

#[derive(Default)]
pub struct WebhookState {
    pub mode: Option<Mode>,
    /// Requests answered 2xx, in order.
    pub accepted: Vec<Received>,
    pub refused: usize,
}

#[derive(Clone)]
pub struct WebhookReceiver {
    pub url: String,
    pub state: Arc<Mutex<WebhookState>>,
}

impl WebhookReceiver {
    pub async fn start() -> WebhookReceiver {
        let state = Arc::new(Mutex::new(WebhookState::default()));
        let shared = state.clone();
        let base = start(move |cfg| {
            let shared = shared.clone();
            cfg.route(
                "/hook",
                web::post().to(move |req: HttpRequest, body: String| {
                    let shared = shared.clone();
                    async move {
                        let mut state = shared.lock().unwrap();
                        if let Some(response) = refusal(state.mode.unwrap_or(Mode::Normal)) {
                            state.refused += 1;
                            return response;
                        }
                        let header = |name: &str| {
                            req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
                        };
                        state.accepted.push(Received {
                            body,
                            idempotency_key: header("idempotency-key"),
                            signature: header("x-tracker-signature"),
                        });
                        HttpResponse::Ok().finish()
                    }
                }),
            );
        })
        .await;
        WebhookReceiver { url: format!("{base}/hook"), state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = Some(mode);
    }

    pub fn accepted(&self) -> Vec<Received> {
        self.state.lock().unwrap().accepted.clone()
    }
}

// ---- Zendesk ----

#[derive(Debug, Clone)]
pub struct ZendeskTicket {
    pub id: u64,
    pub external_id: String,
    pub subject: String,
    pub priority: String,
    pub status: String,
    pub tags: Vec<String>,
    pub comments: Vec<String>,
}

pub struct ZendeskState {
    pub mode: Mode,
    pub tickets: Vec<ZendeskTicket>,
    pub creates: usize,
    pub authorization: String,
}

#[derive(Clone)]
pub struct FakeZendesk {
    pub base_url: String,
    pub state: Arc<Mutex<ZendeskState>>,
}

pub const ZENDESK_EMAIL: &str = "agent@example.com";
pub const ZENDESK_TOKEN: &str = "zendesk-api-token-0123456789";

fn ticket_json(ticket: &ZendeskTicket) -> Value {
    json!({
        "id": ticket.id,
        "url": format!("https://example.zendesk.com/api/v2/tickets/{}.json", ticket.id),
        "external_id": ticket.external_id,
        "subject": ticket.subject,
        "priority": ticket.priority,
        "status": ticket.status,
        "tags": ticket.tags,
    })
}

impl FakeZendesk {
    pub async fn start() -> FakeZendesk {
        use base64::Engine;
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{ZENDESK_EMAIL}/token:{ZENDESK_TOKEN}"))
        );
        let state = Arc::new(Mutex::new(ZendeskState {
            mode: Mode::Normal,
            tickets: Vec::new(),
            creates: 0,
            authorization: expected,
        }));
        let shared = state.clone();
        let base_url = start(move |cfg| {
            let shared = shared.clone();
            cfg.app_data(web::Data::new(shared))
                .route("/api/v2/tickets.json", web::post().to(zendesk_create))
                .route("/api/v2/tickets.json", web::get().to(zendesk_list))
                .route("/api/v2/tickets/{id}.json", web::put().to(zendesk_update))
                .route("/api/v2/tickets/{id}/comments.json", web::get().to(zendesk_comments));
        })
        .await;
        FakeZendesk { base_url, state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    pub fn tickets(&self) -> Vec<ZendeskTicket> {
        self.state.lock().unwrap().tickets.clone()
    }
}

type Shared<T> = web::Data<Arc<Mutex<T>>>;

fn zendesk_guard(state: &mut ZendeskState, req: &HttpRequest, writes: bool) -> Result<bool, HttpResponse> {
    let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if auth != state.authorization {
        return Err(HttpResponse::Unauthorized().json(json!({"error": "Couldn't authenticate you"})));
    }
    if let Some(response) = refusal(state.mode) {
        return Err(response);
    }
    let fail_after = writes && state.mode == Mode::FailAfterWrite;
    if fail_after {
        state.mode = Mode::Normal;
    }
    Ok(fail_after)
}

async fn zendesk_create(req: HttpRequest, state: Shared<ZendeskState>, body: web::Json<Value>) -> HttpResponse {
    let mut state = state.lock().unwrap();
    let fail_after = match zendesk_guard(&mut state, &req, true) {
        Ok(fail_after) => fail_after,
        Err(response) => return response,
    };
    let ticket = &body["ticket"];
    let Some(comment) = ticket["comment"]["body"].as_str() else {
        return HttpResponse::UnprocessableEntity()
            .json(json!({"error": "RecordInvalid", "description": "Record validation errors", "details": {"comment": [{"description": "is required"}]}}));
    };
    state.creates += 1;
    let id = 35436 + state.tickets.len() as u64;
    let created = ZendeskTicket {
        id,
        external_id: ticket["external_id"].as_str().unwrap_or_default().to_owned(),
        subject: ticket["subject"].as_str().unwrap_or_default().to_owned(),
        priority: ticket["priority"].as_str().unwrap_or("normal").to_owned(),
        status: "new".to_owned(),
        tags: ticket["tags"].as_array().into_iter().flatten().filter_map(|t| t.as_str().map(str::to_owned)).collect(),
        comments: vec![comment.to_owned()],
    };
    let response = json!({ "ticket": ticket_json(&created) });
    state.tickets.push(created);
    if fail_after {
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::Created().json(response)
}

async fn zendesk_list(req: HttpRequest, state: Shared<ZendeskState>) -> HttpResponse {
    let mut state = state.lock().unwrap();
    if let Err(response) = zendesk_guard(&mut state, &req, false) {
        return response;
    }
    let query = web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string()).unwrap();
    let tickets: Vec<Value> = state
        .tickets
        .iter()
        .filter(|t| query.get("external_id").is_none_or(|e| *e == t.external_id))
        .map(ticket_json)
        .collect();
    HttpResponse::Ok()
        .json(json!({ "tickets": tickets, "count": tickets.len(), "next_page": null, "previous_page": null }))
}

async fn zendesk_update(
    req: HttpRequest,
    state: Shared<ZendeskState>,
    id: web::Path<u64>,
    body: web::Json<Value>,
) -> HttpResponse {
    let mut state = state.lock().unwrap();
    let fail_after = match zendesk_guard(&mut state, &req, true) {
        Ok(fail_after) => fail_after,
        Err(response) => return response,
    };
    let Some(ticket) = state.tickets.iter_mut().find(|t| t.id == *id) else {
        return HttpResponse::NotFound().json(json!({"error": "RecordNotFound", "description": "Not found"}));
    };
    let change = &body["ticket"];
    if let Some(priority) = change["priority"].as_str() {
        ticket.priority = priority.to_owned();
    }
    if let Some(status) = change["status"].as_str() {
        ticket.status = status.to_owned();
    }
    if let Some(comment) = change["comment"]["body"].as_str() {
        ticket.comments.push(comment.to_owned());
    }
    let response = json!({ "ticket": ticket_json(ticket), "audit": { "events": [] } });
    if fail_after {
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::Ok().json(response)
}

async fn zendesk_comments(req: HttpRequest, state: Shared<ZendeskState>, id: web::Path<u64>) -> HttpResponse {
    let mut state = state.lock().unwrap();
    if let Err(response) = zendesk_guard(&mut state, &req, false) {
        return response;
    }
    let Some(ticket) = state.tickets.iter().find(|t| t.id == *id) else {
        return HttpResponse::NotFound().json(json!({"error": "RecordNotFound", "description": "Not found"}));
    };
    let comments: Vec<Value> = ticket
        .comments
        .iter()
        .enumerate()
        .map(|(i, body)| json!({ "id": i + 1, "type": "Comment", "body": body, "public": false }))
        .collect();
    HttpResponse::Ok().json(json!({ "comments": comments, "count": comments.len() }))
}

// ---- Jira ----

#[derive(Debug, Clone)]
pub struct JiraIssue {
    pub key: String,
    pub summary: String,
    pub labels: Vec<String>,
    pub priority: String,
    pub status: String,
    pub comments: Vec<String>,
}

pub struct JiraState {
    pub mode: Mode,
    pub issues: Vec<JiraIssue>,
    pub authorization: String,
}

#[derive(Clone)]
pub struct FakeJira {
    pub base_url: String,
    pub state: Arc<Mutex<JiraState>>,
}

pub const JIRA_EMAIL: &str = "bot@example.com";
pub const JIRA_TOKEN: &str = "jira-api-token-0123456789";

impl FakeJira {
    pub async fn start() -> FakeJira {
        use base64::Engine;
        let expected =
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{JIRA_EMAIL}:{JIRA_TOKEN}")));
        let state = Arc::new(Mutex::new(JiraState { mode: Mode::Normal, issues: Vec::new(), authorization: expected }));
        let shared = state.clone();
        let base_url = start(move |cfg| {
            let shared = shared.clone();
            cfg.app_data(web::Data::new(shared))
                .route("/rest/api/2/issue", web::post().to(jira_create))
                .route("/rest/api/2/search", web::get().to(jira_search))
                .route("/rest/api/2/issue/{key}", web::put().to(jira_edit))
                .route("/rest/api/2/issue/{key}/comment", web::post().to(jira_add_comment))
                .route("/rest/api/2/issue/{key}/comment", web::get().to(jira_comments))
                .route("/rest/api/2/issue/{key}/transitions", web::get().to(jira_transitions))
                .route("/rest/api/2/issue/{key}/transitions", web::post().to(jira_transition));
        })
        .await;
        FakeJira { base_url, state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    pub fn issues(&self) -> Vec<JiraIssue> {
        self.state.lock().unwrap().issues.clone()
    }
}

fn jira_guard(state: &mut JiraState, req: &HttpRequest, writes: bool) -> Result<bool, HttpResponse> {
    let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if auth != state.authorization {
        return Err(
            HttpResponse::Unauthorized().json(json!({"errorMessages": ["You are not authenticated."], "errors": {}}))
        );
    }
    if let Some(response) = refusal(state.mode) {
        return Err(response);
    }
    let fail_after = writes && state.mode == Mode::FailAfterWrite;
    if fail_after {
        state.mode = Mode::Normal;
    }
    Ok(fail_after)
}

fn issue_not_found() -> HttpResponse {
    HttpResponse::NotFound()
        .json(json!({"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}}))
}

async fn jira_create(req: HttpRequest, state: Shared<JiraState>, body: web::Json<Value>) -> HttpResponse {
    let mut state = state.lock().unwrap();
    let fail_after = match jira_guard(&mut state, &req, true) {
        Ok(f) => f,
        Err(response) => return response,
    };
    let fields = &body["fields"];
    if fields["project"]["key"].as_str().is_none() || fields["summary"].as_str().is_none() {
        return HttpResponse::BadRequest()
            .json(json!({"errorMessages": [], "errors": {"project": "project is required", "summary": "You must specify a summary of the issue."}}));
    }
    let number = 24 + state.issues.len();
    let key = format!("{}-{number}", fields["project"]["key"].as_str().unwrap());
    state.issues.push(JiraIssue {
        key: key.clone(),
        summary: fields["summary"].as_str().unwrap().to_owned(),
        labels: fields["labels"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l.as_str().map(str::to_owned))
            .collect(),
        priority: fields["priority"]["name"].as_str().unwrap_or("Medium").to_owned(),
        status: "To Do".to_owned(),
        comments: Vec::new(),
    });
    if fail_after {
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::Created().json(json!({ "id": format!("{}", 10000 + number), "key": key, "self": format!("https://example.atlassian.net/rest/api/2/issue/{}", 10000 + number) }))
}

async fn jira_search(req: HttpRequest, state: Shared<JiraState>) -> HttpResponse {
    let mut state = state.lock().unwrap();
    if let Err(response) = jira_guard(&mut state, &req, false) {
        return response;
    }
    let query = web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string()).unwrap();
    let jql = query.get("jql").cloned().unwrap_or_default();
    // The tracker only searches `labels = "<label>"`.
    let Some(label) = jql.strip_prefix("labels = \"").and_then(|rest| rest.strip_suffix('"')) else {
        return HttpResponse::BadRequest()
            .json(json!({"errorMessages": [format!("Error in the JQL Query: {jql}")], "errors": {}}));
    };
    let issues: Vec<Value> = state
        .issues
        .iter()
        .filter(|i| i.labels.iter().any(|l| l == label))
        .map(|i| json!({ "id": "10000", "key": i.key, "fields": {} }))
        .collect();
    HttpResponse::Ok().json(json!({ "startAt": 0, "maxResults": 50, "total": issues.len(), "issues": issues }))
}

async fn jira_edit(
    req: HttpRequest,
    state: Shared<JiraState>,
    key: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let mut state = state.lock().unwrap();
    let fail_after = match jira_guard(&mut state, &req, true) {
        Ok(f) => f,
        Err(response) => return response,
    };
    let Some(issue) = state.issues.iter_mut().find(|i| i.key == *key) else { return issue_not_found() };
    if let Some(priority) = body["fields"]["priority"]["name"].as_str() {
        issue.priority = priority.to_owned();
    }
    if fail_after {
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::NoContent().finish()
}

async fn jira_add_comment(
    req: HttpRequest,
    state: Shared<JiraState>,
    key: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let mut state = state.lock().unwrap();
    let fail_after = match jira_guard(&mut state, &req, true) {
        Ok(f) => f,
        Err(response) => return response,
    };
    let Some(issue) = state.issues.iter_mut().find(|i| i.key == *key) else { return issue_not_found() };
    let text = body["body"].as_str().unwrap_or_default().to_owned();
    issue.comments.push(text.clone());
    if fail_after {
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::Created().json(json!({ "id": issue.comments.len().to_string(), "body": text }))
}

async fn jira_comments(req: HttpRequest, state: Shared<JiraState>, key: web::Path<String>) -> HttpResponse {
    let mut state = state.lock().unwrap();
    if let Err(response) = jira_guard(&mut state, &req, false) {
        return response;
    }
    let Some(issue) = state.issues.iter().find(|i| i.key == *key) else { return issue_not_found() };
    let comments: Vec<Value> =
        issue.comments.iter().enumerate().map(|(i, body)| json!({ "id": (i + 1).to_string(), "body": body })).collect();
    HttpResponse::Ok()
        .json(json!({ "startAt": 0, "maxResults": 1048576, "total": comments.len(), "comments": comments }))
}

async fn jira_transitions(req: HttpRequest, state: Shared<JiraState>, key: web::Path<String>) -> HttpResponse {
    let mut state = state.lock().unwrap();
    if let Err(response) = jira_guard(&mut state, &req, false) {
        return response;
    }
    let Some(issue) = state.issues.iter().find(|i| i.key == *key) else { return issue_not_found() };
    let transitions = if issue.status == "Done" {
        json!([{ "id": "11", "name": "Reopen", "to": { "name": "To Do", "statusCategory": { "key": "new" } } }])
    } else {
        json!([
            { "id": "21", "name": "In Progress", "to": { "name": "In Progress", "statusCategory": { "key": "indeterminate" } } },
            { "id": "31", "name": "Done", "to": { "name": "Done", "statusCategory": { "key": "done" } } }
        ])
    };
    HttpResponse::Ok().json(json!({ "expand": "transitions", "transitions": transitions }))
}

async fn jira_transition(
    req: HttpRequest,
    state: Shared<JiraState>,
    key: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let mut state = state.lock().unwrap();
    let fail_after = match jira_guard(&mut state, &req, true) {
        Ok(f) => f,
        Err(response) => return response,
    };
    let Some(issue) = state.issues.iter_mut().find(|i| i.key == *key) else { return issue_not_found() };
    match body["transition"]["id"].as_str() {
        Some("31") if issue.status != "Done" => issue.status = "Done".to_owned(),
        Some("21") => issue.status = "In Progress".to_owned(),
        Some("11") if issue.status == "Done" => issue.status = "To Do".to_owned(),
        _ => {
            return HttpResponse::BadRequest()
                .json(json!({"errorMessages": ["Transition id is not valid for this issue."], "errors": {}}))
        }
    }
    if fail_after {
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::NoContent().finish()
}
