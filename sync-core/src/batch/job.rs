//! Running a job: its steps in order, stopping at the first that does not complete.

use chrono::Utc;
use serde_json::Value;

use super::context::{JobParameters, StepScope};
use super::definition::{JobCatalog, JobDefinition};
use super::execution::JobExecution;
use super::execution_status::{BatchStatus, ExitStatus};
use super::step::{StepInput, run_step};
use crate::context::WorkContext;
use crate::error::{SyncError, SyncResult};
use crate::values::Values;

/// The result of a job run: its persisted execution and the data its steps stored for the
/// connector's next run (the incremental cursor).
#[derive(Debug, Clone)]
pub struct JobOutcome {
    /// The execution, with its steps.
    pub execution: JobExecution,
    /// What the components stored with [`set_status_data`](super::StepContext::set_status_data).
    pub status_data: Values,
}

impl JobOutcome {
    /// Whether the job completed (possibly with warnings).
    pub fn is_completed(&self) -> bool {
        self.execution.status == BatchStatus::Completed
    }
}

/// Runs the job `job_name` of `catalog` for the work context's backend and model.
///
/// The components are looked up for the job's model when the job names one, else for the
/// context's model. Steps run in order; a step that fails (or is stopped) ends the job
/// with its status, and the steps after it do not run.
///
/// ```no_run
/// # use sync_core::batch::{JobCatalog, JobParameters, run_job};
/// # use sync_core::prelude::*;
/// # async fn demo(ctx: WorkContext, catalog: JobCatalog) -> SyncResult<()> {
/// let outcome = run_job(&ctx, &catalog, "shop_customer_export", JobParameters::new().ids([LocalId(7)])).await?;
/// println!("{} {:?}", outcome.execution.status, outcome.execution.counters());
/// # Ok(()) }
/// ```
///
/// # Errors
/// An unknown job, or a storage error while recording the execution. Errors of the
/// components end in a failed execution, not in an `Err`.
pub async fn run_job(
    ctx: &WorkContext,
    catalog: &JobCatalog,
    job_name: &str,
    parameters: JobParameters,
) -> SyncResult<JobOutcome> {
    let definition = catalog
        .get(job_name)
        .ok_or_else(|| SyncError::Failed(format!("no batch job named `{job_name}` is declared")))?;
    let scope = StepScope {
        work: ctx.clone(),
        job_name: job_name.to_owned(),
        integration: None,
        connector: None,
        local_model: None,
        settlements: None,
    };
    execute(&scope, definition, &parameters, &Values::new()).await
}

/// Runs a job definition in a scope (also used by integration syncs).
pub(crate) async fn execute(
    scope: &StepScope,
    definition: &JobDefinition,
    parameters: &JobParameters,
    previous_status_data: &Values,
) -> SyncResult<JobOutcome> {
    // A job that names another model works on that model alone: the connector's local
    // model belongs to the connector's own model.
    let (work, local_model) = match &definition.model {
        Some(model) if model != scope.work.model() => (scope.work.work_on(model), None),
        _ => (scope.work.clone(), scope.local_model.clone()),
    };
    let scope = StepScope {
        work,
        local_model,
        ..scope.clone()
    };
    let storage = scope.work.storage().clone();
    let executions = storage.batch_executions();
    let mut execution = executions
        .create_job(
            &definition.name,
            definition.job_type,
            scope.integration.as_ref().map(|i| i.id),
            scope.connector.as_deref(),
            &Value::Object(parameters.values().clone()),
        )
        .await?;
    execution.status = BatchStatus::Started;
    execution.started_at = Some(Utc::now());
    executions.update_job(&execution).await?;

    let mut job_data = Values::new();
    let mut status_data = Values::new();
    let mut last: Option<(BatchStatus, ExitStatus)> = None;
    for (position, step) in definition.steps.iter().enumerate() {
        let outcome = run_step(StepInput {
            scope: &scope,
            definition: step,
            job_execution_id: execution.id,
            position: i64::try_from(position).unwrap_or(i64::MAX),
            settles_items: definition.job_type == super::definition::JobType::Export,
            run_parameters: parameters.values(),
            job_data,
            status_data,
            previous_status_data,
        })
        .await?;
        job_data = outcome.job_data;
        status_data = outcome.status_data;
        let step_execution = outcome.execution;
        let status = step_execution.status;
        last = Some((status, step_execution.exit_status.clone()));
        execution
            .failures
            .extend(step_execution.failures.iter().cloned());
        execution.steps.push(step_execution);
        if status != BatchStatus::Completed {
            break;
        }
    }
    match last {
        Some((status, exit)) => {
            execution.status = execution.status.upgrade_to(status);
            execution.exit_status = exit;
        }
        None => {
            execution.status = BatchStatus::Completed;
            execution.exit_status = ExitStatus::new(ExitStatus::NOOP)
                .with_description("no steps configured for this job");
        }
    }
    execution.ended_at = Some(Utc::now());
    executions.update_job(&execution).await?;
    Ok(JobOutcome {
        execution,
        status_data,
    })
}
