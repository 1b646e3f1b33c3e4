//! The jobs as the console shows them (API answers and pages alike): filters read from a
//! query string, summaries, details with redacted arguments.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sync_core::queue::{HistoryRecord, JobId, JobQuery, JobRecord, JobState, Queue};
use utoipa::{IntoParams, ToSchema};

use super::audit::rfc3339;
use super::error::{ConsoleError, ConsoleResult};
use super::redact::redact_args;

/// The default page size of the job list.
pub const DEFAULT_PAGE: u32 = 50;

/// The job filters of a query string (`/api/jobs?state=failed,pending&text=email`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct JobFilterParams {
    /// States, separated by commas: wait_dependencies, pending, enqueued, started, done,
    /// failed, cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// This channel and its subchannels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// This job function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Text in the description or the error message (ignoring case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A page request: the filters, where to start and how many. (The filters are repeated
/// rather than flattened: a flattened query string reads numbers as text.)
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobPageParams {
    /// States, separated by commas.
    pub state: Option<String>,
    /// This channel and its subchannels.
    pub channel: Option<String>,
    /// This job function.
    pub name: Option<String>,
    /// Text in the description or the error message (ignoring case).
    pub text: Option<String>,
    /// Only jobs older than this id (the previous page's `next_before`).
    pub before: Option<i64>,
    /// How many (default 50, at most 500).
    pub limit: Option<u32>,
}

impl JobPageParams {
    /// The filters of the page.
    pub fn filter(&self) -> JobFilterParams {
        JobFilterParams {
            state: self.state.clone(),
            channel: self.channel.clone(),
            name: self.name.clone(),
            text: self.text.clone(),
        }
    }
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

impl JobFilterParams {
    /// The queue's query for these filters.
    ///
    /// # Errors
    /// 400 naming the field and the value when a state is not one.
    pub fn query(&self) -> ConsoleResult<JobQuery> {
        let states = match non_empty(&self.state) {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<JobState>().map_err(|_| {
                        ConsoleError::bad_request(format!(
                            "filter field `state`: `{s}` is not a job state"
                        ))
                    })
                })
                .collect::<ConsoleResult<_>>()?,
        };
        Ok(JobQuery {
            states,
            channel: non_empty(&self.channel),
            name: non_empty(&self.name),
            text: non_empty(&self.text),
            before: None,
        })
    }

    /// The filters as a query string (for links to the next page or back to the list).
    pub fn to_query_string(&self) -> String {
        serde_urlencoded_pairs(&[
            ("state", &self.state),
            ("channel", &self.channel),
            ("name", &self.name),
            ("text", &self.text),
        ])
    }

    /// The filters as the audit log names them.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = [
            ("state", &self.state),
            ("channel", &self.channel),
            ("name", &self.name),
            ("text", &self.text),
        ]
        .into_iter()
        .filter_map(|(k, v)| non_empty(v).map(|v| format!("{k}={v}")))
        .collect();
        if parts.is_empty() {
            "all jobs".to_owned()
        } else {
            format!("jobs matching {}", parts.join(" "))
        }
    }
}

fn serde_urlencoded_pairs(pairs: &[(&str, &Option<String>)]) -> String {
    pairs
        .iter()
        .filter_map(|(k, v)| non_empty(v).map(|v| format!("{k}={}", percent_encode(&v))))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes a query value (everything but unreserved characters).
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A job in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobSummary {
    /// The id.
    pub id: i64,
    /// The job function.
    pub name: String,
    /// The description.
    pub description: Option<String>,
    /// The state.
    pub state: String,
    /// The channel.
    pub channel: String,
    /// Lower runs first.
    pub priority: i64,
    /// Counted tries used.
    pub retry: u32,
    /// Counted tries allowed (0: forever).
    pub max_retries: u32,
    /// Not before (RFC 3339).
    pub eta: Option<String>,
    /// Created (RFC 3339).
    pub created: String,
    /// The error message of a failure, or the result.
    pub message: Option<String>,
}

impl From<&JobRecord> for JobSummary {
    fn from(job: &JobRecord) -> Self {
        JobSummary {
            id: job.id.0,
            name: job.name.clone(),
            description: job.description.clone(),
            state: job.state.as_str().to_owned(),
            channel: job.channel.clone(),
            priority: job.priority,
            retry: job.retry,
            max_retries: job.max_retries,
            eta: job.eta.map(rfc3339),
            created: rfc3339(job.date_created),
            message: job.exc_message.clone().or_else(|| job.result.clone()),
        }
    }
}

/// A page of jobs, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobList {
    /// The jobs.
    pub jobs: Vec<JobSummary>,
    /// Pass as `before` for the next page; absent on the last one.
    pub next_before: Option<i64>,
}

