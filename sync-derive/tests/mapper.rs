//! Ports of the connector framework's mapper scenarios to `#[derive(Mapper)]`: direct,
//! method, `only_create`, `changed_by`, sub-mappings with skipped items, finalize, forced
//! values and partial update payloads.

mod support;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sync_core::mapper::MapTarget;
use sync_core::prelude::*;
use sync_derive::Mapper;

#[derive(Debug, Clone)]
struct Address {
    city: String,
    street: String,
}

#[derive(Debug, Clone)]
struct RemoteOrder {
    increment_id: String,
    customer_name: String,
    email: String,
    created_at: String,
    status: Option<String>,
    billing_address: Address,
    items: Vec<RemoteItem>,
}

#[derive(Debug, Clone)]
struct RemoteItem {
    sku: String,
    qty: f64,
    price: f64,
    product_type: String,
}

/// Import mapper of an order: every kind of mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Mapper)]
#[mapper(source = RemoteOrder, id = increment_id, finalize = Self::finalize)]
#[mapper(method(with = Self::split_name, fills(first_name, last_name), changed_by(customer_name)))]
struct OrderValues {
    #[map(from = increment_id)]
    name: String,
    first_name: String,
    last_name: String,
    #[map(from)]
    email: String,
    #[map(from = "billing_address.city")]
    city: String,
    #[map(from = created_at, only_create)]
    date_order: String,
    #[map(from = status, default = String::from("draft"))]
    state: String,
    #[map(method = Self::shipping_label, changed_by(billing_address.street, billing_address.city))]
    shipping: String,
    #[map(items = items, skip = Self::skip_item)]
    lines: Vec<OrderLineValues>,
    #[map(default = true)]
    active: bool,
    #[map(default)]
    note: String,
}

impl OrderValues {
    fn split_name(
        record: &MapRecord<'_, RemoteOrder>,
        _: &WorkContext,
    ) -> SyncResult<(String, String)> {
        let mut parts = record.customer_name.splitn(2, ' ');
        let first = parts.next().unwrap_or_default().to_owned();
        let last = parts.next().unwrap_or_default().to_owned();
        Ok((first, last))
    }

    fn shipping_label(record: &MapRecord<'_, RemoteOrder>, _: &WorkContext) -> SyncResult<String> {
        Ok(format!(
            "{}, {}",
            record.billing_address.street, record.billing_address.city
        ))
    }

    fn skip_item(item: &MapRecord<'_, RemoteItem, RemoteOrder>) -> bool {
        // Configurable products come with a child simple product: import the child only.
        item.product_type == "configurable"
    }

    fn finalize(
        _: &MapRecord<'_, RemoteOrder>,
        output: &mut MapOutput<Self>,
        _: &WorkContext,
    ) -> SyncResult<()> {
        if let MapOutput::Full(order) = output {
            order.note = format!("{} lines", order.lines.len());
        }
        Ok(())
    }
}

/// The item mapper: reads its parent order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Mapper)]
#[mapper(source = RemoteItem, parent = RemoteOrder, id = sku)]
struct OrderLineValues {
    #[map(from = sku)]
    product: String,
    #[map(from = qty)]
    quantity: f64,
    #[map(method = Self::subtotal, changed_by(qty, price))]
    subtotal: f64,
    #[map(method = Self::order_ref, always)]
    order_ref: String,
}

impl OrderLineValues {
    fn subtotal(r: &MapRecord<'_, RemoteItem, RemoteOrder>, _: &WorkContext) -> SyncResult<f64> {
        Ok(r.qty * r.price)
    }

    fn order_ref(
        r: &MapRecord<'_, RemoteItem, RemoteOrder>,
        _: &WorkContext,
    ) -> SyncResult<String> {
        Ok(r.parent.increment_id.clone())
    }
}

