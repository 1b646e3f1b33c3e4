//! Exports to the Magento simulator: customers (two-way), invoices, shipments with tracking,
//! order statuses and stock on 2.3 and 2.4; on SQLite and PostgreSQL.

mod support;

use std::sync::Arc;

use magento_sim::{ApiVersion, Simulator};
use serde_json::{Value, json};
use sync_core::local::LocalRepository;
use sync_core::registry::ComponentRegistry;
use sync_core::sync::{
    ExportOutcome, RECORD_EXPORTER, RECORD_IMPORTER, RecordExporter, RecordImporter, binder_for,
};
use sync_core::testing::{TestDatabase, test_databases};
use sync_core::values::Values;
use sync_core::{App, ExternalId, LocalId, Origin, WorkContext};

const LOCAL_MODELS: &[&str] = &[
    "website",
    "customer.group",
    "customer",
    "product",
    "sale.order",
    "account.invoice",
    "stock.picking",
];

struct Shop {
    db: TestDatabase,
    sim: Simulator,
    app: App,
    backend: sync_core::backend::Backend,
}

impl Shop {
    fn ctx(&self, model: &str) -> WorkContext {
        self.app.context(self.backend.clone(), model)
    }

    fn repo(&self, model: &str) -> Arc<dyn LocalRepository> {
        sync_core::sync::repository_for(&self.ctx(model), model).unwrap()
    }

    async fn create(&self, model: &str, values: Value) -> LocalId {
        let Value::Object(values) = values else {
            panic!("an object")
        };
        let repo = self.repo(model);
        let mut tx = self.db.storage.begin().await.unwrap();
        let id = self
            .app
            .session(&mut tx, Origin::Local)
            .create(&*repo, &values)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        id
    }

