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
