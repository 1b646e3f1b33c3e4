//! Reverse sync (local → remote): scheduling a connector's export job for changed entities,
//! and running it.
//!
//! A local change on a two-way connector's model asks for an export of that entity. There
//! is at most one **queued** export job per (integration, connector): a request that finds
//! one adds its ids to it, where Oro drops the request (and the change is lost until the
//! entity changes again). The protocol, on the requester's transaction:
//!
//! 1. upsert the schedule row of (integration, connector) — this locks it;
//! 2. if it names no job yet, delay a [`ReverseSyncJob`] and store its id there;
//! 3. add the ids to that job's entity rows.
//!
//! When the job starts it deletes the schedule row first (waiting for a requester holding
//! it), so later requests delay a new job, then reads its entity rows, which every request
//! that found the row has committed by then. The ids stay until the export completes: a
//! failed export is retried by the queue with the same ids, never silently dropped.

use async_trait::async_trait;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::connector::{INTEGRATION_TYPE_USAGE, IntegrationType};
use super::context::JobParameters;
use super::definition::JobType;
use super::run::{ConnectorRun, exclusively, load, run_connector};
use crate::app::App;
use crate::context::{Origin, WorkContext};
use crate::error::{SyncError, SyncResult};
use crate::ids::LocalId;
use crate::local::{Listener, RecordEvent};
use crate::queue::{BoxFuture, JobContext, JobFunction, JobId, JobOutput, Queue};
use crate::storage::{Storage, to_micros};
use crate::values::Values;

/// The arguments of a [`ReverseSyncJob`]: never ids (they live in the job's entity rows,
/// where later requests can add to them) and never secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReverseSyncArgs {
    /// The integration.
    pub integration_id: i64,
    /// The two-way connector.
    pub connector: String,
}

/// The queue job that runs a connector's export job for the entities requested.
///
/// The worker must be given the [`App`] as data (`WorkerBuilder::data(app)`).
#[derive(Debug, Clone, Copy)]
pub struct ReverseSyncJob;

impl JobFunction for ReverseSyncJob {
    const NAME: &'static str = "batch.reverse_sync";
    type Args = ReverseSyncArgs;

    fn perform(ctx: JobContext, args: ReverseSyncArgs) -> BoxFuture<SyncResult<JobOutput>> {
        Box::pin(async move {
            let app = ctx.data::<App>()?.clone();
            let job_id = ctx.job().id;
            let ids = claim(app.storage(), job_id).await?;
            if ids.is_empty() {
                return Ok(Some("no entity to export".to_owned()));
            }
            let run = reverse_sync(&app, args.integration_id, &args.connector, &ids).await;
            let run = match run {
                Err(SyncError::NothingToDo(message)) => {
                    finish(app.storage(), job_id).await?;
                    return Err(SyncError::NothingToDo(message));
                }
                other => other?,
            };
            let message = run
                .status
                .as_ref()
                .map(|s| s.message.clone())
                .unwrap_or_else(|| "not allowed".into());
            if !run.is_success() {
                // Unlike Oro, which acknowledges a failed export and forgets its ids, the ids
                // stay with the job and the queue retries it (a failed job keeps them too,
                // to be requeued once the cause is fixed).
                let first = message.lines().last().unwrap_or_default().to_owned();
                return Err(SyncError::retryable(
                    format!("the export of {} entities failed: {first}", ids.len()),
                    None,
                ));
            }
            finish(app.storage(), job_id).await?;
            Ok(Some(message))
        })
    }
}

