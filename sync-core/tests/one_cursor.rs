//! One incremental cursor per (backend, model): an integration's `remote_paging` connector
//! and a batch import of the same model read and move the same `sync_import_cursors` row,
//! and an upgrade carries the connectors' old status-row cursors over. SQLite and PostgreSQL.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::json;
use sync_core::BackendId;
use sync_core::batch::{IMPORT_CURSOR_KEY, NewIntegration, SyncOptions, SyncReport, forward_sync};
use sync_core::storage::Storage;
use sync_core::sync::{ConflictPolicy, ImportMode, run_batch_import};
use sync_core::testing::{test_databases, test_databases_migrated_to};

mod batch_support;
use batch_support::{Shop, object, shop};

fn at(text: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .unwrap()
        .and_utc()
}

fn read(report: &SyncReport) -> u64 {
    report.runs[0].execution.as_ref().unwrap().counters().read
}

async fn cursor(storage: &Storage, backend: BackendId) -> Option<DateTime<Utc>> {
    storage
        .import_cursors()
        .since(backend, "customer")
        .await
        .unwrap()
}

fn only_customer(force: bool) -> SyncOptions {
    SyncOptions {
        connector: Some("customer".into()),
        force,
        ..SyncOptions::default()
    }
}

fn put_customers(shop: &Shop, n: usize) -> String {
    for i in 0..n {
        shop.remote
            .put("customer", None, object(json!({ "name": format!("c{i}") })));
    }
    shop.remote.now()
}

#[tokio::test]
async fn a_cursor_moved_by_one_style_is_seen_by_the_other() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let shop = shop(&db.storage).await;
        let backend = shop.backend.id;
        let third = put_customers(&shop, 3);
        let integration = db
            .storage
            .integrations()
            .create(
                NewIntegration::new(backend, "shop", ["customer"])
                    .extra(json!({"overlap_secs": 0})),
            )
            .await
            .unwrap();

        // The integration moves the (backend, model) cursor to the newest record it read...
        let first = forward_sync(&shop.app, integration.id, only_customer(false))
            .await
            .unwrap();
        assert_eq!(read(&first), 3, "{name}");
        assert_eq!(
            cursor(&db.storage, backend).await,
            Some(at(&third)),
            "{name}"
        );
        // ... its status row shows it, and keeps no cursor of its own.
        let status = first.runs[0].status.as_ref().unwrap();
        assert_eq!(
            status.data[IMPORT_CURSOR_KEY],
            json!({"model": "customer", "since": third}),
            "{name}"
        );
        assert!(!status.data.contains_key("last_sync_at"), "{name}");

        // ... and a batch import of the model starts there: the third record (at the
        // cursor) and the one changed since, not the whole model.
        let fourth = put_customers(&shop, 1);
        let ctx = shop.app.work_on(backend, "customer").await.unwrap();
        let report = run_batch_import(&ctx, ImportMode::Direct, false)
            .await
            .unwrap();
        assert_eq!(report.dispatched, 2, "{name}: {:?}", report.errors);
        assert!(report.errors.is_empty(), "{name}: {:?}", report.errors);
        // The batch import moved it to its window's end (our clock, overlap 0)...
        let moved = cursor(&db.storage, backend).await.unwrap();
        assert!(moved > at(&fourth), "{name}: {moved}");

        // ... which the integration starts from: nothing changed since.
        let second = forward_sync(&shop.app, integration.id, only_customer(false))
            .await
            .unwrap();
        assert_eq!(read(&second), 0, "{name}");
        assert_eq!(
            cursor(&db.storage, backend).await,
            Some(moved),
            "{name}: nothing read, the cursor stays"
        );

        // `integrations sync --force` and `imports run --full` mean the same: everything is
        // read whatever the cursor, and the cursor moves after the run.
        let forced = forward_sync(&shop.app, integration.id, only_customer(true))
            .await
            .unwrap();
        assert_eq!(read(&forced), 4, "{name}");
        assert_eq!(
            cursor(&db.storage, backend).await,
            Some(at(&fourth)),
            "{name}"
        );
        let full = run_batch_import(&ctx, ImportMode::Direct, true)
            .await
            .unwrap();
        assert_eq!(full.dispatched, 4, "{name}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_failed_connector_run_leaves_the_shared_cursor_where_it_was() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let shop = shop(&db.storage).await;
        let backend = shop.backend.id;
        shop.remote.put("order", None, object(json!({"total": 12})));
        let integration = db
            .storage
            .integrations()
            .create(NewIntegration::new(backend, "shop", ["order"]))
            .await
            .unwrap();
        // The `order` connector reads its orders, then its writer fails the step.
        let failed = forward_sync(&shop.app, integration.id, SyncOptions::default())
            .await
            .unwrap();
        assert!(!failed.is_success(), "{name}");
        assert_eq!(read(&failed), 1, "{name}");
        let orders = db
            .storage
            .import_cursors()
            .since(backend, "order")
            .await
            .unwrap();
        assert_eq!(orders, None, "{name}: the next run reads the order again");
        db.cleanup().await;
    }
}

