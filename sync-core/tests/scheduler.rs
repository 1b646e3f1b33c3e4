//! The one scheduler: one table of schedules for batch imports and forward syncs, claimed by
//! the workers so that each due run is enqueued once, and the schedules of an older database
//! moved into it. SQLite and PostgreSQL.

use std::time::Duration;

use sync_core::backend::NewBackend;
use sync_core::queue::Queue;
use sync_core::scheduler::enqueue_due;
use sync_core::storage::{ScheduledWork, Storage};
use sync_core::testing::{test_databases, test_databases_migrated_to};
use sync_core::{BackendId, batch::NewIntegration};

async fn jobs_named(storage: &Storage, name: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM queue_jobs WHERE name = $1")
        .bind(name)
        .fetch_one(storage.pool())
        .await
        .unwrap();
    n
}

/// Two workers (two pools, as two processes have) tick at the same moment, round after
/// round: each due run of each schedule is claimed by one of them and enqueued once.
#[tokio::test]
async fn two_workers_racing_enqueue_a_due_schedule_once() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let backend = db
            .storage
            .backends()
            .create(NewBackend::new("shop", "shop-1"))
            .await
            .unwrap();
        let integration = db
            .storage
            .integrations()
            .create(
                NewIntegration::new(backend.id, "shop", ["customer"])
                    .every(Duration::from_secs(3600)),
            )
            .await
            .unwrap();
        let import = ScheduledWork::Import {
            backend_id: backend.id,
            model: "customer".into(),
        };
        db.storage
            .schedules()
            .set(&import, Duration::from_secs(3600))
            .await
            .unwrap();
        let first = Queue::new(Storage::open(&db.url).await.unwrap());
        let second = Queue::new(Storage::open(&db.url).await.unwrap());
        for round in 0..8 {
            // Both schedules due again, and the previous round's jobs gone.
            sqlx::query("UPDATE sync_schedules SET next_run_at = 0")
                .execute(db.storage.pool())
                .await
                .unwrap();
            sqlx::query("DELETE FROM queue_jobs")
                .execute(db.storage.pool())
                .await
                .unwrap();
            let (a, b) = tokio::join!(enqueue_due(&first), enqueue_due(&second));
            let (a, b) = (a.unwrap(), b.unwrap());
            let mut claimed: Vec<String> = a.iter().chain(&b).map(|s| s.work.target()).collect();
            claimed.sort();
            assert_eq!(
                claimed,
                [format!("forward_sync:{}", integration.id), import.target()],
                "{name} round {round}: each schedule claimed by one worker"
            );
            assert_eq!(
                jobs_named(&db.storage, "synckit.import_batch").await,
                1,
                "{name} round {round}"
            );
            assert_eq!(
                jobs_named(&db.storage, "batch.forward_sync").await,
                1,
                "{name} round {round}"
            );
            // Not due again within the interval, for either worker.
            assert!(enqueue_due(&first).await.unwrap().is_empty(), "{name}");
            assert!(enqueue_due(&second).await.unwrap().is_empty(), "{name}");
        }
        first.storage().close().await;
        second.storage().close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn schedules_are_listed_replaced_removed_and_wait_for_a_disabled_integration() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let schedules = db.storage.schedules();
        let backend = db
            .storage
            .backends()
            .create(NewBackend::new("shop", "shop-1"))
            .await
            .unwrap();
        let integration = db
            .storage
            .integrations()
            .create(NewIntegration::new(backend.id, "shop", ["customer"]))
            .await
            .unwrap();
        let sync = ScheduledWork::ForwardSync {
            integration_id: integration.id,
        };
        let added = schedules.set(&sync, Duration::from_secs(60)).await.unwrap();
        // The same work again replaces the interval: one schedule per work.
        let replaced = schedules.set(&sync, Duration::from_secs(90)).await.unwrap();
        assert_eq!(added.id, replaced.id, "{name}");
        assert_eq!(
            schedules.list().await.unwrap(),
            std::slice::from_ref(&replaced),
            "{name}"
        );
        assert_eq!(replaced.every, Duration::from_secs(90));

        // A disabled integration stays due and is not enqueued.
        let queue = Queue::new(db.storage.clone());
        db.storage
            .integrations()
            .set_enabled(integration.id, false)
            .await
            .unwrap();
        assert!(enqueue_due(&queue).await.unwrap().is_empty(), "{name}");
        db.storage
            .integrations()
            .set_enabled(integration.id, true)
            .await
            .unwrap();
        assert_eq!(enqueue_due(&queue).await.unwrap().len(), 1, "{name}");

        // Work that does not exist cannot be scheduled.
        let unknown = ScheduledWork::Import {
            backend_id: BackendId(9999),
            model: "customer".into(),
        };
        let refused = schedules.set(&unknown, Duration::from_secs(60)).await;
        assert!(refused.is_err(), "{name}: {refused:?}");

        assert!(schedules.remove(replaced.id).await.unwrap(), "{name}");
        assert!(!schedules.remove(replaced.id).await.unwrap(), "{name}");
        assert!(schedules.list().await.unwrap().is_empty(), "{name}");
        db.cleanup().await;
    }
}

/// A database of the schema before the one scheduler (migrations up to 0012), with a
/// scheduled batch import and an integration's sync interval, keeps both as schedules.
#[tokio::test]
async fn an_upgrade_moves_the_existing_schedules_into_the_one_table() {
    for db in test_databases_migrated_to(12).await.unwrap() {
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
            "INSERT INTO sync_integrations (backend_id, name, sync_interval_secs, last_scheduled_at, \
             created_at, updated_at) VALUES ($1, 'old', 600, 1000000, 0, 0) RETURNING id",
        )
        .bind(backend)
        .fetch_one(pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO sync_import_cursors (backend_id, model, since, every_secs, next_run_at, updated_at) \
             VALUES ($1, 'customer', 42000000, 300, 7000000, 0), ($1, 'order', NULL, NULL, NULL, 0)",
        )
        .bind(backend)
        .execute(pool)
        .await
        .unwrap();

        db.storage.migrate().await.unwrap();

        let schedules = db.storage.schedules().list().await.unwrap();
        let found: Vec<(ScheduledWork, u64, i64)> = schedules
            .iter()
            .map(|s| {
                (
                    s.work.clone(),
                    s.every.as_secs(),
                    s.next_run_at.timestamp_micros(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                (
                    ScheduledWork::Import {
                        backend_id: BackendId(backend),
                        model: "customer".into()
                    },
                    300,
                    7_000_000
                ),
                (
                    ScheduledWork::ForwardSync {
                        integration_id: integration
                    },
                    600,
                    // The last scheduled run plus the interval.
                    1_000_000 + 600_000_000
                ),
            ],
            "{name}"
        );
        // The cursor itself stays where it was.
        let since = db
            .storage
            .import_cursors()
            .since(BackendId(backend), "customer")
            .await
            .unwrap();
        assert_eq!(since.map(|s| s.timestamp_micros()), Some(42_000_000));
        db.cleanup().await;
    }
}
