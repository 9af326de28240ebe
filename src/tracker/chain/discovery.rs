//! Finding the transaction of a withdrawal registered without a hash: by
//! its address's history (UTXO chains) or in each new block (EVM), for a
//! payment of exactly its amount that no watched withdrawal claims.

use super::{Blocks, TrackError, PAGE};
use crate::chain::{Asset, BaseUnits, Block, ChainError, TxInfo, TxLocation};
use crate::domain::{tracking, State, Withdrawal, WithdrawalId};
use crate::store::{IndexKey, IndexRange, StoreError};
use crate::tracker::watched::Watched;

impl Blocks<'_> {
    async fn undiscovered(
        &self,
        due_by: Option<chrono::DateTime<chrono::Utc>>,
        limit: usize,
    ) -> Result<Vec<Withdrawal>, StoreError> {
        let until = due_by.map(crate::store::index::time_key_upper_bound);
        let range =
            IndexRange { index: &IndexKey::Undiscovered(self.network), after: None, until: until.as_deref(), limit };
        let mut found = Vec::new();
        for member in self.service.store.members(range).await? {
            let Some(id) = crate::store::index::id_of_member(&member) else { continue };
            found.extend(
                self.service.store.get(&id).await?.filter(|w| w.state == State::Pending && w.tx_hash.is_none()),
            );
        }
        Ok(found)
    }

    /// Records a discovered transaction on `id` (and its block, if any).
    async fn record_discovery(&self, id: &WithdrawalId, info: &TxInfo, tip: u64) -> Result<(), TrackError> {
        let tx_hash = match crate::domain::TxHash::parse(self.network, &info.txid) {
            Ok(hash) => hash,
            Err(_) => return Ok(()),
        };
        let now = self.service.now();
        self.service.modify(id, |w| Ok(tracking::discover(w, tx_hash.clone(), now)?)).await?;
        match &info.location {
            TxLocation::Block(block) => self.apply_sighting(id, info, block, tip).await,
            TxLocation::Mempool => {
                self.service
                    .modify(id, |w| {
                        w.chain_looked_up = true;
                        w.replacement_key = serde_json::to_value(&info.conflict).ok();
                        self.check_payee(w, info);
                        tracking::observe_pending(w, now);
                        Ok(())
                    })
                    .await?;
                Ok(())
            }
        }
    }

    /// UTXO chains: at most every `discover_interval`, a pending withdrawal's
    /// address history, for a payment of its amount not already claimed and
    /// in the mempool or a block after the tip when discovery first looked
    /// (an older payment of the same amount to the same address is not it).
    pub(super) async fn discover_by_address(&self, tip: u64, watched: &Watched) -> Result<(), TrackError> {
        const PER_TICK: usize = 20;
        let now = self.service.now();
        let next = now + chrono::Duration::from_std(self.settings.discover_interval).unwrap_or_default();
        for w in self.undiscovered(Some(now), PER_TICK).await? {
            let Some(from_height) = w.discovery_from_height else {
                self.service
                    .modify(&w.id, |w| {
                        w.discovery_from_height = Some(tip);
                        w.discovery_next_at = Some(next);
                        Ok(())
                    })
                    .await?;
                continue;
            };
            let Ok(expected) = self.expected_payment(&w) else { continue };
            let history = self.client.address_history().ok_or_else(|| {
                ChainError::BadResponse(format!("{} cannot list an address's transactions", self.client.name()))
            })?;
            let candidates = history.payments_to(&w.address).await?;
            let recent = |info: &TxInfo| match &info.location {
                TxLocation::Mempool => true,
                TxLocation::Block(block) => block.height > from_height,
            };
            let found = candidates.into_iter().find(|info| {
                !watched.may_hold(&info.txid)
                    && recent(info)
                    && info.success != Some(false)
                    && info.payments.iter().any(|p| self.pays(&w, p, &expected))
            });
            match found {
                Some(info) => self.record_discovery(&w.id, &info, tip).await?,
                None => {
                    self.service
                        .modify(&w.id, |w| {
                            w.discovery_next_at = Some(next);
                            Ok(())
                        })
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// EVM: a new block's transactions carry their payments; a pending
    /// withdrawal without a hash that one of them pays is discovered, and
    /// its hash joins the watched ones so this very block is matched.
    pub(super) async fn discover_in_block(&self, block: &Block, watched: &mut Watched) -> Result<(), TrackError> {
        let waiting = self.undiscovered(None, PAGE).await?;
        if waiting.is_empty() {
            return Ok(());
        }
        let expectations: Vec<(Withdrawal, (Asset, BaseUnits, String))> =
            waiting.into_iter().filter_map(|w| self.expected_payment(&w).ok().map(|e| (w, e))).collect();
        let mut claimed = std::collections::HashSet::new();
        for tx in &block.txs {
            let Some(call) = &tx.call else { continue };
            if watched.may_hold(&tx.txid) {
                continue;
            }
            for payment in call.requested_payments() {
                let hit = expectations
                    .iter()
                    .find(|(w, expected)| !claimed.contains(&w.id) && self.pays(w, &payment, expected));
                if let Some((w, _)) = hit {
                    let Ok(tx_hash) = crate::domain::TxHash::parse(self.network, &tx.txid) else { continue };
                    let now = self.service.now();
                    self.service.modify(&w.id, |w| Ok(tracking::discover(w, tx_hash.clone(), now)?)).await?;
                    claimed.insert(w.id.clone());
                    watched.add(&tx.txid, w.id.clone());
                }
            }
        }
        Ok(())
    }
}
