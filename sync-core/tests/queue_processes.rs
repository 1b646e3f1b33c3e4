//! Real worker processes: two processes drain 10,000 jobs on PostgreSQL with no job run
//! twice and none lost; a worker killed with SIGKILL in the middle of a job has the job run
//! again after its lease expires, with the retry counted.
//!
//! The worker processes are this test binary itself, re-run with `child_worker_process`
//! selected and the database URL in the environment.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sync_core::queue::{
    BoxFuture, Delayable, JobContext, JobFunction, JobId, JobOutput, JobRegistry, JobState, Queue,
    Worker, shutdown_signal,
};
use sync_core::testing::{TestDatabase, postgres, sqlite};
use sync_core::{SyncError, SyncResult};

const URL_VAR: &str = "SYNCKIT_QUEUE_TEST_CHILD_URL";
const LEASE_VAR: &str = "SYNCKIT_QUEUE_TEST_CHILD_LEASE_MS";

#[derive(Serialize, Deserialize)]
struct RunArgs {
    n: u32,
}

/// Records its run in `queue_test_runs` (no unique key, so a double run shows).
struct RecordRun;

impl JobFunction for RecordRun {
    const NAME: &'static str = "record_run";
    type Args = RunArgs;
    fn perform(ctx: JobContext, _args: RunArgs) -> BoxFuture<SyncResult<JobOutput>> {
        Box::pin(async move {
            sqlx::query("INSERT INTO queue_test_runs (job_id, attempt, pid) VALUES ($1, $2, $3)")
                .bind(ctx.job().id.0)
                .bind(ctx.job().attempt)
                .bind(i64::from(std::process::id()))
                .execute(ctx.storage().pool())
                .await
                .map_err(SyncError::from)?;
            Ok(None)
        })
    }
}

/// Records its run; its first attempt then hangs (the test kills its worker meanwhile).
struct HangOnce;

impl JobFunction for HangOnce {
    const NAME: &'static str = "hang_once";
    type Args = RunArgs;
    fn perform(ctx: JobContext, args: RunArgs) -> BoxFuture<SyncResult<JobOutput>> {
        Box::pin(async move {
            let attempt = ctx.job().attempt;
            RecordRun::perform(ctx, args).await?;
            if attempt == 1 {
                tokio::time::sleep(Duration::from_secs(600)).await;
            }
            Ok(Some(format!("finished on attempt {attempt}")))
        })
    }
}

fn registry() -> JobRegistry {
    JobRegistry::new()
        .register::<RecordRun>()
        .register::<HangOnce>()
}

/// The worker process: does nothing unless started by the tests below.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_worker_process() {
    let Ok(url) = std::env::var(URL_VAR) else {
        return;
    };
    let lease_ms: u64 = std::env::var(LEASE_VAR)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30_000);
    let queue = Queue::open(&url).await.expect("child: open the queue");
    let stats = Worker::builder(queue, registry())
        .concurrency(16)
        .lease(Duration::from_millis(lease_ms))
        .poll_interval(Duration::from_millis(100))
        .grace(Duration::from_secs(10))
        .build()
        .run_until(shutdown_signal())
        .await
        .expect("child: worker run");
    eprintln!("child {}: {stats:?}", std::process::id());
}

