//! Which index layout a store holds, and the upgrade to this version's.
//! Indexes derive from records alone, so an upgrade rebuilds what changed
//! from the records and deletes what was retired; the layout is kept as
//! store metadata, so the work runs once per store.
//!
//! - Layout 1 (no metadata): per network, the tracker's hashes (`txs`), drop
//!   watch (`dropwatch`) and not-yet-looked-up queue (`unseen`).
//! - Layout 2: one in-flight index per network instead of those three
//!   (`in_flight.rs`), about 280 bytes less per broadcast withdrawal.
//! - Layout 3: the terminal index (terminal withdrawals by when they became
//!   terminal), which retention reads; records already terminal get their
//!   entry here, so they expire like new ones.
//!
//! Replicas of an older version must be stopped before one of this version
//! starts: they would keep writing the retired indexes, not the new one.

use super::index::{self, IndexKey};
use super::{Store, StoreError};
use crate::domain::{Network, State, Withdrawal};

pub const CURRENT: &str = "3";
/// The layout before the in-flight index.
const BEFORE_IN_FLIGHT: Option<&str> = None;
const META: &str = "index_layout";
const PAGE: usize = 500;

/// Indexes of layout 1 that layout 2 replaced, by key suffix.
pub fn retired_index_suffixes() -> Vec<String> {
    let kinds = ["txs", "dropwatch", "unseen"];
    kinds.iter().flat_map(|kind| Network::ALL.map(|network| format!("{kind}:{network}"))).collect()
}

/// Writes the record's entries in the indexes `rebuilt` picks, if it has
/// any. A record that moved on meanwhile is read again: the update that
/// moved it wrote only the entries it changed, so an entry it left as it was
/// would still be missing. False when the record is gone.
async fn restore_entries(
    store: &dyn Store,
    mut withdrawal: Withdrawal,
    rebuilt: fn(&IndexKey) -> bool,
) -> Result<bool, StoreError> {
    loop {
        let entries: Vec<_> = index::entries(&withdrawal).into_iter().filter(|(index, _)| rebuilt(index)).collect();
        if store.restore_index_entries(&withdrawal, &entries).await? {
            return Ok(true);
        }
        match store.get(&withdrawal.id).await? {
            Some(fresh) => withdrawal = fresh,
            None => return Ok(false),
        }
    }
}

/// Restores the `rebuilt` entries of every record in the given states;
/// returns how many records it visited that still exist.
async fn rebuild(store: &dyn Store, states: &[State], rebuilt: fn(&IndexKey) -> bool) -> Result<usize, StoreError> {
    let mut restored = 0;
    for &state in states {
        for network in Network::ALL {
            let by_state = IndexKey::StateNetwork(state, network);
            let mut after = None;
            loop {
                let page = store.page(&by_state, after.as_ref(), PAGE, &|_| true).await?;
                for withdrawal in page.items {
                    if restore_entries(store, withdrawal, rebuilt).await? {
                        restored += 1;
                    }
                }
                match page.next {
                    Some(cursor) => after = Some(cursor),
                    None => break,
                }
            }
        }
    }
    Ok(restored)
}

/// Brings the store to [`CURRENT`]; returns how many records had index
/// entries restored (0 when it already was there).
pub async fn upgrade(store: &dyn Store) -> Result<usize, StoreError> {
    let layout = store.get_meta(META).await?;
    if layout.as_deref() == Some(CURRENT) {
        return Ok(0);
    }
    let mut restored = 0;
    if layout.as_deref() == BEFORE_IN_FLIGHT {
        // Only withdrawals in flight have entries in the in-flight index.
        let in_flight = |index: &IndexKey| matches!(index, IndexKey::InFlight(_));
        restored += rebuild(store, &[State::Broadcast, State::Confirming], in_flight).await?;
        store.delete_indexes(&retired_index_suffixes()).await?;
    }
    // Layouts 1 and 2: only terminal withdrawals have a terminal entry.
    let terminal_states: Vec<State> = State::ALL.into_iter().filter(|s| s.is_terminal()).collect();
    restored += rebuild(store, &terminal_states, |index| *index == IndexKey::Terminal).await?;
    store.set_meta(META, CURRENT).await?;
    Ok(restored)
}
