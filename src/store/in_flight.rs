//! The members of a network's in-flight index: every transaction the chain
//! tracker watches (withdrawals `broadcast` or `confirming` with a hash), in
//! one sorted set that answers all three of the tracker's questions.
//!
//! - Which block transactions are ours? Members carry the hash's last
//!   characters: enough to pick candidates, whose records hold the full hash.
//! - Which broadcast transactions have gone unseen for too long? Members
//!   start with the drop watch time (`broadcast_since`), so the drop check
//!   reads a range; confirming ones start with [`NOT_WATCHED`] and never fall
//!   in it.
//! - Which broadcast ones were never looked up? A one-character flag.
//!
//! Member: `<watch time: 6 chars><flag: n|s><hash tail>|<id>`. Every member
//! costs Redis memory per withdrawal in flight, and a member of up to 28
//! bytes is stored in a 32-byte allocation (the next size is 48), so the
//! time is seconds in six order-preserving base-64 digits and the tail is
//! ten characters; with ids of up to 10 characters a member fits. One index
//! instead of three (hashes, drop watch, not yet looked up) saves about 280
//! bytes per broadcast withdrawal (docs/PERFORMANCE.md).

use chrono::{DateTime, Utc};

use crate::domain::{State, Withdrawal, WithdrawalId};

/// In ASCII order, so members sort by time.
const DIGITS: &[u8; 64] = b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
const TIME_CHARS: usize = 6;
/// Above every encoded time (64^6 seconds after 1970, year 4147).
pub const NOT_WATCHED: &str = "zzzzzz";
const LATEST_SECOND: i64 = 64i64.pow(TIME_CHARS as u32) - 2;
const TAIL_CHARS: usize = 10;
const NOT_LOOKED_UP: char = 'n';
const LOOKED_UP: char = 's';

/// What the tracker reads from one member, without the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlightEntry {
    pub id: WithdrawalId,
    /// The hash's last characters (all of it when shorter).
    pub hash_tail: String,
    pub looked_up: bool,
}

/// The last characters of a transaction hash, as members carry them.
pub fn hash_tail(hash: &str) -> &str {
    // Hashes are ASCII (see `TxHash::parse`); a char boundary is checked anyway.
    let mut start = hash.len().saturating_sub(TAIL_CHARS);
    while !hash.is_char_boundary(start) {
        start += 1;
    }
    &hash[start..]
}

/// Seconds since 1970 in [`TIME_CHARS`] base-64 digits.
fn encode_seconds(seconds: i64) -> String {
    let mut value = seconds.clamp(0, LATEST_SECOND);
    let mut digits = [0u8; TIME_CHARS];
    for digit in digits.iter_mut().rev() {
        *digit = DIGITS[(value % 64) as usize];
        value /= 64;
    }
    String::from_utf8(digits.to_vec()).expect("ASCII digits")
}

/// Rounded up, so a member at or below [`watched_until`]`(t)` was broadcast
/// (or last seen) at or before `t`: a drop check is never early.
fn encode_time(at: DateTime<Utc>) -> String {
    encode_seconds(at.timestamp() + i64::from(at.timestamp_subsec_nanos() > 0))
}

/// The greatest member whose watch time is at or before `at` (rounded down;
/// `~` sorts after both flags).
pub(crate) fn watched_until(at: DateTime<Utc>) -> String {
    format!("{}~", encode_seconds(at.timestamp()))
}

/// The record's member, if its transaction is in flight.
pub fn member(withdrawal: &Withdrawal) -> Option<String> {
    let hash = withdrawal.tx_hash()?;
    let watch_time = match withdrawal.state() {
        State::Broadcast => crate::domain::tracking::broadcast_since(withdrawal).map(encode_time),
        State::Confirming => None,
        _ => return None,
    };
    // Only a broadcast transaction waits for its first lookup.
    let waits_for_lookup = withdrawal.state() == State::Broadcast && !withdrawal.chain().looked_up;
    let flag = if waits_for_lookup { NOT_LOOKED_UP } else { LOOKED_UP };
    let time = watch_time.unwrap_or_else(|| NOT_WATCHED.to_owned());
    Some(format!("{time}{flag}{}|{}", hash_tail(hash.as_str()), withdrawal.id))
}

pub(crate) fn parse(member: &str) -> Option<InFlightEntry> {
    let (head, id) = member.split_once('|')?;
    let flag = head.get(TIME_CHARS..TIME_CHARS + 1)?;
    let hash_tail = head.get(TIME_CHARS + 1..)?.to_owned();
    let looked_up = match flag.chars().next()? {
        LOOKED_UP => true,
        NOT_LOOKED_UP => false,
        _ => return None,
    };
    Some(InFlightEntry { id: WithdrawalId::parse(id).ok()?, hash_tail, looked_up })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::{sample_withdrawal, tracking};

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_broadcast_member_round_trips_and_fits_the_32_byte_allocation() {
        let w = sample_withdrawal("w-0000001", "2026-03-02T10:00:00Z", true);
        let member = member(&w).unwrap();
        assert!(member.len() <= 28, "{member}: {} bytes", member.len());
        let entry = parse(&member).unwrap();
        assert_eq!(entry, InFlightEntry { id: w.id.clone(), hash_tail: "ab".repeat(5), looked_up: false });
        assert!(w.tx_hash().unwrap().as_str().ends_with(&entry.hash_tail));
    }

    #[test]
    fn only_broadcast_transactions_are_drop_watched_and_only_in_flight_ones_are_members() {
        let broadcast = sample_withdrawal("w-1", "2026-03-02T10:00:00Z", true);
        let since = tracking::broadcast_since(&broadcast).unwrap();
        let watched = member(&broadcast).unwrap();
        assert!(watched <= watched_until(since), "due at its broadcast time");
        assert!(watched > watched_until(since - chrono::Duration::seconds(1)), "not a second before");
        let mut confirming = broadcast.clone();
        confirming.transition(State::Confirming, "in block 100", since).unwrap();
        let unwatched = member(&confirming).unwrap();
        assert!(unwatched.starts_with(NOT_WATCHED));
        assert!(unwatched > watched_until(t("9999-12-31T23:59:59Z")));
        let pending = sample_withdrawal("w-2", "2026-03-02T10:00:00Z", false);
        assert_eq!(member(&pending), None);
    }

    #[test]
    fn junk_members_are_refused() {
        for junk in ["", "|w-1", "AAAAAAx0123|w-1", "AAAAAAs0123|", "AAAAA|w-1", "AAAAAAs0123|a b"] {
            assert_eq!(parse(junk), None, "{junk}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn members_sort_by_watch_time_and_a_bound_never_admits_a_later_one(
            a in 0i64..4_000_000_000_000, b in 0i64..4_000_000_000_000, cutoff in 0i64..4_000_000_000_000,
        ) {
            let at = |ms: i64| DateTime::from_timestamp_millis(ms).unwrap();
            let (ka, kb) = (encode_time(at(a)), encode_time(at(b)));
            if a / 1000 < b / 1000 && a % 1000 == 0 {
                prop_assert!(ka < kb);
            }
            prop_assert!(a > b || ka <= kb);
            let member = format!("{ka}s0123456789|w-1");
            prop_assert_eq!(member <= watched_until(at(cutoff)), a <= cutoff - cutoff.rem_euclid(1000), "{} {}", a, cutoff);
        }
    }
}
