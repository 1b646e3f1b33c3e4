//! A fresh database per trial: a SQLite file in a temporary directory, or a PostgreSQL schema
//! of its own in the test server; and the one PostgreSQL restart of the long form.
//!
//! The schemas are named `synckit_crash_…`, not `synckit_test_…`: the test command drops every
//! `synckit_test_…` schema when it starts, which must not pull a schema from under a crash run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use synckit::storage::{Storage, StorageOptions};
use synckit::testing::DEFAULT_TEST_PG_URL;
use synckit::{SyncError, SyncResult};

/// Which database a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    /// An embedded SQLite file.
    Sqlite,
    /// A schema in the test PostgreSQL.
    Postgres,
}

impl DatabaseKind {
    /// `sqlite` or `postgres`, for the report.
    pub fn name(self) -> &'static str {
        match self {
            DatabaseKind::Sqlite => "sqlite",
            DatabaseKind::Postgres => "postgres",
        }
    }
}

/// The PostgreSQL server the suite uses: `SYNCKIT_TEST_PG_URL`, as for the tests.
pub fn postgres_url() -> String {
    std::env::var("SYNCKIT_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_TEST_PG_URL.to_owned())
}

fn small_pool() -> StorageOptions {
    StorageOptions {
        max_connections: 2,
        ..StorageOptions::default()
    }
}

/// Whether the test PostgreSQL answers.
pub async fn postgres_answers() -> bool {
    match Storage::connect(&postgres_url(), small_pool()).await {
        Ok(admin) => {
            let ok = sqlx::query("SELECT 1").execute(admin.pool()).await.is_ok();
            admin.close().await;
            ok
        }
        Err(_) => false,
    }
}

/// One trial's database; [`TrialDatabase::drop_all`] removes it.
pub struct TrialDatabase {
    /// The migrated storage the harness itself uses.
    pub storage: Storage,
    /// The URL the worker processes get (it may name a schema; it is never printed).
    pub url: String,
    /// The directory of the SQLite file and of the workers' logs.
    pub dir: tempfile::TempDir,
    /// The PostgreSQL schema, which is also the `application_name` of every connection of
    /// the trial (the harness's and its workers'), so that they can be told apart.
    schema: Option<String>,
}

fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{}_{nanos}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl TrialDatabase {
    /// A fresh, migrated database of `kind`.
    pub async fn create(kind: DatabaseKind) -> SyncResult<Self> {
        let dir = tempfile::Builder::new()
            .prefix("synckit-crash-")
            .tempdir()
            .map_err(|e| SyncError::Failed(format!("cannot create a temporary directory: {e}")))?;
        let (url, schema) = match kind {
            DatabaseKind::Sqlite => (
                format!("sqlite://{}", dir.path().join("crash.db").display()),
                None,
            ),
            DatabaseKind::Postgres => {
                let base = postgres_url();
                let schema = format!("synckit_crash_{}", unique_suffix());
                let admin = Storage::connect(&base, small_pool()).await?;
                let created = sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .execute(admin.pool())
                    .await;
                admin.close().await;
                created?;
                let separator = if base.contains('?') { '&' } else { '?' };
                (
                    format!(
                        "{base}{separator}options=-csearch_path%3D{schema}&application_name={schema}"
                    ),
                    Some(schema),
                )
            }
        };
        let storage = Storage::open(&url).await?;
        Ok(TrialDatabase {
            storage,
            url,
            dir,
            schema,
        })
    }

    /// Closes the harness's pool and drops the PostgreSQL schema (the directory goes with
    /// `self`).
    pub async fn drop_all(self) {
        self.storage.close().await;
        if let Some(schema) = &self.schema
            && let Ok(admin) = Storage::connect(&postgres_url(), small_pool()).await
        {
            let drop = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
            if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(drop))
                .execute(admin.pool())
                .await
            {
                eprintln!("crash-suite: could not drop schema {schema}: {e}");
            }
            admin.close().await;
        }
    }
}

impl TrialDatabase {
    /// Ends every PostgreSQL connection of this trial — the harness's and its workers' —
    /// the way a server restart ends them (`terminating connection due to administrator
    /// command`), without touching anyone else's. Returns how many ended; 0 on SQLite.
    pub async fn terminate_connections(&self) -> SyncResult<u64> {
        let Some(schema) = &self.schema else {
            return Ok(0);
        };
        let admin = Storage::connect(&postgres_url(), small_pool()).await?;
        let ended: SyncResult<Vec<(bool,)>> = sqlx::query_as(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
        )
        .bind(schema.as_str())
        .fetch_all(admin.pool())
        .await
        .map_err(Into::into);
        admin.close().await;
        Ok(ended?.into_iter().filter(|(ended,)| *ended).count() as u64)
    }
}

/// Restarts the local PostgreSQL cluster (every installed version's `main` cluster) and waits
/// until the test server answers again.
///
/// Only the long form does this, and only on request: other test runs sharing the server see
/// their connections end too.
pub async fn restart_postgres() -> SyncResult<Duration> {
    let started = Instant::now();
    let versions: Vec<String> = std::fs::read_dir("/etc/postgresql")
        .map_err(|e| {
            SyncError::Failed(format!(
                "--restart-postgres needs a local cluster under /etc/postgresql: {e}"
            ))
        })?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    if versions.is_empty() {
        return Err(SyncError::Failed(
            "--restart-postgres: no cluster found under /etc/postgresql".into(),
        ));
    }
    for version in &versions {
        let status = tokio::process::Command::new("pg_ctlcluster")
            .args(["--skip-systemctl-redirect", version, "main", "restart"])
            .status()
            .await
            .map_err(|e| SyncError::Failed(format!("cannot run pg_ctlcluster: {e}")))?;
        if !status.success() {
            return Err(SyncError::Failed(format!(
                "pg_ctlcluster {version} main restart ended with {status}"
            )));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while !postgres_answers().await {
        if Instant::now() > deadline {
            return Err(SyncError::Failed(
                "PostgreSQL did not answer within 60 s of its restart".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(started.elapsed())
}
