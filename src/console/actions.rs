//! The job actions an admin runs from the console, on chosen jobs or on every job matching
//! a filter, each recorded in the audit log.

use serde::{Deserialize, Serialize};
use sync_core::queue::{JobId, Queue};
use utoipa::ToSchema;

use super::audit;
use super::auth::Principal;
use super::error::{ConsoleError, ConsoleResult};
use super::jobs_view::JobFilterParams;

/// How many jobs a bulk action changes per transaction.
const BULK_CHUNK: u32 = 500;

/// What to do with the jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobActionKind {
    /// Back to pending with retries reset.
    Requeue,
    /// Cancel.
    Cancel,
    /// Set done (waiting children may start).
    SetDone,
}

impl JobActionKind {
    /// The audit log's name of the action.
    pub fn audit_name(self) -> &'static str {
        match self {
            JobActionKind::Requeue => "jobs.requeue",
            JobActionKind::Cancel => "jobs.cancel",
            JobActionKind::SetDone => "jobs.set_done",
        }
    }
}

/// An action on jobs: either the listed `ids`, or every job matching `filter`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct JobActionRequest {
    /// What to do.
    pub action: JobActionKind,
    /// The jobs (leave empty to act on `filter`).
    #[serde(default)]
    pub ids: Vec<i64>,
    /// Act on every job matching these filters (when `ids` is empty).
    #[serde(default)]
    pub filter: Option<JobFilterParams>,
}

/// What an action did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobActionResult {
    /// How many jobs changed.
    pub changed: u64,
}

async fn apply(queue: &Queue, action: JobActionKind, ids: &[JobId]) -> ConsoleResult<u64> {
    Ok(match action {
        JobActionKind::Requeue => queue.requeue(ids).await?,
        JobActionKind::Cancel => queue.cancel(ids).await?,
        JobActionKind::SetDone => queue.set_done(ids).await?,
    })
}

/// Checks that `principal` may act (admin, CSRF token for sessions), runs the action and
/// records it in the audit log.
///
/// # Errors
/// 403 when not allowed, 400 when neither ids nor a filter are given or a filter is wrong.
pub async fn run_job_action(
    queue: &Queue,
    principal: &Principal,
    csrf: Option<&str>,
    request: &JobActionRequest,
) -> ConsoleResult<JobActionResult> {
    principal.authorize_action(csrf)?;
    let (target, changed) = if !request.ids.is_empty() {
        let ids: Vec<JobId> = request.ids.iter().copied().map(JobId).collect();
        let listed: Vec<String> = request.ids.iter().map(i64::to_string).collect();
        let changed = apply(queue, request.action, &ids).await?;
        (format!("jobs {}", listed.join(", ")), changed)
    } else if let Some(filter) = &request.filter {
        let mut query = filter.query()?;
        let mut changed = 0;
        // Chunks walk down the ids, so a job the action moved out of (or into) the filter
        // is neither acted on twice nor makes the walk loop.
        loop {
            let ids = queue.matching_job_ids(&query, BULK_CHUNK).await?;
            let Some(&last) = ids.last() else { break };
            changed += apply(queue, request.action, &ids).await?;
            query.before = Some(last);
        }
        (filter.describe(), changed)
    } else {
        return Err(ConsoleError::bad_request(
            "a job action needs `ids` or a `filter`",
        ));
    };
    audit::record(
        queue.storage(),
        &principal.actor(),
        request.action.audit_name(),
        &target,
        &format!("{changed} changed"),
    )
    .await?;
    Ok(JobActionResult { changed })
}
