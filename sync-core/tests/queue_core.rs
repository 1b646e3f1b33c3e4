//! The queue's core semantics, each on SQLite and PostgreSQL: transactional enqueue, states,
//! retries and errors, eta and priority, timeouts, dead workers, graceful stop.

mod queue_support;

use std::sync::Arc;
use std::time::Duration;

use queue_support::*;
use sync_core::queue::{Delayable, JobFilter, JobId, JobState, RetryDelay, RetryPattern};
use sync_core::testing::test_databases;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_commits_or_rolls_back_with_the_callers_transaction() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let mut tx = db.storage.begin().await.unwrap();
        let id = queue.delay(&mut tx, record("rolled back")).await.unwrap();
        tx.rollback().await.unwrap();
        assert!(
            queue.job(id).await.is_err(),
            "{}: rolled back job exists",
            db.name
        );

        let mut tx = db.storage.begin().await.unwrap();
        sqlx::query("CREATE TABLE local_write (n BIGINT)")
            .execute(&mut *tx)
            .await
            .unwrap();
        let id = queue.delay(&mut tx, record("committed")).await.unwrap();
        tx.commit().await.unwrap();
        let stored = job(&queue, id).await;
        assert_eq!(stored.state, JobState::Pending, "{}", db.name);
        assert_eq!(stored.priority, 10);
        assert_eq!(stored.max_retries, 5);
        assert_eq!(stored.channel, "root");
        assert_eq!(stored.name, "record");
        assert!(stored.args.contains("committed"));
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_runs_jobs_in_priority_then_creation_order() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        let a = enqueue(&queue, record("a")).await;
        let b = enqueue(&queue, record("b").priority(5)).await;
        let c = enqueue(&queue, record("c")).await;
        let many = queue
            .enqueue_many(
                (0..20)
                    .map(|i| record(&format!("m{i}")).priority(20))
                    .collect(),
            )
            .await
            .unwrap();
        assert_eq!(many.len(), 20);
        let stats = worker(&queue, &log)
            .concurrency(1)
            .build()
            .run_until_idle()
            .await
            .unwrap();
        assert_eq!(stats.done, 23, "{}", db.name);
        let events = log.events();
        assert_eq!(&events[..3], ["b", "a", "c"], "{}", db.name);
        assert_eq!(events[3], "m0");
        assert_eq!(events[22], "m19");
        for id in [a, b, c] {
            let j = job(&queue, id).await;
            assert_eq!(j.state, JobState::Done);
            assert!(j.date_started.is_some() && j.date_done.is_some());
            assert!(j.worker_id.is_some());
            // A first try that succeeds leaves no history row: the job row tells it all.
            assert!(queue.job_history(id).await.unwrap().is_empty());
        }
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eta_delays_a_job() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        let later = enqueue(&queue, record("later").eta(Duration::from_secs(3600))).await;
        let at = chrono::Utc::now() + chrono::Duration::milliseconds(300);
        let soon = enqueue(&queue, record("soon").eta(at)).await;
        let now = enqueue(&queue, record("now")).await;
        worker(&queue, &log).build().run_until_idle().await.unwrap();
        assert_eq!(log.events(), ["now"], "{}", db.name);
        tokio::time::sleep(Duration::from_millis(400)).await;
        worker(&queue, &log).build().run_until_idle().await.unwrap();
        assert_eq!(log.events(), ["now", "soon"], "{}", db.name);
        assert_eq!(state(&queue, later).await, JobState::Pending);
        assert_eq!(state(&queue, soon).await, JobState::Done);
        assert_eq!(state(&queue, now).await, JobState::Done);
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retryable_errors_retry_and_count() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        let recovers = enqueue(&queue, flaky("recovers", 2, "retry")).await;
        let exhausts = enqueue(&queue, flaky("exhausts", 10, "retry").max_retries(3)).await;
        let uncounted = enqueue(&queue, flaky("uncounted", 4, "uncounted").max_retries(2)).await;
        let forever = enqueue(&queue, flaky("forever", 7, "retry").max_retries(0)).await;
        worker(&queue, &log).build().run_until_idle().await.unwrap();

        let j = job(&queue, recovers).await;
        assert_eq!((j.state, j.retry), (JobState::Done, 2), "{}", db.name);
        assert_eq!(j.result.as_deref(), Some("recovers ok"));
        let history = queue.job_history(recovers).await.unwrap();
        let states: Vec<_> = history.iter().map(|h| h.state).collect();
        assert_eq!(
            states,
            [JobState::Pending, JobState::Pending, JobState::Done]
        );
        assert!(
            history[0]
                .message
                .as_deref()
                .unwrap()
                .contains("remote busy")
        );
        assert!(
            history[0]
                .message
                .as_deref()
                .unwrap()
                .starts_with("Retryable: "),
            "{}: each try keeps its error chain, kind first: {:?}",
            db.name,
            history[0].message
        );

        let j = job(&queue, exhausts).await;
        assert_eq!((j.state, j.retry), (JobState::Failed, 3), "{}", db.name);
        assert!(
            j.exc_message
                .as_deref()
                .unwrap()
                .starts_with("Max. retries (3) reached"),
            "{:?}",
            j.exc_message
        );

        // Four uncounted retries with max_retries = 2: never exhausted.
        let j = job(&queue, uncounted).await;
        assert_eq!((j.state, j.retry), (JobState::Done, 0), "{}", db.name);

        // max_retries = 0 retries forever.
        let j = job(&queue, forever).await;
        assert_eq!((j.state, j.retry), (JobState::Done, 7), "{}", db.name);
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_patterns_and_explicit_delays_set_the_eta() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        // Retryable without a delay of its own: the pattern decides (1 try → 100..=200 s).
        let pattern = RetryPattern::new()
            .step(1, RetryDelay::Range(100, 200))
            .step(5, RetryDelay::Fixed(900));
        let id = enqueue(
            &queue,
            Delayable::from_parts("no_delay", ())
                .unwrap()
                .retry_pattern(pattern),
        )
        .await;
        struct NoDelay;
        impl sync_core::queue::JobFunction for NoDelay {
            const NAME: &'static str = "no_delay";
            type Args = ();
            fn perform(
                _: sync_core::queue::JobContext,
                _: (),
            ) -> sync_core::queue::BoxFuture<sync_core::SyncResult<sync_core::queue::JobOutput>>
            {
                Box::pin(async { Err(sync_core::SyncError::retryable("later", None)) })
            }
        }
        let before = chrono::Utc::now();
        sync_core::queue::Worker::builder(queue.clone(), registry().register::<NoDelay>())
            .data(log.clone())
            .build()
            .run_until_idle()
            .await
            .unwrap();
        let j = job(&queue, id).await;
        assert_eq!((j.state, j.retry), (JobState::Pending, 1), "{}", db.name);
        let wait = (j.eta.unwrap() - before).num_seconds();
        assert!((99..=201).contains(&wait), "{}: eta in {wait} s", db.name);
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_to_do_is_done_and_other_errors_fail_with_their_chain() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        let nothing = enqueue(&queue, flaky("n", 1, "nothing")).await;
        let fails = enqueue(&queue, flaky("f", 1, "fail")).await;
        let bad_args = enqueue(
            &queue,
            Delayable::from_parts("record", serde_json::json!({"label": "x"})).unwrap(),
        )
        .await;
        let unknown = enqueue(&queue, Delayable::from_parts("nobody", ()).unwrap()).await;
        worker(&queue, &log).build().run_until_idle().await.unwrap();

        let j = job(&queue, nothing).await;
        assert_eq!(j.state, JobState::Done, "{}", db.name);
        assert_eq!(j.result.as_deref(), Some("already imported"));

        let j = job(&queue, fails).await;
        assert_eq!(j.state, JobState::Failed, "{}", db.name);
        assert_eq!(j.exc_name.as_deref(), Some("InvalidData"));
        assert!(j.exc_info.as_deref().unwrap().contains("field `email`"));
        assert!(j.date_failed.is_some());

        let j = job(&queue, bad_args).await;
        assert_eq!(j.state, JobState::Failed, "{}", db.name);
        let message = j.exc_message.unwrap();
        assert!(
            message.contains("job `record`") && message.contains("missing field `tag`"),
            "{message}"
        );
        let j = job(&queue, unknown).await;
        assert_eq!(j.state, JobState::Failed);
        assert!(
            j.exc_message
                .unwrap()
                .contains("no job function named `nobody`")
        );
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_try_that_runs_past_its_timeout_is_stopped_and_retried() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        let id = enqueue(
            &queue,
            sleep("slow", 10_000, "k")
                .timeout(Duration::from_millis(100))
                .max_retries(2)
                .retry_pattern(RetryPattern::new().step(0, RetryDelay::Fixed(0))),
        )
        .await;
        let started = std::time::Instant::now();
        worker(&queue, &log).build().run_until_idle().await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        let j = job(&queue, id).await;
        assert_eq!((j.state, j.retry), (JobState::Failed, 2), "{}", db.name);
        assert!(j.exc_message.unwrap().contains("timed out"));
        assert!(log.events().is_empty());
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_of_a_dead_worker_are_requeued_with_the_retry_counted() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        let survivor = enqueue(&queue, record("survivor")).await;
        let killer = enqueue(&queue, record("killer").max_retries(1)).await;
        // Simulate a worker that claimed both and died: leases already expired.
        sqlx::query(
            "UPDATE queue_jobs SET state = 'started', worker_id = 'dead-worker', attempt = 1, \
             lease_expires_at = 1 WHERE id IN ($1, $2)",
        )
        .bind(survivor.0)
        .bind(killer.0)
        .execute(db.storage.pool())
        .await
        .unwrap();
        let stats = worker(&queue, &log)
            .lease(Duration::from_millis(300))
            .build()
            .run_until_idle()
            .await
            .unwrap();
        assert_eq!(stats.rescued, 2, "{}", db.name);
        let j = job(&queue, survivor).await;
        assert_eq!((j.state, j.retry), (JobState::Done, 1), "{}", db.name);
        assert_eq!(j.attempt, 2);
        // A job that uses its last try killing its worker ends failed, not in a loop.
        let j = job(&queue, killer).await;
        assert_eq!(j.state, JobState::Failed, "{}", db.name);
        assert_eq!(j.exc_name.as_deref(), Some("LeaseExpired"));
        assert_eq!(log.events(), ["survivor"]);
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_worker_cannot_overwrite_a_requeued_job() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        let id = enqueue(&queue, sleep("long", 600, "k")).await;
        let w = worker(&queue, &log).build();
        let run = tokio::spawn(w.run_until_idle());
        // Wait for it to start, then requeue under its feet (fences the running attempt).
        for _ in 0..100 {
            if job(&queue, id).await.state == JobState::Started {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(queue.cancel(&[id]).await.unwrap(), 1);
        run.await.unwrap().unwrap();
        // The try finished, but its result was fenced out: the job stays cancelled.
        assert_eq!(log.events(), ["long"]);
        assert_eq!(state(&queue, id).await, JobState::Cancelled, "{}", db.name);
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_lets_running_jobs_finish_within_the_grace_and_releases_the_rest() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        let quick = enqueue(&queue, sleep("quick", 200, "k")).await;
        let stuck = enqueue(&queue, sleep("stuck", 60_000, "k")).await;
        let waiting = enqueue(&queue, sleep("waiting", 10, "k").priority(50)).await;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let w = worker(&queue, &log)
            .concurrency(2)
            .prefetch(1)
            .grace(Duration::from_millis(600))
            .build();
        let run = tokio::spawn(w.run_until(async {
            let _ = stop_rx.await;
        }));
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop_tx.send(()).unwrap();
        let stats = run.await.unwrap().unwrap();
        assert_eq!(stats.done, 1, "{}", db.name);
        assert_eq!(state(&queue, quick).await, JobState::Done);
        let j = job(&queue, stuck).await;
        assert_eq!(j.state, JobState::Pending, "{}", db.name);
        assert_eq!(j.retry, 0, "a graceful release does not count a retry");
        assert!(j.worker_id.is_none());
        assert_eq!(state(&queue, waiting).await, JobState::Pending);
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_and_counting_jobs() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        enqueue(&queue, record("a").channel("magento.orders")).await;
        enqueue(&queue, record("b").channel("magento")).await;
        enqueue(&queue, flaky("c", 0, "retry").channel("other")).await;
        let magento = queue
            .list_jobs(&JobFilter {
                channel: Some("magento".into()),
                ..JobFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(magento.len(), 2, "{}", db.name);
        let flaky_jobs = queue
            .list_jobs(&JobFilter {
                name: Some("flaky".into()),
                states: vec![JobState::Pending],
                ..JobFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(flaky_jobs.len(), 1);
        assert_eq!(
            queue.count_by_state().await.unwrap(),
            [(JobState::Pending, 3)]
        );
        assert!(queue.job(JobId(999_999)).await.is_err());
        db.cleanup().await;
    }
}
