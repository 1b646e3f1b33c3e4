//! Management: show, requeue, set done, cancel, purge per channel retention in batches, on
//! SQLite and PostgreSQL.

mod queue_support;

use std::sync::Arc;
use std::time::Duration;

use queue_support::*;
use sync_core::queue::{ChannelConfig, JobChanges, JobState};
use sync_core::testing::test_databases;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_actions_are_recorded_in_the_history() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        let failed = enqueue(&queue, flaky("f", 1, "fail")).await;
        worker(&queue, &log).build().run_until_idle().await.unwrap();
        let j = job(&queue, failed).await;
        assert_eq!((j.state, j.retry), (JobState::Failed, 1), "{}", db.name);

        assert_eq!(queue.requeue(&[failed]).await.unwrap(), 1);
        let j = job(&queue, failed).await;
        assert_eq!((j.state, j.retry), (JobState::Pending, 0));
        assert!(j.exc_message.is_none() && j.date_failed.is_none());
        queue.cancel(&[failed]).await.unwrap();
        assert_eq!(state(&queue, failed).await, JobState::Cancelled);
        // Cancelling twice changes nothing.
        assert_eq!(queue.cancel(&[failed]).await.unwrap(), 0);
        queue.set_done(&[failed]).await.unwrap();
        assert_eq!(state(&queue, failed).await, JobState::Done);

        let history: Vec<_> = queue
            .job_history(failed)
            .await
            .unwrap()
            .into_iter()
            .map(|h| (h.state, h.message.unwrap_or_default()))
            .collect();
        assert_eq!(history.len(), 4, "{}: {history:?}", db.name);
        assert_eq!(history[0].0, JobState::Failed);
        assert_eq!(
            history[1],
            (JobState::Pending, "requeued by an operator".into())
        );
        assert_eq!(history[2].0, JobState::Cancelled);
        assert_eq!(history[3].0, JobState::Done);
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_deletes_old_done_and_cancelled_jobs_per_channel_retention() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        let mut ids = Vec::new();
        for i in 0..25 {
            ids.push(enqueue(&queue, record(&format!("a{i}")).channel("short")).await);
        }
        let long = enqueue(&queue, record("long").channel("long")).await;
        let cancelled = enqueue(
            &queue,
            record("c")
                .channel("short")
                .eta(std::time::Duration::from_secs(999)),
        )
        .await;
        let pending = enqueue(
            &queue,
            record("p")
                .channel("short")
                .eta(std::time::Duration::from_secs(999)),
        )
        .await;
        let graph = queue
            .enqueue_graph(record("parent").channel("short").on_done(record("child")))
            .await
            .unwrap();
        worker(&queue, &log).build().run_until_idle().await.unwrap();
        queue.cancel(&[cancelled]).await.unwrap();
        // Age every finished job by two days.
        let two_days: i64 = 2 * 86_400 * 1_000_000;
        sqlx::query(
            "UPDATE queue_jobs SET date_done = date_done - $1, date_cancelled = date_cancelled - $1",
        )
        .bind(two_days)
        .execute(db.storage.pool())
        .await
        .unwrap();
        let config: ChannelConfig = "root:*:retention=30,root.short:*:retention=1"
            .parse()
            .unwrap();
        let purged = queue.purge(&config, 10).await.unwrap();
        // The 25, the cancelled one and the graph's parent; the child runs in `root`, whose
        // retention is 30 days.
        assert_eq!(purged, 27, "{}", db.name);
        assert!(queue.job(ids[0]).await.is_err());
        assert!(queue.job(cancelled).await.is_err());
        assert_eq!(state(&queue, long).await, JobState::Done);
        assert_eq!(state(&queue, pending).await, JobState::Pending);
        assert_eq!(state(&queue, graph.ids[1]).await, JobState::Done);
        let (history,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM queue_job_history WHERE job_id NOT IN (SELECT id FROM queue_jobs)",
        )
        .fetch_one(db.storage.pool())
        .await
        .unwrap();
        assert_eq!(history, 0, "{}: history goes with its job", db.name);
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_retention_channel_deletes_done_jobs_at_once() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        let gone = enqueue(&queue, record("gone").channel("ephemeral")).await;
        let failed = enqueue(&queue, flaky("kept", 1, "fail").channel("ephemeral")).await;
        let graph = queue
            .enqueue_graph(
                record("parent")
                    .channel("ephemeral")
                    .on_done(record("child")),
            )
            .await
            .unwrap();
        let kept = enqueue(&queue, record("kept")).await;
        worker(&queue, &log)
            .channels("root:*,root.ephemeral:*:retention=0".parse().unwrap())
            .build()
            .run_until_idle()
            .await
            .unwrap();
        assert_eq!(log.events().len(), 5, "{}", db.name);
        assert!(queue.job(gone).await.is_err(), "{}", db.name);
        assert_eq!(state(&queue, failed).await, JobState::Failed);
        // A parent stays (done) so that its child could see it done.
        assert_eq!(state(&queue, graph.ids[0]).await, JobState::Done);
        assert_eq!(state(&queue, graph.ids[1]).await, JobState::Done);
        assert_eq!(state(&queue, kept).await, JobState::Done);
        db.cleanup().await;
    }
}