    async fn write(&self, model: &str, id: LocalId, values: Value) {
        let Value::Object(values) = values else {
            panic!("an object")
        };
        let repo = self.repo(model);
        let mut tx = self.db.storage.begin().await.unwrap();
        self.app
            .session(&mut tx, Origin::Local)
            .write(&*repo, id, &values)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    async fn export(&self, model: &str, id: LocalId) -> ExportOutcome {
        let ctx = self.ctx(model);
        let exporter = ctx
            .component::<dyn RecordExporter>(RECORD_EXPORTER)
            .unwrap();
        exporter.run(&ctx, id, None).await.unwrap()
    }

    /// Imports order `entity_id` and returns its local id.
    async fn import_order(&self, entity_id: u32) -> LocalId {
        let ctx = self.ctx("magento.sale.order");
        let importer = ctx
            .component::<dyn RecordImporter>(RECORD_IMPORTER)
            .unwrap();
        let external = ExternalId::from(i64::from(entity_id));
        importer.run(&ctx, &external, false).await.unwrap();
        let mut conn = self.db.storage.pool().acquire().await.unwrap();
        binder_for(&ctx)
            .unwrap()
            .to_internal(&mut conn, &external)
            .await
            .unwrap()
            .unwrap()
    }

    /// The first order Magento can still invoice and ship.
    fn open_order(&self) -> u32 {
        let db = self.sim.state().read();
        db.orders
            .iter()
            .find(|o| o.state == "new" && o.payment_method == "checkmo")
            .map(|o| o.entity_id)
            .unwrap()
    }
}

async fn shop(db: TestDatabase, version: ApiVersion) -> Shop {
    let sim = support::simulator(5, 10, 20, 30, version).await;
    let mut registry = ComponentRegistry::new();
    sync_magento::register(&mut registry);
    support::documents(&db.storage, &mut registry, LOCAL_MODELS).await;
    let version_name = match version {
        ApiVersion::V2_3 => "2.3",
        ApiVersion::V2_4 => "2.4",
    };
    let backend = support::backend(&db.storage, &sim, version_name, json!({})).await;
    let app = App::new(registry, db.storage.clone()).await.unwrap();
    Shop {
        db,
        sim,
        app,
        backend,
    }
}

fn object(value: Value) -> Values {
    match value {
        Value::Object(map) => map,
        _ => Values::new(),
    }
}

#[tokio::test]
async fn customers_are_created_updated_and_never_echoed() {
    for db in test_databases().await.unwrap() {
        let shop = shop(db, ApiVersion::V2_4).await;
        let before = shop.sim.state().customers_count();
        let id = shop
            .create("customer", json!({"email": "new.customer@example.com", "firstname": "New", "lastname": "Customer"}))
            .await;
        let ExportOutcome::Created(external) = shop.export("magento.customer", id).await else {
            panic!("created")
        };
        assert_eq!(
            shop.sim.state().customers_count(),
            before + 1,
            "{}",
            shop.db.name
        );
        let remote_id: u32 = external.as_str().parse().unwrap();
        assert_eq!(
            shop.sim.state().customer(remote_id).unwrap().firstname,
            "New"
        );

        // Unchanged: nothing sent. Changed: only that field.
        assert!(matches!(
            shop.export("magento.customer", id).await,
            ExportOutcome::NothingToDo(_)
        ));
        shop.write("customer", id, json!({"lastname": "Renamed"}))
            .await;
        let outcome = shop.export("magento.customer", id).await;
        assert!(
            matches!(&outcome, ExportOutcome::Updated { fields, .. } if fields == &["lastname"]),
            "{outcome:?}"
        );
        assert_eq!(
            shop.sim.state().customer(remote_id).unwrap().lastname,
            "Renamed"
        );
        shop.sim.shutdown().await;
        shop.db.cleanup().await;
    }
}

#[tokio::test]
async fn an_interrupted_customer_export_adopts_the_remote_record() {
    for db in test_databases().await.unwrap() {
        let shop = shop(db, ApiVersion::V2_4).await;
        let id = shop
            .create(
                "customer",
                json!({"email": "crash@example.com", "firstname": "Crash", "lastname": "Test"}),
            )
            .await;
        // The first try recorded its intent and created the customer, then died before binding.
        let ctx = shop.ctx("magento.customer");
        let mut conn = shop.db.storage.pool().acquire().await.unwrap();
        binder_for(&ctx)
            .unwrap()
            .record_export_intent(&mut conn, id)
            .await
            .unwrap();
        drop(conn);
        let adapter = sync_magento::backend::client_for(&ctx)
            .map(|c| sync_magento::MagentoAdapter::new(c, sync_magento::resources::CUSTOMERS))
            .unwrap();
        use sync_core::adapter::BackendAdapter;
        adapter
            .create(&object(json!({"email": "crash@example.com", "firstname": "Crash", "lastname": "Test", "website_id": 1})))
            .await
            .unwrap();
        let before = shop.sim.state().customers_count();

        let outcome = shop.export("magento.customer", id).await;
        assert!(
            matches!(outcome, ExportOutcome::Adopted(_)),
            "{}: {outcome:?}",
            shop.db.name
        );
        assert_eq!(shop.sim.state().customers_count(), before, "no duplicate");
        shop.sim.shutdown().await;
        shop.db.cleanup().await;
    }
}

#[tokio::test]
async fn invoices_shipments_and_statuses_of_an_imported_order() {
    for db in test_databases().await.unwrap() {
        let shop = shop(db, ApiVersion::V2_4).await;
        let entity_id = shop.open_order();
        let order = shop.import_order(entity_id).await;

        let invoice = shop
            .create(
                "account.invoice",
                json!({"order_id": order.0, "capture": false}),
            )
            .await;
        assert!(matches!(
            shop.export("magento.invoice", invoice).await,
            ExportOutcome::Created(_)
        ));
        assert_eq!(
            shop.sim.state().invoices_for_order(entity_id).len(),
            1,
            "{}",
            shop.db.name
        );
        // Invoices are not updated once exported.
        assert!(matches!(
            shop.export("magento.invoice", invoice).await,
            ExportOutcome::NothingToDo(_)
        ));

        let picking = shop
            .create("stock.picking", json!({"order_id": order.0, "tracking_number": "1Z999", "carrier_code": "ups", "carrier_title": "UPS"}))
            .await;
        assert!(matches!(
            shop.export("magento.shipment", picking).await,
            ExportOutcome::Created(_)
        ));
        let shipments = shop.sim.state().shipments_for_order(entity_id);
        assert_eq!(shipments.len(), 1);
        assert_eq!(shipments[0].tracks[0].track_number, "1Z999");

        shop.write(
            "sale.order",
            order,
            json!({"status": "holded", "status_comment": "waiting for stock"}),
        )
        .await;
        assert!(matches!(
            shop.export("magento.sale.order", order).await,
            ExportOutcome::Updated { .. }
        ));
        let histories = shop.sim.state().order(entity_id).unwrap().status_histories;
        assert!(
            histories.iter().any(|h| h.comment == "waiting for stock"),
            "{histories:?}"
        );
        assert!(matches!(
            shop.export("magento.sale.order", order).await,
            ExportOutcome::NothingToDo(_)
        ));
        shop.sim.shutdown().await;
        shop.db.cleanup().await;
    }
}

#[tokio::test]
async fn stock_goes_to_source_items_on_2_4_and_stock_items_on_2_3() {
    for version in [ApiVersion::V2_4, ApiVersion::V2_3] {
        let db = sync_core::testing::sqlite().await.unwrap();
        let shop = shop(db, version).await;
        let sku = {
            let db = shop.sim.state().read();
            db.products
                .iter()
                .flatten()
                .find(|p| p.type_id == "simple")
                .map(|p| p.sku.clone())
                .unwrap()
        };
        let ctx = shop.ctx("magento.product");
        let importer = ctx
            .component::<dyn RecordImporter>(RECORD_IMPORTER)
            .unwrap();
        importer
            .run(&ctx, &ExternalId::from(sku.as_str()), false)
            .await
            .unwrap();
        let mut conn = shop.db.storage.pool().acquire().await.unwrap();
        let product = binder_for(&ctx)
            .unwrap()
            .to_internal(&mut conn, &ExternalId::from(sku.as_str()))
            .await
            .unwrap()
            .unwrap();
        drop(conn);
        shop.write("product", product, json!({"qty": 42.0})).await;
        let outcome = shop
            .export(sync_magento::models::stock::STOCK_MODEL, product)
            .await;
        assert!(
            matches!(outcome, ExportOutcome::Updated { .. }),
            "{outcome:?}"
        );
        let remote = shop.sim.state().product(&sku).unwrap();
        match version {
            ApiVersion::V2_4 => assert!(
                remote.source_items.iter().any(|s| s.quantity == 42.0),
                "{:?}",
                remote.source_items
            ),
            ApiVersion::V2_3 => assert_eq!(remote.stock.qty, Some(42.0)),
        }
        shop.sim.shutdown().await;
        shop.db.cleanup().await;
    }
}

/// Found by the crash suite: an invoice whose creation answer was lost is adopted on the
/// retry, not written to (Magento cannot update an invoice) and not created again.
#[tokio::test]
async fn an_invoice_whose_answer_was_lost_is_adopted_without_a_write() {
    for db in test_databases().await.unwrap() {
        let shop = shop(db, ApiVersion::V2_4).await;
        let entity_id = shop.open_order();
        let order = shop.import_order(entity_id).await;
        let invoice = shop
            .create(
                "account.invoice",
                json!({"order_id": order.0, "capture": false}),
            )
            .await;
        let ctx = shop.ctx("magento.invoice");
        let exporter = ctx
            .component::<dyn RecordExporter>(RECORD_EXPORTER)
            .unwrap();

        // Magento creates the invoice, and the answer never arrives.
        shop.sim.set_faults(magento_sim::Faults {
            lost_answer_rate: 1.0,
            path_contains: Some("/invoice".into()),
            methods: Some(vec!["POST".into()]),
            ..magento_sim::Faults::none()
        });
        let first = exporter.run(&ctx, invoice, None).await;
        assert!(
            first.as_ref().is_err_and(|e| e.is_retryable()),
            "{}: {first:?}",
            shop.db.name
        );
        assert_eq!(shop.sim.state().invoices_for_order(entity_id).len(), 1);

        shop.sim.set_faults(magento_sim::Faults::none());
        let retry = exporter.run(&ctx, invoice, None).await;
        assert!(
            matches!(retry, Ok(ExportOutcome::Adopted(_))),
            "{}: {retry:?}",
            shop.db.name
        );
        assert_eq!(
            shop.sim.state().invoices_for_order(entity_id).len(),
            1,
            "{}: no second invoice",
            shop.db.name
        );
        shop.sim.shutdown().await;
        shop.db.cleanup().await;
    }
}
