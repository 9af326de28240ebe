//! The list indexes both stores keep, and the order and cursor they share.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::ListQuery;
use crate::domain::{Network, State, UserId, Withdrawal, WithdrawalId};

/// One list index. A record is in `All`, its user's, its state's, its
/// network's and its state-and-network's index; a query reads the narrowest
/// one that answers it exactly, filtering only within one user's records.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IndexKey {
    All,
    User(UserId),
    State(State),
    Network(Network),
    StateNetwork(State, Network),
}

impl IndexKey {
    pub fn for_record(withdrawal: &Withdrawal) -> [IndexKey; 5] {
        [
            IndexKey::All,
            IndexKey::User(withdrawal.user_id.clone()),
            IndexKey::State(withdrawal.state),
            IndexKey::Network(withdrawal.network),
            IndexKey::StateNetwork(withdrawal.state, withdrawal.network),
        ]
    }

    /// The index to read for a query, and whether items still need the
    /// query's state and network filter (only when reading one user's index).
    pub fn plan(query: &ListQuery) -> (IndexKey, bool) {
        match (&query.user_id, query.state, query.network) {
            (Some(user), None, None) => (IndexKey::User(user.clone()), false),
            (Some(user), _, _) => (IndexKey::User(user.clone()), true),
            (None, Some(state), Some(network)) => (IndexKey::StateNetwork(state, network), false),
            (None, Some(state), None) => (IndexKey::State(state), false),
            (None, None, Some(network)) => (IndexKey::Network(network), false),
            (None, None, None) => (IndexKey::All, false),
        }
    }

    pub fn suffix(&self) -> String {
        match self {
            IndexKey::All => "all".to_owned(),
            IndexKey::User(user) => format!("user:{user}"),
            IndexKey::State(state) => format!("state:{state}"),
            IndexKey::Network(network) => format!("net:{network}"),
            IndexKey::StateNetwork(state, network) => format!("sn:{state}:{network}"),
        }
    }
}

pub fn matches(query: &ListQuery, withdrawal: &Withdrawal) -> bool {
    query.state.is_none_or(|s| s == withdrawal.state) && query.network.is_none_or(|n| n == withdrawal.network)
}

/// Milliseconds from 0000-01-01 to 9999-12-31 fit in 15 digits; subtracting
/// from this makes the newest sort first in plain byte order.
const NEWEST_FIRST_BASE: i64 = 999_999_999_999_999;
const EPOCH_OFFSET_MS: i64 = 62_167_219_200_000;

/// The member string a record has in every index: byte order is newest
/// `requested_at` first, then id.
pub fn sort_key(withdrawal: &Withdrawal) -> String {
    let millis = withdrawal.requested_at.timestamp_millis() + EPOCH_OFFSET_MS;
    format!("{:015}|{}", NEWEST_FIRST_BASE - millis, withdrawal.id)
}

pub fn id_of_sort_key(key: &str) -> Option<WithdrawalId> {
    key.split_once('|').and_then(|(_, id)| WithdrawalId::parse(id).ok())
}

/// Where the previous page ended: the sort key of its last item, opaque to
/// clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

impl Cursor {
    pub fn after(withdrawal: &Withdrawal) -> Cursor {
        Cursor(sort_key(withdrawal))
    }

    pub fn sort_key(&self) -> &str {
        &self.0
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.0)
    }

    pub fn decode(raw: &str) -> Option<Cursor> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        let key = String::from_utf8(bytes).ok()?;
        let (digits, _) = key.split_once('|')?;
        let well_formed = digits.len() == 15 && digits.bytes().all(|b| b.is_ascii_digit());
        (well_formed && id_of_sort_key(&key).is_some()).then_some(Cursor(key))
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

    #[test]
    fn plan_reads_the_narrowest_exact_index() {
        let user = UserId::parse("u").unwrap();
        let q = |user_id: Option<UserId>, state, network| ListQuery { user_id, state, network, after: None, limit: 1 };
        assert_eq!(IndexKey::plan(&q(None, None, None)), (IndexKey::All, false));
        assert_eq!(IndexKey::plan(&q(Some(user.clone()), None, None)), (IndexKey::User(user.clone()), false));
        assert_eq!(IndexKey::plan(&q(Some(user.clone()), Some(State::Failed), None)), (IndexKey::User(user), true));
        assert_eq!(
            IndexKey::plan(&q(None, Some(State::Failed), Some(Network::Eth))),
            (IndexKey::StateNetwork(State::Failed, Network::Eth), false)
        );
    }
}
