//! Where escalation tickets go: a webhook, Zendesk, Jira, or nowhere. Each
//! sink turns one claimed delivery into requests and says how it went; the
//! sweeper records the outcome in the withdrawal's outbox.

mod jira;
pub mod text;
mod webhook;
mod zendesk;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::RETRY_AFTER;
use reqwest::StatusCode;

use crate::config::{SinkSettings, TicketSettings};
use crate::domain::escalation::{Claimed, OutboxClaim, SendOutcome};
use crate::domain::incident::{Incident, IncidentEvent};
use crate::domain::Withdrawal;

pub use jira::JiraSink;
pub use webhook::{signature, WebhookSink};
pub use zendesk::ZendeskSink;

/// Everything a sink needs to write one event.
pub struct TicketRequest<'a> {
    pub claimed: &'a Claimed,
    pub withdrawal: &'a Withdrawal,
    /// The status view, as users and support see it.
    pub view: &'a serde_json::Value,
    pub text: &'a text::TicketText,
}

/// Everything a sink needs to write one incident event.
pub struct IncidentRequest<'a> {
    pub claim: &'a OutboxClaim<IncidentEvent>,
    pub incident: &'a Incident,
    pub text: &'a text::IncidentText,
}

impl IncidentRequest<'_> {
    /// Where the sink finds the incident's ticket again: Zendesk's
    /// `external_id`, Jira's label.
    pub fn reference(&self) -> String {
        format!("incident-{}", self.incident.id)
    }
}

#[async_trait]
pub trait TicketSink: Send + Sync + 'static {
    /// A short name for logs and metrics.
    fn name(&self) -> &'static str;
    async fn send(&self, request: &TicketRequest<'_>) -> SendOutcome;
    /// An incident's parent ticket: opened, updated with the late
    /// withdrawals it holds, closed with those that recovered.
    async fn send_incident(&self, request: &IncidentRequest<'_>) -> SendOutcome;
}

/// Records escalations without sending them anywhere.
pub struct NoSink;

#[async_trait]
impl TicketSink for NoSink {
    fn name(&self) -> &'static str {
        "none"
    }

    async fn send(&self, _: &TicketRequest<'_>) -> SendOutcome {
        SendOutcome::Delivered { ticket_id: None }
    }

    async fn send_incident(&self, _: &IncidentRequest<'_>) -> SendOutcome {
        SendOutcome::Delivered { ticket_id: None }
    }
}

pub fn build_sink(config: &TicketSettings) -> Arc<dyn TicketSink> {
    let client = reqwest::Client::builder()
        .timeout(config.timeout)
        .user_agent(concat!("withdrawal-tracker/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("an HTTP client with default TLS builds");
    match &config.sink {
        SinkSettings::None => Arc::new(NoSink),
        SinkSettings::Webhook { url, secret } => Arc::new(WebhookSink::new(client, url, secret)),
        SinkSettings::Zendesk(zendesk) => Arc::new(ZendeskSink::new(client, zendesk.clone())),
        SinkSettings::Jira(jira) => Arc::new(JiraSink::new(client, jira.clone())),
    }
}

/// A failed request, already sorted into "try again later" and "give up".
#[derive(Debug)]
pub(crate) struct Failure(SendOutcome);

impl From<Failure> for SendOutcome {
    fn from(failure: Failure) -> SendOutcome {
        failure.0
    }
}

pub(crate) fn transport_failure(error: reqwest::Error) -> Failure {
    // Without a response we cannot know whether the request took effect:
    // retry, and the next attempt is flagged uncertain.
    Failure(SendOutcome::Retry { reason: format!("request failed: {}", without_url(&error)), retry_after: None })
}

/// reqwest's messages include the URL, which may carry credentials.
fn without_url(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        error.to_string().split(" for url").next().unwrap_or("error").to_owned()
    }
}

/// 2xx passes; 408, 425, 429 and 5xx are worth retrying (honouring
/// `Retry-After`); any other status will not get better by itself.
pub(crate) async fn check_status(response: reqwest::Response) -> Result<reqwest::Response, Failure> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let reason = format!("HTTP {}", status.as_u16());
    let retryable = status.is_server_error()
        || matches!(status, StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_EARLY | StatusCode::TOO_MANY_REQUESTS);
    Err(Failure(if retryable { SendOutcome::Retry { reason, retry_after } } else { SendOutcome::GiveUp { reason } }))
}

pub(crate) async fn json_body(response: reqwest::Response) -> Result<serde_json::Value, Failure> {
    response.json().await.map_err(|e| {
        Failure(SendOutcome::Retry { reason: format!("unreadable response: {}", without_url(&e)), retry_after: None })
    })
}

/// Whether a `{"comments": [{"body": ...}]}` answer (Zendesk and Jira
/// alike) holds a comment carrying `marker`.
pub(crate) fn has_comment_with(found: &serde_json::Value, marker: &str) -> Result<bool, Failure> {
    let comments = found["comments"].as_array().ok_or_else(|| unexpected("no `comments` array"))?;
    Ok(comments.iter().any(|c| c["body"].as_str().is_some_and(|b| b.contains(marker))))
}

/// A ticket system's answer: delivered with the ticket it names, or why not.
pub(crate) fn outcome(result: Result<String, Failure>) -> SendOutcome {
    match result {
        Ok(ticket) => SendOutcome::Delivered { ticket_id: Some(ticket) },
        Err(failure) => failure.into(),
    }
}

pub(crate) fn unexpected(what: &str) -> Failure {
    Failure(SendOutcome::Retry { reason: format!("unexpected response: {what}"), retry_after: None })
}
