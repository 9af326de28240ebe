//! What callers see of a withdrawal: the status view, used by the HTTP API and
//! sent along with tickets.

pub mod json;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::escalation::{Delivery, Escalation, TicketStatus, Trigger};
use crate::domain::eta::{self, Delay, Eta};
use crate::domain::message::{delay_message, status_message_with, Language};
use crate::domain::network_status::{self, NetworkStatus};
use crate::domain::sla::{self, SlaStatus, WorkingTime};
use crate::domain::{rfc3339, HistoryEntry, Network, State, Withdrawal};
use crate::eta::EtaBook;
use crate::networks::NetworkBoard;
use crate::service::Service;

/// Everything a view needs besides the record.
pub struct ViewContext<'a> {
    pub calendar: &'a dyn WorkingTime,
    pub now: DateTime<Utc>,
    pub language: Language,
    /// The arrival estimate's inputs per network.
    pub eta: &'a EtaBook,
    /// Each network's status (maintenance, halts) and the SLA's pauses.
    pub networks: &'a NetworkBoard,
}

impl<'a> ViewContext<'a> {
    /// As of the service's clock now.
    pub fn new(service: &'a Service, language: Language) -> Self {
        ViewContext {
            calendar: service.calendar.as_ref(),
            now: service.now(),
            language,
            eta: &service.eta,
            networks: &service.networks,
        }
    }
}

/// What the user is told about the withdrawal's network while it is in
/// maintenance or halted.
#[derive(Debug, Serialize)]
pub struct NetworkNoticeView {
    pub status: NetworkStatus,
    pub message: String,
    #[serde(with = "rfc3339::option")]
    pub expected_end: Option<DateTime<Utc>>,
    pub suspends_withdrawals: bool,
    /// The network's open incident, if any.
    pub incident: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SlaView {
    /// As of now, not as of the last sweep.
    pub status: SlaStatus,
    #[serde(with = "rfc3339")]
    pub at_risk_at: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub overdue_at: DateTime<Utc>,
    pub working_days_elapsed: f64,
    /// Working days of declared maintenance the deadlines skipped
    /// (`sla.pause_during_maintenance`); absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_working_days: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct EscalationView<'a> {
    pub status: TicketStatus,
    pub level: u8,
    pub reason: Trigger,
    pub ticket_id: Option<&'a str>,
    #[serde(with = "rfc3339")]
    pub opened_at: DateTime<Utc>,
    #[serde(with = "rfc3339::option")]
    pub raised_at: Option<DateTime<Utc>>,
    #[serde(with = "rfc3339::option")]
    pub resolved_at: Option<DateTime<Utc>>,
}

impl<'a> EscalationView<'a> {
    pub fn new(escalation: &'a Escalation) -> Self {
        EscalationView {
            status: escalation.status,
            level: escalation.level,
            reason: escalation.reason,
            ticket_id: escalation.ticket_id.as_deref(),
            opened_at: escalation.opened_at,
            raised_at: escalation.raised_at,
            resolved_at: escalation.resolved_at,
        }
    }
}

/// Why a withdrawal is late, with the reason in the reader's language.
#[derive(Debug, Serialize)]
pub struct DelayView {
    #[serde(flatten)]
    pub delay: Delay,
    pub message: String,
}

#[derive(Debug, Serialize)]
pub struct WithdrawalView<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub coin: &'a str,
    pub network: Network,
    pub address: &'a str,
    pub memo: Option<&'a str>,
    pub amount: &'a str,
    /// In UTC, like every time the API writes; the record keeps the offset
    /// it was sent with.
    #[serde(with = "rfc3339")]
    pub requested_at: DateTime<Utc>,
    pub state: State,
    pub tx_hash: Option<&'a str>,
    pub confirmations: Option<u64>,
    pub required_confirmations: Option<u64>,
    pub block_height: Option<u64>,
    pub explorer_url: Option<String>,
    #[serde(with = "rfc3339::option")]
    pub completed_at: Option<DateTime<Utc>>,
    pub sla: Option<SlaView>,
    pub escalation: Option<EscalationView<'a>>,
    pub payee_mismatch: Option<&'a str>,
    /// When it is expected to complete (p50, p90) and on what basis.
    pub eta: Eta,
    /// Why it is late; `None` while on track.
    pub delay: Option<DelayView>,
    /// Present while the network is in maintenance or halted; `message`
    /// carries the same sentence.
    pub network_notice: Option<NetworkNoticeView>,
    pub message: String,
    pub history: &'a [HistoryEntry],
}

