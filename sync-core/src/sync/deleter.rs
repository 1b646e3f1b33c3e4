//! The deletion flow: delete the remote record of a binding, then unbind.

use async_trait::async_trait;

use super::components::{adapter_for, binder_for};
use crate::context::WorkContext;
use crate::error::{SyncError, SyncResult};
use crate::ids::ExternalId;

/// What a deletion did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// The remote record was deleted and unbound.
    Deleted,
    /// The remote record was already gone; the binding was removed.
    AlreadyGone,
}

/// Deletes remote records. Registered under [`super::RECORD_DELETER`] per model.
#[async_trait]
pub trait RecordDeleter: Send + Sync {
    /// Deletes `external_id` on the backend and removes its binding.
    async fn run(&self, ctx: &WorkContext, external_id: &ExternalId) -> SyncResult<DeleteOutcome>;
}

/// The default deletion flow: delete remotely (a record already missing counts as deleted),
/// then unbind.
pub async fn delete_record(
    ctx: &WorkContext,
    external_id: &ExternalId,
) -> SyncResult<DeleteOutcome> {
    let adapter = adapter_for(ctx)?;
    let outcome = match adapter.delete(external_id).await {
        Ok(()) => DeleteOutcome::Deleted,
        Err(SyncError::IdMissingInBackend { .. }) => DeleteOutcome::AlreadyGone,
        Err(other) => return Err(other),
    };
    let binder = binder_for(ctx)?;
    let mut conn = ctx.storage().pool().acquire().await?;
    binder.unbind(&mut conn, external_id).await?;
    Ok(outcome)
}

/// The default [`RecordDeleter`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultDeleter;

#[async_trait]
impl RecordDeleter for DefaultDeleter {
    async fn run(&self, ctx: &WorkContext, external_id: &ExternalId) -> SyncResult<DeleteOutcome> {
        delete_record(ctx, external_id).await
    }
}
