//! What SLA and ticket tests share: the test clock's deadlines and a webhook
//! sink.

use chrono::{DateTime, Utc};
use withdrawal_tracker::config::{Config, Secret, SinkKind};

use withdrawal_tracker::domain::{State, WithdrawalId};

use super::app::{tron_hash, TestApp};

pub const WEBHOOK_SECRET: &str = "webhook-secret-0123456789";

pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

// Requested Monday 2026-03-02 09:00 UTC: at risk Tuesday 09:00, overdue Wednesday 09:00.
pub const OVERDUE: &str = "2026-03-04T09:00:00Z";

/// Sets the test clock to `when` and runs one sweep.
pub async fn sweep_at(app: &TestApp, when: &str) {
    app.clock.set(at(when));
    app.sweeper.sweep_once().await.unwrap();
}

pub fn webhook(url: &str) -> impl FnOnce(&mut Config) + '_ {
    move |config| {
        config.tickets.sink = SinkKind::Webhook;
        config.tickets.url = Some(url.to_owned());
        config.tickets.secret = Some(Secret::from(WEBHOOK_SECRET));
        config.tickets.max_attempts = 4;
    }
}

/// Completes `id` as a confirmed payment would (the hash is made up where
/// none was reported).
pub async fn complete(app: &TestApp, id: &str) {
    let id = WithdrawalId::parse(id).unwrap();
    let now = app.clock_now();
    app.service
        .modify(&id, |w| {
            if w.tx_hash().is_none() {
                w.set_tx_hash(withdrawal_tracker::domain::TxHash::parse(w.network, &tron_hash("aa"))?, now)?;
            }
            w.transition(State::Confirming, "in block", now)?;
            Ok(w.transition(State::Completed, "confirmed", now)?)
        })
        .await
        .unwrap();
}