fn spawn_worker(db: &TestDatabase, lease: Duration) -> Child {
    let exe = std::env::current_exe().expect("the test binary's path");
    Command::new(exe)
        .args([
            "--exact",
            "child_worker_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(URL_VAR, &db.url)
        .env(LEASE_VAR, lease.as_millis().to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn a worker process")
}

fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
}

async fn create_runs_table(db: &TestDatabase) {
    sqlx::query("CREATE TABLE queue_test_runs (job_id BIGINT NOT NULL, attempt BIGINT NOT NULL, pid BIGINT NOT NULL)")
        .execute(db.storage.pool())
        .await
        .unwrap();
}

async fn count(db: &TestDatabase, sql: &'static str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(db.storage.pool())
        .await
        .unwrap();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_drain_10000_jobs_exactly_once() {
    let Some(db) = postgres().await.unwrap() else {
        return;
    };
    create_runs_table(&db).await;
    let queue = Queue::with_url(db.storage.clone(), &db.url);
    const JOBS: u32 = 10_000;
    let jobs: Vec<Delayable> = (0..JOBS)
        .map(|n| RecordRun::with_args(RunArgs { n }).unwrap())
        .collect();
    for chunk in jobs.chunks(2_000) {
        queue.enqueue_many(chunk.to_vec()).await.unwrap();
    }
    let mut workers = [
        spawn_worker(&db, Duration::from_secs(30)),
        spawn_worker(&db, Duration::from_secs(30)),
    ];
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let done = count(&db, "SELECT COUNT(*) FROM queue_jobs WHERE state = 'done'").await;
        if done == i64::from(JOBS) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for w in &mut workers {
        terminate(w);
    }
    for w in &mut workers {
        let status = w.wait().unwrap();
        assert!(status.success(), "a worker process exited with {status}");
    }
    let runs = count(&db, "SELECT COUNT(*) FROM queue_test_runs").await;
    let distinct = count(&db, "SELECT COUNT(DISTINCT job_id) FROM queue_test_runs").await;
    let done = count(&db, "SELECT COUNT(*) FROM queue_jobs WHERE state = 'done'").await;
    let processes = count(&db, "SELECT COUNT(DISTINCT pid) FROM queue_test_runs").await;
    assert_eq!(done, i64::from(JOBS), "every job is done");
    assert_eq!(distinct, i64::from(JOBS), "no job lost");
    assert_eq!(runs, i64::from(JOBS), "no job run twice");
    assert_eq!(processes, 2, "both processes took jobs");
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_of_a_sigkilled_worker_runs_again_with_the_retry_counted() {
    let mut dbs = vec![sqlite().await.unwrap()];
    dbs.extend(postgres().await.unwrap());
    for db in dbs {
        create_runs_table(&db).await;
        let queue = Queue::with_url(db.storage.clone(), &db.url);
        let id: JobId = queue
            .enqueue(HangOnce::with_args(RunArgs { n: 1 }).unwrap())
            .await
            .unwrap();
        let lease = Duration::from_millis(1500);
        let mut child = spawn_worker(&db, lease);
        let deadline = Instant::now() + Duration::from_secs(60);
        while count(&db, "SELECT COUNT(*) FROM queue_test_runs").await == 0 {
            assert!(
                Instant::now() < deadline,
                "{}: the job never started",
                db.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Claimed (its "started" mark is written in the worker's next batch).
        assert!(queue.job(id).await.unwrap().state.is_leased());
        child.kill().unwrap(); // SIGKILL: no cleanup, no release
        let _ = child.wait();
        assert!(
            queue.job(id).await.unwrap().state.is_leased(),
            "{}",
            db.name
        );

        tokio::time::sleep(lease + Duration::from_millis(300)).await;
        let stats = Worker::builder(queue.clone(), registry())
            .lease(Duration::from_secs(5))
            .poll_interval(Duration::from_millis(50))
            .build()
            .run_until_idle()
            .await
            .unwrap();
        assert_eq!(stats.rescued, 1, "{}", db.name);
        let job = queue.job(id).await.unwrap();
        assert_eq!(job.state, JobState::Done, "{}", db.name);
        assert_eq!(job.retry, 1, "{}: the dead worker's try counts", db.name);
        assert_eq!(job.attempt, 2);
        assert_eq!(job.result.as_deref(), Some("finished on attempt 2"));
        let history = queue.job_history(id).await.unwrap();
        assert!(
            history
                .iter()
                .any(|h| h.message.as_deref().unwrap_or("").contains("lease expired")),
            "{}: {history:?}",
            db.name
        );
        assert_eq!(count(&db, "SELECT COUNT(*) FROM queue_test_runs").await, 2);
        db.cleanup().await;
    }
}
