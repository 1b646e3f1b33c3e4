//! A database restart under load: jobs that lose their connection are retried without using
//! a retry, and the worker's own bookkeeping (claims, starts, outcomes) survives it.
//!
//! The restart is simulated by terminating every connection of the test's own database
//! (`pg_terminate_backend`, SQLSTATE 57P01), never by restarting the shared server.

mod queue_support;

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sync_core::SyncResult;
use sync_core::queue::{
    BoxFuture, Delayable, JobContext, JobFilter, JobFunction, JobOutput, JobRegistry, JobState,
    Worker,
};
use sync_core::testing::test_databases;

const JOBS: i64 = 3000;

#[derive(Serialize, Deserialize, Debug, Clone)]
struct TouchArgs {
    n: i64,
}

/// Writes one row in its own transaction: the database work a sync job does.
struct TouchJob;

impl JobFunction for TouchJob {
    const NAME: &'static str = "touch";
    type Args = TouchArgs;
    fn perform(ctx: JobContext, args: TouchArgs) -> BoxFuture<SyncResult<JobOutput>> {
        Box::pin(async move {
            let mut tx = ctx.storage().begin().await?;
            // A commit whose reply was lost with the connection runs again on the retry:
            // the write is idempotent, as a record import's is.
            sqlx::query("INSERT INTO touched (n) VALUES ($1) ON CONFLICT (n) DO NOTHING")
                .bind(args.n)
                .execute(&mut *tx)
                .await?;
            sqlx::query("SELECT COUNT(*) FROM touched")
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(None)
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_under_load_fails_no_job_and_counts_no_retry() {
    for db in test_databases().await.unwrap() {
        if db.name == "sqlite" {
            // A SQLite file has no server to restart; its busy errors are classified in
            // the unit tests of the error module.
            db.cleanup().await;
            continue;
        }
        let name = db.name;
        sqlx::query("CREATE TABLE touched (n BIGINT PRIMARY KEY)")
            .execute(db.storage.pool())
            .await
            .unwrap();
        let queue = queue_support::queue_of(&db);
        // One try only: a restart that used up a retry would fail the job at once.
        let jobs: Vec<Delayable> = (0..JOBS)
            .map(|n| TouchJob::with_args(TouchArgs { n }).unwrap().max_retries(1))
            .collect();
        for chunk in jobs.chunks(500) {
            queue.enqueue_many(chunk.to_vec()).await.unwrap();
        }

        let worker = Worker::builder(queue.clone(), JobRegistry::new().register::<TouchJob>())
            .concurrency(8)
            .poll_interval(Duration::from_millis(50))
            .lease(Duration::from_secs(30))
            .grace(Duration::from_secs(5))
            .build();
        let counter = queue.clone();
        let all_done = async move {
            let deadline = Instant::now() + Duration::from_secs(180);
            while Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(200)).await;
                // Done or failed for good: nothing is left to run.
                let settled: i64 = counter
                    .count_by_state()
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|(s, _)| matches!(s, JobState::Done | JobState::Failed))
                    .map(|(_, n)| n)
                    .sum();
                if settled == JOBS {
                    return;
                }
            }
        };
        let running = tokio::spawn(worker.run_until(all_done));

        // Several restarts while the worker drains the queue.
        let mut terminated = 0;
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            terminated += db.terminate_connections().await.unwrap();
        }
        assert!(terminated >= 5, "{name}: the restarts hit connections");
        let stats = running.await.unwrap().unwrap();
        eprintln!("{name}: {terminated} connections terminated; {stats:?}");

        assert_eq!(stats.failed, 0, "{name}: {stats:?}");
        let failed = queue
            .list_jobs(&JobFilter {
                states: vec![JobState::Failed],
                ..JobFilter::default()
            })
            .await
            .unwrap();
        assert!(
            failed.is_empty(),
            "{name}: jobs failed, e.g. {:?}",
            failed.first().map(|j| &j.exc_info)
        );
        let counts = queue.count_by_state().await.unwrap();
        assert_eq!(counts, vec![(JobState::Done, JOBS)], "{name}");
        let (retried,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM queue_jobs WHERE retry > 0")
            .fetch_one(db.storage.pool())
            .await
            .unwrap();
        assert_eq!(retried, 0, "{name}: no job used a retry");
        let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM touched")
            .fetch_one(db.storage.pool())
            .await
            .unwrap();
        assert_eq!(rows, JOBS, "{name}: every job wrote its row");
        db.cleanup().await;
    }
}
