//! Application operations on withdrawals: the domain plus the store, with no
//! HTTP in sight. Handlers and background jobs call these.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::auth::Caller;
use crate::clock::Clock;
use crate::domain::escalation::{self, EscalationPolicy, TicketStatus};
use crate::domain::eta;
use crate::domain::observation::{NetworkRules, Observation};
use crate::domain::sla::{self, SlaPolicy, WorkingTime};
use crate::domain::withdrawal::TransitionError;
use crate::domain::{Amount, FieldError, Network, Registration, State, TxHash, Withdrawal, WithdrawalId};
use crate::eta::EtaBook;
use crate::metrics::Metrics;
use crate::networks::NetworkBoard;
use crate::store::{
    Cursor, InFlightEntry, IndexKey, Inserted, ListQuery, Page, RecordFilter, Store, StoreError, Updated,
};

/// Concurrent writers retry a compare-and-set this many times before the
/// request is answered "try again".
const MAX_WRITE_ATTEMPTS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("withdrawal not found")]
    NotFound,
    /// Deleted by retention; told only to callers who may know it existed.
    #[error("withdrawal {id} expired at {at}")]
    Expired { id: WithdrawalId, at: DateTime<Utc> },
    #[error("withdrawal {0} already exists with different content")]
    Conflict(WithdrawalId),
    #[error(transparent)]
    InvalidTransition(#[from] TransitionError),
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error("withdrawal {0} has no dead ticket delivery to retry")]
    NothingToRetry(WithdrawalId),
    #[error("withdrawal {0} has no open ticket to resolve")]
    NothingToResolve(WithdrawalId),
    #[error("too many concurrent updates of {0}")]
    Contended(WithdrawalId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, Default)]
pub struct OverdueQuery {
    pub network: Option<Network>,
    pub coin: Option<String>,
    pub min_amount: Option<Amount>,
    /// Only withdrawals late for this reason (as of now).
    pub delay: Option<eta::DelayCode>,
    pub after: Option<Cursor>,
    pub limit: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    Created,
    /// The same registration was sent before: nothing changed.
    AlreadyExisted,
}

/// The store with the rules every write must follow: SLA deadlines and
/// status, escalation decisions and the next-deadline index stay current on
/// every change, whoever makes it.
pub struct Service {
    pub store: Arc<dyn Store>,
    pub calendar: Arc<dyn WorkingTime>,
    pub sla: SlaPolicy,
    pub escalation: EscalationPolicy,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    /// Each network's status and maintenance windows (the SLA may skip them).
    pub networks: Arc<NetworkBoard>,
    /// This replica's copy of the arrival estimate's inputs (`eta.rs`).
    pub eta: Arc<EtaBook>,
}

impl Service {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Brings the derived parts of a record up to date at `now`.
    pub fn refresh(&self, withdrawal: &mut Withdrawal, now: DateTime<Utc>) {
        let calendar = self.calendar.as_ref();
        let (network, requested_at) = (withdrawal.network, withdrawal.requested_at.to_utc());
        // Declared maintenance moves the deadlines of what is still open
        // (`sla.pause_during_maintenance`); otherwise they are fixed at
        // registration.
        let pauses = self.networks.sla_pauses(network);
        let mut deadlines = match withdrawal.sla.take() {
            Some(kept) if pauses.is_empty() || withdrawal.state().is_terminal() => kept,
            _ if !pauses.is_empty() => self.sla.deadlines_with_pauses(calendar, network, requested_at, &pauses, now),
            _ => self.sla.deadlines(calendar, network, requested_at),
        };
        deadlines.status = sla::status_at(&deadlines, withdrawal, now);
        let status = deadlines.status;
        let threshold = sla::next_threshold(&deadlines, withdrawal, now);
        withdrawal.sla = Some(deadlines);
        let grouping = match self.networks.record(network).open_incident() {
            Some(_) => escalation::Grouping::InIncident,
            None => escalation::Grouping::Own,
        };
        escalation::evaluate_grouped(withdrawal, Some(status), grouping, calendar, &self.escalation, now);
        let outbox = withdrawal.escalation.as_ref().and_then(escalation::next_due);
        withdrawal.next_deadline_at = [threshold, outbox].into_iter().flatten().min();
        eta::issue(withdrawal, &self.eta.inputs(network), now);
    }

    /// The arrival estimate and delay of `withdrawal` at `now`.
    pub fn estimate(&self, withdrawal: &Withdrawal, now: DateTime<Utc>) -> eta::Estimate {
        eta::estimate(withdrawal, &self.eta.inputs(withdrawal.network), now)
    }