fn order() -> RemoteOrder {
    RemoteOrder {
        increment_id: "100000042".into(),
        customer_name: "Ada Lovelace".into(),
        email: "ada@example.com".into(),
        created_at: "2024-05-01 10:00:00".into(),
        status: None,
        billing_address: Address {
            city: "London".into(),
            street: "12 St James's Square".into(),
        },
        items: vec![
            RemoteItem {
                sku: "TSHIRT".into(),
                qty: 2.0,
                price: 10.0,
                product_type: "configurable".into(),
            },
            RemoteItem {
                sku: "TSHIRT-M".into(),
                qty: 2.0,
                price: 10.0,
                product_type: "simple".into(),
            },
            RemoteItem {
                sku: "MUG".into(),
                qty: 1.0,
                price: 7.5,
                product_type: "simple".into(),
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
    let ctx = support::context(&db, support::registry(), "magento.sale.order").await;
    test(ctx).await;
    db.cleanup().await;
}

#[tokio::test]
async fn create_maps_every_field_in_declaration_order() {
    with_context(|ctx| async move {
        let mapper = DerivedMapper::<OrderValues>::new();
        let out = mapper
            .map(&order(), &MapOptions::for_create(), &ctx)
            .await
            .expect("map");
        let MapOutput::Full(values) = out else {
            panic!("expected a full output, got {out:?}")
        };
        assert_eq!(values.name, "100000042");
        assert_eq!(
            (values.first_name.as_str(), values.last_name.as_str()),
            ("Ada", "Lovelace")
        );
        assert_eq!(values.city, "London");
        assert_eq!(values.date_order, "2024-05-01 10:00:00");
        assert_eq!(values.state, "draft", "the default fills a missing status");
        assert_eq!(values.shipping, "12 St James's Square, London");
        assert!(values.active);
        // Sub-mapping: the configurable item is skipped, the parent is reachable.
        assert_eq!(values.lines.len(), 2);
        assert_eq!(values.lines[0].product, "TSHIRT-M");
        assert_eq!(values.lines[0].subtotal, 20.0);
        assert_eq!(values.lines[1].order_ref, "100000042");
        // Finalize ran after the mappings.
        assert_eq!(values.note, "2 lines");
    })
    .await;
}

#[tokio::test]
async fn only_create_and_constants_are_absent_on_update() {
    with_context(|ctx| async move {
        let out = DerivedMapper::<OrderValues>::new()
            .map(&order(), &MapOptions::for_update(), &ctx)
            .await
            .expect("map");
        let MapOutput::Partial(values) = out else {
            panic!("expected a partial output, got {out:?}")
        };
        assert!(
            !values.contains_key("date_order"),
            "only_create mapping ran on update"
        );
        assert!(
            !values.contains_key("active"),
            "a constant default is for creation only"
        );
        assert!(!values.contains_key("note"));
        assert_eq!(values["email"], json!("ada@example.com"));
        assert_eq!(values["lines"].as_array().map(Vec::len), Some(2));
    })
    .await;
}

#[tokio::test]
async fn changed_fields_give_a_partial_payload() {
    with_context(|ctx| async move {
        let mapper = DerivedMapper::<OrderValues>::new();
        let out = mapper
            .map(&order(), &MapOptions::for_changed(["customer_name"]), &ctx)
            .await
            .expect("map");
        let values = out.into_values("order").expect("values");
        let keys: Vec<&str> = values.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["first_name", "last_name"],
            "only the method changed_by customer_name runs"
        );

        let out = mapper
            .map(
                &order(),
                &MapOptions::for_changed(["billing_address"]),
                &ctx,
            )
            .await
            .expect("map");
        let values = out.into_values("order").expect("values");
        let keys: Vec<&str> = values.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["city", "shipping"],
            "a parent path triggers nested mappings and changed_by"
        );

        let out = mapper
            .map(
                &order(),
                &MapOptions::for_changed(["billing_address.street"]),
                &ctx,
            )
            .await
            .expect("map");
        let values = out.into_values("order").expect("values");
        assert_eq!(values.keys().collect::<Vec<_>>(), ["shipping"]);

        let out = mapper
            .map(&order(), &MapOptions::for_changed(["unrelated"]), &ctx)
            .await
            .expect("map");
        assert_eq!(out, MapOutput::Partial(Values::new()));
    })
    .await;
}

#[tokio::test]
async fn sub_mapping_items_receive_the_same_options() {
    with_context(|ctx| async move {
        let out = DerivedMapper::<OrderValues>::new()
            .map(&order(), &MapOptions::for_changed(["items", "qty"]), &ctx)
            .await
            .expect("map");
        let values = out.into_values("order").expect("values");
        // The items ran with the same changed fields: only `quantity`, `subtotal` (changed
        // by qty) and `order_ref` (always) of each line.
        assert_eq!(
            values["lines"],
            json!([
                {"quantity": 2.0, "subtotal": 20.0, "order_ref": "100000042"},
                {"quantity": 1.0, "subtotal": 7.5, "order_ref": "100000042"},
            ])
        );
    })
    .await;
}

#[tokio::test]
async fn forced_values_apply_last() {
    with_context(|ctx| async move {
        let mapper = DerivedMapper::<OrderValues>::new();
        let options = MapOptions::for_create()
            .force("state", "sale")
            .force("note", "forced");
        let MapOutput::Full(values) = mapper.map(&order(), &options, &ctx).await.expect("map")
        else {
            panic!("expected a full output")
        };
        assert_eq!(values.state, "sale");
        assert_eq!(
            values.note, "forced",
            "forced values win over the finalize hook"
        );

        let options = MapOptions::for_changed(["email"]).force("backend_ref", 7);
        let values = mapper
            .map(&order(), &options, &ctx)
            .await
            .expect("map")
            .into_values("o")
            .expect("values");
        assert_eq!(values.keys().collect::<Vec<_>>(), ["email", "backend_ref"]);

        let options = MapOptions::for_create().force("no_such_field", 1);
        let error = mapper
            .map(&order(), &options, &ctx)
            .await
            .expect_err("unknown forced field");
        assert!(error.to_string().contains("no_such_field"), "{error}");

        let options = MapOptions::for_create().force("active", "yes");
        let error = mapper
            .map(&order(), &options, &ctx)
            .await
            .expect_err("bad forced type");
        assert!(
            error.to_string().contains("magento.sale.order 100000042")
                && error.to_string().contains("`active`"),
            "{error}"
        );
    })
    .await;
}

#[test]
fn source_fields_list_every_field_read_in_order() {
    assert_eq!(
        <OrderValues as MapTarget>::SOURCE_FIELDS,
        [
            "customer_name",
            "increment_id",
            "email",
            "billing_address.city",
            "created_at",
            "status",
            "billing_address.street",
            "items"
        ]
    );
    assert_eq!(
        DerivedMapper::<OrderValues>::new().changed_by_fields(),
        <OrderValues as MapTarget>::SOURCE_FIELDS
    );
}
