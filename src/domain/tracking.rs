//! What chain observations do to a withdrawal: confirmations, reorgs,
//! failures, drops, finality, the payee check, the tracker's bookkeeping.
//! Pure; the chain tracker gathers what it saw as an [`Observation`] and
//! applies it with [`Withdrawal::observe`] through `Service::modify`.

use chrono::{DateTime, Utc};

use super::observation::{NetworkRules, Observation};
use super::onchain::{BlockRef, TxInfo, TxLocation};
use super::payee::{self, ExpectedPayment, PayeeRules, PayeeVerdict};
use super::withdrawal::TransitionError;
use super::{State, TxHash, Withdrawal};

impl Withdrawal {
    /// Applies what the chain showed: the one way the chain tracker changes
    /// a withdrawal. An observation of another transaction than the
    /// record's, or one that no longer applies to its state, changes nothing.
    pub fn observe(
        &mut self,
        observation: &Observation,
        now: DateTime<Utc>,
        rules: &NetworkRules,
    ) -> Result<(), TransitionError> {
        match observation {
            Observation::LookedUp { txid, found, tip } => {
                if !self.holds(txid) {
                    return Ok(());
                }
                if let Some(tx) = found {
                    self.observe_tx(tx, *tip, now, rules)?;
                }
                self.chain.looked_up = true;
                Ok(())
            }
            Observation::Seen { tx, tip } => self.observe_tx(tx, *tip, now, rules),
            Observation::InBlock { block, tip } => {
                observe_in_block(self, block.height, &block.hash, *tip, rules.required_confirmations, now)
            }
            Observation::BestBlockAt(block) => observe_best_block_at(self, block.height, &block.hash, now).map(|_| ()),
            Observation::LeftBestChain(block) if sits_in(self, block) => observe_reorg(self, now),
            Observation::LeftBestChain(_) => Ok(()),
            Observation::StillPending => {
                observe_pending(self, now);
                Ok(())
            }
            Observation::Included(block) => observe_included(self, block.height, &block.hash, now),
            Observation::Final { tx } => {
                if let Some(tx) = tx {
                    self.check_payee(tx, &rules.payee);
                }
                observe_final(self, "final on chain", now)
            }
            Observation::Failed => observe_failed(self, FAILED_ON_CHAIN, now),
            Observation::Dropped(reason) => observe_dropped(self, &reason.to_string(), now),
            Observation::Discovered { txid } => match TxHash::parse(self.network, txid) {
                Ok(tx_hash) => discover(self, tx_hash, now),
                Err(_) => Ok(()),
            },
            Observation::DiscoveryChecked { tip, next_at } => {
                self.chain.discovery_from_height.get_or_insert(*tip);
                self.chain.discovery_next_at = Some(*next_at);
                Ok(())
            }
        }
    }

    fn holds(&self, txid: &str) -> bool {
        self.tx_hash().is_some_and(|h| h.as_str() == txid)
    }

    /// The record's transaction with its details: its replacement key is
    /// kept; in a block it failed, or its payee is checked and confirmations
    /// follow; in the mempool it was looked up, its payee is checked, and it
    /// was seen.
    fn observe_tx(
        &mut self,
        tx: &TxInfo,
        tip: u64,
        now: DateTime<Utc>,
        rules: &NetworkRules,
    ) -> Result<(), TransitionError> {
        if !self.holds(&tx.txid) {
            return Ok(());
        }
        self.chain.replacement_key = Some(tx.conflict.clone());
        // What the exchange said at broadcast stands; the chain's word fills
        // in where it said nothing.
        if self.chain.last_valid_height.is_none() {
            self.chain.last_valid_height = tx.valid_until;
        }
        match &tx.location {
            TxLocation::Block(block) => {
                if tx.success == Some(false) {
                    return observe_failed(self, FAILED_ON_CHAIN, now);
                }
                self.check_payee(tx, &rules.payee);
                observe_in_block(self, block.height, &block.hash, tip, rules.required_confirmations, now)
            }
            // Refused by the node and out of its pool (Algorand's
            // `pool-error`): it will never be in a block.
            TxLocation::Mempool if tx.success == Some(false) => observe_failed(self, REJECTED_BY_NODE, now),
            TxLocation::Mempool => {
                self.chain.looked_up = true;
                self.check_payee(tx, &rules.payee);
                observe_pending(self, now);
                Ok(())
            }
        }
    }

