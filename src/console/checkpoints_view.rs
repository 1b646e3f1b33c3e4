//! Checkpoints as the console shows them, and the operator's review: a conflict checkpoint
//! lists base / local / remote per field and is settled by picking a side per field
//! ([`sync_core::sync::resolve_conflict`]: the chosen values go through the record flows);
//! any other checkpoint is marked reviewed once looked at. Both are recorded in the audit.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sync_core::App;
use sync_core::storage::{Checkpoint, CheckpointFilter, CheckpointState};
use sync_core::sync::{FieldChoice, Side, resolve_conflict};
use utoipa::{IntoParams, ToSchema};

use super::audit::{self, rfc3339};
use super::auth::Principal;
use super::error::{ConsoleError, ConsoleResult};
use super::redact::{REDACTED, is_secret_key};

/// How many checkpoints a page lists.
const PAGE_SIZE: u32 = 100;

/// One field both sides changed differently.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConflictFieldView {
    /// The local field name.
    pub field: String,
    /// Its value at the last sync (absent: it had none).
    #[schema(value_type = Object)]
    pub base: Option<Value>,
    /// The local value the import found.
    #[schema(value_type = Object)]
    pub local: Option<Value>,
    /// The remote value the import found.
    #[schema(value_type = Object)]
    pub remote: Option<Value>,
}

impl ConflictFieldView {
    /// A value as a page shows it: JSON text, `(none)` when absent.
    pub fn shown(value: &Option<Value>) -> String {
        match value {
            None => "(none)".to_owned(),
            Some(Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
        }
    }
}

/// A checkpoint.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckpointView {
    /// The id.
    pub id: i64,
    /// The backend the sync ran for.
    pub backend_id: i64,
    /// The local model.
    pub model: String,
    /// The binding model, for a conflict.
    pub binding_model: Option<String>,
    /// The local record.
    pub record_id: i64,
    /// What to review.
    pub message: String,
    /// `need_review` or `reviewed`.
    pub state: String,
    /// When it was raised (RFC 3339).
    pub created: String,
    /// When it was reviewed (RFC 3339).
    pub reviewed: Option<String>,
    /// For a conflict: the fields to settle (secret-looking fields redacted).
    pub conflicts: Vec<ConflictFieldView>,
}

impl From<Checkpoint> for CheckpointView {
    fn from(c: Checkpoint) -> Self {
        let hide = |field: &str, value: Option<Value>| match value {
            Some(_) if is_secret_key(field) => Some(Value::from(REDACTED)),
            other => other,
        };
        CheckpointView {
            id: c.id,
            backend_id: c.backend_id.0,
            model: c.model,
            binding_model: c.binding_model,
            record_id: c.record_id.0,
            message: c.message,
            state: c.state.as_str().to_owned(),
            created: rfc3339(c.created_at),
            reviewed: c.reviewed_at.map(rfc3339),
            conflicts: c
                .conflicts
                .into_iter()
                .map(|f| ConflictFieldView {
                    base: hide(&f.field, f.base),
                    local: hide(&f.field, f.local),
                    remote: hide(&f.field, f.remote),
                    field: f.field,
                })
                .collect(),
        }
    }
}

/// The checkpoint list's query: `state=need_review` (the default), `reviewed` or `all`;
/// `before` pages on.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
pub struct CheckpointParams {
    /// `need_review` (default), `reviewed` or `all`.
    pub state: Option<String>,
    /// Only checkpoints with an id below this one.
    pub before: Option<i64>,
}

/// A page of checkpoints, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckpointList {
    /// The checkpoints.
    pub checkpoints: Vec<CheckpointView>,
    /// The `before` of the next page, when there may be one.
    pub next_before: Option<i64>,
}

/// Reads a page of checkpoints.
///
/// # Errors
/// 400 for an unknown state.
pub async fn checkpoint_list(
    app: &App,
    params: &CheckpointParams,
) -> ConsoleResult<CheckpointList> {
    let state = match params.state.as_deref().map(str::trim) {
        None | Some("") | Some("need_review") => Some(CheckpointState::NeedReview),
        Some("reviewed") => Some(CheckpointState::Reviewed),
        Some("all") => None,
        Some(other) => {
            return Err(ConsoleError::bad_request(format!(
                "field `state`: `{other}` is not one of need_review, reviewed, all"
            )));
        }
    };
    let filter = CheckpointFilter {
        state,
        ..CheckpointFilter::default()
    };
    let rows = app
        .storage()
        .checkpoints()
        .list_newest(&filter, params.before, PAGE_SIZE)
        .await?;
    let next_before = (rows.len() == PAGE_SIZE as usize)
        .then(|| rows.last().map(|c| c.id))
        .flatten();
    Ok(CheckpointList {
        checkpoints: rows.into_iter().map(CheckpointView::from).collect(),
        next_before,
    })
}

