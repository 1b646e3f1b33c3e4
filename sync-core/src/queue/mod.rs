//! The persistent job queue: queue_job's semantics, without its weaknesses.
//!
//! - **Job functions** are declared with `#[job]` on an `async fn` (or by implementing
//!   [`JobFunction`]) and delayed with typed, serde-serialized arguments and options:
//!   priority (lower first, default 10), eta, max retries (default 5, 0 = forever),
//!   description, channel, identity key, timeout.
//! - **Transactional enqueue**: [`Queue::delay`] writes on the caller's connection, so a local
//!   write and the jobs it causes commit or roll back together.
//! - **States** ([`JobState`]): wait_dependencies, pending, enqueued, started, done, failed,
//!   cancelled. **Graphs** ([`chain`], [`group`], [`Delayable::on_done`]): a child starts
//!   when all its parents are done; a failed parent keeps it waiting.
//! - **Identity keys** merge a duplicate into the waiting job of its key (pending or
//!   wait_dependencies), enforced by a unique index, so a duplicate delayed by a concurrent
//!   transaction finds the first job. A claimed or running job is not merged into (it may
//!   already have read what it works on): a started job gets at most one follow-up, the
//!   job later duplicates merge into. A `#[job(identity_key = ..)]` sets a default key.
//! - **Errors** map onto [`SyncError`](crate::SyncError): retryable (optional delay,
//!   optionally not counted), [`RetryPattern`]s, nothing-to-do sets the job done, any other
//!   error fails it with its error chain, and so does the last counted retry.
//! - **Channels** ([`ChannelConfig`]): a tree of global capacities with sequential and
//!   throttled channels.
//! - **Workers** ([`Worker`]): any number of processes on PostgreSQL (`FOR UPDATE SKIP
//!   LOCKED`, LISTEN/NOTIFY), N concurrent jobs per process on SQLite; leases with
//!   heartbeats, fencing attempt numbers, dead-worker rescue that counts the retry, per-job
//!   timeouts, graceful stop.
//! - **Management** ([`Queue::list_jobs`], [`Queue::set_job_options`], [`Queue::requeue`],
//!   [`Queue::purge`], …) and the `synckit jobs` CLI.
//! - **Testing** ([`JobTrap`], [`Queue::run_synchronously`]).
//!
//! Declaring a job, delaying it in the caller's transaction, running a worker:
//!
//! ```no_run
//! use std::time::Duration;
//! use sync_core::queue::{JobContext, JobRegistry, Queue, Worker, shutdown_signal};
//! use sync_core::{App, SyncResult};
//! use sync_derive::job; // `synckit::job` through the facade
//!
//! /// Import one customer from the backend.
//! #[job(channel = "magento.customers", max_retries = 7, retry_pattern = "1:10,5:60-120")]
//! async fn import_customer(ctx: JobContext, backend_id: i64, external_id: String) -> SyncResult<()> {
//!     let app = ctx.data::<App>()?; // what the worker was given
//!     let _ = (app, backend_id, external_id);
//!     Ok(())
//! }
//!
//! # async fn demo(app: App) -> SyncResult<()> {
//! // In a listener, `conn` is the writer's transaction: the job commits with the write.
//! let mut tx = app.storage().begin().await?;
//! let job = import_customer::call(1, "42".into())?
//!     .priority(5)
//!     .eta(Duration::from_secs(30))
//!     .identity_key("import:1:customer:42");
//! app.queue().delay(&mut *tx, job).await?;
//! tx.commit().await?;
//!
//! // A worker process (`synckit worker` does the same).
//! let registry = JobRegistry::new().register::<import_customer>();
//! Worker::builder(app.queue().clone(), registry)
//!     .concurrency(8)
//!     .channels("root:8,root.magento:4".parse()?)
//!     .data(app.clone())
//!     .build()
//!     .run_until(shutdown_signal())
//!     .await?;
//! # Ok(()) }
//! ```

mod browse;
mod channels;
mod drain;
mod graph;
mod handle;
mod job;
mod job_conditions;
mod manage;
mod options;
mod outcome;
mod registry;
mod retry;
mod states;
mod stats;
mod store;
mod testing;
mod worker;

pub use browse::{JobPage, JobQuery, MAX_BROWSE_PAGE};
pub use channels::{ChannelConfig, ChannelSpec, DEFAULT_RETENTION, ROOT, normalize_channel};
pub use drain::DrainReport;
pub use graph::{FlatGraph, Graph, chain, group};
pub use handle::{DelayedGraph, Queue};
pub use job::{
    BoxFuture, DEFAULT_MAX_RETRIES, DEFAULT_PRIORITY, IntoJobOutput, JobContext, JobDefaults,
    JobFunction, JobId, JobInfo, JobOutput,
};
pub use manage::{HistoryRecord, JobChanges, JobFilter, JobRecord};
pub use options::{Delayable, Eta, IdentityKey, JobOptions};
pub use registry::JobRegistry;
pub use retry::{DEFAULT_RETRY_DELAY, RetryDelay, RetryPattern};
pub use states::JobState;
pub use stats::{ChannelStateCount, LiveWorker, OldestPending};
pub use testing::{JobTrap, TrappedJob};
pub use worker::{
    NOTIFY_CHANNEL, Worker, WorkerBuilder, WorkerOptions, WorkerStats, shutdown_signal,
};

/// What `#[job]`'s generated code needs, reachable through the facade alone.
#[doc(hidden)]
pub mod __private {
    pub use serde;
    pub use serde_json;
}
