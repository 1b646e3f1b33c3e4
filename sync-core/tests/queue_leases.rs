//! Worker leases under write contention, on SQLite and PostgreSQL: a worker whose heartbeat
//! is held up never rescues the jobs it is still running, so no job runs twice at once.

mod queue_support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use queue_support::*;
use sync_core::storage::{Dialect, Storage};
use sync_core::testing::{TestDatabase, test_databases};

/// How long the contention lasts.
const CONTENTION: Duration = Duration::from_secs(60);
/// How long each contending write transaction holds its locks: longer than the worker's
/// lease, so that the worker's leases do expire while it still runs their jobs.
const HOLD: Duration = Duration::from_millis(3500);
/// The worker's lease.
const LEASE: Duration = Duration::from_secs(3);

/// Hammers `db` with write transactions until `until`: on SQLite each one holds the
/// database's write lock, on PostgreSQL the row locks of the running jobs.
async fn contend(db_url: String, dialect: Dialect, until: Instant) -> u64 {
    let writer = Storage::connect(&db_url, Default::default()).await.unwrap();
    sqlx::query("CREATE TABLE IF NOT EXISTS contention (n BIGINT)")
        .execute(writer.pool())
        .await
        .unwrap();
    let mut transactions = 0;
    while Instant::now() < until {
        let mut tx = writer.begin().await.unwrap();
        sqlx::query("INSERT INTO contention (n) VALUES (1)")
            .execute(&mut *tx)
            .await
            .unwrap();
        if dialect == Dialect::Postgres {
            sqlx::query(
                "SELECT id FROM queue_jobs WHERE state IN ('enqueued', 'started') FOR UPDATE",
            )
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        }
        tokio::time::sleep(HOLD).await;
        tx.commit().await.unwrap();
        transactions += 1;
        // A short gap lets the others in now and then.
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    writer.close().await;
    transactions
}

async fn a_contended_worker_rescues_nothing_of_its_own(db: TestDatabase) {
    let queue = queue_of(&db);
    let log = Arc::new(Log::default());
    let mut ids = Vec::new();
    for i in 0..80 {
        ids.push(enqueue(&queue, sleep(&format!("job{i}"), 1500, "k")).await);
    }
    let until = Instant::now() + CONTENTION;
    let contention = tokio::spawn(contend(db.url.clone(), db.storage.dialect(), until));
    let stats = worker(&queue, &log)
        .concurrency(4)
        .lease(LEASE)
        .grace(Duration::from_secs(10))
        .build()
        .run_until(tokio::time::sleep_until(until.into()))
        .await
        .unwrap();
    let transactions = contention.await.unwrap();
    assert!(transactions > 5, "{}: the contention ran", db.name);

    assert_eq!(
        stats.rescued, 0,
        "{}: the worker rescued its own jobs",
        db.name
    );
    let mut starts: HashMap<String, usize> = HashMap::new();
    for (tag, _) in log.starts.lock().unwrap().iter() {
        *starts.entry(tag.clone()).or_default() += 1;
    }
    let twice: Vec<_> = starts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "{}: jobs ran twice: {twice:?}", db.name);
    assert!(stats.done > 0, "{}: the worker made progress", db.name);
    // Nothing was lost: every job is done, or back in the queue untouched.
    for id in ids {
        let j = job(&queue, id).await;
        assert!(
            matches!(
                j.state,
                sync_core::queue::JobState::Done | sync_core::queue::JobState::Pending
            ),
            "{}: job {id:?} is {:?}",
            db.name,
            j.state
        );
        assert_eq!(j.retry, 0, "{}: job {id:?} used a retry", db.name);
    }
    db.cleanup().await;
}

/// The two databases run side by side, so the test takes the contention's time once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_under_write_contention_never_rescues_its_own_jobs() {
    let runs = test_databases()
        .await
        .unwrap()
        .into_iter()
        .map(|db| tokio::spawn(a_contended_worker_rescues_nothing_of_its_own(db)));
    for run in runs.collect::<Vec<_>>() {
        run.await.unwrap();
    }
}

/// The quick, deterministic form of the same fault: a job this worker holds, whose lease
/// ran out, is still its own (it gives it back on stop, uncounted), never "rescued".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_never_rescues_a_job_it_holds_even_when_its_lease_ran_out() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        let id = enqueue(&queue, record("held")).await;
        let w = worker(&queue, &log).build();
        sqlx::query(
            "UPDATE queue_jobs SET state = 'started', worker_id = $1, attempt = 1, \
             lease_expires_at = 1 WHERE id = $2",
        )
        .bind(w.id().to_owned())
        .bind(id.0)
        .execute(db.storage.pool())
        .await
        .unwrap();
        let stats = w.run_until_idle().await.unwrap();
        assert_eq!(stats.rescued, 0, "{}", db.name);
        assert_eq!(stats.released, 1, "{}", db.name);
        let j = job(&queue, id).await;
        assert_eq!((j.state, j.retry), (sync_core::queue::JobState::Pending, 0));
        db.cleanup().await;
    }
}
