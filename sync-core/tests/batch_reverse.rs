//! Reverse sync: requests merged into the queued export job, the export job run by the
//! worker, echo suppression, the three-way merge under each sync priority, items settled one
//! by one (a refused item fails alone, a rate-limited one is retried after its
//! `Retry-After` without redoing the others) and a request arriving while its export runs,
//! on SQLite and PostgreSQL.

use serde_json::json;
use sync_core::batch::{
    NewIntegration, StatusCode, SyncOptions, SyncPriority, forward_sync, pending_ids, queued_job,
    register_jobs, reverse_sync,
};
use sync_core::local::LocalRepository;
use sync_core::queue::{JobRegistry, Worker};
use sync_core::storage::Storage;
use sync_core::testing::test_databases;
use sync_core::{LocalId, Origin, SyncError};

mod batch_support;
use batch_support::{Shop, object, shop};

async fn run_worker(shop: &Shop) {
    Worker::builder(shop.queue.clone(), register_jobs(JobRegistry::new()))
        .data(shop.app.clone())
        .build()
        .run_until_idle()
        .await
        .unwrap();
}

async fn reverse_jobs(storage: &Storage) -> i64 {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM queue_jobs WHERE name = 'batch.reverse_sync'")
            .fetch_one(storage.pool())
            .await
            .unwrap();
    n
}

