//! Finding the transaction of a withdrawal registered without a hash: by
//! its address's history (UTXO chains, Stellar, TON, Sui) or in each new
//! block (EVM, Polkadot), for a
//! payment of exactly its amount that no watched withdrawal claims. Which
//! payment is the withdrawal's is the domain's rule (`payee`,
//! `tracking::discovers`); this gathers the candidates.

use super::{Blocks, ChainTracker, Statuses, TrackError, PAGE};
use crate::chain::{AddressHistory, Block, ChainError, TxInfo};
use crate::domain::observation::Observation;
use crate::domain::payee::ExpectedPayment;
use crate::domain::{tracking, Withdrawal, WithdrawalId};
use crate::tracker::watched::Watched;

impl ChainTracker {
    /// At most every `discover_interval`, a pending withdrawal's address
    /// history, for a payment of its amount not already claimed and in the
    /// mempool or a block after the tip when discovery first looked: which
    /// withdrawal found which transaction. Withdrawals looked at and found
    /// nothing are marked checked.
    pub(super) async fn discover_through(
        &self,
        history: Option<&dyn AddressHistory>,
        explorer: &str,
        tip: u64,
        watched: &Watched,
    ) -> Result<Vec<(WithdrawalId, TxInfo)>, TrackError> {
        const PER_TICK: usize = 20;
        let now = self.port.now();
        let next_at = now + chrono::Duration::from_std(self.settings.discover_interval).unwrap_or_default();
        let checked = Observation::DiscoveryChecked { tip, next_at };
        let mut found = Vec::new();
        for w in self.port.undiscovered(Some(now), PER_TICK).await? {
            if w.chain().discovery_from_height.is_none() {
                self.port.observe(&w.id, &checked).await?;
                continue;
            }
            let Ok(expected) = ExpectedPayment::of(&w, &self.port.rules().payee) else { continue };
            let history = history
                .ok_or_else(|| ChainError::BadResponse(format!("{explorer} cannot list an address's transactions")))?;
            let candidates = history.payments_to(&w.address).await?;
            let paid =
                candidates.into_iter().find(|tx| !watched.may_hold(&tx.txid) && tracking::discovers(&w, tx, &expected));
            match paid {
                Some(tx) => found.push((w.id.clone(), tx)),
                None => {
                    self.port.observe(&w.id, &checked).await?;
                }
            }
        }
        Ok(found)
    }
}

impl Statuses<'_> {
    /// Status-followed chains with an address index (TON): a discovered
    /// payment moves its withdrawal to `broadcast` with that transaction,
    /// whose status the same tick then reads like any other.
    pub(super) async fn discover_by_address(&self, tip: u64) -> Result<(), TrackError> {
        let watched = self.watched().await?;
        let history = self.client.address_history();
        for (id, tx) in self.discover_through(history, self.client.name(), tip, &watched).await? {
            self.port.observe(&id, &Observation::Discovered { txid: tx.txid }).await?;
        }
        Ok(())
    }
}

impl Blocks<'_> {
    /// Records a discovered transaction on `id`, then what it showed (its
    /// block, or the mempool).
    async fn record_discovery(&self, id: &WithdrawalId, tx: TxInfo, tip: u64) -> Result<(), TrackError> {
        self.port.observe(id, &Observation::Discovered { txid: tx.txid.clone() }).await?;
        self.observe(id, &Observation::Seen { tx, tip }).await
    }

    /// UTXO chains and Stellar: a pending withdrawal's address history (see
    /// `ChainTracker::discover_through`); what was found is seen at once.
    pub(super) async fn discover_by_address(&self, tip: u64, watched: &Watched) -> Result<(), TrackError> {
        let history = self.client.address_history();
        for (id, tx) in self.discover_through(history, self.client.name(), tip, watched).await? {
            self.record_discovery(&id, tx, tip).await?;
        }
        Ok(())
    }
}

impl Blocks<'_> {
    /// EVM, Polkadot: a new block's transactions carry their payments; a pending
    /// withdrawal without a hash that one of them pays is discovered, and
    /// its hash joins the watched ones so this very block is matched.
    pub(super) async fn discover_in_block(&self, block: &Block, watched: &mut Watched) -> Result<(), TrackError> {
        let waiting = self.port.undiscovered(None, PAGE).await?;
        if waiting.is_empty() {
            return Ok(());
        }
        let rules = &self.port.rules().payee;
        let expectations: Vec<(Withdrawal, ExpectedPayment)> =
            waiting.into_iter().filter_map(|w| ExpectedPayment::of(&w, rules).ok().map(|e| (w, e))).collect();
        let mut claimed = std::collections::HashSet::new();
        let requested = self.client.requested_payments(block);
        // Watched before this block's discoveries (one transaction may pay several).
        let held: std::collections::HashSet<&str> =
            requested.iter().map(|(txid, _)| txid.as_str()).filter(|txid| watched.may_hold(txid)).collect();
        for (txid, payment) in &requested {
            if held.contains(txid.as_str()) {
                continue;
            }
            let hit = expectations.iter().find(|(w, expected)| !claimed.contains(&w.id) && expected.paid_by(payment));
            if let Some((w, _)) = hit {
                if crate::domain::TxHash::parse(self.network, txid).is_err() {
                    continue;
                }
                self.port.observe(&w.id, &Observation::Discovered { txid: txid.clone() }).await?;
                claimed.insert(w.id.clone());
                watched.add(txid, w.id.clone());
            }
        }
        Ok(())
    }
}
