//! Graphs (chain, group, on_done) and identity keys, on SQLite and PostgreSQL.

mod queue_support;

use std::sync::Arc;

use queue_support::*;
use sync_core::queue::{IdentityKey, JobState, chain, group};
use sync_core::testing::test_databases;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_runs_in_order_and_a_group_waits_for_all_its_members() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        // a, then (b1, b2, b3 in parallel), then c.
        let graph = chain([
            record("a").into(),
            group([
                sleep("b1", 30, "g").into(),
                sleep("b2", 10, "g").into(),
                sleep("b3", 20, "g").into(),
            ]),
            record("c").into(),
        ]);
        let delayed = queue.enqueue_graph(graph).await.unwrap();
        assert_eq!(delayed.ids.len(), 5);
        assert_eq!(state(&queue, delayed.ids[0]).await, JobState::Pending);
        for &id in &delayed.ids[1..] {
            assert_eq!(
                state(&queue, id).await,
                JobState::WaitDependencies,
                "{}",
                db.name
            );
        }
        let graph_id = job(&queue, delayed.ids[0]).await.graph_id;
        assert!(graph_id.is_some());
        assert_eq!(job(&queue, delayed.ids[4]).await.graph_id, graph_id);
        let (parents, _) = queue.job_dependencies(delayed.ids[4]).await.unwrap();
        assert_eq!(parents, delayed.ids[1..4].to_vec());

        worker(&queue, &log)
            .concurrency(4)
            .build()
            .run_until_idle()
            .await
            .unwrap();
        let events = log.events();
        assert_eq!(events.len(), 5, "{}: {events:?}", db.name);
        assert_eq!(events[0], "a");
        assert_eq!(events[4], "c");
        assert!(log.max_running("g") >= 2, "the group ran in parallel");
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_parent_blocks_its_children_until_requeued_or_set_done() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        let delayed = queue
            .enqueue_graph(flaky("parent", 1, "fail").on_done(record("child")))
            .await
            .unwrap();
        let (parent, child) = (delayed.ids[0], delayed.ids[1]);
        worker(&queue, &log).build().run_until_idle().await.unwrap();
        assert_eq!(state(&queue, parent).await, JobState::Failed, "{}", db.name);
        assert_eq!(state(&queue, child).await, JobState::WaitDependencies);

        // Cancelling does not release children either.
        let second = queue
            .enqueue_graph(record("p2").on_done(record("c2")))
            .await
            .unwrap();
        queue.cancel(&[second.ids[0]]).await.unwrap();
        worker(&queue, &log).build().run_until_idle().await.unwrap();
        assert_eq!(
            state(&queue, second.ids[1]).await,
            JobState::WaitDependencies
        );

        // Requeue: the parent runs again (its second attempt succeeds), then the child.
        assert_eq!(queue.requeue(&[parent]).await.unwrap(), 1);
        assert_eq!(job(&queue, parent).await.retry, 0);
        worker(&queue, &log).build().run_until_idle().await.unwrap();
        assert_eq!(state(&queue, parent).await, JobState::Done, "{}", db.name);
        assert_eq!(state(&queue, child).await, JobState::Done);
        assert_eq!(log.events(), ["parent:fail1", "parent", "child"]);

        // Setting a parent done by hand releases its children too.
        queue.set_done(&[second.ids[0]]).await.unwrap();
        assert_eq!(
            state(&queue, second.ids[1]).await,
            JobState::Pending,
            "{}",
            db.name
        );
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_keys_return_the_live_job() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        let first = enqueue(&queue, record("x").identity_key("import:customer:1")).await;
        let again = enqueue(&queue, record("y").identity_key("import:customer:1")).await;
        assert_eq!(first, again, "{}", db.name);
        // Exact keys hash the function and the arguments.
        let e1 = enqueue(&queue, record("same").identity_key(IdentityKey::Exact)).await;
        let e2 = enqueue(&queue, record("same").identity_key(IdentityKey::Exact)).await;
        let e3 = enqueue(&queue, record("other").identity_key(IdentityKey::Exact)).await;
        assert_eq!(e1, e2);
        assert_ne!(e1, e3);

        // A started job still blocks duplicates.
        sqlx::query("UPDATE queue_jobs SET state = 'started' WHERE id = $1")
            .bind(first.0)
            .execute(db.storage.pool())
            .await
            .unwrap();
        let during = enqueue(&queue, record("z").identity_key("import:customer:1")).await;
        assert_eq!(during, first, "{}", db.name);
        sqlx::query("UPDATE queue_jobs SET state = 'pending' WHERE id = $1")
            .bind(first.0)
            .execute(db.storage.pool())
            .await
            .unwrap();

        // Once done, the key is free again.
        worker(&queue, &log).build().run_until_idle().await.unwrap();
        let after = enqueue(&queue, record("w").identity_key("import:customer:1")).await;
        assert_ne!(after, first);

        // A graph whose every keyed job is a live duplicate is skipped whole.
        let g1 = queue
            .enqueue_graph(record("g").identity_key("g:1").on_done(record("h")))
            .await
            .unwrap();
        let g2 = queue
            .enqueue_graph(record("g").identity_key("g:1").on_done(record("h")))
            .await
            .unwrap();
        assert!(!g1.skipped && g2.skipped, "{}", db.name);
        assert_eq!(g2.ids, vec![g1.ids[0]]);
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_transactions_delaying_the_same_key_share_one_job() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let mut handles = Vec::new();
        for i in 0..8 {
            let queue = queue.clone();
            handles.push(tokio::spawn(async move {
                let mut tx = queue.storage().begin().await.unwrap();
                let id = queue
                    .delay(&mut tx, record(&format!("t{i}")).identity_key("same-key"))
                    .await
                    .unwrap();
                // Hold the transaction open a little so the others overlap with it.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                tx.commit().await.unwrap();
                id
            }));
        }
        let mut ids = Vec::new();
        for h in handles {
            ids.push(h.await.unwrap());
        }
        ids.dedup();
        assert_eq!(ids.len(), 1, "{}: {ids:?}", db.name);
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM queue_jobs")
            .fetch_one(db.storage.pool())
            .await
            .unwrap();
        assert_eq!(n, 1, "{}", db.name);

        // A rolled-back first transaction leaves the key to the next one.
        let mut tx1 = queue.storage().begin().await.unwrap();
        let gone = queue
            .delay(&mut tx1, record("gone").identity_key("rb"))
            .await
            .unwrap();
        tx1.rollback().await.unwrap();
        let kept = enqueue(&queue, record("kept").identity_key("rb")).await;
        assert!(queue.job(gone).await.is_err() || gone == kept);
        assert_eq!(state(&queue, kept).await, JobState::Pending);
        db.cleanup().await;
    }
}
