//! The local side: the application's own models, reached through repositories, and the
//! events their writes emit.
//!
//! Synckit is not an ORM. The application exposes each model through a small
//! [`LocalRepository`]; writes that go through a [`LocalSession`] emit `on_record_create`,
//! `on_record_write` (with the changed fields) and `on_record_unlink` to the [`Listener`]s of
//! every enabled backend, inside the writer's transaction, so a write and the export jobs it
//! causes commit or roll back together. Components send events of their own by name with
//! [`WorkContext::notify`](crate::WorkContext::notify); listeners receive them in
//! [`Listener::on_event`].

mod events;
mod notify;
mod repository;
mod session;

pub use events::{CustomEvent, EventKind, Listener, RecordEvent};
pub use repository::LocalRepository;
pub use session::LocalSession;
