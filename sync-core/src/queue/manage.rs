//! Operating the queue: list and show jobs, change their options, requeue, set done,
//! cancel, purge.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::channels::{ChannelConfig, normalize_channel};
use super::handle::Queue;
use super::job::JobId;
use super::job_conditions::JobConditions;
use super::options::Eta;
use super::states::JobState;
use super::store::{self, HistoryEntry};
use crate::error::{SyncError, SyncResult};
use crate::storage::from_micros;

/// Which jobs to list.
#[derive(Debug, Clone)]
pub struct JobFilter {
    /// Only these states (all when empty).
    pub states: Vec<JobState>,
    /// Only this channel and its subchannels.
    pub channel: Option<String>,
    /// Only this job function.
    pub name: Option<String>,
    /// Only this graph.
    pub graph_id: Option<String>,
    /// At most this many, newest first (default 100).
    pub limit: u32,
    /// Skip this many.
    pub offset: u32,
}

impl Default for JobFilter {
    fn default() -> Self {
        JobFilter {
            states: Vec::new(),
            channel: None,
            name: None,
            graph_id: None,
            limit: 100,
            offset: 0,
        }
    }
}

/// A stored job, as operators see it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    /// The id.
    pub id: JobId,
    /// The job function.
    pub name: String,
    /// The description.
    pub description: Option<String>,
    /// The arguments (JSON).
    pub args: String,
    /// The state.
    pub state: JobState,
    /// Lower runs first.
    pub priority: i64,
    /// Not before.
    pub eta: Option<DateTime<Utc>>,
    /// Counted tries used.
    pub retry: u32,
    /// Counted tries allowed (0: forever).
    pub max_retries: u32,
    /// The channel.
    pub channel: String,
    /// The identity key.
    pub identity_key: Option<String>,
    /// The graph the job belongs to.
    pub graph_id: Option<String>,
    /// The worker holding the lease.
    pub worker_id: Option<String>,
    /// Claims so far.
    pub attempt: i64,
    /// When the lease runs out.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// The result message (done, nothing to do, or the last retry's reason).
    pub result: Option<String>,
    /// The error kind of a failure.
    pub exc_name: Option<String>,
    /// The error message of a failure.
    pub exc_message: Option<String>,
    /// The error chain of a failure.
    pub exc_info: Option<String>,
    /// Created.
    pub date_created: DateTime<Utc>,
    /// Claimed.
    pub date_enqueued: Option<DateTime<Utc>>,
    /// Started.
    pub date_started: Option<DateTime<Utc>>,
    /// Done.
    pub date_done: Option<DateTime<Utc>>,
    /// Cancelled.
    pub date_cancelled: Option<DateTime<Utc>>,
    /// Failed.
    pub date_failed: Option<DateTime<Utc>>,
    /// How long the last try ran.
    pub exec_time: Option<Duration>,
}

/// One entry of a job's history: an attempt's outcome or an operator's action.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRecord {
    /// When.
    pub at: DateTime<Utc>,
    /// The state the job went to.
    pub state: JobState,
    /// The attempt number at the time.
    pub attempt: i64,
    /// The worker, for attempt outcomes.
    pub worker_id: Option<String>,
    /// The result or error message.
    pub message: Option<String>,
}

pub(super) const JOB_COLUMNS: &str = "id, name, description, args, state, priority, eta, retry, max_retries, \
    channel, identity_key, graph_id, worker_id, attempt, lease_expires_at, result, exc_name, \
    exc_message, exc_info, date_created, date_enqueued, date_started, date_done, date_cancelled, \
    date_failed, exec_time_us";

fn opt_time(row: &AnyRow, column: &str) -> SyncResult<Option<DateTime<Utc>>> {
    Ok(row.try_get::<Option<i64>, _>(column)?.map(from_micros))
}

