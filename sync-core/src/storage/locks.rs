//! Named locks between workers: PostgreSQL advisory locks, SQLite lease rows.
//!
//! Two jobs importing the same missing dependency must not both create it. An import takes
//! the lock `import:<backend>:<model>:<external id>` inside its write transaction
//! ([`Storage::try_lock_in_transaction`]; on SQLite the transaction's write lock already
//! serializes writers); an export holds `export:<backend>:<model>:<local id>` across its
//! remote call ([`Storage::try_lock`]). When another worker holds a lock, the job is retried
//! shortly without using one of its tries, as the connector framework's
//! `advisory_lock_or_retry` does.
//!
//! A lock held across work is a short lease, renewed in the background by the guard as job
//! leases are by the worker's heartbeat: a killed holder's lock is free again within the
//! lease ([`LOCK_LEASE`]), and a holder whose renewals fail learns that it lost the lock
//! ([`LockGuard::is_lost`], [`LockGuard::while_held`]) instead of running on without it.
//! On PostgreSQL the lock is a session advisory lock (it dies with its connection); a row in
//! `sync_locks` says who holds it, for `synckit locks list` (see [`Storage::list_locks`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sha1::{Digest, Sha1};
use sqlx::AssertSqlSafe;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection};
use tokio::sync::{Mutex, Notify};
use tokio::task::JoinHandle;

use super::connect::{Dialect, Storage};
use crate::error::{SyncError, SyncResult};

/// How long a job waits before retrying when the lock it needs is taken.
const LOCK_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The lease of the locks the sync flows hold across their work (a forward or reverse sync,
/// an export): the default job lease, so a killed holder's lock is free again by the time
/// its job is requeued. The guard renews it every third of it.
pub const LOCK_LEASE: Duration = Duration::from_secs(30);

/// A held lock, renewed in the background until it is released or dropped.
///
/// Release it with [`LockGuard::release`]; dropping it releases it too (at the latest when
/// its lease expires on SQLite, or when its connection closes on PostgreSQL). Run the work
/// it protects under [`LockGuard::while_held`], which stops the work if the lock is lost.
#[derive(Debug)]
pub struct LockGuard {
    key: String,
    holder: String,
    state: Arc<LockState>,
    renewer: Option<JoinHandle<()>>,
    inner: Held,
}

#[derive(Debug)]
enum Held {
    /// SQLite: a lease row owned by `holder`.
    Lease(Storage),
    /// PostgreSQL: a session advisory lock on this connection, shared with the renewer.
    Advisory(Storage, Arc<Mutex<Session>>, i64),
    Released,
}

/// Whether the lock is still held, as its renewer found.
#[derive(Debug, Default)]
struct LockState {
    lost: AtomicBool,
    lost_changed: Notify,
}

impl LockState {
    fn mark_lost(&self) {
        self.lost.store(true, Ordering::Release);
        self.lost_changed.notify_waiters();
    }
}

/// The connection holding a session advisory lock. Dropped without [`Session::take`], it
/// closes the connection instead of returning it to the pool, so the server releases the
/// lock: a pooled connection must never carry a lock to its next user.
#[derive(Debug)]
struct Session(Option<PoolConnection<Any>>);

impl Session {
    fn conn(&mut self) -> SyncResult<&mut PoolConnection<Any>> {
        self.0
            .as_mut()
            .ok_or_else(|| SyncError::Failed("the lock's connection is gone".into()))
    }

    /// The connection back, for a caller that released the lock on it.
    fn take(&mut self) -> Option<PoolConnection<Any>> {
        self.0.take()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            drop(conn.detach());
        }
    }
}

