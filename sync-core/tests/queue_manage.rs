//! Management: show, requeue, set done, cancel, purge per channel retention in batches, on
//! SQLite and PostgreSQL.

mod queue_support;

use std::sync::Arc;

use queue_support::*;
use sync_core::queue::{ChannelConfig, JobState};
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
