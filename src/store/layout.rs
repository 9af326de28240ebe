//! Which index layout a store holds, and the upgrade to this version's.
//! Indexes derive from records alone, so an upgrade rebuilds what changed
//! from the records and deletes what was retired; the layout is kept as
//! store metadata, so the work runs once per store.
//!
//! - Layout 1 (no metadata): per network, the tracker's hashes (`txs`), drop
//!   watch (`dropwatch`) and not-yet-looked-up queue (`unseen`).
//! - Layout 2: one in-flight index per network instead of those three
//!   (`in_flight.rs`), about 280 bytes less per broadcast withdrawal.
//!
//! Replicas of an older version must be stopped before one of this version
//! starts: they would keep writing the retired indexes, not the new one.

use super::index::{self, IndexKey};
use super::{Store, StoreError};
use crate::domain::{Network, State, Withdrawal};

pub const CURRENT: &str = "2";
const META: &str = "index_layout";
const PAGE: usize = 500;

/// Indexes of layout 1 that layout 2 replaced, by key suffix.
pub fn retired_index_suffixes() -> Vec<String> {
    let kinds = ["txs", "dropwatch", "unseen"];
    kinds.iter().flat_map(|kind| Network::ALL.map(|network| format!("{kind}:{network}"))).collect()
}

/// Writes the record's in-flight entry, if it has one. A record that moved
/// on meanwhile is read again: the update that moved it wrote only the
/// entries it changed, so an in-flight entry it left as it was would still
/// be missing. False when the record is gone.
async fn restore_in_flight_entry(store: &dyn Store, mut withdrawal: Withdrawal) -> Result<bool, StoreError> {
    loop {
        let in_flight: Vec<_> = index::entries(&withdrawal)
            .into_iter()
            .filter(|(index, _)| matches!(index, IndexKey::InFlight(_)))
            .collect();
        if store.restore_index_entries(&withdrawal, &in_flight).await? {
            return Ok(true);
        }
        match store.get(&withdrawal.id).await? {
            Some(fresh) => withdrawal = fresh,
            None => return Ok(false),
        }
    }
}

/// Brings the store to [`CURRENT`]; returns how many records had index
/// entries restored (0 when it already was there).
pub async fn upgrade(store: &dyn Store) -> Result<usize, StoreError> {
    if store.get_meta(META).await?.as_deref() == Some(CURRENT) {
        return Ok(0);
    }
    let mut restored = 0;
    // Only withdrawals in flight have entries in the in-flight index.
    for state in [State::Broadcast, State::Confirming] {
        for network in Network::ALL {
            let by_state = IndexKey::StateNetwork(state, network);
            let mut after = None;
            loop {
                let page = store.page(&by_state, after.as_ref(), PAGE, &|_| true).await?;
                for withdrawal in page.items {
                    if restore_in_flight_entry(store, withdrawal).await? {
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
    store.delete_indexes(&retired_index_suffixes()).await?;
    store.set_meta(META, CURRENT).await?;
    Ok(restored)
}
