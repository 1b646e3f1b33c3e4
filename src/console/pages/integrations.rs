//! The Integrations page (Sync): each integration's connectors, status rows and recent
//! executions with their counters, failures and warnings.

use askama::Template;
use axum::extract::{Extension, State};
use axum::response::Html;

use super::{PageContext, render};
use crate::console::ConsoleState;
use crate::console::auth::Principal;
use crate::console::error::ConsoleResult;
use crate::console::integrations_view::{IntegrationView, integration_list};

#[derive(Template)]
#[template(path = "console/integrations.html")]
struct IntegrationsPage {
    actor: String,
    csrf: String,
    integrations: Vec<IntegrationView>,
}

/// `GET /integrations`.
pub async fn page(
    State(state): State<ConsoleState>,
    Extension(principal): Extension<Principal>,
) -> ConsoleResult<Html<String>> {
    let context = PageContext::from(&principal);
    render(&IntegrationsPage {
        actor: context.actor,
        csrf: context.csrf,
        integrations: integration_list(state.queue.storage()).await?,
    })
}
