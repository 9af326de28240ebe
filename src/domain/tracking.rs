//! What chain observations do to a withdrawal: confirmations, reorgs,
//! failures, drops, finality. Pure; the chain tracker decides what it saw and
//! calls these through `Service::modify`.

use chrono::{DateTime, Utc};

use super::withdrawal::TransitionError;
use super::{State, TxHash, Withdrawal};

/// The transaction sits in block `height`/`hash` of the best chain whose tip
/// is `tip_height`: confirmations follow, and enough of them complete it.
pub fn observe_in_block(
    w: &mut Withdrawal,
    height: u64,
    hash: &str,
    tip_height: u64,
    required: u64,
    now: DateTime<Utc>,
) -> Result<(), TransitionError> {
    let confirmations = tip_height.saturating_sub(height) + 1;
    let moved = w.block_hash.as_deref().is_some_and(|known| known != hash);
    match w.state {
        State::Broadcast => w.transition(State::Confirming, format!("in block {height}"), now)?,
        State::Confirming if moved => {
            let reason = format!("moved to block {height} after a reorg: {}", stale_block(w));
            w.transition(State::Confirming, reason, now)?
        }
        State::Confirming => {}
        _ => return Ok(()),
    }
    w.block_height = Some(height);
    w.block_hash = Some(hash.to_owned());
    w.confirmations = Some(confirmations);
    w.required_confirmations = Some(required);
    w.chain_seen_at = Some(now);
    if confirmations >= required {
        w.transition(State::Completed, format!("{confirmations} confirmations"), now)?;
    }
    Ok(())
}

/// A pending withdrawal without a hash whose payment was found on chain: it
/// is broadcast with that transaction.
pub fn discover(w: &mut Withdrawal, tx_hash: TxHash, now: DateTime<Utc>) -> Result<(), TransitionError> {
    if w.state != State::Pending || w.tx_hash.is_some() {
        return Ok(());
    }
    let reason = format!("discovered on chain: transaction {tx_hash}");
    w.set_tx_hash(tx_hash, now)?;
    if let Some(entry) = w.history.last_mut() {
        entry.reason = reason;
    }
    Ok(())
}

/// The block holding the transaction left the best chain: back to waiting
/// for a block, the history naming that block (height and hash). A stale
/// block never completes anything.
pub fn observe_reorg(w: &mut Withdrawal, now: DateTime<Utc>) -> Result<(), TransitionError> {
    if w.state != State::Confirming {
        return Ok(());
    }
    let reason = stale_block(w);
    w.transition(State::Broadcast, reason, now)?;
    w.block_height = None;
    w.block_hash = None;
    w.confirmations = None;
    Ok(())
}

