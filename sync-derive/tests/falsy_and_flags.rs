//! Modifiers that behave as the connector framework's: `empty_to_none` treats `false` and `0`
//! as empty (its `none` tests Python truthiness), `to_bool` reads the usual spellings of a
//! flag and refuses the rest, and a sub-mapping item that maps to nothing is dropped.

mod support;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sync_core::prelude::*;
use sync_derive::Mapper;

#[derive(Debug, Clone)]
struct RemoteProduct {
    sku: String,
    weight: f64,
    stock: i64,
    featured: bool,
    extra: Value,
    status: String,
    visible: i64,
    gift: Value,
    lines: Vec<RemoteLine>,
}

#[derive(Debug, Clone)]
struct RemoteLine {
    sku: String,
    qty: f64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, Mapper)]
#[mapper(source = RemoteProduct, id = sku)]
struct ProductValues {
    #[map(from = weight, empty_to_none)]
    weight: Option<f64>,
    #[map(from = stock, empty_to_none)]
    stock: Option<i64>,
    #[map(from = featured, empty_to_none)]
    featured: Option<bool>,
    #[map(from = extra, empty_to_none)]
    extra: Option<Value>,
    #[map(from = status, to_bool)]
    active: bool,
    #[map(from = visible, to_bool)]
    visible: bool,
    #[map(from = gift, empty_to_none, to_bool)]
    gift: Option<bool>,
    #[map(items = lines)]
    lines: Vec<LineValues>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, Mapper)]
#[mapper(source = RemoteLine, id = sku)]
struct LineValues {
    #[map(from = sku)]
    product: String,
    #[map(from = qty)]
    quantity: f64,
}

fn product() -> RemoteProduct {
    RemoteProduct {
        sku: "SKU-1".into(),
        weight: 0.0,
        stock: 0,
        featured: false,
        extra: json!(0),
        status: "Yes".into(),
        visible: 0,
        gift: json!("1"),
        lines: vec![
            RemoteLine {
                sku: "A".into(),
                qty: 2.0,
            },
            RemoteLine {
                sku: "B".into(),
                qty: 1.0,
            },
        ],
    }
}

async fn with_context<F, Fut>(test: F)
where
    F: FnOnce(WorkContext) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let db = sync_core::testing::sqlite().await.expect("sqlite");
    let ctx = support::context(&db, support::registry(), "magento.product").await;
    test(ctx).await;
    db.cleanup().await;
}

async fn map(
    source: &RemoteProduct,
    options: &MapOptions,
    ctx: &WorkContext,
) -> SyncResult<Values> {
    DerivedMapper::<ProductValues>::new()
        .map(source, options, ctx)
        .await?
        .into_values("product")
}

#[tokio::test]
async fn empty_to_none_treats_false_and_zero_as_empty() {
    with_context(|ctx| async move {
        let values = map(&product(), &MapOptions::for_create(), &ctx)
            .await
            .expect("map");
        assert_eq!(values["weight"], Value::Null);
        assert_eq!(values["stock"], Value::Null);
        assert_eq!(values["featured"], Value::Null);
        assert_eq!(values["extra"], Value::Null);

        let mut set = product();
        set.weight = 1.5;
        set.stock = 3;
        set.featured = true;
        set.extra = json!(true);
        let values = map(&set, &MapOptions::for_create(), &ctx)
            .await
            .expect("map");
        assert_eq!(values["weight"], json!(1.5));
        assert_eq!(values["stock"], json!(3));
        assert_eq!(values["featured"], json!(true));
        assert_eq!(values["extra"], json!(true));
    })
    .await;
}

#[tokio::test]
async fn to_bool_reads_the_usual_spellings_of_a_flag() {
    with_context(|ctx| async move {
        let values = map(&product(), &MapOptions::for_create(), &ctx)
            .await
            .expect("map");
        assert_eq!(values["active"], json!(true), "\"Yes\"");
        assert_eq!(values["visible"], json!(false), "0");
        assert_eq!(values["gift"], json!(true), "\"1\"");

        for (text, flag) in [
            ("true", true),
            ("false", false),
            ("1", true),
            ("0", false),
            ("yes", true),
            ("NO", false),
        ] {
            let mut p = product();
            p.status = text.into();
            let values = map(&p, &MapOptions::for_create(), &ctx).await.expect("map");
            assert_eq!(values["active"], json!(flag), "{text}");
        }
        let mut p = product();
        p.gift = json!(false);
        let values = map(&p, &MapOptions::for_create(), &ctx).await.expect("map");
        assert_eq!(values["gift"], Value::Null, "false is empty first");
    })
    .await;
}

#[tokio::test]
async fn to_bool_refuses_anything_else_naming_the_record_and_the_field() {
    with_context(|ctx| async move {
        let mut p = product();
        p.status = "maybe".into();
        let error = map(&p, &MapOptions::for_create(), &ctx).await.unwrap_err();
        match &error {
            SyncError::Mapping {
                record,
                field,
                message,
            } => {
                assert_eq!(record, "magento.product SKU-1");
                assert_eq!(field, "active");
                assert!(message.contains("maybe"), "{message}");
            }
            other => panic!("expected a mapping error, got {other:?}"),
        }
        let mut p = product();
        p.visible = 2;
        let error = map(&p, &MapOptions::for_create(), &ctx).await.unwrap_err();
        assert!(
            matches!(&error, SyncError::Mapping { field, .. } if field == "visible"),
            "{error:?}"
        );
        let mut p = product();
        p.gift = json!([1]);
        let error = map(&p, &MapOptions::for_create(), &ctx).await.unwrap_err();
        assert!(
            matches!(&error, SyncError::Mapping { field, .. } if field == "gift"),
            "{error:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_sub_mapping_item_that_maps_to_nothing_is_dropped() {
    with_context(|ctx| async move {
        // Only the parent's `lines` changed, none of the items' fields: each item maps to
        // nothing, and none is sent as `{}`.
        let values = map(&product(), &MapOptions::for_changed(["lines"]), &ctx)
            .await
            .expect("map");
        assert_eq!(values["lines"], json!([]));
        // Items whose fields changed are kept, with just those fields.
        let values = map(&product(), &MapOptions::for_changed(["lines", "qty"]), &ctx)
            .await
            .expect("map");
        assert_eq!(
            values["lines"],
            json!([{"quantity": 2.0}, {"quantity": 1.0}])
        );
    })
    .await;
}