    /// Declares maintenance on `network`; see [`Service::follow_maintenance`].
    pub async fn declare_maintenance(
        self: &Arc<Self>,
        network: Network,
        declaration: crate::networks::Declaration,
    ) -> Result<Arc<crate::domain::network_status::NetworkRecord>, crate::networks::BoardError> {
        let record = self.networks.declare_maintenance(network, declaration).await?;
        self.follow_maintenance(network);
        Ok(record)
    }

    pub async fn end_maintenance(
        self: &Arc<Self>,
        network: Network,
        by: &str,
    ) -> Result<Arc<crate::domain::network_status::NetworkRecord>, crate::networks::BoardError> {
        let record = self.networks.end_maintenance(network, by).await?;
        self.follow_maintenance(network);
        Ok(record)
    }

    /// Support opens an incident on `network`: from now on its late
    /// withdrawals join the incident's one ticket.
    pub async fn declare_incident(
        &self,
        network: Network,
        reason: crate::domain::network_status::Reason,
        by: &str,
    ) -> Result<Arc<crate::domain::network_status::NetworkRecord>, crate::networks::BoardError> {
        self.networks.declare_incident(network, reason, by, &self.escalation).await
    }

    /// Support closes the open incident on `network`; the withdrawals still
    /// late get tickets of their own (in the background: the caller is
    /// answered at once).
    pub async fn close_incident(
        self: &Arc<Self>,
        network: Network,
        by: &str,
    ) -> Result<Arc<crate::domain::network_status::NetworkRecord>, crate::networks::BoardError> {
        // The store's record, not this replica's cache: the outcomes are
        // read for the incident that is open now (the API and the console alike).
        self.networks.reload().await?;
        let record = self.networks.record(network);
        let incident = record.open_incident().ok_or(crate::domain::incident::IncidentError::NoneOpen)?;
        let outcomes = self.incident_outcomes(incident).await?;
        let record = self.networks.close_incident(network, outcomes, by, &self.escalation).await?;
        let service = self.clone();
        tokio::spawn(async move {
            if let Err(error) = service.refresh_open_on(network).await {
                tracing::warn!(%network, %error, "cannot open the tickets of an incident's late withdrawals");
            }
        });
        Ok(record)
    }

    /// How an incident's withdrawals stand: completed ones recovered, those
    /// still in flight still late (the rest ended otherwise, with tickets of
    /// their own where they failed).
    pub async fn incident_outcomes(
        &self,
        incident: &crate::domain::incident::Incident,
    ) -> Result<crate::domain::incident::Outcomes, StoreError> {
        let mut outcomes = crate::domain::incident::Outcomes::default();
        for raw in &incident.affected {
            let Ok(id) = WithdrawalId::parse(raw) else { continue };
            match self.store.get(&id).await? {
                Some(w) if w.state() == State::Completed => outcomes.recovered.push(raw.clone()),
                Some(w) if !w.state().is_terminal() => outcomes.still_late.push(raw.clone()),
                _ => {}
            }
        }
        Ok(outcomes)
    }

    /// When the SLA pauses for maintenance, the open withdrawals' deadlines
    /// move in the background after each change (the caller is answered at
    /// once; their next threshold would move them anyway).
    fn follow_maintenance(self: &Arc<Self>, network: Network) {
        if !self.networks.pauses_sla() {
            return;
        }
        let service = self.clone();
        tokio::spawn(async move {
            if let Err(error) = service.refresh_open_on(network).await {
                tracing::warn!(%network, %error, "cannot move the deadlines after a maintenance change");
            }
        });
    }

