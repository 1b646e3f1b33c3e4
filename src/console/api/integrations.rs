//! `/api/integrations`: the integrations with their connectors' status rows and recent
//! executions (counters, failures, warning reasons).

use axum::Json;
use axum::extract::State;

use crate::console::ConsoleState;
use crate::console::error::{ConsoleResult, ErrorBody};
use crate::console::integrations_view::{IntegrationView, integration_list};

/// Every integration, with its newest status rows and executions.
#[utoipa::path(get, path = "/api/integrations", responses(
    (status = 200, body = Vec<IntegrationView>),
    (status = 401, body = ErrorBody)
))]
pub async fn list_integrations(
    State(state): State<ConsoleState>,
) -> ConsoleResult<Json<Vec<IntegrationView>>> {
    Ok(Json(integration_list(state.queue.storage()).await?))
}
