//! The one table of bindings, shared by every binding model.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::connect::Storage;
use super::time::{from_micros, to_micros};
use crate::error::{SyncError, SyncResult};
use crate::ids::{BackendId, ExternalId, LocalId};

/// The link between one local record and one external record on one backend.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// The row id.
    pub id: i64,
    /// The backend it binds to.
    pub backend_id: BackendId,
    /// The binding model, e.g. `magento.customer`.
    pub model: String,
    /// The local record.
    pub local_id: LocalId,
    /// The external record; `None` while an export's create is in flight.
    pub external_id: Option<ExternalId>,
    /// When the two records were last synchronized.
    pub sync_date: Option<DateTime<Utc>>,
    /// When an export recorded its intent to create the remote record, if it has not bound
    /// an external id since.
    pub export_intent_at: Option<DateTime<Utc>>,
    /// The binding model's extra metadata (e.g. Magento's `created_at`).
    pub metadata: Value,
    /// What was last synced, if recorded.
    pub synced: Option<SyncedState>,
}

/// What was last synchronized for a binding: a hash and the values, in the local field space.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncedState {
    /// A hash of `values`, to compare without loading them.
    pub hash: String,
    /// The mapped fields as they were after the last sync.
    pub values: serde_json::Map<String, Value>,
}

impl SyncedState {
    /// The state of `values`, with its hash.
    pub fn of(values: serde_json::Map<String, Value>) -> Self {
        let hash = hash_values(&values);
        SyncedState { hash, values }
    }
}

/// A stable hash of a set of values (SHA-1 of their JSON, keys sorted).
pub fn hash_values(values: &serde_json::Map<String, Value>) -> String {
    use sha1::{Digest, Sha1};
    let sorted: std::collections::BTreeMap<&String, &Value> = values.iter().collect();
    let json = serde_json::to_vec(&sorted).unwrap_or_default();
    let digest = Sha1::digest(&json);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bindings stored in a [`Storage`]; get them with [`Storage::bindings`].
///
/// Every method takes the connection to run on, so that binding happens inside the caller's
/// transaction (a local write and its binding commit together).
#[derive(Debug, Clone, Copy)]
pub struct Bindings<'s> {
    // Every query runs on the caller's connection; the handle only ties the view to its
    // storage's lifetime.
    _storage: std::marker::PhantomData<&'s Storage>,
}

impl Storage {
    /// The bindings table.
    pub fn bindings(&self) -> Bindings<'_> {
        Bindings {
            _storage: std::marker::PhantomData,
        }
    }
}

const COLUMNS: &str = "id, backend_id, model, local_id, external_id, sync_date, export_intent_at, metadata, synced_hash, synced_values";

/// Which binding a call is about: backend and model.
#[derive(Debug, Clone, Copy)]
pub struct BindingScope<'a> {
    /// The backend.
    pub backend_id: BackendId,
    /// The binding model.
    pub model: &'a str,
}

