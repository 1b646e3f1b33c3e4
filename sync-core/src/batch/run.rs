//! Running one connector's job for an integration and recording its status row.

use serde_json::Value;

use super::connector::{Connector, INTEGRATION_TYPE_USAGE, IntegrationType};
use super::context::{JobParameters, StepScope};
use super::definition::JobType;
use super::execution::JobExecution;
use super::integration::Integration;
use super::job::execute;
use super::reader::{format_time, parse_time};
use super::settlement::ItemSettlements;
use super::status::{ConnectorStatus, NewStatus, StatusCode, stats_message};
use crate::app::App;
use crate::context::WorkContext;
use crate::error::{SyncError, SyncResult};
use crate::values::Values;

/// How many skipped items a status message lists; the execution keeps them all.
const MAX_WARNING_LINES: u32 = 100;

/// The status-data key showing where a completed import left the (backend, model) import
/// cursor: `{"model": …, "since": "YYYY-MM-DD HH:MM:SS"}`. It is a copy for people; the next
/// run reads the cursor from [`ImportCursors`](crate::storage::ImportCursors).
pub const IMPORT_CURSOR_KEY: &str = "import_cursor";

/// Runs `work` holding the lock `key`, so that one sync of a kind runs at a time per
/// integration (Oro's "a sync for this channel is already running"). A lock held elsewhere
/// is a retryable error that does not use one of a job's tries. The lock is a short lease
/// renewed while the work runs, so a killed worker's lock frees itself within a job lease;
/// the work stops if the lock is lost.
pub(crate) async fn exclusively<T>(
    storage: &crate::storage::Storage,
    key: &str,
    work: impl std::future::Future<Output = SyncResult<T>>,
) -> SyncResult<T> {
    let guard = storage.try_lock(key, crate::storage::LOCK_LEASE).await?;
    let result = guard.while_held(work).await;
    let released = guard.release().await;
    let value = result?;
    released?;
    Ok(value)
}

/// One connector's part of a sync.
#[derive(Debug, Clone)]
pub struct ConnectorRun {
    /// The connector.
    pub connector: String,
    /// Its status row; `None` when its gate did not allow it to run (Oro writes none then).
    pub status: Option<ConnectorStatus>,
    /// The job execution, when the job ran.
    pub execution: Option<JobExecution>,
}

impl ConnectorRun {
    /// Whether it completed, or was not allowed to run (which is not a failure).
    pub fn is_success(&self) -> bool {
        self.status
            .as_ref()
            .is_none_or(|s| s.code == StatusCode::Completed)
    }
}

/// The integration, its enabled check, its type and a work context on its backend.
pub(crate) struct Loaded {
    pub integration: Integration,
    pub itype: std::sync::Arc<IntegrationType>,
    pub ctx: WorkContext,
}

/// Loads an integration for a sync; a disabled integration (or backend) is
/// [`SyncError::NothingToDo`], checked at every entry point as Oro does.
pub(crate) async fn load(app: &App, integration_id: i64) -> SyncResult<Loaded> {
    let storage = app.storage();
    let integration = storage.integrations().get(integration_id).await?;
    let backend = storage.backends().get(integration.backend_id).await?;
    if !integration.enabled || !backend.enabled {
        return Err(SyncError::NothingToDo(format!(
            "integration `{}` is not enabled; cannot process synchronization",
            integration.name
        )));
    }
    let ctx = app.context(backend, "");
    let itype = ctx
        .component::<IntegrationType>(INTEGRATION_TYPE_USAGE)
        .map_err(|error| match error {
            SyncError::NoComponent { kind, .. } => SyncError::Failed(format!(
                "integration `{}`: no connectors are registered for backend kind `{kind}` in this \
                 program (register its IntegrationType, or let a worker that has them run the sync)",
                integration.name
            )),
            other => other,
        })?;
    let loaded = Loaded {
        integration,
        itype,
        ctx,
    };
    adopt_upgraded_cursors(&loaded).await?;
    Ok(loaded)
}

/// Moves the connector cursors an upgrade set aside (migration 0012: they used to be kept in
/// the status rows as `last_sync_at`) into the (backend, model) import cursors, where the
/// connectors read them now: the next run starts where the last completed one would have
/// (the old cursor minus the overlap), or at the import cursor when it is later.
async fn adopt_upgraded_cursors(loaded: &Loaded) -> SyncResult<()> {
    let storage = loaded.ctx.storage();
    let integration = &loaded.integration;
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT connector, last_sync_at FROM sync_connector_cursor_upgrades WHERE integration_id = $1",
    )
    .bind(integration.id)
    .fetch_all(storage.pool())
    .await?;
    for (connector, last_sync_at) in rows {
        let Some(declared) = loaded.itype.get(&connector) else {
            // Kept for a program that still declares the connector.
            tracing::warn!(integration = %integration.name, %connector, "the upgraded cursor of an unknown connector is kept aside");
            continue;
        };
        let model = loaded
            .itype
            .jobs()
            .get(declared.import_job())
            .and_then(|job| job.model.clone())
            .unwrap_or_else(|| declared.model().to_owned());
        match parse_time(&Value::from(last_sync_at.as_str())) {
            Some(at) => {
                let overlap = chrono::Duration::from_std(integration.overlap()).unwrap_or_default();
                storage
                    .import_cursors()
                    .adopt(integration.backend_id, &model, at - overlap)
                    .await?;
                tracing::info!(integration = %integration.name, %connector, %model, %last_sync_at, "connector cursor moved to the import cursor");
            }
            None => {
                // Unreadable: the import cursor (or a full read) is the safe side.
                tracing::warn!(integration = %integration.name, %connector, %last_sync_at, "an upgraded connector cursor is not a time; dropped");
            }
        }
        sqlx::query(
            "DELETE FROM sync_connector_cursor_upgrades WHERE integration_id = $1 AND connector = $2",
        )
        .bind(integration.id)
        .bind(&connector)
        .execute(storage.pool())
        .await?;
    }
    Ok(())
}

