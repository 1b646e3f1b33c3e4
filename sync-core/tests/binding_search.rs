//! Operators find bindings by local id, external id or a natural key of the last synced
//! state, narrowed by backend and model or not; on SQLite and PostgreSQL.

use serde_json::json;
use sync_core::backend::NewBackend;
use sync_core::storage::{BindingQuery, BindingScope, SyncedState};
use sync_core::testing::test_databases;
use sync_core::{ExternalId, LocalId};

#[tokio::test]
async fn bindings_are_found_by_local_id_external_id_and_natural_key() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let backend = db
            .storage
            .backends()
            .create(NewBackend::new("shop", "shop-1"))
            .await
            .unwrap();
        let bindings = db.storage.bindings();
        let mut conn = db.storage.pool().acquire().await.unwrap();
        let now = chrono::Utc::now();
        for (model, external, local, email) in [
            ("customer", "10", 1, "ada@example.com"),
            ("customer", "11", 2, "bob@example.com"),
            ("order", "10", 1, "ada@example.com"),
        ] {
            let scope = BindingScope {
                backend_id: backend.id,
                model,
            };
            let bound = bindings
                .bind(
                    &mut conn,
                    scope,
                    &ExternalId::from(external),
                    LocalId(local),
                    now,
                )
                .await
                .unwrap();
            let values = json!({"email": email, "count": local});
            let serde_json::Value::Object(values) = values else {
                unreachable!()
            };
            bindings
                .set_synced_state(&mut conn, bound.id, &SyncedState::of(values))
                .await
                .unwrap();
        }
        drop(conn);
        let found = |query: BindingQuery| {
            let storage = db.storage.clone();
            async move {
                storage
                    .search_bindings(&query, 10)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|b| (b.model, b.local_id.0))
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            found(BindingQuery {
                local_id: Some(1),
                ..BindingQuery::default()
            })
            .await,
            [("order".to_owned(), 1), ("customer".to_owned(), 1)],
            "{name}: every model, newest first"
        );
        assert_eq!(
            found(BindingQuery {
                backend_id: Some(backend.id),
                model: Some("customer".into()),
                external_id: Some("11".into()),
                ..BindingQuery::default()
            })
            .await,
            [("customer".to_owned(), 2)],
            "{name}"
        );
        assert_eq!(
            found(BindingQuery {
                model: Some("customer".into()),
                natural_key: Some(("email".into(), "ada@example.com".into())),
                ..BindingQuery::default()
            })
            .await,
            [("customer".to_owned(), 1)],
            "{name}"
        );
        assert_eq!(
            found(BindingQuery {
                natural_key: Some(("count".into(), "2".into())),
                ..BindingQuery::default()
            })
            .await,
            [("customer".to_owned(), 2)],
            "{name}: a number compares as text"
        );
        let synced = db
            .storage
            .search_bindings(
                &BindingQuery {
                    external_id: Some("11".into()),
                    ..BindingQuery::default()
                },
                10,
            )
            .await
            .unwrap();
        assert_eq!(
            synced[0].synced.as_ref().unwrap().values["email"],
            json!("bob@example.com"),
            "{name}: with the last synced state"
        );

        let nothing = db
            .storage
            .search_bindings(&BindingQuery::default(), 10)
            .await
            .unwrap_err();
        assert!(
            nothing.to_string().contains("local id"),
            "{name}: {nothing}"
        );
        let injected = db
            .storage
            .search_bindings(
                &BindingQuery {
                    natural_key: Some(("email') OR 1=1 --".into(), "x".into())),
                    ..BindingQuery::default()
                },
                10,
            )
            .await
            .unwrap_err();
        assert!(
            injected.to_string().contains("not a field name"),
            "{name}: {injected}"
        );
        db.cleanup().await;
    }
}
