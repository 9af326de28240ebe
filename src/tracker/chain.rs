//! The chain tracker: one task per configured network follows the chain and
//! reports what it sees of each watched transaction as an `Observation`;
//! the domain (`Withdrawal::observe`) moves withdrawals through
//! `broadcast -> confirming -> completed` (or `failed`, `dropped`) and checks
//! on the way that each transaction pays the withdrawal's address its amount.
//!
//! Block-driven, not per transaction: poll the tip once per interval; read
//! each new block's transaction ids once and match the watched hashes from an
//! index; fetch transaction details only for matches (one request per block
//! for all of them where the API allows). Confirmations then come from the
//! tip alone. Reorgs are found first thing in every tick, from the tip (a
//! lower tip, or another hash at the height read last) and then by following
//! parent hashes; a block that left the best chain is undone before anything
//! counts confirmations. One replica polls a network at a time (a lease);
//! every change is the store's compare-and-set.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod discovery;
mod signals;

use super::watched::Watched;
use crate::chain::{Block, BlockChain, BlockRef, Chain, ChainError, PendingTx, StatusChain, TxInfo, TxLocation};
use crate::domain::network_status::HealthRules;
use crate::domain::observation::{DropReason, NetworkRules, Observation};
use crate::domain::payee::PayeeRules;
use crate::domain::tracking::{self, Expiry};
use crate::domain::{State, WithdrawalId};
use crate::metrics::Metrics;
use crate::service::{ChainPort, Service, ServiceError};
use crate::store::StoreError;

/// Blocks read per tick at most, so one tick stays short after an outage.
const MAX_BLOCKS_PER_TICK: u64 = 50;
/// Block hashes remembered for reorg detection.
const REMEMBERED_BLOCKS: usize = 600;
/// Drop checks per tick at most (each may cost requests).
const MAX_DROP_CHECKS_PER_TICK: usize = 50;
const PAGE: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum TrackError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the tracker must know about a network beyond its client.
#[derive(Debug, Clone)]
pub struct TrackerSettings {
    pub required_confirmations: u64,
    pub poll_interval: Duration,
    pub drop_after: Duration,
    pub native_decimals: u32,
    /// Coin code -> (contract, decimals), for token withdrawals.
    pub tokens: BTreeMap<String, (String, u32)>,
    /// Look for the payments of pending withdrawals registered without a hash.
    pub discover: bool,
    pub discover_interval: Duration,
    /// `networks.<CODE>.halted_after`: overrides the default halt rule.
    pub halted_after: Option<Duration>,
}

/// Where the tracker stopped, kept in the store so another replica resumes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Cursor {
    /// The blocks read last, oldest first: the chain they form is checked
    /// against each new block's parent.
    recent: Vec<BlockRef>,
    /// The newest block read's place in the chain's expiry unit, on chains
    /// whose pending transactions expire (`Block::expiry_point`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expiry_point: Option<u64>,
    /// The newest block read with its time (height, time): the next one's
    /// interval is measured from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_time: Option<(u64, chrono::DateTime<chrono::Utc>)>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TickReport {
    /// The chain's tip height this tick saw.
    pub tip_height: u64,
    pub blocks: u64,
    pub matched: usize,
    pub reorged: usize,
    pub dropped: usize,
}

#[derive(Clone)]
pub struct ChainTracker {
    network: crate::domain::Network,
    client: Chain,
    /// Everything the tracker does with the store: the lease, its saved
    /// cursor, what to watch, and what was observed.
    port: ChainPort,
    metrics: Arc<Metrics>,
    owner: String,
    settings: TrackerSettings,
}

/// The tracker with its block-driven client: `self.client` is the
/// `BlockChain`, everything else the tracker's.
struct Blocks<'a> {
    tracker: &'a ChainTracker,
    client: &'a dyn BlockChain,
}

/// The tracker with its status-driven client.
struct Statuses<'a> {
    tracker: &'a ChainTracker,
    client: &'a dyn StatusChain,
}

