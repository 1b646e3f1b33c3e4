//! Browsing jobs for the console: filters and keyset paging, on SQLite and PostgreSQL.

mod queue_support;

use std::sync::Arc;

use queue_support::*;
use sync_core::queue::{JobQuery, JobState};
use sync_core::testing::test_databases;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyset_pages_cover_every_job_once_newest_first() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let mut ids = Vec::new();
        for i in 0..7 {
            ids.push(enqueue(&queue, record(&format!("r{i}"))).await);
        }
        let mut seen = Vec::new();
        let mut query = JobQuery::default();
        loop {
            let page = queue.browse_jobs(&query, 3).await.unwrap();
            assert!(page.jobs.len() <= 3, "{}", db.name);
            seen.extend(page.jobs.iter().map(|j| j.id));
            match page.next_before {
                Some(before) => query.before = Some(before),
                None => break,
            }
        }
        ids.reverse();
        assert_eq!(seen, ids, "{}: every job once, newest first", db.name);
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_by_state_channel_function_and_text_in_description_or_error() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        let failed = enqueue(&queue, flaky("f", 1, "fail").channel("root.magento")).await;
        worker(&queue, &log).build().run_until_idle().await.unwrap();
        let described = enqueue(
            &queue,
            record("d").description("Import customer 100% of 42_a"),
        )
        .await;
        let plain = enqueue(&queue, record("p")).await;

        let ids = |query: JobQuery| {
            let queue = queue.clone();
            async move {
                let page = queue.browse_jobs(&query, 50).await.unwrap();
                page.jobs.iter().map(|j| j.id).collect::<Vec<_>>()
            }
        };
        assert_eq!(
            ids(JobQuery {
                states: vec![JobState::Failed],
                ..JobQuery::default()
            })
            .await,
            vec![failed],
            "{name}"
        );
        assert_eq!(
            ids(JobQuery {
                channel: Some("root.magento".into()),
                ..JobQuery::default()
            })
            .await,
            vec![failed],
            "{name}"
        );
        assert_eq!(
            ids(JobQuery {
                name: Some("record".into()),
                ..JobQuery::default()
            })
            .await,
            vec![plain, described],
            "{name}"
        );
        // The error message of the failed job names its field, matched ignoring case.
        assert_eq!(
            ids(JobQuery {
                text: Some("EMAIL".into()),
                ..JobQuery::default()
            })
            .await,
            vec![failed],
            "{name}"
        );
        // Wildcards in the text match themselves.
        assert_eq!(
            ids(JobQuery {
                text: Some("100%".into()),
                ..JobQuery::default()
            })
            .await,
            vec![described],
            "{name}"
        );
        assert!(
            ids(JobQuery {
                text: Some("2_b".into()),
                ..JobQuery::default()
            })
            .await
            .is_empty(),
            "{name}: `_` is not a wildcard"
        );
        let matching = queue
            .matching_job_ids(
                &JobQuery {
                    name: Some("record".into()),
                    ..JobQuery::default()
                },
                1,
            )
            .await
            .unwrap();
        assert_eq!(matching, vec![plain], "{name}");
        db.cleanup().await;
    }
}
