//! The indexes both stores keep. Every index is a set of member strings read
//! in byte order; a member is `<sortable prefix>|<id>`, so one mechanism
//! serves newest-first lists, earliest-first deadlines and any later queue.
//!
//! Every index entry costs store memory for each withdrawal, so there are no
//! two indexes where one can be read as a merge of others: a list by state
//! alone (or network alone) merges the state+network indexes, and indexes
//! only ever counted (see [`IndexKey::is_counted_only`]) are kept as counts.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};

use super::in_flight;
use super::ListQuery;
use crate::domain::escalation::{DeliveryStatus, Escalation, TicketStatus};
use crate::domain::sla::SlaStatus;
use crate::domain::{Network, State, UserId, Withdrawal, WithdrawalId};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IndexKey {
    /// Newest `requested_at` first.
    All,
    User(UserId),
    /// Lists by state, by network, or both: each a merge of these.
    StateNetwork(State, Network),
    /// Earliest `next_deadline_at` first: what background work is due.
    Deadlines,
    /// Overdue, not terminal withdrawals, most late (earliest `overdue_at`)
    /// first; all networks, or one.
    Overdue(Option<Network>),
    /// Withdrawals with an escalation in that status, newest ticket first.
    Tickets(TicketStatus),
    /// Withdrawals in flight by SLA status and network: counted only, for metrics.
    Sla(SlaStatus, Network),
    /// Withdrawals with a ticket delivery waiting to go out: counted only, for metrics.
    OutboxPending,
    /// Transactions the chain tracker watches on a network, broadcast ones
    /// by when they were last known alive: see `in_flight.rs`.
    InFlight(Network),
    /// Pending withdrawals without a hash, by when discovery should look.
    Undiscovered(Network),
    /// Terminal withdrawals by when they became terminal, earliest first:
    /// what retention deletes, read up to `now - retention.terminal_for`.
    Terminal,
}

/// One entry of one index.
pub type IndexEntry = (IndexKey, String);

/// How a list query is served: one index, or a merge of several that share
/// an order and never hold the same record twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListPlan {
    /// Read one index; `filtered` when its items still need the query's state
    /// and network filter (only one user's index, which is small).
    One {
        index: IndexKey,
        filtered: bool,
    },
    Merge(Vec<IndexKey>),
}

impl ListPlan {
    pub fn for_query(query: &ListQuery) -> ListPlan {
        let one = |index, filtered| ListPlan::One { index, filtered };
        match (&query.user_id, query.state, query.network) {
            (Some(user), None, None) => one(IndexKey::User(user.clone()), false),
            (Some(user), _, _) => one(IndexKey::User(user.clone()), true),
            (None, Some(state), Some(network)) => one(IndexKey::StateNetwork(state, network), false),
            (None, Some(state), None) => {
                ListPlan::Merge(Network::ALL.into_iter().map(|n| IndexKey::StateNetwork(state, n)).collect())
            }
            (None, None, Some(network)) => {
                ListPlan::Merge(State::ALL.into_iter().map(|s| IndexKey::StateNetwork(s, network)).collect())
            }
            (None, None, None) => one(IndexKey::All, false),
        }
    }
}

impl IndexKey {
    /// Indexes nothing reads but their size: stores keep a count instead of
    /// the members, and refuse to range over them.
    pub fn is_counted_only(&self) -> bool {
        matches!(self, IndexKey::Sla(..) | IndexKey::OutboxPending)
    }

    pub fn suffix(&self) -> String {
        match self {
            IndexKey::All => "all".to_owned(),
            IndexKey::User(user) => format!("user:{user}"),
            IndexKey::StateNetwork(state, network) => format!("sn:{state}:{network}"),
            IndexKey::Deadlines => "deadlines".to_owned(),
            IndexKey::Overdue(None) => "overdue".to_owned(),
            IndexKey::Overdue(Some(network)) => format!("overdue:{network}"),
            IndexKey::Tickets(status) => format!("tickets:{}", status.as_str()),
            IndexKey::Sla(status, network) => format!("sla:{}:{network}", status.as_str()),
            IndexKey::OutboxPending => "outbox".to_owned(),
            IndexKey::InFlight(network) => format!("inflight:{network}"),
            IndexKey::Undiscovered(network) => format!("undiscovered:{network}"),
            IndexKey::Terminal => "terminal".to_owned(),
        }
    }
}

