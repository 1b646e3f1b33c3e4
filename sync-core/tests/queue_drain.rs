//! `run_until_idle` runs what is runnable now; `run_until_drained` also waits for the
//! retries and etas due within its limit and reports what stayed pending. On SQLite and
//! PostgreSQL.

mod queue_support;

use std::sync::Arc;
use std::time::Duration;

use queue_support::*;
use serde::{Deserialize, Serialize};
use sync_core::SyncError;
use sync_core::queue::{BoxFuture, JobContext, JobFunction, JobOutput, JobState, WorkerBuilder};
use sync_core::testing::test_databases;

#[derive(Serialize, Deserialize, Debug, Clone)]
struct RetryLaterArgs {
    tag: String,
    /// Fail this many tries, each asking for a retry `delay_ms` later.
    failures: u32,
    delay_ms: u64,
}

/// Fails with a retry scheduled ahead, then records its tag.
struct RetryLaterJob;

impl JobFunction for RetryLaterJob {
    const NAME: &'static str = "retry_later";
    type Args = RetryLaterArgs;
    fn perform(
        ctx: JobContext,
        args: RetryLaterArgs,
    ) -> BoxFuture<sync_core::SyncResult<JobOutput>> {
        Box::pin(async move {
            let log = ctx.data::<Arc<Log>>()?;
            let tries = u32::try_from(ctx.job().attempt).unwrap_or(u32::MAX);
            if tries <= args.failures {
                log.events
                    .lock()
                    .unwrap()
                    .push(format!("{}:fail{tries}", args.tag));
                return Err(SyncError::retryable(
                    "remote busy",
                    Some(Duration::from_millis(args.delay_ms)),
                ));
            }
            log.events.lock().unwrap().push(args.tag.clone());
            Ok(None)
        })
    }
}

fn retry_later(tag: &str, failures: u32, delay_ms: u64) -> sync_core::queue::Delayable {
    RetryLaterJob::with_args(RetryLaterArgs {
        tag: tag.into(),
        failures,
        delay_ms,
    })
    .unwrap()
}

fn drain_worker(queue: &sync_core::queue::Queue, log: &Arc<Log>) -> WorkerBuilder {
    sync_core::queue::Worker::builder(queue.clone(), registry().register::<RetryLaterJob>())
        .data(log.clone())
        .poll_interval(Duration::from_millis(50))
        .lease(Duration::from_secs(5))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn until_idle_runs_only_what_is_runnable_now() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        let id = enqueue(&queue, retry_later("r", 1, 1500)).await;
        let stats = drain_worker(&queue, &log)
            .build()
            .run_until_idle()
            .await
            .unwrap();
        assert_eq!((stats.done, stats.retried), (0, 1), "{}", db.name);
        let j = job(&queue, id).await;
        assert_eq!((j.state, j.retry), (JobState::Pending, 1), "{}", db.name);
        assert_eq!(log.events(), ["r:fail1"], "{}", db.name);
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_waits_for_retries_due_within_its_limit_and_leaves_later_jobs() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        let retried = enqueue(&queue, retry_later("r", 2, 700)).await;
        let soon = enqueue(&queue, record("soon").eta(Duration::from_millis(800))).await;
        let later = enqueue(&queue, record("later").eta(Duration::from_secs(3600))).await;
        let report = drain_worker(&queue, &log)
            .build()
            .run_until_drained(Duration::from_secs(20))
            .await
            .unwrap();
        assert!(report.is_drained(), "{}: {report:?}", db.name);
        assert_eq!(report.stats.done, 2, "{}: {report:?}", db.name);
        assert_eq!(report.stats.retried, 2, "{}", db.name);
        assert_eq!((report.left_due, report.left_later), (0, 1), "{}", db.name);
        let later_eta = job(&queue, later).await.eta;
        assert_eq!(report.next_eta, later_eta, "{}", db.name);
        assert_eq!(state(&queue, retried).await, JobState::Done, "{}", db.name);
        assert_eq!(state(&queue, soon).await, JobState::Done, "{}", db.name);
        assert_eq!(state(&queue, later).await, JobState::Pending, "{}", db.name);
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_stops_at_its_limit_and_reports_the_due_jobs_it_could_not_run() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        // A failed job blocks its sequential channel: the job after it is due but never
        // runnable, so only the limit ends the drain.
        let bad = enqueue(&queue, flaky("bad", 1, "fail").channel("seq")).await;
        let blocked = enqueue(&queue, record("blocked").channel("seq")).await;
        let started = std::time::Instant::now();
        let report = drain_worker(&queue, &log)
            .channels("root:4,root.seq:1:sequential".parse().unwrap())
            .build()
            .run_until_drained(Duration::from_secs(1))
            .await
            .unwrap();
        assert!(started.elapsed() >= Duration::from_secs(1), "{}", db.name);
        assert!(!report.is_drained(), "{}: {report:?}", db.name);
        assert_eq!((report.left_due, report.left_later), (1, 0), "{}", db.name);
        assert_eq!(state(&queue, bad).await, JobState::Failed, "{}", db.name);
        assert_eq!(
            state(&queue, blocked).await,
            JobState::Pending,
            "{}",
            db.name
        );
        db.cleanup().await;
    }
}
