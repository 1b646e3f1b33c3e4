//! Persisting backends in `sync_backends`.

use serde_json::Value;
use sqlx::AssertSqlSafe;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::record::{Backend, NewBackend};
use super::secret::Secrets;
use super::secret_cipher::SecretCipher;
use super::secrets_at_rest::{self, Owner, SecretsAtRest};
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
    ///
    /// Its secrets are stored under the storage's [`SecretsAtRest`] policy: encrypted
    /// with its key, in plain JSON when that was allowed, refused otherwise.
    pub async fn create(&self, new: NewBackend) -> SyncResult<Backend> {
        let settings = new.settings.to_string();
        let now = self.storage.now_micros().await?;
        let mut tx = self.storage.begin().await?;
        // The secrets are written once the id is known: their ciphertext is bound to it.
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO sync_backends (kind, version, name, settings, secrets, enabled, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, '{}', $5, $6, $6) RETURNING id",
        )
        .bind(&new.kind)
        .bind(&new.version)
        .bind(&new.name)
        .bind(settings)
        .bind(i64::from(new.enabled))
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                SyncError::Failed(format!("a backend named `{}` already exists", new.name))
            }
            _ => SyncError::from(e),
        })?;
        let owner = Owner {
            id,
            name: &new.name,
        };
        let secrets = secrets_at_rest::encode(self.storage.secrets_at_rest(), owner, &new.secrets)?;
        let row: AnyRow = sqlx::query(AssertSqlSafe(format!(
            "UPDATE sync_backends SET secrets = $1 WHERE id = $2 RETURNING {COLUMNS}"
        )))
        .bind(secrets)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        backend_from_row(self.storage.secrets_at_rest(), &row)
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
        backend_from_row(self.storage.secrets_at_rest(), &row)
    }

    /// A backend by its unique name.
    pub async fn by_name(&self, name: &str) -> SyncResult<Option<Backend>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sync_backends WHERE name = $1"
        )))
        .bind(name)
        .fetch_optional(self.storage.pool())
        .await?;
        row.as_ref()
            .map(|row| backend_from_row(self.storage.secrets_at_rest(), row))
            .transpose()
    }

    /// Every backend, by id.
    pub async fn list(&self) -> SyncResult<Vec<Backend>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sync_backends ORDER BY id"
        )))
        .fetch_all(self.storage.pool())
        .await?;
        rows.iter()
            .map(|row| backend_from_row(self.storage.secrets_at_rest(), row))
            .collect()
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

    /// Replaces a backend's secrets, stored under the storage's [`SecretsAtRest`] policy
    /// (so plain-text secrets of before are encrypted once a key is set).
    pub async fn update_secrets(&self, id: BackendId, secrets: &Secrets) -> SyncResult<()> {
        let backend = self.get(id).await?;
        let owner = Owner {
            id: id.0,
            name: &backend.name,
        };
        let secrets = secrets_at_rest::encode(self.storage.secrets_at_rest(), owner, secrets)?;
        self.update(id, "secrets", secrets).await
    }

    /// Encrypts every backend's secrets with `new`, in one transaction: what was encrypted
    /// with the storage's key (or stored in plain JSON) is read and written again with
    /// `new`. Running it again with the same `new` key changes nothing but the nonces.
    /// Returns how many backends were rewritten.
    ///
    /// # Errors
    /// A backend whose secrets cannot be read (encrypted with neither key), named; then
    /// nothing is changed.
    pub async fn rotate_key(&self, new: &SecretCipher) -> SyncResult<u64> {
        let policy = self.storage.secrets_at_rest();
        let now = self.storage.now_micros().await?;
        let mut tx = self.storage.begin().await?;
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, name, secrets FROM sync_backends ORDER BY id")
                .fetch_all(&mut *tx)
                .await?;
        let mut rewritten = 0;
        for (id, name, text) in rows {
            let owner = Owner { id, name: &name };
            let secrets = secrets_at_rest::reencrypt(policy, new, owner, &text)?;
            sqlx::query("UPDATE sync_backends SET secrets = $1, updated_at = $2 WHERE id = $3")
                .bind(secrets)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            rewritten += 1;
        }
        tx.commit().await?;
        Ok(rewritten)
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

fn backend_from_row(policy: &SecretsAtRest, row: &AnyRow) -> SyncResult<Backend> {
    let id: i64 = row.try_get("id")?;
    let name: String = row.try_get("name")?;
    let settings: String = row.try_get("settings")?;
    let secrets: String = row.try_get("secrets")?;
    let settings: Value = serde_json::from_str(&settings)
        .map_err(|e| SyncError::invalid_data(format!("backend {id}"), "settings", e.to_string()))?;
    let secrets = secrets_at_rest::decode(policy, Owner { id, name: &name }, &secrets)?;
    Ok(Backend {
        id: BackendId(id),
        kind: row.try_get("kind")?,
        version: row.try_get("version")?,
        name,
        settings,
        secrets,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        created_at: from_micros(row.try_get("created_at")?),
        updated_at: from_micros(row.try_get("updated_at")?),
    })
}
