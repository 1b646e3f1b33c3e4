//! Persisting backends in `sync_backends`.

use serde_json::Value;
use sqlx::AssertSqlSafe;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::record::{Backend, NewBackend};
use super::secret::Secrets;
use crate::error::{SyncError, SyncResult};
use crate::ids::BackendId;
use crate::storage::{Storage, from_micros};

/// The backends stored in a [`Storage`]; get one with [`Storage::backends`].
#[derive(Debug, Clone, Copy)]
pub struct Backends<'s> {
    storage: &'s Storage,
}

impl Storage {
    /// The stored backends.
    pub fn backends(&self) -> Backends<'_> {
        Backends { storage: self }
    }
}

const COLUMNS: &str = "id, kind, version, name, settings, secrets, enabled, created_at, updated_at";

impl Backends<'_> {
    /// Creates a backend and returns it.
    pub async fn create(&self, new: NewBackend) -> SyncResult<Backend> {
        let settings = new.settings.to_string();
        let secrets = serde_json::to_string(&new.secrets)
            .map_err(|e| SyncError::Failed(format!("cannot store the secrets: {e}")))?;
        let now = self.storage.now_micros().await?;
        let row: AnyRow = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO sync_backends (kind, version, name, settings, secrets, enabled, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {COLUMNS}"
        )))
        .bind(&new.kind)
        .bind(&new.version)
        .bind(&new.name)
        .bind(settings)
        .bind(secrets)
        .bind(i64::from(new.enabled))
        .bind(now)
        .fetch_one(self.storage.pool())
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                SyncError::Failed(format!("a backend named `{}` already exists", new.name))
            }
            _ => SyncError::from(e),
        })?;
        backend_from_row(&row)
    }

    /// A backend by id.
    pub async fn get(&self, id: BackendId) -> SyncResult<Backend> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sync_backends WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(self.storage.pool())
        .await?
        .ok_or_else(|| SyncError::Failed(format!("no backend with id {id}")))?;
        backend_from_row(&row)
    }

    /// A backend by its unique name.
    pub async fn by_name(&self, name: &str) -> SyncResult<Option<Backend>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sync_backends WHERE name = $1"
        )))
        .bind(name)
        .fetch_optional(self.storage.pool())
        .await?;
        row.as_ref().map(backend_from_row).transpose()
    }

    /// Every backend, by id.
    pub async fn list(&self) -> SyncResult<Vec<Backend>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sync_backends ORDER BY id"
        )))
        .fetch_all(self.storage.pool())
        .await?;
        rows.iter().map(backend_from_row).collect()
    }

    /// Enables a backend.
    pub async fn enable(&self, id: BackendId) -> SyncResult<()> {
        self.set_enabled(id, true).await
    }

    /// Disables a backend: it is no longer synchronized, its bindings stay.
    pub async fn disable(&self, id: BackendId) -> SyncResult<()> {
        self.set_enabled(id, false).await
    }

    /// Replaces a backend's settings.
    pub async fn update_settings(&self, id: BackendId, settings: &Value) -> SyncResult<()> {
        self.update(id, "settings", settings.to_string()).await
    }

    /// Replaces a backend's secrets.
    pub async fn update_secrets(&self, id: BackendId, secrets: &Secrets) -> SyncResult<()> {
        let secrets = serde_json::to_string(secrets)
            .map_err(|e| SyncError::Failed(format!("cannot store the secrets: {e}")))?;
        self.update(id, "secrets", secrets).await
    }

    async fn set_enabled(&self, id: BackendId, enabled: bool) -> SyncResult<()> {
        let now = self.storage.now_micros().await?;
        let done =
            sqlx::query("UPDATE sync_backends SET enabled = $1, updated_at = $2 WHERE id = $3")
                .bind(i64::from(enabled))
                .bind(now)
                .bind(id.0)
                .execute(self.storage.pool())
                .await?;
        if done.rows_affected() == 0 {
            return Err(SyncError::Failed(format!("no backend with id {id}")));
        }
        Ok(())
    }

    async fn update(&self, id: BackendId, column: &'static str, value: String) -> SyncResult<()> {
        let now = self.storage.now_micros().await?;
        let done = sqlx::query(AssertSqlSafe(format!(
            "UPDATE sync_backends SET {column} = $1, updated_at = $2 WHERE id = $3"
        )))
        .bind(value)
        .bind(now)
        .bind(id.0)
        .execute(self.storage.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(SyncError::Failed(format!("no backend with id {id}")));
        }
        Ok(())
    }
}

fn backend_from_row(row: &AnyRow) -> SyncResult<Backend> {
    let id: i64 = row.try_get("id")?;
    let settings: String = row.try_get("settings")?;
    let secrets: String = row.try_get("secrets")?;
    let settings: Value = serde_json::from_str(&settings)
        .map_err(|e| SyncError::invalid_data(format!("backend {id}"), "settings", e.to_string()))?;
    // The error names the column only: the text may hold a secret.
    let secrets: Secrets = serde_json::from_str(&secrets).map_err(|_| {
        SyncError::invalid_data(
            format!("backend {id}"),
            "secrets",
            "not a JSON object of strings",
        )
    })?;
    Ok(Backend {
        id: BackendId(id),
        kind: row.try_get("kind")?,
        version: row.try_get("version")?,
        name: row.try_get("name")?,
        settings,
        secrets,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        created_at: from_micros(row.try_get("created_at")?),
        updated_at: from_micros(row.try_get("updated_at")?),
    })
}
