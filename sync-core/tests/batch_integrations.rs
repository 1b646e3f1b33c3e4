//! Integrations, connectors, forward sync with status rows and the shared import cursor, periodic scheduling
//! and cleanup, on SQLite and PostgreSQL.

use std::time::Duration;

use serde_json::json;
use sync_core::batch::{
    BatchStatus, CleanupPolicy, Connector, IntegrationType, JobCatalog, JobType, NewIntegration,
    StatusCode, SyncOptions, cleanup, forward_sync,
};
use sync_core::registry::ComponentRegistry;
use sync_core::scheduler::enqueue_due;
use sync_core::storage::ScheduledWork;
use sync_core::testing::test_databases;
use sync_core::{SyncError, storage::Storage};

mod batch_support;
use batch_support::{SHOP_JOBS, object, shop};

async fn local_count(storage: &Storage) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM doc_customer")
        .fetch_one(storage.pool())
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn forward_sync_runs_connectors_in_order_with_status_rows_and_cursors() {
    for db in test_databases().await.unwrap() {
        let shop = shop(&db.storage).await;
        let remote = &shop.remote;
        let ada = remote.put("customer", None, object(json!({"name": "Ada"})));
        remote.put(
            "customer",
            None,
            object(json!({"name": "Bob", "invalid": "no email"})),
        );
        remote.put("customer", None, object(json!({"name": "Cy"})));
        let last_customer_stamp = remote.now();
        remote.put("order", None, object(json!({"total": 12})));
        let integration = db
            .storage
            .integrations()
            .create(
                NewIntegration::new(
                    shop.backend.id,
                    "shop",
                    ["customer", "never", "order", "group"],
                )
                .extra(json!({"overlap_secs": 0})),
            )
            .await
            .unwrap();

        let report = forward_sync(&shop.app, integration.id, SyncOptions::default())
            .await
            .unwrap();
        let order: Vec<&str> = report.runs.iter().map(|r| r.connector.as_str()).collect();
        // `order` 0 first (ties keep the integration's order), then 10, then 20.
        assert_eq!(
            order,
            ["never", "order", "customer", "group"],
            "{}",
            db.name
        );
        assert!(!report.is_success());
        assert!(
            report.runs[0].status.is_none(),
            "a gated connector writes no status"
        );
        let failed = report.runs[1].status.as_ref().unwrap();
        assert_eq!(failed.code, StatusCode::Failed);
        assert!(
            failed
                .message
                .starts_with("[IMPORT] Stats: read 1, processed 0"),
            "{}",
            failed.message
        );
        assert!(
            failed.message.contains("connection refused"),
            "{}",
            failed.message
        );
        // The failing connector did not stop the others.
        let customer = report.runs[2].status.as_ref().unwrap();
        assert_eq!(customer.code, StatusCode::Completed, "{}", customer.message);
        let mut lines = customer.message.lines();
        assert_eq!(
            lines.next(),
            Some("[IMPORT] Stats: read 3, processed 2, updated 0, added 2, deleted 0, invalid 1")
        );
        assert_eq!(
            lines.next(),
            Some("Some entities were skipped due to warnings:")
        );
        let warning = lines.next().unwrap();
        // The warning names the record and the field; the record's data (the customer's
        // name) stays out of the status.
        assert!(
            warning.contains("no email")
                && warning.contains("customer 2, field `email`")
                && warning.contains(r#"(item: {"id":2})"#),
            "{warning}"
        );
        assert!(
            !warning.contains("Bob"),
            "a warning shows the record: {warning}"
        );
        // The cursor is the (backend, model) import cursor, shown in the status row.
        assert_eq!(
            customer.data[sync_core::batch::IMPORT_CURSOR_KEY]["since"],
            json!(last_customer_stamp)
        );
        let since = db
            .storage
            .import_cursors()
            .since(shop.backend.id, "customer")
            .await
            .unwrap();
        assert_eq!(
            since.map(sync_core::batch::format_time),
            Some(last_customer_stamp.clone())
        );
        let execution = report.runs[2].execution.as_ref().unwrap();
        assert_eq!(execution.status, BatchStatus::Completed);
        assert_eq!(execution.integration_id, Some(integration.id));
        assert_eq!(execution.connector.as_deref(), Some("customer"));
        // `group` was allowed because `customer` completed before it.
        let group = report.runs[3].status.as_ref().unwrap();
        assert_eq!(group.code, StatusCode::Completed);
        assert_eq!(local_count(&db.storage).await, 2);

        // Incremental: from the cursor of the last completed run (overlap 0 here): the
        // record at the cursor and the one changed since.
        remote.put("customer", Some(ada), object(json!({"name": "Ada L."})));
        let only_customer = SyncOptions {
            connector: Some("customer".into()),
            ..SyncOptions::default()
        };
        let report = forward_sync(&shop.app, integration.id, only_customer.clone())
            .await
            .unwrap();
        assert_eq!(report.runs.len(), 1);
        let status = report.runs[0].status.as_ref().unwrap();
        assert!(
            status
                .message
                .starts_with("[IMPORT] Stats: read 2, processed 2, updated 2, added 0"),
            "{}: {}",
            db.name,
            status.message
        );
        // A failed run never moves a cursor: `order` has no completed status.
        let statuses = db.storage.integration_statuses();
        let last_order = statuses
            .last(
                integration.id,
                "order",
                JobType::Import,
                Some(StatusCode::Completed),
            )
            .await
            .unwrap();
        assert!(last_order.is_none());

        // Force: a full re-sync for connectors that support it.
        let forced = SyncOptions {
            force: true,
            ..only_customer
        };
        let report = forward_sync(&shop.app, integration.id, forced)
            .await
            .unwrap();
        let status = report.runs[0].status.as_ref().unwrap();
        assert!(
            status.message.starts_with("[IMPORT] Stats: read 3"),
            "{}",
            status.message
        );
        assert_eq!(local_count(&db.storage).await, 2);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_overlap_rereads_records_near_the_cursor() {
    for db in test_databases().await.unwrap() {
        let shop = shop(&db.storage).await;
        for name in ["a", "b", "c"] {
            shop.remote
                .put("customer", None, object(json!({ "name": name })));
        }
        let integration = db
            .storage
            .integrations()
            .create(
                NewIntegration::new(shop.backend.id, "shop", ["customer"])
                    .extra(json!({"overlap_secs": 1})),
            )
            .await
            .unwrap();
        forward_sync(&shop.app, integration.id, SyncOptions::default())
            .await
            .unwrap();
        let report = forward_sync(&shop.app, integration.id, SyncOptions::default())
            .await
            .unwrap();
        let message = &report.runs[0].status.as_ref().unwrap().message;
        // The cursor is c's stamp; one second earlier is b's.
        assert!(
            message.starts_with("[IMPORT] Stats: read 2,"),
            "{}: {message}",
            db.name
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn disabled_integrations_and_unknown_connectors_are_refused() {
    for db in test_databases().await.unwrap() {
        let shop = shop(&db.storage).await;
        let integrations = db.storage.integrations();
        let integration = integrations
            .create(NewIntegration::new(
                shop.backend.id,
                "shop",
                ["customer", "gone"],
            ))
            .await
            .unwrap();
        let only_order = SyncOptions {
            connector: Some("order".into()),
            ..SyncOptions::default()
        };
        let refused = forward_sync(&shop.app, integration.id, only_order).await;
        assert!(matches!(refused, Err(SyncError::Failed(m)) if m.contains("not enabled")));
        // An enabled name that no connector declares is skipped; the others run.
        let report = forward_sync(&shop.app, integration.id, SyncOptions::default())
            .await
            .unwrap();
        assert_eq!(report.runs.len(), 1);
        // One forward sync of an integration at a time: a second one is retried later.
        let held = db
            .storage
            .try_lock(
                &format!("batch:forward:{}", integration.id),
                Duration::from_secs(60),
            )
            .await
            .unwrap();
        let busy = forward_sync(&shop.app, integration.id, SyncOptions::default()).await;
        assert!(
            matches!(&busy, Err(e) if e.is_retryable() && !e.counts_as_retry()),
            "{busy:?}"
        );
        held.release().await.unwrap();
        integrations
            .set_enabled(integration.id, false)
            .await
            .unwrap();
        let disabled = forward_sync(&shop.app, integration.id, SyncOptions::default()).await;
        assert!(
            matches!(disabled, Err(SyncError::NothingToDo(_))),
            "{disabled:?}"
        );
        // One integration per backend.
        let second = integrations
            .create(NewIntegration::new(shop.backend.id, "other", ["customer"]))
            .await;
        assert!(second.is_err());
        let stored = integrations.by_name("shop").await.unwrap().unwrap();
        assert!(!stored.enabled);
        assert_eq!(stored.connectors, ["customer", "gone"]);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn connectors_are_checked_when_the_type_is_registered() {
    let jobs = JobCatalog::parse("tests/shop-jobs.toml", SHOP_JOBS).unwrap();
    let mut registry = ComponentRegistry::new();
    sync_core::batch::register_builtins(&mut registry);
    // The export job used as an import job.
    let wrong = IntegrationType::new("shop", jobs.clone()).connector(Connector::new(
        "customer",
        "Customers",
        "customer",
        "customer_export",
    ));
    let error = wrong.validate(&registry).unwrap_err().to_string();
    assert!(
        error.contains("customer_export") && error.contains("import"),
        "{error}"
    );
    // A missing job.
    let missing = IntegrationType::new("shop", jobs.clone())
        .connector(Connector::new("c", "C", "customer", "nope"));
    assert!(missing.validate(&registry).is_err());
    // A component the registry lacks (`test.rules` is not registered here).
    let unresolved = IntegrationType::new("shop", jobs.clone()).connector(Connector::new(
        "c",
        "C",
        "customer",
        "customer_import",
    ));
    let error = unresolved.validate(&registry).unwrap_err().to_string();
    assert!(
        error.contains("tests/shop-jobs.toml")
            && error.contains("customer_import")
            && error.contains("step `import`"),
        "{error}"
    );
    // Twice the same name.
    let twice = IntegrationType::new("shop", jobs)
        .connector(Connector::new("c", "C", "order", "order_import"))
        .connector(Connector::new("c", "C", "order", "order_import"));
    assert!(
        twice
            .validate(&registry)
            .unwrap_err()
            .to_string()
            .contains("twice")
    );
}

#[tokio::test]
async fn periodic_syncs_are_scheduled_once_per_interval() {
    for db in test_databases().await.unwrap() {
        let shop = shop(&db.storage).await;
        let integration = db
            .storage
            .integrations()
            .create(
                NewIntegration::new(shop.backend.id, "shop", ["customer"])
                    .every(Duration::from_secs(3600)),
            )
            .await
            .unwrap();
        let enqueued: Vec<ScheduledWork> = enqueue_due(&shop.queue)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.work)
            .collect();
        assert_eq!(
            enqueued,
            [ScheduledWork::ForwardSync {
                integration_id: integration.id
            }]
        );
        // Not due again within the interval.
        assert!(enqueue_due(&shop.queue).await.unwrap().is_empty());
        let (jobs,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM queue_jobs WHERE name = 'batch.forward_sync'")
                .fetch_one(db.storage.pool())
                .await
                .unwrap();
        assert_eq!(jobs, 1);
        // The worker runs it.
        let registry = sync_core::batch::register_jobs(sync_core::queue::JobRegistry::new());
        sync_core::queue::Worker::builder(shop.queue.clone(), registry)
            .data(shop.app.clone())
            .build()
            .run_until_idle()
            .await
            .unwrap();
        let statuses = db
            .storage
            .integration_statuses()
            .list(integration.id, None, 10)
            .await
            .unwrap();
        assert_eq!(statuses.len(), 1, "{}", db.name);
        assert_eq!(statuses[0].code, StatusCode::Completed);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn cleanup_keeps_the_latest_completed_cursor_per_integration_and_connector() {
    for db in test_databases().await.unwrap() {
        let shop = shop(&db.storage).await;
        let integration = db
            .storage
            .integrations()
            .create(NewIntegration::new(
                shop.backend.id,
                "shop",
                ["customer", "order"],
            ))
            .await
            .unwrap();
        shop.remote.put("order", None, object(json!({"total": 12})));
        for _ in 0..3 {
            forward_sync(&shop.app, integration.id, SyncOptions::default())
                .await
                .unwrap();
        }
        // Make everything old, and one execution look dead.
        sqlx::query("UPDATE sync_integration_statuses SET created_at = created_at - 3000000000000")
            .execute(db.storage.pool())
            .await
            .unwrap();
        sqlx::query("UPDATE sync_job_executions SET created_at = created_at - 3000000000000")
            .execute(db.storage.pool())
            .await
            .unwrap();
        let stuck = db
            .storage
            .batch_executions()
            .create_job(
                "customer_import",
                JobType::Import,
                Some(integration.id),
                Some("customer"),
                &json!({}),
            )
            .await
            .unwrap();
        sqlx::query("UPDATE sync_job_executions SET updated_at = 0 WHERE id = $1")
            .bind(stuck.id)
            .execute(db.storage.pool())
            .await
            .unwrap();
        let report = cleanup(&db.storage, CleanupPolicy::default())
            .await
            .unwrap();
        // 6 statuses: 3 completed customer, 3 failed order. Kept: the latest completed customer.
        assert_eq!(report.statuses, 5, "{}", db.name);
        assert_eq!(report.abandoned, 1);
        assert_eq!(report.executions, 6);
        let left = db
            .storage
            .integration_statuses()
            .list(integration.id, None, 10)
            .await
            .unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(
            (left[0].connector.as_str(), left[0].code),
            ("customer", StatusCode::Completed)
        );
        let stuck = db.storage.batch_executions().get(stuck.id).await.unwrap();
        assert_eq!(stuck.status, BatchStatus::Abandoned);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_local_modified_since_reader_reads_changes_after_its_cursor() {
    for db in test_databases().await.unwrap() {
        let shop = shop(&db.storage).await;
        let integration = db
            .storage
            .integrations()
            .create(
                NewIntegration::new(shop.backend.id, "shop", ["scan"])
                    .extra(json!({"overlap_secs": 0})),
            )
            .await
            .unwrap();
        let mut ids = Vec::new();
        {
            let mut conn = db.storage.pool().acquire().await.unwrap();
            for name in ["a", "b", "c"] {
                ids.push(
                    sync_core::local::LocalRepository::create(
                        shop.customers.as_ref(),
                        &mut conn,
                        &object(json!({ "name": name })),
                    )
                    .await
                    .unwrap(),
                );
            }
        }
        let read = |report: sync_core::batch::SyncReport| {
            report.runs[0].execution.as_ref().unwrap().counters().read
        };
        let first = forward_sync(&shop.app, integration.id, SyncOptions::default())
            .await
            .unwrap();
        assert_eq!(read(first), 3, "{}: pages of one item, all read", db.name);
        {
            let mut conn = db.storage.pool().acquire().await.unwrap();
            sync_core::local::LocalRepository::write(
                shop.customers.as_ref(),
                &mut conn,
                ids[1],
                &object(json!({"name": "B"})),
            )
            .await
            .unwrap();
        }
        let second = forward_sync(&shop.app, integration.id, SyncOptions::default())
            .await
            .unwrap();
        assert_eq!(
            read(second),
            1,
            "{}: only the change since the cursor",
            db.name
        );
        let forced = SyncOptions {
            force: true,
            ..SyncOptions::default()
        };
        let third = forward_sync(&shop.app, integration.id, forced)
            .await
            .unwrap();
        assert_eq!(read(third), 3, "{}: a forced run reads everything", db.name);
        db.cleanup().await;
    }
}
