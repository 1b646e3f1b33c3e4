//! Persisted job and step executions, their counters and warnings.
//!
//! Executions are written on the pool, never on a chunk's transaction: a chunk that rolls
//! back keeps its bookkeeping, and a failed job still shows what happened (Oro writes them
//! through a separate connection for the same reason). A step execution is updated after
//! every chunk, so a long step shows its progress.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::definition::JobType;
use super::execution_status::{BatchStatus, ExitStatus};
use crate::error::{SyncError, SyncResult};
use crate::storage::{Storage, from_micros, to_micros};

/// What a step did with its items.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Items the reader returned (valid or not).
    pub read: u64,
    /// Items written in chunks that succeeded.
    pub processed: u64,
    /// Records created by the writer.
    pub added: u64,
    /// Records updated by the writer.
    pub updated: u64,
    /// Records deleted by the writer.
    pub deleted: u64,
    /// Items not written: filtered, invalid, or in a failed chunk.
    pub skipped: u64,
    /// Items skipped because of an error (invalid, or in a failed chunk); each has a warning.
    pub errors: u64,
}

impl Counters {
    /// Adds another step's counters (a job's total).
    pub fn add(&mut self, other: &Counters) {
        self.read += other.read;
        self.processed += other.processed;
        self.added += other.added;
        self.updated += other.updated;
        self.deleted += other.deleted;
        self.skipped += other.skipped;
        self.errors += other.errors;
    }
}

/// A problem with one item (or one chunk), recorded while the step went on.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    /// Why the item was skipped.
    pub reason: String,
    /// The item, as the step saw it (for a chunk, the list of its items).
    pub item: Value,
}

/// A stored [`Warning`].
#[derive(Debug, Clone, PartialEq)]
pub struct StoredWarning {
    /// The row id.
    pub id: i64,
    /// The step execution it belongs to.
    pub step_execution_id: i64,
    /// Why the item was skipped.
    pub reason: String,
    /// The item.
    pub item: Value,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

/// One run of one step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepExecution {
    /// The row id.
    pub id: i64,
    /// The job execution.
    pub job_execution_id: i64,
    /// The step's position in the job, from 0.
    pub position: i64,
    /// The step's name.
    pub step_name: String,
    /// Where it is.
    pub status: BatchStatus,
    /// How it ended.
    pub exit_status: ExitStatus,
    /// What it did.
    pub counters: Counters,
    /// The messages of the errors that failed it.
    pub failures: Vec<String>,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
}

/// One run of one job, with its steps.
#[derive(Debug, Clone, PartialEq)]
pub struct JobExecution {
    /// The row id.
    pub id: i64,
    /// The job's name.
    pub job_name: String,
    /// Import or export.
    pub job_type: JobType,
    /// The integration it ran for, if any.
    pub integration_id: Option<i64>,
    /// The connector it ran for, if any.
    pub connector: Option<String>,
    /// Where it is.
    pub status: BatchStatus,
    /// How it ended.
    pub exit_status: ExitStatus,
    /// The run parameters.
    pub parameters: Value,
    /// The messages of the errors that failed it (its own and its steps').
    pub failures: Vec<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Its steps, in order (only those that ran).
    pub steps: Vec<StepExecution>,
}

impl JobExecution {
    /// The counters of all its steps added up.
    pub fn counters(&self) -> Counters {
        let mut total = Counters::default();
        for step in &self.steps {
            total.add(&step.counters);
        }
        total
    }
}

/// Which executions to list.
#[derive(Debug, Clone, Default)]
pub struct ExecutionFilter {
    /// Only this integration's.
    pub integration_id: Option<i64>,
    /// Only this connector's.
    pub connector: Option<String>,
    /// At most this many, newest first (default 50).
    pub limit: Option<u32>,
}

/// The batch executions stored in a [`Storage`]; get them with [`Storage::batch_executions`].
#[derive(Debug, Clone, Copy)]
pub struct Executions<'s> {
    storage: &'s Storage,
}

impl Storage {
    /// The batch job and step executions.
    pub fn batch_executions(&self) -> Executions<'_> {
        Executions { storage: self }
    }
}

const JOB_COLUMNS: &str = "id, job_name, job_type, integration_id, connector, status, exit_code, exit_description, \
                           parameters, failures, created_at, started_at, ended_at";
const STEP_COLUMNS: &str = "id, job_execution_id, position, step_name, status, exit_code, exit_description, \
                            read_count, processed_count, added_count, updated_count, deleted_count, skipped_count, \
                            error_count, failures, started_at, ended_at";

