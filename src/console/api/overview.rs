//! `GET /api/overview`: the queue at a glance (jobs per state and per channel, the oldest
//! pending job, the workers holding a lease).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use sync_core::queue::Queue;
use utoipa::ToSchema;

use crate::console::ConsoleState;
use crate::console::audit::rfc3339;
use crate::console::error::ConsoleResult;

/// How many jobs are in one state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StateCount {
    /// The state.
    pub state: String,
    /// How many jobs.
    pub jobs: i64,
}

/// How many jobs of one channel are in one state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelCount {
    /// The channel.
    pub channel: String,
    /// The state.
    pub state: String,
    /// How many jobs.
    pub jobs: i64,
}

/// The oldest job waiting for a worker.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PendingSince {
    /// The job.
    pub id: i64,
    /// Its function.
    pub name: String,
    /// Waiting since (RFC 3339).
    pub since: String,
}

/// A worker holding a lease.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkerLease {
    /// The worker.
    pub worker_id: String,
    /// Jobs it holds.
    pub jobs: i64,
    /// When its latest lease runs out (RFC 3339).
    pub lease_until: String,
}

/// The queue at a glance.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Overview {
    /// Jobs per state (states without jobs are left out).
    pub states: Vec<StateCount>,
    /// Jobs per channel and state.
    pub channels: Vec<ChannelCount>,
    /// The oldest pending job.
    pub oldest_pending: Option<PendingSince>,
    /// The workers running (or about to run) a job: an idle worker holds no lease.
    pub workers: Vec<WorkerLease>,
}

/// Reads the overview.
pub async fn overview(queue: &Queue) -> ConsoleResult<Overview> {
    let states = queue
        .count_by_state()
        .await?
        .into_iter()
        .map(|(state, jobs)| StateCount {
            state: state.as_str().to_owned(),
            jobs,
        })
        .collect();
    let channels = queue
        .count_by_channel_and_state()
        .await?
        .into_iter()
        .map(|c| ChannelCount {
            channel: c.channel,
            state: c.state.as_str().to_owned(),
            jobs: c.jobs,
        })
        .collect();
    let oldest_pending = queue.oldest_pending().await?.map(|p| PendingSince {
        id: p.id.0,
        name: p.name,
        since: rfc3339(p.since),
    });
    let workers = queue
        .live_workers()
        .await?
        .into_iter()
        .map(|w| WorkerLease {
            worker_id: w.worker_id,
            jobs: w.jobs,
            lease_until: rfc3339(w.lease_until),
        })
        .collect();
    Ok(Overview {
        states,
        channels,
        oldest_pending,
        workers,
    })
}

/// The queue at a glance.
#[utoipa::path(get, path = "/api/overview", responses(
    (status = 200, body = Overview),
    (status = 401, body = crate::console::error::ErrorBody)
))]
pub async fn get_overview(State(state): State<ConsoleState>) -> ConsoleResult<Json<Overview>> {
    Ok(Json(overview(&state.queue).await?))
}
