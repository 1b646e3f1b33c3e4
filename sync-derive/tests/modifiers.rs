//! The four modifiers (empty_to_none, convert/parse, external_to_local, local_to_external),
//! including a missing binding, on SQLite and PostgreSQL.

mod support;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use sync_core::prelude::*;
use sync_core::testing::{TestDatabase, test_databases};
use sync_derive::{Binding, Mapper};

/// Customer groups are bound by Magento's integer id.
#[derive(Debug, Clone, PartialEq, Binding)]
#[binding(kind = "magento", model = "magento.customer.group", local = "customer.group", external_id = i64)]
struct GroupBinding;

#[derive(Debug, Clone)]
struct RemoteCustomer {
    id: i64,
    email: String,
    middlename: String,
    taxvat: Option<String>,
    group_id: i64,
    website_id: Option<i64>,
    store_credit: String,
    points: i64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, Mapper)]
#[mapper(source = RemoteCustomer, id = id)]
struct LocalCustomer {
    #[map(from = email)]
    email: String,
    #[map(from = middlename, empty_to_none)]
    middle_name: Option<String>,
    #[map(from = taxvat, empty_to_none)]
    vat: Option<String>,
    #[map(from = group_id, external_to_local = GroupBinding)]
    group: LocalId,
    #[map(from = website_id, external_to_local = GroupBinding)]
    website_group: Option<LocalId>,
    #[map(from = store_credit, parse)]
    credit: f64,
    #[map(from = points, convert)]
    points: i16,
}

#[derive(Debug, Clone)]
struct Customer {
    id: i64,
    group: LocalId,
    parent_group: Option<LocalId>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, Mapper)]
#[mapper(source = Customer, id = id)]
struct RemoteCustomerPayload {
    #[map(from = group, local_to_external = GroupBinding)]
    group_id: i64,
    #[map(from = parent_group, local_to_external = GroupBinding)]
    parent_group_id: Option<String>,
}

fn remote() -> RemoteCustomer {
    RemoteCustomer {
        id: 7,
        email: "ada@example.com".into(),
        middlename: String::new(),
        taxvat: Some("GB123".into()),
        group_id: 3,
        website_id: None,
        store_credit: "12.50".into(),
        points: 120,
    }
}

async fn on_every_database<F, Fut>(test: F)
where
    F: Fn(TestDatabase, WorkContext) -> Fut,
    Fut: std::future::Future<Output = TestDatabase>,
{
    for db in test_databases().await.expect("test databases") {
        let mut registry = support::registry();
        GroupBinding::register(&mut registry);
        let ctx = support::context(&db, registry, "magento.res.partner").await;
        eprintln!("on {}", db.name);
        let db = test(db, ctx).await;
        db.cleanup().await;
    }
}

async fn bind_group(ctx: &WorkContext, external: i64, local: i64) {
    let mut conn = ctx.storage().pool().acquire().await.expect("conn");
    GroupBinding::binder_in(ctx)
        .bind_with(
            &mut conn,
            &external,
            LocalId(local),
            Utc::now(),
            &GroupBinding,
        )
        .await
        .expect("bind");
}

#[tokio::test]
async fn modifiers_convert_values_and_resolve_bindings() {
    on_every_database(|db, ctx| async move {
        bind_group(&ctx, 3, 30).await;
        let out = DerivedMapper::<LocalCustomer>::new()
            .map(&remote(), &MapOptions::for_create(), &ctx)
            .await
            .expect("map");
        assert_eq!(
            out,
            MapOutput::Full(LocalCustomer {
                email: "ada@example.com".into(),
                middle_name: None,
                vat: Some("GB123".into()),
                group: LocalId(30),
                website_group: None,
                credit: 12.5,
                points: 120,
            })
        );

        let customer = Customer {
            id: 30,
            group: LocalId(30),
            parent_group: Some(LocalId(30)),
        };
        let out = DerivedMapper::<RemoteCustomerPayload>::new()
            .map(&customer, &MapOptions::for_create(), &ctx)
            .await
            .expect("export map");
        assert_eq!(
            out,
            MapOutput::Full(RemoteCustomerPayload {
                group_id: 3,
                parent_group_id: Some("3".into())
            })
        );
        db
    })
    .await;
}

#[tokio::test]
async fn a_missing_binding_is_a_mapping_error_naming_both_sides() {
    on_every_database(|db, ctx| async move {
        let error = DerivedMapper::<LocalCustomer>::new()
            .map(&remote(), &MapOptions::for_create(), &ctx)
            .await
            .expect_err("group 3 is not bound");
        match &error {
            SyncError::Mapping { record, field, message } => {
                assert_eq!(record, "magento.res.partner 7");
                assert_eq!(field, "group");
                assert!(message.contains("magento.customer.group") && message.contains("`3`"), "{message}");
            }
            other => panic!("expected a mapping error, got {other:?}"),
        }

        let customer = Customer { id: 31, group: LocalId(99), parent_group: None };
        let error = DerivedMapper::<RemoteCustomerPayload>::new()
            .map(&customer, &MapOptions::for_create(), &ctx)
            .await
            .expect_err("local group 99 is not bound");
        assert_eq!(
            error.to_string(),
            "mapping error in magento.res.partner 31, field `group_id`: no magento.customer.group binding for local record 99 on backend "
                .to_owned()
                + &ctx.backend().name
        );
        db
    })
    .await;
}

#[tokio::test]
async fn conversion_errors_name_the_record_and_the_field() {
    on_every_database(|db, ctx| async move {
        bind_group(&ctx, 3, 30).await;
        let mapper = DerivedMapper::<LocalCustomer>::new();
        let mut bad = remote();
        bad.store_credit = "a lot".into();
        let error = mapper
            .map(&bad, &MapOptions::for_create(), &ctx)
            .await
            .expect_err("parse");
        assert!(
            error.to_string().starts_with(
                "mapping error in magento.res.partner 7, field `credit`: cannot parse `a lot`"
            ),
            "{error}"
        );
        let mut bad = remote();
        bad.points = 1 << 20;
        let error = mapper
            .map(&bad, &MapOptions::for_create(), &ctx)
            .await
            .expect_err("convert");
        assert!(
            error.to_string().starts_with(
                "mapping error in magento.res.partner 7, field `points`: cannot convert"
            ),
            "{error}"
        );
        db
    })
    .await;
}
