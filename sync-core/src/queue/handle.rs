//! [`Queue`]: the handle through which jobs are delayed.

use std::fmt;
use std::sync::{Arc, RwLock};

use sqlx::AnyConnection;
use tokio::sync::Notify;

use super::graph::Graph;
use super::job::JobId;
use super::options::Delayable;
use super::states::JobState;
use super::store;
use super::testing::{JobTrap, SyncRunner};
use crate::error::{SyncError, SyncResult};
use crate::storage::Storage;

/// What `delay` does: store the job (normal), record it (trap) or perform it (synchronous).
#[derive(Clone)]
pub(crate) enum Mode {
    Store,
    Trap(JobTrap),
    Synchronous(Arc<SyncRunner>),
}

struct Inner {
    storage: Storage,
    /// The database URL, when known: PostgreSQL workers LISTEN on it.
    url: Option<String>,
    mode: RwLock<Mode>,
    /// Wakes this process's workers when a job is delayed through this handle (the only
    /// wake-up SQLite has besides polling; PostgreSQL also has LISTEN/NOTIFY).
    wake: Arc<Notify>,
}

/// The handle through which jobs are delayed: cheap to clone, shared by the app, the work
/// contexts, the listeners and the workers.
///
/// Delaying is transactional: [`Queue::delay`] writes on the caller's connection, so a
/// local write and the jobs it causes commit or roll back together.
///
/// ```no_run
/// # use sync_core::queue::{Delayable, Queue};
/// # async fn demo(queue: Queue) -> sync_core::SyncResult<()> {
/// let mut tx = queue.storage().begin().await?;
/// // ... the local write, on &mut *tx ...
/// let job = Delayable::from_parts("export_customer", serde_json::json!({"id": 7}))?;
/// let id = queue.delay(&mut *tx, job).await?;
/// tx.commit().await?; // the job exists from here on, or never if we roll back
/// queue.wake();
/// # let _ = id; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Queue {
    inner: Arc<Inner>,
}

impl fmt::Debug for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("dialect", &self.inner.storage.dialect())
            .finish_non_exhaustive()
    }
}

/// The result of delaying a graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelayedGraph {
    /// The id of each job of the flattened graph, in graph order (for a job whose identity
    /// key matched a waiting job, that job's id: the graph's other jobs depend on it).
    pub ids: Vec<JobId>,
    /// Whether nothing was stored because every job of the graph matched a waiting job by
    /// its identity key.
    pub skipped: bool,
}

impl Queue {
    /// A queue on this storage. Workers on PostgreSQL then poll only; use
    /// [`Queue::open`] or [`Queue::with_url`] to let them LISTEN for new jobs.
    pub fn new(storage: Storage) -> Self {
        Self::build(storage, None)
    }

    /// A queue on this storage whose database URL is `url`, so that PostgreSQL workers can
    /// LISTEN for new jobs.
    pub fn with_url(storage: Storage, url: &str) -> Self {
        Self::build(storage, Some(url.to_owned()))
    }

    /// Opens (and migrates) the database at `url` and returns its queue.
    pub async fn open(url: &str) -> SyncResult<Self> {
        Ok(Self::with_url(Storage::open(url).await?, url))
    }

    pub(crate) fn url(&self) -> Option<&str> {
        self.inner.url.as_deref()
    }

    fn build(storage: Storage, url: Option<String>) -> Self {
        Queue {
            inner: Arc::new(Inner {
                url,
                storage,
                mode: RwLock::new(Mode::Store),
                wake: Arc::new(Notify::new()),
            }),
        }
    }

