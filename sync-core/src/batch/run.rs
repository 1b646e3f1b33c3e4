//! Running one connector's job for an integration and recording its status row.

use serde_json::Value;

use super::connector::{Connector, INTEGRATION_TYPE_USAGE, IntegrationType};
use super::context::{JobParameters, StepScope};
use super::definition::JobType;
use super::execution::JobExecution;
use super::integration::Integration;
use super::job::execute;
use super::settlement::ItemSettlements;
use super::status::{ConnectorStatus, NewStatus, StatusCode, stats_message};
use crate::app::App;
use crate::context::WorkContext;
use crate::error::{SyncError, SyncResult};
use crate::values::Values;

/// How many skipped items a status message lists; the execution keeps them all.
const MAX_WARNING_LINES: u32 = 100;

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
    Ok(Loaded {
        integration,
        itype,
        ctx,
    })
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
    let outcome = match loaded.itype.jobs().get(job) {
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
                (
                    StatusCode::Completed,
                    message,
                    outcome.status_data,
                    Some(execution),
                )
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