impl<'a> WithdrawalView<'a> {
    pub fn new(w: &'a Withdrawal, context: &ViewContext<'_>) -> Self {
        let sla = w.sla.as_ref().map(|deadlines| SlaView {
            status: sla::status_at(deadlines, w, context.now),
            at_risk_at: deadlines.at_risk_at,
            overdue_at: deadlines.overdue_at,
            working_days_elapsed: sla::working_days_elapsed(context.calendar, w, context.now),
            paused_working_days: paused_working_days(w, context),
        });
        let estimate = eta::estimate(w, &context.eta.inputs(w.network), context.now);
        let network_notice = (!w.state().is_terminal()).then(|| network_notice(w.network, context)).flatten();
        let mut message = status_message_with(w, &estimate, context.now, context.language);
        if let Some(notice) = &network_notice {
            message.push(' ');
            message.push_str(&notice.message);
        }
        WithdrawalView {
            id: w.id.as_str(),
            user_id: w.user_id.as_str(),
            coin: &w.coin,
            network: w.network,
            address: &w.address,
            memo: w.memo.as_deref(),
            amount: w.amount.as_str(),
            requested_at: w.requested_at.to_utc(),
            state: w.state(),
            tx_hash: w.tx_hash().map(|h| h.as_str()),
            confirmations: w.chain().confirmations,
            required_confirmations: w.chain().required_confirmations,
            block_height: w.chain().block_height,
            explorer_url: w.tx_hash().and_then(|h| w.network.explorer_tx_url(h.as_str())),
            completed_at: w.completed_at(),
            sla,
            escalation: w.escalation.as_ref().map(EscalationView::new),
            payee_mismatch: w.chain().payee_mismatch.as_deref(),
            eta: estimate.eta,
            delay: estimate
                .delay
                .map(|delay| DelayView { message: delay_message(&delay, w.network, context.language), delay }),
            network_notice,
            message,
            history: w.history(),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("the view serializes")
    }
}

fn network_notice(network: Network, context: &ViewContext<'_>) -> Option<NetworkNoticeView> {
    let record = context.networks.record(network);
    let message = network_status::notice(network, &record, context.language, context.networks.zone())?;
    let maintenance = record.maintenance.as_ref();
    Some(NetworkNoticeView {
        status: record.status().0,
        message,
        expected_end: maintenance.and_then(|m| m.expected_end),
        suspends_withdrawals: maintenance.is_some_and(|m| m.suspends_withdrawals),
        incident: record.open_incident().map(|i| i.id.clone()),
    })
}

fn paused_working_days(w: &Withdrawal, context: &ViewContext<'_>) -> Option<f64> {
    let pauses = context.networks.sla_pauses(w.network);
    if pauses.is_empty() {
        return None;
    }
    let end = sla::clock_end(w, context.now);
    let seconds = sla::paused_working_seconds(context.calendar, w.requested_at.to_utc(), end, &pauses, context.now);
    let days = seconds as f64 / context.calendar.working_day_seconds() as f64;
    (seconds > 0).then_some((days * 100.0).round() / 100.0)
}

#[derive(Debug, Serialize)]
pub struct WithdrawalList<'a> {
    pub items: Vec<WithdrawalView<'a>>,
    pub next_cursor: Option<String>,
}

/// Support's view of an escalation: the ticket, its deliveries with every
/// attempt, and the withdrawal.
#[derive(Debug, Serialize)]
pub struct TicketView<'a> {
    pub withdrawal_id: &'a str,
    #[serde(flatten)]
    pub escalation: EscalationView<'a>,
    pub deliveries: &'a [Delivery],
    pub withdrawal: WithdrawalView<'a>,
}

impl<'a> TicketView<'a> {
    pub fn new(w: &'a Withdrawal, escalation: &'a Escalation, context: &ViewContext<'_>) -> Self {
        TicketView {
            withdrawal_id: w.id.as_str(),
            escalation: EscalationView::new(escalation),
            deliveries: &escalation.deliveries,
            withdrawal: WithdrawalView::new(w, context),
        }
    }
}

/// An incident as support, the API and the webhook see it (its outbox
/// aside): what happened, the late withdrawals it holds and, once closed,
/// which recovered.
#[derive(Debug, Serialize)]
pub struct IncidentView<'a> {
    pub id: &'a str,
    pub network: Network,
    pub status: &'static str,
    pub cause: crate::domain::incident::IncidentCause,
    pub note: &'a str,
    pub reason: Option<&'a crate::domain::network_status::Reason>,
    #[serde(with = "rfc3339")]
    pub opened_at: DateTime<Utc>,
    pub opened_by: &'a str,
    #[serde(with = "rfc3339::option")]
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<&'a str>,
    pub affected_count: u64,
    /// More went late than the incident lists.
    pub truncated: bool,
    pub affected: Vec<&'a str>,
    pub recovered: &'a [String],
    pub still_late: &'a [String],
    pub ticket_id: Option<&'a str>,
}

impl<'a> IncidentView<'a> {
    pub fn new(incident: &'a crate::domain::incident::Incident) -> Self {
        IncidentView {
            id: &incident.id,
            network: incident.network,
            status: if incident.is_open() { "open" } else { "closed" },
            cause: incident.cause,
            note: &incident.note,
            reason: incident.reason.as_ref(),
            opened_at: incident.opened_at,
            opened_by: &incident.opened_by,
            closed_at: incident.closed_at,
            closed_by: incident.closed_by.as_deref(),
            affected_count: incident.affected_count(),
            truncated: incident.truncated,
            affected: incident.affected.iter().map(String::as_str).collect(),
            recovered: &incident.recovered,
            still_late: &incident.still_late,
            ticket_id: incident.ticket_id.as_deref(),
        }
    }
}
