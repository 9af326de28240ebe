//! The withdrawal record and the operations that change it. Every change of
//! state goes through [`Withdrawal::transition`], which enforces the state
//! machine and appends to the history.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::address::ValidatedAddress;
use super::escalation::Escalation;
use super::eta::IssuedEta;
use super::onchain::ReplacementKey;
use super::sla::SlaDeadlines;
use super::{rfc3339, Amount, FieldError, Network, State, TxHash, UserId, WithdrawalId};

const MAX_COIN_LEN: usize = 20;
const MAX_ADDRESS_LEN: usize = 256;
use super::address::memo::MAX_MEMO_CHARS;
pub const MAX_REASON_LEN: usize = 500;

/// What the exchange's back office tells us when a user asks for a withdrawal,
/// every field already parsed. The destination is a [`ValidatedAddress`] (it
/// carries the network), so nothing can register an address or memo the
/// validator refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub id: WithdrawalId,
    pub user_id: UserId,
    pub coin: String,
    pub destination: ValidatedAddress,
    pub amount: Amount,
    pub requested_at: Option<DateTime<FixedOffset>>,
    pub tx_hash: Option<TxHash>,
}

pub fn parse_coin(raw: &str) -> Result<String, FieldError> {
    let ok = !raw.is_empty()
        && raw.len() <= MAX_COIN_LEN
        && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !ok {
        return Err(FieldError::new("coin", format!("coin must be 1-{MAX_COIN_LEN} characters of A-Z a-z 0-9 . _ -")));
    }
    Ok(raw.to_owned())
}

/// The shape check every address gets before the per-network validator runs.
pub fn parse_address_text(raw: &str) -> Result<String, FieldError> {
    let ok = !raw.is_empty() && raw.len() <= MAX_ADDRESS_LEN && raw.bytes().all(|b| b.is_ascii_graphic());
    if !ok {
        return Err(FieldError::new(
            "address",
            format!("address must be 1-{MAX_ADDRESS_LEN} printable ASCII characters without spaces"),
        ));
    }
    Ok(raw.to_owned())
}

/// An empty memo means no memo: wallets send `""` when the field is blank.
pub fn parse_memo_text(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    match raw {
        None | Some("") => Ok(None),
        Some(memo) if memo.chars().count() > MAX_MEMO_CHARS || memo.chars().any(char::is_control) => {
            Err(FieldError::new(
                "memo",
                format!("memo must be at most {MAX_MEMO_CHARS} characters without control characters"),
            ))
        }
        Some(memo) => Ok(Some(memo.to_owned())),
    }
}

/// Refuses times that cannot be a real request: before 2009 (no chain we
/// track existed) or more than a few minutes ahead of our clock.
pub fn parse_requested_at(raw: &str, now: DateTime<Utc>) -> Result<DateTime<FixedOffset>, FieldError> {
    let field = "requested_at";
    let at = DateTime::parse_from_rfc3339(raw).map_err(|_| {
        FieldError::new(field, "requested_at must be an RFC 3339 time with an offset, e.g. 2026-01-02T03:04:05Z")
    })?;
    let earliest = DateTime::parse_from_rfc3339("2009-01-03T00:00:00Z").expect("constant");
    if at < earliest {
        return Err(FieldError::new(field, "requested_at is before 2009-01-03"));
    }
    if at.with_timezone(&Utc) > now + chrono::Duration::minutes(5) {
        return Err(FieldError::new(field, "requested_at is in the future"));
    }
    Ok(at)
}

impl Registration {
    pub fn network(&self) -> Network {
        self.destination.network()
    }

