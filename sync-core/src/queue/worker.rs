//! [`Worker`]: claims jobs in batches, runs them concurrently under leases, stores their
//! outcomes in batches.
//!
//! A worker is one process's runner; any number of them can share a PostgreSQL database
//! (claims use `FOR UPDATE SKIP LOCKED`, wake-ups LISTEN/NOTIFY). On SQLite one process runs
//! one worker with N concurrent jobs. Each claimed job carries a lease (`worker_id`,
//! `lease_expires_at`) renewed by a heartbeat and an attempt number that fences out a
//! worker whose lease was taken away; every worker also rescues the jobs of dead workers.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::FutureExt;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;

use super::channels::ChannelConfig;
use super::drain::{self, DrainReport};
use super::handle::Queue;
use super::job::{JobContext, JobId, JobInfo};
use super::outcome::resolve;
use super::registry::JobRegistry;
use super::retry::RetryPattern;
use super::store::{self, ClaimedJob, Finished, Outcome};
use crate::error::{SyncError, SyncResult};
use crate::extras::Extras;
use crate::metrics::JobEnd;
use crate::storage::Dialect;

/// The PostgreSQL notification channel the queue's trigger signals on.
pub const NOTIFY_CHANNEL: &str = "synckit_queue";

/// How a [`Worker`] runs. Build it with [`Worker::builder`].
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Jobs running at once in this worker.
    pub concurrency: usize,
    /// Jobs claimed ahead of free slots, to claim in batches (unconstrained channels only:
    /// a claimed job counts against channel capacities).
    pub prefetch: usize,
    /// Most jobs claimed by one statement.
    pub claim_batch: usize,
    /// The channel tree.
    pub channels: ChannelConfig,
    /// How long a claimed job stays leased without a heartbeat.
    pub lease: Duration,
    /// How often the lease is renewed (default: a third of the lease).
    pub heartbeat: Duration,
    /// How often expired leases of dead workers are looked for.
    pub rescue_interval: Duration,
    /// How often the queue is polled when nothing wakes the worker (etas, retries).
    pub poll_interval: Duration,
    /// On stop, how long running jobs may take to finish before they are released.
    pub grace: Duration,
    /// The timeout of jobs that neither they nor their channel set.
    pub default_timeout: Option<Duration>,
    /// Listen for PostgreSQL notifications (needs the URL: see [`Queue::open`]).
    pub listen: bool,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        let lease = Duration::from_secs(30);
        WorkerOptions {
            concurrency: 8,
            prefetch: 8,
            claim_batch: 100,
            channels: ChannelConfig::default(),
            lease,
            heartbeat: lease / 3,
            rescue_interval: lease / 2,
            poll_interval: Duration::from_millis(500),
            grace: Duration::from_secs(30),
            default_timeout: None,
            listen: true,
        }
    }
}

/// Builds a [`Worker`].
#[derive(Debug)]
pub struct WorkerBuilder {
    queue: Queue,
    registry: JobRegistry,
    options: WorkerOptions,
    data: Extras,
}

impl WorkerBuilder {
    /// Jobs running at once (default 8); also sets the prefetch to the same number.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.options.concurrency = n.max(1);
        self.options.prefetch = n.max(1);
        self
    }

    /// Jobs claimed ahead of free slots (default: the concurrency).
    pub fn prefetch(mut self, n: usize) -> Self {
        self.options.prefetch = n;
        self
    }

    /// Most jobs claimed at once (default 100).
    pub fn claim_batch(mut self, n: usize) -> Self {
        self.options.claim_batch = n.max(1);
        self
    }

    /// The channel tree (default: one unbounded `root`).
    pub fn channels(mut self, channels: ChannelConfig) -> Self {
        self.options.channels = channels;
        self
    }

    /// The lease of claimed jobs (default 30 s); heartbeat and rescue follow it.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.options.lease = lease;
        self.options.heartbeat = lease / 3;
        self.options.rescue_interval = lease / 2;
        self
    }

    /// How often the queue is polled without wake-ups (default 500 ms).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.options.poll_interval = interval;
        self
    }

    /// How long running jobs may finish when the worker stops (default 30 s).
    pub fn grace(mut self, grace: Duration) -> Self {
        self.options.grace = grace;
        self
    }

    /// The timeout of jobs that set none (default: none).
    pub fn default_timeout(mut self, timeout: Duration) -> Self {
        self.options.default_timeout = Some(timeout);
        self
    }

    /// Replaces all options.
    pub fn options(mut self, options: WorkerOptions) -> Self {
        self.options = options;
        self
    }

    /// Typed data handed to every job through [`JobContext::data`] (e.g. the `App`).
    pub fn data<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.data.insert(value);
        self
    }

    /// The worker.
    pub fn build(self) -> Worker {
        Worker {
            queue: self.queue,
            registry: Arc::new(self.registry),
            options: self.options,
            data: Arc::new(self.data),
            worker_id: new_worker_id(),
        }
    }
}

