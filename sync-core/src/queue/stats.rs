//! What an operator console shows of the queue at a glance: jobs per state and channel,
//! the oldest pending job, and the workers that hold a lease right now.

use chrono::{DateTime, Utc};

use super::handle::Queue;
use super::job::JobId;
use super::states::JobState;
use crate::error::SyncResult;
use crate::storage::from_micros;

/// How many jobs of one channel are in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelStateCount {
    /// The channel.
    pub channel: String,
    /// The state.
    pub state: JobState,
    /// How many jobs.
    pub jobs: i64,
}

/// The oldest job waiting for a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldestPending {
    /// The job.
    pub id: JobId,
    /// Its function.
    pub name: String,
    /// Since when it waits.
    pub since: DateTime<Utc>,
}

/// A worker holding at least one unexpired lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveWorker {
    /// The worker's id.
    pub worker_id: String,
    /// How many jobs it holds (enqueued or started).
    pub jobs: i64,
    /// When its latest lease runs out.
    pub lease_until: DateTime<Utc>,
}

impl Queue {
    /// Jobs per channel and state, by channel then state.
    pub async fn count_by_channel_and_state(&self) -> SyncResult<Vec<ChannelStateCount>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT channel, state, COUNT(*) FROM queue_jobs GROUP BY channel, state \
             ORDER BY channel, state",
        )
        .fetch_all(self.storage().pool())
        .await?;
        rows.into_iter()
            .map(|(channel, state, jobs)| {
                Ok(ChannelStateCount {
                    channel,
                    state: state.parse()?,
                    jobs,
                })
            })
            .collect()
    }

    /// The pending job created first, if any (read through the pending jobs' index).
    pub async fn oldest_pending(&self) -> SyncResult<Option<OldestPending>> {
        let row: Option<(i64, String, i64)> = sqlx::query_as(
            "SELECT id, name, date_created FROM queue_jobs WHERE state = 'pending' \
             ORDER BY date_created, id LIMIT 1",
        )
        .fetch_optional(self.storage().pool())
        .await?;
        Ok(row.map(|(id, name, created)| OldestPending {
            id: JobId(id),
            name,
            since: from_micros(created),
        }))
    }

    /// The workers holding an unexpired lease, i.e. running or about to run a job. (An idle
    /// worker holds none and is not seen here.)
    pub async fn live_workers(&self) -> SyncResult<Vec<LiveWorker>> {
        let now = self.storage().now_micros().await?;
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT worker_id, COUNT(*), MAX(lease_expires_at) FROM queue_jobs \
             WHERE state IN ('enqueued', 'started') AND worker_id IS NOT NULL \
                 AND lease_expires_at > $1 \
             GROUP BY worker_id ORDER BY worker_id",
        )
        .bind(now)
        .fetch_all(self.storage().pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(worker_id, jobs, until)| LiveWorker {
                worker_id,
                jobs,
                lease_until: from_micros(until),
            })
            .collect())
    }
}
