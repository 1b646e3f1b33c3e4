//! `GET /api/overview`: how many jobs are in each state.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use sync_core::queue::Queue;
use utoipa::ToSchema;

use crate::console::ConsoleState;
use crate::console::error::ConsoleResult;

/// How many jobs are in one state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StateCount {
    /// The state.
    pub state: String,
    /// How many jobs.
    pub jobs: i64,
}

/// The queue at a glance.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Overview {
    /// Jobs per state (states without jobs are left out).
    pub states: Vec<StateCount>,
}

/// Reads the overview.
pub async fn overview(queue: &Queue) -> ConsoleResult<Overview> {
    let states = queue
        .count_by_state()
        .await?
        .into_iter()
        .map(|(state, jobs)| StateCount {
            state: state.as_str().to_owned(),
            jobs,
        })
        .collect();
    Ok(Overview { states })
}

/// The queue at a glance.
#[utoipa::path(get, path = "/api/overview", responses(
    (status = 200, body = Overview),
    (status = 401, body = crate::console::error::ErrorBody)
))]
pub async fn get_overview(State(state): State<ConsoleState>) -> ConsoleResult<Json<Overview>> {
    Ok(Json(overview(&state.queue).await?))
}