/// Asks for a reverse sync of `ids` on the caller's connection (usually the transaction of
/// the local write), merging them into the connector's queued export job when there is one.
/// Returns the job that will export them.
///
/// Call it only for an enabled, two-way integration and a two-way connector; the
/// [`ReverseSyncListener`] does the checks.
pub async fn request_reverse_sync(
    conn: &mut AnyConnection,
    queue: &Queue,
    integration_id: i64,
    connector: &str,
    ids: &[LocalId],
) -> SyncResult<JobId> {
    let now = to_micros(Utc::now());
    // The upsert locks the row until the caller commits, so the job cannot claim its ids
    // between our read of `job_id` and our insert of the ids.
    let (job_id,): (Option<i64>,) = sqlx::query_as(
        "INSERT INTO sync_reverse_schedule (integration_id, connector, job_id, requested_at) VALUES ($1, $2, NULL, $3) \
         ON CONFLICT (integration_id, connector) DO UPDATE SET requested_at = excluded.requested_at \
         RETURNING job_id",
    )
    .bind(integration_id)
    .bind(connector)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let job_id = match job_id {
        Some(id) => JobId(id),
        None => {
            let job = ReverseSyncJob::with_args(ReverseSyncArgs {
                integration_id,
                connector: connector.to_owned(),
            })?
            .description(format!(
                "Reverse sync of connector `{connector}` on integration {integration_id}"
            ));
            let id = queue.delay(&mut *conn, job).await?;
            sqlx::query(
                "UPDATE sync_reverse_schedule SET job_id = $1 WHERE integration_id = $2 AND connector = $3",
            )
            .bind(id.0)
            .bind(integration_id)
            .bind(connector)
            .execute(&mut *conn)
            .await?;
            id
        }
    };
    for id in ids {
        sqlx::query(
            "INSERT INTO sync_reverse_entities (job_id, integration_id, connector, entity_id, requested_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (job_id, entity_id) DO NOTHING",
        )
        .bind(job_id.0)
        .bind(integration_id)
        .bind(connector)
        .bind(id.0)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(job_id)
}

/// The entity ids waiting for a reverse-sync job, in request order.
pub async fn pending_ids(storage: &Storage, job_id: JobId) -> SyncResult<Vec<LocalId>> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT entity_id FROM sync_reverse_entities WHERE job_id = $1 ORDER BY requested_at, entity_id",
    )
    .bind(job_id.0)
    .fetch_all(storage.pool())
    .await?;
    Ok(rows.into_iter().map(|(id,)| LocalId(id)).collect())
}

/// The queued reverse-sync job of (integration, connector), if one has not started yet.
pub async fn queued_job(
    storage: &Storage,
    integration_id: i64,
    connector: &str,
) -> SyncResult<Option<JobId>> {
    let row: Option<(Option<i64>,)> = sqlx::query_as(
        "SELECT job_id FROM sync_reverse_schedule WHERE integration_id = $1 AND connector = $2",
    )
    .bind(integration_id)
    .bind(connector)
    .fetch_optional(storage.pool())
    .await?;
    Ok(row.and_then(|(id,)| id).map(JobId))
}

/// Takes a starting job off the schedule (later requests get a new job) and returns its ids.
async fn claim(storage: &Storage, job_id: JobId) -> SyncResult<Vec<LocalId>> {
    let mut tx = storage.begin().await?;
    sqlx::query("DELETE FROM sync_reverse_schedule WHERE job_id = $1")
        .bind(job_id.0)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    // Read after the commit: on PostgreSQL a requester that held the row has committed its
    // ids by the time our delete got the row lock.
    pending_ids(storage, job_id).await
}

async fn finish(storage: &Storage, job_id: JobId) -> SyncResult<()> {
    sqlx::query("DELETE FROM sync_reverse_entities WHERE job_id = $1")
        .bind(job_id.0)
        .execute(storage.pool())
        .await?;
    Ok(())
}

