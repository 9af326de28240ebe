//! The transactions a network's tracker watches, read from the in-flight
//! index once per tick (see `store/in_flight.rs`). Keyed by the end of the
//! hash, which is all a member carries: a block's transactions are matched
//! to candidates without reading records, and each candidate's record then
//! confirms the full hash.

use std::collections::HashMap;

use crate::domain::WithdrawalId;
use crate::store::in_flight::{self, InFlightEntry};

#[derive(Debug, Default)]
pub struct Watched {
    /// Several withdrawals may share a tail: one transaction paying several
    /// of them, or (rarely) two hashes ending alike.
    by_tail: HashMap<String, Vec<WithdrawalId>>,
    not_looked_up: Vec<WithdrawalId>,
}

impl Watched {
    pub fn from_entries(entries: impl IntoIterator<Item = InFlightEntry>) -> Watched {
        let mut watched = Watched::default();
        for entry in entries {
            if !entry.looked_up {
                watched.not_looked_up.push(entry.id.clone());
            }
            watched.by_tail.entry(entry.hash_tail).or_default().push(entry.id);
        }
        watched
    }

    /// The withdrawals that may be paid by `txid`; their records tell for sure.
    pub fn candidates(&self, txid: &str) -> &[WithdrawalId] {
        self.by_tail.get(in_flight::hash_tail(txid)).map_or(&[], Vec::as_slice)
    }

    /// Whether `txid` may already be watched. A transaction whose hash ends
    /// like a watched one's (one chance in 2^40 per pair for hex) is passed
    /// over by discovery until that one leaves the index.
    pub fn may_hold(&self, txid: &str) -> bool {
        !self.candidates(txid).is_empty()
    }

    pub fn add(&mut self, txid: &str, id: WithdrawalId) {
        self.by_tail.entry(in_flight::hash_tail(txid).to_owned()).or_default().push(id);
    }

    /// Broadcast transactions the tracker has not looked up yet.
    pub fn not_looked_up(&self) -> &[WithdrawalId] {
        &self.not_looked_up
    }

    pub fn ids(&self) -> impl Iterator<Item = &WithdrawalId> {
        self.by_tail.values().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, tail: &str, looked_up: bool) -> InFlightEntry {
        InFlightEntry { id: WithdrawalId::parse(id).unwrap(), hash_tail: tail.into(), looked_up }
    }

    #[test]
    fn candidates_are_found_by_the_end_of_the_hash_and_shared_tails_keep_every_withdrawal() {
        let mut watched = Watched::from_entries([entry("w-1", "0123456789", true), entry("w-2", "0123456789", false)]);
        let ids = |s: &[WithdrawalId]| s.iter().map(|id| id.to_string()).collect::<Vec<_>>();
        assert_eq!(ids(watched.candidates(&format!("{}0123456789", "f".repeat(54)))), ["w-1", "w-2"]);
        assert!(!watched.may_hold(&"f".repeat(64)));
        assert_eq!(ids(watched.not_looked_up()), ["w-2"]);
        watched.add(&"e".repeat(64), WithdrawalId::parse("w-3").unwrap());
        assert!(watched.may_hold(&"e".repeat(64)));
        assert_eq!(watched.ids().count(), 3);
    }
}