impl Storage {
    /// Takes the lock `key` with a lease of `lease`, renewed by the returned guard every
    /// third of it until the guard is released or dropped.
    ///
    /// When another holder has it, returns a retryable error that does not count as a retry.
    /// Sync flows use [`LOCK_LEASE`].
    pub async fn try_lock(&self, key: &str, lease: Duration) -> SyncResult<LockGuard> {
        let holder = new_holder_token();
        let now = self.dialect().now_micros_sql();
        let lease_micros = micros(lease);
        let state = Arc::new(LockState::default());
        let (inner, target) = match self.dialect() {
            Dialect::Sqlite => {
                let sql = format!(
                    "INSERT INTO sync_locks (lock_key, holder, expires_at, acquired_at) \
                     VALUES ($1, $2, {now} + $3, {now}) \
                     ON CONFLICT (lock_key) DO UPDATE SET holder = excluded.holder, \
                         expires_at = excluded.expires_at, acquired_at = excluded.acquired_at \
                     WHERE sync_locks.expires_at < {now} RETURNING lock_key"
                );
                let taken: Option<(String,)> = sqlx::query_as(AssertSqlSafe(sql))
                    .bind(key)
                    .bind(&holder)
                    .bind(lease_micros)
                    .fetch_optional(self.pool())
                    .await?;
                if taken.is_none() {
                    return Err(lock_taken(key));
                }
                (Held::Lease(self.clone()), RenewTarget::Lease(self.clone()))
            }
            Dialect::Postgres => {
                let lock_id = advisory_key(&format!("{}:{key}", self.lock_namespace()));
                let mut session = Session(Some(self.pool().acquire().await?));
                let (acquired,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
                    .bind(lock_id)
                    .fetch_one(&mut **session.conn()?)
                    .await?;
                if !acquired {
                    // Nothing is held: the connection may go back to the pool.
                    drop(session.take());
                    return Err(lock_taken(key));
                }
                // Holding the advisory lock makes any row of this key a dead holder's.
                let sql = format!(
                    "INSERT INTO sync_locks (lock_key, holder, expires_at, acquired_at, advisory_id) \
                     VALUES ($1, $2, {now} + $3, {now}, $4) \
                     ON CONFLICT (lock_key) DO UPDATE SET holder = excluded.holder, \
                         expires_at = excluded.expires_at, acquired_at = excluded.acquired_at, \
                         advisory_id = excluded.advisory_id"
                );
                // On failure the session is dropped, closing the connection and the lock.
                sqlx::query(AssertSqlSafe(sql))
                    .bind(key)
                    .bind(&holder)
                    .bind(lease_micros)
                    .bind(lock_id)
                    .execute(&mut **session.conn()?)
                    .await?;
                let session = Arc::new(Mutex::new(session));
                (
                    Held::Advisory(self.clone(), session.clone(), lock_id),
                    RenewTarget::Session(session, lock_id),
                )
            }
        };
        let renewer = Renewer {
            key: key.to_owned(),
            holder: holder.clone(),
            lease,
            state: state.clone(),
            target,
        };
        Ok(LockGuard {
            key: key.to_owned(),
            holder,
            state,
            renewer: Some(tokio::spawn(renewer.run())),
            inner,
        })
    }
}

/// Where a lease is renewed: the pool (SQLite) or the lock's own session (PostgreSQL).
enum RenewTarget {
    Lease(Storage),
    Session(Arc<Mutex<Session>>, i64),
}

/// The background task that keeps a lock's lease.
struct Renewer {
    key: String,
    holder: String,
    lease: Duration,
    state: Arc<LockState>,
    target: RenewTarget,
}

impl Renewer {
    async fn run(self) {
        let every = (self.lease / 3).max(Duration::from_millis(10));
        let mut last_renewal = Instant::now();
        let mut failures = 0u32;
        loop {
            let pause = if failures == 0 {
                every
            } else {
                Duration::from_millis(50 * u64::from(failures.min(20))).min(every)
            };
            tokio::time::sleep(pause).await;
            // A renewal stuck behind a busy database counts as a failed one: waiting for it
            // could take longer than the lease.
            let (renewed, stuck) = match tokio::time::timeout(every, self.renew()).await {
                Ok(renewed) => (renewed, false),
                Err(_) => (
                    Err(SyncError::retryable(
                        format!("renewing lock `{}` took longer than {every:?}", self.key),
                        None,
                    )),
                    true,
                ),
            };
            match renewed {
                Ok(true) => {
                    last_renewal = Instant::now();
                    failures = 0;
                }
                Ok(false) => {
                    tracing::warn!(
                        "lock `{}` was taken away from this holder (released by force, or its lease \
                         expired and another holder took it)",
                        self.key
                    );
                    self.state.mark_lost();
                    return;
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!("renewing lock `{}` failed (try {failures}): {e}", self.key);
                    // A session advisory lock does not outlive a broken session; a lease is
                    // given up before another holder may take it over.
                    if (matches!(self.target, RenewTarget::Session(..)) && !stuck)
                        || last_renewal.elapsed() >= self.lease * 2 / 3
                    {
                        tracing::warn!("lock `{}` is lost: it could not be renewed", self.key);
                        self.state.mark_lost();
                        return;
                    }
                }
            }
        }
    }