    /// A digest of the registration as sent, so a retry of the same request is
    /// recognized (idempotent) and a different one under the same id is not.
    /// Its first 128 bits in base64url (22 characters): every record keeps
    /// one, and the full digest in hex took 42 bytes more of each in the store
    /// for nothing (this tells retries from mistakes, it does not resist an
    /// attacker, who would need the ingest token anyway).
    pub fn fingerprint(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.digest()[..16])
    }

    /// What records written before the short form hold: 64 hex digits.
    fn fingerprint_in_hex(&self) -> String {
        self.digest().iter().map(|b| format!("{b:02x}")).collect()
    }

    fn digest(&self) -> [u8; 32] {
        let canonical = serde_json::json!([
            self.id,
            self.user_id,
            self.coin,
            self.destination.network(),
            self.destination.normalized(),
            self.destination.memo(),
            self.amount,
            self.requested_at.map(|t| t.timestamp_nanos_opt()),
            self.tx_hash,
        ]);
        Sha256::digest(canonical.to_string().as_bytes()).into()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    #[serde(with = "rfc3339")]
    pub at: DateTime<Utc>,
    pub state: State,
    pub reason: String,
}

/// One withdrawal as the tracker knows it. `version` increases by one on every
/// write (see `service::Service::modify`); stores refuse a write whose
/// expected version is stale.
///
/// Its state, history, transaction and chain bookkeeping are private: they
/// change only through the domain's operations (`transition`, `set_tx_hash`,
/// `cancel`, `Withdrawal::observe` in `tracking.rs`), and are read through
/// accessors. Stored as [`StoredWithdrawal`], a flat record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredWithdrawal", into = "StoredWithdrawal")]
pub struct Withdrawal {
    pub id: WithdrawalId,
    pub user_id: UserId,
    pub coin: String,
    pub network: Network,
    pub address: String,
    pub memo: Option<String>,
    pub amount: Amount,
    pub requested_at: DateTime<FixedOffset>,
    state: State,
    tx_hash: Option<TxHash>,
    completed_at: Option<DateTime<Utc>>,
    history: Vec<HistoryEntry>,
    pub version: u64,
    pub registration_fingerprint: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The next instant the SLA sweeper must look at this record; stores keep
    /// it in a time-ordered index so due work is found without a scan.
    pub next_deadline_at: Option<DateTime<Utc>>,
    pub sla: Option<SlaDeadlines>,
    pub escalation: Option<Escalation>,
    /// The arrival estimate given on entering each basis (queue, mempool,
    /// confirmations), judged when the withdrawal completes (`domain/eta`).
    pub eta_issued: Vec<IssuedEta>,
    /// Written by chain tracking (`tracking.rs`) and reset by `set_tx_hash`.
    pub(super) chain: ChainProgress,
}

/// What chain tracking knows of the current transaction, and of the search
/// for one (discovery). Read by anyone through [`Withdrawal::chain`];
/// written only inside the domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainProgress {
    /// The block holding the transaction: its hash pins the fork.
    pub block_hash: Option<String>,
    pub block_height: Option<u64>,
    pub confirmations: Option<u64>,
    pub required_confirmations: Option<u64>,
    /// The last time an explorer showed the transaction (mempool or block).
    pub seen_at: Option<DateTime<Utc>>,
    /// The payee check passed (it runs once per transaction).
    pub payee_verified: bool,
    /// What the chain shows when a transaction does not pay this withdrawal's
    /// address and amount; escalated at once.
    pub payee_mismatch: Option<String>,
    /// The tracker looked the transaction up once after it was broadcast
    /// (catching one mined before the tracker was watching).
    pub looked_up: bool,
    /// What the chain client needs to tell later that the transaction was
    /// replaced (spent outpoints, sender nonce).
    pub replacement_key: Option<ReplacementKey>,
    /// Discovery (a pending withdrawal without a hash): only payments in the
    /// mempool or in blocks above this height can be its own.
    pub discovery_from_height: Option<u64>,
    /// Discovery: when to look at the address again.
    pub discovery_next_at: Option<DateTime<Utc>>,
    /// Solana `lastValidBlockHeight` / XRPL `LastLedgerSequence` of the
    /// current transaction, when the exchange sent it.
    pub last_valid_height: Option<u64>,
}