/// Every index entry a record has, derived from the record alone.
pub fn entries(withdrawal: &Withdrawal) -> Vec<IndexEntry> {
    let newest_first = newest_first_key(withdrawal);
    let mut entries = vec![
        (IndexKey::All, newest_first.clone()),
        (IndexKey::User(withdrawal.user_id.clone()), newest_first.clone()),
        (IndexKey::StateNetwork(withdrawal.state(), withdrawal.network), newest_first),
    ];
    if let Some(at) = withdrawal.next_deadline_at {
        entries.push((IndexKey::Deadlines, time_key(at, &withdrawal.id)));
    }
    if let Some(sla) = withdrawal.sla.as_ref().filter(|_| !withdrawal.state().is_terminal()) {
        let member = time_key(sla.overdue_at, &withdrawal.id);
        entries.push((IndexKey::Sla(sla.status, withdrawal.network), member.clone()));
        if sla.status == SlaStatus::Overdue {
            entries.push((IndexKey::Overdue(None), member.clone()));
            entries.push((IndexKey::Overdue(Some(withdrawal.network)), member));
        }
    }
    if let Some(member) = in_flight::member(withdrawal) {
        entries.push((IndexKey::InFlight(withdrawal.network), member));
    }
    if withdrawal.state() == State::Pending && withdrawal.tx_hash().is_none() {
        let at = withdrawal.chain().discovery_next_at.unwrap_or(withdrawal.created_at);
        entries.push((IndexKey::Undiscovered(withdrawal.network), time_key(at, &withdrawal.id)));
    }
    if let Some(at) = withdrawal.terminal_at() {
        entries.push((IndexKey::Terminal, time_key(at, &withdrawal.id)));
    }
    if let Some(escalation) = &withdrawal.escalation {
        let member = newest_first_time_key(escalation.opened_at, &withdrawal.id);
        entries.push((IndexKey::Tickets(escalation.status), member.clone()));
        if has_pending_delivery(escalation) {
            entries.push((IndexKey::OutboxPending, member));
        }
    }
    entries
}

fn has_pending_delivery(escalation: &Escalation) -> bool {
    escalation.deliveries.iter().any(|d| matches!(d.status, DeliveryStatus::Pending | DeliveryStatus::InFlight))
}

/// What an update must remove and add so the indexes match `next`.
pub fn changes(current: &Withdrawal, next: &Withdrawal) -> (Vec<IndexEntry>, Vec<IndexEntry>) {
    let old = entries(current);
    let new = entries(next);
    let removed = old.iter().filter(|e| !new.contains(e)).cloned().collect();
    let added = new.into_iter().filter(|e| !old.contains(e)).collect();
    (removed, added)
}

pub fn matches(query: &ListQuery, withdrawal: &Withdrawal) -> bool {
    query.state.is_none_or(|s| s == withdrawal.state()) && query.network.is_none_or(|n| n == withdrawal.network)
}

/// Milliseconds from 0000-01-01 to 9999-12-31 fit in 15 digits.
const TIME_DIGITS_MAX: i64 = 999_999_999_999_999;
const EPOCH_OFFSET_MS: i64 = 62_167_219_200_000;

fn millis_from_year_zero(at: DateTime<Utc>) -> i64 {
    (at.timestamp_millis() + EPOCH_OFFSET_MS).clamp(0, TIME_DIGITS_MAX)
}

/// Byte order is newest `requested_at` first, then id.
pub fn newest_first_key(withdrawal: &Withdrawal) -> String {
    newest_first_time_key(withdrawal.requested_at.to_utc(), &withdrawal.id)
}

/// Byte order is latest `at` first, then id.
pub fn newest_first_time_key(at: DateTime<Utc>, id: &WithdrawalId) -> String {
    format!("{:015}|{id}", TIME_DIGITS_MAX - millis_from_year_zero(at))
}

/// Byte order is earliest `at` first, then id.
pub fn time_key(at: DateTime<Utc>, id: &WithdrawalId) -> String {
    format!("{:015}|{id}", millis_from_year_zero(at))
}

/// The greatest member whose time is `at`: `~` sorts after every id character.
pub fn time_key_upper_bound(at: DateTime<Utc>) -> String {
    format!("{:015}|~", millis_from_year_zero(at))
}

pub fn id_of_member(member: &str) -> Option<WithdrawalId> {
    member.split_once('|').and_then(|(_, id)| WithdrawalId::parse(id).ok())
}

/// Where the previous page ended: the member of its last item, opaque to
/// clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

impl Cursor {
    pub fn at_member(member: String) -> Cursor {
        Cursor(member)
    }

