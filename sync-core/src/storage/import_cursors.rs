//! Where each (backend, model) batch import resumes, and its schedule.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::connect::Storage;
use super::time::{from_micros, to_micros};
use crate::error::{SyncError, SyncResult};
use crate::ids::BackendId;
use crate::sync::KeysetPosition;

/// The import cursors of a [`Storage`]; get them with [`Storage::import_cursors`].
///
/// A batch import reads its window's start here and moves it after a run that settled its
/// whole window ([`BatchImportReport::next_since`](crate::sync::BatchImportReport)), so an
/// interrupted run is resumed from where it stopped, never from "now": within the window,
/// the position of the last settled page is kept ([`ImportCursors::save_progress`]).
#[derive(Debug, Clone, Copy)]
pub struct ImportCursors<'s> {
    storage: &'s Storage,
}

/// A window a batch import opened and did not settle yet (a run stopped inside it), as
/// [`ImportCursors::open_window`] returns it: the next run finishes it first.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenWindow {
    /// The window's start (`None`: everything).
    pub since: Option<DateTime<Utc>>,
    /// The window's end (exclusive).
    pub until: DateTime<Utc>,
    /// The keyset position of the last page whose records all settled; `None` when no page
    /// did yet.
    pub position: Option<KeysetPosition>,
}

/// `since`, `window_until`, `position_updated`, `position_id` of a cursor row.
type CursorRow = (Option<i64>, Option<i64>, Option<String>, Option<String>);

/// A batch import due to run, as [`ImportCursors::claim_due`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueImport {
    /// The backend.
    pub backend_id: BackendId,
    /// The model.
    pub model: String,
}

impl Storage {
    /// The import cursors table.
    pub fn import_cursors(&self) -> ImportCursors<'_> {
        ImportCursors { storage: self }
    }
}

impl ImportCursors<'_> {
    /// The start of the next window of `model` on `backend_id`; `None` to import everything.
    pub async fn since(
        &self,
        backend_id: BackendId,
        model: &str,
    ) -> SyncResult<Option<DateTime<Utc>>> {
        let row: Option<(Option<i64>,)> = sqlx::query_as(
            "SELECT since FROM sync_import_cursors WHERE backend_id = $1 AND model = $2",
        )
        .bind(backend_id.0)
        .bind(model)
        .fetch_optional(self.storage.pool())
        .await?;
        Ok(row.and_then(|(since,)| since).map(from_micros))
    }

    /// The window a run of `model` on `backend_id` opened and did not settle, if any.
    pub async fn open_window(
        &self,
        backend_id: BackendId,
        model: &str,
    ) -> SyncResult<Option<OpenWindow>> {
        let row: Option<CursorRow> = sqlx::query_as(
            "SELECT since, window_until, position_updated, position_id FROM sync_import_cursors \
                 WHERE backend_id = $1 AND model = $2",
        )
        .bind(backend_id.0)
        .bind(model)
        .fetch_optional(self.storage.pool())
        .await?;
        let Some((since, Some(until), updated, id)) = row else {
            return Ok(None);
        };
        let position = match (updated, id) {
            (Some(updated), Some(id)) => {
                let id = serde_json::from_str(&id).map_err(|e| {
                    SyncError::invalid_data(
                        format!("import cursor of {model} on backend {backend_id}"),
                        "position_id",
                        e.to_string(),
                    )
                })?;
                Some(KeysetPosition { updated, id })
            }
            _ => None,
        };
        Ok(Some(OpenWindow {
            since: since.map(from_micros),
            until: from_micros(until),
            position,
        }))
    }

    /// Records how far a run got in its window `[window.since, window.until)`: its records up
    /// to `window.position` all settled. The cursor's start becomes the window's (the same,
    /// except for a full run, whose window has none).
    pub async fn save_progress(
        &self,
        backend_id: BackendId,
        model: &str,
        window: &OpenWindow,
    ) -> SyncResult<()> {
        let (updated, id) = match &window.position {
            Some(position) => (
                Some(position.updated.clone()),
                Some(position.id.to_string()),
            ),
            None => (None, None),
        };
        sqlx::query(
            "INSERT INTO sync_import_cursors (backend_id, model, since, window_until, position_updated, position_id, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (backend_id, model) DO UPDATE SET since = excluded.since, window_until = excluded.window_until, \
             position_updated = excluded.position_updated, position_id = excluded.position_id, \
             updated_at = excluded.updated_at",
        )
        .bind(backend_id.0)
        .bind(model)
        .bind(window.since.map(to_micros))
        .bind(to_micros(window.until))
        .bind(updated)
        .bind(id)
        .bind(to_micros(Utc::now()))
        .execute(self.storage.pool())
        .await?;
        Ok(())
    }

    /// Moves the cursor to `since` after a run that settled its whole window (and records the
    /// run's time); the window's progress is cleared.
    pub async fn advance(
        &self,
        backend_id: BackendId,
        model: &str,
        since: Option<DateTime<Utc>>,
    ) -> SyncResult<()> {
        let now = to_micros(Utc::now());
        sqlx::query(
            "INSERT INTO sync_import_cursors (backend_id, model, since, last_run_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (backend_id, model) DO UPDATE SET since = excluded.since, \
             last_run_at = excluded.last_run_at, updated_at = excluded.updated_at, \
             window_until = NULL, position_updated = NULL, position_id = NULL",
        )
        .bind(backend_id.0)
        .bind(model)
        .bind(since.map(to_micros))
        .bind(now)
        .execute(self.storage.pool())
        .await?;
        Ok(())
    }

    /// Runs the import of `model` on `backend_id` every `every`, the first time at the next
    /// tick. The cursor is kept.
    pub async fn schedule(
        &self,
        backend_id: BackendId,
        model: &str,
        every: Duration,
    ) -> SyncResult<()> {
        let now = to_micros(Utc::now());
        let every = i64::try_from(every.as_secs().max(1)).unwrap_or(i64::MAX);
        sqlx::query(
            "INSERT INTO sync_import_cursors (backend_id, model, every_secs, next_run_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (backend_id, model) DO UPDATE SET every_secs = excluded.every_secs, \
             next_run_at = excluded.next_run_at, updated_at = excluded.updated_at",
        )
        .bind(backend_id.0)
        .bind(model)
        .bind(every)
        .bind(now)
        .execute(self.storage.pool())
        .await?;
        Ok(())
    }

    /// Stops running the import of `model` periodically (the cursor is kept).
    pub async fn unschedule(&self, backend_id: BackendId, model: &str) -> SyncResult<()> {
        sqlx::query(
            "UPDATE sync_import_cursors SET every_secs = NULL, next_run_at = NULL, updated_at = $3 \
             WHERE backend_id = $1 AND model = $2",
        )
        .bind(backend_id.0)
        .bind(model)
        .bind(to_micros(Utc::now()))
        .execute(self.storage.pool())
        .await?;
        Ok(())
    }

    /// The scheduled imports due now, each moved to its next run in the same statement: two
    /// workers ticking at once do not both get one.
    pub async fn claim_due(&self) -> SyncResult<Vec<DueImport>> {
        let now = to_micros(Utc::now());
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "UPDATE sync_import_cursors SET next_run_at = $1 + every_secs * 1000000, updated_at = $1 \
             WHERE every_secs IS NOT NULL AND next_run_at <= $1 RETURNING backend_id, model",
        )
        .bind(now)
        .fetch_all(self.storage.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(backend_id, model)| DueImport {
                backend_id: BackendId(backend_id),
                model,
            })
            .collect())
    }
}