    /// The storage.
    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    pub(crate) fn mode(&self) -> Mode {
        match self.inner.mode.read() {
            Ok(mode) => mode.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub(crate) fn set_mode(&self, mode: Mode) {
        match self.inner.mode.write() {
            Ok(mut guard) => *guard = mode,
            Err(poisoned) => *poisoned.into_inner() = mode,
        }
    }

    pub(crate) fn waker(&self) -> Arc<Notify> {
        self.inner.wake.clone()
    }

    /// Wakes this process's workers now (call after committing a transaction that delayed
    /// jobs, to skip the poll interval on SQLite).
    pub fn wake(&self) {
        self.inner.wake.notify_waiters();
    }

    /// Delays one job on `conn`, typically the caller's transaction. With an identity key
    /// that matches a waiting job (pending or wait_dependencies), returns that job's id and
    /// stores nothing; a key whose jobs are all claimed or running stores one follow-up.
    pub async fn delay(&self, conn: &mut AnyConnection, job: Delayable) -> SyncResult<JobId> {
        let delayed = self.delay_graph(conn, job).await?;
        delayed
            .ids
            .first()
            .copied()
            .ok_or_else(|| SyncError::Failed("delaying a job returned no id".into()))
    }

    /// Delays many independent jobs on `conn` with multi-row inserts (jobs with identity
    /// keys are inserted one by one, as each may match a waiting duplicate).
    pub async fn delay_many(
        &self,
        conn: &mut AnyConnection,
        jobs: Vec<Delayable>,
    ) -> SyncResult<Vec<JobId>> {
        if !matches!(self.mode(), Mode::Store)
            || jobs.iter().any(|j| j.options.identity_key.is_some())
        {
            let mut ids = Vec::with_capacity(jobs.len());
            for job in jobs {
                ids.push(self.delay(conn, job).await?);
            }
            return Ok(ids);
        }
        store::insert_many(conn, self.storage().dialect(), &jobs, JobState::Pending).await
    }

    /// Delays a graph (chain, group, on_done) on `conn`. Jobs whose parents are not all
    /// done start in `wait_dependencies`. A job whose identity key matches a waiting job is
    /// not stored again: the graph's other jobs are, and its children depend on that job.
    pub async fn delay_graph(
        &self,
        conn: &mut AnyConnection,
        graph: impl Into<Graph>,
    ) -> SyncResult<DelayedGraph> {
        let flat = graph.into().flatten();
        if flat.jobs.is_empty() {
            return Ok(DelayedGraph {
                ids: Vec::new(),
                skipped: false,
            });
        }
        match self.mode() {
            Mode::Store => {}
            Mode::Trap(trap) => return Ok(trap.record(flat)),
            Mode::Synchronous(runner) => return runner.perform_graph(self, flat).await,
        }
        let dialect = self.storage().dialect();
        let graph_id = (flat.jobs.len() > 1).then(new_graph_id);
        let mut has_parents = vec![false; flat.jobs.len()];
        for &(child, _) in &flat.edges {
            has_parents[child] = true;
        }
        let mut ids = Vec::with_capacity(flat.jobs.len());
        let mut inserted = Vec::with_capacity(flat.jobs.len());
        for (i, job) in flat.jobs.iter().enumerate() {
            let state = if has_parents[i] {
                JobState::WaitDependencies
            } else {
                JobState::Pending
            };
            let (id, new) =
                store::insert_one(conn, dialect, job, state, graph_id.as_deref()).await?;
            ids.push(id);
            inserted.push(new);
        }
        // A node whose identity key matched a waiting job is that job: the other nodes are
        // stored and depend on it. Lock it first, so that it cannot finish between our
        // check and our commit without seeing its new children (its worker's release then
        // waits for us); one that is already done releases them right here.
        let mut existing_parents = Vec::new();
        for &(child, parent) in &flat.edges {
            // A duplicate child is an existing job with its own life: it gains no parents.
            if !inserted[child] {
                continue;
            }
            if !inserted[parent] && !existing_parents.contains(&ids[parent]) {
                store::lock_job(conn, dialect, ids[parent]).await?;
                existing_parents.push(ids[parent]);
            }
            store::insert_dependency(conn, ids[child], ids[parent]).await?;
        }
        if !existing_parents.is_empty() {
            store::release_children(conn, &existing_parents).await?;
        }
        let skipped = !inserted.contains(&true);
        Ok(DelayedGraph { ids, skipped })
    }

    /// Delays one job in a transaction of its own, commits, and wakes the workers.
    pub async fn enqueue(&self, job: Delayable) -> SyncResult<JobId> {
        let mut tx = self.storage().begin().await?;
        let id = self.delay(&mut tx, job).await?;
        tx.commit().await?;
        self.wake();
        Ok(id)
    }

    /// Delays many jobs in a transaction of their own (batched inserts), commits, wakes.
    pub async fn enqueue_many(&self, jobs: Vec<Delayable>) -> SyncResult<Vec<JobId>> {
        let mut tx = self.storage().begin().await?;
        let ids = self.delay_many(&mut tx, jobs).await?;
        tx.commit().await?;
        self.wake();
        Ok(ids)
    }

    /// Delays a graph in a transaction of its own, commits, wakes.
    pub async fn enqueue_graph(&self, graph: impl Into<Graph>) -> SyncResult<DelayedGraph> {
        let mut tx = self.storage().begin().await?;
        let delayed = self.delay_graph(&mut tx, graph).await?;
        tx.commit().await?;
        self.wake();
        Ok(delayed)
    }
}

/// A graph id unique across processes: pid, clock and a counter.
fn new_graph_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{:x}-{nanos:x}-{n:x}-{:x}",
        std::process::id(),
        rand::random::<u32>()
    )
}
