//! `synckit worker --until-idle` runs what is runnable now; `--drain` also waits for the
//! retries due within `--drain-limit`, and fails when due jobs stayed pending. On SQLite and
//! PostgreSQL.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use synckit::cli::{Setup, run_args};
use synckit::queue::{BoxFuture, Delayable, JobContext, JobFunction, JobOutput, JobState, Queue};
use synckit::testing::{TestDatabase, test_databases};
use synckit::{SyncError, SyncResult};

#[derive(Serialize, Deserialize, Debug, Clone)]
struct FlakyArgs {
    /// Fail the first try, asking for a retry this much later.
    retry_after_ms: u64,
}

/// Fails its first try with a retry scheduled ahead.
struct FailsOnce;

impl JobFunction for FailsOnce {
    const NAME: &'static str = "test.fails_once";
    type Args = FlakyArgs;
    fn perform(ctx: JobContext, args: FlakyArgs) -> BoxFuture<SyncResult<JobOutput>> {
        Box::pin(async move {
            if ctx.job().attempt <= 1 {
                return Err(SyncError::retryable(
                    "remote busy",
                    Some(Duration::from_millis(args.retry_after_ms)),
                ));
            }
            Ok(None)
        })
    }
}

/// Runs one command with the test job registered.
async fn cli(db: &TestDatabase, args: &[&str]) -> SyncResult<String> {
    let mut all = vec!["synckit", "--database-url", db.url.as_str()];
    all.extend_from_slice(args);
    run_args(all, async |setup: &mut Setup<'_>| {
        *setup.jobs = std::mem::take(setup.jobs).register::<FailsOnce>();
        Ok(())
    })
    .await
}

fn fails_once() -> Delayable {
    FailsOnce::with_args(FlakyArgs {
        retry_after_ms: 1500,
    })
    .unwrap()
}

async fn state(queue: &Queue, id: synckit::queue::JobId) -> JobState {
    queue.job(id).await.unwrap().state
}

#[tokio::test]
async fn until_idle_leaves_scheduled_retries_and_drain_waits_for_them() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let queue = Queue::with_url(db.storage.clone(), &db.url);
        let id = queue.enqueue(fails_once()).await.unwrap();
        let later = queue
            .enqueue(fails_once().eta(Duration::from_secs(3600)))
            .await
            .unwrap();

        let idle = cli(&db, &["worker", "--until-idle", "--poll-ms", "50"])
            .await
            .unwrap();
        assert!(idle.contains("1 retried"), "{name}: {idle}");
        assert_eq!(state(&queue, id).await, JobState::Pending, "{name}");

        let drained = cli(
            &db,
            &[
                "worker",
                "--drain",
                "--drain-limit",
                "20",
                "--poll-ms",
                "50",
            ],
        )
        .await
        .unwrap();
        assert!(drained.contains("1 done"), "{name}: {drained}");
        assert!(
            drained.contains("drained every job due by"),
            "{name}: {drained}"
        );
        assert!(
            drained.contains("1 pending job(s) scheduled after it"),
            "{name}: {drained}"
        );
        assert_eq!(state(&queue, id).await, JobState::Done, "{name}");
        assert_eq!(state(&queue, later).await, JobState::Pending, "{name}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_drain_that_leaves_due_jobs_pending_fails() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let queue = Queue::with_url(db.storage.clone(), &db.url);
        // Retried 5 s later, past the 1 s limit: not due within it, so the drain is done.
        let id = queue
            .enqueue(
                FailsOnce::with_args(FlakyArgs {
                    retry_after_ms: 5000,
                })
                .unwrap(),
            )
            .await
            .unwrap();
        let done = cli(&db, &["worker", "--drain", "--drain-limit", "1"])
            .await
            .unwrap();
        assert!(
            done.contains("1 pending job(s) scheduled after it"),
            "{name}: {done}"
        );
        assert_eq!(state(&queue, id).await, JobState::Pending, "{name}");

        // A failed job blocks its sequential channel: the job behind it is due and never
        // runs, so the drain ends at its limit with an error.
        let failing = FailsOnce::with_args(FlakyArgs { retry_after_ms: 0 })
            .unwrap()
            .channel("seq")
            .max_retries(1);
        queue.enqueue(failing).await.unwrap();
        let blocked = queue.enqueue(fails_once().channel("seq")).await.unwrap();
        let error = cli(
            &db,
            &[
                "worker",
                "--drain",
                "--drain-limit",
                "1",
                "--channels",
                "root:4,root.seq:1:sequential",
            ],
        )
        .await
        .unwrap_err();
        assert!(
            error.to_string().contains("1 pending job(s) due by"),
            "{name}: {error}"
        );
        assert_eq!(state(&queue, blocked).await, JobState::Pending, "{name}");
        db.cleanup().await;
    }
}