impl ChainProgress {
    /// A new transaction: what was known of the previous one goes; the
    /// network's confirmation requirement and discovery's bookkeeping stay.
    fn new_transaction(&mut self) {
        *self = ChainProgress {
            required_confirmations: self.required_confirmations,
            discovery_from_height: self.discovery_from_height,
            discovery_next_at: self.discovery_next_at,
            ..ChainProgress::default()
        };
    }
}

/// A [`Withdrawal`] as records store it: every field at the top level, in
/// this order, with these names and shapes (deployed records, and the
/// store's compression dictionary, have this layout). Only serde sees it.
#[derive(Serialize, Deserialize)]
struct StoredWithdrawal {
    pub id: WithdrawalId,
    pub user_id: UserId,
    pub coin: String,
    pub network: Network,
    pub address: String,
    pub memo: Option<String>,
    pub amount: Amount,
    #[serde(with = "rfc3339")]
    pub requested_at: DateTime<FixedOffset>,
    pub state: State,
    pub tx_hash: Option<TxHash>,
    pub confirmations: Option<u64>,
    pub required_confirmations: Option<u64>,
    pub block_height: Option<u64>,
    #[serde(default, with = "rfc3339::option")]
    pub completed_at: Option<DateTime<Utc>>,
    pub history: Vec<HistoryEntry>,
    pub version: u64,
    pub registration_fingerprint: String,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// The next instant the SLA sweeper must look at this record; stores keep
    /// it in a time-ordered index so due work is found without a scan.
    #[serde(default, with = "rfc3339::option")]
    pub next_deadline_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub sla: Option<SlaDeadlines>,
    #[serde(default)]
    pub escalation: Option<Escalation>,
    /// What the chain shows when a transaction does not pay this withdrawal's
    /// address and amount; set by chain tracking, escalated at once.
    #[serde(default)]
    pub payee_mismatch: Option<String>,
    /// The block holding the transaction: its hash pins the fork.
    #[serde(default)]
    pub block_hash: Option<String>,
    /// The last time an explorer showed the transaction (mempool or block).
    #[serde(default, with = "rfc3339::option")]
    pub chain_seen_at: Option<DateTime<Utc>>,
    /// The payee check passed (it runs once per transaction).
    #[serde(default)]
    pub payee_verified: bool,
    /// The tracker looked the transaction up once after it was broadcast
    /// (catching one mined before the tracker was watching).
    #[serde(default)]
    pub chain_looked_up: bool,
    /// What the chain client needs to tell later that the transaction was
    /// replaced (spent outpoints, sender nonce).
    #[serde(default)]
    pub replacement_key: Option<ReplacementKey>,
    /// Discovery (a pending withdrawal without a hash): only payments in the
    /// mempool or in blocks above this height can be its own.
    #[serde(default)]
    pub discovery_from_height: Option<u64>,
    /// Discovery: when to look at the address again.
    #[serde(default, with = "rfc3339::option")]
    pub discovery_next_at: Option<DateTime<Utc>>,
    /// Solana `lastValidBlockHeight` / XRPL `LastLedgerSequence` of the
    /// current transaction, when the exchange sent it.
    #[serde(default)]
    pub last_valid_height: Option<u64>,
    /// The arrival estimates given, to be judged at completion.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub eta_issued: Vec<IssuedEta>,
}

