//! The Checkpoints pages (Sync): the checkpoints to review, and one checkpoint; a conflict
//! shows base / local / remote per field with a choice of side per field, posted as a plain
//! form (`side:<field>` = `local` or `remote`).

use askama::Template;
use axum::Form;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{Html, IntoResponse, Response};

use super::{PageContext, render};
use crate::console::ConsoleState;
use crate::console::auth::Principal;
use crate::console::checkpoints_view::{
    CheckpointParams, CheckpointView, ConflictFieldView, FieldChoiceBody, ReviewRequest,
    checkpoint_detail, checkpoint_list, review_checkpoint,
};
use crate::console::error::{ConsoleError, ConsoleResult};

#[derive(Template)]
#[template(path = "console/checkpoints.html")]
struct CheckpointsPage {
    actor: String,
    csrf: String,
    state: String,
    checkpoints: Vec<CheckpointView>,
    next_link: Option<String>,
}

/// `GET /checkpoints`.
pub async fn list(
    State(state): State<ConsoleState>,
    Extension(principal): Extension<Principal>,
    params: Result<Query<CheckpointParams>, axum::extract::rejection::QueryRejection>,
) -> ConsoleResult<Html<String>> {
    let Query(params) = params.map_err(|e| ConsoleError::bad_request(e.body_text()))?;
    let context = PageContext::from(&principal);
    let page = checkpoint_list(&state.app, &params).await?;
    let shown = params
        .state
        .clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "need_review".to_owned());
    let next_link = page
        .next_before
        .map(|before| format!("/checkpoints?state={shown}&before={before}"));
    render(&CheckpointsPage {
        actor: context.actor,
        csrf: context.csrf,
        state: shown,
        checkpoints: page.checkpoints,
        next_link,
    })
}

/// One conflict field as the page shows it.
struct FieldRow {
    field: String,
    base: String,
    local: String,
    remote: String,
}

#[derive(Template)]
#[template(path = "console/checkpoint.html")]
struct CheckpointPage {
    actor: String,
    csrf: String,
    is_admin: bool,
    checkpoint: CheckpointView,
    fields: Vec<FieldRow>,
}

/// `GET /checkpoints/{id}`.
pub async fn detail(
    State(state): State<ConsoleState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
) -> ConsoleResult<Html<String>> {
    let Path(id) =
        id.map_err(|_| ConsoleError::bad_request("the checkpoint id must be a number"))?;
    let context = PageContext::from(&principal);
    let checkpoint = checkpoint_detail(&state.app, id).await?;
    let fields = checkpoint
        .conflicts
        .iter()
        .map(|f| FieldRow {
            field: f.field.clone(),
            base: ConflictFieldView::shown(&f.base),
            local: ConflictFieldView::shown(&f.local),
            remote: ConflictFieldView::shown(&f.remote),
        })
        .collect();
    render(&CheckpointPage {
        actor: context.actor,
        csrf: context.csrf,
        is_admin: context.is_admin,
        checkpoint,
        fields,
    })
}

/// `POST /checkpoints/{id}/review`: the CSRF token and one `side:<field>` per field in
/// conflict; back to the checkpoint.
pub async fn review(
    State(state): State<ConsoleState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> ConsoleResult<Response> {
    // Who may act is checked before the form is read.
    if principal.role != crate::console::Role::Admin {
        return Err(ConsoleError::read_only());
    }
    let Path(id) =
        id.map_err(|_| ConsoleError::bad_request("the checkpoint id must be a number"))?;
    let Form(pairs) = form.map_err(|e| ConsoleError::bad_request(e.body_text()))?;
    let mut csrf = None;
    let mut choices = Vec::new();
    for (key, value) in pairs {
        if key == "csrf" {
            csrf = Some(value);
        } else if let Some(field) = key.strip_prefix("side:") {
            choices.push(FieldChoiceBody {
                field: field.to_owned(),
                side: value,
            });
        }
    }
    review_checkpoint(
        &state.app,
        &principal,
        csrf.as_deref(),
        id,
        &ReviewRequest { choices },
    )
    .await?;
    Ok((
        StatusCode::SEE_OTHER,
        [(LOCATION, format!("/checkpoints/{id}"))],
    )
        .into_response())
}