async fn create_local(shop: &Shop, values: serde_json::Value) -> LocalId {
    let mut tx = shop.app.storage().begin().await.unwrap();
    let mut session = shop.app.session(&mut tx, Origin::Local);
    let id = session
        .create(shop.customers.as_ref(), &object(values))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn write_local(shop: &Shop, id: LocalId, values: serde_json::Value) {
    let mut tx = shop.app.storage().begin().await.unwrap();
    let mut session = shop.app.session(&mut tx, Origin::Local);
    session
        .write(shop.customers.as_ref(), id, &object(values))
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn local(shop: &Shop, id: LocalId) -> serde_json::Value {
    let mut conn = shop.app.storage().pool().acquire().await.unwrap();
    serde_json::Value::Object(shop.customers.get(&mut conn, id).await.unwrap().unwrap())
}

#[tokio::test]
async fn a_request_while_one_is_queued_is_merged_and_nothing_is_lost() {
    for db in test_databases().await.unwrap() {
        let shop = shop(&db.storage).await;
        let integration = db
            .storage
            .integrations()
            .create(
                NewIntegration::new(shop.backend.id, "shop", ["customer"])
                    .two_way(SyncPriority::Remote),
            )
            .await
            .unwrap();
        let ada = create_local(&shop, json!({"name": "Ada", "city": "Paris", "phone": "1"})).await;
        let job = queued_job(&db.storage, integration.id, "customer")
            .await
            .unwrap()
            .expect("a local create schedules the export job");
        // Two more changes while the job is queued: merged into it, not dropped.
        let bob = create_local(&shop, json!({"name": "Bob", "city": "Oslo", "phone": "2"})).await;
        write_local(&shop, ada, json!({"phone": "11"})).await;
        assert_eq!(reverse_jobs(&db.storage).await, 1, "{}", db.name);
        assert_eq!(
            queued_job(&db.storage, integration.id, "customer")
                .await
                .unwrap(),
            Some(job)
        );
        assert_eq!(pending_ids(&db.storage, job).await.unwrap(), [ada, bob]);

        run_worker(&shop).await;
        assert_eq!(shop.remote.count("customer"), 2, "{}", db.name);
        let statuses = db
            .storage
            .integration_statuses()
            .list(integration.id, Some("customer"), 10)
            .await
            .unwrap();
        assert_eq!(statuses.len(), 1);
        assert_eq!(statuses[0].code, StatusCode::Completed);
        assert!(
            statuses[0]
                .message
                .starts_with("[EXPORT] Stats: read 2, processed 2, updated 0, added 2"),
            "{}",
            statuses[0].message
        );
        assert!(pending_ids(&db.storage, job).await.unwrap().is_empty());
        assert_eq!(
            queued_job(&db.storage, integration.id, "customer")
                .await
                .unwrap(),
            None
        );

        // Once the job has started, a new request gets a new job: still nothing lost.
        write_local(&shop, bob, json!({"city": "Bergen"})).await;
        let next = queued_job(&db.storage, integration.id, "customer")
            .await
            .unwrap()
            .expect("a new job");
        assert_ne!(next, job);
        assert_eq!(pending_ids(&db.storage, next).await.unwrap(), [bob]);
        run_worker(&shop).await;
        let bob_remote = shop.remote.get("customer", 2).unwrap();
        assert_eq!(bob_remote["city"], json!("Bergen"), "{}", db.name);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_syncs_own_writes_never_trigger_a_reverse_sync() {
    for db in test_databases().await.unwrap() {
        let shop = shop(&db.storage).await;
        let integration = db
            .storage
            .integrations()
            .create(
                NewIntegration::new(shop.backend.id, "shop", ["customer"])
                    .two_way(SyncPriority::Remote),
            )
            .await
            .unwrap();
        shop.remote.put(
            "customer",
            None,
            object(json!({"name": "Ada", "city": "Paris", "phone": "1"})),
        );
        forward_sync(&shop.app, integration.id, SyncOptions::default())
            .await
            .unwrap();
        assert_eq!(
            queued_job(&db.storage, integration.id, "customer")
                .await
                .unwrap(),
            None
        );
        assert_eq!(reverse_jobs(&db.storage).await, 0, "{}", db.name);

        // One-way integrations and one-way connectors do not reverse-sync.
        let one_way = reverse_sync(&shop.app, integration.id, "order", &[LocalId(1)]).await;
        assert!(
            matches!(&one_way, Err(SyncError::Failed(m)) if m.contains("does not support reverse sync")),
            "{one_way:?}"
        );
        let mut settings = integration.settings;
        settings.two_way = false;
        db.storage
            .integrations()
            .set_settings(integration.id, settings)
            .await
            .unwrap();
        let off = reverse_sync(&shop.app, integration.id, "customer", &[LocalId(1)]).await;
        assert!(matches!(off, Err(SyncError::NothingToDo(_))), "{off:?}");
        create_local(&shop, json!({"name": "Local only"})).await;
        assert_eq!(reverse_jobs(&db.storage).await, 0);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn conflicts_follow_the_sync_priority_field_by_field() {
    for priority in [SyncPriority::Remote, SyncPriority::Local] {
        for db in test_databases().await.unwrap() {
            let shop = shop(&db.storage).await;
            let integration = db
                .storage
                .integrations()
                .create(
                    NewIntegration::new(shop.backend.id, "shop", ["customer"]).two_way(priority),
                )
                .await
                .unwrap();
            let remote_id = shop.remote.put(
                "customer",
                None,
                object(json!({"name": "Ada", "city": "Paris", "phone": "1"})),
            );
            forward_sync(&shop.app, integration.id, SyncOptions::default())
                .await
                .unwrap();
            let id = LocalId(1);
            // Local: city (one side) and phone (both sides). Remote: name (one side), phone.
            write_local(&shop, id, json!({"city": "Lyon", "phone": "2"})).await;
            shop.remote.put(
                "customer",
                Some(remote_id),
                object(json!({"name": "Ada L.", "city": "Paris", "phone": "3"})),
            );
            run_worker(&shop).await;

            let phone = match priority {
                SyncPriority::Remote => "3",
                SyncPriority::Local => "2",
            };
            let expected = json!({"name": "Ada L.", "city": "Lyon", "phone": phone});
            let remote = shop.remote.get("customer", remote_id).unwrap();
            let local = local(&shop, id).await;
            for field in ["name", "city", "phone"] {
                assert_eq!(
                    remote[field], expected[field],
                    "{} {priority:?} remote {field}",
                    db.name
                );
                assert_eq!(
                    local[field], expected[field],
                    "{} {priority:?} local {field}",
                    db.name
                );
            }
            // The merge's local write came from the sync: no new reverse sync, and the new
            // base is what both sides now hold.
            assert_eq!(
                queued_job(&db.storage, integration.id, "customer")
                    .await
                    .unwrap(),
                None
            );
            let mut conn = db.storage.pool().acquire().await.unwrap();
            let binding = db
                .storage
                .bindings()
                .by_local(
                    &mut conn,
                    sync_core::storage::BindingScope {
                        backend_id: shop.backend.id,
                        model: "customer",
                    },
                    id,
                )
                .await
                .unwrap()
                .unwrap();
            drop(conn);
            assert_eq!(
                serde_json::Value::Object(binding.synced.unwrap().values),
                expected
            );
            let status = db
                .storage
                .integration_statuses()
                .list(integration.id, Some("customer"), 1)
                .await
                .unwrap();
            assert!(
                status[0]
                    .message
                    .starts_with("[EXPORT] Stats: read 1, processed 1, updated 1"),
                "{}",
                status[0].message
            );
            db.cleanup().await;
        }
    }
}

#[tokio::test]
async fn a_failed_export_keeps_its_ids_for_the_retry() {
    for db in test_databases().await.unwrap() {
        let shop = shop(&db.storage).await;
        let integration = db
            .storage
            .integrations()
            .create(
                NewIntegration::new(shop.backend.id, "shop", ["customer", "vip"])
                    .two_way(SyncPriority::Remote),
            )
            .await
            .unwrap();
        let id = {
            let mut conn = db.storage.pool().acquire().await.unwrap();
            shop.customers
                .create(&mut conn, &object(json!({"name": "Ada"})))
                .await
                .unwrap()
        };
        let mut tx = db.storage.begin().await.unwrap();
        let job = sync_core::batch::request_reverse_sync(
            &mut tx,
            &shop.queue,
            integration.id,
            "vip",
            &[id],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        run_worker(&shop).await;
        // The export failed (its remote side is down): the job waits for a retry, ids kept.
        let (state, retry): (String, i64) =
            sqlx::query_as("SELECT state, retry FROM queue_jobs WHERE id = $1")
                .bind(job.0)
                .fetch_one(db.storage.pool())
                .await
                .unwrap();
        assert_eq!((state.as_str(), retry), ("pending", 1), "{}", db.name);
        assert_eq!(pending_ids(&db.storage, job).await.unwrap(), [id]);
        let status = db
            .storage
            .integration_statuses()
            .list(integration.id, Some("vip"), 1)
            .await
            .unwrap();
        assert_eq!(status[0].code, StatusCode::Failed);
        assert!(
            status[0].message.contains("connection refused"),
            "{}",
            status[0].message
        );
        db.cleanup().await;
    }
}

/// The state, counted retries, seconds until the eta and error message of a queue job.
async fn job_row(storage: &Storage, job: sync_core::queue::JobId) -> (String, i64, i64, String) {
    let (state, retry, eta, message): (String, i64, Option<i64>, Option<String>) =
        sqlx::query_as("SELECT state, retry, eta, exc_message FROM queue_jobs WHERE id = $1")
            .bind(job.0)
            .fetch_one(storage.pool())
            .await
            .unwrap();
    let now = sync_core::storage::to_micros(chrono::Utc::now());
    let wait = eta.map_or(0, |eta| (eta - now).max(0) / 1_000_000);
    (state, retry, wait, message.unwrap_or_default())
}

async fn two_way(shop: &Shop) -> sync_core::batch::Integration {
    shop.app
        .storage()
        .integrations()
        .create(
            NewIntegration::new(shop.backend.id, "shop", ["customer"])
                .two_way(SyncPriority::Remote),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn a_refused_item_fails_alone_and_its_job_fails_with_its_message() {
    for db in test_databases().await.unwrap() {
        let shop = shop(&db.storage).await;
        let integration = two_way(&shop).await;
        let ada = create_local(&shop, json!({"name": "Ada", "city": "Paris"})).await;
        let bob = create_local(&shop, json!({"name": "Bob", "city": "Oslo"})).await;
        let cy = create_local(&shop, json!({"name": "Cy", "city": "Rome"})).await;
        let job = queued_job(&db.storage, integration.id, "customer")
            .await
            .unwrap()
            .unwrap();
        shop.faults.refuse("Bob", true);
        run_worker(&shop).await;

        // The others went through; the refused one is neither lost nor a silent success.
        assert_eq!(shop.remote.count("customer"), 2, "{}", db.name);
        let (state, _, _, message) = job_row(&db.storage, job).await;
        assert_eq!(state, "failed", "{}: {message}", db.name);
        assert!(
            message.contains(&format!("customer {bob}"))
                && message.contains("refused by the remote side"),
            "{}: {message}",
            db.name
        );
        assert_eq!(pending_ids(&db.storage, job).await.unwrap(), [bob]);
        let executions = db
            .storage
            .batch_executions()
            .list(&sync_core::batch::ExecutionFilter {
                integration_id: Some(integration.id),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(executions[0].status, sync_core::batch::BatchStatus::Failed);
        let counters = executions[0].counters();
        assert_eq!(
            (counters.read, counters.added, counters.errors),
            (3, 2, 1),
            "{}",
            db.name
        );
        let status = db
            .storage
            .integration_statuses()
            .list(integration.id, Some("customer"), 1)
            .await
            .unwrap();
        assert_eq!(status[0].code, StatusCode::Failed, "{}", status[0].message);

        // Once the cause is fixed, a requeue exports the refused one alone.
        shop.faults.refuse("Bob", false);
        shop.queue.requeue(&[job]).await.unwrap();
        run_worker(&shop).await;
        assert_eq!(job_row(&db.storage, job).await.0, "done", "{}", db.name);
        assert_eq!(shop.remote.count("customer"), 3, "{}", db.name);
        assert_eq!(shop.remote.calls().0, 3, "{}: one create each", db.name);
        assert!(pending_ids(&db.storage, job).await.unwrap().is_empty());
        let _ = (ada, cy);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_rate_limited_item_is_retried_after_its_retry_after_without_redoing_the_others() {
    for db in test_databases().await.unwrap() {
        let shop = shop(&db.storage).await;
        let integration = two_way(&shop).await;
        for name in ["Ada", "Bob", "Cy"] {
            shop.remote.put(
                "customer",
                None,
                object(json!({"name": name, "city": "Paris"})),
            );
        }
        forward_sync(&shop.app, integration.id, SyncOptions::default())
            .await
            .unwrap();
        let ids = [LocalId(1), LocalId(2), LocalId(3)];
        for id in ids {
            write_local(&shop, id, json!({"city": "Lyon"})).await;
        }
        let job = queued_job(&db.storage, integration.id, "customer")
            .await
            .unwrap()
            .unwrap();
        let reads_before = shop.faults.reads();
        shop.faults.rate_limit("Bob", 1);
        run_worker(&shop).await;

        // Ada went through and is settled; Bob waits for the `Retry-After`, Cy for Bob.
        let (state, retry, wait, message) = job_row(&db.storage, job).await;
        assert_eq!(state, "pending", "{}: {message}", db.name);
        assert!(wait <= 1, "{}: retried after {wait} s", db.name);
        assert_eq!(retry, 0, "{}: an item went through, no retry used", db.name);
        assert_eq!(
            pending_ids(&db.storage, job).await.unwrap(),
            [ids[1], ids[2]]
        );
        assert_eq!(
            shop.remote.get("customer", 1).unwrap()["city"],
            json!("Lyon")
        );
        assert_eq!(shop.remote.calls().1, 1, "{}", db.name);

        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        run_worker(&shop).await;
        assert_eq!(job_row(&db.storage, job).await.0, "done", "{}", db.name);
        for id in [1, 2, 3] {
            assert_eq!(
                shop.remote.get("customer", id).unwrap()["city"],
                json!("Lyon")
            );
        }
        // Ada was neither read nor written again: 2 + 2 reads and 3 writes in all.
        assert_eq!(shop.faults.reads() - reads_before, 4, "{}", db.name);
        assert_eq!(shop.remote.calls().1, 3, "{}", db.name);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_request_arriving_while_its_export_runs_is_exported_by_a_follow_up_job() {
    for db in test_databases().await.unwrap() {
        let shop = shop(&db.storage).await;
        let integration = two_way(&shop).await;
        let remote_id = shop.remote.put(
            "customer",
            None,
            object(json!({"name": "Ada", "city": "Paris", "phone": "1"})),
        );
        forward_sync(&shop.app, integration.id, SyncOptions::default())
            .await
            .unwrap();
        let ada = LocalId(1);
        write_local(&shop, ada, json!({"city": "Lyon"})).await;
        let first = queued_job(&db.storage, integration.id, "customer")
            .await
            .unwrap()
            .unwrap();
        // The back office changes Ada again once her export has read her and is sending.
        shop.faults
            .write_locally_during_export("Ada", ada, object(json!({"phone": "2"})));
        run_worker(&shop).await;

        assert_eq!(reverse_jobs(&db.storage).await, 2, "{}", db.name);
        assert_eq!(job_row(&db.storage, first).await.0, "done");
        let remote = shop.remote.get("customer", remote_id).unwrap();
        assert_eq!(
            (remote["city"].clone(), remote["phone"].clone()),
            (json!("Lyon"), json!("2")),
            "{}: the change made during the run went out too",
            db.name
        );
        assert_eq!(
            queued_job(&db.storage, integration.id, "customer")
                .await
                .unwrap(),
            None
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_adopted_by_the_retry_not_duplicated() {
    for db in test_databases().await.unwrap() {
        let shop = shop(&db.storage).await;
        let integration = two_way(&shop).await;
        let ada = create_local(&shop, json!({"name": "Ada", "city": "Paris"})).await;
        shop.faults.lose_answer("Ada", 1);
        let first = reverse_sync(&shop.app, integration.id, "customer", &[ada])
            .await
            .unwrap();
        assert!(!first.is_success(), "{}: the answer was lost", db.name);
        assert_eq!(shop.remote.count("customer"), 1, "{}", db.name);

        let again = reverse_sync(&shop.app, integration.id, "customer", &[ada])
            .await
            .unwrap();
        assert!(again.is_success(), "{}", db.name);
        assert_eq!(
            shop.remote.count("customer"),
            1,
            "{}: the retry found the customer by its name instead of creating it again",
            db.name
        );
        let mut conn = db.storage.pool().acquire().await.unwrap();
        let binding = db
            .storage
            .bindings()
            .by_local(
                &mut conn,
                sync_core::storage::BindingScope {
                    backend_id: shop.backend.id,
                    model: "customer",
                },
                ada,
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            binding.external_id.map(|e| e.as_str().to_owned()),
            Some("1".to_owned())
        );
        drop(conn);
        db.cleanup().await;
    }
}
