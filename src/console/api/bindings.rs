//! `/api/bindings`: bindings found by local id, external id or natural key, with their
//! last synced state.

use axum::Json;
use axum::extract::{Query, State};

use crate::console::ConsoleState;
use crate::console::bindings_view::{BindingSearchParams, BindingView, binding_search};
use crate::console::error::{ConsoleError, ConsoleResult, ErrorBody};

/// Bindings matching a local id, an external id or a natural key (`key=field=value`),
/// newest first; without any of them, none.
#[utoipa::path(get, path = "/api/bindings", params(BindingSearchParams), responses(
    (status = 200, body = Vec<BindingView>),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody)
))]
pub async fn search_bindings(
    State(state): State<ConsoleState>,
    params: Result<Query<BindingSearchParams>, axum::extract::rejection::QueryRejection>,
) -> ConsoleResult<Json<Vec<BindingView>>> {
    let Query(params) = params.map_err(|e| ConsoleError::bad_request(e.body_text()))?;
    Ok(Json(binding_search(state.queue.storage(), &params).await?))
}
