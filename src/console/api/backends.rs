//! `GET /api/backends`: the backends with their import cursors.

use axum::Json;
use axum::extract::State;

use crate::console::ConsoleState;
use crate::console::backends_view::{BackendView, backend_list};
use crate::console::error::{ConsoleResult, ErrorBody};

/// Every backend, with its import cursors per model.
#[utoipa::path(get, path = "/api/backends", responses(
    (status = 200, body = Vec<BackendView>),
    (status = 401, body = ErrorBody)
))]
pub async fn list_backends(
    State(state): State<ConsoleState>,
) -> ConsoleResult<Json<Vec<BackendView>>> {
    Ok(Json(backend_list(&state.queue).await?))
}
