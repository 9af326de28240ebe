//! What a ticket says: enough for support to act without opening anything
//! else. Built from the status view, so it shows what the user sees.

use std::fmt::Write;

use serde_json::Value;

use crate::domain::escalation::{Claimed, TicketEvent};

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
