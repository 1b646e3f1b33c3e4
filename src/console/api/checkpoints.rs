//! `/api/checkpoints`: the checkpoints to review, one checkpoint with its conflict fields,
//! and the review (a side per field for a conflict).

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::HeaderMap;

use super::jobs::CSRF_HEADER;
use crate::console::ConsoleState;
use crate::console::auth::Principal;
use crate::console::checkpoints_view::{
    CheckpointList, CheckpointParams, CheckpointView, ReviewRequest, ReviewResult,
    checkpoint_detail, checkpoint_list, review_checkpoint,
};
use crate::console::error::{ConsoleError, ConsoleResult, ErrorBody};

/// A page of checkpoints, newest first (by default those still to review).
#[utoipa::path(get, path = "/api/checkpoints", params(CheckpointParams), responses(
    (status = 200, body = CheckpointList),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody)
))]
pub async fn list_checkpoints(
    State(state): State<ConsoleState>,
    params: Result<Query<CheckpointParams>, axum::extract::rejection::QueryRejection>,
) -> ConsoleResult<Json<CheckpointList>> {
    let Query(params) = params.map_err(|e| ConsoleError::bad_request(e.body_text()))?;
    Ok(Json(checkpoint_list(&state.app, &params).await?))
}

/// One checkpoint; a conflict lists base, local and remote per field.
#[utoipa::path(get, path = "/api/checkpoints/{id}",
    params(("id" = i64, Path, description = "The checkpoint id")),
    responses(
        (status = 200, body = CheckpointView),
        (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody)
    ))]
pub async fn get_checkpoint(
    State(state): State<ConsoleState>,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
) -> ConsoleResult<Json<CheckpointView>> {
    let Path(id) =
        id.map_err(|_| ConsoleError::bad_request("the checkpoint id must be a number"))?;
    Ok(Json(checkpoint_detail(&state.app, id).await?))
}

/// Reviews a checkpoint (admin): a conflict needs one side (`local` or `remote`) per field,
/// written through the record flows; any other checkpoint takes no choices.
#[utoipa::path(post, path = "/api/checkpoints/{id}/review", request_body = ReviewRequest,
    params(("id" = i64, Path, description = "The checkpoint id")),
    responses(
        (status = 200, body = ReviewResult),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "read-only token, or a session without its CSRF token"),
        (status = 404, body = ErrorBody)
    ))]
pub async fn post_review(
    State(state): State<ConsoleState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
    body: Result<Json<ReviewRequest>, axum::extract::rejection::JsonRejection>,
) -> ConsoleResult<Json<ReviewResult>> {
    let csrf = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    principal.authorize_action(csrf)?;
    let Path(id) =
        id.map_err(|_| ConsoleError::bad_request("the checkpoint id must be a number"))?;
    let Json(request) = body.map_err(|e| ConsoleError::bad_request(e.body_text()))?;
    Ok(Json(
        review_checkpoint(&state.app, &principal, csrf, id, &request).await?,
    ))
}