/// What a worker did while it ran.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Tries that ended done.
    pub done: u64,
    /// Tries that ended in a retry.
    pub retried: u64,
    /// Tries that ended failed.
    pub failed: u64,
    /// Jobs of dead workers this worker requeued or failed.
    pub rescued: u64,
    /// Jobs given back on stop.
    pub released: u64,
}

/// Runs jobs from the queue.
///
/// ```no_run
/// use std::time::Duration;
/// use sync_core::queue::{JobRegistry, Queue, Worker, shutdown_signal};
/// # async fn demo(queue: Queue, registry: JobRegistry) -> sync_core::SyncResult<()> {
/// let worker = Worker::builder(queue, registry)
///     .concurrency(4)
///     .channels("root:4,root.magento:2".parse()?)
///     .lease(Duration::from_secs(30))
///     .build();
/// // Runs until SIGTERM or Ctrl-C, then lets running jobs finish within the grace period.
/// let stats = worker.run_until(shutdown_signal()).await?;
/// println!("{} jobs done", stats.done);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Worker {
    queue: Queue,
    registry: Arc<JobRegistry>,
    options: WorkerOptions,
    data: Arc<Extras>,
    worker_id: String,
}

/// A future that resolves on SIGTERM or Ctrl-C (SIGINT).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

enum WriterMsg {
    Started(JobId, i64),
    Finished(Finished),
}

struct Counters {
    done: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
    rescued: AtomicU64,
}

/// What the job tasks share.
struct Shared {
    queue: Queue,
    registry: Arc<JobRegistry>,
    data: Arc<Extras>,
    channels: ChannelConfig,
    default_timeout: Option<Duration>,
    writer: mpsc::UnboundedSender<WriterMsg>,
    /// Messages sent to the writer and not yet stored.
    unstored: AtomicUsize,
    /// A job task finished: a slot is free.
    slot_freed: Notify,
    /// The writer stored a batch: channel capacity or children may have been freed.
    stored: Notify,
    /// Something outside (PostgreSQL notification, rescue) says there may be work.
    external: Notify,
    counters: Counters,
    /// Whether some channel deletes its done jobs at once (`retention=0`).
    any_zero_retention: bool,
    /// When the heartbeat last renewed this worker's leases: a worker whose renewals fail
    /// stops claiming before the leases it holds run out (see [`Shared::may_claim`]).
    last_renewal: std::sync::Mutex<Instant>,
}

impl Shared {
    /// Whether the leases were renewed recently enough to take more work: once the last
    /// renewal is older than two thirds of the lease, the jobs held may soon be rescued by
    /// another worker, and new ones would be in the same danger.
    fn may_claim(&self, lease: Duration) -> bool {
        self.last_renewal
            .lock()
            .map_or(true, |at| at.elapsed() < lease * 2 / 3)
    }

    fn renewed(&self) {
        if let Ok(mut at) = self.last_renewal.lock() {
            *at = Instant::now();
        }
    }
}

impl Worker {
    /// A builder for a worker running `registry`'s functions on `queue`.
    pub fn builder(queue: Queue, registry: JobRegistry) -> WorkerBuilder {
        WorkerBuilder {
            queue,
            registry,
            options: WorkerOptions::default(),
            data: Extras::default(),
        }
    }

    /// This worker's id, as stored in the `worker_id` of the jobs it holds.
    pub fn id(&self) -> &str {
        &self.worker_id
    }