pub(super) fn record_from_row(row: &AnyRow) -> SyncResult<JobRecord> {
    Ok(JobRecord {
        id: JobId(row.try_get("id")?),
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        args: row.try_get("args")?,
        state: row.try_get::<String, _>("state")?.parse()?,
        priority: row.try_get("priority")?,
        eta: opt_time(row, "eta")?,
        retry: u32::try_from(row.try_get::<i64, _>("retry")?).unwrap_or(0),
        max_retries: u32::try_from(row.try_get::<i64, _>("max_retries")?).unwrap_or(0),
        channel: row.try_get("channel")?,
        identity_key: row.try_get("identity_key")?,
        graph_id: row.try_get("graph_id")?,
        worker_id: row.try_get("worker_id")?,
        attempt: row.try_get("attempt")?,
        lease_expires_at: opt_time(row, "lease_expires_at")?,
        result: row.try_get("result")?,
        exc_name: row.try_get("exc_name")?,
        exc_message: row.try_get("exc_message")?,
        exc_info: row.try_get("exc_info")?,
        date_created: from_micros(row.try_get("date_created")?),
        date_enqueued: opt_time(row, "date_enqueued")?,
        date_started: opt_time(row, "date_started")?,
        date_done: opt_time(row, "date_done")?,
        date_cancelled: opt_time(row, "date_cancelled")?,
        date_failed: opt_time(row, "date_failed")?,
        exec_time: row
            .try_get::<Option<i64>, _>("exec_time_us")?
            .and_then(|us| u64::try_from(us).ok())
            .map(Duration::from_micros),
    })
}

/// New scheduling options for stored jobs; what is `None` stays as it is.
///
/// ```
/// use std::time::Duration;
/// use sync_core::queue::JobChanges;
/// let changes = JobChanges::default().priority(1).eta(Duration::from_secs(60)).channel("slow");
/// assert_eq!(changes.channel.as_deref(), Some("root.slow"));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobChanges {
    /// The new priority (lower runs first).
    pub priority: Option<i32>,
    /// The new earliest start.
    pub eta: Option<Eta>,
    /// The new channel (full name).
    pub channel: Option<String>,
}

impl JobChanges {
    /// Sets the new priority.
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = Some(priority);
        self
    }

    /// Sets the new earliest start: an instant or a delay from now.
    pub fn eta(mut self, eta: impl Into<Eta>) -> Self {
        self.eta = Some(eta.into());
        self
    }

    /// Sets the new channel (`slow` means `root.slow`).
    pub fn channel(mut self, channel: &str) -> Self {
        self.channel = Some(normalize_channel(channel));
        self
    }

    /// What changes, as the history records it.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(priority) = self.priority {
            parts.push(format!("priority {priority}"));
        }
        match self.eta {
            Some(Eta::At(at)) => parts.push(format!("eta {}", at.to_rfc3339())),
            Some(Eta::In(delay)) => parts.push(format!("eta in {delay:?}")),
            None => {}
        }
        if let Some(channel) = &self.channel {
            parts.push(format!("channel {channel}"));
        }
        parts.join(", ")
    }
}

/// The states whose jobs an operator may reschedule: not claimed, running or done.
const RESCHEDULABLE_STATES_SQL: &str = "('wait_dependencies', 'pending', 'failed', 'cancelled')";

/// Which manual action to apply.
#[derive(Debug, Clone, Copy)]
enum Action {
    Requeue,
    Done,
    Cancel,
}

impl Queue {
    /// Lists jobs, newest first.
    pub async fn list_jobs(&self, filter: &JobFilter) -> SyncResult<Vec<JobRecord>> {
        let mut conditions = JobConditions::default();
        conditions.states(&filter.states);
        conditions.channel(filter.channel.as_deref());
        conditions.equals("name", filter.name.as_deref());
        conditions.equals("graph_id", filter.graph_id.as_deref());
        let (filter_sql, binds) = conditions.into_sql();
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM queue_jobs{filter_sql} ORDER BY date_created DESC, id DESC \
             LIMIT {} OFFSET {}",
            filter.limit, filter.offset
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for b in binds {
            query = query.bind(b);
        }
        let rows = query.fetch_all(self.storage().pool()).await?;
        rows.iter().map(record_from_row).collect()
    }