/// A database made by the migrations up to 0009, with connector cursors in the status rows
/// and a `local` sync priority, keeps both through the upgrade.
#[tokio::test]
async fn an_upgrade_keeps_the_connector_cursors_and_the_sync_priority() {
    for db in test_databases_migrated_to(9).await.unwrap() {
        let name = db.name;
        let pool = db.storage.pool();
        let (backend,): (i64,) = sqlx::query_as(
            "INSERT INTO sync_backends (kind, name, created_at, updated_at) \
             VALUES ('shop', 'old-shop', 0, 0) RETURNING id",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        let (integration,): (i64,) = sqlx::query_as(
            "INSERT INTO sync_integrations (backend_id, name, connectors, two_way, sync_priority, settings, \
             created_at, updated_at) VALUES ($1, 'old', '[\"customer\", \"order\"]', 1, 'local', \
             '{\"overlap_secs\": 5}', 0, 0) RETURNING id",
        )
        .bind(backend)
        .fetch_one(pool)
        .await
        .unwrap();
        for (connector, code, data) in [
            (
                "customer",
                "completed",
                r#"{"last_sync_at": "2026-01-01 00:00:10"}"#,
            ),
            (
                "customer",
                "completed",
                r#"{"last_sync_at": "2026-01-01 00:00:20"}"#,
            ),
            // A failed run never held a cursor.
            ("customer", "failed", "{}"),
            ("order", "completed", "{}"),
        ] {
            sqlx::query(
                "INSERT INTO sync_integration_statuses (integration_id, connector, direction, code, \
                 message, data, created_at) VALUES ($1, $2, 'import', $3, '', $4, 0)",
            )
            .bind(integration)
            .bind(connector)
            .bind(code)
            .bind(data)
            .execute(pool)
            .await
            .unwrap();
        }

        db.storage.migrate().await.unwrap();

        let stored = db.storage.integrations().get(integration).await.unwrap();
        assert_eq!(
            stored.settings.conflict_policy,
            ConflictPolicy::LocalWins,
            "{name}"
        );
        // Records stamped 00:00:01 … 00:00:30 by the remote clock.
        let shop = shop(&db.storage).await;
        put_customers(&shop, 30);
        let old = BackendId(backend);
        let report = forward_sync(&shop.app, integration, only_customer(false))
            .await
            .unwrap();
        // The old cursor minus the overlap: 00:00:15 and after.
        assert_eq!(read(&report), 16, "{name}: {:?}", report.runs[0].status);
        // Then it moved on: the newest record read minus the overlap.
        assert_eq!(
            cursor(&db.storage, old).await,
            Some(at("2026-01-01 00:00:25")),
            "{name}"
        );
        let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sync_connector_cursor_upgrades")
            .fetch_one(db.storage.pool())
            .await
            .unwrap();
        assert_eq!(left, 0, "{name}: adopted once");
        db.cleanup().await;
    }
}
