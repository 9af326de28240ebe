//! Jira REST API v2: one issue per withdrawal, labelled `withdrawal-<id>` and
//! found again by JQL; raises comment and lift the priority, resolutions
//! comment and transition the issue to a done status.

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{
    check_status, has_comment_with, json_body, outcome, transport_failure, unexpected, Failure, IncidentRequest,
    TicketRequest, TicketSink,
};
use crate::config::JiraConfig;
use crate::domain::escalation::{SendOutcome, TicketEvent};
use crate::domain::incident::IncidentEvent;

pub struct JiraSink {
    client: reqwest::Client,
    config: JiraConfig,
    base_url: String,
    authorization: String,
}

pub fn label(withdrawal_id: &str) -> String {
    format!("withdrawal-{withdrawal_id}")
}

impl JiraSink {
    pub fn new(client: reqwest::Client, config: JiraConfig) -> Self {
        let credentials = format!("{}:{}", config.email, config.api_token.expose());
        JiraSink {
            client,
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            authorization: format!("Basic {}", STANDARD.encode(credentials)),
            config,
        }
    }

    async fn send_raw(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, Failure> {
        let response = request
            .header("authorization", &self.authorization)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(transport_failure)?;
        check_status(response).await
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, Failure> {
        let response = self.send_raw(request).await?;
        if response.status() == StatusCode::NO_CONTENT {
            return Ok(Value::Null);
        }
        json_body(response).await
    }

    async fn find_by_label(&self, label: &str) -> Result<Option<String>, Failure> {
        let jql = format!("labels = \"{label}\"");
        let url = format!("{}/rest/api/2/search", self.base_url);
        let found = self.call(self.client.get(url).query(&[("jql", jql.as_str()), ("fields", "key")])).await?;
        let issues = found["issues"].as_array().ok_or_else(|| unexpected("no `issues` array"))?;
        Ok(issues.first().and_then(|i| i["key"].as_str()).map(str::to_owned))
    }

    async fn create(&self, request: &TicketRequest<'_>) -> Result<String, Failure> {
        let withdrawal = request.withdrawal;
        let body = json!({
            "fields": {
                "project": { "key": self.config.project_key },
                "summary": request.text.subject,
                "description": request.text.body,
                "issuetype": { "name": self.config.issue_type },
                "labels": ["withdrawal-tracker", label(withdrawal.id.as_str()), request.claimed.reason.as_str()],
                "priority": { "name": "High" },
            }
        });
        let url = format!("{}/rest/api/2/issue", self.base_url);
        let created = self.call(self.client.post(url).json(&body)).await?;
        created["key"].as_str().map(str::to_owned).ok_or_else(|| unexpected("no issue key"))
    }

    async fn find_comment_with(&self, key: &str, marker: &str) -> Result<bool, Failure> {
        let url = format!("{}/rest/api/2/issue/{key}/comment", self.base_url);
        has_comment_with(&self.call(self.client.get(url)).await?, marker)
    }

    async fn comment(&self, request: &TicketRequest<'_>, key: &str) -> Result<(), Failure> {
        let claimed = request.claimed;
        self.comment_once(key, &claimed.idempotency_key, claimed.uncertain, request.text.update_comment(claimed)).await
    }

    /// Adds `body` unless an uncertain earlier attempt already did (its
    /// comment carries `marker`).
    async fn comment_once(&self, key: &str, marker: &str, uncertain: bool, body: String) -> Result<(), Failure> {
        if uncertain && self.find_comment_with(key, marker).await? {
            return Ok(());
        }
        let url = format!("{}/rest/api/2/issue/{key}/comment", self.base_url);
        self.call(self.client.post(url).json(&json!({ "body": body }))).await.map(|_| ())
    }

    /// An incident is one issue labelled `incident-<id>`; updates and the
    /// close are comments listing the withdrawals, and the close moves it
    /// to done.
    async fn deliver_incident(&self, request: &IncidentRequest<'_>) -> Result<String, Failure> {
        let claim = request.claim;
        let reference = request.reference();
        let known = match &request.incident.ticket_id {
            Some(key) => Some(key.clone()),
            None if claim.uncertain || claim.event != IncidentEvent::Opened => self.find_by_label(&reference).await?,
            None => None,
        };
        let key = match (claim.event, known) {
            (IncidentEvent::Opened, Some(key)) => return Ok(key),
            (IncidentEvent::Opened, None) => {
                let body = json!({
                    "fields": {
                        "project": { "key": self.config.project_key },
                        "summary": request.text.subject,
                        "description": request.text.body,
                        "issuetype": { "name": self.config.issue_type },
                        "labels": ["withdrawal-tracker", "incident", reference, request.incident.cause.as_str()],
                        "priority": { "name": "Highest" },
                    }
                });
                let url = format!("{}/rest/api/2/issue", self.base_url);
                let created = self.call(self.client.post(url).json(&body)).await?;
                return created["key"].as_str().map(str::to_owned).ok_or_else(|| unexpected("no issue key"));
            }
            (_, Some(key)) => key,
            (_, None) => return Err(unexpected("no incident issue to update")),
        };
        self.comment_once(&key, &request.text.marker, claim.uncertain, request.text.comment.clone()).await?;
        if claim.event == IncidentEvent::Closed {
            self.close(&key).await?;
        }
        Ok(key)
    }

    async fn raise(&self, key: &str) -> Result<(), Failure> {
        let url = format!("{}/rest/api/2/issue/{key}", self.base_url);
        let change = json!({ "fields": { "priority": { "name": "Highest" } } });
        self.call(self.client.put(url).json(&change)).await.map(|_| ())
    }

    /// Moves the issue to a status in the "done" category; none offered means
    /// it is already there.
    async fn close(&self, key: &str) -> Result<(), Failure> {
        let url = format!("{}/rest/api/2/issue/{key}/transitions", self.base_url);
        let offered = self.call(self.client.get(&url)).await?;
        let transitions = offered["transitions"].as_array().ok_or_else(|| unexpected("no `transitions` array"))?;
        let done = transitions.iter().find(|t| {
            t["to"]["statusCategory"]["key"] == "done"
                || t["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(&self.config.done_transition))
        });
        match done.and_then(|t| t["id"].as_str()) {
            Some(id) => self.call(self.client.post(url).json(&json!({ "transition": { "id": id } }))).await.map(|_| ()),
            None => Ok(()),
        }
    }

    async fn deliver(&self, request: &TicketRequest<'_>) -> Result<String, Failure> {
        let claimed = request.claimed;
        let known = match &claimed.ticket_id {
            Some(key) => Some(key.clone()),
            None if claimed.uncertain || claimed.event != TicketEvent::Opened => {
                self.find_by_label(&label(request.withdrawal.id.as_str())).await?
            }
            None => None,
        };
        match (claimed.event, known) {
            (TicketEvent::Opened, Some(key)) => Ok(key),
            (TicketEvent::Opened, None) => self.create(request).await,
            (TicketEvent::Raised, Some(key)) => {
                self.raise(&key).await?;
                self.comment(request, &key).await?;
                Ok(key)
            }
            (TicketEvent::Resolved, Some(key)) => {
                self.comment(request, &key).await?;
                self.close(&key).await?;
                Ok(key)
            }
            (_, None) => Err(unexpected("no issue to update")),
        }
    }
}

#[async_trait]
impl TicketSink for JiraSink {
    fn name(&self) -> &'static str {
        "jira"
    }

    async fn send(&self, request: &TicketRequest<'_>) -> SendOutcome {
        outcome(self.deliver(request).await)
    }

    async fn send_incident(&self, request: &IncidentRequest<'_>) -> SendOutcome {
        outcome(self.deliver_incident(request).await)
    }
}
