//! Named locks between workers: PostgreSQL advisory locks, SQLite lease rows.
//!
//! Two jobs importing the same missing dependency must not both create it. An import takes
//! the lock `import:<backend>:<model>:<external id>` inside its write transaction
//! ([`Storage::try_lock_in_transaction`]; on SQLite the transaction's write lock already
//! serializes writers); an export holds `export:<backend>:<model>:<local id>` across its
//! remote call ([`Storage::try_lock`]). When another worker holds a lock, the job is retried
//! shortly without using one of its tries, as the connector framework's
//! `advisory_lock_or_retry` does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sha1::{Digest, Sha1};
use sqlx::AssertSqlSafe;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection};

use super::connect::{Dialect, Storage};
use crate::error::{SyncError, SyncResult};

/// How long a job waits before retrying when the lock it needs is taken.
const LOCK_RETRY_AFTER: Duration = Duration::from_secs(1);

/// A held lock. Release it with [`LockGuard::release`]; dropping it releases it too (at the
/// latest when its lease expires on SQLite, or when its connection closes on PostgreSQL).
#[derive(Debug)]
pub struct LockGuard {
    key: String,
    holder: String,
    inner: Held,
}

#[derive(Debug)]
enum Held {
    /// SQLite: a lease row owned by `holder`.
    Lease(Storage),
    /// PostgreSQL: a session advisory lock on this connection.
    Advisory(Option<PoolConnection<Any>>, i64),
    Released,
}

impl Storage {
    /// Takes the lock `key` for at most `lease` (SQLite; PostgreSQL holds it until released).
    ///
    /// When another holder has it, returns a retryable error that does not count as a retry.
    pub async fn try_lock(&self, key: &str, lease: Duration) -> SyncResult<LockGuard> {
        let holder = new_holder_token();
        match self.dialect() {
            Dialect::Sqlite => {
                let now = self.dialect().now_micros_sql();
                let lease_micros = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX / 2);
                let sql = format!(
                    "INSERT INTO sync_locks (lock_key, holder, expires_at) VALUES ($1, $2, {now} + $3) \
                     ON CONFLICT (lock_key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                     WHERE sync_locks.expires_at < {now} RETURNING lock_key"
                );
                let taken: Option<(String,)> = sqlx::query_as(AssertSqlSafe(sql))
                    .bind(key)
                    .bind(&holder)
                    .bind(lease_micros)
                    .fetch_optional(self.pool())
                    .await?;
                match taken {
                    Some(_) => Ok(LockGuard {
                        key: key.to_owned(),
                        holder,
                        inner: Held::Lease(self.clone()),
                    }),
                    None => Err(lock_taken(key)),
                }
            }
            Dialect::Postgres => {
                let lock_id = advisory_key(&format!("{}:{key}", self.lock_namespace()));
                let mut conn = self.pool().acquire().await?;
                let (acquired,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
                    .bind(lock_id)
                    .fetch_one(&mut *conn)
                    .await?;
                if acquired {
                    Ok(LockGuard {
                        key: key.to_owned(),
                        holder,
                        inner: Held::Advisory(Some(conn), lock_id),
                    })
                } else {
                    Err(lock_taken(key))
                }
            }
        }
    }
}

impl Storage {
    /// Takes the locks `keys` until the end of the transaction `conn` is in: PostgreSQL
    /// transaction-level advisory locks, released by the commit or the rollback, so no
    /// statement or connection is spent on releasing them.
    ///
    /// On SQLite this takes nothing: [`Storage::begin`] opens transactions with
    /// `BEGIN IMMEDIATE`, which already holds the database's write lock until the end, so
    /// two writers never interleave and each one's reads see the other's commits.
    ///
    /// When another holder has one of the keys, returns a retryable error that does not
    /// count as a retry; the caller rolls the transaction back, releasing what it got.
    pub async fn try_lock_in_transaction(
        &self,
        conn: &mut AnyConnection,
        keys: &[String],
    ) -> SyncResult<()> {
        if self.dialect() == Dialect::Sqlite {
            return Ok(());
        }
        for chunk in keys.chunks(500) {
            let values: Vec<String> = (1..=chunk.len())
                .map(|i| format!("(${i}::bigint)"))
                .collect();
            let sql = format!(
                "SELECT v.k FROM (VALUES {}) AS v(k) WHERE NOT pg_try_advisory_xact_lock(v.k)",
                values.join(", ")
            );
            let ids: Vec<i64> = chunk
                .iter()
                .map(|key| advisory_key(&format!("{}:{key}", self.lock_namespace())))
                .collect();
            let mut query = sqlx::query_as::<_, (i64,)>(AssertSqlSafe(sql));
            for id in &ids {
                query = query.bind(*id);
            }
            let refused = query.fetch_all(&mut *conn).await?;
            if let Some((refused,)) = refused.first() {
                let key = ids
                    .iter()
                    .position(|id| id == refused)
                    .map_or("?", |i| chunk[i].as_str());
                return Err(lock_taken(key));
            }
        }
        Ok(())
    }
}

impl LockGuard {
    /// The lock's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Releases the lock now.
    pub async fn release(mut self) -> SyncResult<()> {
        match std::mem::replace(&mut self.inner, Held::Released) {
            Held::Lease(storage) => {
                sqlx::query("DELETE FROM sync_locks WHERE lock_key = $1 AND holder = $2")
                    .bind(&self.key)
                    .bind(&self.holder)
                    .execute(storage.pool())
                    .await?;
            }
            Held::Advisory(Some(mut conn), lock_id) => {
                sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(lock_id)
                    .execute(&mut *conn)
                    .await?;
            }
            Held::Advisory(None, _) | Held::Released => {}
        }
        Ok(())
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.inner, Held::Released) {
            Held::Lease(storage) => {
                // Best effort: the lease expires anyway if no runtime is there to delete it.
                if let Ok(handle) = tokio::runtime::Handle::try_current() {
                    let key = std::mem::take(&mut self.key);
                    let holder = std::mem::take(&mut self.holder);
                    handle.spawn(async move {
                        let _ = sqlx::query(
                            "DELETE FROM sync_locks WHERE lock_key = $1 AND holder = $2",
                        )
                        .bind(key)
                        .bind(holder)
                        .execute(storage.pool())
                        .await;
                    });
                }
            }
            Held::Advisory(Some(conn), _) => {
                // A session lock must not go back to the pool with its connection: closing
                // the connection makes the server release it.
                drop(conn.detach());
            }
            Held::Advisory(None, _) | Held::Released => {}
        }
    }
}

fn lock_taken(key: &str) -> SyncError {
    SyncError::retry_uncounted(
        format!("lock `{key}` is held by another worker"),
        LOCK_RETRY_AFTER,
    )
}

/// The advisory lock id of a key: the first 8 bytes of its SHA-1, as the connector
/// framework computes it, so both can share a database without colliding by accident.
fn advisory_key(key: &str) -> i64 {
    let digest = Sha1::digest(key.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// A token unique to one acquisition in this process and, with the pid and clock, across
/// processes.
fn new_holder_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}-{nanos}-{n}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advisory_keys_are_stable() {
        assert_eq!(advisory_key("a"), advisory_key("a"));
        assert_ne!(advisory_key("a"), advisory_key("b"));
    }
}
