//! `/api/jobs`: the job list with filters and keyset paging, one job, and actions.

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::HeaderMap;

use crate::console::ConsoleState;
use crate::console::actions::{JobActionRequest, JobActionResult, run_job_action};
use crate::console::auth::Principal;
use crate::console::error::{ConsoleError, ConsoleResult, ErrorBody};
use crate::console::jobs_view::{JobDetail, JobList, JobPageParams, job_detail, job_list};

/// The header carrying a signed-in browser's CSRF token on API actions.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A page of jobs, newest first.
#[utoipa::path(get, path = "/api/jobs", params(JobPageParams), responses(
    (status = 200, body = JobList),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody)
))]
pub async fn list_jobs(
    State(state): State<ConsoleState>,
    params: Result<Query<JobPageParams>, axum::extract::rejection::QueryRejection>,
) -> ConsoleResult<Json<JobList>> {
    let Query(params) = params.map_err(|e| ConsoleError::bad_request(e.body_text()))?;
    Ok(Json(job_list(&state.queue, &params).await?))
}

/// One job: arguments (secrets redacted), error chain, graph and history.
#[utoipa::path(get, path = "/api/jobs/{id}", params(("id" = i64, Path, description = "The job id")),
    responses(
        (status = 200, body = JobDetail),
        (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody)
    ))]
pub async fn get_job(
    State(state): State<ConsoleState>,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
) -> ConsoleResult<Json<JobDetail>> {
    let Path(id) = id.map_err(|_| ConsoleError::bad_request("the job id must be a number"))?;
    Ok(Json(job_detail(&state.queue, id).await?))
}

/// Requeue, cancel or set done the listed jobs, or every job matching a filter (admin).
#[utoipa::path(post, path = "/api/jobs/actions", request_body = JobActionRequest, responses(
    (status = 200, body = JobActionResult),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody, description = "read-only token, or a session without its CSRF token")
))]
pub async fn post_job_action(
    State(state): State<ConsoleState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Result<Json<JobActionRequest>, axum::extract::rejection::JsonRejection>,
) -> ConsoleResult<Json<JobActionResult>> {
    let csrf = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    // Who may act is checked before the body is read: a read-only caller learns nothing
    // about what a valid request looks like.
    principal.authorize_action(csrf)?;
    let Json(request) = body.map_err(|e| ConsoleError::bad_request(e.body_text()))?;
    Ok(Json(
        run_job_action(&state.queue, &principal, csrf, &request).await?,
    ))
}
