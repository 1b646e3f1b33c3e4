//! Every import cursor at once, for an operator's view of the backends (the batch imports
//! themselves read one cursor at a time through [`ImportCursors`](super::ImportCursors)).

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
    /// Every import cursor, by backend then model.
    pub async fn list_import_cursors(&self) -> SyncResult<Vec<ImportCursor>> {
        let rows: Vec<CursorRow> = sqlx::query_as(
            "SELECT backend_id, model, since, every_secs, next_run_at, last_run_at \
             FROM sync_import_cursors ORDER BY backend_id, model",
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
