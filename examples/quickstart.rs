//! Quickstart: a two-way product sync between a local SQLite back office and an in-memory
//! remote system, through Synckit's default flows.
//!
//! Run with `cargo run --example quickstart`. It imports the remote catalogue (skipping what
//! is up to date on a second run), lets a "user" change prices locally, and exports exactly
//! those changes; the import's own local writes never echo back.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;
use synckit::prelude::*;
use synckit::sync::{
    BatchFields, ExportSpec, ImportDirectly, ImportSpec, ImportWindow, RECORD_EXPORTER,
    RECORD_IMPORTER, RecordExporter, RecordImporter, SpecExporter, SpecImporter, import_batch,
};
use synckit::testing::{DocumentRepository, MemoryBackend};

/// A product as the remote system serves it.
#[derive(Deserialize)]
struct RemoteProduct {
    sku: String,
    name: String,
    price: f64,
    updated_at: String,
}

/// A product as the back office stores it.
#[derive(Serialize, Deserialize)]
struct Product {
    sku: String,
    name: String,
    list_price: f64,
}

/// Remote → local.
struct ProductImportMapper;

#[async_trait]
impl Mapper for ProductImportMapper {
    type Source = RemoteProduct;
    type Target = Product;
    async fn map(
        &self,
        p: &RemoteProduct,
        _: &MapOptions,
        _: &WorkContext,
    ) -> SyncResult<MapOutput<Product>> {
        Ok(MapOutput::Full(Product {
            sku: p.sku.clone(),
            name: p.name.clone(),
            list_price: p.price,
        }))
    }
    fn changed_by_fields(&self) -> &'static [&'static str] {
        &["sku", "name", "price"]
    }
}

/// Local → remote: only the price travels back; the remote side owns names.
struct PriceExportMapper;

#[async_trait]
impl Mapper for PriceExportMapper {
    type Source = Product;
    type Target = serde_json::Value;
    async fn map(
        &self,
        p: &Product,
        _: &MapOptions,
        _: &WorkContext,
    ) -> SyncResult<MapOutput<serde_json::Value>> {
        Ok(MapOutput::Full(json!({ "price": p.list_price })))
    }
    fn changed_by_fields(&self) -> &'static [&'static str] {
        &["list_price"]
    }
}

struct ProductImport;

impl ImportSpec for ProductImport {
    type Remote = RemoteProduct;
    type Mapper = ProductImportMapper;
    type Target = Product;
    fn mapper(&self) -> &ProductImportMapper {
        &ProductImportMapper
    }
    fn remote_updated_at(&self, p: &RemoteProduct) -> Option<DateTime<Utc>> {
        NaiveDateTime::parse_from_str(&p.updated_at, "%Y-%m-%d %H:%M:%S")
            .ok()
            .map(|t| t.and_utc())
    }
}

struct PriceExport;

impl ExportSpec for PriceExport {
    type Local = Product;
    type Mapper = PriceExportMapper;
    type Target = serde_json::Value;
    fn mapper(&self) -> &PriceExportMapper {
        &PriceExportMapper
    }
}

/// Collects local price changes; a real connector delays an export job here, in the same
/// transaction as the write.
#[derive(Default)]
struct PriceListener {
    changed: Mutex<Vec<LocalId>>,
}

#[async_trait]
impl Listener for PriceListener {
    async fn on_record_write(
        &self,
        _: &WorkContext,
        _: &mut AnyConnection,
        event: &RecordEvent,
    ) -> SyncResult<()> {
        if event.fields.iter().any(|f| f == "list_price") {
            self.changed
                .lock()
                .map_err(|_| SyncError::Failed("poisoned".into()))?
                .push(event.local_id);
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() -> SyncResult<()> {
    let dir = std::env::temp_dir().join(format!("synckit-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| SyncError::Failed(e.to_string()))?;
    let storage =
        Storage::open(&format!("sqlite://{}", dir.join("backoffice.db").display())).await?;

    // The remote system, seeded with a catalogue.
    let remote = MemoryBackend::new();
    for i in 1..=500 {
        remote.put("product", None, match json!({"sku": format!("SKU-{i:04}"), "name": format!("Product {i}"), "price": 10.0 + i as f64}) {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("a JSON object literal"),
        });
    }

    // The connector: components registered per (backend kind, model, usage).
    let products = DocumentRepository::create(&storage, "product").await?;
    let listener = Arc::new(PriceListener::default());
    let mut registry = ComponentRegistry::new();
    registry.add_kind(BackendKind::root("demo"));
    let on = ApplyOn::kind("demo").model("product");
    registry.register::<dyn BackendAdapter>(
        on.clone(),
        "backend.adapter",
        Arc::new(remote.adapter("product")),
    );
    registry.register::<dyn LocalRepository>(
        ApplyOn::any().model("product"),
        "local.repository",
        Arc::new(products.clone()),
    );
    registry.register::<dyn RecordImporter>(
        on.clone(),
        RECORD_IMPORTER,
        Arc::new(SpecImporter(ProductImport)),
    );
    registry.register::<dyn RecordExporter>(
        on.clone(),
        RECORD_EXPORTER,
        Arc::new(SpecExporter(PriceExport)),
    );
    registry.register::<dyn Listener>(on, "event.listener", listener.clone());

    let backend = storage
        .backends()
        .create(NewBackend::new("demo", "demo shop"))
        .await?;
    let app = App::new(registry, storage.clone()).await?;
    let ctx = app.context(backend, "product");

    // 1. Import everything, 100 records per page.
    let overlap = Duration::from_secs(60);
    let first = import_batch(
        &ctx,
        ImportWindow::since(None),
        &BatchFields::default(),
        100,
        overlap,
        &ImportDirectly,
    )
    .await?;
    println!(
        "import:        {} products imported, {} errors",
        first.dispatched,
        first.errors.len()
    );
    let echoes = listener.changed.lock().map(|c| c.len()).unwrap_or_default();
    println!("echo check:    {echoes} export requests caused by the import (expected 0)");

    // 2. A user raises ten prices in the back office, in one transaction.
    let mut tx = storage.begin().await?;
    let mut session = app.session(&mut tx, Origin::Local);
    for id in 1..=10 {
        let mut change = Values::new();
        change.insert("list_price".into(), json!(99.0 + id as f64));
        session.write(&products, LocalId(id), &change).await?;
    }
    tx.commit().await?;

    // 3. Export what the listener collected; a second export of the same record is an echo.
    let exporter = ctx.component::<dyn RecordExporter>(RECORD_EXPORTER)?;
    let changed: Vec<LocalId> = listener
        .changed
        .lock()
        .map(|c| c.clone())
        .unwrap_or_default();
    for id in &changed {
        exporter
            .run(&ctx, *id, Some(&["list_price".to_owned()]))
            .await?;
    }
    let again = exporter.run(&ctx, changed[0], None).await?;
    let (creates, writes) = remote.calls();
    println!(
        "export:        {} local changes sent ({writes} remote writes, {creates} creates)",
        changed.len()
    );
    println!("re-export:     {again:?}");

    // 4. A second import finds everything up to date.
    let second = import_batch(
        &ctx,
        ImportWindow::since(None),
        &BatchFields::default(),
        100,
        overlap,
        &ImportDirectly,
    )
    .await?;
    println!(
        "second import: {} products looked at, all up to date or refreshed",
        second.dispatched
    );

    storage.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
