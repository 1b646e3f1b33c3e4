//! `#[derive(Binding)]`: typed binder over the one bindings table, extras in the metadata,
//! registration in the component registry; on SQLite and PostgreSQL.

mod support;

use chrono::{TimeZone, Utc};
use sync_core::binding_model::BINDER_USAGE;
use sync_core::prelude::*;
use sync_core::testing::test_databases;
use sync_derive::Binding;

/// Magento customers: bound by integer id, with Magento's creation date and group.
#[derive(Debug, Clone, PartialEq, Binding)]
#[binding(kind = "magento", model = "magento.customer", local = "customer", external_id = i64)]
struct MagentoCustomer {
    created_at: Option<String>,
    #[binding(rename = "group")]
    group_id: i64,
}

/// A binding model without extras, bound by SKU.
#[derive(Debug, Clone, PartialEq, Binding)]
#[binding(kind = "magento", model = "magento.product", local = "product")]
struct MagentoProduct;

#[test]
fn names_and_metadata() {
    assert_eq!(MagentoCustomer::KIND, "magento");
    assert_eq!(MagentoCustomer::MODEL, "magento.customer");
    assert_eq!(MagentoCustomer::LOCAL_MODEL, "customer");
    let extras = MagentoCustomer {
        created_at: Some("2024-01-02".into()),
        group_id: 4,
    };
    let metadata = extras.to_metadata().expect("metadata");
    assert_eq!(
        metadata,
        serde_json::json!({"created_at": "2024-01-02", "group": 4})
    );
    assert_eq!(
        MagentoCustomer::from_metadata("b", &metadata).expect("read"),
        extras
    );
    // A binding created without metadata reads `Option` extras as `None`...
    let missing =
        MagentoCustomer::from_metadata("b", &serde_json::json!({"group": 1})).expect("read");
    assert_eq!(missing.created_at, None);
    // ...and a missing required extra is an error naming the binding and the field.
    let error =
        MagentoCustomer::from_metadata("magento.customer binding 9", &serde_json::json!({}))
            .expect_err("group missing");
    assert!(
        error
            .to_string()
            .starts_with("invalid data in magento.customer binding 9, field `group`"),
        "{error}"
    );
    assert_eq!(
        MagentoProduct.to_metadata().expect("metadata"),
        serde_json::json!({})
    );
}

#[tokio::test]
async fn typed_binder_on_every_database() {
    for db in test_databases().await.expect("databases") {
        eprintln!("on {}", db.name);
        let mut registry = support::registry();
        MagentoCustomer::register(&mut registry);
        MagentoProduct::register(&mut registry);
        let ctx = support::context(&db, registry, "magento.customer").await;
        let binder = MagentoCustomer::binder_in(&ctx);
        let mut conn = db.storage.pool().acquire().await.expect("conn");

        let date = Utc
            .with_ymd_and_hms(2024, 5, 1, 12, 0, 0)
            .single()
            .expect("date");
        let extras = MagentoCustomer {
            created_at: Some("2024-01-02".into()),
            group_id: 4,
        };
        let bound = binder
            .bind_with(&mut conn, &42, LocalId(7), date, &extras)
            .await
            .expect("bind");
        assert_eq!(bound.external_id, Some(42));
        assert_eq!(bound.local_id(), LocalId(7));
        assert_eq!(bound.sync_date(), Some(date));
        assert_eq!(bound.extras, extras);

        assert_eq!(
            binder.local_id_of(&mut conn, &42).await.expect("to local"),
            Some(LocalId(7))
        );
        assert_eq!(
            binder
                .external_id_of(&mut conn, LocalId(7))
                .await
                .expect("to ext"),
            Some(42)
        );
        assert_eq!(
            binder.local_id_of(&mut conn, &43).await.expect("to local"),
            None
        );
        let mut found = binder
            .find(&mut conn, &42)
            .await
            .expect("find")
            .expect("bound");
        assert_eq!(found.extras, extras);
        binder
            .set_extras(
                &mut conn,
                &mut found,
                MagentoCustomer {
                    created_at: None,
                    group_id: 5,
                },
            )
            .await
            .expect("extras");
        let found = binder
            .find_local(&mut conn, LocalId(7))
            .await
            .expect("find")
            .expect("bound");
        assert_eq!(found.extras.group_id, 5);

        // The registered binder is the one synchronizers find for the model; it shares the
        // table with the typed binder.
        let dyn_binder = ctx
            .component::<dyn Binder>(BINDER_USAGE)
            .expect("registered binder");
        assert_eq!(dyn_binder.model(), "magento.customer");
        assert_eq!(
            dyn_binder
                .to_internal(&mut conn, &ExternalId::from("42"))
                .await
                .expect("lookup"),
            Some(LocalId(7))
        );
        let products = ctx
            .work_on("magento.product")
            .component::<dyn Binder>("binder")
            .expect("product binder");
        assert_eq!(products.model(), "magento.product");
        // Same local id in another binding model: no clash in the one table.
        MagentoProduct::binder_in(&ctx)
            .bind_with(
                &mut conn,
                &"SKU-1".to_owned(),
                LocalId(7),
                date,
                &MagentoProduct,
            )
            .await
            .expect("bind product");

        assert!(binder.unbind_id(&mut conn, &42).await.expect("unbind"));
        assert!(
            !binder
                .unbind_id(&mut conn, &42)
                .await
                .expect("unbind twice")
        );
        assert_eq!(
            binder.local_id_of(&mut conn, &42).await.expect("to local"),
            None
        );
        drop(conn);
        db.cleanup().await;
    }
}
