//! What a ticket says: enough for support to act without opening anything
//! else. Built from the status view, so it shows what the user sees.

use std::fmt::Write;

use serde_json::Value;

use crate::domain::escalation::{Claimed, TicketEvent};
use crate::domain::incident::Incident;
use crate::domain::rfc3339;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketText {
    pub subject: String,
    pub body: String,
    /// Marks every comment this event writes, so a retry after an uncertain
    /// attempt can see whether the first one landed.
    pub marker: String,
}

fn field(view: &Value, name: &str) -> String {
    match &view[name] {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The delay's code and reason, or that it is on track.
fn delay(view: &Value) -> String {
    match &view["delay"] {
        Value::Null => "none (on track)".to_owned(),
        delay => format!("{}: {}", field(delay, "code"), field(delay, "message")),
    }
}

impl TicketText {
    pub fn new(claimed: &Claimed, view: &Value) -> TicketText {
        let subject = format!(
            "[{}] Withdrawal {} {} {} on {}: {}",
            if claimed.level >= 2 { "URGENT" } else { "escalation" },
            field(view, "id"),
            field(view, "amount"),
            field(view, "coin"),
            field(view, "network"),
            claimed.reason.as_str().replace('_', " "),
        );
        let mut body = String::new();
        let lines = [
            ("Reason", claimed.reason.as_str().to_owned()),
            ("Level", claimed.level.to_string()),
            ("Withdrawal", field(view, "id")),
            ("User", field(view, "user_id")),
            ("Amount", format!("{} {}", field(view, "amount"), field(view, "coin"))),
            ("Network", field(view, "network")),
            ("Address", field(view, "address")),
            ("Memo", field(view, "memo")),
            ("State", field(view, "state")),
            ("Tx hash", field(view, "tx_hash")),
            ("Explorer", field(view, "explorer_url")),
            ("Confirmations", format!("{} of {}", field(view, "confirmations"), field(view, "required_confirmations"))),
            ("Requested at", field(view, "requested_at")),
            ("Overdue at", field(&view["sla"], "overdue_at")),
            ("Working days elapsed", field(&view["sla"], "working_days_elapsed")),
            ("SLA status", field(&view["sla"], "status")),
            ("Delay", delay(view)),
            ("Expected by", format!("{} (p50), {} (p90)", field(&view["eta"], "p50"), field(&view["eta"], "p90"))),
            ("Message", field(view, "message")),
        ];
        for (label, value) in lines {
            let _ = writeln!(body, "{label}: {value}");
        }
        body.push_str("\nHistory:\n");
        for entry in view["history"].as_array().into_iter().flatten() {
            let _ = writeln!(body, "- {} {}: {}", field(entry, "at"), field(entry, "state"), field(entry, "reason"));
        }
        let marker = format!("[ref {}]", claimed.idempotency_key);
        let _ = write!(body, "\n{marker}");
        TicketText { subject, body, marker }
    }

    /// The comment a raise or resolution adds to the existing ticket.
    pub fn update_comment(&self, claimed: &Claimed) -> String {
        let headline = match claimed.event {
            TicketEvent::Raised => "Still not completed: escalated to urgent.",
            TicketEvent::Resolved => "Resolved: the withdrawal reached a final state.",
            TicketEvent::Opened => "Escalation opened.",
        };
        format!("{headline}\n\n{}", self.body)
    }
}

/// What an incident's parent ticket says: what happened, and every late
/// withdrawal it holds (support works them from this one ticket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentText {
    pub subject: String,
    /// The new ticket's description.
    pub body: String,
    /// The comment an update or the close adds.
    pub comment: String,
    /// In every text this event writes, so a retry can see whether it landed.
    pub marker: String,
}

fn id_list(ids: impl ExactSizeIterator<Item = impl std::fmt::Display>) -> String {
    if ids.len() == 0 {
        return "  (none)\n".to_owned();
    }
    ids.map(|id| format!("- {id}\n")).collect()
}

impl IncidentText {
    pub fn new(incident: &Incident, key: &str) -> IncidentText {
        let network = incident.network;
        let count = incident.affected_count();
        let subject = format!(
            "[incident] {} ({}) {}: {count} withdrawal{} late",
            network.display_name(),
            network.code(),
            incident.cause.as_str(),
            if count == 1 { "" } else { "s" },
        );
        let marker = format!("[ref {key}]");
        let mut body = String::new();
        let _ = writeln!(body, "Incident: {}", incident.id);
        let _ = writeln!(body, "Network: {} ({})", network.display_name(), network.code());
        let _ = writeln!(body, "Cause: {}: {}", incident.cause.as_str(), incident.note);
        if let Some(reason) = &incident.reason {
            let _ = writeln!(body, "Told to users: {} / {}", reason.en, reason.zh);
        }
        let _ = writeln!(body, "Opened at: {} by {}", rfc3339::utc_text(&incident.opened_at), incident.opened_by);
        let more = if incident.truncated { " (more than listed)" } else { "" };
        let _ = writeln!(body, "Late withdrawals held in this incident: {count}{more}");
        body.push_str(&id_list(incident.affected.iter()));
        let comment = match incident.closed_at {
            Some(closed_at) => format!(
                "Incident closed at {} by {}.\nRecovered ({}):\n{}Still late ({}), each now gets a ticket of its own:\n{}\n{marker}",
                rfc3339::utc_text(&closed_at),
                incident.closed_by.as_deref().unwrap_or("-"),
                incident.recovered.len(),
                id_list(incident.recovered.iter()),
                incident.still_late.len(),
                id_list(incident.still_late.iter()),
            ),
            None => format!("Update: {count} withdrawals late{more}:\n{}\n{marker}", id_list(incident.affected.iter())),
        };
        let _ = write!(body, "\n{marker}");
        IncidentText { subject, body, comment, marker }
    }
}
