//! Storage on both databases: migrations, backends, bindings, checkpoints, locks.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use sync_core::backend::{NewBackend, Secrets};
use sync_core::storage::{BindingScope, CheckpointFilter, CheckpointState, SyncedState};
use sync_core::testing::test_databases;
use sync_core::{ExternalId, LocalId, SyncError};

#[tokio::test]
async fn migrations_applied_twice_are_a_no_op() {
    for db in test_databases().await.unwrap() {
        db.storage.migrate().await.unwrap();
        db.storage.migrate().await.unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(db.storage.pool())
            .await
            .unwrap();
        let files = std::fs::read_dir(format!(
            "{}/migrations/{}",
            env!("CARGO_MANIFEST_DIR"),
            db.name
        ))
        .unwrap()
        .count();
        assert_eq!(n as usize, files, "{}: one row per migration", db.name);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn backends_are_stored_and_never_show_their_secrets() {
    for db in test_databases().await.unwrap() {
        let backends = db.storage.backends();
        let created = backends
            .create(
                NewBackend::new("magento", "shop")
                    .version("2.4")
                    .settings(json!({"base_url": "http://shop"}))
                    .secrets(Secrets::new().with("token", "tok-very-secret")),
            )
            .await
            .unwrap();
        assert!(created.enabled);
        let shown = format!("{created:?} {created}");
        assert!(!shown.contains("tok-very-secret"), "{}: {shown}", db.name);

        backends.disable(created.id).await.unwrap();
        let got = backends.get(created.id).await.unwrap();
        assert!(!got.enabled);
        assert_eq!(got.version.as_deref(), Some("2.4"));
        assert_eq!(got.setting_str("base_url"), Some("http://shop"));
        assert_eq!(
            got.secrets.get("token").unwrap().expose(),
            "tok-very-secret"
        );
        backends.enable(created.id).await.unwrap();
        assert!(backends.get(created.id).await.unwrap().enabled);

        let duplicate = backends
            .create(NewBackend::new("magento", "shop"))
            .await
            .unwrap_err();
        assert!(
            duplicate.to_string().contains("already exists"),
            "{duplicate}"
        );
        assert_eq!(backends.list().await.unwrap().len(), 1);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn binder_round_trips_and_rejects_duplicates() {
    for db in test_databases().await.unwrap() {
        let backend = db
            .storage
            .backends()
            .create(NewBackend::new("test", "b"))
            .await
            .unwrap();
        let scope = BindingScope {
            backend_id: backend.id,
            model: "customer",
        };
        let bindings = db.storage.bindings();
        let mut conn = db.storage.pool().acquire().await.unwrap();
        let now = Utc::now();
        // 0 is a valid external id.
        let bound = bindings
            .bind(&mut conn, scope, &ExternalId::from("0"), LocalId(7), now)
            .await
            .unwrap();
        assert_eq!(bound.external_id, Some(ExternalId::from("0")));
        let by_ext = bindings
            .by_external(&mut conn, scope, &ExternalId::from("0"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_ext.local_id, LocalId(7));
        assert_eq!(
            by_ext.sync_date.map(|d| d.timestamp_micros()),
            Some(now.timestamp_micros())
        );
        let by_local = bindings
            .by_local(&mut conn, scope, LocalId(7))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_local.id, by_ext.id);

        // The same external id for another local record violates (backend, model, external id).
        let err = bindings
            .bind(&mut conn, scope, &ExternalId::from("0"), LocalId(8), now)
            .await
            .unwrap_err();
        assert!(
            matches!(err, SyncError::BindingConflict { .. }),
            "{}: {err:?}",
            db.name
        );

        // Rebinding the same local record to a new external id updates it.
        bindings
            .bind(&mut conn, scope, &ExternalId::from("42"), LocalId(7), now)
            .await
            .unwrap();
        assert!(
            bindings
                .by_external(&mut conn, scope, &ExternalId::from("0"))
                .await
                .unwrap()
                .is_none()
        );

        // Another model may reuse the same ids.
        let other = BindingScope {
            backend_id: backend.id,
            model: "product",
        };
        bindings
            .bind(&mut conn, other, &ExternalId::from("42"), LocalId(7), now)
            .await
            .unwrap();

        // Sync state round trip.
        let mut values = sync_core::values::Values::new();
        values.insert("email".into(), json!("a@b.c"));
        let state = SyncedState::of(values);
        bindings
            .set_synced_state(&mut conn, bound.id, &state)
            .await
            .unwrap();
        let again = bindings
            .by_local(&mut conn, scope, LocalId(7))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.synced, Some(state));

        assert!(
            bindings
                .unbind(&mut conn, scope, &ExternalId::from("42"))
                .await
                .unwrap()
        );
        assert_eq!(bindings.count(&mut conn, scope).await.unwrap(), 0);
        drop(conn);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn export_intent_is_recorded_once_and_cleared_by_bind() {
    for db in test_databases().await.unwrap() {
        let backend = db
            .storage
            .backends()
            .create(NewBackend::new("test", "b"))
            .await
            .unwrap();
        let scope = BindingScope {
            backend_id: backend.id,
            model: "customer",
        };
        let bindings = db.storage.bindings();
        let mut conn = db.storage.pool().acquire().await.unwrap();
        let first = bindings
            .record_export_intent(&mut conn, scope, LocalId(1))
            .await
            .unwrap();
        assert!(first.external_id.is_none() && first.export_intent_at.is_some());
        let second = bindings
            .record_export_intent(&mut conn, scope, LocalId(1))
            .await
            .unwrap();
        assert_eq!(first.export_intent_at, second.export_intent_at);
        let bound = bindings
            .bind(
                &mut conn,
                scope,
                &ExternalId::from("9"),
                LocalId(1),
                Utc::now(),
            )
            .await
            .unwrap();
        assert_eq!(bound.id, first.id);
        assert!(bound.export_intent_at.is_none());
        drop(conn);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn checkpoints_go_from_need_review_to_reviewed() {
    for db in test_databases().await.unwrap() {
        let backend = db
            .storage
            .backends()
            .create(NewBackend::new("test", "b"))
            .await
            .unwrap();
        let checkpoints = db.storage.checkpoints();
        let mut conn = db.storage.pool().acquire().await.unwrap();
        let a = checkpoints
            .add(
                &mut conn,
                backend.id,
                "product",
                LocalId(1),
                "new product: set its price",
            )
            .await
            .unwrap();
        let _b = checkpoints
            .add(
                &mut conn,
                backend.id,
                "category",
                LocalId(2),
                "new category",
            )
            .await
            .unwrap();
        drop(conn);
        let open = CheckpointFilter {
            state: Some(CheckpointState::NeedReview),
            ..CheckpointFilter::default()
        };
        assert_eq!(checkpoints.list(&open).await.unwrap().len(), 2);
        assert_eq!(checkpoints.mark_reviewed(&[a]).await.unwrap(), 1);
        assert_eq!(
            checkpoints.mark_reviewed(&[a]).await.unwrap(),
            0,
            "already reviewed"
        );
        let left = checkpoints.list(&open).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].model, "category");
        let reviewed = checkpoints
            .list(&CheckpointFilter {
                state: Some(CheckpointState::Reviewed),
                model: Some("product".into()),
                ..CheckpointFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(reviewed.len(), 1);
        assert!(reviewed[0].reviewed_at.is_some());
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_taken_lock_is_a_retry_that_does_not_count() {
    for db in test_databases().await.unwrap() {
        // A second storage handle: its own pool, so its own connections.
        let other = sync_core::storage::Storage::connect(&db.url, Default::default())
            .await
            .unwrap();
        let held = db
            .storage
            .try_lock("import:1:customer:42", Duration::from_secs(60))
            .await
            .unwrap();
        let err = other
            .try_lock("import:1:customer:42", Duration::from_secs(60))
            .await
            .unwrap_err();
        assert!(
            err.is_retryable() && !err.counts_as_retry(),
            "{}: {err:?}",
            db.name
        );
        // Another key is free.
        other
            .try_lock("import:1:customer:43", Duration::from_secs(60))
            .await
            .unwrap()
            .release()
            .await
            .unwrap();
        held.release().await.unwrap();
        let again = other
            .try_lock("import:1:customer:42", Duration::from_secs(60))
            .await
            .unwrap();
        again.release().await.unwrap();
        other.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_expired_sqlite_lease_can_be_taken_over() {
    let db = sync_core::testing::sqlite().await.unwrap();
    let stale = db
        .storage
        .try_lock("k", Duration::from_millis(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let fresh = db
        .storage
        .try_lock("k", Duration::from_secs(60))
        .await
        .unwrap();
    // Releasing the stale guard must not free the new holder's lock.
    stale.release().await.unwrap();
    assert!(
        db.storage
            .try_lock("k", Duration::from_secs(60))
            .await
            .is_err()
    );
    fresh.release().await.unwrap();
    db.cleanup().await;
}
