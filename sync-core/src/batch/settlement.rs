//! Items of an export step settle one by one.
//!
//! An export step sends each entity on its own (the record flows commit each record), so its
//! entities need not share one fate: an entity that went through is done, one the backend
//! refused fails alone with its message, and a retryable error (a 429, a 5xx, a dropped
//! connection) stops the step there, leaving the entities not sent yet for a retry, where
//! a whole-job retry would send again what already went through.
//!
//! The step tells an [`ItemSettlements`] as each entity settles; the reverse-sync job keeps
//! its entity rows with it (see [`ReverseSyncJob`](super::ReverseSyncJob)).

use std::time::Duration;

use async_trait::async_trait;

use crate::error::{SyncError, SyncResult};
use crate::ids::LocalId;

/// Told of each entity of an export step as it settles.
#[async_trait]
pub(crate) trait ItemSettlements: Send + Sync + std::fmt::Debug {
    /// The entity went through: sent, or nothing to send.
    async fn synced(&self, entity: LocalId) -> SyncResult<()>;

    /// The backend (or the flow) refused the entity with an error a retry does not fix;
    /// `message` names the entity (`customer 7: invalid data in …`).
    async fn refused(&self, entity: LocalId, message: &str) -> SyncResult<()>;

    /// The step stopped before settling every entity (a retryable error, or a failure of
    /// the step itself); the entities not settled are left for a retry.
    fn retry_later(&self, later: RetryLater);
}

/// Why and when an interrupted export step wants to go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RetryLater {
    /// The error's message.
    pub message: String,
    /// The delay the error asked for (e.g. `Retry-After`).
    pub after: Option<Duration>,
}

impl RetryLater {
    pub(crate) fn of(error: &SyncError) -> Self {
        RetryLater {
            message: error.to_string(),
            after: error.retry_after(),
        }
    }
}

/// How an export step treats the failure of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemFailure {
    /// Retry the entities left (this one included) later.
    RetryLater,
    /// The entity fails alone; the step goes on with the others.
    Refused,
    /// The entity had nothing to do: it is settled.
    NothingToDo,
    /// The step cannot go on (its storage failed).
    FailsTheStep,
}

impl ItemFailure {
    pub(crate) fn of(error: &SyncError) -> Self {
        match error {
            SyncError::NothingToDo(_) => ItemFailure::NothingToDo,
            e if e.is_retryable() => ItemFailure::RetryLater,
            SyncError::Storage(_) | SyncError::Migration(_) => ItemFailure::FailsTheStep,
            _ => ItemFailure::Refused,
        }
    }
}