impl From<StoredWithdrawal> for Withdrawal {
    fn from(r: StoredWithdrawal) -> Withdrawal {
        Withdrawal {
            id: r.id,
            user_id: r.user_id,
            coin: r.coin,
            network: r.network,
            address: r.address,
            memo: r.memo,
            amount: r.amount,
            requested_at: r.requested_at,
            state: r.state,
            tx_hash: r.tx_hash,
            completed_at: r.completed_at,
            history: r.history,
            version: r.version,
            registration_fingerprint: r.registration_fingerprint,
            created_at: r.created_at,
            updated_at: r.updated_at,
            next_deadline_at: r.next_deadline_at,
            sla: r.sla,
            escalation: r.escalation,
            eta_issued: r.eta_issued,
            chain: ChainProgress {
                block_hash: r.block_hash,
                block_height: r.block_height,
                confirmations: r.confirmations,
                required_confirmations: r.required_confirmations,
                seen_at: r.chain_seen_at,
                payee_verified: r.payee_verified,
                payee_mismatch: r.payee_mismatch,
                looked_up: r.chain_looked_up,
                replacement_key: r.replacement_key,
                discovery_from_height: r.discovery_from_height,
                discovery_next_at: r.discovery_next_at,
                last_valid_height: r.last_valid_height,
            },
        }
    }
}

