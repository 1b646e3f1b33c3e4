//! The derived mapper against a hand-written function doing the same work: a 20-field order
//! with a 5-item sub-mapping, mapped for creation.
//!
//! Run: `cargo bench -p sync-derive --bench mapper`.

use criterion::{Criterion, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};
use std::hint::black_box;
use sync_core::prelude::*;
use sync_derive::Mapper;

#[derive(Clone)]
struct Address {
    city: String,
    street: String,
    postcode: String,
    country: String,
}

#[derive(Clone)]
struct RemoteOrder {
    id: i64,
    increment_id: String,
    email: String,
    firstname: String,
    lastname: String,
    address: Address,
    telephone: String,
    status: Option<String>,
    currency: String,
    subtotal: f64,
    tax: f64,
    shipping: f64,
    grand_total: f64,
    total_qty: i64,
    created_at: String,
    coupon: Option<String>,
    items: Vec<RemoteItem>,
}

#[derive(Clone)]
struct RemoteItem {
    sku: String,
    name: String,
    qty: f64,
    price: f64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, Mapper)]
#[mapper(source = RemoteOrder, id = id)]
struct Order {
    #[map(from = id)]
    remote_id: i64,
    #[map(from = increment_id)]
    name: String,
    #[map(from)]
    email: String,
    #[map(from)]
    firstname: String,
    #[map(from)]
    lastname: String,
    #[map(method = Self::full_name, changed_by(firstname, lastname))]
    full_name: String,
    #[map(from = "address.city")]
    city: String,
    #[map(from = "address.street")]
    street: String,
    #[map(from = "address.postcode")]
    zip: String,
    #[map(from = "address.country")]
    country: String,
    #[map(from)]
    telephone: String,
    #[map(from = status, default = String::from("new"))]
    state: String,
    #[map(from)]
    currency: String,
    #[map(from)]
    subtotal: f64,
    #[map(from)]
    tax: f64,
    #[map(from)]
    shipping: f64,
    #[map(from)]
    grand_total: f64,
    #[map(from = total_qty, convert)]
    qty: i32,
    #[map(from = created_at, only_create)]
    date_order: String,
    #[map(items = items)]
    lines: Vec<Line>,
}

impl Order {
    fn full_name(r: &MapRecord<'_, RemoteOrder>, _: &WorkContext) -> SyncResult<String> {
        Ok(format!("{} {}", r.firstname, r.lastname))
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize, Mapper)]
#[mapper(source = RemoteItem, parent = RemoteOrder)]
struct Line {
    #[map(from)]
    sku: String,
    #[map(from)]
    name: String,
    #[map(from)]
    qty: f64,
    #[map(from = price)]
    price_unit: f64,
    #[map(method = Self::total, changed_by(qty, price))]
    total: f64,
}

impl Line {
    fn total(r: &MapRecord<'_, RemoteItem, RemoteOrder>, _: &WorkContext) -> SyncResult<f64> {
        Ok(r.qty * r.price)
    }
}

/// What one writes by hand for a create: the same values, the same conversion error.
async fn hand_written(
    s: &RemoteOrder,
    options: &MapOptions,
    ctx: &WorkContext,
) -> SyncResult<MapOutput<Order>> {
    let qty = i32::try_from(s.total_qty).map_err(|e| {
        SyncError::mapping(format!("{} {}", ctx.model(), s.id), "qty", e.to_string())
    })?;
    let mut lines = Vec::with_capacity(s.items.len());
    for item in &s.items {
        lines.push(Line {
            sku: item.sku.clone(),
            name: item.name.clone(),
            qty: item.qty,
            price_unit: item.price,
            total: item.qty * item.price,
        });
    }
    let _ = options;
    Ok(MapOutput::Full(Order {
        remote_id: s.id,
        name: s.increment_id.clone(),
        email: s.email.clone(),
        firstname: s.firstname.clone(),
        lastname: s.lastname.clone(),
        full_name: format!("{} {}", s.firstname, s.lastname),
        city: s.address.city.clone(),
        street: s.address.street.clone(),
        zip: s.address.postcode.clone(),
        country: s.address.country.clone(),
        telephone: s.telephone.clone(),
        state: s.status.clone().unwrap_or_else(|| String::from("new")),
        currency: s.currency.clone(),
        subtotal: s.subtotal,
        tax: s.tax,
        shipping: s.shipping,
        grand_total: s.grand_total,
        qty,
        date_order: s.created_at.clone(),
        lines,
    }))
}

fn order() -> RemoteOrder {
    RemoteOrder {
        id: 42,
        increment_id: "100000042".into(),
        email: "ada@example.com".into(),
        firstname: "Ada".into(),
        lastname: "Lovelace".into(),
        address: Address {
            city: "London".into(),
            street: "12 St James's Square".into(),
            postcode: "SW1Y 4JH".into(),
            country: "GB".into(),
        },
        telephone: "+44 20 7946 0000".into(),
        status: Some("processing".into()),
        currency: "GBP".into(),
        subtotal: 95.0,
        tax: 19.0,
        shipping: 5.0,
        grand_total: 119.0,
        total_qty: 7,
        created_at: "2024-05-01 10:00:00".into(),
        coupon: None,
        items: (0..5)
            .map(|i| RemoteItem {
                sku: format!("SKU-{i}"),
                name: format!("Product {i}"),
                qty: 1.0 + i as f64,
                price: 10.0,
            })
            .collect(),
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (db, ctx) = rt.block_on(async {
        let db = sync_core::testing::sqlite().await.expect("sqlite");
        let mut registry = ComponentRegistry::new();
        registry.add_kind(BackendKind::root("magento"));
        let backend = db
            .storage
            .backends()
            .create(NewBackend::new("magento", "bench"))
            .await
            .expect("backend");
        let app = App::new(registry, db.storage.clone()).await.expect("app");
        let ctx = app.context(backend, "magento.sale.order");
        (db, ctx)
    });
    let source = order();
    let options = MapOptions::for_create();
    let derived = DerivedMapper::<Order>::new();

    // Same output, so the comparison is fair.
    let a = rt
        .block_on(derived.map(&source, &options, &ctx))
        .expect("derived");
    let b = rt
        .block_on(hand_written(&source, &options, &ctx))
        .expect("hand");
    assert_eq!(a, b);
    let _ = &source.coupon;

    let mut group = c.benchmark_group("map_order_20_fields_5_items");
    group.bench_function("derived", |bench| {
        bench.iter(|| rt.block_on(derived.map(black_box(&source), black_box(&options), &ctx)))
    });
    group.bench_function("hand_written", |bench| {
        bench.iter(|| rt.block_on(hand_written(black_box(&source), black_box(&options), &ctx)))
    });
    group.finish();
    rt.block_on(db.cleanup());
}

criterion_group!(benches, bench);
criterion_main!(benches);
