//! Test support: run one test on SQLite and on PostgreSQL, a local repository of JSON
//! documents, and an in-memory backend.
//!
//! Every storage and queue test of Synckit, and of connectors built on it, runs on both
//! databases. [`test_databases`] gives a fresh SQLite file and, when PostgreSQL answers, a
//! fresh schema in it. PostgreSQL is found at `SYNCKIT_TEST_PG_URL` or
//! `postgres://postgres@127.0.0.1:5432/test`; when it does not answer the PostgreSQL case is
//! skipped with a visible message, except under `CI=true`, where that is an error.

use std::sync::atomic::{AtomicU64, Ordering};

mod memory_backend;

pub use memory_backend::{MemoryAdapter, MemoryBackend};

use crate::error::{SyncError, SyncResult};
use crate::storage::{Dialect, Storage, StorageOptions};

/// The default PostgreSQL URL of the test suite.
pub const DEFAULT_TEST_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database for one test; call [`TestDatabase::cleanup`] at the end to drop its schema
/// or file.
#[derive(Debug)]
pub struct TestDatabase {
    /// The migrated storage.
    pub storage: Storage,
    /// The URL it was opened with (to open more connections or processes on it).
    pub url: String,
    /// `sqlite` or `postgres`, for messages.
    pub name: &'static str,
    schema: Option<(String, String)>,
    _dir: Option<tempfile_dir::TempDir>,
}

mod tempfile_dir {
    /// A temporary directory removed on drop (std only, to keep `tempfile` a dev-dependency).
    #[derive(Debug)]
    pub struct TempDir(pub std::path::PathBuf);

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl TestDatabase {
    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        self.storage.dialect()
    }

    /// Terminates every PostgreSQL connection of this database (its pool's, and those of
    /// anything else opened on [`TestDatabase::url`]), as a server restart would: their
    /// next use fails with `terminating connection due to administrator command`
    /// (SQLSTATE 57P01). Only this test's connections are touched, never other tests'.
    /// Returns how many were terminated; on SQLite, which has no server, 0.
    ///
    /// # Errors
    /// When the administrative connection cannot be opened.
    pub async fn terminate_connections(&self) -> SyncResult<u64> {
        let Some((base_url, schema)) = &self.schema else {
            return Ok(0);
        };
        let admin = Storage::connect(base_url, small_pool()).await?;
        let terminated = sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = $1 AND pid <> pg_backend_pid()",
        )
        .bind(schema.as_str())
        .fetch_all(admin.pool())
        .await;
        admin.close().await;
        Ok(terminated?.len() as u64)
    }

    /// Closes the pool and drops the PostgreSQL schema (the SQLite file goes with `self`).
    pub async fn cleanup(self) {
        self.storage.close().await;
        if let Some((base_url, schema)) = &self.schema
            && let Ok(admin) = Storage::connect(base_url, small_pool()).await
        {
            let drop = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
            let _ = sqlx::query(sqlx::AssertSqlSafe(drop))
                .execute(admin.pool())
                .await;
            admin.close().await;
        }
    }
}

fn small_pool() -> StorageOptions {
    StorageOptions {
        max_connections: 2,
        ..StorageOptions::default()
    }
}

fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A test database's migrated storage. Its backend secrets are stored in plain JSON (a
/// throw-away database); a test of encryption sets its own policy with
/// [`Storage::with_secrets_at_rest`].
async fn test_storage(url: &str) -> SyncResult<Storage> {
    let storage = Storage::open(url).await?;
    Ok(storage.with_secrets_at_rest(crate::backend::SecretsAtRest::Plaintext))
}

/// A fresh, migrated SQLite database in a temporary file.
pub async fn sqlite() -> SyncResult<TestDatabase> {
    let dir = std::env::temp_dir().join(format!("synckit_test_{}", unique_suffix()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| SyncError::Failed(format!("cannot create a temporary directory: {e}")))?;
    let url = format!("sqlite://{}", dir.join("test.db").display());
    let storage = test_storage(&url).await?;
    Ok(TestDatabase {
        storage,
        url,
        name: "sqlite",
        schema: None,
        _dir: Some(tempfile_dir::TempDir(dir)),
    })
}

/// A fresh, migrated schema in the test PostgreSQL, or `None` (with a message on stderr)
/// when PostgreSQL does not answer outside CI.
///
/// # Errors
/// Under `CI=true`, an unreachable PostgreSQL is an error.
pub async fn postgres() -> SyncResult<Option<TestDatabase>> {
    let base_url =
        std::env::var("SYNCKIT_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_TEST_PG_URL.to_owned());
    let admin = match Storage::connect(&base_url, small_pool()).await {
        Ok(admin) => admin,
        Err(error) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                return Err(SyncError::Failed(format!(
                    "PostgreSQL is required under CI=true and does not answer: {error}"
                )));
            }
            eprintln!("SKIPPED: PostgreSQL unreachable ({error}); the PostgreSQL case did not run");
            return Ok(None);
        }
    };
    let schema = format!("synckit_test_{}", unique_suffix());
    let create = format!("CREATE SCHEMA {schema}");
    sqlx::query(sqlx::AssertSqlSafe(create))
        .execute(admin.pool())
        .await?;
    admin.close().await;
    let separator = if base_url.contains('?') { '&' } else { '?' };
    // The application name tells this database's connections apart from every other
    // test's, so that a test can terminate exactly its own (see
    // `TestDatabase::terminate_connections`).
    let url =
        format!("{base_url}{separator}options=-csearch_path%3D{schema}&application_name={schema}");
    let storage = test_storage(&url).await?;
    Ok(Some(TestDatabase {
        storage,
        url,
        name: "postgres",
        schema: Some((base_url, schema)),
        _dir: None,
    }))
}

