//! The Jobs pages: the filtered list with keyset paging, one job's detail, and the action
//! forms (one job, or every job of the filter).

use askama::Template;
use axum::Form;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::{PageContext, render};
use crate::console::ConsoleState;
use crate::console::actions::{JobActionKind, JobActionRequest, run_job_action};
use crate::console::auth::Principal;
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::jobs_view::{
    JobDetail, JobFilterParams, JobPageParams, JobSummary, job_detail, job_list,
};

#[derive(Template)]
#[template(path = "console/jobs.html")]
struct JobsPage {
    actor: String,
    csrf: String,
    is_admin: bool,
    filter: JobFilterParams,
    jobs: Vec<JobSummary>,
    next_link: Option<String>,
}

/// `GET /jobs`.
pub async fn list(
    State(state): State<ConsoleState>,
    Extension(principal): Extension<Principal>,
    params: Result<Query<JobPageParams>, axum::extract::rejection::QueryRejection>,
) -> ConsoleResult<Html<String>> {
    let Query(params) = params.map_err(|e| ConsoleError::bad_request(e.body_text()))?;
    let context = PageContext::from(&principal);
    let page = job_list(&state.queue, &params).await?;
    let filter = params.filter();
    let next_link = page.next_before.map(|before| {
        let filters = filter.to_query_string();
        let separator = if filters.is_empty() { "" } else { "&" };
        format!("/jobs?{filters}{separator}before={before}")
    });
    render(&JobsPage {
        actor: context.actor,
        csrf: context.csrf,
        is_admin: context.is_admin,
        filter,
        jobs: page.jobs,
        next_link,
    })
}

#[derive(Template)]
#[template(path = "console/job.html")]
struct JobPage {
    actor: String,
    csrf: String,
    is_admin: bool,
    job: JobDetail,
    args: String,
}

/// `GET /jobs/{id}`.
pub async fn detail(
    State(state): State<ConsoleState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
) -> ConsoleResult<Html<String>> {
    let Path(id) = id.map_err(|_| ConsoleError::bad_request("the job id must be a number"))?;
    let context = PageContext::from(&principal);
    let job = job_detail(&state.queue, id).await?;
    let args = serde_json::to_string_pretty(&job.args).unwrap_or_default();
    render(&JobPage {
        actor: context.actor,
        csrf: context.csrf,
        is_admin: context.is_admin,
        job,
        args,
    })
}

/// The fields of an action form: one job (`id`), or the filter (`scope=filter`).
#[derive(Debug, Deserialize)]
pub struct JobActionForm {
    /// What to do.
    pub action: JobActionKind,
    /// The CSRF token of the page.
    #[serde(default)]
    pub csrf: Option<String>,
    /// The job, for a single action.
    #[serde(default)]
    pub id: Option<i64>,
    /// `filter` to act on every job of the filter fields.
    #[serde(default)]
    pub scope: Option<String>,
    /// Filter: states.
    #[serde(default)]
    pub state: Option<String>,
    /// Filter: channel.
    #[serde(default)]
    pub channel: Option<String>,
    /// Filter: job function.
    #[serde(default)]
    pub name: Option<String>,
    /// Filter: text.
    #[serde(default)]
    pub text: Option<String>,
    /// The new priority, for `set_priority` (a form field is text).
    #[serde(default)]
    pub new_priority: Option<String>,
    /// The new ETA, for `set_eta`.
    #[serde(default)]
    pub new_eta: Option<String>,
    /// The new channel, for `set_channel`.
    #[serde(default)]
    pub new_channel: Option<String>,
}

/// `POST /jobs/actions`: runs the action, then back to the job or the filtered list.
pub async fn action(
    State(state): State<ConsoleState>,
    Extension(principal): Extension<Principal>,
    form: Result<Form<JobActionForm>, axum::extract::rejection::FormRejection>,
) -> ConsoleResult<Response> {
    // Who may act is checked before the form is read.
    if principal.role != crate::console::Role::Admin {
        return Err(ConsoleError::read_only());
    }
    let Form(form) = form.map_err(|e| ConsoleError::bad_request(e.body_text()))?;
    let filter = JobFilterParams {
        state: form.state.clone(),
        channel: form.channel.clone(),
        name: form.name.clone(),
        text: form.text.clone(),
    };
    let priority = match form.new_priority.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(text.parse::<i64>().map_err(|_| {
            ConsoleError::bad_request(format!("field `new_priority`: `{text}` is not a number"))
        })?),
    };
    let blank = |action| JobActionRequest {
        action,
        ids: Vec::new(),
        filter: None,
        priority,
        eta: form.new_eta.clone(),
        channel: form.new_channel.clone(),
    };
    let (request, back) = match (form.id, form.scope.as_deref()) {
        (Some(id), _) => (
            JobActionRequest {
                ids: vec![id],
                ..blank(form.action)
            },
            format!("/jobs/{id}"),
        ),
        (None, Some("filter")) => {
            let back = format!("/jobs?{}", filter.to_query_string());
            (
                JobActionRequest {
                    filter: Some(filter),
                    ..blank(form.action)
                },
                back,
            )
        }
        _ => {
            return Err(ConsoleError::bad_request(
                "an action form needs a job `id` or `scope=filter`",
            ));
        }
    };
    run_job_action(&state.queue, &principal, form.csrf.as_deref(), &request).await?;
    Ok((StatusCode::SEE_OTHER, [(LOCATION, back)]).into_response())
}
