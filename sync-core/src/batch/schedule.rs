//! Forward syncs from the worker: the queue job, and delaying one on demand.
//!
//! Every [`ForwardSyncJob`] carries the identity key `batch.forward_sync:<id>`, so a sync
//! still queued is not doubled (Oro's "skip if a sync for this channel already exists") and
//! one already running gets at most one follow-up, which catches what changed since it
//! started. Periodic forward syncs are schedules of the one scheduler
//! ([`crate::scheduler`]; [`NewIntegration::every`](super::NewIntegration::every) adds one).

use serde::{Deserialize, Serialize};

use super::context::JobParameters;
use super::forward::{SyncOptions, forward_sync};
use crate::app::App;
use crate::error::SyncResult;
use crate::queue::{BoxFuture, JobContext, JobFunction, JobId, JobOutput, Queue};

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
