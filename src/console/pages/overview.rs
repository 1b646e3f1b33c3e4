//! The Overview page: jobs per state and the latest failures.

use askama::Template;
use axum::extract::{Extension, State};
use axum::response::Html;
use sync_core::queue::{JobQuery, JobState};

use super::{PageContext, render};
use crate::console::ConsoleState;
use crate::console::api::{Overview, overview};
use crate::console::auth::Principal;
use crate::console::error::ConsoleResult;
use crate::console::jobs_view::JobSummary;

/// How many failures the page lists.
const LATEST_FAILURES: u32 = 10;

#[derive(Template)]
#[template(path = "console/overview.html")]
struct OverviewPage {
    actor: String,
    csrf: String,
    overview: Overview,
    failures: Vec<JobSummary>,
}

/// `GET /`.
pub async fn page(
    State(state): State<ConsoleState>,
    Extension(principal): Extension<Principal>,
) -> ConsoleResult<Html<String>> {
    let context = PageContext::from(&principal);
    let counts = overview(&state.queue).await?;
    let failed = JobQuery {
        states: vec![JobState::Failed],
        ..JobQuery::default()
    };
    let failures = state.queue.browse_jobs(&failed, LATEST_FAILURES).await?;
    render(&OverviewPage {
        actor: context.actor,
        csrf: context.csrf,
        overview: counts,
        failures: failures.jobs.iter().map(JobSummary::from).collect(),
    })
}
