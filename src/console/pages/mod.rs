//! The console's server-rendered pages (askama templates under `templates/console/`), one
//! file per page. Pages work without script: filters are plain GET forms, actions plain
//! POST forms carrying the CSRF token; the Overview adds a small script of the console's
//! own that follows `/api/events` (live updates).

mod assets;
mod audit;
mod backends;
mod bindings;
mod checkpoints;
mod integrations;
mod jobs;
mod login;
mod overview;

use askama::Template;
use axum::Router;
use axum::response::Html;
use axum::routing::{get, post};

use super::ConsoleState;
use super::auth::Principal;
use super::error::{ConsoleError, ConsoleResult};

/// What the layout of every page shows: who is signed in, and the CSRF token its forms
/// carry.
#[derive(Debug, Clone)]
pub struct PageContext {
    /// Who, e.g. `admin (signed-in session)`.
    pub actor: String,
    /// The CSRF token of the forms (empty for bearer callers, who need none).
    pub csrf: String,
    /// Whether actions are shown.
    pub is_admin: bool,
}

impl From<&Principal> for PageContext {
    fn from(principal: &Principal) -> Self {
        PageContext {
            actor: principal.actor(),
            csrf: principal.csrf.clone().unwrap_or_default(),
            is_admin: principal.role == super::Role::Admin,
        }
    }
}

/// Renders a page.
///
/// # Errors
/// 500 when the template fails (a bug, logged).
pub fn render(page: &impl Template) -> ConsoleResult<Html<String>> {
    page.render().map(Html).map_err(|error| {
        tracing::error!(%error, "console: a page failed to render");
        ConsoleError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "the page failed to render; see the server log",
        )
    })
}

/// The pages' routes.
pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/", get(overview::page))
        .route("/login", get(login::form).post(login::sign_in))
        .route("/logout", post(login::sign_out))
        .route("/jobs", get(jobs::list))
        .route("/jobs/actions", post(jobs::action))
        .route("/jobs/{id}", get(jobs::detail))
        .route("/audit", get(audit::page))
        .route("/backends", get(backends::page))
        .route("/bindings", get(bindings::page))
        .route("/integrations", get(integrations::page))
        .route("/checkpoints", get(checkpoints::list))
        .route("/checkpoints/{id}", get(checkpoints::detail))
        .route("/checkpoints/{id}/review", post(checkpoints::review))
        .route("/assets/overview.js", get(assets::overview_js))
}
