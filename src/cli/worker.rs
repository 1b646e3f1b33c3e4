//! `synckit worker`: runs queue jobs until SIGTERM or Ctrl-C, until nothing is runnable
//! (`--until-idle`), or until nothing is due within a limit (`--drain`).

use std::time::Duration;

use clap::Args;
use sync_core::queue::{ChannelConfig, DrainReport, JobRegistry, Worker, shutdown_signal};
use sync_core::{App, SyncResult};

/// Arguments of `synckit worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Jobs running at once in this process.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// The channel tree, e.g. `root:4,root.magento:2,root.slow:1:throttle=2`. Capacities are
    /// shared by every worker process on the database.
    #[arg(long, env = "SYNCKIT_CHANNELS", default_value = "root:*")]
    pub channels: String,
    /// Seconds a claimed job stays leased without a heartbeat; a dead worker's jobs are
    /// requeued after it.
    #[arg(long, default_value_t = 30.0)]
    pub lease: f64,
    /// Seconds running jobs get to finish on SIGTERM before they are given back.
    #[arg(long, default_value_t = 30.0)]
    pub grace: f64,
    /// Milliseconds between polls when nothing wakes the worker (etas, retries).
    #[arg(long, default_value_t = 500)]
    pub poll_ms: u64,
    /// Jobs claimed ahead of free slots (default: the concurrency).
    #[arg(long)]
    pub prefetch: Option<usize>,
    /// Stop when nothing is runnable now (no due job left, none running). Retries and
    /// jobs scheduled ahead stay pending: use --drain to wait for them.
    #[arg(long, conflicts_with = "drain")]
    pub until_idle: bool,
    /// Stop when no pending job is due within --drain-limit, waiting for the retries and
    /// etas that fall within it; exit non-zero if jobs due within it are still pending.
    #[arg(long)]
    pub drain: bool,
    /// Seconds from the start that --drain waits for due jobs and retries.
    #[arg(long, default_value_t = 300.0, requires = "drain")]
    pub drain_limit: f64,
}

/// The job functions every worker of the command line runs: the synchronizers' per-record
/// jobs, the integrations' forward and reverse syncs, plus `synckit.noop` for smoke tests.
/// A program embedding the command line adds its own (see [`Setup`](super::Setup)).
pub fn job_registry() -> JobRegistry {
    let mut jobs = sync_core::batch::register_jobs(JobRegistry::new().register::<noop>());
    sync_core::sync::register_sync_jobs(&mut jobs);
    jobs
}

/// Does nothing: checks that workers run jobs.
#[sync_derive::job(name = "synckit.noop", crate = "crate")]
async fn noop() -> sync_core::SyncResult<()> {
    Ok(())
}

fn seconds(value: f64, what: &str) -> SyncResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        sync_core::SyncError::Failed(format!("--{what} must be a positive number of seconds"))
    })
}

/// Runs a worker with the job functions `jobs`.
pub async fn run(app: &App, jobs: JobRegistry, args: WorkerArgs) -> SyncResult<String> {
    let channels: ChannelConfig = args.channels.parse()?;
    let mut builder = Worker::builder(app.queue().clone(), jobs)
        .concurrency(args.concurrency)
        .channels(channels.clone())
        .lease(seconds(args.lease, "lease")?)
        .grace(seconds(args.grace, "grace")?)
        .poll_interval(Duration::from_millis(args.poll_ms.max(1)))
        .data(app.clone());
    if let Some(prefetch) = args.prefetch {
        builder = builder.prefetch(prefetch);
    }
    let worker = builder.build();
    eprintln!(
        "worker {} started: concurrency {}, channels {channels}",
        worker.id(),
        args.concurrency
    );
    let mut drained = None;
    let stats = if args.until_idle || args.drain {
        // Integrations whose sync interval has passed get their forward sync first, and
        // scheduled batch imports that are due their job.
        sync_core::batch::schedule_due_syncs(app.queue()).await?;
        sync_core::sync::enqueue_due_imports(app).await?;
        if args.drain {
            let limit = seconds(args.drain_limit, "drain-limit")?;
            eprintln!(
                "draining: waiting for jobs and retries due within {} s",
                limit.as_secs_f64()
            );
            let report = worker.run_until_drained(limit).await?;
            let stats = report.stats;
            drained = Some(report);
            stats
        } else {
            worker.run_until_idle().await?
        }
    } else {
        // Periodic forward syncs of the integrations and scheduled batch imports, while the
        // worker runs.
        let tick = Duration::from_secs(30);
        let periodic = sync_core::batch::spawn_periodic_syncs(app.queue().clone(), tick);
        let imports = sync_core::sync::spawn_periodic_imports(app.clone(), tick);
        let stats = worker.run_until(shutdown_signal()).await;
        periodic.abort();
        imports.abort();
        stats?
    };
    let summary = format!(
        "worker stopped: {} done, {} retried, {} failed, {} rescued from dead workers, {} released",
        stats.done, stats.retried, stats.failed, stats.rescued, stats.released
    );
    match drained {
        None => Ok(summary),
        Some(report) => drain_outcome(summary, &report),
    }
}

/// The drain's last lines, or its failure when jobs due within the limit stayed pending.
fn drain_outcome(summary: String, report: &DrainReport) -> SyncResult<String> {
    let deadline = report.deadline.format("%Y-%m-%d %H:%M:%S UTC");
    let later = match report.next_eta {
        Some(next) if report.left_later > 0 => format!(
            "; {} pending job(s) scheduled after it, the next at {}",
            report.left_later,
            next.format("%Y-%m-%d %H:%M:%S UTC")
        ),
        _ => String::new(),
    };
    if report.is_drained() {
        Ok(format!(
            "{summary}\ndrained every job due by {deadline}{later}"
        ))
    } else {
        Err(sync_core::SyncError::Failed(format!(
            "{summary}\n{} pending job(s) due by {deadline} did not run (see `jobs list`){later}",
            report.left_due
        )))
    }
}
