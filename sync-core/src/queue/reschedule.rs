//! Operator changes to jobs that have not run yet: priority, ETA, channel.
//!
//! Only jobs no worker holds are changed (pending, waiting for dependencies, failed): a
//! claimed job already counts against its channel's capacity, and moving it would make the
//! running counts lie. Each change is written to the job's history.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::channels::normalize_channel;
use super::handle::Queue;
use super::job::JobId;
use super::store::{self, HistoryEntry};
use crate::error::SyncResult;
use crate::storage::to_micros;

/// What to change.
#[derive(Debug, Clone, PartialEq)]
pub enum Reschedule {
    /// Set the priority (lower runs first).
    Priority(i64),
    /// Run not before this time (`None`: as soon as possible).
    Eta(Option<DateTime<Utc>>),
    /// Move to this channel.
    Channel(String),
}

const MOVABLE_STATES: &str = "('pending', 'wait_dependencies', 'failed')";

impl Queue {
    /// Applies `change` to the jobs of `ids` that no worker holds (pending, waiting for
    /// dependencies or failed). Returns how many changed.
    pub async fn reschedule(&self, ids: &[JobId], change: &Reschedule) -> SyncResult<u64> {
        let (set, message) = match change {
            Reschedule::Priority(p) => (format!("priority = {p}"), format!("priority set to {p}")),
            Reschedule::Eta(Some(at)) => (
                format!("eta = {}", to_micros(*at)),
                format!("eta set to {}", at.to_rfc3339()),
            ),
            Reschedule::Eta(None) => ("eta = NULL".to_owned(), "eta cleared".to_owned()),
            // The channel is operator text: it is bound, not inlined.
            Reschedule::Channel(c) => (
                "channel = $2".to_owned(),
                format!("moved to channel {}", normalize_channel(c)),
            ),
        };
        let sql = format!(
            "UPDATE queue_jobs SET {set} WHERE id = $1 AND state IN {MOVABLE_STATES} \
             RETURNING state, attempt"
        );
        let dialect = self.storage().dialect();
        let mut tx = self.storage().begin().await?;
        let mut history = Vec::new();
        for &id in ids {
            let mut query = sqlx::query(AssertSqlSafe(sql.clone())).bind(id.0);
            if let Reschedule::Channel(c) = change {
                query = query.bind(normalize_channel(c));
            }
            if let Some(row) = query.fetch_optional(&mut *tx).await? {
                history.push(HistoryEntry {
                    job_id: id,
                    state: row.try_get::<String, _>("state")?.parse()?,
                    attempt: row.try_get("attempt")?,
                    worker_id: None,
                    message: Some(format!("{message} by an operator")),
                });
            }
        }
        store::insert_history(&mut tx, dialect, &history).await?;
        tx.commit().await?;
        self.wake();
        Ok(history.len() as u64)
    }
}
