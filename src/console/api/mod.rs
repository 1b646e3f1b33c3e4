//! The JSON API under `/api`, which the pages use and scripts can call, and its OpenAPI
//! document at `/api/openapi.json`.

mod audit;
mod backends;
mod bindings;
mod checkpoints;
mod events;
mod integrations;
mod jobs;
mod overview;

use axum::Json;
use axum::Router;
use axum::routing::{get, post};
use utoipa::OpenApi;

use super::ConsoleState;

pub use overview::{ChannelCount, Overview, PendingSince, StateCount, WorkerLease, overview};

/// The OpenAPI document of the console's API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Synckit console API",
        description = "The operator console's JSON API. Every route needs \
            `Authorization: Bearer <token>` (SYNCKIT_CONSOLE_TOKEN for admin, \
            SYNCKIT_CONSOLE_READ_TOKEN for read-only); actions need the admin token. \
            Errors answer `{\"error\": \"…\"}`."
    ),
    paths(
        overview::get_overview,
        events::events,
        jobs::list_jobs,
        jobs::get_job,
        jobs::post_job_action,
        audit::list_audit,
        backends::list_backends,
        bindings::search_bindings,
        integrations::list_integrations,
        checkpoints::list_checkpoints,
        checkpoints::get_checkpoint,
        checkpoints::post_review
    ),
    components(schemas(
        crate::console::error::ErrorBody,
        crate::console::jobs_view::JobList,
        crate::console::jobs_view::JobSummary,
        crate::console::jobs_view::JobDetail,
        crate::console::jobs_view::HistoryItem,
        crate::console::jobs_view::JobFilterParams,
        crate::console::actions::JobActionKind,
        crate::console::actions::JobActionRequest,
        crate::console::actions::JobActionResult,
        crate::console::audit::AuditEntry,
        crate::console::backends_view::BackendView,
        crate::console::backends_view::CursorView,
        crate::console::bindings_view::BindingView,
        crate::console::integrations_view::IntegrationView,
        crate::console::integrations_view::StatusView,
        crate::console::integrations_view::ExecutionView,
        crate::console::integrations_view::StepView,
        crate::console::integrations_view::CountersView,
        crate::console::bindings_view::BindingSearchParams,
        crate::console::checkpoints_view::CheckpointList,
        crate::console::checkpoints_view::CheckpointView,
        crate::console::checkpoints_view::ConflictFieldView,
        crate::console::checkpoints_view::ReviewRequest,
        crate::console::checkpoints_view::FieldChoiceBody,
        crate::console::checkpoints_view::ReviewResult,
        overview::Overview,
        overview::StateCount,
        overview::ChannelCount,
        overview::PendingSince,
        overview::WorkerLease
    ))
)]
pub struct ApiDoc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// The API's routes.
pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/api/overview", get(overview::get_overview))
        .route("/api/events", get(events::events))
        .route("/api/jobs", get(jobs::list_jobs))
        .route("/api/jobs/actions", post(jobs::post_job_action))
        .route("/api/jobs/{id}", get(jobs::get_job))
        .route("/api/audit", get(audit::list_audit))
        .route("/api/backends", get(backends::list_backends))
        .route("/api/bindings", get(bindings::search_bindings))
        .route("/api/integrations", get(integrations::list_integrations))
        .route("/api/checkpoints", get(checkpoints::list_checkpoints))
        .route("/api/checkpoints/{id}", get(checkpoints::get_checkpoint))
        .route(
            "/api/checkpoints/{id}/review",
            post(checkpoints::post_review),
        )
}
