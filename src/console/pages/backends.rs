//! The Backends page (Sync): each backend, enabled or not, its version and its import
//! cursors with their next window.

use askama::Template;
use axum::extract::{Extension, State};
use axum::response::Html;

use super::{PageContext, render};
use crate::console::ConsoleState;
use crate::console::auth::Principal;
use crate::console::backends_view::{BackendView, backend_list};
use crate::console::error::ConsoleResult;

#[derive(Template)]
#[template(path = "console/backends.html")]
struct BackendsPage {
    actor: String,
    csrf: String,
    backends: Vec<BackendView>,
}

/// `GET /backends`.
pub async fn page(
    State(state): State<ConsoleState>,
    Extension(principal): Extension<Principal>,
) -> ConsoleResult<Html<String>> {
    let context = PageContext::from(&principal);
    render(&BackendsPage {
        actor: context.actor,
        csrf: context.csrf,
        backends: backend_list(&state.queue).await?,
    })
}
