//! `GET /api/audit`: the latest actions taken through the console.

use axum::Json;
use axum::extract::State;

use crate::console::ConsoleState;
use crate::console::audit::{AuditEntry, recent};
use crate::console::error::{ConsoleResult, ErrorBody};

/// How many entries the audit answers show.
pub const AUDIT_PAGE: u32 = 200;

/// The latest actions, newest first.
#[utoipa::path(get, path = "/api/audit", responses(
    (status = 200, body = Vec<AuditEntry>),
    (status = 401, body = ErrorBody)
))]
pub async fn list_audit(State(state): State<ConsoleState>) -> ConsoleResult<Json<Vec<AuditEntry>>> {
    Ok(Json(recent(state.queue.storage(), AUDIT_PAGE).await?))
}
