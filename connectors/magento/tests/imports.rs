//! Imports from the Magento simulator through the default flows, on SQLite and PostgreSQL.

mod support;

use std::time::Duration;

use magento_sim::{ApiVersion, Simulator};
use serde_json::json;
use sync_core::local::LocalRepository;
use sync_core::registry::ComponentRegistry;
use sync_core::storage::{CheckpointFilter, CheckpointState};
use sync_core::sync::{BatchFields, ImportDirectly, ImportWindow, import_batch};
use sync_core::testing::{DocumentRepository, TestDatabase, test_databases};
use sync_core::{App, Origin, WorkContext};

const LOCAL_MODELS: &[&str] = &[
    "website",
    "store",
    "storeview",
    "customer.group",
    "customer",
    "product",
    "category",
    "sale.order",
];

struct Shop {
    db: TestDatabase,
    sim: Simulator,
    app: App,
    repos: Vec<(String, DocumentRepository)>,
    backend: sync_core::backend::Backend,
}

impl Shop {
    fn ctx(&self, model: &str) -> WorkContext {
        self.app.context(self.backend.clone(), model)
    }

    fn repo(&self, model: &str) -> &DocumentRepository {
        &self.repos.iter().find(|(m, _)| m == model).unwrap().1
    }

    async fn import(&self, model: &str, fields: BatchFields) -> sync_core::sync::BatchImportReport {
        import_batch(
            &self.ctx(model),
            ImportWindow::since(None),
            &fields,
            50,
            Duration::from_secs(120),
            &ImportDirectly,
        )
        .await
        .unwrap()
    }

    async fn count(&self, model: &str) -> i64 {
        let table = format!("doc_{}", model.replace('.', "_"));
        let (n,): (i64,) =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(self.db.storage.pool())
                .await
                .unwrap();
        n
    }
}

async fn shop(db: TestDatabase) -> Shop {
    let sim = support::simulator(11, 60, 40, 5, ApiVersion::V2_4).await;
    let mut registry = ComponentRegistry::new();
    sync_magento::register(&mut registry);
    let repos = LOCAL_MODELS
        .iter()
        .map(|model| model.to_string())
        .zip(support::documents(&db.storage, &mut registry, LOCAL_MODELS).await)
        .collect();
    let backend = support::backend(&db.storage, &sim, "2.4", json!({"page_size": 50})).await;
    let app = App::new(registry, db.storage.clone()).await.unwrap();
    Shop {
        db,
        sim,
        app,
        repos,
        backend,
    }
}

fn by_id() -> BatchFields {
    BatchFields::default()
}