/// Runs a reverse sync now: the connector's export job with these entity ids, and an
/// `[EXPORT]` status row.
///
/// One reverse sync per (integration, connector) runs at a time.
///
/// # Errors
/// A retryable error when another reverse sync of the connector is running;
/// [`SyncError::NothingToDo`] when the integration is disabled or not two-way;
/// [`SyncError::Failed`] when the connector does not support reverse sync.
pub async fn reverse_sync(
    app: &App,
    integration_id: i64,
    connector: &str,
    ids: &[LocalId],
) -> SyncResult<ConnectorRun> {
    let loaded = load(app, integration_id).await?;
    if !loaded.integration.settings.two_way {
        return Err(SyncError::NothingToDo(format!(
            "two-way sync is off on integration `{}`",
            loaded.integration.name
        )));
    }
    let connector = loaded
        .itype
        .get(connector)
        .ok_or_else(|| SyncError::Failed(format!("no connector named `{connector}`")))?
        .clone();
    let Some(export_job) = connector.export_job() else {
        return Err(SyncError::Failed(format!(
            "connector `{}` does not support reverse sync",
            connector.name()
        )));
    };
    let export_job = export_job.to_owned();
    let key = format!("batch:reverse:{integration_id}:{}", connector.name());
    let no_cursor = Values::new();
    let run = run_connector(
        &loaded,
        &connector,
        JobType::Export,
        &export_job,
        JobParameters::new().ids(ids.iter().copied()),
        &no_cursor,
    );
    exclusively(app.storage(), &key, run).await
}

/// Requests a reverse sync when a local record of a two-way connector's model is created or
/// written. Register it under `"event.listener"` for the backend kind.
///
/// Writes made by a sync carry its backend as origin and never reach this backend's
/// listeners, so a sync's own writes never trigger a reverse sync (checked here as well).
/// The jobs go to the app's queue, on the writer's transaction.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReverseSyncListener;

impl ReverseSyncListener {
    async fn request(
        &self,
        ctx: &WorkContext,
        conn: &mut AnyConnection,
        event: &RecordEvent,
    ) -> SyncResult<()> {
        let backend = ctx.backend();
        if event.origin == Origin::Backend(backend.id) || !backend.enabled {
            return Ok(());
        }
        let itype = ctx.component::<IntegrationType>(INTEGRATION_TYPE_USAGE)?;
        let Some(connector) = itype.two_way_for_model(&event.model) else {
            return Ok(());
        };
        // Read on the writer's connection: the pool may be busy with this very transaction.
        let Some(integration) = integration_of(conn, backend.id.0).await? else {
            return Ok(());
        };
        let enabled_here = integration.connectors.iter().any(|c| c == connector.name());
        if !integration.enabled || !integration.two_way || !enabled_here {
            return Ok(());
        }
        request_reverse_sync(
            conn,
            ctx.app().queue(),
            integration.id,
            connector.name(),
            &[event.local_id],
        )
        .await?;
        Ok(())
    }
}

/// What the listener needs of a backend's integration.
struct IntegrationFlags {
    id: i64,
    enabled: bool,
    two_way: bool,
    connectors: Vec<String>,
}

async fn integration_of(
    conn: &mut AnyConnection,
    backend_id: i64,
) -> SyncResult<Option<IntegrationFlags>> {
    let row: Option<(i64, i64, String, i64)> = sqlx::query_as(
        "SELECT enabled, two_way, connectors, id FROM sync_integrations WHERE backend_id = $1",
    )
    .bind(backend_id)
    .fetch_optional(conn)
    .await?;
    Ok(
        row.map(|(enabled, two_way, connectors, id)| IntegrationFlags {
            id,
            enabled: enabled != 0,
            two_way: two_way != 0,
            // A connector list we cannot read enables nothing.
            connectors: serde_json::from_str(&connectors).unwrap_or_default(),
        }),
    )
}

#[async_trait]
impl Listener for ReverseSyncListener {
    async fn on_record_create(
        &self,
        ctx: &WorkContext,
        conn: &mut AnyConnection,
        event: &RecordEvent,
    ) -> SyncResult<()> {
        self.request(ctx, conn, event).await
    }

    async fn on_record_write(
        &self,
        ctx: &WorkContext,
        conn: &mut AnyConnection,
        event: &RecordEvent,
    ) -> SyncResult<()> {
        self.request(ctx, conn, event).await
    }
}
