//! What operators see of the named locks and how they free one: `synckit locks list` and
//! `synckit locks release`.
//!
//! A lock is *alive* while its holder can still be working under it: on SQLite while its
//! lease runs (the holder renews it every third of the lease), on PostgreSQL while a session
//! holds its advisory lock (found in `pg_locks`). A lock whose holder died is free for the
//! next taker anyway (its lease ran out, or its session ended); releasing it only tidies
//! the list. Releasing an alive lock needs `force`: on SQLite its row is deleted and the
//! holder finds out at its next renewal (its guard is lost and its work stops); on
//! PostgreSQL the holder's database session is terminated (`pg_terminate_backend`), which is
//! the only way to end another session's advisory lock.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::connect::{Dialect, Storage};
use super::time::from_micros;
use crate::error::{SyncError, SyncResult};

/// A named lock as `locks list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    /// The lock's key, e.g. `batch:reverse:3:customer`.
    pub key: String,
    /// Who took it: `host:pid:token`.
    pub holder: String,
    /// When it was taken (unknown for rows older than this column).
    pub acquired_at: Option<DateTime<Utc>>,
    /// Until when its lease runs unless renewed.
    pub expires_at: DateTime<Utc>,
    /// Whether its holder may still be working under it (see the module's documentation).
    pub alive: bool,
    /// PostgreSQL: the server process of the session holding it.
    pub session_pid: Option<i32>,
}

/// What [`Storage::release_lock`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockRelease {
    /// The lock's holder was gone; its row was removed.
    Tidied,
    /// The lock was taken away from a live holder (forced).
    TakenAway,
}

const PG_LIST: &str = "SELECT l.lock_key, l.holder, l.acquired_at, l.expires_at, a.pid \
     FROM sync_locks l LEFT JOIN pg_locks a ON a.locktype = 'advisory' AND a.granted \
         AND a.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND a.objsubid = 1 \
         AND a.classid::bigint = ((l.advisory_id >> 32) & 4294967295) \
         AND a.objid::bigint = (l.advisory_id & 4294967295)";

impl Storage {
    /// Every named lock with a row, by key.
    pub async fn list_locks(&self) -> SyncResult<Vec<LockInfo>> {
        self.read_locks(None).await
    }

    /// Releases the lock `key`. A lock whose holder is alive is refused unless `force`
    /// (see the module's documentation for what forcing does to the holder).
    ///
    /// # Errors
    /// No such lock; a live holder without `force`.
    pub async fn release_lock(&self, key: &str, force: bool) -> SyncResult<LockRelease> {
        let Some(lock) = self.read_locks(Some(key)).await?.pop() else {
            return Err(SyncError::Failed(format!("no lock `{key}`")));
        };
        if lock.alive && !force {
            return Err(SyncError::Failed(format!(
                "lock `{key}` is held by {}, which is alive (its lease runs until {}); \
                 release it with force to take it away",
                lock.holder,
                lock.expires_at.format("%Y-%m-%d %H:%M:%S UTC")
            )));
        }
        if let (true, Some(pid)) = (lock.alive, lock.session_pid) {
            let (ended,): (bool,) = sqlx::query_as("SELECT pg_terminate_backend($1)")
                .bind(pid)
                .fetch_one(self.pool())
                .await?;
            if !ended {
                return Err(SyncError::Failed(format!(
                    "lock `{key}`: the session {pid} holding it could not be terminated"
                )));
            }
        }
        // Only the row that was looked at: a holder that took the lock meanwhile keeps it.
        sqlx::query("DELETE FROM sync_locks WHERE lock_key = $1 AND holder = $2")
            .bind(key)
            .bind(&lock.holder)
            .execute(self.pool())
            .await?;
        Ok(if lock.alive {
            LockRelease::TakenAway
        } else {
            LockRelease::Tidied
        })
    }

    async fn read_locks(&self, key: Option<&str>) -> SyncResult<Vec<LockInfo>> {
        let filter = if key.is_some() {
            " WHERE l.lock_key = $1"
        } else {
            ""
        };
        let sql = match self.dialect() {
            Dialect::Sqlite => format!(
                "SELECT l.lock_key, l.holder, l.acquired_at, l.expires_at, \
                     CAST(NULL AS INTEGER) AS pid, \
                     CASE WHEN l.expires_at >= {} THEN 1 ELSE 0 END AS alive \
                 FROM sync_locks l{filter} ORDER BY l.lock_key",
                Dialect::Sqlite.now_micros_sql()
            ),
            Dialect::Postgres => format!(
                "SELECT q.*, CAST(CASE WHEN q.pid IS NULL THEN 0 ELSE 1 END AS BIGINT) AS alive \
                 FROM ({PG_LIST}{filter}) q ORDER BY q.lock_key"
            ),
        };
        let mut query = sqlx::query(AssertSqlSafe(sql));
        if let Some(key) = key {
            query = query.bind(key.to_owned());
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| {
                Ok(LockInfo {
                    key: row.try_get("lock_key")?,
                    holder: row.try_get("holder")?,
                    acquired_at: row
                        .try_get::<Option<i64>, _>("acquired_at")?
                        .map(from_micros),
                    expires_at: from_micros(row.try_get("expires_at")?),
                    alive: row.try_get::<i64, _>("alive")? != 0,
                    session_pid: row.try_get("pid")?,
                })
            })
            .collect()
    }
}
