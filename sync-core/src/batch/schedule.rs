//! Forward syncs from the worker: the queue job, and the periodic schedule per integration.
//!
//! An integration with a sync interval gets a [`ForwardSyncJob`] each time its interval has
//! passed. [`schedule_due_syncs`] claims the due integrations with one conditional update
//! each (safe with several workers: only one wins a given slot) and delays their jobs in the
//! same transaction, with the identity key `batch.forward_sync:<id>`, so a sync still queued
//! is not doubled (Oro's "skip if a sync for this channel already exists") and one already
//! running gets at most one follow-up, which catches what changed since it started.
//! [`spawn_periodic_syncs`] calls it on a timer next to a worker.

use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::context::JobParameters;
use super::forward::{SyncOptions, forward_sync};
use crate::app::App;
use crate::error::SyncResult;
use crate::queue::{BoxFuture, JobContext, JobFunction, JobId, JobOutput, Queue};
use crate::storage::to_micros;

/// The arguments of a [`ForwardSyncJob`] (never secrets).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardSyncArgs {
    /// The integration.
    pub integration_id: i64,
    /// Only this connector.
    #[serde(default)]
    pub connector: Option<String>,
    /// A full re-sync.
    #[serde(default)]
    pub force: bool,
}

/// The queue job that runs a forward sync of an integration. The worker must be given the
/// [`App`] as data.
#[derive(Debug, Clone, Copy)]
pub struct ForwardSyncJob;

impl ForwardSyncJob {
    /// The identity key of an integration's forward sync.
    pub fn identity_key(integration_id: i64) -> String {
        format!("{}:{integration_id}", Self::NAME)
    }
}

impl JobFunction for ForwardSyncJob {
    const NAME: &'static str = "batch.forward_sync";
    type Args = ForwardSyncArgs;

    fn perform(ctx: JobContext, args: ForwardSyncArgs) -> BoxFuture<SyncResult<JobOutput>> {
        Box::pin(async move {
            let app = ctx.data::<App>()?.clone();
            let report = forward_sync(
                &app,
                args.integration_id,
                SyncOptions {
                    connector: args.connector,
                    force: args.force,
                    parameters: JobParameters::new(),
                },
            )
            .await?;
            // Oro acknowledges the message either way: failures live in the status rows.
            let lines: Vec<String> = report
                .runs
                .iter()
                .map(|run| match &run.status {
                    Some(status) => format!("{}: {}", run.connector, first_line(&status.message)),
                    None => format!("{}: not allowed", run.connector),
                })
                .collect();
            Ok(Some(lines.join("\n")))
        })
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Delays a forward sync of an integration now, unless one is queued or running.
pub async fn schedule_forward_sync(
    queue: &Queue,
    integration_id: i64,
    connector: Option<String>,
    force: bool,
) -> SyncResult<JobId> {
    let job = ForwardSyncJob::with_args(ForwardSyncArgs {
        integration_id,
        connector,
        force,
    })?
    .identity_key(ForwardSyncJob::identity_key(integration_id))
    .description(format!("Forward sync of integration {integration_id}"));
    let mut tx = queue.storage().begin().await?;
    let id = queue.delay(&mut tx, job).await?;
    tx.commit().await?;
    queue.wake();
    Ok(id)
}

/// Delays a forward sync for every enabled integration whose interval has passed since its
/// last scheduled sync; returns the integrations scheduled.
pub async fn schedule_due_syncs(queue: &Queue) -> SyncResult<Vec<i64>> {
    let storage = queue.storage();
    let now = to_micros(Utc::now());
    let candidates: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT i.id, i.sync_interval_secs FROM sync_integrations i JOIN sync_backends b ON b.id = i.backend_id \
         WHERE i.enabled = 1 AND b.enabled = 1 AND i.sync_interval_secs IS NOT NULL AND i.sync_interval_secs > 0 \
         AND (i.last_scheduled_at IS NULL OR i.last_scheduled_at + i.sync_interval_secs * 1000000 <= $1) \
         ORDER BY i.id",
    )
    .bind(now)
    .fetch_all(storage.pool())
    .await?;
    let mut scheduled = Vec::new();
    for (integration_id, interval_secs) in candidates {
        let mut tx = storage.begin().await?;
        // The claim: only one scheduler moves `last_scheduled_at` past this slot.
        let claimed = sqlx::query(
            "UPDATE sync_integrations SET last_scheduled_at = $1 WHERE id = $2 \
             AND (last_scheduled_at IS NULL OR last_scheduled_at + $3 * 1000000 <= $1)",
        )
        .bind(now)
        .bind(integration_id)
        .bind(interval_secs)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            continue;
        }
        let job = ForwardSyncJob::with_args(ForwardSyncArgs {
            integration_id,
            connector: None,
            force: false,
        })?
        .identity_key(ForwardSyncJob::identity_key(integration_id))
        .description(format!(
            "Periodic forward sync of integration {integration_id}"
        ));
        queue.delay(&mut tx, job).await?;
        tx.commit().await?;
        scheduled.push(integration_id);
    }
    if !scheduled.is_empty() {
        queue.wake();
    }
    Ok(scheduled)
}

/// Calls [`schedule_due_syncs`] every `tick` until the task is aborted; errors are logged
/// and the next tick tries again.
pub fn spawn_periodic_syncs(queue: Queue, tick: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            if let Err(error) = schedule_due_syncs(&queue).await {
                tracing::warn!(%error, "scheduling periodic forward syncs failed");
            }
        }
    })
}
