//! Local writes that emit events.

use sqlx::AnyConnection;

use super::events::{EventKind, RecordEvent};
use super::repository::LocalRepository;
use crate::app::App;
use crate::capture::SessionWrite;
use crate::context::Origin;
use crate::error::SyncResult;
use crate::ids::LocalId;
use crate::values::Values;

/// Writes to local models on one connection (a transaction), emitting events to the
/// listeners of every enabled backend with this session's origin.
///
/// The connection must be in a transaction: when a written table is also captured
/// ([`crate::capture`]), the marks that give its change one event with this origin hold for
/// the transaction. Writes made with [`LocalSession::conn`] are not the session's: on a
/// captured table they are captured like any other writer's, with origin `local`.
///
/// ```
/// # use sync_core::prelude::*;
/// # async fn demo(app: App, customers: &dyn LocalRepository) -> SyncResult<()> {
/// let mut tx = app.storage().begin().await?;
/// let mut session = app.session(&mut tx, Origin::Local);
/// let mut values = Values::new();
/// values.insert("email".into(), "ada@example.com".into());
/// let id = session.create(customers, &values).await?;
/// tx.commit().await?; // the customer and the jobs its listeners delayed, together
/// # let _ = id; Ok(()) }
/// ```
pub struct LocalSession<'c> {
    app: App,
    conn: &'c mut AnyConnection,
    origin: Origin,
}

impl<'c> LocalSession<'c> {
    pub(crate) fn new(app: App, conn: &'c mut AnyConnection, origin: Origin) -> Self {
        LocalSession { app, conn, origin }
    }

    /// The session's connection, for reads and writes that emit no event.
    pub fn conn(&mut self) -> &mut AnyConnection {
        self.conn
    }

    /// The origin stamped on this session's events.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// Creates a record, then emits `on_record_create` with every given field.
    pub async fn create(
        &mut self,
        repository: &dyn LocalRepository,
        values: &Values,
    ) -> SyncResult<LocalId> {
        let mark = self.mark(repository).await?;
        let created = repository.create(self.conn, values).await;
        mark.end(self.conn).await?;
        let id = created?;
        let event = self.event(EventKind::Create, repository.model(), id, values);
        self.app.dispatch(self.conn, &event).await?;
        Ok(id)
    }

    /// Writes the given fields, then emits `on_record_write` with their names.
    pub async fn write(
        &mut self,
        repository: &dyn LocalRepository,
        id: LocalId,
        values: &Values,
    ) -> SyncResult<()> {
        if values.is_empty() {
            return Ok(());
        }
        let mark = self.mark(repository).await?;
        let written = repository.write(self.conn, id, values).await;
        mark.end(self.conn).await?;
        written?;
        let event = self.event(EventKind::Write, repository.model(), id, values);
        self.app.dispatch(self.conn, &event).await
    }

    /// Emits `on_record_unlink`, then deletes the record.
    pub async fn unlink(
        &mut self,
        repository: &dyn LocalRepository,
        id: LocalId,
    ) -> SyncResult<()> {
        let event = self.event(EventKind::Unlink, repository.model(), id, &Values::new());
        self.app.dispatch(self.conn, &event).await?;
        let mark = self.mark(repository).await?;
        let deleted = repository.delete(self.conn, id).await;
        mark.end(self.conn).await?;
        deleted
    }

    /// Marks the transaction for the repository call: a captured table's triggers then
    /// stamp this session's origin and leave this model's event to the session (one event
    /// per change).
    async fn mark(&mut self, repository: &dyn LocalRepository) -> SyncResult<SessionWrite> {
        let dialect = self.app.storage().dialect();
        SessionWrite::begin(self.conn, dialect, repository.model(), self.origin).await
    }

    fn event(&self, kind: EventKind, model: &str, id: LocalId, values: &Values) -> RecordEvent {
        RecordEvent {
            kind,
            model: model.to_owned(),
            local_id: id,
            fields: values.keys().cloned().collect(),
            origin: self.origin,
        }
    }
}