/// Runs `job` of `connector` and appends its status row. Only storage errors of the status
/// row itself are returned as errors: a job that fails or cannot start is a failed status.
pub(crate) async fn run_connector(
    loaded: &Loaded,
    connector: &Connector,
    direction: JobType,
    job: &str,
    parameters: JobParameters,
    previous_status_data: &Values,
    settlements: Option<std::sync::Arc<dyn ItemSettlements>>,
) -> SyncResult<ConnectorRun> {
    let integration = &loaded.integration;
    let storage = loaded.ctx.storage();
    let scope = StepScope {
        work: loaded.ctx.work_on(connector.model()),
        job_name: job.to_owned(),
        integration: Some(integration.clone()),
        connector: Some(connector.name().to_owned()),
        local_model: connector.explicit_local_model().map(str::to_owned),
        settlements,
    };
    let definition = loaded.itype.jobs().get(job);
    // The model whose import cursor the job moves: the job's own, else the connector's.
    let cursor_model = definition
        .and_then(|d| d.model.clone())
        .unwrap_or_else(|| connector.model().to_owned());
    let outcome = match definition {
        Some(definition) => execute(&scope, definition, &parameters, previous_status_data).await,
        None => Err(SyncError::Failed(format!(
            "no batch job named `{job}` is declared"
        ))),
    };
    let (code, message, data, execution) = match outcome {
        Ok(outcome) => {
            let execution = outcome.execution;
            let counters = execution.counters();
            let mut message = stats_message(direction, &counters);
            let completed = outcome_completed(&execution);
            if completed {
                let lines = warning_lines(loaded, &execution).await?;
                if !lines.is_empty() {
                    message.push_str("\nSome entities were skipped due to warnings:");
                    for line in &lines {
                        message.push('\n');
                        message.push_str(line);
                        if integration.settings.log_warnings {
                            tracing::error!(
                                integration = %integration.name,
                                connector = %connector.name(),
                                warning = %line,
                                "item skipped"
                            );
                        }
                    }
                }
                let mut data = outcome.status_data;
                if let Some(since) = outcome.import_cursor {
                    // Shown, never read back: the cursor itself is the import cursor's row.
                    data.insert(
                        IMPORT_CURSOR_KEY.to_owned(),
                        serde_json::json!({"model": cursor_model, "since": format_time(since)}),
                    );
                }
                (StatusCode::Completed, message, data, Some(execution))
            } else {
                message.push('\n');
                message.push_str(&execution.failures.join("\n"));
                (StatusCode::Failed, message, Values::new(), Some(execution))
            }
        }
        Err(error) if matches!(error, SyncError::Storage(_) | SyncError::Migration(_)) => {
            return Err(error);
        }
        Err(error) => {
            tracing::error!(
                integration = %integration.name,
                connector = %connector.name(),
                %error,
                "connector could not run"
            );
            (StatusCode::Failed, error.to_string(), Values::new(), None)
        }
    };
    let status = storage
        .integration_statuses()
        .add(NewStatus {
            integration_id: integration.id,
            connector: connector.name(),
            direction,
            code,
            message,
            data,
            job_execution_id: execution.as_ref().map(|e| e.id),
        })
        .await?;
    Ok(ConnectorRun {
        connector: connector.name().to_owned(),
        status: Some(status),
        execution,
    })
}

fn outcome_completed(execution: &JobExecution) -> bool {
    execution.status == super::execution_status::BatchStatus::Completed
}

async fn warning_lines(loaded: &Loaded, execution: &JobExecution) -> SyncResult<Vec<String>> {
    let executions = loaded.ctx.storage().batch_executions();
    let mut lines = Vec::new();
    for step in &execution.steps {
        if step.counters.errors == 0 {
            continue;
        }
        for warning in executions.warnings(step.id, MAX_WARNING_LINES).await? {
            let item = match &warning.item {
                Value::Null => String::new(),
                item => format!(" (item: {item})"),
            };
            lines.push(format!("{}{item}", warning.reason));
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lock row of a running sync may outlive a killed holder by one job lease at most
    /// (it used to keep an hour, stalling the integration's syncs silently).
    #[tokio::test]
    async fn a_sync_run_lock_outlives_its_holder_by_one_job_lease_at_most() {
        for db in crate::testing::test_databases().await.unwrap() {
            let storage = db.storage.clone();
            let remaining = exclusively(&db.storage, "batch:reverse:1:customer", async {
                let (expires_at,): (i64,) =
                    sqlx::query_as("SELECT expires_at FROM sync_locks WHERE lock_key = $1")
                        .bind("batch:reverse:1:customer")
                        .fetch_one(storage.pool())
                        .await?;
                Ok(expires_at - storage.now_micros().await?)
            })
            .await
            .unwrap();
            let job_lease = crate::queue::WorkerOptions::default().lease;
            assert!(
                remaining <= i64::try_from(job_lease.as_micros()).unwrap(),
                "{}: the lock keeps {remaining} µs",
                db.name
            );
            db.cleanup().await;
        }
    }
}