    /// One job.
    pub async fn job(&self, id: JobId) -> SyncResult<JobRecord> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM queue_jobs WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(self.storage().pool())
            .await?
            .ok_or_else(|| SyncError::Failed(format!("job {id} does not exist")))?;
        record_from_row(&row)
    }

    /// A job's history, oldest first.
    pub async fn job_history(&self, id: JobId) -> SyncResult<Vec<HistoryRecord>> {
        let rows = sqlx::query(
            "SELECT at, state, attempt, worker_id, message FROM queue_job_history \
             WHERE job_id = $1 ORDER BY id",
        )
        .bind(id.0)
        .fetch_all(self.storage().pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(HistoryRecord {
                    at: from_micros(row.try_get("at")?),
                    state: row.try_get::<String, _>("state")?.parse()?,
                    attempt: row.try_get("attempt")?,
                    worker_id: row.try_get("worker_id")?,
                    message: row.try_get("message")?,
                })
            })
            .collect()
    }

    /// The jobs `id` waits for, and the jobs waiting for it.
    pub async fn job_dependencies(&self, id: JobId) -> SyncResult<(Vec<JobId>, Vec<JobId>)> {
        let pool = self.storage().pool();
        let parents: Vec<(i64,)> = sqlx::query_as(
            "SELECT depends_on FROM queue_job_dependencies WHERE job_id = $1 ORDER BY depends_on",
        )
        .bind(id.0)
        .fetch_all(pool)
        .await?;
        let children: Vec<(i64,)> = sqlx::query_as(
            "SELECT job_id FROM queue_job_dependencies WHERE depends_on = $1 ORDER BY job_id",
        )
        .bind(id.0)
        .fetch_all(pool)
        .await?;
        Ok((
            parents.into_iter().map(|(i,)| JobId(i)).collect(),
            children.into_iter().map(|(i,)| JobId(i)).collect(),
        ))
    }

    /// How many jobs are in each state.
    pub async fn count_by_state(&self) -> SyncResult<Vec<(JobState, i64)>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM queue_jobs GROUP BY state ORDER BY state")
                .fetch_all(self.storage().pool())
                .await?;
        rows.into_iter().map(|(s, n)| Ok((s.parse()?, n))).collect()
    }

    /// Changes the priority, ETA and channel of jobs that are not claimed, running or done
    /// (wait_dependencies, pending, failed, cancelled); the others are left alone. Each
    /// change is recorded in the job's history. Returns how many jobs changed.
    pub async fn set_job_options(&self, ids: &[JobId], changes: &JobChanges) -> SyncResult<u64> {
        if changes.priority.is_none() && changes.eta.is_none() && changes.channel.is_none() {
            return Err(SyncError::Failed(
                "changing jobs: nothing to change, give a priority, an eta or a channel".into(),
            ));
        }
        let channel = changes.channel.as_deref().map(normalize_channel);
        if let Some(channel) = &channel
            && channel.split('.').any(str::is_empty)
        {
            return Err(SyncError::Failed(format!(
                "changing jobs: channel `{channel}` has an empty name segment"
            )));
        }
        let dialect = self.storage().dialect();
        let now = dialect.now_micros_sql();
        let mut sets = Vec::new();
        if changes.priority.is_some() {
            sets.push(format!("priority = ${}", sets.len() + 2));
        }
        let eta = changes.eta.map(|eta| match eta {
            Eta::At(at) => (format!("eta = ${}", sets.len() + 2), at.timestamp_micros()),
            Eta::In(delay) => (
                format!("eta = {now} + ${}", sets.len() + 2),
                i64::try_from(delay.as_micros()).unwrap_or(i64::MAX / 4),
            ),
        });
        if let Some((set, _)) = &eta {
            sets.push(set.clone());
        }
        if channel.is_some() {
            sets.push(format!("channel = ${}", sets.len() + 2));
        }
        let sql = format!(
            "UPDATE queue_jobs SET {} WHERE id = $1 AND state IN {RESCHEDULABLE_STATES_SQL} \
             RETURNING state, attempt",
            sets.join(", ")
        );
        let message = format!("options changed by an operator: {}", changes.describe());
        let mut tx = self.storage().begin().await?;
        let mut history = Vec::new();
        for &id in ids {
            let mut query = sqlx::query(AssertSqlSafe(sql.clone())).bind(id.0);
            if let Some(priority) = changes.priority {
                query = query.bind(i64::from(priority));
            }
            if let Some((_, value)) = &eta {
                query = query.bind(*value);
            }
            if let Some(channel) = &channel {
                query = query.bind(channel.clone());
            }
            if let Some(row) = query.fetch_optional(&mut *tx).await? {
                history.push(HistoryEntry {
                    job_id: id,
                    state: row.try_get::<String, _>("state")?.parse()?,
                    attempt: row.try_get("attempt")?,
                    worker_id: None,
                    message: Some(message.clone()),
                });
            }
        }
        store::insert_history(&mut tx, dialect, &history).await?;
        tx.commit().await?;
        // An earlier eta or a freer channel may let a job run now.
        self.wake();
        Ok(history.len() as u64)
    }

    /// Requeues jobs: back to `pending` (or `wait_dependencies` while a parent is not
    /// done) with their retries reset. A worker still running one is fenced out: its
    /// result will be ignored. Jobs waiting for dependencies are left alone. Returns how
    /// many jobs changed.
    pub async fn requeue(&self, ids: &[JobId]) -> SyncResult<u64> {
        self.act(ids, Action::Requeue).await
    }

    /// Sets jobs done (their waiting children may start). A failed job loses its current
    /// error (its history keeps it). Returns how many changed.
    pub async fn set_done(&self, ids: &[JobId]) -> SyncResult<u64> {
        self.act(ids, Action::Done).await
    }

    /// Cancels jobs; their children keep waiting. Returns how many changed.
    pub async fn cancel(&self, ids: &[JobId]) -> SyncResult<u64> {
        self.act(ids, Action::Cancel).await
    }

    async fn act(&self, ids: &[JobId], action: Action) -> SyncResult<u64> {
        let dialect = self.storage().dialect();
        let now = dialect.now_micros_sql();
        let mut tx = self.storage().begin().await?;
        let mut changed = 0;
        let mut history = Vec::new();
        for &id in ids {
            let sql = match action {
                Action::Requeue => String::from(
                    "UPDATE queue_jobs SET \
                         state = CASE WHEN EXISTS (SELECT 1 FROM queue_job_dependencies d \
                             JOIN queue_jobs p ON p.id = d.depends_on \
                             WHERE d.job_id = queue_jobs.id AND p.state <> 'done') \
                             THEN 'wait_dependencies' ELSE 'pending' END, \
                         retry = 0, eta = NULL, attempt = attempt + 1, worker_id = NULL, \
                         lease_expires_at = NULL, exc_name = NULL, exc_message = NULL, \
                         exc_info = NULL, result = NULL, date_enqueued = NULL, date_started = NULL, \
                         date_done = NULL, date_cancelled = NULL, date_failed = NULL \
                     WHERE id = $1 AND state <> 'wait_dependencies' RETURNING state, attempt",
                ),
                // The error a failed job had is over: its history row keeps it.
                Action::Done => format!(
                    "UPDATE queue_jobs SET state = 'done', date_done = {now}, \
                         result = COALESCE(result, 'set done manually'), attempt = attempt + 1, \
                         worker_id = NULL, lease_expires_at = NULL, exc_name = NULL, \
                         exc_message = NULL, exc_info = NULL \
                     WHERE id = $1 AND state <> 'done' RETURNING state, attempt"
                ),
                Action::Cancel => format!(
                    "UPDATE queue_jobs SET state = 'cancelled', date_cancelled = {now}, \
                         attempt = attempt + 1, worker_id = NULL, lease_expires_at = NULL \
                     WHERE id = $1 AND state NOT IN ('done', 'cancelled') RETURNING state, attempt"
                ),
            };
            let row = sqlx::query(AssertSqlSafe(sql))
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = row {
                changed += 1;
                history.push(HistoryEntry {
                    job_id: id,
                    state: row.try_get::<String, _>("state")?.parse()?,
                    attempt: row.try_get("attempt")?,
                    worker_id: None,
                    message: Some(
                        match action {
                            Action::Requeue => "requeued by an operator",
                            Action::Done => "set done by an operator",
                            Action::Cancel => "cancelled by an operator",
                        }
                        .to_owned(),
                    ),
                });
            }
        }
        store::insert_history(&mut tx, dialect, &history).await?;
        if matches!(action, Action::Done) {
            store::release_children(&mut tx, ids).await?;
        }
        tx.commit().await?;
        self.wake();
        Ok(changed)
    }

    /// Deletes done and cancelled jobs older than their channel's retention, `batch` rows
    /// per transaction so that a huge backlog never makes one giant delete. Returns how
    /// many were deleted.
    pub async fn purge(&self, channels: &ChannelConfig, batch: u32) -> SyncResult<u64> {
        let pool = self.storage().pool();
        let now = self.storage().now_micros().await?;
        let raw_channels: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT channel FROM queue_jobs WHERE state IN ('done', 'cancelled')",
        )
        .fetch_all(pool)
        .await?;
        let batch = batch.max(1);
        let mut deleted = 0;
        for (channel,) in raw_channels {
            let retention = channels.retention(&channel);
            let cutoff =
                now.saturating_sub(i64::try_from(retention.as_micros()).unwrap_or(i64::MAX));
            loop {
                let n = sqlx::query(AssertSqlSafe(format!(
                    "DELETE FROM queue_jobs WHERE id IN (SELECT id FROM queue_jobs \
                     WHERE channel = $1 AND ((state = 'done' AND date_done < $2) \
                         OR (state = 'cancelled' AND date_cancelled < $2)) LIMIT {batch})"
                )))
                .bind(channel.clone())
                .bind(cutoff)
                .execute(pool)
                .await?
                .rows_affected();
                deleted += n;
                if n < u64::from(batch) {
                    break;
                }
            }
        }
        Ok(deleted)
    }
}