impl Executions<'_> {
    /// Creates a job execution in `starting`.
    pub async fn create_job(
        &self,
        job_name: &str,
        job_type: JobType,
        integration_id: Option<i64>,
        connector: Option<&str>,
        parameters: &Value,
    ) -> SyncResult<JobExecution> {
        let now = to_micros(Utc::now());
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO sync_job_executions (job_name, job_type, integration_id, connector, status, exit_code, \
             parameters, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {JOB_COLUMNS}"
        )))
        .bind(job_name)
        .bind(job_type.as_str())
        .bind(integration_id)
        .bind(connector)
        .bind(BatchStatus::Starting.as_str())
        .bind(ExitStatus::EXECUTING)
        .bind(parameters.to_string())
        .bind(now)
        .fetch_one(self.storage.pool())
        .await?;
        job_from_row(&row)
    }

    /// Saves a job execution's status, exit status, failures and times.
    pub async fn update_job(&self, job: &JobExecution) -> SyncResult<()> {
        sqlx::query(
            "UPDATE sync_job_executions SET status = $1, exit_code = $2, exit_description = $3, failures = $4, \
             started_at = $5, ended_at = $6, updated_at = $7 WHERE id = $8",
        )
        .bind(job.status.as_str())
        .bind(&job.exit_status.code)
        .bind(&job.exit_status.description)
        .bind(json_list(&job.failures))
        .bind(job.started_at.map(to_micros))
        .bind(job.ended_at.map(to_micros))
        .bind(to_micros(Utc::now()))
        .bind(job.id)
        .execute(self.storage.pool())
        .await?;
        Ok(())
    }

    /// Creates a step execution in `starting`.
    pub async fn create_step(
        &self,
        job_execution_id: i64,
        position: i64,
        step_name: &str,
    ) -> SyncResult<StepExecution> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO sync_step_executions (job_execution_id, position, step_name, status, exit_code) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {STEP_COLUMNS}"
        )))
        .bind(job_execution_id)
        .bind(position)
        .bind(step_name)
        .bind(BatchStatus::Starting.as_str())
        .bind(ExitStatus::EXECUTING)
        .fetch_one(self.storage.pool())
        .await?;
        step_from_row(&row)
    }

    /// Saves a step execution's status, counters, failures and times.
    pub async fn update_step(&self, step: &StepExecution) -> SyncResult<()> {
        let c = &step.counters;
        sqlx::query(
            "UPDATE sync_step_executions SET status = $1, exit_code = $2, exit_description = $3, read_count = $4, \
             processed_count = $5, added_count = $6, updated_count = $7, deleted_count = $8, skipped_count = $9, \
             error_count = $10, failures = $11, started_at = $12, ended_at = $13 WHERE id = $14",
        )
        .bind(step.status.as_str())
        .bind(&step.exit_status.code)
        .bind(&step.exit_status.description)
        .bind(count(c.read))
        .bind(count(c.processed))
        .bind(count(c.added))
        .bind(count(c.updated))
        .bind(count(c.deleted))
        .bind(count(c.skipped))
        .bind(count(c.errors))
        .bind(json_list(&step.failures))
        .bind(step.started_at.map(to_micros))
        .bind(step.ended_at.map(to_micros))
        .bind(step.id)
        .execute(self.storage.pool())
        .await?;
        // The job's `updated_at` is its heartbeat: cleanup abandons executions without one.
        sqlx::query("UPDATE sync_job_executions SET updated_at = $1 WHERE id = $2")
            .bind(to_micros(Utc::now()))
            .bind(step.job_execution_id)
            .execute(self.storage.pool())
            .await?;
        Ok(())
    }

    /// Stores warnings of a step execution.
    pub async fn add_warnings(
        &self,
        step_execution_id: i64,
        warnings: &[Warning],
    ) -> SyncResult<()> {
        if warnings.is_empty() {
            return Ok(());
        }
        let now = to_micros(Utc::now());
        let mut tx = self.storage.begin().await?;
        for warning in warnings {
            sqlx::query(
                "INSERT INTO sync_batch_warnings (step_execution_id, reason, item, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(step_execution_id)
            .bind(&warning.reason)
            .bind(warning.item.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Asks a running job execution to stop: it stops after its current chunk. Returns
    /// whether the execution was running.
    pub async fn request_stop(&self, id: i64) -> SyncResult<bool> {
        let done = sqlx::query(
            "UPDATE sync_job_executions SET status = $1, updated_at = $2 WHERE id = $3 AND status IN ($4, $5)",
        )
        .bind(BatchStatus::Stopping.as_str())
        .bind(to_micros(Utc::now()))
        .bind(id)
        .bind(BatchStatus::Starting.as_str())
        .bind(BatchStatus::Started.as_str())
        .execute(self.storage.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Whether the job execution was asked to stop.
    pub async fn is_stop_requested(&self, id: i64) -> SyncResult<bool> {
        let status: Option<(String,)> =
            sqlx::query_as("SELECT status FROM sync_job_executions WHERE id = $1")
                .bind(id)
                .fetch_optional(self.storage.pool())
                .await?;
        Ok(status.is_some_and(|(s,)| s == BatchStatus::Stopping.as_str()))
    }

    /// A job execution with its steps.
    pub async fn get(&self, id: i64) -> SyncResult<JobExecution> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM sync_job_executions WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.storage.pool())
        .await?
        .ok_or_else(|| SyncError::Failed(format!("no job execution with id {id}")))?;
        let mut job = job_from_row(&row)?;
        job.steps = self.steps(id).await?;
        Ok(job)
    }

    /// Job executions with their steps, newest first.
    pub async fn list(&self, filter: &ExecutionFilter) -> SyncResult<Vec<JobExecution>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM sync_job_executions \
             WHERE ($1 IS NULL OR integration_id = $1) AND ($2 IS NULL OR connector = $2) \
             ORDER BY id DESC LIMIT $3"
        )))
        .bind(filter.integration_id)
        .bind(filter.connector.as_deref())
        .bind(i64::from(filter.limit.unwrap_or(50)))
        .fetch_all(self.storage.pool())
        .await?;
        let mut jobs = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut job = job_from_row(row)?;
            job.steps = self.steps(job.id).await?;
            jobs.push(job);
        }
        Ok(jobs)
    }

    /// The step executions of a job execution, in order.
    pub async fn steps(&self, job_execution_id: i64) -> SyncResult<Vec<StepExecution>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {STEP_COLUMNS} FROM sync_step_executions WHERE job_execution_id = $1 ORDER BY position, id"
        )))
        .bind(job_execution_id)
        .fetch_all(self.storage.pool())
        .await?;
        rows.iter().map(step_from_row).collect()
    }

    /// The warnings of a step execution, oldest first, at most `limit`.
    pub async fn warnings(
        &self,
        step_execution_id: i64,
        limit: u32,
    ) -> SyncResult<Vec<StoredWarning>> {
        let rows = sqlx::query(
            "SELECT id, step_execution_id, reason, item, created_at FROM sync_batch_warnings \
             WHERE step_execution_id = $1 ORDER BY id LIMIT $2",
        )
        .bind(step_execution_id)
        .bind(i64::from(limit))
        .fetch_all(self.storage.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let item: String = row.try_get("item")?;
                Ok(StoredWarning {
                    id: row.try_get("id")?,
                    step_execution_id: row.try_get("step_execution_id")?,
                    reason: row.try_get("reason")?,
                    // A stored item is JSON we wrote; fall back to its text rather than fail.
                    item: serde_json::from_str(&item).unwrap_or(Value::String(item)),
                    created_at: from_micros(row.try_get("created_at")?),
                })
            })
            .collect()
    }
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn json_list(items: &[String]) -> String {
    Value::from(items.to_vec()).to_string()
}

