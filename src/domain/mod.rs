//! Pure domain logic: no I/O, no async, no HTTP types.
//!
//! Everything here is a value that was parsed once at the edge and is valid
//! from then on ("parse, don't validate").

pub mod address;
pub mod amount;
pub mod calendar;
pub mod escalation;
pub mod eta;
pub mod ids;
pub mod incident;
pub mod message;
pub mod mortal_era;
pub mod network;
pub mod network_status;
pub mod observation;
pub mod onchain;
pub mod payee;
pub mod rfc3339;
pub mod sla;
pub mod state;
pub mod tracking;
pub mod units;
pub mod withdrawal;

pub use amount::Amount;
pub use ids::{TxHash, UserId, WithdrawalId};
pub use network::Network;
pub use state::State;
pub use withdrawal::{HistoryEntry, Registration, Withdrawal};

/// Why a value from outside could not become a domain value. `field` names the
/// input so the HTTP layer can point at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }
}

/// An RFC 3339 time, for the domain's tests.
#[cfg(test)]
pub(crate) fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().expect("an RFC 3339 time")
}

/// The default working calendar (weekends off, no holidays), for the domain's tests.
#[cfg(test)]
pub(crate) fn default_calendar() -> calendar::WorkingCalendar {
    calendar::WorkingCalendar::from_config(&calendar::CalendarConfig::default(), &[]).unwrap()
}

/// A BTC withdrawal registered at `at` (requested then too), broadcast when
/// `broadcast` is set: the common starting point of the domain's tests.
#[cfg(test)]
pub(crate) fn sample_withdrawal(id: &str, at: &str, broadcast: bool) -> Withdrawal {
    let at: chrono::DateTime<chrono::Utc> = at.parse().expect("an RFC 3339 time");
    let registration = Registration {
        id: WithdrawalId::parse(id).unwrap(),
        user_id: UserId::parse("u").unwrap(),
        coin: "BTC".into(),
        destination: address::ValidatedAddress::parse(Network::Btc, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", None)
            .unwrap(),
        amount: Amount::parse("1").unwrap(),
        requested_at: Some(at.fixed_offset()),
        tx_hash: broadcast.then(|| TxHash::parse(Network::Btc, &"ab".repeat(32)).unwrap()),
    };
    Withdrawal::register(registration, at)
}
