//! Checkpoints: records a human must review after a sync.
//!
//! Most checkpoints carry a message only ("this product needs a price"). A *conflict*
//! checkpoint, raised by a two-way import that found fields changed on both sides, also
//! keeps the binding model it ran for and each field's base, local and remote values, so an
//! operator can settle it field by field later
//! ([`resolve_conflict`](crate::sync::resolve_conflict)).

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::connect::Storage;
use super::time::{from_micros, to_micros};
use crate::error::{SyncError, SyncResult};
use crate::ids::{BackendId, LocalId};
use crate::sync::FieldConflict;

/// Whether a checkpoint still needs a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointState {
    /// Waiting for a human.
    NeedReview,
    /// Looked at.
    Reviewed,
}

impl CheckpointState {
    /// The stored name (`need_review`, `reviewed`).
    pub fn as_str(self) -> &'static str {
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
    /// For a conflict: the binding model of the sync that raised it (`model` is the local
    /// model).
    pub binding_model: Option<String>,
    /// For a conflict: the fields left unsettled, with the values the import found.
    pub conflicts: Vec<FieldConflict>,
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

    /// Adds a conflict checkpoint for the fields a two-way import of binding model
    /// `binding_model` left unsettled on local record `record_id` of `model`, on `conn` so
    /// that it commits with the import.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_conflict(
        &self,
        conn: &mut AnyConnection,
        backend_id: BackendId,
        binding_model: &str,
        model: &str,
        record_id: LocalId,
        message: &str,
        conflicts: &[FieldConflict],
    ) -> SyncResult<i64> {
        let details = serde_json::to_string(conflicts).map_err(|e| {
            SyncError::Failed(format!(
                "{model} {record_id}: cannot store the conflict's values: {e}"
            ))
        })?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO sync_checkpoints (backend_id, model, record_id, message, state, created_at, \
             binding_model, conflicts) \
             VALUES ($1, $2, $3, $4, 'need_review', $5, $6, $7) RETURNING id",
        )
        .bind(backend_id.0)
        .bind(model)
        .bind(record_id.0)
        .bind(message)
        .bind(to_micros(Utc::now()))
        .bind(binding_model)
        .bind(details)
        .fetch_one(conn)
        .await?;
        Ok(id)
    }

    /// One checkpoint, `None` when there is none with this id.
    pub async fn get(&self, id: i64) -> SyncResult<Option<Checkpoint>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sync_checkpoints WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.storage.pool())
        .await?;
        row.as_ref().map(checkpoint_from_row).transpose()
    }

    /// The conflict checkpoints still to review for one record of one binding
    /// model, on `conn` (e.g. the transaction settling them).
    pub async fn open_conflicts_of(
        &self,
        conn: &mut AnyConnection,
        backend_id: BackendId,
        binding_model: &str,
        record_id: LocalId,
    ) -> SyncResult<Vec<Checkpoint>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sync_checkpoints WHERE backend_id = $1 AND binding_model = $2 \
             AND record_id = $3 AND state = 'need_review' ORDER BY id"
        )))
        .bind(backend_id.0)
        .bind(binding_model)
        .bind(record_id.0)
        .fetch_all(conn)
        .await?;
        rows.iter().map(checkpoint_from_row).collect()
    }

    /// At most `limit` checkpoints matching `filter`, newest first, below id `before` when
    /// given (keyset paging for a console).
    pub async fn list_newest(
        &self,
        filter: &CheckpointFilter,
        before: Option<i64>,
        limit: u32,
    ) -> SyncResult<Vec<Checkpoint>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sync_checkpoints \
             WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR backend_id = $2) \
             AND ($3 IS NULL OR model = $3) AND ($4 IS NULL OR id < $4) \
             ORDER BY id DESC LIMIT {limit}"
        )))
        .bind(filter.state.map(CheckpointState::as_str))
        .bind(filter.backend_id.map(|b| b.0))
        .bind(filter.model.as_deref())
        .bind(before)
        .fetch_all(self.storage.pool())
        .await?;
        rows.iter().map(checkpoint_from_row).collect()
    }

    /// Checkpoints matching `filter`, oldest first.
    pub async fn list(&self, filter: &CheckpointFilter) -> SyncResult<Vec<Checkpoint>> {
        let rows = sqlx::query(
            "SELECT id, backend_id, model, record_id, message, state, created_at, reviewed_at, \
             binding_model, conflicts \
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
        let mut tx = self.storage.begin().await?;
        let changed = self.mark_reviewed_on(&mut tx, ids).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// [`mark_reviewed`](Self::mark_reviewed) on `conn`, to commit with other changes.
    pub async fn mark_reviewed_on(&self, conn: &mut AnyConnection, ids: &[i64]) -> SyncResult<u64> {
        let mut changed = 0;
        let now = to_micros(Utc::now());
        for id in ids {
            let done = sqlx::query(
                "UPDATE sync_checkpoints SET state = 'reviewed', reviewed_at = $1 WHERE id = $2 AND state = 'need_review'",
            )
            .bind(now)
            .bind(*id)
            .execute(&mut *conn)
            .await?;
            changed += done.rows_affected();
        }
        Ok(changed)
    }
}

/// The columns [`checkpoint_from_row`] reads.
const COLUMNS: &str = "id, backend_id, model, record_id, message, state, created_at, reviewed_at, \
                       binding_model, conflicts";

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
        binding_model: row.try_get("binding_model")?,
        conflicts: match row.try_get::<Option<String>, _>("conflicts")? {
            None => Vec::new(),
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                SyncError::invalid_data(format!("checkpoint {id}"), "conflicts", e.to_string())
            })?,
        },
    })
}
