//! The one scheduler: the claiming loop that enqueues the due periodic work of both styles
//! of sync, batch imports and integrations' forward syncs alike.
//!
//! Schedules are rows of one table ([`Schedules`]): a batch import
//! of a (backend, model) or an integration's forward sync, every so many seconds, with the
//! time it is due next. `synckit worker` runs [`spawn_scheduler`] next to its worker; each
//! tick [`enqueue_due`] claims every due schedule and enqueues its job **in one
//! transaction**: the claim is a conditional update of the schedule's next run, so of many
//! workers ticking at once on PostgreSQL exactly one enqueues a given run (the others find it
//! moved), and a crash between the claim and the enqueue loses neither (both roll back).
//! The job also carries its identity key (`import_batch:<backend>:<model>`,
//! `batch.forward_sync:<integration>`), so a run still queued is not doubled.
//!
//! ```no_run
//! # use std::time::Duration;
//! # use sync_core::prelude::*;
//! use sync_core::storage::ScheduledWork;
//! # async fn demo(app: App, backend: BackendId) -> SyncResult<()> {
//! let work = ScheduledWork::Import { backend_id: backend, model: "magento.customer".into() };
//! app.storage().schedules().set(&work, Duration::from_secs(300)).await?;
//! let scheduler = sync_core::scheduler::spawn_scheduler(app.clone(), Duration::from_secs(30));
//! // ... run a worker ...
//! scheduler.abort();
//! # Ok(()) }
//! ```

use std::time::Duration;

use chrono::Utc;

use crate::app::App;
use crate::batch::{ForwardSyncArgs, ForwardSyncJob};
use crate::error::SyncResult;
use crate::queue::{Delayable, JobFunction, Queue};
use crate::storage::{Schedule, ScheduledWork, Schedules};
use crate::sync::{ImportBatchArgs, ImportBatchJob, ImportMode};

/// How often `synckit worker` looks for due schedules.
pub const DEFAULT_TICK: Duration = Duration::from_secs(30);

/// The queue job a schedule's work runs as, with its identity key.
pub fn job_of(work: &ScheduledWork) -> SyncResult<Delayable> {
    Ok(match work {
        ScheduledWork::Import { backend_id, model } => {
            ImportBatchJob::with_args(ImportBatchArgs {
                backend_id: *backend_id,
                model: model.clone(),
                mode: ImportMode::Jobs,
                full: false,
            })?
            .identity_key(ImportBatchJob::identity_key(*backend_id, model))
            .description(format!(
                "Scheduled import of {model} from backend {backend_id}"
            ))
        }
        ScheduledWork::ForwardSync { integration_id } => {
            ForwardSyncJob::with_args(ForwardSyncArgs {
                integration_id: *integration_id,
                connector: None,
                force: false,
            })?
            .identity_key(ForwardSyncJob::identity_key(*integration_id))
            .description(format!(
                "Periodic forward sync of integration {integration_id}"
            ))
        }
    })
}

/// Claims each due schedule and enqueues its job in the same transaction; returns the
/// schedules this call enqueued (another worker's claims are not among them).
///
/// # Errors
/// A storage error; the schedules claimed before it stay enqueued.
pub async fn enqueue_due(queue: &Queue) -> SyncResult<Vec<Schedule>> {
    let storage = queue.storage();
    let now = Utc::now();
    let mut enqueued = Vec::new();
    for due in storage.schedules().due(now).await? {
        let job = job_of(&due.work)?;
        let mut tx = storage.begin().await?;
        if !Schedules::claim(&mut tx, &due, now).await? {
            // Another worker claimed this run first.
            continue;
        }
        queue.delay(&mut tx, job).await?;
        tx.commit().await?;
        tracing::info!(schedule = due.id, work = %due.work, "scheduled work enqueued");
        enqueued.push(due);
    }
    if !enqueued.is_empty() {
        queue.wake();
    }
    Ok(enqueued)
}

/// Calls [`enqueue_due`] every `tick` until the task is aborted; errors are logged and the
/// next tick tries again.
pub fn spawn_scheduler(app: App, tick: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            if let Err(error) = enqueue_due(app.queue()).await {
                tracing::warn!(%error, "enqueuing the due schedules failed");
            }
        }
    })
}
