//! The job actions an admin runs from the console, on chosen jobs or on every job matching
//! a filter, each recorded in the audit log.

use serde::{Deserialize, Serialize};
use sync_core::queue::{JobId, Queue, Reschedule};
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
    /// Set the priority (`priority`) of jobs no worker holds.
    SetPriority,
    /// Set the ETA (`eta`, RFC 3339; absent: as soon as possible) of jobs no worker holds.
    SetEta,
    /// Move jobs no worker holds to `channel`.
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
    /// The new ETA (RFC 3339), for `set_eta`; absent runs the jobs as soon as possible.
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
    fn reschedule(&self) -> ConsoleResult<Option<Reschedule>> {
        Ok(match self.action {
            JobActionKind::Requeue | JobActionKind::Cancel | JobActionKind::SetDone => None,
            JobActionKind::SetPriority => {
                Some(Reschedule::Priority(self.priority.ok_or_else(|| {
                    ConsoleError::bad_request("set_priority needs the field `priority`")
                })?))
            }
            JobActionKind::SetEta => Some(Reschedule::Eta(
                match self.eta.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
                    None => None,
                    Some(text) => Some(
                        chrono::DateTime::parse_from_rfc3339(text)
                            .map_err(|e| {
                                ConsoleError::bad_request(format!(
                                    "field `eta`: `{text}` is not an RFC 3339 time ({e})"
                                ))
                            })?
                            .with_timezone(&chrono::Utc),
                    ),
                },
            )),
            JobActionKind::SetChannel => Some(Reschedule::Channel(
                self.channel
                    .as_deref()
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .ok_or_else(|| {
                        ConsoleError::bad_request("set_channel needs the field `channel`")
                    })?
                    .to_owned(),
            )),
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
    change: Option<&Reschedule>,
    ids: &[JobId],
) -> ConsoleResult<u64> {
    Ok(match (action, change) {
        (JobActionKind::Requeue, _) => queue.requeue(ids).await?,
        (JobActionKind::Cancel, _) => queue.cancel(ids).await?,
        (JobActionKind::SetDone, _) => queue.set_done(ids).await?,
        (_, Some(change)) => queue.reschedule(ids, change).await?,
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
    let change = request.reschedule()?;
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
        Some(Reschedule::Priority(p)) => format!("{changed} changed (priority {p})"),
        Some(Reschedule::Eta(Some(at))) => format!("{changed} changed (eta {at})"),
        Some(Reschedule::Eta(None)) => format!("{changed} changed (eta cleared)"),
        Some(Reschedule::Channel(c)) => format!("{changed} changed (channel {c})"),
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
