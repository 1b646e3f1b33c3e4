//! Connecting to a database and migrating it.

use std::str::FromStr;
use std::time::Duration;

use sqlx::AssertSqlSafe;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, Transaction};

use super::connect_error;
use crate::backend::SecretsAtRest;
use crate::error::{SyncError, SyncResult};

/// The SQL dialect behind a [`Storage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite, the embedded default (a file, WAL mode).
    Sqlite,
    /// PostgreSQL, for many workers on many machines.
    Postgres,
}

impl Dialect {
    /// The dialect of a database URL (`sqlite:` or `postgres:`/`postgresql:`).
    pub fn from_url(url: &str) -> SyncResult<Self> {
        if url.starts_with("sqlite:") {
            Ok(Dialect::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Dialect::Postgres)
        } else {
            Err(SyncError::Failed(format!(
                "unsupported database URL scheme in `{}`: use sqlite: or postgres:",
                redact_url(url)
            )))
        }
    }

    /// An SQL expression for "now" in microseconds since the epoch, read from the database's
    /// clock so that workers on several machines agree on lease expiry.
    pub fn now_micros_sql(self) -> &'static str {
        match self {
            Dialect::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)",
            Dialect::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)",
        }
    }
}

/// How to open a [`Storage`].
#[derive(Debug, Clone)]
pub struct StorageOptions {
    /// Maximum pool size. SQLite serializes writers anyway; PostgreSQL benefits from more.
    pub max_connections: u32,
    /// How long a SQLite connection waits for the write lock before giving up.
    pub busy_timeout: Duration,
    /// How long to wait for a free pooled connection.
    pub acquire_timeout: Duration,
    /// How long the first connection, made when connecting, may take. A database that
    /// cannot be opened (a corrupt file, a server that refuses) is reported at once with
    /// its cause; one that does not answer, after this long.
    pub connect_timeout: Duration,
    /// How backend secrets are kept at rest: refused by default until a key
    /// ([`SecretsAtRest::Encrypted`]) or plain text ([`SecretsAtRest::Plaintext`]) is chosen.
    pub secrets_at_rest: SecretsAtRest,
}

impl Default for StorageOptions {
    fn default() -> Self {
        StorageOptions {
            max_connections: 10,
            busy_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            secrets_at_rest: SecretsAtRest::default(),
        }
    }
}

/// A handle on Synckit's database: cheap to clone, shared by every component.
#[derive(Clone, Debug)]
pub struct Storage {
    pool: AnyPool,
    dialect: Dialect,
    /// What makes this installation's advisory locks its own: PostgreSQL advisory locks are
    /// per database, and two installations may share one database in two schemas.
    lock_namespace: std::sync::Arc<str>,
    /// How backend secrets are stored and read.
    secrets_at_rest: std::sync::Arc<SecretsAtRest>,
}

impl Storage {
    /// Opens the database at `url` with default options and applies the migrations.
    ///
    /// `sqlite://path/to/file.db` creates the file if needed and turns WAL mode on;
    /// `postgres://user@host/db` connects to an existing database.
    pub async fn open(url: &str) -> SyncResult<Self> {
        Self::open_with(url, StorageOptions::default()).await
    }

    /// Opens the database at `url` with these options and applies the migrations.
    pub async fn open_with(url: &str, options: StorageOptions) -> SyncResult<Self> {
        let storage = Self::connect(url, options).await?;
        storage.migrate().await?;
        Ok(storage)
    }

    /// This handle with another policy for backend secrets (same pool).
    ///
    /// ```no_run
    /// # async fn demo() -> sync_core::SyncResult<()> {
    /// use sync_core::backend::{SecretCipher, SecretsAtRest};
    /// use sync_core::storage::Storage;
    ///
    /// // The key from `SYNCKIT_SECRET_KEY`; without it, secrets are refused.
    /// let storage = Storage::open("sqlite://shop.db")
    ///     .await?
    ///     .with_secrets_at_rest(SecretsAtRest::from_cipher(SecretCipher::from_env()?));
    /// # Ok(()) }
    /// ```
    pub fn with_secrets_at_rest(&self, policy: SecretsAtRest) -> Self {
        Storage {
            secrets_at_rest: std::sync::Arc::new(policy),
            ..self.clone()
        }
    }

    /// How backend secrets are stored and read.
    pub fn secrets_at_rest(&self) -> &SecretsAtRest {
        &self.secrets_at_rest
    }

    /// Connects without migrating.
    ///
    /// One connection is opened (and set up) at once: a database that cannot be opened is
    /// an error naming the file, or the host and port, and the cause (`cannot open the
    /// SQLite database shop.db: file is not a database`, `cannot connect to PostgreSQL at
    /// 127.0.0.1:5432 (database test): connection refused`), never the URL's password.
    /// The pool's other connections are opened when needed.
    ///
    /// # Errors
    /// An unsupported or invalid URL, or a database that cannot be opened within
    /// [`StorageOptions::connect_timeout`].
    pub async fn connect(url: &str, options: StorageOptions) -> SyncResult<Self> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::from_url(url)?;
        let url = match dialect {
            // Create the file on first use, as an embedded database should.
            Dialect::Sqlite if !url.contains("mode=") && !url.contains(":memory:") => {
                if url.contains('?') {
                    format!("{url}&mode=rwc")
                } else {
                    format!("{url}?mode=rwc")
                }
            }
            _ => url.to_owned(),
        };
        let connect_options = AnyConnectOptions::from_str(&url).map_err(|e| {
            SyncError::Failed(format!("invalid database URL `{}`: {e}", redact_url(&url)))
        })?;
        let busy_ms = options.busy_timeout.as_millis();

