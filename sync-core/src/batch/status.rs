//! Per-connector status rows: one per connector per run, with the run's message and the
//! connector's data for its next run (the incremental cursor).
//!
//! Rows are appended, never updated (Oro's `oro_integration_channel_status`); the cursor of
//! the next run comes from the last **completed** row only, so a failed run never moves it.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::definition::JobType;
use super::execution::Counters;
use crate::error::{SyncError, SyncResult};
use crate::storage::{Storage, from_micros, to_micros};
use crate::values::Values;

/// How a connector's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusCode {
    /// The job completed (possibly skipping items with warnings).
    Completed,
    /// The job failed, or could not run.
    Failed,
}

impl StatusCode {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusCode::Completed => "completed",
            StatusCode::Failed => "failed",
        }
    }
}

/// One connector's result in one sync run.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorStatus {
    /// The row id.
    pub id: i64,
    /// The integration.
    pub integration_id: i64,
    /// The connector.
    pub connector: String,
    /// Import (forward sync) or export (reverse sync).
    pub direction: JobType,
    /// How it ended.
    pub code: StatusCode,
    /// The stats line, then the skipped items or the failure.
    pub message: String,
    /// The connector's data for its next run.
    pub data: Values,
    /// The job execution, when the job ran.
    pub job_execution_id: Option<i64>,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

/// Oro's stats line, e.g. `[IMPORT] Stats: read 5, processed 3, updated 1, added 2, deleted 0, invalid 1`.
///
/// ```
/// use sync_core::batch::{Counters, JobType, stats_message};
/// let counters = Counters { read: 5, processed: 3, added: 2, updated: 1, errors: 1, ..Counters::default() };
/// assert_eq!(
///     stats_message(JobType::Import, &counters),
///     "[IMPORT] Stats: read 5, processed 3, updated 1, added 2, deleted 0, invalid 1"
/// );
/// ```
pub fn stats_message(direction: JobType, counters: &Counters) -> String {
    format!(
        "[{}] Stats: read {}, processed {}, updated {}, added {}, deleted {}, invalid {}",
        direction.as_str().to_uppercase(),
        counters.read,
        counters.processed,
        counters.updated,
        counters.added,
        counters.deleted,
        counters.errors
    )
}

/// The status rows stored in a [`Storage`]; get them with [`Storage::integration_statuses`].
#[derive(Debug, Clone, Copy)]
pub struct Statuses<'s> {
    storage: &'s Storage,
}

impl Storage {
    /// The per-connector status rows of integrations.
    pub fn integration_statuses(&self) -> Statuses<'_> {
        Statuses { storage: self }
    }
}

const COLUMNS: &str =
    "id, integration_id, connector, direction, code, message, data, job_execution_id, created_at";

/// A status row to append.
#[derive(Debug, Clone)]
pub struct NewStatus<'a> {
    /// The integration.
    pub integration_id: i64,
    /// The connector.
    pub connector: &'a str,
    /// Import or export.
    pub direction: JobType,
    /// How it ended.
    pub code: StatusCode,
    /// The message.
    pub message: String,
    /// The connector's data for its next run.
    pub data: Values,
    /// The job execution.
    pub job_execution_id: Option<i64>,
}

impl Statuses<'_> {
    /// Appends a status row.
    pub async fn add(&self, status: NewStatus<'_>) -> SyncResult<ConnectorStatus> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO sync_integration_statuses (integration_id, connector, direction, code, message, data, \
             job_execution_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
        )))
        .bind(status.integration_id)
        .bind(status.connector)
        .bind(status.direction.as_str())
        .bind(status.code.as_str())
        .bind(&status.message)
        .bind(Value::Object(status.data).to_string())
        .bind(status.job_execution_id)
        .bind(to_micros(Utc::now()))
        .fetch_one(self.storage.pool())
        .await?;
        status_from_row(&row)
    }

    /// The newest status of a connector in a direction, optionally only with this code.
    pub async fn last(
        &self,
        integration_id: i64,
        connector: &str,
        direction: JobType,
        code: Option<StatusCode>,
    ) -> SyncResult<Option<ConnectorStatus>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sync_integration_statuses \
             WHERE integration_id = $1 AND connector = $2 AND direction = $3 AND ($4 IS NULL OR code = $4) \
             ORDER BY id DESC LIMIT 1"
        )))
        .bind(integration_id)
        .bind(connector)
        .bind(direction.as_str())
        .bind(code.map(StatusCode::as_str))
        .fetch_optional(self.storage.pool())
        .await?;
        row.as_ref().map(status_from_row).transpose()
    }

    /// An integration's statuses, newest first, at most `limit`.
    pub async fn list(
        &self,
        integration_id: i64,
        connector: Option<&str>,
        limit: u32,
    ) -> SyncResult<Vec<ConnectorStatus>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sync_integration_statuses \
             WHERE integration_id = $1 AND ($2 IS NULL OR connector = $2) ORDER BY id DESC LIMIT $3"
        )))
        .bind(integration_id)
        .bind(connector)
        .bind(i64::from(limit))
        .fetch_all(self.storage.pool())
        .await?;
        rows.iter().map(status_from_row).collect()
    }
}

fn status_from_row(row: &AnyRow) -> SyncResult<ConnectorStatus> {
    let id: i64 = row.try_get("id")?;
    let direction: String = row.try_get("direction")?;
    let code: String = row.try_get("code")?;
    let data: String = row.try_get("data")?;
    let data: Values = serde_json::from_str(&data)
        .map_err(|e| SyncError::invalid_data(format!("status {id}"), "data", e.to_string()))?;
    Ok(ConnectorStatus {
        id,
        integration_id: row.try_get("integration_id")?,
        connector: row.try_get("connector")?,
        direction: if direction == "export" {
            JobType::Export
        } else {
            JobType::Import
        },
        code: if code == "completed" {
            StatusCode::Completed
        } else {
            StatusCode::Failed
        },
        message: row.try_get("message")?,
        data,
        job_execution_id: row.try_get("job_execution_id")?,
        created_at: from_micros(row.try_get("created_at")?),
    })
}
