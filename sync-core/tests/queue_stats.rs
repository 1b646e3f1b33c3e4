//! The queue at a glance for the console: jobs per channel and state, the oldest pending
//! job, the workers holding a lease; on SQLite and PostgreSQL.

mod queue_support;

use std::sync::Arc;
use std::time::Duration;

use queue_support::*;
use sync_core::queue::{ChannelStateCount, JobState};
use sync_core::testing::test_databases;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_per_channel_the_oldest_pending_job_and_the_workers_holding_leases() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let queue = queue_of(&db);
        assert!(queue.oldest_pending().await.unwrap().is_none(), "{name}");
        let first = enqueue(&queue, record("a").channel("root.magento")).await;
        enqueue(&queue, record("b").channel("root.magento")).await;
        enqueue(&queue, record("c")).await;
        let counts = queue.count_by_channel_and_state().await.unwrap();
        assert_eq!(
            counts,
            vec![
                ChannelStateCount {
                    channel: "root".into(),
                    state: JobState::Pending,
                    jobs: 1
                },
                ChannelStateCount {
                    channel: "root.magento".into(),
                    state: JobState::Pending,
                    jobs: 2
                },
            ],
            "{name}"
        );
        let oldest = queue.oldest_pending().await.unwrap().unwrap();
        assert_eq!(
            (oldest.id, oldest.name.as_str()),
            (first, "record"),
            "{name}"
        );

        assert!(queue.live_workers().await.unwrap().is_empty(), "{name}");
        let log = Arc::new(Log::default());
        let slow = enqueue(&queue, sleep("s", 1500, "k").priority(0)).await;
        let running = tokio::spawn({
            let worker = worker(&queue, &log).build();
            async move { worker.run_until_idle().await }
        });
        let mut live = Vec::new();
        for _ in 0..100 {
            if state(&queue, slow).await == JobState::Started {
                live = queue.live_workers().await.unwrap();
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            live.len(),
            1,
            "{name}: the worker running the sleep is seen"
        );
        assert!(live[0].jobs >= 1, "{name}");
        running.await.unwrap().unwrap();
        assert!(queue.live_workers().await.unwrap().is_empty(), "{name}");
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_change_priority_eta_and_channel_of_jobs_no_worker_holds() {
    use sync_core::queue::Reschedule;
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        let done = enqueue(&queue, record("d")).await;
        worker(&queue, &log).build().run_until_idle().await.unwrap();
        let pending = enqueue(&queue, record("p")).await;

        let n = queue
            .reschedule(&[pending, done], &Reschedule::Priority(3))
            .await
            .unwrap();
        assert_eq!(n, 1, "{name}: the done job is left alone");
        assert_eq!(job(&queue, pending).await.priority, 3, "{name}");
        assert_ne!(job(&queue, done).await.priority, 3, "{name}");

        let later = chrono::Utc::now() + chrono::Duration::hours(1);
        queue
            .reschedule(&[pending], &Reschedule::Eta(Some(later)))
            .await
            .unwrap();
        let eta = job(&queue, pending).await.eta.unwrap();
        assert!((eta - later).num_seconds().abs() < 1, "{name}");
        // Not due: a worker leaves it.
        worker(&queue, &log).build().run_until_idle().await.unwrap();
        assert_eq!(state(&queue, pending).await, JobState::Pending, "{name}");
        queue
            .reschedule(&[pending], &Reschedule::Eta(None))
            .await
            .unwrap();
        assert!(job(&queue, pending).await.eta.is_none(), "{name}");

        queue
            .reschedule(&[pending], &Reschedule::Channel("root.magento'; --".into()))
            .await
            .unwrap();
        assert_eq!(
            job(&queue, pending).await.channel,
            "root.magento'; --",
            "{name}: bound, not inlined"
        );
        let history: Vec<String> = queue
            .job_history(pending)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|h| h.message)
            .collect();
        assert_eq!(history.len(), 4, "{name}: {history:?}");
        assert_eq!(history[0], "priority set to 3 by an operator");
        assert_eq!(history[2], "eta cleared by an operator");
        db.cleanup().await;
    }
}
