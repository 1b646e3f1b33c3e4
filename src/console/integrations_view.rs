//! Integrations as the console shows them (Oro-style): each integration with its backend,
//! connectors and settings, the latest status row of each connector and direction, and
//! the latest batch executions with their counters, failures and warnings. A warning shows
//! its reason only: the item it carries is a whole record, which a page must not spread.

use serde::Serialize;
use sync_core::batch::ExecutionFilter;
use sync_core::storage::{ScheduledWork, Storage};
use utoipa::ToSchema;

use super::audit::rfc3339;
use super::error::ConsoleResult;

/// How many status rows and executions each integration shows.
const RECENT: u32 = 10;
/// How many warning reasons each step shows.
const WARNINGS_SHOWN: u32 = 5;

/// One status row of a connector.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusView {
    /// The connector.
    pub connector: String,
    /// `import` or `export`.
    pub direction: String,
    /// How it ended, e.g. `completed`.
    pub code: String,
    /// The stats line, then the skipped items or the failure.
    pub message: String,
    /// The execution it comes from.
    pub job_execution_id: Option<i64>,
    /// When (RFC 3339).
    pub at: String,
}

/// One step of an execution.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepView {
    /// The step's name.
    pub name: String,
    /// Where it is, e.g. `completed`.
    pub status: String,
    /// Read, processed, added, updated, deleted, skipped, errors.
    pub counters: CountersView,
    /// What failed it.
    pub failures: Vec<String>,
    /// The reasons of its first warnings (skipped items).
    pub warnings: Vec<String>,
}

/// What a step or an execution did.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct CountersView {
    /// Items read.
    pub read: u64,
    /// Items processed.
    pub processed: u64,
    /// Records added.
    pub added: u64,
    /// Records updated.
    pub updated: u64,
    /// Records deleted.
    pub deleted: u64,
    /// Items skipped.
    pub skipped: u64,
    /// Items in error.
    pub errors: u64,
}

impl From<sync_core::batch::Counters> for CountersView {
    fn from(c: sync_core::batch::Counters) -> Self {
        CountersView {
            read: c.read,
            processed: c.processed,
            added: c.added,
            updated: c.updated,
            deleted: c.deleted,
            skipped: c.skipped,
            errors: c.errors,
        }
    }
}

/// One run of a batch job.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExecutionView {
    /// The id.
    pub id: i64,
    /// The job's name.
    pub job_name: String,
    /// `import` or `export`.
    pub job_type: String,
    /// The connector.
    pub connector: Option<String>,
    /// Where it is.
    pub status: String,
    /// Its exit code, e.g. `COMPLETED`.
    pub exit_code: String,
    /// Its steps' counters added up.
    pub counters: CountersView,
    /// What failed it.
    pub failures: Vec<String>,
    /// Started (RFC 3339).
    pub started: Option<String>,
    /// Ended (RFC 3339).
    pub ended: Option<String>,
    /// Its steps.
    pub steps: Vec<StepView>,
}

/// An integration.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntegrationView {
    /// The id.
    pub id: i64,
    /// The name.
    pub name: String,
    /// The backend.
    pub backend_id: i64,
    /// The connectors enabled, in order.
    pub connectors: Vec<String>,
    /// Whether it syncs.
    pub enabled: bool,
    /// Whether it syncs both ways, and which side wins a conflict.
    pub two_way: bool,
    /// The conflict policy of a two-way sync (`remote_wins`, `local_wins`, `newest_wins`,
    /// `field_merge`).
    pub conflict_policy: String,
    /// The forward sync period in seconds, when scheduled.
    pub sync_every_secs: Option<u64>,
    /// The newest status rows, newest first.
    pub statuses: Vec<StatusView>,
    /// The newest executions, newest first.
    pub executions: Vec<ExecutionView>,
}

/// Reads every integration with its recent statuses and executions.
pub async fn integration_list(storage: &Storage) -> ConsoleResult<Vec<IntegrationView>> {
    let mut views = Vec::new();
    for integration in storage.integrations().list().await? {
        let statuses = storage
            .integration_statuses()
            .list(integration.id, None, RECENT)
            .await?
            .into_iter()
            .map(|s| StatusView {
                connector: s.connector,
                direction: s.direction.as_str().to_owned(),
                code: s.code.as_str().to_owned(),
                message: s.message,
                job_execution_id: s.job_execution_id,
                at: rfc3339(s.created_at),
            })
            .collect();
        let executions = storage
            .batch_executions()
            .list(&ExecutionFilter {
                integration_id: Some(integration.id),
                limit: Some(RECENT),
                ..ExecutionFilter::default()
            })
            .await?;
        let mut execution_views = Vec::with_capacity(executions.len());
        for execution in executions {
            let mut steps = Vec::with_capacity(execution.steps.len());
            for step in &execution.steps {
                let warnings = storage
                    .batch_executions()
                    .warnings(step.id, WARNINGS_SHOWN)
                    .await?
                    .into_iter()
                    .map(|w| w.reason)
                    .collect();
                steps.push(StepView {
                    name: step.step_name.clone(),
                    status: step.status.as_str().to_owned(),
                    counters: step.counters.into(),
                    failures: step.failures.clone(),
                    warnings,
                });
            }
            execution_views.push(ExecutionView {
                id: execution.id,
                counters: execution.counters().into(),
                job_name: execution.job_name,
                job_type: execution.job_type.as_str().to_owned(),
                connector: execution.connector,
                status: execution.status.as_str().to_owned(),
                exit_code: execution.exit_status.code,
                failures: execution.failures,
                started: execution.started_at.map(rfc3339),
                ended: execution.ended_at.map(rfc3339),
                steps,
            });
        }
        views.push(IntegrationView {
            id: integration.id,
            name: integration.name,
            backend_id: integration.backend_id.0,
            connectors: integration.connectors,
            enabled: integration.enabled,
            two_way: integration.settings.two_way,
            conflict_policy: integration.settings.conflict_policy.as_str().to_owned(),
            sync_every_secs: storage
                .schedules()
                .get(&ScheduledWork::ForwardSync {
                    integration_id: integration.id,
                })
                .await?
                .map(|schedule| schedule.every.as_secs()),
            statuses,
            executions: execution_views,
        });
    }
    Ok(views)
}