/// The best chain's block at `height` is `hash` (as the tracker read it): a
/// withdrawal recorded in another block at that height sits in a block that
/// left the best chain, and goes back as `observe_reorg` says. Whether it
/// did. An empty `hash` (a height never read) says nothing.
pub fn observe_best_block_at(
    w: &mut Withdrawal,
    height: u64,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, TransitionError> {
    let elsewhere = w.block_hash.as_deref().is_some_and(|known| !known.eq_ignore_ascii_case(hash));
    if w.state != State::Confirming || w.block_height != Some(height) || hash.is_empty() || !elsewhere {
        return Ok(false);
    }
    observe_reorg(w, now)?;
    Ok(true)
}

/// "block <height> <hash> left the best chain", for the block `w` was in.
fn stale_block(w: &Withdrawal) -> String {
    let height = w.block_height.map(|h| h.to_string()).unwrap_or_default();
    let hash = w.block_hash.as_deref().unwrap_or_default();
    format!("block {height} {hash} left the best chain")
}

/// Whether a block the tracker read (`height`, `hash`) left the best chain,
/// as far as that chain's tip alone tells: a block above the tip did, and
/// so did another block at the tip's height. For a block below the tip only
/// the parent hashes of the blocks above it tell. An empty `hash` (a height
/// the tracker started from without reading it) is never judged stale at
/// the tip's height.
pub fn left_best_chain(height: u64, hash: &str, tip_height: u64, tip_hash: &str) -> bool {
    height > tip_height || (height == tip_height && !hash.is_empty() && !hash.eq_ignore_ascii_case(tip_hash))
}

pub fn observe_failed(w: &mut Withdrawal, reason: &str, now: DateTime<Utc>) -> Result<(), TransitionError> {
    match w.state {
        State::Broadcast | State::Confirming => w.transition(State::Failed, reason, now),
        _ => Ok(()),
    }
}

pub fn observe_dropped(w: &mut Withdrawal, reason: &str, now: DateTime<Utc>) -> Result<(), TransitionError> {
    match w.state {
        State::Broadcast | State::Confirming => w.transition(State::Dropped, reason, now),
        _ => Ok(()),
    }
}

/// In a block, on a chain with its own finality (no confirmation count).
pub fn observe_included(
    w: &mut Withdrawal,
    height: u64,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<(), TransitionError> {
    if w.state == State::Broadcast {
        w.transition(State::Confirming, format!("in block {height}"), now)?;
    }
    if w.state == State::Confirming {
        w.block_height = Some(height);
        w.block_hash = Some(hash.to_owned());
        w.chain_seen_at = Some(now);
    }
    Ok(())
}

/// Chains with their own finality (Solana `finalized`, XRPL `validated`).
pub fn observe_final(w: &mut Withdrawal, reason: &str, now: DateTime<Utc>) -> Result<(), TransitionError> {
    match w.state {
        State::Broadcast | State::Confirming => {
            w.chain_seen_at = Some(now);
            w.transition(State::Completed, reason, now)
        }
        _ => Ok(()),
    }
}

/// Seen but not final yet (mempool, or a chain's weaker commitment level).
pub fn observe_pending(w: &mut Withdrawal, now: DateTime<Utc>) {
    w.chain_seen_at = Some(now);
}

/// When the transaction entered `broadcast` most recently (the drop clock
/// starts there, or at its last sighting if later).
pub fn broadcast_since(w: &Withdrawal) -> Option<DateTime<Utc>> {
    let entered = w.history.iter().rev().find(|h| h.state == State::Broadcast).map(|h| h.at)?;
    Some(w.chain_seen_at.map_or(entered, |seen| seen.max(entered)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::at;
    use crate::domain::TxHash;

    fn broadcast() -> Withdrawal {
        crate::domain::sample_withdrawal("w", "2026-03-02T10:00:00Z", true)
    }

    fn states(w: &Withdrawal) -> Vec<State> {
        w.history.iter().map(|h| h.state).collect()
    }

    #[test]
    fn confirmations_count_from_the_tip_and_complete_at_the_requirement() {
        let mut w = broadcast();
        let now = at("2026-03-02T10:10:00Z");
        observe_in_block(&mut w, 100, "h100", 100, 2, now).unwrap();
        assert_eq!((w.state, w.confirmations, w.block_height), (State::Confirming, Some(1), Some(100)));
        observe_in_block(&mut w, 100, "h100", 100, 2, now).unwrap();
        assert_eq!(w.history.len(), 3, "the same sighting changes nothing");
        observe_in_block(&mut w, 100, "h100", 101, 2, now).unwrap();
        assert_eq!((w.state, w.confirmations), (State::Completed, Some(2)));
        assert_eq!(states(&w), [State::Pending, State::Broadcast, State::Confirming, State::Completed]);
        observe_in_block(&mut w, 100, "h100", 150, 2, now).unwrap();
        assert_eq!(w.confirmations, Some(2), "a completed withdrawal is left alone");
    }

    #[test]
    fn deep_enough_at_first_sight_completes_at_once() {
        let mut w = broadcast();
        observe_in_block(&mut w, 100, "h100", 105, 2, at("2026-03-02T11:00:00Z")).unwrap();
        assert_eq!(w.state, State::Completed);
    }

    #[test]
    fn a_reorg_goes_back_to_broadcast_and_a_new_block_is_recorded() {
        let mut w = broadcast();
        let now = at("2026-03-02T10:10:00Z");
        observe_in_block(&mut w, 100, "h100", 100, 3, now).unwrap();
        observe_reorg(&mut w, now).unwrap();
        assert_eq!(
            (w.state, w.block_hash.as_deref(), w.block_height, w.confirmations),
            (State::Broadcast, None, None, None)
        );
        assert_eq!(w.history.last().unwrap().reason, "block 100 h100 left the best chain");
        observe_reorg(&mut w, now).unwrap();
        assert_eq!(w.history.len(), 4, "only a confirming withdrawal goes back");
        observe_in_block(&mut w, 101, "h101b", 101, 3, now).unwrap();
        assert_eq!(w.state, State::Confirming);
        observe_in_block(&mut w, 102, "h102c", 102, 3, now).unwrap();
        assert_eq!(
            w.history.last().unwrap().reason,
            "moved to block 102 after a reorg: block 101 h101b left the best chain"
        );
        assert_eq!(w.block_hash.as_deref(), Some("h102c"));
    }

    #[test]
    fn another_block_read_at_its_height_sends_it_back() {
        let now = at("2026-03-02T10:10:00Z");
        let mut w = broadcast();
        observe_in_block(&mut w, 100, "h100", 103, 6, now).unwrap();
        assert!(!observe_best_block_at(&mut w, 101, "h101", now).unwrap(), "another height");
        assert!(!observe_best_block_at(&mut w, 100, "H100", now).unwrap(), "its own block");
        assert!(!observe_best_block_at(&mut w, 100, "", now).unwrap(), "a height never read");
        assert_eq!(w.state, State::Confirming);
        assert!(observe_best_block_at(&mut w, 100, "h100b", now).unwrap());
        assert_eq!((w.state, w.block_height, w.confirmations), (State::Broadcast, None, None));
        assert_eq!(w.history.last().unwrap().reason, "block 100 h100 left the best chain");
        assert!(!observe_best_block_at(&mut w, 100, "h100b", now).unwrap(), "once");
    }

    #[test]
    fn the_tip_alone_tells_a_block_above_it_or_beside_it_left_the_best_chain() {
        assert!(!left_best_chain(100, "h100", 100, "h100"), "the tip itself");
        assert!(left_best_chain(100, "h100", 100, "h100b"), "replaced at the same height");
        assert!(!left_best_chain(100, "H100", 100, "h100"), "hex case does not matter");
        assert!(left_best_chain(101, "h101", 100, "h100"), "the tip went back");
        assert!(left_best_chain(101, "", 100, "h100"), "above the tip, read or not");
        assert!(!left_best_chain(100, "", 100, "h100"), "a height never read is not judged");
        assert!(!left_best_chain(99, "h99", 100, "h100b"), "below the tip: parent hashes tell");
    }

    #[test]
    fn failure_drop_and_finality_only_apply_in_flight() {
        let now = at("2026-03-02T10:10:00Z");
        let mut w = broadcast();
        observe_failed(&mut w, "reverted", now).unwrap();
        assert_eq!(w.state, State::Failed);
        observe_dropped(&mut w, "gone", now).unwrap();
        assert_eq!(w.state, State::Failed, "no-op outside broadcast/confirming");
        let mut w = broadcast();
        observe_final(&mut w, "finalized", now).unwrap();
        assert_eq!(w.state, State::Completed);
        let mut w = broadcast();
        observe_dropped(&mut w, "replaced by ff", now).unwrap();
        assert_eq!((w.state, w.history.last().unwrap().reason.as_str()), (State::Dropped, "replaced by ff"));
    }

    #[test]
    fn discovery_broadcasts_a_pending_withdrawal_once() {
        let mut w = broadcast();
        w.history.truncate(1);
        w.state = State::Pending;
        w.tx_hash = None;
        let tx = TxHash::parse(crate::domain::Network::Btc, &"cd".repeat(32)).unwrap();
        discover(&mut w, tx.clone(), at("2026-03-02T10:30:00Z")).unwrap();
        assert_eq!(w.state, State::Broadcast);
        assert_eq!(w.history.last().unwrap().reason, format!("discovered on chain: transaction {tx}"));
        let other = TxHash::parse(crate::domain::Network::Btc, &"ef".repeat(32)).unwrap();
        discover(&mut w, other, at("2026-03-02T10:31:00Z")).unwrap();
        assert_eq!(w.tx_hash, Some(tx), "a second discovery changes nothing");
    }

    #[test]
    fn the_drop_clock_starts_at_broadcast_or_the_last_sighting() {
        let mut w = broadcast();
        assert_eq!(broadcast_since(&w), Some(at("2026-03-02T10:00:00Z")));
        observe_pending(&mut w, at("2026-03-02T12:00:00Z"));
        assert_eq!(broadcast_since(&w), Some(at("2026-03-02T12:00:00Z")));
    }
}
