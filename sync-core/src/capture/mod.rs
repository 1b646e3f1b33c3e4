//! Change capture: exports from writes made by any writer, not only [`LocalSession`].
//!
//! Most applications already have code writing their tables. Declare a table as a local
//! model's source and every insert, update and delete on it — from the application, a
//! script, the `sqlite3` shell — reaches the same listeners a [`LocalSession`] write does:
//!
//! ```no_run
//! # async fn demo(app: sync_core::App) -> sync_core::SyncResult<()> {
//! use sync_core::capture::{CaptureDeclaration, Captures, Dispatcher};
//!
//! // Once (or `synckit capture add customer --table customers --key id --columns email,lastname`):
//! Captures::new(app.storage())
//!     .add(&CaptureDeclaration::new("customer", "customers", "id").columns(["email", "lastname"]))
//!     .await?;
//!
//! // Any writer, in its own transaction:
//! sqlx::query("UPDATE customers SET lastname = 'Lovelace' WHERE id = 1")
//!     .execute(app.storage().pool())
//!     .await?;
//!
//! // The dispatcher (inside `synckit worker`) emits `on_record_write` with `["lastname"]`.
//! Dispatcher::new(app).dispatch_pending().await?;
//! # Ok(()) }
//! ```
//!
//! How it holds together:
//!
//! 1. **Declarations** ([`Captures`]): declaring installs row triggers in one versioned,
//!    all-or-nothing step. Each trigger writes an outbox row in the writer's transaction:
//!    model, key, operation, the changed declared columns with old and new values, the
//!    origin. An update that changes no declared column writes nothing; a rolled-back
//!    transaction leaves nothing.
//! 2. **Origin** ([`SessionWrite`]): a write made by an import from backend X is marked with
//!    origin X for that transaction only, so X's listeners skip it; any other writer's change
//!    has origin `local` and goes to every enabled backend.
//! 3. **Dispatcher** ([`Dispatcher`]): turns outbox rows into events, per record in commit
//!    order, merging the changes of one record that waited together, and deletes the rows in
//!    the transaction of the jobs the listeners delay: exactly once, whatever crashes.
//! 4. **No double events**: a [`LocalSession`] write emits its event itself and its own
//!    rows never reach the outbox's dispatch, so a change yields one event whichever path
//!    made it.
//!
//! [`LocalSession`]: crate::local::LocalSession

mod catalog;
mod declaration;
mod dispatcher;
mod merge;
mod origin;
mod postgres_triggers;
mod sqlite_triggers;

pub use catalog::{Captures, InstalledCapture, TRIGGER_VERSION};
pub use declaration::CaptureDeclaration;
pub use dispatcher::{DispatchStats, Dispatcher};
pub use origin::SessionWrite;
