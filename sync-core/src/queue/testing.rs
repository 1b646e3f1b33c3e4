//! Testing helpers for connector authors: a trap that records delayed jobs for assertions,
//! and a synchronous mode that performs delayed jobs in order as they are delayed.
//!
//! ```
//! # use sync_core::queue::{Delayable, Queue};
//! # async fn demo(queue: Queue) -> sync_core::SyncResult<()> {
//! let trap = queue.trap();
//! let mut conn = queue.storage().pool().acquire().await?;
//! queue.delay(&mut conn, Delayable::from_parts("export_customer", 7)?.priority(3)).await?;
//! trap.assert_jobs_count(1, Some("export_customer"));
//! trap.assert_enqueued("export_customer", 7);
//! assert_eq!(trap.jobs()[0].job.options().priority, 3);
//! queue.store_jobs(); // back to storing jobs
//! # Ok(()) }
//! ```

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::graph::FlatGraph;
use super::handle::{DelayedGraph, Mode, Queue};
use super::job::{JobContext, JobId, JobInfo};
use super::options::Delayable;
use super::registry::JobRegistry;
use crate::error::{SyncError, SyncResult};
use crate::extras::Extras;

/// One job recorded by a [`JobTrap`].
#[derive(Debug, Clone, PartialEq)]
pub struct TrappedJob {
    /// A made-up id, increasing in delay order.
    pub id: JobId,
    /// The call and its options.
    pub job: Delayable,
    /// The jobs it waits for (graphs).
    pub parents: Vec<JobId>,
}

impl TrappedJob {
    /// The arguments, decoded.
    pub fn args<T: DeserializeOwned>(&self) -> SyncResult<T> {
        serde_json::from_str(&self.job.args).map_err(|e| {
            SyncError::Failed(format!(
                "trapped job `{}`: cannot decode arguments: {e}",
                self.job.name
            ))
        })
    }
}

#[derive(Default)]
struct TrapInner {
    jobs: Vec<TrappedJob>,
    next_id: i64,
}

/// Records delayed jobs instead of storing them (queue_job's `trap_jobs`).
///
/// Install it with [`Queue::trap`]; every clone of the queue (the app's, the work
/// contexts') records into it until [`Queue::store_jobs`].
#[derive(Clone, Default)]
pub struct JobTrap {
    inner: Arc<Mutex<TrapInner>>,
}

impl fmt::Debug for JobTrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobTrap")
            .field("jobs", &self.lock().jobs.len())
            .finish()
    }
}

impl JobTrap {
    fn lock(&self) -> MutexGuard<'_, TrapInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn record(&self, flat: FlatGraph) -> DelayedGraph {
        let mut inner = self.lock();
        let mut ids = Vec::with_capacity(flat.jobs.len());
        for (i, job) in flat.jobs.into_iter().enumerate() {
            // A duplicate by identity key is the recorded job itself (recorded jobs all wait).
            if let Some(key) = job.identity_key_value()
                && let Some(dup) = inner
                    .jobs
                    .iter()
                    .find(|t| t.job.identity_key_value().as_deref() == Some(key.as_str()))
            {
                ids.push(dup.id);
                continue;
            }
            inner.next_id += 1;
            let id = JobId(inner.next_id);
            let parents = flat
                .edges
                .iter()
                .filter(|(child, _)| *child == i)
                .filter_map(|(_, parent)| ids.get(*parent).copied())
                .collect();
            inner.jobs.push(TrappedJob { id, job, parents });
            ids.push(id);
        }
        DelayedGraph {
            ids,
            skipped: false,
        }
    }

    /// The recorded jobs, in delay order.
    pub fn jobs(&self) -> Vec<TrappedJob> {
        self.lock().jobs.clone()
    }

    /// The recorded jobs of one function.
    pub fn jobs_named(&self, name: &str) -> Vec<TrappedJob> {
        self.lock()
            .jobs
            .iter()
            .filter(|t| t.job.name == name)
            .cloned()
            .collect()
    }

    /// How many jobs were recorded (of one function, with `only`).
    pub fn count(&self, only: Option<&str>) -> usize {
        self.lock()
            .jobs
            .iter()
            .filter(|t| only.is_none_or(|name| t.job.name == name))
            .count()
    }

    /// Panics unless exactly `expected` jobs (of one function, with `only`) were recorded.
    #[track_caller]
    pub fn assert_jobs_count(&self, expected: usize, only: Option<&str>) {
        let count = self.count(only);
        assert_eq!(
            count,
            expected,
            "expected {expected} delayed job(s){}, found {count}: {:?}",
            only.map(|n| format!(" of `{n}`")).unwrap_or_default(),
            self.lock()
                .jobs
                .iter()
                .map(|t| &t.job.name)
                .collect::<Vec<_>>()
        );
    }

    /// Panics unless a job of `name` with these arguments was recorded.
    #[track_caller]
    pub fn assert_enqueued(&self, name: &str, args: impl Serialize) {
        let expected = serde_json::to_value(args).unwrap_or(serde_json::Value::Null);
        let found = self.lock().jobs.iter().any(|t| {
            t.job.name == name
                && serde_json::from_str::<serde_json::Value>(&t.job.args)
                    .ok()
                    .as_ref()
                    == Some(&expected)
        });
        assert!(
            found,
            "no delayed `{name}` job with arguments {expected}; recorded: {:?}",
            self.lock()
                .jobs
                .iter()
                .map(|t| format!("{}({})", t.job.name, t.job.args))
                .collect::<Vec<_>>()
        );
    }

    /// Forgets the recorded jobs.
    pub fn clear(&self) {
        self.lock().jobs.clear();
    }

    /// Performs the recorded jobs (queue_job's `perform_enqueued_jobs`), including jobs
    /// they delay, and forgets them. Stops at the first error.
    ///
    /// The order is a worker's: among the jobs whose parents are all performed, the lowest
    /// priority first, then the first delayed. Ungrouped jobs thus run by priority and
    /// each graph in topological order.
    pub async fn perform_all(
        &self,
        queue: &Queue,
        registry: &JobRegistry,
        data: Extras,
    ) -> SyncResult<usize> {
        let data = Arc::new(data);
        let mut performed = 0;
        while let Some(trapped) = self.take_next_ready() {
            perform_inline(queue, registry, &data, trapped.id, &trapped.job).await?;
            performed += 1;
        }
        Ok(performed)
    }

    /// Removes and returns the next job to perform: no parent of it is still recorded.
    /// Parents are recorded before their children, so the earliest job is always ready.
    fn take_next_ready(&self) -> Option<TrappedJob> {
        let mut inner = self.lock();
        let recorded: HashSet<JobId> = inner.jobs.iter().map(|t| t.id).collect();
        let next = inner
            .jobs
            .iter()
            .enumerate()
            .filter(|(_, t)| t.parents.iter().all(|p| !recorded.contains(p)))
            .min_by_key(|(_, t)| (t.job.options.priority, t.id))
            .map(|(i, _)| i)?;
        Some(inner.jobs.remove(next))
    }
}

