//! Draining the queue: what [`Worker::run_until_drained`](super::Worker::run_until_drained)
//! waits for, and what it reports it left behind.
//!
//! `run_until_idle` stops as soon as nothing is runnable *now*, so a retry scheduled two
//! seconds ahead stays pending. A drain takes a limit: every pending job whose eta falls
//! before the limit's end (its deadline) is waited for, retries included, and the report
//! says what stayed pending.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::worker::WorkerStats;
use crate::error::SyncResult;
use crate::storage::{Storage, from_micros};

/// What a drain did and what it left pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrainReport {
    /// What the worker did.
    pub stats: WorkerStats,
    /// The drain's bound: pending jobs due by then were waited for.
    pub deadline: DateTime<Utc>,
    /// Pending jobs due by the deadline that are still pending (a channel kept blocked by
    /// a failed job, claims that kept failing): the drain did not finish them.
    pub left_due: u64,
    /// Pending jobs scheduled after the deadline, which the drain did not wait for.
    pub left_later: u64,
    /// The earliest eta of those.
    pub next_eta: Option<DateTime<Utc>>,
}

impl DrainReport {
    /// Whether every job due within the limit ran.
    pub fn is_drained(&self) -> bool {
        self.left_due == 0
    }
}

/// Pending jobs on either side of a deadline (microseconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PendingAround {
    pub due: u64,
    pub later: u64,
    pub next_later: Option<i64>,
}

/// Counts the pending jobs due by `deadline` and those scheduled after it.
pub(crate) async fn pending_around(storage: &Storage, deadline: i64) -> SyncResult<PendingAround> {
    let row = sqlx::query(
        "SELECT COUNT(CASE WHEN eta IS NULL OR eta <= $1 THEN 1 END) AS due, \
                COUNT(CASE WHEN eta > $1 THEN 1 END) AS later, \
                MIN(CASE WHEN eta > $1 THEN eta END) AS next_later \
         FROM queue_jobs WHERE state = 'pending'",
    )
    .bind(deadline)
    .fetch_one(storage.pool())
    .await?;
    Ok(PendingAround {
        due: u64::try_from(row.try_get::<i64, _>("due")?).unwrap_or(0),
        later: u64::try_from(row.try_get::<i64, _>("later")?).unwrap_or(0),
        next_later: row.try_get("next_later")?,
    })
}

/// The report of a drain that ended, from what is pending now.
pub(crate) async fn report(
    storage: &Storage,
    stats: WorkerStats,
    deadline: i64,
) -> SyncResult<DrainReport> {
    let left = pending_around(storage, deadline).await?;
    Ok(DrainReport {
        stats,
        deadline: from_micros(deadline),
        left_due: left.due,
        left_later: left.later,
        next_eta: left.next_later.map(from_micros),
    })
}
