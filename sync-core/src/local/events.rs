//! Record events and the listeners that receive them.

use async_trait::async_trait;
use serde_json::Value;
use sqlx::AnyConnection;

use crate::context::{Origin, WorkContext};
use crate::error::SyncResult;
use crate::ids::LocalId;

/// What happened to a local record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Created (emitted after the create).
    Create,
    /// Written (emitted after the write).
    Write,
    /// Deleted (emitted before the delete, while the record can still be read).
    Unlink,
}

/// One local write, as listeners see it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordEvent {
    /// What happened.
    pub kind: EventKind,
    /// The local model.
    pub model: String,
    /// The record.
    pub local_id: LocalId,
    /// The fields written (all given fields on create, none on unlink).
    pub fields: Vec<String>,
    /// Who wrote: the user, or an import from a backend.
    pub origin: Origin,
}

/// An event a component sends by name with [`WorkContext::notify`] (or
/// [`WorkContext::notify_in`]), as the connector framework's `_event("on_…").notify(...)`:
/// e.g. `on_order_paid` with the order's id, for listeners to delay the jobs that follow.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomEvent {
    /// The event's name, starting with `on_`.
    pub name: String,
    /// The model of the context that sent it.
    pub model: String,
    /// What the sender tells (ids, not whole records).
    pub payload: Value,
    /// Who sent it: listeners of the backend it came from do not receive it.
    pub origin: Origin,
}

/// Receives the events of local writes for one backend. Register under the usage
/// `"event.listener"` for a backend kind (and optionally a model).
///
/// Listeners run inside the writer's transaction, on its connection: delaying an export job
/// there commits with the write. An error rolls the write back. Events whose origin is the
/// listener's own backend never reach it (the import that wrote them came from there).
#[async_trait]
pub trait Listener: Send + Sync {
    /// A record was created.
    async fn on_record_create(
        &self,
        ctx: &WorkContext,
        conn: &mut AnyConnection,
        event: &RecordEvent,
    ) -> SyncResult<()> {
        let _ = (ctx, conn, event);
        Ok(())
    }

    /// A record was written; `event.fields` tells which fields.
    async fn on_record_write(
        &self,
        ctx: &WorkContext,
        conn: &mut AnyConnection,
        event: &RecordEvent,
    ) -> SyncResult<()> {
        let _ = (ctx, conn, event);
        Ok(())
    }

    /// A record is about to be deleted.
    async fn on_record_unlink(
        &self,
        ctx: &WorkContext,
        conn: &mut AnyConnection,
        event: &RecordEvent,
    ) -> SyncResult<()> {
        let _ = (ctx, conn, event);
        Ok(())
    }

    /// A custom event was sent ([`WorkContext::notify`]); a listener subscribes to the
    /// names it matches on `event.name` and ignores the others. Runs on the sender's
    /// transaction when it gave one ([`WorkContext::notify_in`]).
    async fn on_event(
        &self,
        ctx: &WorkContext,
        conn: &mut AnyConnection,
        event: &CustomEvent,
    ) -> SyncResult<()> {
        let _ = (ctx, conn, event);
        Ok(())
    }
}
