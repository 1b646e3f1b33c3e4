//! The Magento models: remote records, binding models, mappers and synchronizer specs.

pub mod category;
pub mod customer;
pub mod customer_group;
pub mod documents;
pub mod order;
pub mod order_status;
pub mod product;
pub mod stock;
pub mod store;

use std::sync::Arc;

use sync_core::binding_model::BindingModel;
use sync_core::registry::{ApplyOn, ComponentRegistry};
use sync_core::sync::{
    BATCH_IMPORT, BatchFields, BatchImportConfig, ImportSpec, RECORD_EXPORTER, RECORD_IMPORTER,
    RecordExporter, RecordImporter, SpecExporter, SpecImporter,
};

use sync_core::adapter::BackendAdapter;

use crate::backend::{MAGENTO, MAGENTO_2_4, client_for};

fn importer<S: ImportSpec>(registry: &mut ComponentRegistry, model: &str, spec: S) {
    registry.register::<dyn RecordImporter>(
        ApplyOn::kind(MAGENTO).model(model),
        RECORD_IMPORTER,
        Arc::new(SpecImporter(spec)),
    );
}

/// Registers the binding models, importers and exporters of every Magento model.
pub fn register_models(registry: &mut ComponentRegistry) {
    store::WebsiteBinding::register(registry);
    store::StoreGroupBinding::register(registry);
    store::StoreViewBinding::register(registry);
    customer_group::CustomerGroupBinding::register(registry);
    customer::CustomerBinding::register(registry);
    product::ProductBinding::register(registry);
    category::CategoryBinding::register(registry);
    order::OrderBinding::register(registry);
    documents::InvoiceBinding::register(registry);
    documents::ShipmentBinding::register(registry);

    importer(registry, "magento.website", store::WebsiteImport::default());
    importer(
        registry,
        "magento.store",
        store::StoreGroupImport::default(),
    );
    importer(
        registry,
        "magento.storeview",
        store::StoreViewImport::default(),
    );
    importer(
        registry,
        "magento.customer.group",
        customer_group::CustomerGroupImport::default(),
    );
    importer(
        registry,
        "magento.customer",
        customer::CustomerSync::default(),
    );
    importer(
        registry,
        "magento.product",
        product::ProductImport::default(),
    );
    importer(
        registry,
        "magento.category",
        category::CategoryImport::default(),
    );
    importer(
        registry,
        "magento.sale.order",
        order::OrderImport::default(),
    );

    exporter(
        registry,
        MAGENTO,
        "magento.customer",
        Arc::new(SpecExporter(customer::CustomerSync::default())),
    );
    exporter(
        registry,
        MAGENTO,
        "magento.invoice",
        Arc::new(SpecExporter(documents::InvoiceExport::default())),
    );
    exporter(
        registry,
        MAGENTO,
        "magento.shipment",
        Arc::new(SpecExporter(documents::ShipmentExport::default())),
    );
    exporter(
        registry,
        MAGENTO,
        "magento.sale.order",
        Arc::new(order_status::OrderStatusExporter),
    );
    // Stock is where the versions differ: legacy stock items up to 2.3, source items in 2.4.
    exporter(
        registry,
        MAGENTO,
        stock::STOCK_MODEL,
        Arc::new(stock::StockExporter::new(stock::StockApi::LegacyStockItem)),
    );
    exporter(
        registry,
        MAGENTO_2_4,
        stock::STOCK_MODEL,
        Arc::new(stock::StockExporter::new(stock::StockApi::SourceItems {
            source_code: "default",
        })),
    );

    // How each model is imported in batches (the `synckit.import_batch` job and its
    // schedule): the field dating the window — `created_at` for orders, as the reference
    // connector does — and the id that orders the pages.
    for (model, fields) in batch_imports() {
        registry.register(
            ApplyOn::kind(MAGENTO).model(model),
            BATCH_IMPORT,
            Arc::new(BatchImportConfig::new(fields).page_size(100)),
        );
    }

    for routes in [documents::INVOICE_ROUTES, documents::SHIPMENT_ROUTES] {
        registry.register_factory::<dyn BackendAdapter, _>(
            ApplyOn::kind(MAGENTO).model(routes.model),
            "backend.adapter",
            move |ctx| {
                Ok(
                    Arc::new(documents::DocumentAdapter::new(client_for(ctx)?, routes))
                        as Arc<dyn BackendAdapter>,
                )
            },
        );
    }
}

/// The models imported in batches, in dependency order (websites before the stores in them,
/// customer groups before customers, categories and products before orders), with the fields
/// of their windows.
pub fn batch_imports() -> [(&'static str, BatchFields); 8] {
    [
        ("magento.website", BatchFields::undated("id")),
        ("magento.store", BatchFields::undated("id")),
        ("magento.storeview", BatchFields::undated("id")),
        ("magento.customer.group", BatchFields::undated("id")),
        ("magento.customer", BatchFields::default()),
        ("magento.category", BatchFields::default()),
        ("magento.product", BatchFields::new("updated_at", "sku")),
        (
            "magento.sale.order",
            BatchFields::new("created_at", "entity_id"),
        ),
    ]
}

/// Registers the listeners that delay export jobs when the back office writes: customers
/// (created or changed), invoices and deliveries (created), order statuses and stock
/// quantities (changed). Each runs in the writer's transaction; writes made by an import
/// from a backend never reach that backend's listeners.
pub fn register_listeners(registry: &mut ComponentRegistry) {
    use sync_core::app::LISTENER_USAGE;
    use sync_core::local::Listener;
    use sync_core::mapper::MapTarget;
    use sync_core::sync::ExportListener;
    let listeners: [(&str, ExportListener); 5] = [
        (
            "customer",
            ExportListener::new(
                "magento.customer",
                <customer::CustomerPayload as MapTarget>::SOURCE_FIELDS,
            ),
        ),
        (
            "account.invoice",
            ExportListener::new("magento.invoice", &[]),
        ),
        (
            "stock.picking",
            ExportListener::new("magento.shipment", &[]),
        ),
        (
            "sale.order",
            ExportListener::on_write("magento.sale.order", &["status", "status_comment"]),
        ),
        (
            "product",
            ExportListener::on_write(stock::STOCK_MODEL, &["qty"]),
        ),
    ];
    for (local_model, listener) in listeners {
        registry.register::<dyn Listener>(
            ApplyOn::kind(MAGENTO).model(local_model),
            LISTENER_USAGE,
            Arc::new(listener),
        );
    }
}

fn exporter(
    registry: &mut ComponentRegistry,
    kind: &str,
    model: &str,
    exporter: Arc<dyn RecordExporter>,
) {
    registry.register::<dyn RecordExporter>(
        ApplyOn::kind(kind).model(model),
        RECORD_EXPORTER,
        exporter,
    );
}
