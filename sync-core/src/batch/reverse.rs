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
//! that found the row has committed by then. A request arriving while the job runs (after it
//! read the record) therefore goes to a follow-up job, which exports the record again.
//!
//! The entities then settle one by one, each row as its entity settles:
//!
//! - an entity that went through (sent, or nothing to send) has its row deleted, so no retry
//!   sends or reads it again;
//! - an entity the backend refused (an error a retry does not fix) keeps its row with the
//!   error; the job's retries skip it, and the job ends **failed** listing the refused ids
//!   and their messages. Its rows stay (their errors cleared), so a requeue once the cause
//!   is fixed exports them again;
//! - a retryable error (429, 5xx, a dropped connection) stops the export at that entity: the
//!   job is retried after the delay the error asks for (`Retry-After`), else after its retry
//!   pattern's, with the entities left. The retry uses one of the job's tries only when no
//!   entity went through in this run (the backend is not making progress).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::connector::{INTEGRATION_TYPE_USAGE, IntegrationType};
use super::context::JobParameters;
use super::definition::JobType;
use super::run::{ConnectorRun, exclusively, load, run_connector};
use super::settlement::{ItemSettlements, RetryLater};
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
            let storage = app.storage();
            let ids = claim(storage, job_id).await?;
            if ids.is_empty() {
                return finish_refused(storage, job_id, 0)
                    .await
                    .map(|()| Some("no entity to export".to_owned()));
            }
            let settlements = Arc::new(ReverseSettlements::new(storage.clone(), job_id));
            let run = reverse_sync_settling(
                &app,
                args.integration_id,
                &args.connector,
                &ids,
                Some(settlements.clone()),
            )
            .await;
            let run = match run {
                Err(SyncError::NothingToDo(message)) => {
                    finish(storage, job_id).await?;
                    return Err(SyncError::NothingToDo(message));
                }
                other => other?,
            };
            let message = run
                .status
                .as_ref()
                .map(|s| s.message.clone())
                .unwrap_or_else(|| "not allowed".into());
            let tally = settlements.tally();
            if let Some(later) = tally.retry {
                let left = pending_ids(storage, job_id).await?.len();
                // Progress was made: the backend is answering, so this retry is no try lost.
                let counted = tally.synced == 0 && tally.refused == 0;
                let info = ctx.job();
                if counted && info.max_retries > 0 && info.retry + 1 >= info.max_retries {
                    // The queue fails the job now: a requeue must export the refused too.
                    clear_refusals(storage, job_id).await?;
                }
                return Err(SyncError::Retryable {
                    message: format!(
                        "{left} of {} entities left for a retry: {}",
                        ids.len(),
                        later.message
                    ),
                    after: later.after,
                    count_retry: counted,
                });
            }
            if !run.is_success() && tally.refused == 0 {
                // The export job could not start (e.g. it is not declared): the queue
                // retries it with the same ids, under the job's retry pattern.
                let first = message.lines().last().unwrap_or_default().to_owned();
                return Err(SyncError::retryable(
                    format!("the export of {} entities failed: {first}", ids.len()),
                    None,
                ));
            }
            finish_refused(storage, job_id, ids.len()).await?;
            finish(storage, job_id).await?;
            Ok(Some(message))
        })
    }
}

/// How many refused entities a failed job's message lists; the rows keep them all.
const MAX_REFUSED_LINES: usize = 20;

/// Ends a job whose entities all settled: when some were refused (in this run or an
/// earlier try), the job fails listing them, and their rows stay for a requeue.
async fn finish_refused(storage: &Storage, job_id: JobId, tried: usize) -> SyncResult<()> {
    let refused: Vec<(String,)> = sqlx::query_as(
        "SELECT error FROM sync_reverse_entities WHERE job_id = $1 AND error IS NOT NULL \
         ORDER BY requested_at, entity_id",
    )
    .bind(job_id.0)
    .fetch_all(storage.pool())
    .await?;
    if refused.is_empty() {
        return Ok(());
    }
    clear_refusals(storage, job_id).await?;
    let mut message = format!(
        "the export of {} entities failed ({tried} tried in the last run); requeue the job to \
         export them again:",
        refused.len()
    );
    for (error,) in refused.iter().take(MAX_REFUSED_LINES) {
        message.push('\n');
        message.push_str(error);
    }
    if refused.len() > MAX_REFUSED_LINES {
        message.push_str(&format!(
            "\n… and {} more",
            refused.len() - MAX_REFUSED_LINES
        ));
    }
    Err(SyncError::Failed(message))
}

/// Makes a job's refused entities pending again (for the requeue of a failed job).
async fn clear_refusals(storage: &Storage, job_id: JobId) -> SyncResult<()> {
    sqlx::query("UPDATE sync_reverse_entities SET error = NULL WHERE job_id = $1")
        .bind(job_id.0)
        .execute(storage.pool())
        .await?;
    Ok(())
}

/// What settled in one run of a reverse-sync job.
#[derive(Debug, Default)]
struct Tally {
    synced: u64,
    refused: u64,
    retry: Option<RetryLater>,
}

/// Settles a reverse-sync job's entity rows as the export step settles each entity.
#[derive(Debug)]
struct ReverseSettlements {
    storage: Storage,
    job_id: JobId,
    tally: Mutex<Tally>,
}

impl ReverseSettlements {
    fn new(storage: Storage, job_id: JobId) -> Self {
        ReverseSettlements {
            storage,
            job_id,
            tally: Mutex::new(Tally::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tally> {
        // A panic elsewhere must not lose what settled.
        self.tally.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn tally(&self) -> Tally {
        std::mem::take(&mut *self.lock())
    }
}

#[async_trait]
impl ItemSettlements for ReverseSettlements {
    async fn synced(&self, entity: LocalId) -> SyncResult<()> {
        sqlx::query("DELETE FROM sync_reverse_entities WHERE job_id = $1 AND entity_id = $2")
            .bind(self.job_id.0)
            .bind(entity.0)
            .execute(self.storage.pool())
            .await?;
        self.lock().synced += 1;
        Ok(())
    }

    async fn refused(&self, entity: LocalId, message: &str) -> SyncResult<()> {
        sqlx::query(
            "UPDATE sync_reverse_entities SET error = $1 WHERE job_id = $2 AND entity_id = $3",
        )
        .bind(message)
        .bind(self.job_id.0)
        .bind(entity.0)
        .execute(self.storage.pool())
        .await?;
        self.lock().refused += 1;
        Ok(())
    }

    fn retry_later(&self, later: RetryLater) {
        self.lock().retry = Some(later);
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

/// The entity ids waiting for a reverse-sync job, in request order: those not exported
/// yet, and, once the job has failed, those the backend refused (a requeue exports them
/// again). An entity refused in a run waits out the job's retries.
pub async fn pending_ids(storage: &Storage, job_id: JobId) -> SyncResult<Vec<LocalId>> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT entity_id FROM sync_reverse_entities WHERE job_id = $1 AND error IS NULL          ORDER BY requested_at, entity_id",
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
/// One reverse sync per (integration, connector) runs at a time. The entities settle one by
/// one: an entity refused by the backend fails alone, and the run's status (and execution)
/// ends failed listing it; a retryable error stops the run at that entity.
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
    reverse_sync_settling(app, integration_id, connector, ids, None).await
}

/// [`reverse_sync`], telling `settlements` of each entity as it settles.
async fn reverse_sync_settling(
    app: &App,
    integration_id: i64,
    connector: &str,
    ids: &[LocalId],
    settlements: Option<Arc<dyn ItemSettlements>>,
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
        settlements,
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
