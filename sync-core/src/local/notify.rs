//! Custom events: a component sends one by name, the listeners of every enabled backend but
//! the one it came from receive it (the connector framework's `collecter` and `_notify`).

use serde_json::Value;
use sqlx::AnyConnection;

use super::events::{CustomEvent, Listener};
use crate::app::LISTENER_USAGE;
use crate::context::{Origin, WorkContext};
use crate::error::{SyncError, SyncResult};

/// The names of the events local writes emit; a custom event cannot take them.
const RECORD_EVENTS: [&str; 3] = ["on_record_create", "on_record_write", "on_record_unlink"];

impl WorkContext {
    /// Sends the custom event `name` (e.g. `on_order_paid`) about this context's model to
    /// the listeners, in a transaction of its own that commits the jobs they delay.
    ///
    /// Use [`WorkContext::notify_in`] from inside a transaction, so that the jobs commit or
    /// roll back with the caller's writes.
    ///
    /// ```
    /// # async fn demo(ctx: sync_core::WorkContext) -> sync_core::SyncResult<()> {
    /// ctx.notify("on_order_paid", serde_json::json!({"order_id": 42})).await?;
    /// # Ok(()) }
    /// ```
    pub async fn notify(&self, name: &str, payload: Value) -> SyncResult<()> {
        let mut tx = self.storage().begin().await?;
        self.notify_in(&mut tx, name, payload).await?;
        tx.commit().await?;
        Ok(())
    }

    /// [`WorkContext::notify`] on the caller's connection (usually its transaction): the
    /// listeners run on it, and an error from one of them is returned for the caller to
    /// roll back. Listeners of the backend named by this context's origin do not receive it.
    pub async fn notify_in(
        &self,
        conn: &mut AnyConnection,
        name: &str,
        payload: Value,
    ) -> SyncResult<()> {
        if !name.starts_with("on_") || name.len() == 3 || RECORD_EVENTS.contains(&name) {
            return Err(SyncError::Failed(format!(
                "event `{name}` of {}: a custom event is named `on_<something>`, other than {}",
                self.model(),
                RECORD_EVENTS.join(", ")
            )));
        }
        let event = CustomEvent {
            name: name.to_owned(),
            model: self.model().to_owned(),
            payload,
            origin: self.origin(),
        };
        for backend in self.app().enabled_backends()?.iter() {
            // The origin rule, as for record events.
            if event.origin == Origin::Backend(backend.id) {
                continue;
            }
            let ctx = self
                .app()
                .context(backend.clone(), &event.model)
                .with_origin(event.origin);
            for listener in ctx.many_components::<dyn Listener>(LISTENER_USAGE)? {
                listener.on_event(&ctx, conn, &event).await?;
            }
        }
        Ok(())
    }
}