    /// Runs until `shutdown` resolves, then stops taking jobs, lets running ones finish
    /// within the grace period and gives the rest back to the queue.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> SyncResult<WorkerStats> {
        self.run(shutdown, StopWhen::Shutdown).await
    }

    /// Runs until nothing is runnable now (no due job left, none running), then stops.
    ///
    /// Jobs whose eta lies in the future stay pending, and so do retries scheduled ahead
    /// by the jobs it ran: to wait for those too, use [`Worker::run_until_drained`].
    pub async fn run_until_idle(self) -> SyncResult<WorkerStats> {
        self.run(std::future::pending(), StopWhen::Idle).await
    }

    /// Runs until no pending job is due within `limit` from now (retries included), then
    /// stops and reports what stayed pending.
    ///
    /// A job whose eta falls before the limit's end (the report's `deadline`) is waited
    /// for; one scheduled later is left and counted in [`DrainReport::left_later`]. At the
    /// deadline the drain stops even when due jobs could not run (a sequential channel
    /// blocked by a failed job): [`DrainReport::is_drained`] then says no.
    ///
    /// ```no_run
    /// # async fn demo(worker: sync_core::queue::Worker) -> sync_core::SyncResult<()> {
    /// let report = worker.run_until_drained(std::time::Duration::from_secs(60)).await?;
    /// if !report.is_drained() {
    ///     eprintln!("{} jobs due by {} are still pending", report.left_due, report.deadline);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn run_until_drained(self, limit: Duration) -> SyncResult<DrainReport> {
        let storage = self.queue.storage().clone();
        let deadline_micros = storage
            .now_micros()
            .await?
            .saturating_add(i64::try_from(limit.as_micros()).unwrap_or(i64::MAX / 4));
        let stop = StopWhen::Drained {
            deadline: Instant::now() + limit,
            deadline_micros,
        };
        let stats = self.run(std::future::pending(), stop).await?;
        drain::report(&storage, stats, deadline_micros).await
    }

    async fn run(
        self,
        shutdown: impl Future<Output = ()>,
        stop: StopWhen,
    ) -> SyncResult<WorkerStats> {
        let Worker {
            queue,
            registry,
            options,
            data,
            worker_id,
        } = self;
        let storage = queue.storage().clone();
        let (writer_tx, writer_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue: queue.clone(),
            registry,
            data,
            channels: options.channels.clone(),
            default_timeout: options.default_timeout,
            writer: writer_tx,
            unstored: AtomicUsize::new(0),
            slot_freed: Notify::new(),
            stored: Notify::new(),
            external: Notify::new(),
            counters: Counters {
                done: AtomicU64::new(0),
                retried: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                rescued: AtomicU64::new(0),
            },
            any_zero_retention: options
                .channels
                .iter()
                .any(|c| c.retention == Some(Duration::ZERO)),
            last_renewal: std::sync::Mutex::new(Instant::now()),
        });
        // Jobs of workers that died while this one was not running wait for no timer.
        match store::rescue_expired(&storage, &worker_id).await {
            Ok(rescued) => {
                shared
                    .counters
                    .rescued
                    .fetch_add(rescued.len() as u64, Ordering::Relaxed);
            }
            Err(e) => tracing::warn!("rescuing expired leases failed: {e}"),
        }
        let writer = tokio::spawn(write_loop(shared.clone(), worker_id.clone(), writer_rx));
        let mut background = JoinSet::new();
        background.spawn(heartbeat_loop(
            shared.clone(),
            worker_id.clone(),
            options.clone(),
        ));
        background.spawn(rescue_loop(
            shared.clone(),
            worker_id.clone(),
            options.rescue_interval,
        ));
        if options.listen
            && storage.dialect() == Dialect::Postgres
            && let Some(url) = queue.url()
        {
            background.spawn(listen_loop(shared.clone(), url.to_owned()));
        }

        let constrained = !options.channels.is_unconstrained();
        let prefetch = if constrained { 0 } else { options.prefetch };
        let slots = Arc::new(Semaphore::new(options.concurrency));
        let mut tasks: JoinSet<()> = JoinSet::new();
        let mut buffer: VecDeque<ClaimedJob> = VecDeque::new();
        let mut exhausted = false;
        let mut claim_errors = 0u32;
        let mut failure: Option<SyncError> = None;
        // Whether claims are paused because the leases were not renewed in time.
        let mut paused = false;
        let wake = queue.waker();
        tokio::pin!(shutdown);

        loop {
            while let Some(result) = tasks.try_join_next() {
                if let Err(e) = result
                    && e.is_panic()
                {
                    tracing::error!("a job task panicked outside its job: {e}");
                }
            }
            // Start buffered jobs while slots are free.
            while !buffer.is_empty() {
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    break;
                };
                if let Some(job) = buffer.pop_front() {
                    tasks.spawn(run_job(shared.clone(), job, permit));
                }
            }
            let running = options.concurrency - slots.available_permits();
            let room = (options.concurrency + prefetch).saturating_sub(running + buffer.len());
            // Register interest before claiming, so a wake-up during the claim is not lost.
            let woken = wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            // Read before claiming: an outcome stored during the claim may have released
            // work the claim could not see yet.
            let quiet = buffer.is_empty()
                && tasks.is_empty()
                && shared.unstored.load(Ordering::Acquire) == 0;
            let may_claim = shared.may_claim(options.lease);
            if may_claim == paused {
                paused = !may_claim;
                if paused {
                    tracing::warn!(
                        "worker {worker_id}: leases not renewed for two thirds of the lease; \
                         no new claims until the heartbeat succeeds"
                    );
                } else {
                    tracing::info!("worker {worker_id}: leases renewed; claiming again");
                }
            }
            // Set when a drain found retries still to come: wait for them instead of
            // claiming again at once.
            let mut waiting = false;
            if may_claim && !exhausted && room > 0 && buffer.len() <= prefetch / 2 {
                let want = room.min(options.claim_batch);
                let claimed = if constrained {
                    claim_constrained(&shared, &worker_id, options.lease, want).await
                } else {
                    store::claim_unconstrained(&storage, &worker_id, options.lease, want).await
                };
                match claimed {
                    Ok(jobs) => {
                        claim_errors = 0;
                        exhausted = jobs.len() < want;
                        let got_none = jobs.is_empty();
                        buffer.extend(jobs);
                        if got_none && quiet {
                            match stop.idle_means_done(&storage).await {
                                Some(true) => break,
                                Some(false) => waiting = true,
                                None => {}
                            }
                        }
                        if !got_none {
                            continue;
                        }
                    }
                    Err(e) => {
                        claim_errors += 1;
                        tracing::warn!("claiming jobs failed (attempt {claim_errors}): {e}");
                        exhausted = true;
                        // A drain reports a persistent failure instead of spinning on it.
                        if stop.stops_when_idle() && claim_errors >= 3 {
                            failure = Some(e);
                            break;
                        }
                    }
                }
            }
            if stop.stops_when_idle() && quiet && exhausted && may_claim && !waiting {
                // Everything ran and was stored: claim once more (children may have been
                // released) before stopping.
                exhausted = false;
                continue;
            }
            let poll = if claim_errors > 0 {
                (options.poll_interval * claim_errors.min(10)).min(Duration::from_secs(10))
            } else {
                options.poll_interval
            };
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                () = shared.slot_freed.notified() => {}
                () = shared.stored.notified() => exhausted = false,
                () = shared.external.notified() => exhausted = false,
                () = &mut woken => exhausted = false,
                () = tokio::time::sleep(poll) => exhausted = false,
            }
        }

        // Stop: no more claims; running jobs get the grace period.
        let _ = tokio::time::timeout(options.grace, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        background.abort_all();
        let counters = &shared.counters;
        let mut stats = WorkerStats {
            done: counters.done.load(Ordering::Relaxed),
            retried: counters.retried.load(Ordering::Relaxed),
            failed: counters.failed.load(Ordering::Relaxed),
            rescued: counters.rescued.load(Ordering::Relaxed),
            released: 0,
        };
        // Let the writer store what finished, then give back what did not.
        drop(shared);
        if let Err(e) = writer.await {
            tracing::error!("the job writer stopped abnormally: {e}");
        }
        stats.released = store::release_worker(&storage, &worker_id).await?;
        match failure {
            Some(e) => Err(e),
            None => Ok(stats),
        }
    }
}

