//! Every import cursor at once, for an operator's view of the backends (the batch imports
//! themselves read one cursor at a time through [`ImportCursors`](super::ImportCursors)),
//! each with the schedule of its batch import (from [`Schedules`](super::Schedules)). A
//! model that is scheduled but never ran is listed too, with no window start.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::connect::Storage;
use super::time::from_micros;
use crate::error::SyncResult;
use crate::ids::BackendId;

/// One stored import cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportCursor {
    /// The backend.
    pub backend_id: BackendId,
    /// The model.
    pub model: String,
    /// The start of the next run's window (`None`: the next run imports everything).
    pub since: Option<DateTime<Utc>>,
    /// How often it runs, when scheduled.
    pub every: Option<Duration>,
    /// When it runs next, when scheduled.
    pub next_run_at: Option<DateTime<Utc>>,
    /// When it last ran.
    pub last_run_at: Option<DateTime<Utc>>,
}

type CursorRow = (
    i64,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

impl Storage {
    /// Every import cursor and every scheduled batch import, by backend then model.
    pub async fn list_import_cursors(&self) -> SyncResult<Vec<ImportCursor>> {
        let rows: Vec<CursorRow> = sqlx::query_as(
            "SELECT c.backend_id, c.model, c.since, s.every_secs, s.next_run_at, c.last_run_at \
             FROM sync_import_cursors c \
             LEFT JOIN sync_schedules s \
               ON s.kind = 'import' AND s.backend_id = c.backend_id AND s.model = c.model \
             UNION ALL \
             SELECT s.backend_id, s.model, NULL, s.every_secs, s.next_run_at, NULL \
             FROM sync_schedules s \
             WHERE s.kind = 'import' AND NOT EXISTS (SELECT 1 FROM sync_import_cursors c \
               WHERE c.backend_id = s.backend_id AND c.model = s.model) \
             ORDER BY 1, 2",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(backend_id, model, since, every, next, last)| ImportCursor {
                    backend_id: BackendId(backend_id),
                    model,
                    since: since.map(from_micros),
                    every: every
                        .and_then(|s| u64::try_from(s).ok())
                        .map(Duration::from_secs),
                    next_run_at: next.map(from_micros),
                    last_run_at: last.map(from_micros),
                },
            )
            .collect())
    }
}
