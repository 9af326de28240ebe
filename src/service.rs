//! Application operations on withdrawals: the domain plus the store, with no
//! HTTP in sight. Handlers (and, later, background jobs) call these.

use chrono::{DateTime, Utc};

use crate::auth::Caller;
use crate::domain::withdrawal::{Change, TransitionError};
use crate::domain::{FieldError, Registration, TxHash, Withdrawal, WithdrawalId};
use crate::store::{Inserted, ListQuery, Page, Store, StoreError, Updated};

/// Concurrent writers retry a compare-and-set this many times before the
/// request is answered "try again".
const MAX_WRITE_ATTEMPTS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("withdrawal not found")]
    NotFound,
    #[error("withdrawal {0} already exists with different content")]
    Conflict(WithdrawalId),
    #[error(transparent)]
    InvalidTransition(#[from] TransitionError),
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error("too many concurrent updates of {0}")]
    Contended(WithdrawalId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    Created,
    /// The same registration was sent before: nothing changed.
    AlreadyExisted,
}

pub async fn register(
    store: &dyn Store,
    registration: Registration,
    now: DateTime<Utc>,
) -> Result<(Withdrawal, Registered), ServiceError> {
    let withdrawal = Withdrawal::register(registration.clone(), now);
    match store.insert(&withdrawal).await? {
        Inserted::Created => {
            tracing::info!(withdrawal_id = %withdrawal.id, state = %withdrawal.state, "withdrawal registered");
            Ok((withdrawal, Registered::Created))
        }
        Inserted::Existing(existing) if existing.matches(&registration) => Ok((*existing, Registered::AlreadyExisted)),
        Inserted::Existing(existing) => Err(ServiceError::Conflict(existing.id)),
    }
}

/// What the caller may see: a user only their own withdrawals, and someone
/// else's look exactly like one that does not exist.
pub async fn get_visible(store: &dyn Store, caller: &Caller, id: &WithdrawalId) -> Result<Withdrawal, ServiceError> {
    let withdrawal = store.get(id).await?.ok_or(ServiceError::NotFound)?;
    match caller {
        Caller::User(user) if *user != withdrawal.user_id => Err(ServiceError::NotFound),
        _ => Ok(withdrawal),
    }
}

pub async fn list(store: &dyn Store, query: &ListQuery) -> Result<Page, ServiceError> {
    Ok(store.list(query).await?)
}

pub async fn set_tx_hash(
    store: &dyn Store,
    id: &WithdrawalId,
    raw_tx_hash: &str,
    now: DateTime<Utc>,
) -> Result<Withdrawal, ServiceError> {
    modify(store, id, |w| {
        let tx_hash = TxHash::parse(w.network, raw_tx_hash)?;
        Ok(w.set_tx_hash(tx_hash, now)?)
    })
    .await
}

pub async fn cancel(
    store: &dyn Store,
    id: &WithdrawalId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Withdrawal, ServiceError> {
    modify(store, id, |w| Ok(w.cancel(reason, now)?)).await
}

/// Reads, applies `change`, and writes back only if nobody wrote in between;
/// on a lost race it starts over from the fresh record.
pub async fn modify(
    store: &dyn Store,
    id: &WithdrawalId,
    change: impl Fn(&mut Withdrawal) -> Result<Change, ServiceError>,
) -> Result<Withdrawal, ServiceError> {
    for _ in 0..MAX_WRITE_ATTEMPTS {
        let current = store.get(id).await?.ok_or(ServiceError::NotFound)?;
        let mut next = current.clone();
        if change(&mut next)? == Change::Unchanged {
            return Ok(current);
        }
        match store.update(&current, &next).await? {
            Updated::Written => {
                if next.state != current.state {
                    tracing::info!(withdrawal_id = %id, from = %current.state, to = %next.state, "state changed");
                }
                return Ok(next);
            }
            Updated::VersionConflict => continue,
            Updated::NotFound => return Err(ServiceError::NotFound),
        }
    }
    Err(ServiceError::Contended(id.clone()))
}