/// Issue #11, point 11: setting a failed job done clears its current error; the history
/// keeps it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_done_clears_the_error_of_a_failed_job_and_the_history_keeps_it() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        let failed = enqueue(&queue, flaky("f", 1, "fail")).await;
        worker(&queue, &log).build().run_until_idle().await.unwrap();
        let j = job(&queue, failed).await;
        assert_eq!(j.state, JobState::Failed, "{}", db.name);
        let message = j.exc_message.clone().unwrap();
        // The history keeps the try's whole error chain, which starts with the message's kind.
        let error = j.exc_info.clone().unwrap();
        assert!(error.contains(&message), "{}: {error}", db.name);

        assert_eq!(queue.set_done(&[failed]).await.unwrap(), 1);
        let j = job(&queue, failed).await;
        assert_eq!(j.state, JobState::Done, "{}", db.name);
        assert_eq!(
            (j.exc_name, j.exc_message, j.exc_info),
            (None, None, None),
            "{}",
            db.name
        );
        let history = queue.job_history(failed).await.unwrap();
        assert_eq!(history[0].state, JobState::Failed);
        assert_eq!(history[0].message.as_deref(), Some(error.as_str()));
        assert_eq!(history[1].state, JobState::Done);
        db.cleanup().await;
    }
}

/// Issue #11, point 11: the priority, ETA and channel of a stored job can be changed while
/// it is not claimed, running or done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn priority_eta_and_channel_change_for_jobs_not_started_or_done() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        let waiting = enqueue(&queue, record("waiting").eta(Duration::from_secs(3600))).await;
        let running = enqueue(&queue, record("running")).await;
        let done = enqueue(&queue, record("done")).await;
        queue.set_done(&[done]).await.unwrap();
        sqlx::query("UPDATE queue_jobs SET state = 'started', attempt = 1 WHERE id = $1")
            .bind(running.0)
            .execute(db.storage.pool())
            .await
            .unwrap();

        let changes = JobChanges::default()
            .priority(1)
            .eta(Duration::ZERO)
            .channel("urgent");
        let changed = queue
            .set_job_options(&[waiting, running, done], &changes)
            .await
            .unwrap();
        assert_eq!(changed, 1, "{}", db.name);
        let j = job(&queue, waiting).await;
        assert_eq!((j.priority, j.channel.as_str()), (1, "root.urgent"));
        assert!(j.eta.unwrap() <= chrono::Utc::now() + chrono::Duration::seconds(5));
        let history = queue.job_history(waiting).await.unwrap();
        let message = history.last().and_then(|h| h.message.clone()).unwrap();
        assert!(
            message.contains("priority 1") && message.contains("channel root.urgent"),
            "{}: {message}",
            db.name
        );
        for untouched in [running, done] {
            let j = job(&queue, untouched).await;
            assert_eq!(
                (j.priority, j.channel.as_str()),
                (10, "root"),
                "{}",
                db.name
            );
        }
        // Due now: a worker runs it.
        sqlx::query("UPDATE queue_jobs SET state = 'done' WHERE id = $1")
            .bind(running.0)
            .execute(db.storage.pool())
            .await
            .unwrap();
        worker(&queue, &log).build().run_until_idle().await.unwrap();
        assert_eq!(log.events(), ["waiting"], "{}", db.name);

        // An instant, and nothing to change is an error.
        let later = enqueue(&queue, record("later")).await;
        let at = chrono::Utc::now() + chrono::Duration::days(1);
        queue
            .set_job_options(&[later], &JobChanges::default().eta(at))
            .await
            .unwrap();
        let stored = job(&queue, later).await.eta.unwrap();
        assert!((stored - at).num_milliseconds().abs() < 1, "{}", db.name);
        assert!(
            queue
                .set_job_options(&[later], &JobChanges::default())
                .await
                .is_err()
        );
        db.cleanup().await;
    }
}