impl std::ops::Deref for Blocks<'_> {
    type Target = ChainTracker;
    fn deref(&self) -> &ChainTracker {
        self.tracker
    }
}

impl std::ops::Deref for Statuses<'_> {
    type Target = ChainTracker;
    fn deref(&self) -> &ChainTracker {
        self.tracker
    }
}

impl ChainTracker {
    pub fn new(
        network: crate::domain::Network,
        client: Chain,
        service: Arc<Service>,
        owner: String,
        settings: TrackerSettings,
    ) -> ChainTracker {
        let rules = NetworkRules {
            required_confirmations: settings.required_confirmations,
            payee: PayeeRules { native_decimals: settings.native_decimals, tokens: settings.tokens.clone() },
        };
        let metrics = service.metrics.clone();
        let port = ChainPort::new(service, network, rules);
        ChainTracker { network, client, port, metrics, owner, settings }
    }

    pub fn network(&self) -> crate::domain::Network {
        self.network
    }

    /// Polls forever: only while holding the network's lease; backing off
    /// (honouring `Retry-After`) when the explorer struggles.
    pub async fn run(self) {
        let mut failures: u32 = 0;
        let mut last_success = tokio::time::Instant::now();
        loop {
            let mut wait = self.settings.poll_interval;
            let lease = self.settings.poll_interval * 2;
            if self.port.try_poll_lease(&self.owner, lease).await {
                match self.tick_holding_lease(lease).await {
                    None => tracing::warn!(network = %self.network, "poll lease lost during a tick; tick abandoned"),
                    Some(Ok(_)) => {
                        failures = 0;
                        last_success = tokio::time::Instant::now();
                    }
                    Some(Err(error)) => {
                        failures += 1;
                        let retry_after = match &error {
                            TrackError::Chain(ChainError::RateLimited { retry_after }) => *retry_after,
                            _ => None,
                        };
                        let backoff = self.settings.poll_interval.saturating_mul(2u32.saturating_pow(failures.min(6)));
                        let jitter = 0.8 + 0.4 * rand::random::<f64>();
                        wait =
                            backoff.mul_f64(jitter).max(retry_after.unwrap_or_default()).min(Duration::from_secs(600));
                        tracing::warn!(network = %self.network, %error, failures, "chain poll failed; backing off");
                        // The whole deployment backs off, not only this replica:
                        // the lease is held through the wait, so a standby does
                        // not poll the struggling explorer in the meantime.
                        let _ = self.port.try_poll_lease(&self.owner, wait + lease).await;
                    }
                }
                self.metrics
                    .poll_lag_seconds
                    .with_label_values(&[self.network.code()])
                    .set(last_success.elapsed().as_secs_f64());
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// A tick that keeps renewing the lease while it runs: a tick longer than
    /// the poll interval would otherwise let the lease lapse, and another
    /// replica would start polling beside this one. `None` if a renewal
    /// failed (the store did not answer, or the lease went to another
    /// replica): the tick stops there; what it wrote so far was written by
    /// compare-and-set, and the next holder resumes from the saved cursor.
    async fn tick_holding_lease(&self, lease: Duration) -> Option<Result<TickReport, TrackError>> {
        let mut tick = std::pin::pin!(self.tick());
        loop {
            tokio::select! {
                result = &mut tick => return Some(result),
                () = tokio::time::sleep(self.settings.poll_interval) => {
                    if !self.port.try_poll_lease(&self.owner, lease).await {
                        return None;
                    }
                }
            }
        }
    }

    pub async fn tick(&self) -> Result<TickReport, TrackError> {
        let result = match &self.client {
            Chain::Blocks(client) => Blocks { tracker: self, client: client.as_ref() }.blocks_tick().await,
            Chain::Statuses(client) => {
                Statuses { tracker: self, client: client.as_ref() }.statuses_tick(client.max_batch()).await
            }
        };
        // What the chain showed feeds the network's status; our own store
        // failing says nothing about the chain.
        let outcome = match &result {
            Ok(report) => Some(Ok(report.tip_height)),
            Err(TrackError::Chain(error)) => Some(Err(error.to_string())),
            Err(_) => None,
        };
        if let Some(outcome) = outcome {
            let mut rules = HealthRules::defaults(self.network, self.settings.poll_interval);
            if let Some(halted_after) = self.settings.halted_after {
                rules.halted_after = halted_after;
            }
            if let Err(error) = self.port.report_poll(outcome, rules).await {
                tracing::warn!(network = %self.network, %error, "cannot record the network's health");
            }
        }
        if let Err(TrackError::Chain(ChainError::Unavailable(_) | ChainError::RateLimited { .. })) = &result {
            self.record_explorer_down().await;
        }
        result
    }

    /// Every transaction being watched on this network.
    async fn watched(&self) -> Result<Watched, StoreError> {
        Ok(Watched::from_entries(self.port.watched().await?))
    }

    /// Applies `observation` to `id`; a withdrawal that vanished meanwhile
    /// is not an error.
    async fn observe(&self, id: &WithdrawalId, observation: &Observation) -> Result<(), TrackError> {
        unless_gone(self.port.observe(id, observation).await)
    }

    fn unseen_for(&self) -> DropReason {
        DropReason::Unseen { for_: self.settings.drop_after }
    }

    async fn load_cursor(&self) -> Result<Cursor, StoreError> {
        let raw = self.port.load_cursor().await?;
        Ok(raw.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default())
    }

    async fn save_cursor(&self, cursor: &Cursor) -> Result<(), StoreError> {
        let text = serde_json::to_string(cursor).expect("a cursor serializes");
        self.port.save_cursor(&text).await
    }
}

impl Blocks<'_> {
    async fn blocks_tick(&self) -> Result<TickReport, TrackError> {
        let mut report = TickReport::default();
        // Where the tip comes with its block in one request, a single new
        // block costs nothing more.
        let mut tip_block = if self.client.tip_carries_block() { Some(self.client.tip_block().await?) } else { None };
        let tip = match &tip_block {
            Some(block) => block.at.clone(),
            None => self.client.tip().await?,
        };
        self.metrics.chain_tip_height.with_label_values(&[self.network.code()]).set(tip.height as i64);
        report.tip_height = tip.height;
        let mut cursor = self.load_cursor().await?;
        // The tip against the blocks read last, before anything below counts
        // confirmations: blocks above a lower tip, or another block at the
        // tip's height, left the best chain. The read below then checks
        // parent hashes back from the last block still standing (a deeper
        // reorg under a tip of the same height shows there). No request
        // beyond the tip, which every tick reads anyway.
        while let Some(stale) =
            cursor.recent.last().filter(|b| tracking::left_best_chain(b.height, &b.hash, tip.height, &tip.hash))
        {
            report.reorged += self.undo_block(stale).await?;
            cursor.recent.pop();
        }
        if cursor.recent.is_empty() {
            // First run: follow from the tip on; what came before is found by
            // the drop check's lookups.
            cursor.recent.push(BlockRef { height: tip.height.saturating_sub(1), hash: String::new() });
        }
        let mut watched = self.watched().await?;
        // Account chains carry the payee in the block itself: no lookup per
        // transaction (a hash mined before we watched is caught by the drop check).
        if !self.network.is_evm() {
            self.look_up_new(tip.height, watched.not_looked_up()).await?;
        }
        if self.settings.discover && !self.client.discovers_in_blocks() {
            self.discover_by_address(tip.height, &watched).await?;
            watched = self.watched().await?;
        }
        let mut height = cursor.recent.last().expect("not empty").height + 1;
        let last = tip.height.min(height + MAX_BLOCKS_PER_TICK - 1);
        let mut block_times = signals::BlockTimes::default();
        while height <= last {
            let block = match tip_block.take_if(|b| b.at.height == height) {
                Some(block) => block,
                None => self.client.block_at(height).await?,
            };
            let previous = cursor.recent.last().expect("not empty").clone();
            let continues = previous.hash.is_empty() || block.parent_hash.as_deref() == Some(previous.hash.as_str());
            if !continues {
                // The block we read at `previous.height` left the best chain:
                // undo it, and read that height again.
                report.reorged += self.undo_block(&previous).await?;
                cursor.recent.pop();
                cursor.last_time = None;
                if cursor.recent.is_empty() {
                    cursor.recent.push(BlockRef { height: previous.height.saturating_sub(1), hash: String::new() });
                }
                height = previous.height;
                continue;
            }
            if self.settings.discover && self.client.discovers_in_blocks() {
                self.discover_in_block(&block, &mut watched).await?;
            }
            report.matched += self.match_block(&block, &watched, tip.height).await?;
            report.blocks += 1;
            cursor.expiry_point = block.expiry_point.or(cursor.expiry_point);
            block_times.add(cursor.last_time, block.at.height, block.time);
            cursor.last_time = block.time.map(|time| (block.at.height, time));
            cursor.recent.push(block.at.clone());
            if cursor.recent.len() > REMEMBERED_BLOCKS {
                cursor.recent.remove(0);
            }
            height += 1;
        }
        self.save_cursor(&cursor).await?;
        report.reorged += self.update_confirmations(tip.height, &cursor.recent).await?;
        report.dropped = self.check_drops(cursor.expiry_point).await?;
        self.record_signals(block_times).await;
        Ok(report)
    }

    /// Withdrawals whose transactions sat in a block that left the best
    /// chain go back to `broadcast`; the rescan finds their new block.
    async fn undo_block(&self, stale: &BlockRef) -> Result<usize, TrackError> {
        let mut undone = 0;
        for w in self.port.in_state(State::Confirming).await? {
            if tracking::sits_in(&w, stale) {
                self.port.observe(&w.id, &Observation::LeftBestChain(stale.clone())).await?;
                undone += 1;
            }
        }
        Ok(undone)
    }

    /// Each newly broadcast transaction is looked up once: the payee check
    /// runs on that answer, and one mined before we watched is found.
    async fn look_up_new(&self, tip: u64, not_looked_up: &[WithdrawalId]) -> Result<(), TrackError> {
        for id in not_looked_up.iter().take(PAGE) {
            let Some(txid) = self.port.get(id).await?.and_then(|w| w.tx_hash().map(|h| h.as_str().to_owned())) else {
                continue;
            };
            let found = self.client.transaction(&txid).await?;
            self.observe(id, &Observation::LookedUp { txid, found, tip }).await?;
        }
        Ok(())
    }

    async fn match_block(&self, block: &Block, watched: &Watched, tip: u64) -> Result<usize, TrackError> {
        let candidates: Vec<(&String, &WithdrawalId)> =
            block.txs.iter().flat_map(|t| watched.candidates(&t.txid).iter().map(move |id| (&t.txid, id))).collect();
        // Details are needed where the payee is not checked yet (a check that
        // found a mismatch is done too), or where only a receipt tells success
        // (account chains); one fetch per transaction for all the withdrawals
        // it pays, batched where the API allows.
        let mut matched = Vec::new();
        let mut need_details = Vec::new();
        let mut verified = Vec::new();
        for (hash, id) in candidates {
            let Some(known) = self.port.get(id).await? else { continue };
            if known.tx_hash().map(|h| h.as_str()) != Some(hash.as_str()) {
                continue; // another transaction whose hash ends alike
            }
            matched.push((hash, id));
            if self.network.is_evm() || self.client.outcome_in_block() || tracking::payee_unchecked(&known) {
                need_details.push(hash.clone());
            } else {
                verified.push(id);
            }
        }
        need_details.dedup();
        let infos = if need_details.is_empty() {
            Vec::new()
        } else {
            self.client.transactions_in_block(block, &need_details).await?
        };
        for info in infos {
            let paid: Vec<&WithdrawalId> =
                matched.iter().filter(|(hash, _)| **hash == info.txid).map(|(_, id)| *id).collect();
            // In the block read, whatever the answer says of its place.
            let seen = Observation::Seen { tx: TxInfo { location: TxLocation::Block(block.at.clone()), ..info }, tip };
            for id in paid {
                self.observe(id, &seen).await?;
            }
        }
        for id in verified {
            self.observe(id, &Observation::InBlock { block: block.at.clone(), tip }).await?;
        }
        Ok(matched.len())
    }
}

impl Blocks<'_> {
    /// Confirmations follow from the tip alone: no request per withdrawal.
    /// A withdrawal seen in a block the tracker never read (its first lookup
    /// ran ahead of the blocks read) is checked against the block read at
    /// that height since: another one there means its block left the best
    /// chain. Returns how many went back so.
    async fn update_confirmations(&self, tip: u64, read: &[BlockRef]) -> Result<usize, TrackError> {
        let read: HashMap<u64, &str> = read.iter().map(|b| (b.height, b.hash.as_str())).collect();
        let mut reorged = 0;
        for w in self.port.in_state(State::Confirming).await? {
            let (Some(height), Some(hash)) = (w.chain().block_height, w.chain().block_hash.clone()) else { continue };
            if let Some(best) = read.get(&height).filter(|best| !best.eq_ignore_ascii_case(&hash)) {
                let best = Observation::BestBlockAt(BlockRef { height, hash: (*best).to_owned() });
                let went_back = match self.port.observe(&w.id, &best).await {
                    Ok(now) => now.state() == State::Broadcast,
                    Err(ServiceError::NotFound) => false,
                    Err(error) => return Err(error.into()),
                };
                if went_back {
                    reorged += 1;
                    continue;
                }
            }
            let confirmations = tip.saturating_sub(height) + 1;
            if w.chain().confirmations == Some(confirmations) {
                continue;
            }
            self.observe(&w.id, &Observation::InBlock { block: BlockRef { height, hash }, tip }).await?;
        }
        Ok(reorged)
    }

    /// Broadcast transactions nobody has seen for `drop_after`: ask once; if
    /// the node does not know them, they were dropped (or replaced). Where
    /// the transaction's last valid point is known, that decides instead: it
    /// is not dropped before the chain (at `expiry_point`, the newest block
    /// read) passes it, and is dropped as expired once it has.
    async fn check_drops(&self, expiry_point: Option<u64>) -> Result<usize, TrackError> {
        let cutoff = self.port.now() - chrono::Duration::from_std(self.settings.drop_after).unwrap_or_default();
        let mut dropped = 0;
        for id in self.port.unseen_since(cutoff, MAX_DROP_CHECKS_PER_TICK).await? {
            let Some(w) = self.port.get(&id).await? else { continue };
            let Some(hash) = w.tx_hash().map(|h| h.as_str().to_owned()) else { continue };
            let found = self.client.transaction(&hash).await?;
            let last_valid = w.chain().last_valid_height.or(found.as_ref().and_then(|tx| tx.valid_until));
            let expiry = tracking::expiry(last_valid, expiry_point);
            match found {
                Some(tx @ TxInfo { location: TxLocation::Mempool, success: Some(false), .. }) => {
                    let tip = self.client.tip().await?.height;
                    self.observe(&id, &Observation::Seen { tx, tip }).await?;
                }
                Some(TxInfo { location: TxLocation::Mempool, .. }) if expiry == Expiry::Passed => {
                    self.port.observe(&id, &Observation::Dropped(DropReason::Expired)).await?;
                    dropped += 1;
                }
                Some(TxInfo { location: TxLocation::Mempool, .. }) => {
                    self.port.observe(&id, &Observation::StillPending).await?;
                }
                Some(tx) => {
                    let tip = self.client.tip().await?.height;
                    self.observe(&id, &Observation::Seen { tx, tip }).await?;
                }
                None => {
                    let replaced = match &w.chain().replacement_key {
                        Some(key) => self.client.replacement(&hash, key).await?,
                        None => None,
                    };
                    let reason = match (replaced, expiry) {
                        (Some(r), _) => DropReason::Replaced { by: r.by },
                        (None, Expiry::Passed) => DropReason::Expired,
                        (None, Expiry::StillValid) => {
                            self.port.observe(&id, &Observation::StillPending).await?;
                            continue;
                        }
                        (None, Expiry::Unknown) => self.unseen_for(),
                    };
                    self.port.observe(&id, &Observation::Dropped(reason)).await?;
                    dropped += 1;
                }
            }
        }
        Ok(dropped)
    }
}

impl Statuses<'_> {
    /// Chains followed by transaction status (Solana, XRPL).
    async fn statuses_tick(&self, max_batch: usize) -> Result<TickReport, TrackError> {
        let mut report = TickReport::default();
        let tip = self.client.tip().await?;
        report.tip_height = tip.height;
        self.metrics.chain_tip_height.with_label_values(&[self.network.code()]).set(tip.height as i64);
        if self.settings.discover {
            self.discover_by_address(tip.height).await?;
        }
        let watched: Vec<WithdrawalId> = self.watched().await?.ids().cloned().collect();
        for chunk in watched.chunks(max_batch.max(1)) {
            let mut pending = Vec::with_capacity(chunk.len());
            let mut ids = Vec::with_capacity(chunk.len());
            for id in chunk {
                let Some(w) = self.port.get(id).await? else { continue };
                let Some(hash) = w.tx_hash() else { continue };
                pending
                    .push(PendingTx { txid: hash.as_str().to_owned(), last_valid_height: w.chain().last_valid_height });
                ids.push(id);
            }
            if pending.is_empty() {
                continue;
            }
            let statuses = self.client.statuses_of(&pending).await?;
            for ((tx, id), status) in pending.iter().zip(ids).zip(statuses) {
                let observation = if status.success == Some(false) {
                    Observation::Failed
                } else if status.finalized {
                    report.matched += 1;
                    Observation::Final { tx: self.client.transaction(&tx.txid).await? }
                } else if let Some(TxLocation::Block(block)) = status.location {
                    Observation::Included(block)
                } else if let Some(replaced) = self.client.replaced(&tx.txid) {
                    report.dropped += 1;
                    Observation::Dropped(DropReason::Replaced { by: replaced.by })
                } else if status.location.is_some() {
                    Observation::StillPending
                } else if status.expired {
                    report.dropped += 1;
                    Observation::Dropped(DropReason::Expired)
                } else {
                    continue;
                };
                self.port.observe(id, &observation).await?;
            }
        }
        report.dropped += self.check_drops_by_age().await?;
        Ok(report)
    }

    /// For status-followed chains: unknown for `drop_after` means dropped.
    async fn check_drops_by_age(&self) -> Result<usize, TrackError> {
        let cutoff = self.port.now() - chrono::Duration::from_std(self.settings.drop_after).unwrap_or_default();
        let mut dropped = 0;
        for id in self.port.unseen_since(cutoff, PAGE).await? {
            self.port.observe(&id, &Observation::Dropped(self.unseen_for())).await?;
            dropped += 1;
        }
        Ok(dropped)
    }
}

/// A withdrawal that vanished while the tracker looked at it is not an error.
fn unless_gone<T>(result: Result<T, ServiceError>) -> Result<(), TrackError> {
    match result {
        Ok(_) | Err(ServiceError::NotFound) => Ok(()),
        Err(error) => Err(error.into()),
    }
}
