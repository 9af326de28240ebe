//! The status view as JSON, written by hand: the bytes serde_json writes
//! for [`WithdrawalView`] (its `Serialize` stays the definition), about
//! twice as fast. Serializing the view was the largest cost of a `GET` the
//! service controls (docs/PERFORMANCE.md, "Session 11"): serde writes every
//! key as an escaped string of its own, where here each key, with its quotes,
//! colon and comma, is one constant copy. The parts that are usually `null`
//! (escalation, delay, network notice) and the enums go through serde_json.
//!
//! A field added to the view must be added here too: in debug builds every
//! view the HTTP API serves is compared with serde_json's bytes (see
//! `http::withdrawals`), so the test suite fails until it is.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{SlaView, WithdrawalList, WithdrawalView};
use crate::domain::rfc3339;
use crate::json::write_string;

/// About the size of a view: one allocation, no growing.
const VIEW_BYTES: usize = 1536;

/// `view` as compact JSON.
pub fn view_to_vec(view: &WithdrawalView<'_>) -> Vec<u8> {
    let mut out = Out(Vec::with_capacity(VIEW_BYTES));
    out.view(view);
    out.0
}

/// A page of views as compact JSON.
pub fn list_to_vec(list: &WithdrawalList<'_>) -> Vec<u8> {
    let mut out = Out(Vec::with_capacity(VIEW_BYTES * list.items.len() + 64));
    out.raw(b"{\"items\":[");
    for (n, view) in list.items.iter().enumerate() {
        if n > 0 {
            out.raw(b",");
        }
        out.view(view);
    }
    out.raw(b"],\"next_cursor\":");
    out.optional_string(list.next_cursor.as_deref());
    out.raw(b"}");
    out.0
}

struct Out(Vec<u8>);

impl Out {
    fn raw(&mut self, bytes: &'static [u8]) {
        self.0.extend_from_slice(bytes);
    }

    fn string(&mut self, text: &str) {
        write_string(&mut self.0, text);
    }

    fn optional_string(&mut self, text: Option<&str>) {
        match text {
            Some(text) => self.string(text),
            None => self.raw(b"null"),
        }
    }

    fn optional_number(&mut self, number: Option<u64>) {
        match number {
            Some(number) => self.0.extend_from_slice(itoa::Buffer::new().format(number).as_bytes()),
            None => self.raw(b"null"),
        }
    }

    fn time(&mut self, at: &DateTime<Utc>) {
        rfc3339::push_json(at, &mut self.0);
    }

    fn optional_time(&mut self, at: Option<&DateTime<Utc>>) {
        match at {
            Some(at) => self.time(at),
            None => self.raw(b"null"),
        }
    }

    /// What serde_json writes for `value`: enums, numbers with a fraction,
    /// and the parts of the view that are rarely there.
    fn serde(&mut self, value: &impl Serialize) {
        serde_json::to_writer(&mut self.0, value).expect("view parts serialize");
    }

    fn view(&mut self, view: &WithdrawalView<'_>) {
        self.raw(b"{\"id\":");
        self.string(view.id);
        self.raw(b",\"user_id\":");
        self.string(view.user_id);
        self.raw(b",\"coin\":");
        self.string(view.coin);
        self.raw(b",\"network\":");
        self.serde(&view.network);
        self.raw(b",\"address\":");
        self.string(view.address);
        self.raw(b",\"memo\":");
        self.optional_string(view.memo);
        self.raw(b",\"amount\":");
        self.string(view.amount);
        self.raw(b",\"requested_at\":");
        self.time(&view.requested_at);
        self.raw(b",\"state\":");
        self.serde(&view.state);
        self.raw(b",\"tx_hash\":");
        self.optional_string(view.tx_hash);
        self.raw(b",\"confirmations\":");
        self.optional_number(view.confirmations);
        self.raw(b",\"required_confirmations\":");
        self.optional_number(view.required_confirmations);
        self.raw(b",\"block_height\":");
        self.optional_number(view.block_height);
        self.raw(b",\"explorer_url\":");
        self.optional_string(view.explorer_url.as_deref());
        self.raw(b",\"completed_at\":");
        self.optional_time(view.completed_at.as_ref());
        self.raw(b",\"sla\":");
        match &view.sla {
            Some(sla) => self.sla(sla),
            None => self.raw(b"null"),
        }
        self.raw(b",\"escalation\":");
        self.serde(&view.escalation);
        self.raw(b",\"payee_mismatch\":");
        self.optional_string(view.payee_mismatch);
        self.raw(b",\"eta\":{\"p50\":");
        self.optional_time(view.eta.p50.as_ref());
        self.raw(b",\"p90\":");
        self.optional_time(view.eta.p90.as_ref());
        self.raw(b",\"basis\":");
        self.serde(&view.eta.basis);
        self.raw(b"},\"delay\":");
        self.serde(&view.delay);
        self.raw(b",\"network_notice\":");
        self.serde(&view.network_notice);
        self.raw(b",\"message\":");
        self.string(&view.message);
        self.raw(b",\"history\":[");
        for (n, entry) in view.history.iter().enumerate() {
            self.raw(if n == 0 { b"{\"at\":" } else { b",{\"at\":" });
            self.time(&entry.at);
            self.raw(b",\"state\":");
            self.serde(&entry.state);
            self.raw(b",\"reason\":");
            self.string(&entry.reason);
            self.raw(b"}");
        }
        self.raw(b"]}");
    }

    fn sla(&mut self, sla: &SlaView) {
        self.raw(b"{\"status\":");
        self.serde(&sla.status);
        self.raw(b",\"at_risk_at\":");
        self.time(&sla.at_risk_at);
        self.raw(b",\"overdue_at\":");
        self.time(&sla.overdue_at);
        self.raw(b",\"working_days_elapsed\":");
        self.serde(&sla.working_days_elapsed);
        if let Some(paused) = sla.paused_working_days {
            self.raw(b",\"paused_working_days\":");
            self.serde(&paused);
        }
        self.raw(b"}");
    }
}
