//! `[tickets]`: where escalation tickets go (webhook, Zendesk, Jira), with
//! exactly what each sink needs.

use std::time::Duration;

use serde::Deserialize;

use super::{check_url, HumanDuration, Problems, Secret, MIN_TOKEN_LEN};

#[derive(Debug, Clone)]
pub struct TicketSettings {
    pub sink: SinkSettings,
    pub max_attempts: u32,
    pub timeout: Duration,
}

/// Where tickets go, with exactly what that sink needs.
#[derive(Debug, Clone)]
pub enum SinkSettings {
    None,
    Webhook { url: String, secret: Secret },
    Zendesk(ZendeskConfig),
    Jira(JiraConfig),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SinkKind {
    /// Escalations are recorded, not sent.
    #[default]
    None,
    Webhook,
    Zendesk,
    Jira,
}

/// `[tickets]`: where escalation tickets go.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TicketsConfig {
    pub sink: SinkKind,
    /// Webhook URL (sink = "webhook").
    pub url: Option<String>,
    /// HMAC-SHA256 key for the webhook's `X-Tracker-Signature`.
    pub secret: Option<Secret>,
    /// Attempts per event before it is dead (support can retry it).
    pub max_attempts: u32,
    /// Per request to the ticket system.
    pub timeout: HumanDuration,
    pub zendesk: Option<ZendeskConfig>,
    pub jira: Option<JiraConfig>,
}

impl Default for TicketsConfig {
    fn default() -> Self {
        TicketsConfig {
            sink: SinkKind::None,
            url: None,
            secret: None,
            max_attempts: 8,
            timeout: HumanDuration(Duration::from_secs(10)),
            zendesk: None,
            jira: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZendeskConfig {
    /// e.g. `https://acme.zendesk.com`
    pub base_url: String,
    pub email: String,
    pub api_token: Secret,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JiraConfig {
    /// e.g. `https://acme.atlassian.net`
    pub base_url: String,
    pub email: String,
    pub api_token: Secret,
    pub project_key: String,
    #[serde(default = "default_issue_type")]
    pub issue_type: String,
    /// Name of the transition that closes an issue, if its target status is
    /// not in Jira's "done" category.
    #[serde(default = "default_done_transition")]
    pub done_transition: String,
}

fn default_issue_type() -> String {
    "Task".to_owned()
}

fn default_done_transition() -> String {
    "Done".to_owned()
}

impl TicketsConfig {
    pub(super) fn settings(&self, problems: &mut Problems) -> Option<TicketSettings> {
        let mark = problems.mark();
        if self.max_attempts == 0 {
            problems.add("tickets.max_attempts", "must be at least 1");
        }
        let sink = match self.sink {
            SinkKind::None => Some(SinkSettings::None),
            SinkKind::Webhook => {
                let url = match &self.url {
                    Some(url) => problems.take(check_url("tickets.url", url)).map(|()| url.clone()),
                    None => {
                        problems.add("tickets.url", "is required for the webhook sink");
                        None
                    }
                };
                let secret = match &self.secret {
                    Some(secret) if secret.expose().len() >= MIN_TOKEN_LEN => Some(secret.clone()),
                    _ => {
                        problems.add(
                            "tickets.secret",
                            format!("the webhook sink needs a secret of at least {MIN_TOKEN_LEN} bytes"),
                        );
                        None
                    }
                };
                url.zip(secret).map(|(url, secret)| SinkSettings::Webhook { url, secret })
            }
            SinkKind::Zendesk => match &self.zendesk {
                Some(zendesk) => problems
                    .take(check_url("tickets.zendesk.base_url", &zendesk.base_url))
                    .map(|()| SinkSettings::Zendesk(zendesk.clone())),
                None => {
                    problems.add("tickets.zendesk", "is required for the zendesk sink");
                    None
                }
            },
            SinkKind::Jira => match &self.jira {
                Some(jira) => problems
                    .take(check_url("tickets.jira.base_url", &jira.base_url))
                    .map(|()| SinkSettings::Jira(jira.clone())),
                None => {
                    problems.add("tickets.jira", "is required for the jira sink");
                    None
                }
            },
        };
        let sink = sink.filter(|_| problems.clean_since(mark))?;
        Some(TicketSettings { sink, max_attempts: self.max_attempts, timeout: self.timeout.0 })
    }
}
