//! Removing old status rows and executions, and abandoning executions that stopped moving.
//!
//! As Oro's cleanup commands: completed statuses older than a week and failed ones older than
//! a month go, except the latest completed status of each (integration, connector,
//! direction), which carries the incremental cursor. Oro keeps one per connector *name*
//! across all integrations; here it is kept per integration. Executions older than a week
//! go with their steps and warnings, unless still running.

use std::time::Duration;

use chrono::Utc;

use super::execution_status::{BatchStatus, ExitStatus};
use crate::error::SyncResult;
use crate::storage::{Storage, to_micros};

/// How many rows one delete statement removes, to keep transactions short.
const BATCH: i64 = 500;

/// What to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupPolicy {
    /// Completed statuses older than this go (default 7 days).
    pub completed_statuses: Duration,
    /// Failed statuses older than this go (default 30 days).
    pub failed_statuses: Duration,
    /// Finished executions older than this go (default 7 days).
    pub executions: Duration,
    /// Running executions without progress for this long are marked abandoned (default 1
    /// hour): their worker died.
    pub stale_after: Duration,
}

impl Default for CleanupPolicy {
    fn default() -> Self {
        const DAY: u64 = 24 * 3600;
        CleanupPolicy {
            completed_statuses: Duration::from_secs(7 * DAY),
            failed_statuses: Duration::from_secs(30 * DAY),
            executions: Duration::from_secs(7 * DAY),
            stale_after: Duration::from_secs(3600),
        }
    }
}

/// What a cleanup removed or changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanupReport {
    /// Status rows deleted.
    pub statuses: u64,
    /// Job executions deleted (with their steps and warnings).
    pub executions: u64,
    /// Job executions marked abandoned.
    pub abandoned: u64,
}

fn cutoff(age: Duration) -> i64 {
    let age = i64::try_from(age.as_micros()).unwrap_or(i64::MAX);
    to_micros(Utc::now()).saturating_sub(age)
}

/// Runs the cleanup.
///
/// ```no_run
/// # async fn demo(storage: sync_core::storage::Storage) -> sync_core::SyncResult<()> {
/// use sync_core::batch::{CleanupPolicy, cleanup};
/// let report = cleanup(&storage, CleanupPolicy::default()).await?;
/// println!("{} statuses, {} executions removed", report.statuses, report.executions);
/// # Ok(()) }
/// ```
pub async fn cleanup(storage: &Storage, policy: CleanupPolicy) -> SyncResult<CleanupReport> {
    let mut report = CleanupReport::default();
    let stale = cutoff(policy.stale_after);
    let now = to_micros(Utc::now());
    let running = [
        BatchStatus::Starting.as_str(),
        BatchStatus::Started.as_str(),
        BatchStatus::Stopping.as_str(),
    ];
    let abandoned = sqlx::query(
        "UPDATE sync_job_executions SET status = $1, exit_code = $2, exit_description = $3, ended_at = $4, updated_at = $4 \
         WHERE status IN ($5, $6, $7) AND updated_at < $8",
    )
    .bind(BatchStatus::Abandoned.as_str())
    .bind(ExitStatus::FAILED)
    .bind("abandoned: no progress was recorded for too long (its worker stopped)")
    .bind(now)
    .bind(running[0])
    .bind(running[1])
    .bind(running[2])
    .bind(stale)
    .execute(storage.pool())
    .await?;
    report.abandoned = abandoned.rows_affected();
    sqlx::query(
        "UPDATE sync_step_executions SET status = $1, ended_at = $2 WHERE status IN ($3, $4, $5) \
         AND job_execution_id IN (SELECT id FROM sync_job_executions WHERE status = $1)",
    )
    .bind(BatchStatus::Abandoned.as_str())
    .bind(now)
    .bind(running[0])
    .bind(running[1])
    .bind(running[2])
    .execute(storage.pool())
    .await?;

    let completed = cutoff(policy.completed_statuses);
    let failed = cutoff(policy.failed_statuses);
    loop {
        let done = sqlx::query(
            "DELETE FROM sync_integration_statuses WHERE id IN (\
               SELECT id FROM sync_integration_statuses s \
               WHERE ((s.code = 'completed' AND s.created_at < $1) OR (s.code = 'failed' AND s.created_at < $2)) \
               AND s.id NOT IN (SELECT MAX(k.id) FROM sync_integration_statuses k WHERE k.code = 'completed' \
                                GROUP BY k.integration_id, k.connector, k.direction) \
               LIMIT $3)",
        )
        .bind(completed)
        .bind(failed)
        .bind(BATCH)
        .execute(storage.pool())
        .await?;
        report.statuses += done.rows_affected();
        if done.rows_affected() < BATCH as u64 {
            break;
        }
    }

    let executions = cutoff(policy.executions);
    loop {
        let done = sqlx::query(
            "DELETE FROM sync_job_executions WHERE id IN (\
               SELECT id FROM sync_job_executions WHERE created_at < $1 AND status NOT IN ($2, $3, $4) LIMIT $5)",
        )
        .bind(executions)
        .bind(running[0])
        .bind(running[1])
        .bind(running[2])
        .bind(BATCH)
        .execute(storage.pool())
        .await?;
        report.executions += done.rows_affected();
        if done.rows_affected() < BATCH as u64 {
            break;
        }
    }
    Ok(report)
}