    /// Once per transaction: does it pay this withdrawal's address exactly
    /// its amount, in base units, in the right asset?
    fn check_payee(&mut self, tx: &TxInfo, rules: &PayeeRules) {
        if self.chain.payee_verified || self.chain.payee_mismatch.is_some() {
            return;
        }
        match payee::check(self, &tx.payments, rules) {
            PayeeVerdict::Verified => self.chain.payee_verified = true,
            PayeeVerdict::Mismatch(shown) => self.chain.payee_mismatch = Some(shown),
        }
    }
}

const FAILED_ON_CHAIN: &str = "the transaction failed on chain";
const REJECTED_BY_NODE: &str = "the node rejected the transaction";

/// Whether a transaction the tracker cannot find in a block can still be
/// included, by its last valid point and the newest block read, both in the
/// chain's expiry unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// No last valid point is known, or the chain has no expiry clock: the
    /// drop rule by time unseen decides.
    Unknown,
    /// The chain has not passed its last valid point: it may still land.
    StillValid,
    /// The chain passed its last valid point: it never will.
    Passed,
}

pub fn expiry(last_valid: Option<u64>, expiry_point: Option<u64>) -> Expiry {
    match (last_valid, expiry_point) {
        (Some(last_valid), Some(point)) if point > last_valid => Expiry::Passed,
        (Some(_), Some(_)) => Expiry::StillValid,
        _ => Expiry::Unknown,
    }
}

/// Whether the payee of `w`'s transaction still needs checking: the check
/// runs once per transaction, and one that found a mismatch is done too.
pub fn payee_unchecked(w: &Withdrawal) -> bool {
    !(w.chain.payee_verified || w.chain.payee_mismatch.is_some())
}

/// Whether `w` is recorded in `block` (by hash): the block that left the
/// best chain takes it back to `broadcast`.
pub fn sits_in(w: &Withdrawal, block: &BlockRef) -> bool {
    w.state() == State::Confirming && w.chain.block_hash.as_deref() == Some(block.hash.as_str())
}

/// Whether discovery may take `tx` as the payment of `w`, a pending
/// withdrawal without a hash: it did not fail, pays `w` exactly, and is in
/// the mempool or a block above the tip when discovery first looked (an
/// older payment of the same amount to the same address is not it).
pub fn discovers(w: &Withdrawal, tx: &TxInfo, expected: &ExpectedPayment) -> bool {
    let recent = match (&tx.location, w.chain.discovery_from_height) {
        (TxLocation::Mempool, _) => true,
        (TxLocation::Block(block), Some(from_height)) => block.height > from_height,
        (TxLocation::Block(_), None) => false,
    };
    recent && tx.success != Some(false) && tx.payments.iter().any(|p| expected.paid_by(p))
}

/// The transaction sits in block `height`/`hash` of the best chain whose tip
/// is `tip_height`: confirmations follow, and enough of them complete it.
fn observe_in_block(
    w: &mut Withdrawal,
    height: u64,
    hash: &str,
    tip_height: u64,
    required: u64,
    now: DateTime<Utc>,
) -> Result<(), TransitionError> {
    let confirmations = tip_height.saturating_sub(height) + 1;
    let moved = w.chain.block_hash.as_deref().is_some_and(|known| known != hash);
    match w.state() {
        State::Broadcast => w.transition(State::Confirming, format!("in block {height}"), now)?,
        State::Confirming if moved => {
            let reason = format!("moved to block {height} after a reorg: {}", stale_block(w));
            w.transition(State::Confirming, reason, now)?
        }
        State::Confirming => {}
        _ => return Ok(()),
    }
    w.chain.block_height = Some(height);
    w.chain.block_hash = Some(hash.to_owned());
    w.chain.confirmations = Some(confirmations);
    w.chain.required_confirmations = Some(required);
    w.chain.seen_at = Some(now);
    if confirmations >= required {
        w.transition(State::Completed, format!("{confirmations} confirmations"), now)?;
    }
    Ok(())
}