    /// Extends the lease; `false` when the row is no longer this holder's.
    async fn renew(&self) -> SyncResult<bool> {
        let lease = micros(self.lease);
        match &self.target {
            RenewTarget::Lease(storage) => {
                let now = storage.dialect().now_micros_sql();
                // An expired lease is not revived: another holder may have counted on it
                // being free, and the lock is lost from that moment on.
                let sql = format!(
                    "UPDATE sync_locks SET expires_at = {now} + $3 \
                     WHERE lock_key = $1 AND holder = $2 AND expires_at >= {now}"
                );
                let renewed = sqlx::query(AssertSqlSafe(sql))
                    .bind(&self.key)
                    .bind(&self.holder)
                    .bind(lease)
                    .execute(storage.pool())
                    .await?
                    .rows_affected();
                Ok(renewed == 1)
            }
            RenewTarget::Session(session, lock_id) => {
                // Through the lock's own connection: a failure means the session, and the
                // lock with it, may be gone. The advisory lock is what excludes others, so
                // the row is written again if someone removed it by hand.
                let now = Dialect::Postgres.now_micros_sql();
                let sql = format!(
                    "INSERT INTO sync_locks (lock_key, holder, expires_at, acquired_at, advisory_id) \
                     VALUES ($1, $2, {now} + $3, {now}, $4) \
                     ON CONFLICT (lock_key) DO UPDATE SET holder = excluded.holder, \
                         expires_at = excluded.expires_at, advisory_id = excluded.advisory_id"
                );
                let mut session = session.lock().await;
                sqlx::query(AssertSqlSafe(sql))
                    .bind(&self.key)
                    .bind(&self.holder)
                    .bind(lease)
                    .bind(*lock_id)
                    .execute(&mut **session.conn()?)
                    .await?;
                Ok(true)
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

    /// Whether the lock was lost: its lease could not be renewed in time (SQLite), its
    /// session broke (PostgreSQL), or an operator released it by force. Whatever the lock
    /// protects must stop.
    pub fn is_lost(&self) -> bool {
        self.state.lost.load(Ordering::Acquire)
    }

    /// Resolves once the lock is lost (never, while it is held).
    pub async fn lost(&self) {
        loop {
            let changed = self.state.lost_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.is_lost() {
                return;
            }
            changed.await;
        }
    }

    /// Runs `work` while the lock is held: if the lock is lost meanwhile, the work is
    /// dropped at its next await point and a retryable error names the lock, so that the
    /// work never goes on unprotected.
    ///
    /// ```no_run
    /// # async fn demo(storage: sync_core::storage::Storage) -> sync_core::SyncResult<()> {
    /// use sync_core::storage::LOCK_LEASE;
    /// let guard = storage.try_lock("export:1:customer:42", LOCK_LEASE).await?;
    /// let done = guard.while_held(async { Ok("exported") }).await;
    /// guard.release().await?;
    /// println!("{}", done?);
    /// # Ok(()) }
    /// ```
    pub async fn while_held<T>(
        &self,
        work: impl std::future::Future<Output = SyncResult<T>>,
    ) -> SyncResult<T> {
        tokio::select! {
            biased;
            () = self.lost() => Err(SyncError::retryable(
                format!("lock `{}` was lost while its work ran; the work stopped", self.key),
                Some(LOCK_RETRY_AFTER),
            )),
            result = work => result,
        }
    }

    /// Releases the lock now. A lost lock has nothing left to release.
    pub async fn release(mut self) -> SyncResult<()> {
        if let Some(renewer) = self.renewer.take() {
            renewer.abort();
        }
        if self.is_lost() {
            // Its row is another holder's or gone, its session broken: dropping the
            // session closes the connection.
            self.inner = Held::Released;
            return Ok(());
        }
        match std::mem::replace(&mut self.inner, Held::Released) {
            Held::Lease(storage) => {
                sqlx::query("DELETE FROM sync_locks WHERE lock_key = $1 AND holder = $2")
                    .bind(&self.key)
                    .bind(&self.holder)
                    .execute(storage.pool())
                    .await?;
            }
            Held::Advisory(_, session, lock_id) => {
                let mut session = session.lock().await;
                sqlx::query("DELETE FROM sync_locks WHERE lock_key = $1 AND holder = $2")
                    .bind(&self.key)
                    .bind(&self.holder)
                    .execute(&mut **session.conn()?)
                    .await?;
                sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(lock_id)
                    .execute(&mut **session.conn()?)
                    .await?;
                // Unlocked: the connection may serve others again.
                drop(session.take());
            }
            Held::Released => {}
        }
        Ok(())
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(renewer) = self.renewer.take() {
            renewer.abort();
        }
        let storage = match std::mem::replace(&mut self.inner, Held::Released) {
            // The session closes its connection when its last owner (this guard or the
            // aborted renewer) lets go of it, which releases the advisory lock.
            Held::Advisory(storage, _session, _) => storage,
            Held::Lease(storage) => storage,
            Held::Released => return,
        };
        // Best effort: the lease expires anyway if no runtime is there to delete the row (on
        // PostgreSQL a left row shows as not held in `locks list`).
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let key = std::mem::take(&mut self.key);
            let holder = std::mem::take(&mut self.holder);
            handle.spawn(async move {
                let _ = sqlx::query("DELETE FROM sync_locks WHERE lock_key = $1 AND holder = $2")
                    .bind(key)
                    .bind(holder)
                    .execute(storage.pool())
                    .await;
            });
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

/// A token unique to one acquisition in this process and, with the host, pid and clock,
/// across processes: `host:pid:…`, so that `locks list` tells where a holder runs.
fn new_holder_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".to_owned());
    format!("{host}:{}:{nanos:x}-{n}", std::process::id())
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX / 2)
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
