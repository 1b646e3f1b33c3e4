//! Synckit's own tables, on SQLite (embedded default) or PostgreSQL.
//!
//! One [`Storage`] handle wraps a `sqlx` pool of the `Any` driver, so every query is written
//! once; the few places where the two dialects differ (advisory locks, the clock, `BEGIN
//! IMMEDIATE`) ask [`Storage::dialect`]. Timestamps are stored as microseconds since the Unix
//! epoch (UTC) in `BIGINT` columns: the same on both databases, sortable, and free of the
//! time-zone surprises `timestamp without time zone` brings.

mod binding_search;
mod bindings;
mod checkpoints;
mod connect;
mod connect_error;
mod import_cursor_list;
mod import_cursors;
mod lock_admin;
mod locks;
mod schedules;
mod time;

pub use binding_search::BindingQuery;
pub use bindings::{BindRow, Binding, BindingScope, Bindings, SyncedState, hash_values};
pub use checkpoints::{Checkpoint, CheckpointFilter, CheckpointState, Checkpoints};
pub use connect::{Dialect, Storage, StorageOptions};
pub use import_cursor_list::ImportCursor;
pub use import_cursors::{ImportCursors, OpenWindow};
pub use lock_admin::{LockInfo, LockRelease};
pub use locks::{LOCK_LEASE, LockGuard};
pub(crate) use schedules::set_on as set_schedule_on;
pub use schedules::{Schedule, ScheduledWork, Schedules};
pub use time::{from_micros, to_micros};