/// A pending withdrawal without a hash whose payment was found on chain: it
/// is broadcast with that transaction.
fn discover(w: &mut Withdrawal, tx_hash: TxHash, now: DateTime<Utc>) -> Result<(), TransitionError> {
    if w.state() != State::Pending || w.tx_hash().is_some() {
        return Ok(());
    }
    let reason = format!("discovered on chain: transaction {tx_hash}");
    w.broadcast(tx_hash, Some(reason), now)?;
    Ok(())
}

/// The block holding the transaction left the best chain: back to waiting
/// for a block, the history naming that block (height and hash). A stale
/// block never completes anything.
fn observe_reorg(w: &mut Withdrawal, now: DateTime<Utc>) -> Result<(), TransitionError> {
    if w.state() != State::Confirming {
        return Ok(());
    }
    let reason = stale_block(w);
    w.transition(State::Broadcast, reason, now)?;
    w.chain.block_height = None;
    w.chain.block_hash = None;
    w.chain.confirmations = None;
    Ok(())
}

/// The best chain's block at `height` is `hash` (as the tracker read it): a
/// withdrawal recorded in another block at that height sits in a block that
/// left the best chain, and goes back as `observe_reorg` says. Whether it
/// did. An empty `hash` (a height never read) says nothing.
fn observe_best_block_at(
    w: &mut Withdrawal,
    height: u64,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, TransitionError> {
    let elsewhere = w.chain.block_hash.as_deref().is_some_and(|known| !known.eq_ignore_ascii_case(hash));
    if w.state() != State::Confirming || w.chain.block_height != Some(height) || hash.is_empty() || !elsewhere {
        return Ok(false);
    }
    observe_reorg(w, now)?;
    Ok(true)
}

/// "block <height> <hash> left the best chain", for the block `w` was in.
fn stale_block(w: &Withdrawal) -> String {
    let height = w.chain.block_height.map(|h| h.to_string()).unwrap_or_default();
    let hash = w.chain.block_hash.as_deref().unwrap_or_default();
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

fn observe_failed(w: &mut Withdrawal, reason: &str, now: DateTime<Utc>) -> Result<(), TransitionError> {
    match w.state() {
        State::Broadcast | State::Confirming => w.transition(State::Failed, reason, now),
        _ => Ok(()),
    }
}

fn observe_dropped(w: &mut Withdrawal, reason: &str, now: DateTime<Utc>) -> Result<(), TransitionError> {
    match w.state() {
        State::Broadcast | State::Confirming => w.transition(State::Dropped, reason, now),
        _ => Ok(()),
    }
}

/// In a block, on a chain with its own finality (no confirmation count).
fn observe_included(w: &mut Withdrawal, height: u64, hash: &str, now: DateTime<Utc>) -> Result<(), TransitionError> {
    if w.state() == State::Broadcast {
        w.transition(State::Confirming, format!("in block {height}"), now)?;
    }
    if w.state() == State::Confirming {
        w.chain.block_height = Some(height);
        w.chain.block_hash = Some(hash.to_owned());
        w.chain.seen_at = Some(now);
    }
    Ok(())
}

/// Chains with their own finality (Solana `finalized`, XRPL `validated`).
fn observe_final(w: &mut Withdrawal, reason: &str, now: DateTime<Utc>) -> Result<(), TransitionError> {
    match w.state() {
        State::Broadcast | State::Confirming => {
            w.chain.seen_at = Some(now);
            w.transition(State::Completed, reason, now)
        }
        _ => Ok(()),
    }
}

/// Seen but not final yet (mempool, or a chain's weaker commitment level).
fn observe_pending(w: &mut Withdrawal, now: DateTime<Utc>) {
    w.chain.seen_at = Some(now);
}

/// When the transaction entered `broadcast` most recently (the drop clock
/// starts there, or at its last sighting if later).
pub fn broadcast_since(w: &Withdrawal) -> Option<DateTime<Utc>> {
    let entered = w.history().iter().rev().find(|h| h.state == State::Broadcast).map(|h| h.at)?;
    Some(w.chain.seen_at.map_or(entered, |seen| seen.max(entered)))
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
        w.history().iter().map(|h| h.state).collect()
    }

    #[test]
    fn confirmations_count_from_the_tip_and_complete_at_the_requirement() {
        let mut w = broadcast();
        let now = at("2026-03-02T10:10:00Z");
        observe_in_block(&mut w, 100, "h100", 100, 2, now).unwrap();
        assert_eq!((w.state(), w.chain.confirmations, w.chain.block_height), (State::Confirming, Some(1), Some(100)));
        observe_in_block(&mut w, 100, "h100", 100, 2, now).unwrap();
        assert_eq!(w.history().len(), 3, "the same sighting changes nothing");
        observe_in_block(&mut w, 100, "h100", 101, 2, now).unwrap();
        assert_eq!((w.state(), w.chain.confirmations), (State::Completed, Some(2)));
        assert_eq!(states(&w), [State::Pending, State::Broadcast, State::Confirming, State::Completed]);
        observe_in_block(&mut w, 100, "h100", 150, 2, now).unwrap();
        assert_eq!(w.chain.confirmations, Some(2), "a completed withdrawal is left alone");
    }

    #[test]
    fn deep_enough_at_first_sight_completes_at_once() {
        let mut w = broadcast();
        observe_in_block(&mut w, 100, "h100", 105, 2, at("2026-03-02T11:00:00Z")).unwrap();
        assert_eq!(w.state(), State::Completed);
    }

    #[test]
    fn a_reorg_goes_back_to_broadcast_and_a_new_block_is_recorded() {
        let mut w = broadcast();
        let now = at("2026-03-02T10:10:00Z");
        observe_in_block(&mut w, 100, "h100", 100, 3, now).unwrap();
        observe_reorg(&mut w, now).unwrap();
        assert_eq!(
            (w.state(), w.chain.block_hash.as_deref(), w.chain.block_height, w.chain.confirmations),
            (State::Broadcast, None, None, None)
        );
        assert_eq!(w.history().last().unwrap().reason, "block 100 h100 left the best chain");
        observe_reorg(&mut w, now).unwrap();
        assert_eq!(w.history().len(), 4, "only a confirming withdrawal goes back");
        observe_in_block(&mut w, 101, "h101b", 101, 3, now).unwrap();
        assert_eq!(w.state(), State::Confirming);
        observe_in_block(&mut w, 102, "h102c", 102, 3, now).unwrap();
        assert_eq!(
            w.history().last().unwrap().reason,
            "moved to block 102 after a reorg: block 101 h101b left the best chain"
        );
        assert_eq!(w.chain.block_hash.as_deref(), Some("h102c"));
    }

    #[test]
    fn another_block_read_at_its_height_sends_it_back() {
        let now = at("2026-03-02T10:10:00Z");
        let mut w = broadcast();
        observe_in_block(&mut w, 100, "h100", 103, 6, now).unwrap();
        assert!(!observe_best_block_at(&mut w, 101, "h101", now).unwrap(), "another height");
        assert!(!observe_best_block_at(&mut w, 100, "H100", now).unwrap(), "its own block");
        assert!(!observe_best_block_at(&mut w, 100, "", now).unwrap(), "a height never read");
        assert_eq!(w.state(), State::Confirming);
        assert!(observe_best_block_at(&mut w, 100, "h100b", now).unwrap());
        assert_eq!((w.state(), w.chain.block_height, w.chain.confirmations), (State::Broadcast, None, None));
        assert_eq!(w.history().last().unwrap().reason, "block 100 h100 left the best chain");
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
        assert_eq!(w.state(), State::Failed);
        observe_dropped(&mut w, "gone", now).unwrap();
        assert_eq!(w.state(), State::Failed, "no-op outside broadcast/confirming");
        let mut w = broadcast();
        observe_final(&mut w, "finalized", now).unwrap();
        assert_eq!(w.state(), State::Completed);
        let mut w = broadcast();
        observe_dropped(&mut w, "replaced by ff", now).unwrap();
        assert_eq!((w.state(), w.history().last().unwrap().reason.as_str()), (State::Dropped, "replaced by ff"));
    }

    #[test]
    fn discovery_broadcasts_a_pending_withdrawal_once() {
        let mut w = crate::domain::sample_withdrawal("w", "2026-03-02T10:00:00Z", false);
        let tx = TxHash::parse(crate::domain::Network::Btc, &"cd".repeat(32)).unwrap();
        discover(&mut w, tx.clone(), at("2026-03-02T10:30:00Z")).unwrap();
        assert_eq!(w.state(), State::Broadcast);
        assert_eq!(w.history().last().unwrap().reason, format!("discovered on chain: transaction {tx}"));
        let other = TxHash::parse(crate::domain::Network::Btc, &"ef".repeat(32)).unwrap();
        discover(&mut w, other, at("2026-03-02T10:31:00Z")).unwrap();
        assert_eq!(w.tx_hash(), Some(&tx), "a second discovery changes nothing");
    }

    use crate::domain::observation::DropReason;
    use crate::domain::onchain::{Asset, BaseUnits, OutPoint, Payment, ReplacementKey};

    /// `sample_withdrawal`: 1 BTC to this address, its hash `ab` x 32.
    const PAYEE: &str = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa";

    fn rules() -> NetworkRules {
        NetworkRules { required_confirmations: 2, payee: PayeeRules { native_decimals: 8, ..PayeeRules::default() } }
    }

    fn tx(location: TxLocation, units: u128) -> TxInfo {
        TxInfo {
            txid: "ab".repeat(32),
            location,
            success: None,
            payments: vec![Payment {
                to: PAYEE.into(),
                amount: BaseUnits::new(units),
                asset: Asset::Native,
                memo: None,
            }],
            conflict: ReplacementKey::Outpoints(vec![OutPoint { txid: "cd".repeat(32), vout: 0 }]),
            valid_until: None,
        }
    }

    #[test]
    fn a_known_last_valid_point_decides_expiry_the_chain_fills_it_where_broadcast_said_nothing() {
        let now = at("2026-03-02T10:10:00Z");
        let mut w = broadcast();
        assert_eq!(expiry(w.chain.last_valid_height, Some(1_000)), Expiry::Unknown, "no last valid point");
        let pending = TxInfo { valid_until: Some(500), ..tx(TxLocation::Mempool, 100_000_000) };
        w.observe(&Observation::Seen { tx: pending, tip: 7 }, now, &rules()).unwrap();
        assert_eq!(w.chain.last_valid_height, Some(500));
        let last_valid = w.chain.last_valid_height;
        assert_eq!(expiry(last_valid, None), Expiry::Unknown, "a chain without an expiry clock");
        assert_eq!(expiry(last_valid, Some(499)), Expiry::StillValid);
        assert_eq!(
            expiry(last_valid, Some(500)),
            Expiry::StillValid,
            "the last valid point itself may still include it"
        );
        assert_eq!(expiry(last_valid, Some(501)), Expiry::Passed);

        let mut said_at_broadcast = crate::domain::sample_withdrawal("w", "2026-03-02T10:00:00Z", false);
        let hash = TxHash::parse(crate::domain::Network::Btc, &"ab".repeat(32)).unwrap();
        said_at_broadcast.set_tx_hash_expiring(hash, Some(300), now).unwrap();
        let later = TxInfo { valid_until: Some(900), ..tx(TxLocation::Mempool, 100_000_000) };
        said_at_broadcast.observe(&Observation::Seen { tx: later, tip: 7 }, now, &rules()).unwrap();
        assert_eq!(said_at_broadcast.chain.last_valid_height, Some(300), "the exchange's word stands");
    }

    fn block(height: u64) -> BlockRef {
        BlockRef { height, hash: format!("h{height}") }
    }

    #[test]
    fn a_sighting_in_a_block_keeps_the_key_checks_the_payee_once_and_counts_confirmations() {
        let now = at("2026-03-02T10:10:00Z");
        let mut w = broadcast();
        w.observe(&Observation::Seen { tx: tx(TxLocation::Block(block(100)), 100_000_000), tip: 100 }, now, &rules())
            .unwrap();
        assert_eq!(
            (w.state(), w.chain.confirmations, w.chain.payee_verified, &w.chain.payee_mismatch),
            (State::Confirming, Some(1), true, &None)
        );
        assert_eq!(w.chain.replacement_key, Some(tx(TxLocation::Mempool, 0).conflict));
        w.observe(&Observation::InBlock { block: block(100), tip: 101 }, now, &rules()).unwrap();
        assert_eq!(
            (w.state(), w.chain.confirmations, w.chain.required_confirmations),
            (State::Completed, Some(2), Some(2))
        );
    }

    #[test]
    fn a_wrong_payment_is_recorded_once_and_the_first_verdict_stays() {
        let now = at("2026-03-02T10:10:00Z");
        let mut w = broadcast();
        w.observe(&Observation::Seen { tx: tx(TxLocation::Mempool, 99_999_999), tip: 0 }, now, &rules()).unwrap();
        let mismatch = w.chain.payee_mismatch.clone().unwrap();
        assert!(mismatch.starts_with("expected 100000000 base units (1 BTC) to 1A1zP"), "{mismatch}");
        assert!(!payee_unchecked(&w));
        w.observe(&Observation::Seen { tx: tx(TxLocation::Block(block(5)), 100_000_000), tip: 5 }, now, &rules())
            .unwrap();
        assert_eq!((w.chain.payee_verified, w.chain.payee_mismatch.as_deref()), (false, Some(mismatch.as_str())));
    }

    #[test]
    fn a_lookup_marks_the_transaction_looked_up_whatever_it_found_and_only_its_own() {
        let now = at("2026-03-02T10:10:00Z");
        let txid = "ab".repeat(32);
        let mut w = broadcast();
        let other = Observation::LookedUp { txid: "ef".repeat(32), found: None, tip: 7 };
        w.observe(&other, now, &rules()).unwrap();
        assert!(!w.chain.looked_up, "another transaction's lookup");
        w.observe(&Observation::LookedUp { txid: txid.clone(), found: None, tip: 7 }, now, &rules()).unwrap();
        assert!(w.chain.looked_up);
        assert_eq!((w.state(), w.chain.payee_verified), (State::Broadcast, false), "nothing found, nothing checked");
        let mut w = broadcast();
        let found = Some(tx(TxLocation::Mempool, 100_000_000));
        w.observe(&Observation::LookedUp { txid, found, tip: 7 }, at("2026-03-02T12:00:00Z"), &rules()).unwrap();
        assert!(w.chain.looked_up && w.chain.payee_verified);
        assert_eq!(broadcast_since(&w), Some(at("2026-03-02T12:00:00Z")), "seen in the mempool");
    }

    #[test]
    fn a_failed_transaction_fails_and_pays_nothing_to_check() {
        let mut w = broadcast();
        let failed = TxInfo { success: Some(false), ..tx(TxLocation::Block(block(9)), 0) };
        w.observe(&Observation::Seen { tx: failed, tip: 9 }, at("2026-03-02T10:10:00Z"), &rules()).unwrap();
        assert_eq!((w.state(), w.chain.payee_mismatch.as_deref()), (State::Failed, None));
        assert_eq!(w.history().last().unwrap().reason, "the transaction failed on chain");
    }

    #[test]
    fn a_transaction_the_node_rejected_fails() {
        let mut w = broadcast();
        let rejected = TxInfo { success: Some(false), ..tx(TxLocation::Mempool, 100_000_000) };
        w.observe(&Observation::Seen { tx: rejected, tip: 9 }, at("2026-03-02T10:10:00Z"), &rules()).unwrap();
        assert_eq!((w.state(), w.chain.payee_verified), (State::Failed, false));
        assert_eq!(w.history().last().unwrap().reason, "the node rejected the transaction");
    }

    #[test]
    fn a_block_that_left_the_best_chain_takes_back_only_what_sits_in_it() {
        let now = at("2026-03-02T10:10:00Z");
        let mut w = broadcast();
        w.observe(&Observation::InBlock { block: block(100), tip: 100 }, now, &rules()).unwrap();
        w.observe(&Observation::LeftBestChain(block(99)), now, &rules()).unwrap();
        assert_eq!(w.state(), State::Confirming);
        assert!(sits_in(&w, &block(100)));
        w.observe(&Observation::LeftBestChain(block(100)), now, &rules()).unwrap();
        assert_eq!((w.state(), w.chain.block_hash.as_deref()), (State::Broadcast, None));
    }

    #[test]
    fn status_chains_include_finalize_with_a_payee_check_and_expire() {
        let now = at("2026-03-02T10:10:00Z");
        let mut w = broadcast();
        w.observe(&Observation::Included(block(50)), now, &rules()).unwrap();
        assert_eq!((w.state(), w.chain.block_height), (State::Confirming, Some(50)));
        w.observe(&Observation::Final { tx: Some(tx(TxLocation::Block(block(50)), 5)) }, now, &rules()).unwrap();
        assert_eq!((w.state(), w.chain.payee_mismatch.is_some()), (State::Completed, true));
        assert_eq!(w.history().last().unwrap().reason, "final on chain");
        let mut w = broadcast();
        w.observe(&Observation::Dropped(DropReason::Expired), now, &rules()).unwrap();
        assert_eq!(
            (w.state(), w.history().last().unwrap().reason.as_str()),
            (State::Dropped, "expired before inclusion")
        );
    }

    #[test]
    fn discovery_starts_at_the_tip_then_only_moves_its_next_look_and_takes_only_later_payments() {
        let mut w = crate::domain::sample_withdrawal("w", "2026-03-02T10:00:00Z", false);
        let (first, second) = (at("2026-03-02T10:05:00Z"), at("2026-03-02T10:10:00Z"));
        w.observe(&Observation::DiscoveryChecked { tip: 100, next_at: first }, first, &rules()).unwrap();
        w.observe(&Observation::DiscoveryChecked { tip: 105, next_at: second }, first, &rules()).unwrap();
        assert_eq!((w.chain.discovery_from_height, w.chain.discovery_next_at), (Some(100), Some(second)));
        let expected = ExpectedPayment::of(&w, &rules().payee).unwrap();
        assert!(
            !discovers(&w, &tx(TxLocation::Block(block(100)), 100_000_000), &expected),
            "at the tip it started from"
        );
        assert!(discovers(&w, &tx(TxLocation::Block(block(101)), 100_000_000), &expected));
        assert!(discovers(&w, &tx(TxLocation::Mempool, 100_000_000), &expected));
        assert!(!discovers(&w, &tx(TxLocation::Mempool, 1), &expected), "another amount");
        let failed = TxInfo { success: Some(false), ..tx(TxLocation::Mempool, 100_000_000) };
        assert!(!discovers(&w, &failed, &expected));
        w.observe(&Observation::Discovered { txid: "not a hash".into() }, second, &rules()).unwrap();
        assert_eq!(w.state(), State::Pending, "a hash the network cannot have");
        w.observe(&Observation::Discovered { txid: "ab".repeat(32) }, second, &rules()).unwrap();
        assert_eq!(w.state(), State::Broadcast);
    }

    #[test]
    fn the_drop_clock_starts_at_broadcast_or_the_last_sighting() {
        let mut w = broadcast();
        assert_eq!(broadcast_since(&w), Some(at("2026-03-02T10:00:00Z")));
        observe_pending(&mut w, at("2026-03-02T12:00:00Z"));
        assert_eq!(broadcast_since(&w), Some(at("2026-03-02T12:00:00Z")));
    }
}
