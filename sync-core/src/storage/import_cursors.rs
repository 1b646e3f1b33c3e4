//! Where each (backend, model) batch import resumes, and its schedule.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::connect::Storage;
use super::time::{from_micros, to_micros};
use crate::error::SyncResult;
use crate::ids::BackendId;

/// The import cursors of a [`Storage`]; get them with [`Storage::import_cursors`].
///
/// A batch import reads its window's start here and moves it after a run in which every
/// record went through ([`BatchImportReport::next_since`](crate::sync::BatchImportReport)),
/// so an interrupted or failed run is resumed from where the last good one ended, never
/// from "now".
#[derive(Debug, Clone, Copy)]
pub struct ImportCursors<'s> {
    storage: &'s Storage,
}

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

    /// Moves the cursor to `since` after a run (and records the run's time).
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
             last_run_at = excluded.last_run_at, updated_at = excluded.updated_at",
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
