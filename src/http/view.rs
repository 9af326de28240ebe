//! The status view: what callers see of a withdrawal.

use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;

use crate::domain::message::{status_message, Language};
use crate::domain::{HistoryEntry, Network, State, Withdrawal};

#[derive(Debug, Serialize)]
pub struct WithdrawalView<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub coin: &'a str,
    pub network: Network,
    pub address: &'a str,
    pub memo: Option<&'a str>,
    pub amount: &'a str,
    pub requested_at: DateTime<FixedOffset>,
    pub state: State,
    pub tx_hash: Option<&'a str>,
    pub confirmations: Option<u64>,
    pub required_confirmations: Option<u64>,
    pub block_height: Option<u64>,
    pub explorer_url: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Filled by the SLA work; `null` until then.
    pub sla: Option<serde_json::Value>,
    /// Filled by the escalation work; `null` until then.
    pub escalation: Option<serde_json::Value>,
    pub message: String,
    pub history: &'a [HistoryEntry],
}

impl<'a> WithdrawalView<'a> {
    pub fn new(w: &'a Withdrawal, language: Language) -> Self {
        WithdrawalView {
            id: w.id.as_str(),
            user_id: w.user_id.as_str(),
            coin: &w.coin,
            network: w.network,
            address: &w.address,
            memo: w.memo.as_deref(),
            amount: w.amount.as_str(),
            requested_at: w.requested_at,
            state: w.state,
            tx_hash: w.tx_hash.as_ref().map(|h| h.as_str()),
            confirmations: w.confirmations,
            required_confirmations: w.required_confirmations,
            block_height: w.block_height,
            explorer_url: w.tx_hash.as_ref().and_then(|h| w.network.explorer_tx_url(h.as_str())),
            completed_at: w.completed_at,
            sla: None,
            escalation: None,
            message: status_message(w, language),
            history: &w.history,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct WithdrawalList<'a> {
    pub items: Vec<WithdrawalView<'a>>,
    pub next_cursor: Option<String>,
}