impl From<Withdrawal> for StoredWithdrawal {
    fn from(w: Withdrawal) -> StoredWithdrawal {
        let chain = w.chain;
        StoredWithdrawal {
            id: w.id,
            user_id: w.user_id,
            coin: w.coin,
            network: w.network,
            address: w.address,
            memo: w.memo,
            amount: w.amount,
            requested_at: w.requested_at,
            state: w.state,
            tx_hash: w.tx_hash,
            confirmations: chain.confirmations,
            required_confirmations: chain.required_confirmations,
            block_height: chain.block_height,
            completed_at: w.completed_at,
            history: w.history,
            version: w.version,
            registration_fingerprint: w.registration_fingerprint,
            created_at: w.created_at,
            updated_at: w.updated_at,
            next_deadline_at: w.next_deadline_at,
            sla: w.sla,
            escalation: w.escalation,
            payee_mismatch: chain.payee_mismatch,
            block_hash: chain.block_hash,
            chain_seen_at: chain.seen_at,
            payee_verified: chain.payee_verified,
            chain_looked_up: chain.looked_up,
            replacement_key: chain.replacement_key,
            discovery_from_height: chain.discovery_from_height,
            discovery_next_at: chain.discovery_next_at,
            last_valid_height: chain.last_valid_height,
            eta_issued: w.eta_issued,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {from} withdrawal cannot become {to}")]
pub struct TransitionError {
    pub from: State,
    pub to: State,
}

/// Whether an operation changed the record; a repeated request changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Changed,
    Unchanged,
}

impl Withdrawal {
    pub fn register(registration: Registration, now: DateTime<Utc>) -> Withdrawal {
        let fingerprint = registration.fingerprint();
        let requested_at = registration.requested_at.unwrap_or_else(|| now.fixed_offset());
        let mut withdrawal = Withdrawal {
            id: registration.id,
            user_id: registration.user_id,
            coin: registration.coin,
            network: registration.destination.network(),
            address: registration.destination.normalized().to_owned(),
            memo: registration.destination.memo().map(str::to_owned),
            amount: registration.amount,
            requested_at,
            state: State::Pending,
            tx_hash: None,
            completed_at: None,
            history: vec![HistoryEntry { at: now, state: State::Pending, reason: "registered".into() }],
            version: 1,
            registration_fingerprint: fingerprint,
            created_at: now,
            updated_at: now,
            next_deadline_at: None,
            sla: None,
            escalation: None,
            eta_issued: Vec::new(),
            chain: ChainProgress::default(),
        };
        if let Some(tx_hash) = registration.tx_hash {
            withdrawal.set_tx_hash(tx_hash, now).expect("a pending withdrawal accepts a tx hash");
        }
        withdrawal
    }

    pub fn matches(&self, registration: &Registration) -> bool {
        match self.registration_fingerprint.len() {
            64 => self.registration_fingerprint == registration.fingerprint_in_hex(),
            _ => self.registration_fingerprint == registration.fingerprint(),
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Every state it was in, with when and why, oldest first.
    pub fn history(&self) -> &[HistoryEntry] {
        &self.history
    }

    pub fn tx_hash(&self) -> Option<&TxHash> {
        self.tx_hash.as_ref()
    }

    /// When it became `completed`.
    pub fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.completed_at
    }

    /// What chain tracking knows of its transaction.
    pub fn chain(&self) -> &ChainProgress {
        &self.chain
    }

    /// When the withdrawal entered its terminal state, if it is in one: the
    /// time retention counts from. A terminal state has no way out, so this
    /// never moves once set.
    pub fn terminal_at(&self) -> Option<DateTime<Utc>> {
        if !self.state.is_terminal() {
            return None;
        }
        let entered = self.history.iter().rev().find(|h| h.state == self.state).map(|h| h.at);
        Some(entered.or(self.completed_at).unwrap_or(self.updated_at))
    }

    /// Moves to `to` if the state machine allows it, recording why.
    pub fn transition(
        &mut self,
        to: State,
        reason: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        if !self.state.can_become(to) {
            return Err(TransitionError { from: self.state, to });
        }
        self.state = to;
        self.history.push(HistoryEntry { at: now, state: to, reason: reason.into() });
        if to == State::Completed {
            self.completed_at = Some(now);
        }
        self.updated_at = now;
        Ok(())
    }

    /// The exchange broadcast a transaction: first hash, or a new one after the
    /// previous failed or was dropped. Re-sending the current hash is a no-op.
    pub fn set_tx_hash(&mut self, tx_hash: TxHash, now: DateTime<Utc>) -> Result<Change, TransitionError> {
        self.broadcast(tx_hash, None, now)
    }

    /// `set_tx_hash`, with where the chain says the transaction expires
    /// (Solana, XRPL), known only at signing; sent again with the same hash,
    /// it is recorded too.
    pub fn set_tx_hash_expiring(
        &mut self,
        tx_hash: TxHash,
        last_valid_height: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<Change, TransitionError> {
        let change = self.set_tx_hash(tx_hash, now)?;
        if last_valid_height.is_some() && last_valid_height != self.chain.last_valid_height {
            self.chain.last_valid_height = last_valid_height;
            return Ok(Change::Changed);
        }
        Ok(change)
    }

    /// Broadcast with `tx_hash`, the history saying `reason` (or which
    /// transaction it is, first, again or replacing one).
    pub(super) fn broadcast(
        &mut self,
        tx_hash: TxHash,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Change, TransitionError> {
        if self.tx_hash.as_ref() == Some(&tx_hash) && self.state != State::Failed && self.state != State::Dropped {
            return Ok(Change::Unchanged);
        }
        let reason = reason.unwrap_or_else(|| match &self.tx_hash {
            None => format!("transaction {tx_hash} broadcast"),
            Some(old) if *old == tx_hash => format!("transaction {tx_hash} broadcast again"),
            Some(old) => format!("transaction {tx_hash} replaces {old}"),
        });
        self.transition(State::Broadcast, reason, now)?;
        self.tx_hash = Some(tx_hash);
        self.chain.new_transaction();
        Ok(Change::Changed)
    }

    pub fn cancel(&mut self, reason: &str, now: DateTime<Utc>) -> Result<Change, TransitionError> {
        if self.state == State::Cancelled {
            return Ok(Change::Unchanged);
        }
        self.transition(State::Cancelled, reason, now)?;
        Ok(Change::Changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::onchain::OutPoint;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        "2026-03-02T10:00:00Z".parse().unwrap()
    }

    /// 2009-01-03T00:00:00Z and 2026-03-02T10:00:00Z in Unix seconds.
    const EARLIEST: i64 = 1_230_940_800;
    const NOW: i64 = 1_772_445_600;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn requested_at_round_trips_with_any_offset(
            secs in EARLIEST..=NOW,
            nanos in prop_oneof![Just(0u32), 0u32..1_000_000_000],
            offset_minutes in -(23 * 60 + 59)..=(23 * 60 + 59),
        ) {
            let offset = FixedOffset::east_opt(offset_minutes * 60).unwrap();
            let at = DateTime::from_timestamp(secs, nanos).unwrap().with_timezone(&offset);
            for text in [at.to_rfc3339(), at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)] {
                let parsed = parse_requested_at(&text, now()).unwrap();
                prop_assert_eq!(parsed, at, "{}", text);
                prop_assert_eq!(parsed.offset(), at.offset(), "the offset is kept: {}", text);
            }
        }

        #[test]
        fn requested_at_outside_the_window_is_refused(secs in prop_oneof![0i64..EARLIEST, (NOW + 301)..(NOW + 100 * 365 * 86_400)]) {
            let text = DateTime::from_timestamp(secs, 0).unwrap().to_rfc3339();
            let err = parse_requested_at(&text, now()).unwrap_err();
            prop_assert_eq!(err.field, "requested_at");
        }

        #[test]
        fn requested_at_garbage_never_panics(raw in prop_oneof![
            ".{0,40}",
            "[0-9]{1,6}-[0-9]{1,3}-[0-9]{1,3}[Tt ][0-9]{1,3}:[0-9]{1,3}:[0-9]{1,3}(\\.[0-9]{0,12})?([Zz]|[+-][0-9]{1,3}:[0-9]{1,3})?",
        ]) {
            if let Ok(at) = parse_requested_at(&raw, now()) {
                // Whatever passes is inside the window and means what it says.
                prop_assert!(at.timestamp() >= EARLIEST && at.timestamp() <= NOW + 300);
                prop_assert_eq!(DateTime::parse_from_rfc3339(&raw).unwrap(), at);
            } else {
                prop_assert_eq!(parse_requested_at(&raw, now()).unwrap_err().field, "requested_at");
            }
        }
    }

    fn registration() -> Registration {
        Registration {
            id: WithdrawalId::parse("w-1").unwrap(),
            user_id: UserId::parse("u-1").unwrap(),
            coin: "USDT".into(),
            destination: ValidatedAddress::parse(Network::Trx, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", None).unwrap(),
            amount: Amount::parse("10.50").unwrap(),
            requested_at: None,
            tx_hash: None,
        }
    }

    fn hash(byte: &str) -> TxHash {
        TxHash::parse(Network::Trx, &byte.repeat(32)).unwrap()
    }

    #[test]
    fn registration_starts_pending_with_one_history_entry() {
        let w = Withdrawal::register(registration(), now());
        assert_eq!(w.state, State::Pending);
        assert_eq!(w.history.len(), 1);
        assert_eq!(w.version, 1);
        assert_eq!(w.requested_at, now().fixed_offset());
        assert_eq!(w.amount.as_str(), "10.50");
    }

    #[test]
    fn registration_with_a_hash_starts_broadcast() {
        let mut reg = registration();
        reg.tx_hash = Some(hash("ab"));
        let w = Withdrawal::register(reg, now());
        assert_eq!(w.state, State::Broadcast);
        assert_eq!(w.history.iter().map(|h| h.state).collect::<Vec<_>>(), [State::Pending, State::Broadcast]);
        assert_eq!(w.version, 1);
    }

    #[test]
    fn fingerprint_tells_same_from_different() {
        let a = registration();
        let mut b = registration();
        assert_eq!(a.fingerprint(), b.fingerprint());
        b.amount = Amount::parse("10.5").unwrap();
        assert_ne!(a.fingerprint(), b.fingerprint(), "amount text is part of identity");
        let w = Withdrawal::register(a.clone(), now());
        assert!(w.matches(&a));
        assert!(!w.matches(&b));
        assert_eq!(w.registration_fingerprint.len(), 22);
    }

    /// The digest of `[id, user_id, coin, network, address, memo, amount,
    /// requested_at, tx_hash]` as JSON, the same text as when the address and
    /// memo were plain strings: stored records still recognize their retries.
    #[test]
    fn the_fingerprint_did_not_change_with_the_validated_destination() {
        let canonical = r#"["w-1","u-1","USDT","TRX","TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",null,"10.50",null,null]"#;
        let digest: [u8; 32] = Sha256::digest(canonical.as_bytes()).into();
        assert_eq!(registration().fingerprint(), URL_SAFE_NO_PAD.encode(&digest[..16]));
        assert_eq!(registration().fingerprint(), "t7L3C3TI7vu8qc9t0wBTfw");
    }

    #[test]
    fn records_written_with_the_hex_fingerprint_still_recognize_retries() {
        let (a, mut b) = (registration(), registration());
        b.destination = ValidatedAddress::parse(Network::Xrp, "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh", Some("7")).unwrap();
        let mut old = Withdrawal::register(a.clone(), now());
        old.registration_fingerprint = a.fingerprint_in_hex();
        assert!(old.matches(&a));
        assert!(!old.matches(&b));
        assert!(a
            .fingerprint_in_hex()
            .starts_with(&format!("{:02x}", URL_SAFE_NO_PAD.decode(a.fingerprint()).unwrap()[0])));
    }

    #[test]
    fn new_hash_after_failure_goes_back_to_broadcast() {
        let mut w = Withdrawal::register(registration(), now());
        assert_eq!(w.set_tx_hash(hash("aa"), now()), Ok(Change::Changed));
        assert_eq!(w.set_tx_hash(hash("aa"), now()), Ok(Change::Unchanged));
        assert_eq!(
            w.set_tx_hash(hash("bb"), now()),
            Err(TransitionError { from: State::Broadcast, to: State::Broadcast })
        );
        w.transition(State::Failed, "reverted", now()).unwrap();
        assert_eq!(w.set_tx_hash(hash("bb"), now()), Ok(Change::Changed));
        assert_eq!(w.state, State::Broadcast);
        assert_eq!(w.tx_hash, Some(hash("bb")));
        assert!(w.history.last().unwrap().reason.contains("replaces"));
    }

    #[test]
    fn cancel_is_idempotent_and_refused_after_broadcast() {
        let mut w = Withdrawal::register(registration(), now());
        assert_eq!(w.cancel("user asked", now()), Ok(Change::Changed));
        assert_eq!(w.cancel("again", now()), Ok(Change::Unchanged));
        let mut sent = Withdrawal::register(registration(), now());
        sent.set_tx_hash(hash("aa"), now()).unwrap();
        assert_eq!(
            sent.cancel("too late", now()),
            Err(TransitionError { from: State::Broadcast, to: State::Cancelled })
        );
    }

    #[test]
    fn completion_stamps_the_time() {
        let mut w = Withdrawal::register(registration(), now());
        w.set_tx_hash(hash("aa"), now()).unwrap();
        w.transition(State::Confirming, "in block", now()).unwrap();
        assert_eq!(w.completed_at, None);
        w.transition(State::Completed, "confirmed", now()).unwrap();
        assert_eq!(w.completed_at, Some(now()));
    }

    #[test]
    fn requested_at_needs_an_offset_and_a_plausible_time() {
        assert!(parse_requested_at("2026-03-02T10:00:00+08:00", now()).is_ok());
        let refusal = |raw: &str| parse_requested_at(raw, now()).unwrap_err();
        assert!(refusal("2026-03-02T10:00:00").message.contains("with an offset"));
        assert_eq!(refusal("2008-12-31T00:00:00Z").message, "requested_at is before 2009-01-03");
        assert_eq!(refusal("2026-03-02T11:00:00Z").message, "requested_at is in the future");
        assert_eq!(parse_requested_at("yesterday", now()).unwrap_err().field, "requested_at");
    }

    /// Records as the version before the typed chain bookkeeping wrote them
    /// (captured from that build: one registered, broadcast, confirmed with
    /// a payee check and an outpoint replacement key, escalated as overdue
    /// and completed; one discovered, with a payee mismatch, a nonce
    /// replacement key, discovery fields and a last valid height). They must
    /// stay readable, and writing them again must give the same bytes: the
    /// store's dictionary and deployed records expect this flat layout.
    #[test]
    fn records_written_by_the_earlier_layout_read_and_write_back_byte_for_byte() {
        for json in [
            include_str!("testdata/record_completed_escalated.json"),
            include_str!("testdata/record_discovered_payee_mismatch.json"),
        ] {
            let json = json.trim_end();
            let record: Withdrawal = serde_json::from_str(json).unwrap();
            assert_eq!(serde_json::to_string(&record).unwrap(), json);
        }
        let completed: Withdrawal =
            serde_json::from_str(include_str!("testdata/record_completed_escalated.json")).unwrap();
        assert_eq!(completed.state(), State::Completed);
        assert_eq!(completed.history().len(), 4);
        let chain = completed.chain();
        assert_eq!(
            (chain.block_height, chain.confirmations, chain.required_confirmations),
            (Some(900_000), Some(3), Some(3))
        );
        assert!(chain.payee_verified && chain.looked_up && chain.payee_mismatch.is_none());
        let outpoint = OutPoint { txid: "cd".repeat(32), vout: 1 };
        assert_eq!(chain.replacement_key, Some(ReplacementKey::Outpoints(vec![outpoint])));
        let discovered: Withdrawal =
            serde_json::from_str(include_str!("testdata/record_discovered_payee_mismatch.json")).unwrap();
        let chain = discovered.chain();
        let nonce = ReplacementKey::Nonce { from: format!("0x{}", "11".repeat(20)), nonce: 42 };
        assert_eq!(chain.replacement_key, Some(nonce));
        assert!(chain.payee_mismatch.as_deref().is_some_and(|m| m.starts_with("expected 1250000000000000000")));
        assert_eq!((chain.discovery_from_height, chain.last_valid_height), (Some(21_000_000), Some(21_000_100)));
        assert_eq!(chain.seen_at, Some("2026-03-02T10:03:00Z".parse().unwrap()));
    }

    #[test]
    fn a_new_transaction_forgets_the_old_ones_bookkeeping_but_not_discoverys() {
        let mut w = Withdrawal::register(registration(), now());
        w.chain.discovery_from_height = Some(7);
        w.set_tx_hash_expiring(hash("aa"), Some(500), now()).unwrap();
        w.chain.payee_mismatch = Some("pays 1 to T...".into());
        w.chain.looked_up = true;
        w.chain.required_confirmations = Some(20);
        assert_eq!(w.set_tx_hash_expiring(hash("aa"), Some(501), now()), Ok(Change::Changed), "a new expiry");
        assert_eq!(w.chain().last_valid_height, Some(501));
        w.transition(State::Failed, "reverted", now()).unwrap();
        w.set_tx_hash(hash("bb"), now()).unwrap();
        let expected = ChainProgress {
            discovery_from_height: Some(7),
            required_confirmations: Some(20),
            ..ChainProgress::default()
        };
        assert_eq!(*w.chain(), expected);
    }

    #[test]
    fn memo_and_address_text_checks() {
        assert_eq!(parse_memo_text(Some("")), Ok(None));
        assert_eq!(parse_memo_text(Some("a\u{0}b")).unwrap_err().field, "memo");
        assert_eq!(parse_address_text("has space").unwrap_err().field, "address");
        assert_eq!(parse_address_text("").unwrap_err().field, "address");
        assert!(parse_coin("USDT").is_ok());
        assert_eq!(parse_coin("US DT").unwrap_err().field, "coin");
    }
}