    /// Runs `refresh` on every open withdrawal on `network`: after its
    /// maintenance was declared or ended, their deadlines move now rather
    /// than at their next threshold. Returns how many changed.
    pub async fn refresh_open_on(&self, network: Network) -> Result<usize, ServiceError> {
        let mut changed = 0;
        for state in State::ALL.into_iter().filter(|s| !s.is_terminal()) {
            let mut after = None;
            loop {
                let query = ListQuery { user_id: None, state: Some(state), network: Some(network), after, limit: 200 };
                let page = self.store.list(&query).await?;
                for w in &page.items {
                    match self.modify(&w.id, |_| Ok(())).await {
                        Ok(now) if now.version != w.version => changed += 1,
                        Ok(_) | Err(ServiceError::NotFound) => {}
                        Err(error) => return Err(error),
                    }
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        Ok(changed)
    }

    /// Counted by the one writer whose compare-and-set completed the
    /// withdrawal, so replicas never count it twice.
    fn count_completion(&self, current: &Withdrawal, next: &Withdrawal, now: DateTime<Utc>) {
        if next.state() != State::Completed || current.state() == State::Completed {
            return;
        }
        let network = next.network.code();
        let days = sla::working_days_elapsed(self.calendar.as_ref(), next, now);
        self.metrics.completion_working_days.with_label_values(&[network]).observe(days);
        if next.sla.as_ref().is_some_and(|s| s.status == sla::SlaStatus::Breached) {
            self.metrics.sla_breaches.with_label_values(&[network]).inc();
        }
        let completed_at = next.completed_at().unwrap_or(now);
        for issued in &next.eta_issued {
            let outcome = issued.judge(completed_at).as_str();
            self.metrics.eta_outcomes.with_label_values(&[network, issued.basis.as_str(), outcome]).inc();
        }
    }

    /// The durations a completed withdrawal adds to its network's shared
    /// statistics, by the same one writer; a store that does not answer
    /// loses these samples only.
    async fn record_completion(&self, current: &Withdrawal, next: &Withdrawal, now: DateTime<Utc>) {
        if next.state() != State::Completed || current.state() == State::Completed {
            return;
        }
        if let Err(error) = crate::eta::record_completion(self.store.as_ref(), next, now).await {
            tracing::warn!(withdrawal_id = %next.id, %error, "completion durations not recorded");
        }
    }

    pub async fn register(&self, registration: Registration) -> Result<(Withdrawal, Registered), ServiceError> {
        let now = self.now();
        let mut withdrawal = Withdrawal::register(registration.clone(), now);
        self.refresh(&mut withdrawal, now);
        match self.store.insert(&withdrawal).await? {
            Inserted::Created => {
                tracing::info!(withdrawal_id = %withdrawal.id, state = %withdrawal.state(), "withdrawal registered");
                Ok((withdrawal, Registered::Created))
            }
            Inserted::Existing(existing) if existing.matches(&registration) => {
                Ok((*existing, Registered::AlreadyExisted))
            }
            Inserted::Existing(existing) => Err(ServiceError::Conflict(existing.id)),
            Inserted::Expired(at) => Err(ServiceError::Expired { id: withdrawal.id, at }),
        }
    }

    /// What the caller may see: a user only their own withdrawals, and someone
    /// else's look exactly like one that does not exist. An id retention
    /// deleted is `Expired` to ingest and support (while its tombstone is
    /// kept) and, to users, like one that never existed: a user cannot learn
    /// whether another user's withdrawal existed.
    pub async fn get_visible(&self, caller: &Caller, id: &WithdrawalId) -> Result<Arc<Withdrawal>, ServiceError> {
        let Some(withdrawal) = self.store.get_shared(id).await? else {
            return Err(self.missing(caller, id).await?);
        };
        match caller {
            Caller::User(user) if *user != withdrawal.user_id => Err(ServiceError::NotFound),
            _ => Ok(withdrawal),
        }
    }

    /// Why `id` has no record, as far as `caller` may know.
    async fn missing(&self, caller: &Caller, id: &WithdrawalId) -> Result<ServiceError, ServiceError> {
        if matches!(caller, Caller::User(_)) {
            return Ok(ServiceError::NotFound);
        }
        Ok(match self.store.tombstone(id).await? {
            Some(at) => ServiceError::Expired { id: id.clone(), at },
            None => ServiceError::NotFound,
        })
    }

    pub async fn list(&self, query: &ListQuery) -> Result<Page, ServiceError> {
        Ok(self.store.list(query).await?)
    }

    /// Recomputes the stored SLA deadlines of every withdrawal still in
    /// flight when the calendar or thresholds differ from those they were
    /// computed with. Reads the state+network indexes of non-terminal states
    /// one by one (a merged list would read every network's head per page).
    pub async fn recompute_deadlines_if_calendar_changed(&self, fingerprint: &str) -> Result<usize, ServiceError> {
        const META: &str = "sla_calendar_fingerprint";
        if self.store.get_meta(META).await?.as_deref() == Some(fingerprint) {
            return Ok(0);
        }
        let mut recomputed = 0;
        let in_flight = State::ALL.into_iter().filter(|s| !s.is_terminal());
        for index in in_flight.flat_map(|s| Network::ALL.into_iter().map(move |n| IndexKey::StateNetwork(s, n))) {
            let mut after = None;
            loop {
                let page = self.store.page(&index, after.as_ref(), 500, &|_| true).await?;
                for withdrawal in &page.items {
                    match self
                        .modify(&withdrawal.id, |w| {
                            w.sla = None;
                            Ok(())
                        })
                        .await
                    {
                        Ok(_) | Err(ServiceError::NotFound) => recomputed += 1,
                        Err(error) => return Err(error),
                    }
                }
                match page.next {
                    Some(cursor) => after = Some(cursor),
                    None => break,
                }
            }
        }
        self.store.set_meta(META, fingerprint).await?;
        tracing::info!(recomputed, "SLA deadlines recomputed for a changed calendar");
        Ok(recomputed)
    }

    /// Overdue, not terminal withdrawals, most late first.
    pub async fn overdue(&self, query: &OverdueQuery) -> Result<Page, ServiceError> {
        self.overdue_where(query, &|_| true).await
    }

    /// [`Service::overdue`] keeping only what also passes `also` (the
    /// console's state, SLA and age filters); the cursors stay the index's.
    pub async fn overdue_where(&self, query: &OverdueQuery, also: RecordFilter<'_>) -> Result<Page, ServiceError> {
        let now = self.now();
        let keep = |w: &Withdrawal| {
            query.coin.as_ref().is_none_or(|coin| w.coin == *coin)
                && query.min_amount.as_ref().is_none_or(|min| w.amount.cmp_value(min).is_ge())
                && query.delay.is_none_or(|code| self.estimate(w, now).delay.is_some_and(|d| d.code == code))
                && also(w)
        };
        let index = IndexKey::Overdue(query.network);
        Ok(self.store.page(&index, query.after.as_ref(), query.limit, &keep).await?)
    }

    /// In flight and at risk as of now (past `at_risk_at`, not yet overdue),
    /// newest request first, also passing `also`. No index holds them (the
    /// SLA index is counted only), so this reads the all-withdrawals index
    /// with a filter: a console page, not a hot path.
    pub async fn at_risk(&self, query: &OverdueQuery, also: RecordFilter<'_>) -> Result<Page, ServiceError> {
        let now = self.now();
        let keep = |w: &Withdrawal| {
            !w.state().is_terminal()
                && query.network.is_none_or(|n| w.network == n)
                && query.coin.as_ref().is_none_or(|coin| w.coin == *coin)
                && query.min_amount.as_ref().is_none_or(|min| w.amount.cmp_value(min).is_ge())
                && w.sla.as_ref().is_some_and(|d| sla::status_at(d, w, now) == sla::SlaStatus::AtRisk)
                && also(w)
        };
        Ok(self.store.page(&IndexKey::All, query.after.as_ref(), query.limit, &keep).await?)
    }

    /// How many withdrawals in flight are in each of `statuses` per network
    /// (the counted SLA index, as of the last sweep), in one round trip.
    pub async fn sla_counts(
        &self,
        statuses: &[sla::SlaStatus],
    ) -> Result<Vec<(Network, sla::SlaStatus, u64)>, ServiceError> {
        let keys: Vec<(Network, sla::SlaStatus)> =
            Network::ALL.into_iter().flat_map(|n| statuses.iter().map(move |s| (n, *s))).collect();
        let indexes: Vec<IndexKey> = keys.iter().map(|(n, s)| IndexKey::Sla(*s, *n)).collect();
        let counts = self.store.count(&indexes).await?;
        Ok(keys.into_iter().zip(counts).map(|((n, s), c)| (n, s, c)).collect())
    }

    /// Withdrawals whose transaction is `raw` on any network where `raw` is
    /// a valid hash. Only those the chain tracker watches (broadcast,
    /// confirming) are found: its in-flight index is the only one that
    /// knows hashes (by their tail).
    pub async fn in_flight_with_hash(&self, raw: &str) -> Result<Vec<Withdrawal>, ServiceError> {
        let mut found = Vec::new();
        for network in Network::ALL {
            let Ok(hash) = TxHash::parse(network, raw) else { continue };
            let tail = crate::store::in_flight::hash_tail(hash.as_str());
            let ids: Vec<WithdrawalId> = self
                .store
                .in_flight(network)
                .await?
                .into_iter()
                .filter(|e| e.hash_tail == tail)
                .map(|e| e.id)
                .collect();
            for withdrawal in self.store.get_many(&ids).await?.into_iter().flatten() {
                if withdrawal.tx_hash() == Some(&hash) {
                    found.push(withdrawal);
                }
            }
        }
        Ok(found)
    }

    /// Withdrawals whose escalation is in `status`, newest ticket first.
    pub async fn tickets(
        &self,
        status: TicketStatus,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page, ServiceError> {
        Ok(self.store.page(&IndexKey::Tickets(status), after, limit, &|_| true).await?)
    }

    /// Support's retry of a ticket whose deliveries died.
    pub async fn retry_ticket(&self, id: &WithdrawalId) -> Result<Withdrawal, ServiceError> {
        let now = self.now();
        let retried = self
            .modify(id, |w| match escalation::retry_dead(w, &self.escalation, now) {
                true => Ok(()),
                false => Err(ServiceError::NothingToRetry(id.clone())),
            })
            .await;
        self.explain_missing(retried, &Caller::Support, id).await
    }

    pub async fn resolve_ticket(&self, id: &WithdrawalId) -> Result<Withdrawal, ServiceError> {
        let now = self.now();
        let resolved = self
            .modify(id, |w| match escalation::resolve_by_hand(w, &self.escalation, now) {
                true => Ok(()),
                false => Err(ServiceError::NothingToResolve(id.clone())),
            })
            .await;
        self.explain_missing(resolved, &Caller::Support, id).await
    }

    /// A `NotFound` from a write on behalf of `caller` becomes `Expired`
    /// when retention deleted the record and the caller may know that.
    async fn explain_missing(
        &self,
        result: Result<Withdrawal, ServiceError>,
        caller: &Caller,
        id: &WithdrawalId,
    ) -> Result<Withdrawal, ServiceError> {
        match result {
            Err(ServiceError::NotFound) => Err(self.missing(caller, id).await?),
            other => other,
        }
    }

    /// `last_valid_height`: where the chain says a transaction expires
    /// (Solana, XRPL), known only at signing.
    pub async fn set_tx_hash(
        &self,
        id: &WithdrawalId,
        raw_tx_hash: &str,
        last_valid_height: Option<u64>,
    ) -> Result<Withdrawal, ServiceError> {
        let now = self.now();
        let set = self
            .modify(id, |w| {
                let tx_hash = TxHash::parse(w.network, raw_tx_hash)?;
                w.set_tx_hash_expiring(tx_hash, last_valid_height, now)?;
                Ok(())
            })
            .await;
        self.explain_missing(set, &Caller::Ingest, id).await
    }

    pub async fn cancel(&self, id: &WithdrawalId, reason: &str) -> Result<Withdrawal, ServiceError> {
        let now = self.now();
        let cancelled = self.modify(id, |w| Ok(w.cancel(reason, now).map(|_| ())?)).await;
        self.explain_missing(cancelled, &Caller::Ingest, id).await
    }

    /// Reads, applies `change`, refreshes the derived parts, and writes back
    /// only if nobody wrote in between; on a lost race it starts over from the
    /// fresh record. A change that changes nothing writes nothing.
    pub async fn modify(
        &self,
        id: &WithdrawalId,
        mut change: impl FnMut(&mut Withdrawal) -> Result<(), ServiceError>,
    ) -> Result<Withdrawal, ServiceError> {
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let current = self.store.get(id).await?.ok_or(ServiceError::NotFound)?;
            let now = self.now();
            let mut next = current.clone();
            change(&mut next)?;
            self.refresh(&mut next, now);
            if next == current {
                return Ok(current);
            }
            next.version = current.version + 1;
            next.updated_at = now;
            match self.store.update(&current, &next).await? {
                Updated::Written => {
                    if next.state() != current.state() {
                        tracing::info!(withdrawal_id = %id, from = %current.state(), to = %next.state(), "state changed");
                        self.count_completion(&current, &next, now);
                        self.record_completion(&current, &next, now).await;
                    }
                    return Ok(next);
                }
                Updated::VersionConflict => continue,
                Updated::NotFound => return Err(ServiceError::NotFound),
            }
        }
        Err(ServiceError::Contended(id.clone()))
    }
}

/// What a chain tracker may do with the withdrawals of one network: read
/// what to watch, and apply what it observed. The one change it can make is
/// an [`Observation`], applied by `Withdrawal::observe` under
/// [`Service::modify`] (so `refresh` runs too).
#[derive(Clone)]
pub struct ChainPort {
    service: Arc<Service>,
    network: Network,
    rules: NetworkRules,
}

impl ChainPort {
    pub fn new(service: Arc<Service>, network: Network, rules: NetworkRules) -> ChainPort {
        ChainPort { service, network, rules }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.service.now()
    }

    pub fn rules(&self) -> &NetworkRules {
        &self.rules
    }

    /// Takes or renews this network's poll lease for `owner`: one replica
    /// polls a network at a time. A store that does not answer is no lease.
    pub async fn try_poll_lease(&self, owner: &str, lease: std::time::Duration) -> bool {
        let name = format!("poll:{}", self.network);
        self.service.store.try_lease(&name, owner, lease).await.unwrap_or(false)
    }

    /// Where the tracker stopped on this network, as it saved it (its own
    /// format), so another replica resumes there.
    /// After each poll: the tip seen, or why none was (the network's health).
    pub async fn report_poll(
        &self,
        outcome: Result<u64, String>,
        rules: crate::domain::network_status::HealthRules,
    ) -> Result<(), crate::networks::BoardError> {
        let congested = self.service.eta.inputs(self.network).signals.congested_since.is_some();
        self.service.networks.report_poll(self.network, outcome, rules, congested).await
    }

    pub async fn load_cursor(&self) -> Result<Option<String>, StoreError> {
        self.service.store.get_meta(&self.cursor_name()).await
    }

    pub async fn save_cursor(&self, cursor: &str) -> Result<(), StoreError> {
        self.service.store.set_meta(&self.cursor_name(), cursor).await
    }

    fn cursor_name(&self) -> String {
        format!("chain_cursor:{}", self.network)
    }

    /// Every transaction being watched on this network.
    pub async fn watched(&self) -> Result<Vec<InFlightEntry>, StoreError> {
        self.service.store.in_flight(self.network).await
    }

    /// Broadcast transactions nobody has seen since `cutoff`, earliest first.
    pub async fn unseen_since(&self, cutoff: DateTime<Utc>, limit: usize) -> Result<Vec<WithdrawalId>, StoreError> {
        let entries = self.service.store.in_flight_unseen_since(self.network, cutoff, limit).await?;
        Ok(entries.into_iter().map(|entry| entry.id).collect())
    }

    /// Pending withdrawals without a hash, those due by `due_by` when given.
    pub async fn undiscovered(
        &self,
        due_by: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<Withdrawal>, StoreError> {
        let mut found = Vec::new();
        for id in self.service.store.undiscovered(self.network, due_by, limit).await? {
            found.extend(
                self.service.store.get(&id).await?.filter(|w| w.state() == State::Pending && w.tx_hash().is_none()),
            );
        }
        Ok(found)
    }

    /// Every withdrawal of this network in `state`.
    pub async fn in_state(&self, state: State) -> Result<Vec<Withdrawal>, StoreError> {
        const PAGE: usize = 1000;
        let index = IndexKey::StateNetwork(state, self.network);
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = self.service.store.page(&index, after.as_ref(), PAGE, &|_| true).await?;
            all.extend(page.items);
            match page.next {
                Some(cursor) => after = Some(cursor),
                None => return Ok(all),
            }
        }
    }

    pub async fn get(&self, id: &WithdrawalId) -> Result<Option<Withdrawal>, StoreError> {
        self.service.store.get(id).await
    }

    /// Up to `limit` broadcast withdrawals of this network (not in a block yet).
    pub async fn broadcast(&self, limit: usize) -> Result<Vec<Withdrawal>, StoreError> {
        let index = IndexKey::StateNetwork(State::Broadcast, self.network);
        Ok(self.service.store.page(&index, None, limit, &|_| true).await?.items)
    }

    /// Adds block intervals (seconds) to this network's shared statistics.
    pub async fn record_block_intervals(&self, seconds: &[f64]) -> Result<(), StoreError> {
        let (store, now) = (self.service.store.as_ref(), self.now());
        crate::eta::record(store, self.network, crate::eta::Metric::BlockInterval, seconds, now).await
    }

    /// This network's chain signals as the last poll left them.
    pub async fn load_signals(&self) -> Result<eta::ChainSignals, StoreError> {
        crate::eta::load_signals(self.service.store.as_ref(), self.network).await
    }

    pub async fn save_signals(&self, signals: &eta::ChainSignals) -> Result<(), StoreError> {
        crate::eta::save_signals(self.service.store.as_ref(), self.network, signals).await
    }

    /// Applies `observation` to `id` at the clock's time.
    pub async fn observe(&self, id: &WithdrawalId, observation: &Observation) -> Result<Withdrawal, ServiceError> {
        let now = self.now();
        self.service.modify(id, |w| Ok(w.observe(observation, now, &self.rules)?)).await
    }
}