    pub fn member(&self) -> &str {
        &self.0
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.0)
    }

    pub fn decode(raw: &str) -> Option<Cursor> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        let member = String::from_utf8(bytes).ok()?;
        let (digits, _) = member.split_once('|')?;
        let well_formed = digits.len() == 15 && digits.bytes().all(|b| b.is_ascii_digit());
        (well_formed && id_of_member(&member).is_some()).then_some(Cursor(member))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let cursor = Cursor(format!("{:015}|w-1", 42));
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        for junk in ["", "!!", "bm90IGEgY3Vyc29y", &URL_SAFE_NO_PAD.encode("000000000000042|a/b")] {
            assert_eq!(Cursor::decode(junk), None, "{junk}");
        }
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn cursors_round_trip(digits in 0i64..=TIME_DIGITS_MAX, id in "[A-Za-z0-9_.:-]{1,64}") {
            let cursor = Cursor::at_member(format!("{digits:015}|{id}"));
            let encoded = cursor.encode();
            prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            prop_assert_eq!(Cursor::decode(&encoded), Some(cursor));
        }

        #[test]
        fn cursor_decode_never_panics(raw in prop_oneof![".{0,120}", "[A-Za-z0-9_=+/-]{0,120}"]) {
            if let Some(cursor) = Cursor::decode(&raw) {
                // Whatever decodes is a member this service could have issued.
                let (digits, id) = cursor.member().split_once('|').unwrap();
                prop_assert!(digits.len() == 15 && digits.bytes().all(|b| b.is_ascii_digit()));
                prop_assert!(WithdrawalId::parse(id).is_ok());
                prop_assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
            }
        }

        #[test]
        fn cursors_with_a_bad_member_are_refused(digits in "[0-9]{0,20}", id in ".{0,70}") {
            let member = format!("{digits}|{id}");
            let valid = digits.len() == 15 && WithdrawalId::parse(&id).is_ok();
            prop_assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode(&member)).is_some(), valid, "{:?}", member);
        }
    }

    #[test]
    fn plan_reads_the_narrowest_exact_index_or_merges_exact_ones() {
        let user = UserId::parse("u").unwrap();
        let q = |user_id: Option<UserId>, state, network| ListQuery { user_id, state, network, after: None, limit: 1 };
        let one = |index, filtered| ListPlan::One { index, filtered };
        assert_eq!(ListPlan::for_query(&q(None, None, None)), one(IndexKey::All, false));
        assert_eq!(ListPlan::for_query(&q(Some(user.clone()), None, None)), one(IndexKey::User(user.clone()), false));
        assert_eq!(
            ListPlan::for_query(&q(Some(user.clone()), Some(State::Failed), None)),
            one(IndexKey::User(user), true)
        );
        assert_eq!(
            ListPlan::for_query(&q(None, Some(State::Failed), Some(Network::Eth))),
            one(IndexKey::StateNetwork(State::Failed, Network::Eth), false)
        );
        let ListPlan::Merge(by_state) = ListPlan::for_query(&q(None, Some(State::Failed), None)) else { panic!() };
        assert_eq!(by_state.len(), Network::ALL.len());
        assert!(by_state.iter().all(|i| matches!(i, IndexKey::StateNetwork(State::Failed, _))));
        let ListPlan::Merge(by_network) = ListPlan::for_query(&q(None, None, Some(Network::Eth))) else { panic!() };
        assert_eq!(by_network.len(), State::ALL.len());
        assert!(by_network.iter().all(|i| matches!(i, IndexKey::StateNetwork(_, Network::Eth))));
    }

    #[test]
    fn a_fresh_withdrawal_has_one_entry_per_question_asked_of_it() {
        let fresh = crate::domain::sample_withdrawal("w-1", "2026-03-02T10:00:00Z", false);
        let kinds: Vec<String> = entries(&fresh).iter().map(|(key, _)| key.suffix()).collect();
        assert_eq!(kinds, ["all", "user:u", "sn:pending:BTC", "undiscovered:BTC"]);
    }

    #[test]
    fn only_terminal_withdrawals_are_in_the_terminal_index_by_when_they_ended() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let mut w = crate::domain::sample_withdrawal("w-1", "2026-03-02T10:00:00Z", false);
        assert!(!entries(&w).iter().any(|(key, _)| *key == IndexKey::Terminal));
        w.cancel("rejected", t("2026-03-04T08:00:00Z")).unwrap();
        w.updated_at = t("2026-03-05T00:00:00Z");
        assert_eq!(w.terminal_at(), Some(t("2026-03-04T08:00:00Z")), "the history entry that ended it");
        let terminal: Vec<_> = entries(&w).into_iter().filter(|(key, _)| *key == IndexKey::Terminal).collect();
        assert_eq!(terminal, [(IndexKey::Terminal, time_key(t("2026-03-04T08:00:00Z"), &w.id))]);
    }

    #[test]
    fn time_keys_sort_by_time_then_id_and_bounds_include_every_id() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let id = |s: &str| WithdrawalId::parse(s).unwrap();
        let early = time_key(t("2026-01-01T00:00:00Z"), &id("zzz"));
        let late = time_key(t("2026-01-01T00:00:00.001Z"), &id("AAA"));
        assert!(early < late);
        assert!(late <= time_key_upper_bound(t("2026-01-01T00:00:00.001Z")));
        assert!(
            time_key(t("2026-01-01T00:00:00.002Z"), &id("0")) > time_key_upper_bound(t("2026-01-01T00:00:00.001Z"))
        );
    }
}
