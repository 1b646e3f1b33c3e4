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

        // Once done, the key is free again.
        worker(&queue, &log).build().run_until_idle().await.unwrap();
        let after = enqueue(&queue, record("w").identity_key("import:customer:1")).await;
        assert_ne!(after, first);

        db.cleanup().await;
    }
}

/// Issue #11, point 8: a change found while the record's job runs (after it read the remote
/// record) must not be merged into that job and lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_matching_only_a_running_job_delays_one_follow_up() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        let key = "import:1:customer:42";
        let first = enqueue(&queue, sleep("first", 300, "k").identity_key(key)).await;
        let running = tokio::spawn(worker(&queue, &log).build().run_until_idle());
        while log.starts.lock().unwrap().is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        // The job has started (it read the remote record): a change found now is a new job.
        // (That it is the only one while it waits is shown below without a worker, which
        // may claim it at once.)
        let follow_up = enqueue(&queue, sleep("change", 1, "k").identity_key(key)).await;
        assert_ne!(follow_up, first, "{}", db.name);
        running.await.unwrap().unwrap();
        let events = log.events();
        assert!(
            events.contains(&"first".to_string()) && events.contains(&"change".to_string()),
            "{}: {events:?}",
            db.name
        );
        assert_eq!(state(&queue, follow_up).await, JobState::Done);
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claimed_job_gets_one_follow_up_and_may_still_retry() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        let key = "import:1:customer:7";
        for leased in ["enqueued", "started"] {
            let first = enqueue(&queue, record("first").identity_key(key)).await;
            // What a claim does (a claimed job may already be running: its start is
            // written in batches).
            sqlx::query("UPDATE queue_jobs SET state = $2, attempt = 1 WHERE id = $1")
                .bind(first.0)
                .bind(leased)
                .execute(db.storage.pool())
                .await
                .unwrap();
            let follow_up = enqueue(&queue, record("follow-up").identity_key(key)).await;
            assert_ne!(follow_up, first, "{} {leased}", db.name);
            assert_eq!(state(&queue, follow_up).await, JobState::Pending);
            assert_eq!(
                enqueue(&queue, record("merged").identity_key(key)).await,
                follow_up,
                "{} {leased}",
                db.name
            );
            // The first job's try ends with a retry: it waits again beside its follow-up.
            sqlx::query("UPDATE queue_jobs SET state = 'pending' WHERE id = $1")
                .bind(first.0)
                .execute(db.storage.pool())
                .await
                .unwrap();
            // A duplicate now merges into a waiting job, the follow-up first.
            assert_eq!(
                enqueue(&queue, record("merged too").identity_key(key)).await,
                follow_up
            );
            worker(&queue, &log).build().run_until_idle().await.unwrap();
            assert_eq!(state(&queue, first).await, JobState::Done, "{}", db.name);
            assert_eq!(state(&queue, follow_up).await, JobState::Done);
        }
        let mut events = log.events();
        events.sort();
        assert_eq!(
            events,
            ["first", "first", "follow-up", "follow-up"],
            "{}",
            db.name
        );
        // A failed job is requeued even while another job of its key waits.
        let failed = enqueue(&queue, flaky("failing", 1, "fail").identity_key("f")).await;
        worker(&queue, &log).build().run_until_idle().await.unwrap();
        assert_eq!(state(&queue, failed).await, JobState::Failed, "{}", db.name);
        let waiting = enqueue(&queue, record("waiting").identity_key("f")).await;
        assert_ne!(waiting, failed);
        assert_eq!(queue.requeue(&[failed]).await.unwrap(), 1, "{}", db.name);
        db.cleanup().await;
    }
}