impl Bindings<'_> {
    /// The binding of an external id, if any.
    pub async fn by_external(
        &self,
        conn: &mut AnyConnection,
        scope: BindingScope<'_>,
        external_id: &ExternalId,
    ) -> SyncResult<Option<Binding>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sync_bindings WHERE backend_id = $1 AND model = $2 AND external_id = $3"
        )))
        .bind(scope.backend_id.0)
        .bind(scope.model)
        .bind(external_id.as_str())
        .fetch_optional(conn)
        .await?;
        row.as_ref().map(binding_from_row).transpose()
    }

    /// The binding of a local id, if any.
    pub async fn by_local(
        &self,
        conn: &mut AnyConnection,
        scope: BindingScope<'_>,
        local_id: LocalId,
    ) -> SyncResult<Option<Binding>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sync_bindings WHERE backend_id = $1 AND model = $2 AND local_id = $3"
        )))
        .bind(scope.backend_id.0)
        .bind(scope.model)
        .bind(local_id.0)
        .fetch_optional(conn)
        .await?;
        row.as_ref().map(binding_from_row).transpose()
    }

    /// Binds `external_id` to `local_id` and sets the sync date.
    ///
    /// Updates the local record's binding when it exists (e.g. one left by an export intent),
    /// else inserts one. Binding an external id already bound to another local record is a
    /// [`SyncError::BindingConflict`].
    pub async fn bind(
        &self,
        conn: &mut AnyConnection,
        scope: BindingScope<'_>,
        external_id: &ExternalId,
        local_id: LocalId,
        sync_date: DateTime<Utc>,
    ) -> SyncResult<Binding> {
        let now = to_micros(Utc::now());
        let updated = sqlx::query(AssertSqlSafe(format!(
            "UPDATE sync_bindings SET external_id = $1, sync_date = $2, export_intent_at = NULL, updated_at = $3 \
             WHERE backend_id = $4 AND model = $5 AND local_id = $6 RETURNING {COLUMNS}"
        )))
        .bind(external_id.as_str())
        .bind(to_micros(sync_date))
        .bind(now)
        .bind(scope.backend_id.0)
        .bind(scope.model)
        .bind(local_id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| conflict_or(e, scope, external_id, local_id))?;
        if let Some(row) = updated {
            return binding_from_row(&row);
        }
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO sync_bindings (backend_id, model, local_id, external_id, sync_date, metadata, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, '{{}}', $6, $6) RETURNING {COLUMNS}"
        )))
        .bind(scope.backend_id.0)
        .bind(scope.model)
        .bind(local_id.0)
        .bind(external_id.as_str())
        .bind(to_micros(sync_date))
        .bind(now)
        .fetch_one(conn)
        .await
        .map_err(|e| conflict_or(e, scope, external_id, local_id))?;
        binding_from_row(&row)
    }

    /// Records that an export is about to create the local record remotely, before the call.
    ///
    /// A retry after a crash finds the intent and looks the remote record up by its natural
    /// key instead of creating a duplicate. Returns the binding (new or existing).
    pub async fn record_export_intent(
        &self,
        conn: &mut AnyConnection,
        scope: BindingScope<'_>,
        local_id: LocalId,
    ) -> SyncResult<Binding> {
        let now = to_micros(Utc::now());
        sqlx::query(
            "INSERT INTO sync_bindings (backend_id, model, local_id, external_id, export_intent_at, metadata, created_at, updated_at) \
             VALUES ($1, $2, $3, NULL, $4, '{}', $4, $4) \
             ON CONFLICT (backend_id, model, local_id) DO UPDATE SET export_intent_at = excluded.export_intent_at \
             WHERE sync_bindings.external_id IS NULL AND sync_bindings.export_intent_at IS NULL",
        )
        .bind(scope.backend_id.0)
        .bind(scope.model)
        .bind(local_id.0)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        self.by_local(conn, scope, local_id).await?.ok_or_else(|| {
            SyncError::Failed(format!(
                "the export intent of {} {local_id} was not recorded",
                scope.model
            ))
        })
    }

    /// Removes the binding of an external id. Returns whether one existed.
    pub async fn unbind(
        &self,
        conn: &mut AnyConnection,
        scope: BindingScope<'_>,
        external_id: &ExternalId,
    ) -> SyncResult<bool> {
        let done = sqlx::query(
            "DELETE FROM sync_bindings WHERE backend_id = $1 AND model = $2 AND external_id = $3",
        )
        .bind(scope.backend_id.0)
        .bind(scope.model)
        .bind(external_id.as_str())
        .execute(conn)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Stores what was last synced for a binding.
    pub async fn set_synced_state(
        &self,
        conn: &mut AnyConnection,
        binding_id: i64,
        state: &SyncedState,
    ) -> SyncResult<()> {
        let values = Value::Object(state.values.clone()).to_string();
        sqlx::query(
            "UPDATE sync_bindings SET synced_hash = $1, synced_values = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(&state.hash)
        .bind(values)
        .bind(to_micros(Utc::now()))
        .bind(binding_id)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Replaces a binding's metadata.
    pub async fn set_metadata(
        &self,
        conn: &mut AnyConnection,
        binding_id: i64,
        metadata: &Value,
    ) -> SyncResult<()> {
        sqlx::query("UPDATE sync_bindings SET metadata = $1, updated_at = $2 WHERE id = $3")
            .bind(metadata.to_string())
            .bind(to_micros(Utc::now()))
            .bind(binding_id)
            .execute(conn)
            .await?;
        Ok(())
    }

    /// How many bindings a backend has for a model.
    pub async fn count(
        &self,
        conn: &mut AnyConnection,
        scope: BindingScope<'_>,
    ) -> SyncResult<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM sync_bindings WHERE backend_id = $1 AND model = $2",
        )
        .bind(scope.backend_id.0)
        .bind(scope.model)
        .fetch_one(conn)
        .await?;
        Ok(n)
    }
}

fn conflict_or(
    error: sqlx::Error,
    scope: BindingScope<'_>,
    external_id: &ExternalId,
    local_id: LocalId,
) -> SyncError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => SyncError::BindingConflict {
            model: scope.model.to_owned(),
            detail: format!(
                "external id {external_id} is already bound to another local record on backend {} (binding local record {local_id})",
                scope.backend_id
            ),
        },
        _ => SyncError::from(error),
    }
}

fn binding_from_row(row: &AnyRow) -> SyncResult<Binding> {
    let id: i64 = row.try_get("id")?;
    let metadata: String = row.try_get("metadata")?;
    let metadata = serde_json::from_str(&metadata)
        .map_err(|e| SyncError::invalid_data(format!("binding {id}"), "metadata", e.to_string()))?;
    let synced_hash: Option<String> = row.try_get("synced_hash")?;
    let synced_values: Option<String> = row.try_get("synced_values")?;
    let synced = match (synced_hash, synced_values) {
        (Some(hash), Some(values)) => {
            let values = serde_json::from_str(&values).map_err(|e| {
                SyncError::invalid_data(format!("binding {id}"), "synced_values", e.to_string())
            })?;
            Some(SyncedState { hash, values })
        }
        _ => None,
    };
    Ok(Binding {
        id,
        backend_id: BackendId(row.try_get("backend_id")?),
        model: row.try_get("model")?,
        local_id: LocalId(row.try_get("local_id")?),
        external_id: row
            .try_get::<Option<String>, _>("external_id")?
            .map(ExternalId),
        sync_date: row.try_get::<Option<i64>, _>("sync_date")?.map(from_micros),
        export_intent_at: row
            .try_get::<Option<i64>, _>("export_intent_at")?
            .map(from_micros),
        metadata,
        synced,
    })
}
