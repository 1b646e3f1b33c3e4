//! Checkpoints: records a human must review after a sync.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::connect::Storage;
use super::time::{from_micros, to_micros};
use crate::error::{SyncError, SyncResult};
use crate::ids::{BackendId, LocalId};

/// Whether a checkpoint still needs a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointState {
    /// Waiting for a human.
    NeedReview,
    /// Looked at.
    Reviewed,
}

impl CheckpointState {
    fn as_str(self) -> &'static str {
        match self {
            CheckpointState::NeedReview => "need_review",
            CheckpointState::Reviewed => "reviewed",
        }
    }
}

/// A record to review, e.g. a product created by an import that needs a price.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The row id.
    pub id: i64,
    /// The backend the sync ran for.
    pub backend_id: BackendId,
    /// The local model of the record.
    pub model: String,
    /// The local record.
    pub record_id: LocalId,
    /// What to review.
    pub message: String,
    /// Whether it was reviewed.
    pub state: CheckpointState,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was reviewed.
    pub reviewed_at: Option<DateTime<Utc>>,
}

/// Which checkpoints to list.
#[derive(Debug, Clone, Default)]
pub struct CheckpointFilter {
    /// Only this state.
    pub state: Option<CheckpointState>,
    /// Only this backend.
    pub backend_id: Option<BackendId>,
    /// Only this model.
    pub model: Option<String>,
}

/// The checkpoints in a [`Storage`]; get them with [`Storage::checkpoints`].
#[derive(Debug, Clone, Copy)]
pub struct Checkpoints<'s> {
    storage: &'s Storage,
}

impl Storage {
    /// The checkpoints table.
    pub fn checkpoints(&self) -> Checkpoints<'_> {
        Checkpoints { storage: self }
    }
}

impl Checkpoints<'_> {
    /// Adds a checkpoint, on `conn` so that it commits with the sync that raised it.
    pub async fn add(
        &self,
        conn: &mut AnyConnection,
        backend_id: BackendId,
        model: &str,
        record_id: LocalId,
        message: &str,
    ) -> SyncResult<i64> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO sync_checkpoints (backend_id, model, record_id, message, state, created_at) \
             VALUES ($1, $2, $3, $4, 'need_review', $5) RETURNING id",
        )
        .bind(backend_id.0)
        .bind(model)
        .bind(record_id.0)
        .bind(message)
        .bind(to_micros(Utc::now()))
        .fetch_one(conn)
        .await?;
        Ok(id)
    }

    /// Checkpoints matching `filter`, oldest first.
    pub async fn list(&self, filter: &CheckpointFilter) -> SyncResult<Vec<Checkpoint>> {
        let rows = sqlx::query(
            "SELECT id, backend_id, model, record_id, message, state, created_at, reviewed_at \
             FROM sync_checkpoints \
             WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR backend_id = $2) AND ($3 IS NULL OR model = $3) \
             ORDER BY id",
        )
        .bind(filter.state.map(CheckpointState::as_str))
        .bind(filter.backend_id.map(|b| b.0))
        .bind(filter.model.as_deref())
        .fetch_all(self.storage.pool())
        .await?;
        rows.iter().map(checkpoint_from_row).collect()
    }

    /// Marks checkpoints reviewed; returns how many changed.
    pub async fn mark_reviewed(&self, ids: &[i64]) -> SyncResult<u64> {
        let mut changed = 0;
        let mut tx = self.storage.begin().await?;
        let now = to_micros(Utc::now());
        for id in ids {
            let done = sqlx::query(
                "UPDATE sync_checkpoints SET state = 'reviewed', reviewed_at = $1 WHERE id = $2 AND state = 'need_review'",
            )
            .bind(now)
            .bind(*id)
            .execute(&mut *tx)
            .await?;
            changed += done.rows_affected();
        }
        tx.commit().await?;
        Ok(changed)
    }
}

fn checkpoint_from_row(row: &AnyRow) -> SyncResult<Checkpoint> {
    let id: i64 = row.try_get("id")?;
    let state: String = row.try_get("state")?;
    let state = match state.as_str() {
        "need_review" => CheckpointState::NeedReview,
        "reviewed" => CheckpointState::Reviewed,
        other => {
            return Err(SyncError::invalid_data(
                format!("checkpoint {id}"),
                "state",
                format!("unknown state `{other}`"),
            ));
        }
    };
    Ok(Checkpoint {
        id,
        backend_id: BackendId(row.try_get("backend_id")?),
        model: row.try_get("model")?,
        record_id: LocalId(row.try_get("record_id")?),
        message: row.try_get("message")?,
        state,
        created_at: from_micros(row.try_get("created_at")?),
        reviewed_at: row
            .try_get::<Option<i64>, _>("reviewed_at")?
            .map(from_micros),
    })
}