/// One checkpoint.
///
/// # Errors
/// 404 when there is none with this id.
pub async fn checkpoint_detail(app: &App, id: i64) -> ConsoleResult<CheckpointView> {
    let checkpoint = app.storage().checkpoints().get(id).await?.ok_or_else(|| {
        ConsoleError::new(
            axum::http::StatusCode::NOT_FOUND,
            format!("checkpoint {id} does not exist"),
        )
    })?;
    Ok(checkpoint.into())
}

/// The operator's review of a checkpoint: for a conflict, the side of each field.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct ReviewRequest {
    /// One side per field in conflict (empty for a checkpoint that is not a conflict).
    #[serde(default)]
    pub choices: Vec<FieldChoiceBody>,
}

/// The side an operator picked for one field.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct FieldChoiceBody {
    /// The local field name.
    pub field: String,
    /// `local` or `remote`.
    pub side: String,
}

/// What a review did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewResult {
    /// The fields whose remote value was written locally.
    pub written_locally: Vec<String>,
    /// The fields whose local value an export job sends.
    pub exported: Vec<String>,
    /// That export job.
    pub export_job: Option<i64>,
    /// The checkpoints marked reviewed.
    pub reviewed: Vec<i64>,
}

/// Reviews checkpoint `id` as `principal` (admin, CSRF token for sessions): settles a
/// conflict with the request's choices, or marks any other checkpoint reviewed; records it
/// in the audit log.
///
/// # Errors
/// 403 when not allowed; 404 for an unknown checkpoint; 400 for an unknown side, choices
/// on a checkpoint that is not a conflict, or choices the conflict refuses (named).
pub async fn review_checkpoint(
    app: &App,
    principal: &Principal,
    csrf: Option<&str>,
    id: i64,
    request: &ReviewRequest,
) -> ConsoleResult<ReviewResult> {
    principal.authorize_action(csrf)?;
    let checkpoint = checkpoint_detail(app, id).await?;
    let target = format!(
        "checkpoint {id} ({} {})",
        checkpoint.model, checkpoint.record_id
    );
    if checkpoint.conflicts.is_empty() {
        if !request.choices.is_empty() {
            return Err(ConsoleError::bad_request(format!(
                "checkpoint {id} is not a conflict: it takes no choices"
            )));
        }
        let changed = app.storage().checkpoints().mark_reviewed(&[id]).await?;
        if changed == 0 {
            return Err(ConsoleError::bad_request(format!(
                "checkpoint {id} was already reviewed"
            )));
        }
        audit::record(
            app.storage(),
            &principal.actor(),
            "checkpoints.review",
            &target,
            "reviewed",
        )
        .await?;
        return Ok(ReviewResult {
            written_locally: Vec::new(),
            exported: Vec::new(),
            export_job: None,
            reviewed: vec![id],
        });
    }
    let choices = request
        .choices
        .iter()
        .map(|c| {
            let side = match c.side.trim() {
                "local" => Side::Local,
                "remote" => Side::Remote,
                other => {
                    return Err(ConsoleError::bad_request(format!(
                        "checkpoint {id}, field `{}`: side `{other}` is not local or remote",
                        c.field
                    )));
                }
            };
            Ok(FieldChoice::new(&c.field, side))
        })
        .collect::<ConsoleResult<Vec<_>>>()?;
    let settled = resolve_conflict(app, id, &choices).await?;
    let sides: Vec<String> = request
        .choices
        .iter()
        .map(|c| format!("{}={}", c.field, c.side.trim()))
        .collect();
    let outcome = format!(
        "settled {}; reviewed {}{}",
        sides.join(", "),
        settled
            .reviewed
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        settled
            .export_job
            .map(|job| format!("; export job {job}"))
            .unwrap_or_default()
    );
    audit::record(
        app.storage(),
        &principal.actor(),
        "checkpoints.resolve",
        &target,
        &outcome,
    )
    .await?;
    Ok(ReviewResult {
        written_locally: settled.written_locally,
        exported: settled.exported,
        export_job: settled.export_job.map(|job| job.0),
        reviewed: settled.reviewed,
    })
}