/// Issue #11, point 11: a graph node matching a waiting job is that job; the other nodes
/// are stored and depend on it, instead of the whole graph being skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graph_node_matching_a_waiting_job_is_depended_on() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        let log = Arc::new(Log::default());
        let existing = enqueue(&queue, record("existing").identity_key("g:1")).await;
        let delayed = queue
            .enqueue_graph(record("g").identity_key("g:1").on_done(record("h")))
            .await
            .unwrap();
        assert!(!delayed.skipped, "{}", db.name);
        assert_eq!(delayed.ids.len(), 2, "{}", db.name);
        assert_eq!(delayed.ids[0], existing);
        let child = delayed.ids[1];
        assert_eq!(state(&queue, child).await, JobState::WaitDependencies);
        assert_eq!(
            queue.job_dependencies(child).await.unwrap().0,
            vec![existing]
        );

        // Every node a duplicate: nothing is stored.
        let again = queue
            .enqueue_graph(
                record("g")
                    .identity_key("g:1")
                    .on_done(record("h").identity_key("h:1")),
            )
            .await
            .unwrap();
        assert!(!again.skipped, "h:1 is new");
        let all_known = queue
            .enqueue_graph(
                record("g")
                    .identity_key("g:1")
                    .on_done(record("h").identity_key("h:1")),
            )
            .await
            .unwrap();
        assert!(all_known.skipped, "{}", db.name);
        assert_eq!(all_known.ids, again.ids);

        worker(&queue, &log).build().run_until_idle().await.unwrap();
        let events = log.events();
        assert_eq!(
            events.first().map(String::as_str),
            Some("existing"),
            "{}",
            db.name
        );
        assert_eq!(events.len(), 3, "{}: {events:?}", db.name);
        assert_eq!(state(&queue, child).await, JobState::Done, "{}", db.name);
        db.cleanup().await;
    }
}

/// A job finishing while a transaction adds a child to it (by identity key) waits for
/// that transaction and then releases the child: the child never hangs in
/// wait_dependencies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_finishing_while_a_graph_adds_a_child_to_it_releases_the_child() {
    for db in test_databases().await.unwrap() {
        let queue = queue_of(&db);
        // The parent already has a child, so adding one more writes nothing to its row.
        let first = queue
            .enqueue_graph(record("parent").identity_key("p").on_done(record("c1")))
            .await
            .unwrap();
        let parent = first.ids[0];
        let mut tx = db.storage.begin().await.unwrap();
        let delayed = queue
            .delay_graph(&mut tx, record("p").identity_key("p").on_done(record("c2")))
            .await
            .unwrap();
        assert_eq!(delayed.ids[0], parent, "{}", db.name);
        let finishing = {
            let queue = queue.clone();
            tokio::spawn(async move { queue.set_done(&[parent]).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        tx.commit().await.unwrap();
        assert_eq!(finishing.await.unwrap().unwrap(), 1, "{}", db.name);
        assert_eq!(state(&queue, first.ids[1]).await, JobState::Pending);
        assert_eq!(
            state(&queue, delayed.ids[1]).await,
            JobState::Pending,
            "{}",
            db.name
        );
        db.cleanup().await;
    }
}

/// Issue #11, point 11: the trap performs ungrouped jobs by priority and each graph in
/// topological order, as a worker would.
#[tokio::test]
async fn the_trap_performs_by_priority_and_graphs_in_topological_order() {
    let db = sync_core::testing::sqlite().await.unwrap();
    let queue = queue_of(&db);
    let trap = queue.trap();
    let log = Arc::new(Log::default());
    let mut conn = db.storage.pool().acquire().await.unwrap();
    queue
        .delay(&mut conn, record("low").priority(20))
        .await
        .unwrap();
    queue
        .delay(&mut conn, record("high").priority(1))
        .await
        .unwrap();
    queue
        .delay_graph(
            &mut conn,
            chain([
                record("g1").priority(30).into(),
                group([
                    record("g2").priority(0).into(),
                    record("g3").priority(5).into(),
                ]),
            ]),
        )
        .await
        .unwrap();
    let mut data = sync_core::context::Extras::default();
    data.insert(log.clone());
    assert_eq!(
        trap.perform_all(&queue, &registry(), data).await.unwrap(),
        5
    );
    assert_eq!(log.events(), ["high", "low", "g1", "g2", "g3"]);
    drop(conn);
    db.cleanup().await;
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
