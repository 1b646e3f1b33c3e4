//! The Bindings page (Sync): a search by local id, external id or natural key, each binding
//! with its last sync and the values last synced.

use askama::Template;
use axum::extract::{Extension, Query, State};
use axum::response::Html;

use super::{PageContext, render};
use crate::console::ConsoleState;
use crate::console::auth::Principal;
use crate::console::bindings_view::{BindingSearchParams, BindingView, binding_search};
use crate::console::error::{ConsoleError, ConsoleResult};

/// One binding as the page shows it.
struct Row {
    binding: BindingView,
    synced: String,
}

#[derive(Template)]
#[template(path = "console/bindings.html")]
struct BindingsPage {
    actor: String,
    csrf: String,
    search: BindingSearchParams,
    searched: bool,
    rows: Vec<Row>,
}

/// `GET /bindings`.
pub async fn page(
    State(state): State<ConsoleState>,
    Extension(principal): Extension<Principal>,
    params: Result<Query<BindingSearchParams>, axum::extract::rejection::QueryRejection>,
) -> ConsoleResult<Html<String>> {
    let Query(search) = params.map_err(|e| ConsoleError::bad_request(e.body_text()))?;
    let context = PageContext::from(&principal);
    let rows = binding_search(state.queue.storage(), &search)
        .await?
        .into_iter()
        .map(|binding| Row {
            synced: binding
                .synced
                .as_ref()
                .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
                .unwrap_or_else(|| "(not recorded)".to_owned()),
            binding,
        })
        .collect();
    render(&BindingsPage {
        actor: context.actor,
        csrf: context.csrf,
        searched: !search.is_empty(),
        search,
        rows,
    })
}
