//! Binding an empty external id is refused with an error naming the model and the local id,
//! and nothing is written; on SQLite and PostgreSQL.

use chrono::Utc;
use sync_core::backend::NewBackend;
use sync_core::storage::{BindRow, BindingScope};
use sync_core::testing::test_databases;
use sync_core::{ExternalId, LocalId, SyncError};

#[tokio::test]
async fn an_empty_external_id_is_not_bound() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let backend = db
            .storage
            .backends()
            .create(NewBackend::new("memory", "remote"))
            .await
            .unwrap();
        let scope = BindingScope {
            backend_id: backend.id,
            model: "magento.product",
        };
        let bindings = db.storage.bindings();
        let mut conn = db.storage.pool().acquire().await.unwrap();
        for blank in ["", "  "] {
            let refused = bindings
                .bind(
                    &mut conn,
                    scope,
                    &ExternalId::from(blank),
                    LocalId(7),
                    Utc::now(),
                )
                .await;
            match &refused {
                Err(SyncError::InvalidData { record, field, .. }) => {
                    assert!(
                        record.contains("magento.product") && record.contains('7'),
                        "{name}: {record}"
                    );
                    assert_eq!(field, "external_id", "{name}");
                }
                other => panic!("{name}: expected invalid data, got {other:?}"),
            }
        }
        let rows = [
            BindRow {
                external_id: ExternalId::from("SKU-1"),
                local_id: LocalId(1),
                sync_date: Utc::now(),
                metadata: None,
                synced: None,
            },
            BindRow {
                external_id: ExternalId::from(""),
                local_id: LocalId(2),
                sync_date: Utc::now(),
                metadata: None,
                synced: None,
            },
        ];
        let refused = bindings.bind_many(&mut conn, scope, &rows).await;
        assert!(
            matches!(&refused, Err(SyncError::InvalidData { record, .. }) if record.contains('2')),
            "{name}: {refused:?}"
        );
        assert_eq!(bindings.count(&mut conn, scope).await.unwrap(), 0, "{name}");
        drop(conn);
        db.cleanup().await;
    }
}
