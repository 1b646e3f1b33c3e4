//! The job actions an admin runs from the console, on chosen jobs or on every job matching
//! a filter, each recorded in the audit log.

use serde::{Deserialize, Serialize};
use std::time::Duration;

use sync_core::queue::{Eta, JobChanges, JobId, Queue};
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
    /// Set the priority (`priority`) of jobs not claimed, running or done.
    SetPriority,
    /// Set the ETA (`eta`: RFC 3339, seconds from now or `now`; absent: now) of jobs not
    /// claimed, running or done.
    SetEta,
    /// Move jobs not claimed, running or done to `channel`.
    SetChannel,
}

impl JobActionKind {
    /// The audit log's name of the action.
    pub fn audit_name(self) -> &'static str {
        match self {
            JobActionKind::Requeue => "jobs.requeue",
            JobActionKind::Cancel => "jobs.cancel",
            JobActionKind::SetDone => "jobs.set_done",
            JobActionKind::SetPriority => "jobs.set_priority",
            JobActionKind::SetEta => "jobs.set_eta",
            JobActionKind::SetChannel => "jobs.set_channel",
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
    /// The new priority, for `set_priority`.
    #[serde(default)]
    pub priority: Option<i64>,
    /// The new ETA for `set_eta`: an RFC 3339 time, seconds from now or `now` (also when absent).
    #[serde(default)]
    pub eta: Option<String>,
    /// The new channel, for `set_channel`.
    #[serde(default)]
    pub channel: Option<String>,
}

impl JobActionRequest {
    /// The change a `set_…` action makes, read from its field.
    ///
    /// # Errors
    /// 400 naming the field when it is missing or not readable.
    fn changes(&self) -> ConsoleResult<Option<JobChanges>> {
        let changes = JobChanges::default();
        Ok(match self.action {
            JobActionKind::Requeue | JobActionKind::Cancel | JobActionKind::SetDone => None,
            JobActionKind::SetPriority => {
                let priority = self.priority.ok_or_else(|| {
                    ConsoleError::bad_request("set_priority needs the field `priority`")
                })?;
                let priority = i32::try_from(priority).map_err(|_| {
                    ConsoleError::bad_request(format!(
                        "field `priority`: {priority} is out of range"
                    ))
                })?;
                Some(changes.priority(priority))
            }
            JobActionKind::SetEta => Some(
                match self.eta.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
                    // Absent: due now (the queue's `now`).
                    None => changes.eta(Eta::In(Duration::ZERO)),
                    Some(text) => changes.eta(
                        text.parse::<Eta>()
                            .map_err(|e| ConsoleError::bad_request(format!("field `eta`: {e}")))?,
                    ),
                },
            ),
            JobActionKind::SetChannel => Some(
                changes.channel(
                    self.channel
                        .as_deref()
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .ok_or_else(|| {
                            ConsoleError::bad_request("set_channel needs the field `channel`")
                        })?,
                ),
            ),
        })
    }
}

/// What an action did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobActionResult {
    /// How many jobs changed.
    pub changed: u64,
}

async fn apply(
    queue: &Queue,
    action: JobActionKind,
    change: Option<&JobChanges>,
    ids: &[JobId],
) -> ConsoleResult<u64> {
    Ok(match (action, change) {
        (JobActionKind::Requeue, _) => queue.requeue(ids).await?,
        (JobActionKind::Cancel, _) => queue.cancel(ids).await?,
        (JobActionKind::SetDone, _) => queue.set_done(ids).await?,
        (_, Some(change)) => queue.set_job_options(ids, change).await?,
        (_, None) => 0,
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
    let change = request.changes()?;
    let change = change.as_ref();
    let (target, changed) = if !request.ids.is_empty() {
        let ids: Vec<JobId> = request.ids.iter().copied().map(JobId).collect();
        let listed: Vec<String> = request.ids.iter().map(i64::to_string).collect();
        let changed = apply(queue, request.action, change, &ids).await?;
        (format!("jobs {}", listed.join(", ")), changed)
    } else if let Some(filter) = &request.filter {
        let mut query = filter.query()?;
        let mut changed = 0;
        // Chunks walk down the ids, so a job the action moved out of (or into) the filter
        // is neither acted on twice nor makes the walk loop.
        loop {
            let ids = queue.matching_job_ids(&query, BULK_CHUNK).await?;
            let Some(&last) = ids.last() else { break };
            changed += apply(queue, request.action, change, &ids).await?;
            query.before = Some(last);
        }
        (filter.describe(), changed)
    } else {
        return Err(ConsoleError::bad_request(
            "a job action needs `ids` or a `filter`",
        ));
    };
    let outcome = match change {
        Some(change) => format!("{changed} changed ({})", describe(change)),
        None => format!("{changed} changed"),
    };
    audit::record(
        queue.storage(),
        &principal.actor(),
        request.action.audit_name(),
        &target,
        &outcome,
    )
    .await?;
    Ok(JobActionResult { changed })
}

/// The audit log's words for a change (the queue's history has its own).
fn describe(changes: &JobChanges) -> String {
    let mut parts = Vec::new();
    if let Some(priority) = changes.priority {
        parts.push(format!("priority {priority}"));
    }
    match changes.eta {
        Some(Eta::At(at)) => parts.push(format!("eta {}", at.to_rfc3339())),
        Some(Eta::In(delay)) if delay.is_zero() => parts.push("eta now".to_owned()),
        Some(Eta::In(delay)) => parts.push(format!("eta in {}s", delay.as_secs())),
        None => {}
    }
    if let Some(channel) = &changes.channel {
        parts.push(format!("channel {channel}"));
    }
    parts.join(", ")
}