/// When [`Worker::run`] stops on its own.
#[derive(Debug, Clone, Copy)]
enum StopWhen {
    /// Only when the shutdown future resolves.
    Shutdown,
    /// When nothing is runnable now.
    Idle,
    /// When no pending job is due by the deadline (or the deadline passed).
    Drained {
        deadline: Instant,
        /// The same deadline on the database's clock, which etas are written with.
        deadline_micros: i64,
    },
}

impl StopWhen {
    fn stops_when_idle(self) -> bool {
        !matches!(self, StopWhen::Shutdown)
    }

    /// Whether a worker that found nothing to claim and nothing running is done: `None`
    /// when it never stops on its own, `Some(false)` when a drain still waits for jobs due
    /// before its deadline.
    async fn idle_means_done(self, storage: &crate::storage::Storage) -> Option<bool> {
        match self {
            StopWhen::Shutdown => None,
            StopWhen::Idle => Some(true),
            StopWhen::Drained {
                deadline,
                deadline_micros,
            } => {
                if Instant::now() >= deadline {
                    return Some(true);
                }
                match drain::pending_around(storage, deadline_micros).await {
                    Ok(pending) => Some(pending.due == 0),
                    Err(e) => {
                        // The deadline still ends the drain if this keeps failing.
                        tracing::warn!("counting the jobs left to drain failed: {e}");
                        Some(false)
                    }
                }
            }
        }
    }
}