        // The first connection is made here, once: the pool would retry a failing one
        // until its acquire timeout, logging each try, and then report only that it
        // timed out.
        let first = async {
            let mut conn = AnyConnection::connect_with(&connect_options).await?;
            set_up(&mut conn, dialect, busy_ms).await?;
            let namespace = match dialect {
                Dialect::Sqlite => String::new(),
                Dialect::Postgres => {
                    let (schema,): (String,) = sqlx::query_as("SELECT current_schema()::text")
                        .fetch_one(&mut conn)
                        .await?;
                    schema
                }
            };
            let _ = conn.close().await;
            Ok::<_, sqlx::Error>(namespace)
        };
        let lock_namespace = match tokio::time::timeout(options.connect_timeout, first).await {
            Ok(Ok(namespace)) => namespace,
            Ok(Err(error)) => return Err(connect_error::connect_failed(dialect, &url, &error)),
            Err(_) => {
                return Err(connect_error::connect_timed_out(
                    dialect,
                    &url,
                    options.connect_timeout,
                ));
            }
        };

        let pool = AnyPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .after_connect(move |conn, _meta| Box::pin(set_up(conn, dialect, busy_ms)))
            .connect_lazy_with(connect_options);
        Ok(Storage {
            pool,
            dialect,
            lock_namespace: lock_namespace.into(),
            secrets_at_rest: std::sync::Arc::new(options.secrets_at_rest),
        })
    }

    /// Applies the embedded migrations of this dialect. Applying them twice is a no-op.
    pub async fn migrate(&self) -> SyncResult<()> {
        match self.dialect {
            Dialect::Sqlite => {
                sqlx::migrate!("./migrations/sqlite")
                    .run(&self.pool)
                    .await?
            }
            Dialect::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    /// The pool, for queries of your own (e.g. the local application's tables).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The namespace of this installation's advisory locks (its PostgreSQL schema).
    pub(crate) fn lock_namespace(&self) -> &str {
        &self.lock_namespace
    }

    /// The SQL dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// How many write transactions are worth running at once: one on SQLite, whose writers
    /// take turns on the database's write lock; two on PostgreSQL (with a pool of at least
    /// four), which overlaps one page's round trips with another's. More bought little on
    /// the 2-core machine of the import benchmark and cost a page of memory each. Batch
    /// flows size their parallel work with it.
    pub fn write_concurrency(&self) -> usize {
        match self.dialect {
            Dialect::Sqlite => 1,
            Dialect::Postgres => {
                (self.pool.options().get_max_connections() as usize / 2).clamp(1, 2)
            }
        }
    }

    /// Begins a write transaction.
    ///
    /// On SQLite it starts with `BEGIN IMMEDIATE`: a deferred transaction that reads first
    /// and writes later fails with `SQLITE_BUSY` when another writer got in between, without
    /// waiting for the busy timeout.
    pub async fn begin(&self) -> SyncResult<Transaction<'static, Any>> {
        let tx = match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.pool.begin().await?,
        };
        Ok(tx)
    }

    /// The database's current time in microseconds since the epoch.
    pub async fn now_micros(&self) -> SyncResult<i64> {
        let sql = format!("SELECT {}", self.dialect.now_micros_sql());
        let (now,): (i64,) = sqlx::query_as(AssertSqlSafe(sql))
            .fetch_one(&self.pool)
            .await?;
        Ok(now)
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> SyncResult<()> {
        let mut conn = self.pool.acquire().await?;
        conn.ping().await?;
        Ok(())
    }
}

/// Sets up a new connection: on SQLite, WAL mode, foreign keys and the busy timeout.
async fn set_up(conn: &mut AnyConnection, dialect: Dialect, busy_ms: u128) -> sqlx::Result<()> {
    if dialect == Dialect::Sqlite {
        // WAL lets readers run beside the writer; NORMAL sync is durable in WAL mode across
        // application crashes; foreign keys are off by default in SQLite.
        let pragmas = format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {busy_ms};"
        );
        conn.execute(AssertSqlSafe(pragmas)).await?;
    }
    Ok(())
}

/// A URL with its password replaced, for error messages.
pub(crate) fn redact_url(url: &str) -> String {
    // scheme://user:password@host → scheme://user:***@host
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        if let Some(at) = rest.find('@') {
            let userinfo = &rest[..at];
            if let Some(colon) = userinfo.find(':') {
                return format!(
                    "{}://{}:***{}",
                    &url[..scheme_end],
                    &userinfo[..colon],
                    &rest[at..]
                );
            }
        }
    }
    url.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://bob:hunter2@db/x"),
            "postgres://bob:***@db/x"
        );
        assert_eq!(redact_url("sqlite://a.db"), "sqlite://a.db");
    }

    #[test]
    fn dialect_from_url() {
        assert_eq!(Dialect::from_url("sqlite://x").unwrap(), Dialect::Sqlite);
        assert_eq!(
            Dialect::from_url("postgresql://x").unwrap(),
            Dialect::Postgres
        );
        assert!(Dialect::from_url("mysql://x").is_err());
    }
}
