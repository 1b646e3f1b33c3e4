//! The Audit page: who did what through the console, and when.

use askama::Template;
use axum::extract::{Extension, State};
use axum::response::Html;

use super::{PageContext, render};
use crate::console::ConsoleState;
use crate::console::audit::{AuditEntry, recent};
use crate::console::auth::Principal;
use crate::console::error::ConsoleResult;

/// How many actions the page lists.
const AUDIT_PAGE: u32 = 200;

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    actor: String,
    csrf: String,
    entries: Vec<AuditEntry>,
}

/// `GET /audit`.
pub async fn page(
    State(state): State<ConsoleState>,
    Extension(principal): Extension<Principal>,
) -> ConsoleResult<Html<String>> {
    let context = PageContext::from(&principal);
    render(&AuditPage {
        actor: context.actor,
        csrf: context.csrf,
        entries: recent(state.queue.storage(), AUDIT_PAGE).await?,
    })
}