/// Claims under channel capacities: one serialized transaction decides which jobs get the
/// free slots, walking due jobs in queue order and skipping channels that are full,
/// blocked by a failed job (sequential) or throttled.
async fn claim_constrained(
    shared: &Shared,
    worker_id: &str,
    lease: Duration,
    want: usize,
) -> SyncResult<Vec<ClaimedJob>> {
    let storage = shared.queue.storage();
    let dialect = storage.dialect();
    let channels = &shared.channels;
    let any_sequential = channels.iter().any(|c| c.sequential);
    let any_throttle = channels.iter().any(|c| c.throttle.is_some());
    let mut tx = store::begin_constrained_claim(storage).await?;
    let snap = store::channel_snapshot(&mut tx, dialect, any_sequential, any_throttle).await?;

    let mut free: HashMap<String, Option<u32>> = channels
        .iter()
        .map(|c| (c.name.clone(), c.capacity))
        .collect();
    for (raw, n) in &snap.running {
        for node in channels.path(raw) {
            if let Some(Some(f)) = free.get_mut(&node) {
                *f = f.saturating_sub(*n);
            }
        }
    }
    let mut blocked: HashSet<String> = HashSet::new();
    for raw in &snap.failed {
        for node in channels.path(raw) {
            if channels.get(&node).is_some_and(|c| c.sequential) {
                blocked.insert(node);
            }
        }
    }
    for spec in channels.iter() {
        if let (Some(throttle), Some(last)) = (spec.throttle, snap.last_started.get(&spec.name)) {
            let spacing = i64::try_from(throttle.as_micros()).unwrap_or(i64::MAX / 4);
            if snap.now < last.saturating_add(spacing) {
                blocked.insert(spec.name.clone());
            }
        }
    }
    for spec in channels.iter().filter(|c| c.sequential) {
        if blocked.contains(&spec.name) || free.get(&spec.name) == Some(&Some(0)) {
            continue;
        }
        // A sequential channel also waits for its first job when that job's eta is ahead.
        if let Some(Some(eta)) = store::sequential_head_eta(&mut tx, &spec.name).await?
            && eta > snap.now
        {
            blocked.insert(spec.name.clone());
        }
    }

    let mut chosen = Vec::new();
    let mut throttled_started = Vec::new();
    let mut excluded: Vec<String> = Vec::new();
    for _round in 0..8 {
        if chosen.len() >= want {
            break;
        }
        let limit = (want - chosen.len()) * 2 + 16;
        let candidates = store::candidates(&mut tx, dialect, &excluded, limit).await?;
        let mut round = Vec::new();
        for (id, raw) in &candidates {
            if chosen.len() + round.len() >= want {
                break;
            }
            let path = channels.path(raw);
            let fits = path.iter().all(|node| {
                !blocked.contains(node) && free.get(node).is_none_or(|f| f.is_none_or(|f| f > 0))
            });
            if fits {
                for node in &path {
                    if let Some(Some(f)) = free.get_mut(node) {
                        *f -= 1;
                    }
                    if channels.get(node).is_some_and(|c| c.throttle.is_some()) {
                        blocked.insert(node.clone());
                        throttled_started.push(node.clone());
                    }
                }
                round.push(*id);
            } else if !excluded.contains(raw) {
                excluded.push(raw.clone());
            }
        }
        chosen.extend(store::take(&mut tx, dialect, &round, worker_id, lease).await?);
        if candidates.len() < limit {
            break;
        }
    }
    for channel in &throttled_started {
        store::record_throttled_start(&mut tx, channel, snap.now).await?;
    }
    tx.commit().await?;
    store::sort_claimed(&mut chosen);
    Ok(chosen)
}