async fn perform_inline(
    queue: &Queue,
    registry: &JobRegistry,
    data: &Arc<Extras>,
    id: JobId,
    job: &Delayable,
) -> SyncResult<()> {
    let ctx = JobContext::new(
        queue.clone(),
        JobInfo {
            id,
            name: job.name.clone(),
            channel: job.options.channel.clone(),
            retry: 0,
            max_retries: job.options.max_retries,
            attempt: 1,
        },
        data.clone(),
    );
    match registry.perform(ctx, &job.name, &job.args).await {
        Ok(_) | Err(SyncError::NothingToDo(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The synchronous mode's runner: a FIFO so that jobs delayed by a running job run after
/// it, in order, instead of recursing.
pub(crate) struct SyncRunner {
    registry: JobRegistry,
    data: Arc<Extras>,
    fifo: Mutex<VecDeque<(JobId, Delayable)>>,
    running: AtomicBool,
    next_id: std::sync::atomic::AtomicI64,
}

impl SyncRunner {
    pub(crate) async fn perform_graph(
        &self,
        queue: &Queue,
        flat: FlatGraph,
    ) -> SyncResult<DelayedGraph> {
        let mut ids = Vec::with_capacity(flat.jobs.len());
        {
            let mut fifo = self.fifo.lock().unwrap_or_else(|p| p.into_inner());
            // Flattened graphs list parents before children: FIFO order is a topological
            // order.
            for job in flat.jobs {
                let id = JobId(self.next_id.fetch_add(1, Ordering::Relaxed) + 1);
                fifo.push_back((id, job));
                ids.push(id);
            }
        }
        if self.running.swap(true, Ordering::AcqRel) {
            // A job running in this mode delayed these: the outer loop performs them next.
            return Ok(DelayedGraph {
                ids,
                skipped: false,
            });
        }
        let result = loop {
            let next = self
                .fifo
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop_front();
            let Some((id, job)) = next else { break Ok(()) };
            if let Err(e) = perform_inline(queue, &self.registry, &self.data, id, &job).await {
                self.fifo.lock().unwrap_or_else(|p| p.into_inner()).clear();
                break Err(e);
            }
        };
        self.running.store(false, Ordering::Release);
        result.map(|()| DelayedGraph {
            ids,
            skipped: false,
        })
    }
}

impl Queue {
    /// Records delayed jobs instead of storing them, until [`Queue::store_jobs`].
    pub fn trap(&self) -> JobTrap {
        let trap = JobTrap::default();
        self.set_mode(Mode::Trap(trap.clone()));
        trap
    }

    /// Performs every delayed job right away, in order, instead of storing it
    /// (queue_job's `QUEUE_JOB__NO_DELAY`). An error of a job is returned by the `delay`
    /// that caused it. Jobs run on the connections they open themselves: on SQLite, delay
    /// outside a write transaction, or use [`Queue::trap`] and [`JobTrap::perform_all`].
    pub fn run_synchronously(&self, registry: JobRegistry, data: Extras) {
        self.set_mode(Mode::Synchronous(Arc::new(SyncRunner {
            registry,
            data: Arc::new(data),
            fifo: Mutex::new(VecDeque::new()),
            running: AtomicBool::new(false),
            next_id: std::sync::atomic::AtomicI64::new(0),
        })));
    }

    /// Stores delayed jobs again (the normal mode).
    pub fn store_jobs(&self) {
        self.set_mode(Mode::Store);
    }
}
