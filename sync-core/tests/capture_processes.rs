//! Dispatchers as real processes and concurrent dispatchers: a dispatcher killed with
//! SIGKILL between claiming and committing loses and duplicates nothing (25 trials on each
//! database); two dispatchers on PostgreSQL never deliver one row twice.
//!
//! The dispatcher processes are this test binary itself, re-run with
//! `child_dispatcher_process` selected and the database URL in the environment; their
//! listener sleeps a little per event so that kills land inside the claiming transaction.

mod capture_support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use capture_support::{events, fixture, outbox_len};
use sync_core::capture::Dispatcher;
use sync_core::storage::Storage;
use sync_core::testing::{TestDatabase, test_databases};

const URL_VAR: &str = "SYNCKIT_CAPTURE_TEST_CHILD_URL";

/// The dispatcher process: does nothing unless started by the tests below.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_dispatcher_process() {
    let Ok(url) = std::env::var(URL_VAR) else {
        return;
    };
    let storage = Storage::open(&url).await.expect("child: open the database");
    let app = capture_support::app(&storage)
        .await
        .expect("child: the app");
    Dispatcher::new(app)
        .batch_size(10)
        .poll_interval(Duration::from_millis(5))
        .run_until(std::future::pending::<()>())
        .await
        .expect("child: dispatch");
}

fn spawn_dispatcher(db: &TestDatabase) -> Child {
    let exe = std::env::current_exe().expect("the test binary's path");
    Command::new(exe)
        .args([
            "--exact",
            "child_dispatcher_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(URL_VAR, &db.url)
        .env("CAPTURE_TEST_LISTENER_SLEEP_MS", "2")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn a dispatcher process")
}

/// A pseudo-random delay in `[min, min + spread)` ms, different in each trial.
fn jitter(trial: u64, min: u64, spread: u64) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()))
        .unwrap_or_default();
    Duration::from_millis(min + (nanos ^ trial.wrapping_mul(2_654_435_761)) % spread)
}

/// Each event of backend `a` per record id, as (id, count).
async fn creates_per_record(db: &TestDatabase, backend: i64) -> Vec<(i64, i64)> {
    sqlx::query_as(
        "SELECT local_id, COUNT(*) FROM capture_events WHERE backend_id = $1 \
         GROUP BY local_id ORDER BY local_id",
    )
    .bind(backend)
    .fetch_all(db.storage.pool())
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_dispatcher_loses_and_duplicates_nothing() {
    const TRIALS: u64 = 25;
    const PER_TRIAL: i64 = 40;
    for db in test_databases().await.unwrap() {
        let (app, a, _b) = fixture(&db).await;
        let mut killed_with_work_left = 0;
        for trial in 0..TRIALS {
            for _ in 0..PER_TRIAL {
                sqlx::query("INSERT INTO customers (email) VALUES ('x@example.com')")
                    .execute(db.storage.pool())
                    .await
                    .unwrap();
            }
            let mut child = spawn_dispatcher(&db);
            std::thread::sleep(jitter(trial, 150, 250));
            child.kill().expect("SIGKILL the dispatcher");
            child.wait().expect("reap the dispatcher");
            if outbox_len(&db.storage).await > 0 {
                killed_with_work_left += 1;
            }
        }
        Dispatcher::new(app).dispatch_pending().await.unwrap();
        let total = TRIALS as i64 * PER_TRIAL;
        let counts = creates_per_record(&db, a.0).await;
        assert_eq!(counts.len() as i64, total, "{}: a record lost", db.name);
        assert!(
            counts.iter().all(|(_, n)| *n == 1),
            "{}: a record delivered twice: {:?}",
            db.name,
            counts.iter().filter(|(_, n)| *n != 1).collect::<Vec<_>>()
        );
        assert_eq!(outbox_len(&db.storage).await, 0, "{}", db.name);
        // The kills must have hit dispatchers at work, or the trials proved nothing.
        assert!(
            killed_with_work_left > TRIALS / 2,
            "{}: only {killed_with_work_left} kills interrupted work",
            db.name
        );
        eprintln!(
            "{}: {TRIALS} SIGKILL trials, {killed_with_work_left} mid-work, {total} records each delivered once",
            db.name
        );
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_dispatchers_on_postgres_never_deliver_one_row_twice() {
    for db in test_databases().await.unwrap() {
        if db.name != "postgres" {
            db.cleanup().await;
            continue;
        }
        let (app, a, _b) = fixture(&db).await;
        // Inserts and updates of 200 records, so that rows of one record fall into both
        // dispatchers' scans.
        for _ in 0..200 {
            sqlx::query("INSERT INTO customers (email) VALUES ('x@example.com')")
                .execute(db.storage.pool())
                .await
                .unwrap();
        }
        for round in 0..5 {
            sqlx::query("UPDATE customers SET version = $1")
                .bind(round + 1)
                .execute(db.storage.pool())
                .await
                .unwrap();
        }
        let first = Dispatcher::new(app.clone()).batch_size(7);
        let second = Dispatcher::new(app.clone()).batch_size(7);
        let (one, two) = tokio::join!(
            tokio::spawn(async move { first.dispatch_pending().await }),
            tokio::spawn(async move { second.dispatch_pending().await })
        );
        let (one, two) = (one.unwrap().unwrap(), two.unwrap().unwrap());
        Dispatcher::new(app).dispatch_pending().await.unwrap();
        assert_eq!(one.rows + two.rows, 200 * 6, "every row consumed once");
        assert!(
            one.rows > 0 && two.rows > 0,
            "both dispatched: {one:?} {two:?}"
        );
        // Per record: one create first, then writes; never a second create.
        let seen: Vec<_> = events(&db.storage)
            .await
            .into_iter()
            .filter(|e| e.0 == a.0)
            .collect();
        for id in 1..=200 {
            let kinds: Vec<&str> = seen
                .iter()
                .filter(|e| e.1 == id)
                .map(|e| e.2.as_str())
                .collect();
            assert_eq!(kinds.first(), Some(&"create"), "record {id}: {kinds:?}");
            assert!(
                kinds[1..].iter().all(|k| *k == "write"),
                "record {id}: {kinds:?}"
            );
        }
        assert_eq!(outbox_len(&db.storage).await, 0);
        db.cleanup().await;
    }
}
