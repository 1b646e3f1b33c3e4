//! The one table of bindings, shared by every binding model.

use std::collections::HashMap;

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

pub(super) const COLUMNS: &str = "id, backend_id, model, local_id, external_id, sync_date, export_intent_at, metadata, synced_hash, synced_values";

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

    /// The bindings of many external ids at once, keyed by external id; ids without one
    /// are absent. A page import reads its page's bindings with one query instead of one
    /// per record.
    pub async fn by_externals(
        &self,
        conn: &mut AnyConnection,
        scope: BindingScope<'_>,
        external_ids: &[ExternalId],
    ) -> SyncResult<HashMap<ExternalId, Binding>> {
        let mut found = HashMap::with_capacity(external_ids.len());
        // Far below SQLite's and PostgreSQL's limits on bound parameters.
        for chunk in external_ids.chunks(500) {
            let placeholders: Vec<String> =
                (0..chunk.len()).map(|i| format!("${}", i + 3)).collect();
            let sql = format!(
                "SELECT {COLUMNS} FROM sync_bindings WHERE backend_id = $1 AND model = $2 AND external_id IN ({})",
                placeholders.join(", ")
            );
            // Not a prepared statement PostgreSQL keeps: its generic plan for a long IN list
            // used the index on (backend, model) only and filtered every binding of the model
            // through the list, slower with every record imported. Planned with the values,
            // the index finds each id.
            let mut query = sqlx::query(AssertSqlSafe(sql))
                .persistent(false)
                .bind(scope.backend_id.0)
                .bind(scope.model);
            for id in chunk {
                query = query.bind(id.as_str());
            }
            for row in query.fetch_all(&mut *conn).await? {
                let binding = binding_from_row(&row)?;
                if let Some(external_id) = binding.external_id.clone() {
                    found.insert(external_id, binding);
                }
            }
        }
        Ok(found)
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

    /// Binds `external_id` to `local_id` and sets the sync date. An empty (or blank)
    /// external id is refused with an invalid-data error naming the model and the local id.
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
        let row = BindRow {
            external_id: external_id.clone(),
            local_id,
            sync_date,
            metadata: None,
            synced: None,
        };
        let mut bound = upsert(conn, scope, &[&row], true).await?;
        bound.pop().ok_or_else(|| {
            SyncError::Failed(format!(
                "binding {} {external_id} returned no row",
                scope.model
            ))
        })
    }

    /// Binds many records at once, as [`Bindings::bind`] does each, also storing their
    /// metadata and synced state when given: one statement per few hundred rows (a page import binds its whole page with one).
    ///
    /// A clash with another record's binding fails the whole call with a
    /// [`SyncError::BindingConflict`]; the caller's transaction is then to be rolled back.
    pub async fn bind_many(
        &self,
        conn: &mut AnyConnection,
        scope: BindingScope<'_>,
        rows: &[BindRow],
    ) -> SyncResult<()> {
        // Rows that set the same columns go together: the upsert's SET list is per statement.
        for with_metadata in [false, true] {
            for with_synced in [false, true] {
                let group: Vec<&BindRow> = rows
                    .iter()
                    .filter(|r| r.metadata.is_some() == with_metadata)
                    .filter(|r| r.synced.is_some() == with_synced)
                    .collect();
                for chunk in group.chunks(200) {
                    upsert(conn, scope, chunk, false).await?;
                }
            }
        }
        Ok(())
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

/// One binding to write with [`Bindings::bind_many`]: the link, the sync date and, when
/// given, the metadata and the synced state (`None` keeps what is stored).
#[derive(Debug, Clone, PartialEq)]
pub struct BindRow {
    /// The external record.
    pub external_id: ExternalId,
    /// The local record.
    pub local_id: LocalId,
    /// When the two were synchronized.
    pub sync_date: DateTime<Utc>,
    /// The binding model's metadata.
    pub metadata: Option<Value>,
    /// What was synced (two-way models).
    pub synced: Option<SyncedState>,
}

/// Inserts or updates the bindings of `rows`' local records; all rows must set the same
/// optional columns (metadata, synced state) as the first. Returns the bindings when
/// `returning`.
async fn upsert(
    conn: &mut AnyConnection,
    scope: BindingScope<'_>,
    rows: &[&BindRow],
    returning: bool,
) -> SyncResult<Vec<Binding>> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    // An empty external id would bind the local record to no remote one, and a second such
    // bind would clash with the first on the unique external id.
    if let Some(row) = rows
        .iter()
        .find(|row| row.external_id.as_str().trim().is_empty())
    {
        return Err(SyncError::invalid_data(
            format!("{} local record {}", scope.model, row.local_id),
            "external_id",
            format!(
                "an empty external id cannot be bound (backend {})",
                scope.backend_id
            ),
        ));
    }
    let now = to_micros(Utc::now());
    // An upsert on the local record's binding; a clash on the external id's unique index is
    // not caught by it and becomes a binding conflict.
    let mut updates = String::from(
        "external_id = excluded.external_id, sync_date = excluded.sync_date, \
         export_intent_at = NULL, updated_at = excluded.updated_at",
    );
    if first.metadata.is_some() {
        updates.push_str(", metadata = excluded.metadata");
    }
    if first.synced.is_some() {
        updates.push_str(
            ", synced_hash = excluded.synced_hash, synced_values = excluded.synced_values",
        );
    }
    const PER_ROW: usize = 9;
    let values: Vec<String> = (0..rows.len())
        .map(|i| {
            let n = i * PER_ROW;
            format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5,
                n + 6,
                n + 7,
                n + 8,
                n + 9,
                n + 9
            )
        })
        .collect();
    let sql = format!(
        "INSERT INTO sync_bindings (backend_id, model, local_id, external_id, sync_date, metadata, \
         synced_hash, synced_values, created_at, updated_at) VALUES {} \
         ON CONFLICT (backend_id, model, local_id) DO UPDATE SET {updates}{}",
        values.join(", "),
        if returning {
            format!(" RETURNING {COLUMNS}")
        } else {
            String::new()
        }
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for row in rows {
        let (hash, synced_values) = match &row.synced {
            Some(synced) => (
                Some(synced.hash.clone()),
                Some(Value::Object(synced.values.clone()).to_string()),
            ),
            None => (None, None),
        };
        query = query
            .bind(scope.backend_id.0)
            .bind(scope.model.to_owned())
            .bind(row.local_id.0)
            .bind(row.external_id.as_str().to_owned())
            .bind(to_micros(row.sync_date))
            .bind(
                row.metadata
                    .as_ref()
                    .map_or_else(|| "{}".to_owned(), Value::to_string),
            )
            .bind(hash)
            .bind(synced_values)
            .bind(now);
    }
    let conflict = |e| match rows {
        [row] => conflict_or(e, scope, &row.external_id, row.local_id),
        _ => conflict_many(e, scope),
    };
    if returning {
        let found = query.fetch_all(conn).await.map_err(conflict)?;
        found.iter().map(binding_from_row).collect()
    } else {
        query.execute(conn).await.map_err(conflict)?;
        Ok(Vec::new())
    }
}

fn conflict_many(error: sqlx::Error, scope: BindingScope<'_>) -> SyncError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => SyncError::BindingConflict {
            model: scope.model.to_owned(),
            detail: format!(
                "an external id of the batch is already bound to another local record on backend {}",
                scope.backend_id
            ),
        },
        _ => SyncError::from(error),
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

pub(super) fn binding_from_row(row: &AnyRow) -> SyncResult<Binding> {
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