/// SQLite, then PostgreSQL when it answers.
///
/// ```no_run
/// # async fn demo() -> sync_core::SyncResult<()> {
/// for db in sync_core::testing::test_databases().await? {
///     // ... exercise db.storage ...
///     db.cleanup().await;
/// }
/// # Ok(()) }
/// ```
pub async fn test_databases() -> SyncResult<Vec<TestDatabase>> {
    let mut all = vec![sqlite().await?];
    if let Some(pg) = postgres().await? {
        all.push(pg);
    }
    Ok(all)
}

/// A local repository keeping each record as a JSON document in its own table
/// (`doc_<model>`), for tests and examples that need a local side without writing a schema.
#[derive(Debug, Clone)]
pub struct DocumentRepository {
    model: String,
    table: String,
}

impl DocumentRepository {
    /// The repository of `model`, creating its table when missing.
    pub async fn create(storage: &Storage, model: &str) -> SyncResult<Self> {
        let table = format!(
            "doc_{}",
            model
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect::<String>()
        );
        let id_column = match storage.dialect() {
            Dialect::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
            Dialect::Postgres => "BIGSERIAL PRIMARY KEY",
        };
        let ddl = format!(
            "CREATE TABLE IF NOT EXISTS {table} (id {id_column}, data TEXT NOT NULL, updated_at BIGINT NOT NULL)"
        );
        sqlx::query(sqlx::AssertSqlSafe(ddl))
            .execute(storage.pool())
            .await?;
        Ok(DocumentRepository {
            model: model.to_owned(),
            table,
        })
    }
}

#[async_trait::async_trait]
impl crate::local::LocalRepository for DocumentRepository {
    fn model(&self) -> &str {
        &self.model
    }

    async fn get(
        &self,
        conn: &mut sqlx::AnyConnection,
        id: crate::LocalId,
    ) -> SyncResult<Option<crate::values::Values>> {
        let sql = format!("SELECT data FROM {} WHERE id = $1", self.table);
        let row: Option<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(conn)
            .await?;
        row.map(|(data,)| {
            serde_json::from_str(&data).map_err(|e| {
                SyncError::invalid_data(format!("{} {id}", self.model), "<record>", e.to_string())
            })
        })
        .transpose()
    }

    async fn create(
        &self,
        conn: &mut sqlx::AnyConnection,
        values: &crate::values::Values,
    ) -> SyncResult<crate::LocalId> {
        let sql = format!(
            "INSERT INTO {} (data, updated_at) VALUES ($1, $2) RETURNING id",
            self.table
        );
        let (id,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(serde_json::Value::Object(values.clone()).to_string())
            .bind(crate::storage::to_micros(chrono::Utc::now()))
            .fetch_one(conn)
            .await?;
        Ok(crate::LocalId(id))
    }

    async fn write(
        &self,
        conn: &mut sqlx::AnyConnection,
        id: crate::LocalId,
        values: &crate::values::Values,
    ) -> SyncResult<()> {
        let mut current = self.get(&mut *conn, id).await?.ok_or_else(|| {
            SyncError::invalid_data(format!("{} {id}", self.model), "id", "no such record")
        })?;
        for (field, value) in values {
            current.insert(field.clone(), value.clone());
        }
        let sql = format!(
            "UPDATE {} SET data = $1, updated_at = $2 WHERE id = $3",
            self.table
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(serde_json::Value::Object(current).to_string())
            .bind(crate::storage::to_micros(chrono::Utc::now()))
            .bind(id.0)
            .execute(conn)
            .await?;
        Ok(())
    }

    async fn delete(&self, conn: &mut sqlx::AnyConnection, id: crate::LocalId) -> SyncResult<()> {
        let sql = format!("DELETE FROM {} WHERE id = $1", self.table);
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.0)
            .execute(conn)
            .await?;
        Ok(())
    }

    async fn modified_since(
        &self,
        conn: &mut sqlx::AnyConnection,
        since: chrono::DateTime<chrono::Utc>,
        after: Option<crate::LocalId>,
        limit: u32,
    ) -> SyncResult<Vec<crate::LocalId>> {
        let sql = format!(
            "SELECT id FROM {} WHERE updated_at >= $1 AND id > $2 ORDER BY id LIMIT $3",
            self.table
        );
        let rows: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(crate::storage::to_micros(since))
            .bind(after.map_or(0, |a| a.0))
            .bind(i64::from(limit))
            .fetch_all(conn)
            .await?;
        Ok(rows.into_iter().map(|(id,)| crate::LocalId(id)).collect())
    }

    async fn find_by(
        &self,
        conn: &mut sqlx::AnyConnection,
        field: &str,
        value: &serde_json::Value,
    ) -> SyncResult<Option<crate::LocalId>> {
        // Documents are opaque to SQL here; scanning is fine at test sizes.
        let sql = format!("SELECT id, data FROM {} ORDER BY id", self.table);
        let rows: Vec<(i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(conn)
            .await?;
        Ok(rows.into_iter().find_map(|(id, data)| {
            let doc: serde_json::Value = serde_json::from_str(&data).ok()?;
            (doc.get(field) == Some(value)).then_some(crate::LocalId(id))
        }))
    }
}