#[tokio::test]
async fn a_full_import_of_the_catalogue_and_customers() {
    for db in test_databases().await.unwrap() {
        let shop = shop(db).await;

        // Customers first: their groups and websites are imported on demand.
        let report = shop.import("magento.customer", by_id()).await;
        assert!(
            report.errors.is_empty(),
            "{}: {:?}",
            shop.db.name,
            report.errors
        );
        assert_eq!(shop.count("customer").await, 60);
        assert!(
            shop.count("customer.group").await >= 1,
            "groups imported as dependencies"
        );
        assert_eq!(
            shop.count("website").await,
            1,
            "the admin website is skipped"
        );

        // A second run finds everything up to date.
        let again = shop.import("magento.customer", by_id()).await;
        assert_eq!(again.dispatched, 60);
        assert_eq!(shop.count("customer").await, 60);

        // Store structure; the admin scopes are skipped.
        for model in [
            "magento.website",
            "magento.store",
            "magento.storeview",
            "magento.customer.group",
        ] {
            let report = shop.import(model, BatchFields::undated("id")).await;
            assert!(report.errors.is_empty(), "{model}: {:?}", report.errors);
        }
        assert_eq!(shop.count("storeview").await, 3);

        // Categories, parents first, with a checkpoint each.
        let report = shop.import("magento.category", by_id()).await;
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let categories = shop.count("category").await;
        assert!(categories > 5);

        // Products by SKU: configurable parents skipped, a checkpoint for each new one.
        let report = shop
            .import("magento.product", BatchFields::new("updated_at", "sku"))
            .await;
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let products = shop.count("product").await;
        let configurable = {
            let db = shop.sim.state().read();
            db.products
                .iter()
                .flatten()
                .filter(|p| p.type_id == "configurable")
                .count() as i64
        };
        assert_eq!(products, 40 - configurable);
        let checkpoints = shop
            .db
            .storage
            .checkpoints()
            .list(&CheckpointFilter {
                state: Some(CheckpointState::NeedReview),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(checkpoints.len() as i64, products + categories);

        shop.sim.shutdown().await;
        shop.db.cleanup().await;
    }
}

#[tokio::test]
async fn an_existing_local_customer_is_bound_by_email_not_duplicated() {
    for db in test_databases().await.unwrap() {
        let shop = shop(db).await;
        let email = shop.sim.state().customer(5).unwrap().email;
        let mut tx = shop.db.storage.begin().await.unwrap();
        let mut values = sync_core::values::Values::new();
        values.insert("email".into(), json!(email));
        values.insert("firstname".into(), json!("Known"));
        let existing = shop
            .app
            .session(&mut tx, Origin::Local)
            .create(shop.repo("customer"), &values)
            .await
            .unwrap();
        tx.commit().await.unwrap();

        shop.import("magento.customer", by_id()).await;
        assert_eq!(shop.count("customer").await, 60);
        let mut conn = shop.db.storage.pool().acquire().await.unwrap();
        let record = shop
            .repo("customer")
            .get(&mut conn, existing)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(record["email"], json!(email));
        assert_ne!(record["firstname"], json!("Known"), "updated from Magento");
        drop(conn);
        shop.sim.shutdown().await;
        shop.db.cleanup().await;
    }
}

#[tokio::test]
async fn sale_orders_with_merged_lines_guests_and_payment_rules() {
    for db in test_databases().await.unwrap() {
        let shop = shop(db).await;
        let mut settings = shop.backend.settings.clone();
        settings["order_import_rules"] = json!({"cashondelivery": "never", "banktransfer": "paid"});
        shop.db
            .storage
            .backends()
            .update_settings(shop.backend.id, &settings)
            .await
            .unwrap();
        let backend = shop
            .db
            .storage
            .backends()
            .get(shop.backend.id)
            .await
            .unwrap();
        let ctx = shop.app.context(backend, "magento.sale.order");

        let report = import_batch(
            &ctx,
            ImportWindow::since(None),
            &BatchFields::new("created_at", "entity_id"),
            50,
            Duration::from_secs(120),
            &ImportDirectly,
        )
        .await
        .unwrap();
        assert!(
            report.errors.is_empty(),
            "{}: {:?}",
            shop.db.name,
            report.errors
        );

        let orders: Vec<magento_sim::data::sales::Order> = {
            let db = shop.sim.state().read();
            db.orders.to_vec()
        };
        let expected: Vec<_> = orders
            .iter()
            .filter(|o| o.payment_method != "cashondelivery")
            .filter(|o| {
                o.payment_method != "banktransfer"
                    || matches!(o.state.as_str(), "processing" | "complete" | "closed")
            })
            .collect();
        assert_eq!(shop.count("sale.order").await, expected.len() as i64);

        // Lines: configurable children merged into their parent, plus a shipping line.
        let mut conn = shop.db.storage.pool().acquire().await.unwrap();
        let binder = sync_core::sync::binder_for(&ctx).unwrap();
        for order in &expected {
            let local = binder
                .to_internal(
                    &mut conn,
                    &sync_core::ExternalId::from(i64::from(order.entity_id)),
                )
                .await
                .unwrap()
                .expect("bound");
            let values = shop
                .repo("sale.order")
                .get(&mut conn, local)
                .await
                .unwrap()
                .unwrap();
            let lines = values["lines"].as_array().unwrap();
            let parents = order
                .items
                .iter()
                .filter(|i| i.parent_item_id.is_none())
                .count();
            let shipping = usize::from(order.shipping_amount > 0.0);
            assert_eq!(
                lines.len(),
                parents + shipping,
                "order {}",
                order.increment_id
            );
            assert_eq!(
                values["customer_id"].is_null(),
                order.customer_id.is_none(),
                "guest orders have no customer"
            );
        }
        drop(conn);
        shop.sim.shutdown().await;
        shop.db.cleanup().await;
    }
}

#[tokio::test]
async fn a_batch_import_job_resumes_from_its_stored_cursor_and_runs_on_schedule() {
    use sync_core::queue::{JobRegistry, Worker};
    use sync_core::scheduler::enqueue_due;
    use sync_core::storage::ScheduledWork;
    use sync_core::sync::{ImportMode, register_sync_jobs, run_batch_import};

    for db in test_databases().await.unwrap() {
        let shop = shop(db).await;
        let model = "magento.customer";
        let ctx = shop.ctx(model);
        let cursors = shop.db.storage.import_cursors();
        assert_eq!(cursors.since(shop.backend.id, model).await.unwrap(), None);

        // The first run has no cursor: everything, written page by page.
        let first = run_batch_import(&ctx, ImportMode::Direct, false)
            .await
            .unwrap();
        assert_eq!(first.dispatched, 60);
        assert!(first.errors.is_empty(), "{:?}", first.errors);
        assert_eq!(shop.count("customer").await, 60);
        let since = cursors
            .since(shop.backend.id, model)
            .await
            .unwrap()
            .expect("the run stored its cursor");
        // Stored to the microsecond.
        let expected = first
            .next_since
            .map(|t| chrono::SubsecRound::trunc_subsecs(t, 6));
        assert_eq!(Some(since), expected);

        // A change made after the run is found by the next one, which delays one job per
        // record in its window instead of the whole set.
        assert!(
            shop.sim
                .state()
                .edit_customer(7, |c| c.lastname = "Resumed".into())
        );
        // Windows end on a whole second, exclusive: a change stamped in the run's own second
        // belongs to the next window. Step past it.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let second = run_batch_import(&ctx, ImportMode::Jobs, false)
            .await
            .unwrap();
        assert_eq!(
            second.dispatched, 1,
            "only the changed customer is in the window"
        );
        let mut jobs = JobRegistry::new();
        register_sync_jobs(&mut jobs);
        Worker::builder(shop.app.queue().clone(), jobs)
            .data(shop.app.clone())
            .build()
            .run_until_idle()
            .await
            .unwrap();
        let (resumed,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM doc_customer WHERE data LIKE '%\"lastname\":\"Resumed\"%'",
        )
        .fetch_one(shop.db.storage.pool())
        .await
        .unwrap();
        assert_eq!(resumed, 1, "the change was imported");
        assert_eq!(shop.count("customer").await, 60, "nothing duplicated");

        // Scheduled: due at once, then not before its interval.
        let work = ScheduledWork::Import {
            backend_id: shop.backend.id,
            model: model.to_owned(),
        };
        shop.db
            .storage
            .schedules()
            .set(&work, Duration::from_secs(3600))
            .await
            .unwrap();
        assert_eq!(enqueue_due(shop.app.queue()).await.unwrap().len(), 1);
        assert_eq!(enqueue_due(shop.app.queue()).await.unwrap().len(), 0);
        shop.db.cleanup().await;
    }
}
