//! The Magento models: remote records, binding models, mappers and synchronizer specs.

pub mod category;
pub mod customer;
pub mod customer_group;
pub mod order;
pub mod product;
pub mod store;

use std::sync::Arc;

use sync_core::binding_model::BindingModel;
use sync_core::registry::{ApplyOn, ComponentRegistry};
use sync_core::sync::{
    ImportSpec, RECORD_EXPORTER, RECORD_IMPORTER, RecordExporter, RecordImporter, SpecExporter,
    SpecImporter,
};

use crate::backend::MAGENTO;

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

    registry.register::<dyn RecordExporter>(
        ApplyOn::kind(MAGENTO).model("magento.customer"),
        RECORD_EXPORTER,
        Arc::new(SpecExporter(customer::CustomerSync::default())),
    );
}
