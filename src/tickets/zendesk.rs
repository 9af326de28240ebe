//! Zendesk Support tickets API: one ticket per withdrawal, found again by
//! `external_id`; raises and resolutions update that ticket.

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use super::{
    check_status, has_comment_with, json_body, outcome, transport_failure, unexpected, Failure, IncidentRequest,
    TicketRequest, TicketSink,
};
use crate::config::ZendeskConfig;
use crate::domain::escalation::{SendOutcome, TicketEvent};
use crate::domain::incident::IncidentEvent;

pub struct ZendeskSink {
    client: reqwest::Client,
    base_url: String,
    authorization: String,
}

impl ZendeskSink {
    pub fn new(client: reqwest::Client, config: ZendeskConfig) -> Self {
        // API token auth: basic auth with "{email}/token" as the user name.
        let credentials = format!("{}/token:{}", config.email, config.api_token.expose());
        ZendeskSink {
            client,
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            authorization: format!("Basic {}", STANDARD.encode(credentials)),
        }
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, Failure> {
        let response = request
            .header("authorization", &self.authorization)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(transport_failure)?;
        json_body(check_status(response).await?).await
    }

    async fn find_by_external_id(&self, withdrawal_id: &str) -> Result<Option<String>, Failure> {
        let url = format!("{}/api/v2/tickets.json", self.base_url);
        let found = self.call(self.client.get(url).query(&[("external_id", withdrawal_id)])).await?;
        let tickets = found["tickets"].as_array().ok_or_else(|| unexpected("no `tickets` array"))?;
        Ok(tickets.first().and_then(|t| ticket_id(&t["id"])))
    }

    async fn find_comment_with(&self, ticket: &str, marker: &str) -> Result<bool, Failure> {
        let url = format!("{}/api/v2/tickets/{ticket}/comments.json", self.base_url);
        has_comment_with(&self.call(self.client.get(url)).await?, marker)
    }

    async fn create(&self, request: &TicketRequest<'_>) -> Result<String, Failure> {
        let claimed = request.claimed;
        let withdrawal = request.withdrawal;
        let body = json!({
            "ticket": {
                "subject": request.text.subject,
                "comment": { "body": request.text.body, "public": false },
                "priority": "high",
                "type": "incident",
                "external_id": withdrawal.id.as_str(),
                "tags": ["withdrawal-tracker", claimed.reason.as_str(), format!("network-{}", withdrawal.network.code().to_lowercase())],
            }
        });
        let url = format!("{}/api/v2/tickets.json", self.base_url);
        let created =
            self.call(self.client.post(url).header("idempotency-key", &claimed.idempotency_key).json(&body)).await?;
        ticket_id(&created["ticket"]["id"]).ok_or_else(|| unexpected("no ticket id"))
    }

    async fn update(&self, request: &TicketRequest<'_>, ticket: &str) -> Result<(), Failure> {
        let claimed = request.claimed;
        if claimed.uncertain && self.find_comment_with(ticket, &claimed.idempotency_key).await? {
            return Ok(());
        }
        let comment = json!({ "body": request.text.update_comment(claimed), "public": false });
        let change = match claimed.event {
            TicketEvent::Raised => json!({ "ticket": { "priority": "urgent", "comment": comment } }),
            _ => json!({ "ticket": { "status": "solved", "comment": comment } }),
        };
        let url = format!("{}/api/v2/tickets/{ticket}.json", self.base_url);
        self.call(self.client.put(url).json(&change)).await.map(|_| ())
    }

    async fn deliver(&self, request: &TicketRequest<'_>) -> Result<String, Failure> {
        let withdrawal_id = request.withdrawal.id.as_str();
        let known = match &request.claimed.ticket_id {
            Some(id) => Some(id.clone()),
            // An earlier attempt may have created it: look before creating another.
            None if request.claimed.uncertain || request.claimed.event != TicketEvent::Opened => {
                self.find_by_external_id(withdrawal_id).await?
            }
            None => None,
        };
        match (request.claimed.event, known) {
            (TicketEvent::Opened, Some(ticket)) => Ok(ticket),
            (TicketEvent::Opened, None) => self.create(request).await,
            (_, Some(ticket)) => self.update(request, &ticket).await.map(|_| ticket),
            (_, None) => Err(unexpected("no ticket to update")),
        }
    }
}

impl ZendeskSink {
    /// An incident is a Zendesk "problem" ticket (found again by
    /// `external_id`); updates and the close are comments listing the
    /// withdrawals, and the close solves it.
    async fn deliver_incident(&self, request: &IncidentRequest<'_>) -> Result<String, Failure> {
        let claim = request.claim;
        let reference = request.reference();
        let known = match &request.incident.ticket_id {
            Some(id) => Some(id.clone()),
            None if claim.uncertain || claim.event != IncidentEvent::Opened => {
                self.find_by_external_id(&reference).await?
            }
            None => None,
        };
        let ticket = match (claim.event, known) {
            (IncidentEvent::Opened, Some(ticket)) => return Ok(ticket),
            (IncidentEvent::Opened, None) => {
                let network = request.incident.network.code().to_lowercase();
                let body = json!({
                    "ticket": {
                        "subject": request.text.subject,
                        "comment": { "body": request.text.body, "public": false },
                        "priority": "urgent",
                        "type": "problem",
                        "external_id": reference,
                        "tags": ["withdrawal-tracker", "incident", request.incident.cause.as_str(), format!("network-{network}")],
                    }
                });
                let url = format!("{}/api/v2/tickets.json", self.base_url);
                let request = self.client.post(url).header("idempotency-key", &claim.idempotency_key).json(&body);
                let created = self.call(request).await?;
                return ticket_id(&created["ticket"]["id"]).ok_or_else(|| unexpected("no ticket id"));
            }
            (_, Some(ticket)) => ticket,
            (_, None) => return Err(unexpected("no incident ticket to update")),
        };
        if claim.uncertain && self.find_comment_with(&ticket, &request.text.marker).await? {
            return Ok(ticket);
        }
        let comment = json!({ "body": request.text.comment, "public": false });
        let change = match claim.event {
            IncidentEvent::Closed => json!({ "ticket": { "status": "solved", "comment": comment } }),
            _ => json!({ "ticket": { "comment": comment } }),
        };
        let url = format!("{}/api/v2/tickets/{ticket}.json", self.base_url);
        self.call(self.client.put(url).json(&change)).await.map(|_| ticket)
    }
}

fn ticket_id(value: &Value) -> Option<String> {
    value.as_u64().map(|id| id.to_string()).or_else(|| value.as_str().map(str::to_owned))
}

#[async_trait]
impl TicketSink for ZendeskSink {
    fn name(&self) -> &'static str {
        "zendesk"
    }

    async fn send(&self, request: &TicketRequest<'_>) -> SendOutcome {
        outcome(self.deliver(request).await)
    }

    async fn send_incident(&self, request: &IncidentRequest<'_>) -> SendOutcome {
        outcome(self.deliver_incident(request).await)
    }
}