/// Runs one claimed job: marks it started, performs it under its timeout, catches panics,
/// resolves the outcome and hands it to the writer.
async fn run_job(shared: Arc<Shared>, job: ClaimedJob, permit: OwnedSemaphorePermit) {
    send(&shared, WriterMsg::Started(job.id, job.attempt));
    let timeout = job
        .timeout_ms
        .and_then(|ms| u64::try_from(ms).ok())
        .map(Duration::from_millis)
        .or_else(|| shared.channels.timeout(&job.channel))
        .or(shared.default_timeout);
    let ctx = JobContext::new(
        shared.queue.clone(),
        JobInfo {
            id: job.id,
            name: job.name.clone(),
            channel: job.channel.clone(),
            retry: job.retry,
            max_retries: job.max_retries,
            attempt: job.attempt,
        },
        shared.data.clone(),
    );
    let metrics = shared.queue.metrics();
    let waited =
        Duration::from_micros(u64::try_from(job.waited_us).unwrap_or(0)) + job.claimed_at.elapsed();
    metrics.job_started(&job.name, &job.channel, waited);
    let started = Instant::now();
    let perform =
        AssertUnwindSafe(shared.registry.perform(ctx, &job.name, &job.args)).catch_unwind();
    let result = match timeout {
        Some(limit) => match tokio::time::timeout(limit, perform).await {
            Ok(result) => result,
            Err(_) => Ok(Err(SyncError::retryable(
                format!("job `{}` timed out after {limit:?}", job.name),
                None,
            ))),
        },
        None => perform.await,
    };
    let result = result.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        Err(SyncError::Failed(format!(
            "job `{}` panicked: {message}",
            job.name
        )))
    });
    let took = started.elapsed();
    let exec_us = i64::try_from(took.as_micros()).unwrap_or(i64::MAX);
    let pattern: RetryPattern = job
        .retry_pattern
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or_default();
    if let Err(e) = &result
        && !matches!(e, SyncError::NothingToDo(_))
    {
        // The message names the job and never carries secrets (see SyncError).
        tracing::debug!(job = job.id.0, name = %job.name, "job try ended with: {e}");
    }
    let outcome = resolve(result, job.retry, job.max_retries, &pattern);
    let (counter, end) = match &outcome {
        Outcome::Done { .. } => (&shared.counters.done, JobEnd::Done),
        Outcome::Retry { .. } => (&shared.counters.retried, JobEnd::Retried),
        Outcome::Failed { .. } => (&shared.counters.failed, JobEnd::Failed),
    };
    counter.fetch_add(1, Ordering::Relaxed);
    metrics.job_finished(&job.name, &job.channel, took, end);
    send(
        &shared,
        WriterMsg::Finished(Finished {
            id: job.id,
            attempt: job.attempt,
            exec_us,
            has_dependents: job.has_dependents,
            delete_when_done: shared.any_zero_retention
                && shared.channels.retention(&job.channel).is_zero(),
            outcome,
        }),
    );
    drop(permit);
    shared.slot_freed.notify_one();
}