/// One entry of a job's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryItem {
    /// When (RFC 3339).
    pub at: String,
    /// The state the job went to.
    pub state: String,
    /// The attempt.
    pub attempt: i64,
    /// The worker, for attempt outcomes.
    pub worker_id: Option<String>,
    /// The result or error message.
    pub message: Option<String>,
}

impl From<HistoryRecord> for HistoryItem {
    fn from(h: HistoryRecord) -> Self {
        HistoryItem {
            at: rfc3339(h.at),
            state: h.state.as_str().to_owned(),
            attempt: h.attempt,
            worker_id: h.worker_id,
            message: h.message,
        }
    }
}

/// Everything about one job.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobDetail {
    /// What the list shows.
    #[serde(flatten)]
    pub summary: JobSummary,
    /// The arguments, secret-looking values redacted.
    #[schema(value_type = Object)]
    pub args: Value,
    /// Counted tries left (absent when retried forever).
    pub retries_left: Option<u32>,
    /// Claims so far.
    pub attempt: i64,
    /// The identity key.
    pub identity_key: Option<String>,
    /// The graph.
    pub graph_id: Option<String>,
    /// The worker holding the lease.
    pub worker_id: Option<String>,
    /// The error kind of a failure.
    pub exc_name: Option<String>,
    /// The error chain of a failure.
    pub exc_info: Option<String>,
    /// The result message.
    pub result: Option<String>,
    /// Started (RFC 3339).
    pub started: Option<String>,
    /// Done (RFC 3339).
    pub done: Option<String>,
    /// Failed (RFC 3339).
    pub failed: Option<String>,
    /// The jobs it waits for.
    pub parents: Vec<i64>,
    /// The jobs waiting for it.
    pub children: Vec<i64>,
    /// Attempts and operator actions, oldest first.
    pub history: Vec<HistoryItem>,
    /// The binding search of the record the job is about (a synchronizer's job).
    pub record_link: Option<String>,
}

/// Reads one job with its graph neighbours and history.
pub async fn job_detail(queue: &Queue, id: i64) -> ConsoleResult<JobDetail> {
    let id = JobId(id);
    let job = queue.job(id).await?;
    let (parents, children) = queue.job_dependencies(id).await?;
    let history = queue.job_history(id).await?;
    let args = redact_args(&job.args);
    Ok(JobDetail {
        summary: JobSummary::from(&job),
        args: args.clone(),
        retries_left: (job.max_retries > 0).then(|| job.max_retries.saturating_sub(job.retry)),
        attempt: job.attempt,
        identity_key: job.identity_key,
        graph_id: job.graph_id,
        worker_id: job.worker_id,
        exc_name: job.exc_name,
        exc_info: job.exc_info,
        result: job.result,
        started: job.date_started.map(rfc3339),
        done: job.date_done.map(rfc3339),
        failed: job.date_failed.map(rfc3339),
        parents: parents.into_iter().map(|j| j.0).collect(),
        children: children.into_iter().map(|j| j.0).collect(),
        history: history.into_iter().map(HistoryItem::from).collect(),
        record_link: super::bindings_view::binding_link(&args),
    })
}

/// Reads one page of jobs.
pub async fn job_list(queue: &Queue, params: &JobPageParams) -> ConsoleResult<JobList> {
    let mut query = params.filter().query()?;
    query.before = params.before.map(JobId);
    let page = queue
        .browse_jobs(&query, params.limit.unwrap_or(DEFAULT_PAGE))
        .await?;
    Ok(JobList {
        jobs: page.jobs.iter().map(JobSummary::from).collect(),
        next_before: page.next_before.map(|j| j.0),
    })
}
