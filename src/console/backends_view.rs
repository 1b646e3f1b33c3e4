//! The backends as the console shows them: kind, version, enabled flag, settings (secret-
//! looking keys redacted; the backend's `Secrets` are never read), and the import cursors
//! per model with their next window.

use serde::Serialize;
use serde_json::Value;
use sync_core::queue::Queue;
use utoipa::ToSchema;

use super::audit::rfc3339;
use super::error::ConsoleResult;
use super::redact::redact;

/// Where a model's batch import of a backend resumes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CursorView {
    /// The model.
    pub model: String,
    /// The start of the next window (RFC 3339); absent: everything is imported.
    pub next_window_since: Option<String>,
    /// The period in seconds, when scheduled.
    pub every_secs: Option<u64>,
    /// The next scheduled run (RFC 3339).
    pub next_run_at: Option<String>,
    /// The last run (RFC 3339).
    pub last_run_at: Option<String>,
}

/// A backend.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BackendView {
    /// The id.
    pub id: i64,
    /// The name.
    pub name: String,
    /// The kind, e.g. `magento`.
    pub kind: String,
    /// The version, e.g. `2.4`.
    pub version: Option<String>,
    /// Whether it syncs.
    pub enabled: bool,
    /// The non-secret settings (secret-looking keys redacted all the same).
    #[schema(value_type = Object)]
    pub settings: Value,
    /// The import cursors, by model.
    pub cursors: Vec<CursorView>,
}

/// Reads every backend with its cursors.
pub async fn backend_list(queue: &Queue) -> ConsoleResult<Vec<BackendView>> {
    let storage = queue.storage();
    let cursors = storage.list_import_cursors().await?;
    let backends = storage.backends().list().await?;
    Ok(backends
        .into_iter()
        .map(|b| BackendView {
            id: b.id.0,
            cursors: cursors
                .iter()
                .filter(|c| c.backend_id == b.id)
                .map(|c| CursorView {
                    model: c.model.clone(),
                    next_window_since: c.since.map(rfc3339),
                    every_secs: c.every.map(|d| d.as_secs()),
                    next_run_at: c.next_run_at.map(rfc3339),
                    last_run_at: c.last_run_at.map(rfc3339),
                })
                .collect(),
            name: b.name,
            kind: b.kind,
            version: b.version,
            enabled: b.enabled,
            settings: redact(&b.settings),
        })
        .collect())
}