fn parse_list(text: &str) -> Vec<String> {
    // Written by us as a JSON list of strings; anything else is kept as one message.
    serde_json::from_str(text).unwrap_or_else(|_| vec![text.to_owned()])
}

fn job_type(text: &str) -> SyncResult<JobType> {
    match text {
        "import" => Ok(JobType::Import),
        "export" => Ok(JobType::Export),
        other => Err(SyncError::invalid_data(
            "job execution",
            "job_type",
            format!("unknown job type `{other}`"),
        )),
    }
}

fn job_from_row(row: &AnyRow) -> SyncResult<JobExecution> {
    let parameters: String = row.try_get("parameters")?;
    let failures: String = row.try_get("failures")?;
    let status: String = row.try_get("status")?;
    let job_type_text: String = row.try_get("job_type")?;
    Ok(JobExecution {
        id: row.try_get("id")?,
        job_name: row.try_get("job_name")?,
        job_type: job_type(&job_type_text)?,
        integration_id: row.try_get("integration_id")?,
        connector: row.try_get("connector")?,
        status: status.parse().unwrap_or(BatchStatus::Unknown),
        exit_status: ExitStatus {
            code: row.try_get("exit_code")?,
            description: row.try_get("exit_description")?,
        },
        parameters: serde_json::from_str(&parameters).unwrap_or(Value::String(parameters)),
        failures: parse_list(&failures),
        created_at: from_micros(row.try_get("created_at")?),
        started_at: row
            .try_get::<Option<i64>, _>("started_at")?
            .map(from_micros),
        ended_at: row.try_get::<Option<i64>, _>("ended_at")?.map(from_micros),
        steps: Vec::new(),
    })
}

fn step_from_row(row: &AnyRow) -> SyncResult<StepExecution> {
    let failures: String = row.try_get("failures")?;
    let status: String = row.try_get("status")?;
    let get = |column: &str| -> SyncResult<u64> {
        let n: i64 = row.try_get(column)?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    Ok(StepExecution {
        id: row.try_get("id")?,
        job_execution_id: row.try_get("job_execution_id")?,
        position: row.try_get("position")?,
        step_name: row.try_get("step_name")?,
        status: status.parse().unwrap_or(BatchStatus::Unknown),
        exit_status: ExitStatus {
            code: row.try_get("exit_code")?,
            description: row.try_get("exit_description")?,
        },
        counters: Counters {
            read: get("read_count")?,
            processed: get("processed_count")?,
            added: get("added_count")?,
            updated: get("updated_count")?,
            deleted: get("deleted_count")?,
            skipped: get("skipped_count")?,
            errors: get("error_count")?,
        },
        failures: parse_list(&failures),
        started_at: row
            .try_get::<Option<i64>, _>("started_at")?
            .map(from_micros),
        ended_at: row.try_get::<Option<i64>, _>("ended_at")?.map(from_micros),
    })
}