fn send(shared: &Shared, msg: WriterMsg) {
    shared.unstored.fetch_add(1, Ordering::AcqRel);
    if shared.writer.send(msg).is_err() {
        shared.unstored.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Stores what the job tasks report, in batches: whatever accumulated while the previous
/// batch was being written goes into the next one.
async fn write_loop(
    shared: Arc<Shared>,
    worker_id: String,
    mut rx: mpsc::UnboundedReceiver<WriterMsg>,
) {
    // Holding `shared` would keep the sender alive: keep only what is needed.
    let storage = shared.queue.storage().clone();
    let weak = Arc::downgrade(&shared);
    drop(shared);
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < 2000 {
            match rx.try_recv() {
                Ok(msg) => batch.push(msg),
                Err(_) => break,
            }
        }
        let count = batch.len();
        let mut started = Vec::new();
        let mut finished = Vec::new();
        for msg in batch {
            match msg {
                WriterMsg::Started(id, attempt) => started.push((id, attempt)),
                WriterMsg::Finished(f) => finished.push(f),
            }
        }
        // A job that finished in this batch needs no separate "started" write.
        let finished_ids: HashSet<JobId> = finished.iter().map(|f| f.id).collect();
        started.retain(|(id, _)| !finished_ids.contains(id));
        if !started.is_empty()
            && let Err(e) = store::mark_started(&storage, &started).await
        {
            tracing::warn!("marking {} jobs started failed: {e}", started.len());
        }
        let mut tries = 0u32;
        while let Err(e) = store::store_finished(&storage, &worker_id, &finished).await {
            tries += 1;
            // The outcome must not be lost: keep trying (the lease keeps the job ours
            // meanwhile, and the attempt number makes a late write harmless).
            tracing::warn!(
                "storing {} job outcomes failed (try {tries}): {e}",
                finished.len()
            );
            tokio::time::sleep(Duration::from_millis(100 * u64::from(tries.min(50)))).await;
            if tries >= 600 {
                tracing::error!("giving up storing {} job outcomes", finished.len());
                break;
            }
        }
        if let Some(shared) = weak.upgrade() {
            shared.unstored.fetch_sub(count, Ordering::AcqRel);
            shared.stored.notify_one();
        }
    }
}

async fn heartbeat_loop(shared: Arc<Shared>, worker_id: String, options: WorkerOptions) {
    let storage = shared.queue.storage().clone();
    let weak = Arc::downgrade(&shared);
    drop(shared);
    let mut interval = tokio::time::interval(options.heartbeat.max(Duration::from_millis(10)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if weak.strong_count() == 0 {
            break;
        }
        // A failed renewal is retried at once with a growing pause, not at the next tick:
        // the lease keeps running meanwhile.
        let mut failures = 0u32;
        loop {
            match store::heartbeat(&storage, &worker_id, options.lease).await {
                Ok(_) => {
                    match weak.upgrade() {
                        Some(shared) => shared.renewed(),
                        None => return,
                    }
                    if failures > 0 {
                        tracing::info!("worker heartbeat renewed after {failures} failure(s)");
                    }
                    break;
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!("worker heartbeat failed (try {failures}): {e}");
                    if weak.strong_count() == 0 {
                        return;
                    }
                    let pause = Duration::from_millis(50 * u64::from(failures.min(20)));
                    tokio::time::sleep(pause.min(options.heartbeat)).await;
                }
            }
        }
    }
}

async fn rescue_loop(shared: Arc<Shared>, worker_id: String, every: Duration) {
    let storage = shared.queue.storage().clone();
    let weak = Arc::downgrade(&shared);
    drop(shared);
    let mut interval = tokio::time::interval(every.max(Duration::from_millis(10)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The worker rescued once before starting: wait a full interval.
    interval.tick().await;
    loop {
        interval.tick().await;
        match store::rescue_expired(&storage, &worker_id).await {
            Ok(rescued) if !rescued.is_empty() => {
                tracing::warn!(
                    "requeued {} job(s) of a dead worker (lease expired): {:?}",
                    rescued.len(),
                    rescued
                );
                let Some(shared) = weak.upgrade() else { break };
                shared
                    .counters
                    .rescued
                    .fetch_add(rescued.len() as u64, Ordering::Relaxed);
                shared.external.notify_one();
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("rescuing expired leases failed: {e}"),
        }
        if weak.strong_count() == 0 {
            break;
        }
    }
}

async fn listen_loop(shared: Arc<Shared>, url: String) {
    let weak = Arc::downgrade(&shared);
    drop(shared);
    loop {
        match sqlx::postgres::PgListener::connect(&url).await {
            Ok(mut listener) => {
                if let Err(e) = listener.listen(NOTIFY_CHANNEL).await {
                    tracing::warn!("LISTEN {NOTIFY_CHANNEL} failed: {e}");
                } else {
                    // Wake once after (re)connecting: notifications sent meanwhile are lost.
                    if let Some(shared) = weak.upgrade() {
                        shared.external.notify_one();
                    }
                    loop {
                        match listener.recv().await {
                            Ok(_) => match weak.upgrade() {
                                Some(shared) => shared.external.notify_one(),
                                None => return,
                            },
                            Err(e) => {
                                tracing::warn!("queue notifications lost: {e}");
                                break;
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::warn!("cannot listen for queue notifications: {e}"),
        }
        if weak.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn new_worker_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".to_owned());
    format!(
        "{host}:{}:{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}
