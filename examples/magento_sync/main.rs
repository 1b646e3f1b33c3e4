//! The Magento example: a two-way sync between a SQLite shop back office and a simulated
//! Magento 2.4 shop, with nothing to install.
//!
//! Run with `cargo run --example magento_sync`. It starts the bundled Magento simulator with
//! seeded data, imports websites, stores, customer groups, categories, products, customers and
//! orders with progress bars, then makes changes on both sides — customers edited in the back
//! office and by the shop admin (some on the same fields), orders invoiced and shipped, order
//! statuses and stock changed — runs the job queue's workers until it drains, and prints what
//! went where.

mod backoffice;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use magento_sim::{ApiVersion, Simulator};
use serde_json::{Value, json};
use synckit::adapter::{PageRequest, SearchQuery};
use synckit::backend::{NewBackend, SecretCipher, Secrets, SecretsAtRest};
use synckit::prelude::*;
use synckit::queue::{JobFilter, JobRegistry, JobState, Worker};
use synckit::storage::{CheckpointFilter, CheckpointState};
use synckit::sync::{
    BatchFields, ImportOutcome, ImportWindow, RECORD_IMPORTER, RecordDispatch, RecordImporter,
    adapter_for, import_batch, import_page, register_sync_jobs, repository_for,
};

const CUSTOMERS: u32 = 1_000;
const PRODUCTS: u32 = 500;
const ORDERS: u32 = 2_000;
const TOKEN: &str = "example-integration-token";

/// Imports each record from the search page and counts the outcomes on a progress bar.
struct Progress {
    bar: ProgressBar,
    outcomes: Mutex<BTreeMap<&'static str, u64>>,
}

impl Progress {
    fn count(&self, outcome: &SyncResult<ImportOutcome>) {
        let kind = match outcome {
            Ok(ImportOutcome::Created(_)) => "created",
            Ok(ImportOutcome::Updated { conflicts, .. }) if !conflicts.is_empty() => "conflicts",
            Ok(ImportOutcome::Updated { .. }) => "updated",
            Ok(ImportOutcome::UpToDate(_)) => "up to date",
            Ok(ImportOutcome::Skipped(_)) => "skipped",
            Err(_) => "errors",
        };
        self.bar.inc(1);
        if let Ok(mut outcomes) = self.outcomes.lock() {
            *outcomes.entry(kind).or_default() += 1;
        }
    }
}

#[async_trait]
impl RecordDispatch for Progress {
    async fn dispatch(
        &self,
        ctx: &WorkContext,
        id: &ExternalId,
        record: Value,
        read_at: DateTime<Utc>,
    ) -> SyncResult<()> {
        let importer = ctx.component::<dyn RecordImporter>(RECORD_IMPORTER)?;
        let outcome = importer.import_data(ctx, id, record, read_at, false).await;
        self.count(&outcome);
        outcome.map(|_| ())
    }

    /// A whole search page in one transaction (the importer's page flow).
    async fn dispatch_page(
        &self,
        ctx: &WorkContext,
        records: Vec<(ExternalId, Value)>,
        read_at: DateTime<Utc>,
    ) -> Vec<(ExternalId, SyncError)> {
        let outcomes = import_page(ctx, records, read_at).await;
        let mut errors = Vec::new();
        for (id, outcome) in outcomes {
            self.count(&outcome);
            if let Err(error) = outcome {
                errors.push((id, error));
            }
        }
        errors
    }
}

/// Imports one model with a progress bar; returns where its next window starts.
async fn import(
    app: &App,
    backend: &Backend,
    model: &str,
    fields: BatchFields,
    since: Option<DateTime<Utc>>,
) -> SyncResult<Option<DateTime<Utc>>> {
    let ctx = app.context(backend.clone(), model);
    // The total, for the bar: one tiny search.
    let total = adapter_for(&ctx)?
        .search_read(&SearchQuery::new(), PageRequest::first(1))
        .await?
        .total
        .unwrap_or(0);
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>24} [{bar:30}] {pos:>5}/{len:5} {msg}")
            .map_err(|e| SyncError::Failed(e.to_string()))?
            .progress_chars("=> "),
    );
    bar.set_prefix(model.to_owned());
    let progress = Progress {
        bar,
        outcomes: Mutex::new(BTreeMap::new()),
    };
    let report = import_batch(
        &ctx,
        ImportWindow::since(since),
        &fields,
        200,
        Duration::from_secs(300),
        &progress,
    )
    .await?;
    let outcomes = progress
        .outcomes
        .lock()
        .map(|o| o.clone())
        .unwrap_or_default();
    let summary: Vec<String> = outcomes.iter().map(|(k, n)| format!("{n} {k}")).collect();
    progress.bar.finish_and_clear();
    println!("   {model:<24} {}", summary.join(", "));
    for (id, error) in report.errors.iter().take(3) {
        eprintln!("    {model} {id}: {error}");
    }
    Ok(report.next_since)
}

async fn count(storage: &Storage, table: &str) -> SyncResult<i64> {
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(storage.pool())
        .await?;
    Ok(n)
}

fn object(value: Value) -> Values {
    match value {
        Value::Object(map) => map,
        _ => Values::new(),
    }
}

#[tokio::main]
async fn main() -> SyncResult<()> {
    let started = Instant::now();
    let dir = std::env::temp_dir().join(format!("synckit-magento-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| SyncError::Failed(e.to_string()))?;
    let database = format!("sqlite://{}", dir.join("backoffice.db").display());

    println!(
        "Starting the Magento simulator ({CUSTOMERS} customers, {PRODUCTS} products, {ORDERS} orders)…"
    );
    let sim = Simulator::builder()
        .seed(2026)
        .customers(CUSTOMERS)
        .products(PRODUCTS)
        .orders(ORDERS)
        .version(ApiVersion::V2_4)
        .token(TOKEN)
        .start()
        .await
        .map_err(|e| SyncError::Failed(e.to_string()))?;
    println!("  {}", sim.base_url());

    // The token is encrypted with the key in SYNCKIT_SECRET_KEY when it is set; this demo
    // database of the simulator's token may keep it in plain text otherwise.
    let secrets = match SecretCipher::from_env()? {
        Some(cipher) => SecretsAtRest::Encrypted(cipher),
        None => SecretsAtRest::Plaintext,
    };
    let storage = Storage::open(&database)
        .await?
        .with_secrets_at_rest(secrets);
    let mut registry = ComponentRegistry::new();
    synckit_magento::register(&mut registry);
    backoffice::install(&storage, &mut registry).await?;
    let backend = storage
        .backends()
        .create(
            NewBackend::new("magento", "demo shop")
                .version("2.4")
                .settings(json!({
                    "base_url": sim.base_url(),
                    "page_size": 200,
                    "conflict_policy": "field_merge",
                    "order_import_rules": {"cashondelivery": "paid"},
                }))
                .secrets(Secrets::new().with("token", TOKEN)),
        )
        .await?;
    let app = App::new(registry, storage.clone()).await?;

    println!("\n1. Full import");
    // Every model the connector imports, in dependency order.
    let mut customers_since = None;
    for (model, fields) in synckit_magento::models::batch_imports() {
        let since = import(&app, &backend, model, fields, None).await?;
        if model == "magento.customer" {
            customers_since = since;
        }
    }

    println!("\n2. Changes on both sides");
    let customers = repository_for(&app.context(backend.clone(), "customer"), "customer")?;
    let invoices = repository_for(
        &app.context(backend.clone(), "account.invoice"),
        "account.invoice",
    )?;
    let deliveries = repository_for(
        &app.context(backend.clone(), "stock.picking"),
        "stock.picking",
    )?;
    let orders = repository_for(&app.context(backend.clone(), "sale.order"), "sale.order")?;
    let products = repository_for(&app.context(backend.clone(), "product"), "product")?;
    let mut tx = storage.begin().await?;
    let mut session = app.session(&mut tx, Origin::Local);
    for id in 1..=40 {
        session
            .write(
                &*customers,
                LocalId(id),
                &object(json!({"lastname": format!("Backoffice-{id}")})),
            )
            .await?;
    }
    // Orders Magento can still invoice and ship.
    let open: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, status FROM sale_orders WHERE status = 'pending' AND payment_method = 'checkmo' ORDER BY id LIMIT 30",
    )
    .fetch_all(session.conn())
    .await?;
    for (order, _) in &open {
        session
            .create(
                &*invoices,
                &object(json!({"order_id": order, "capture": false})),
            )
            .await?;
    }
    for (order, _) in open.iter().take(20) {
        session
            .create(&*deliveries, &object(json!({"order_id": order, "tracking_number": format!("1Z{order:08}"), "carrier_code": "ups", "carrier_title": "UPS"})))
            .await?;
    }
    for (order, _) in open.iter().skip(20) {
        session
            .write(
                &*orders,
                LocalId(*order),
                &object(json!({"status": "holded", "status_comment": "held by the back office"})),
            )
            .await?;
    }
    for id in 1..=40 {
        session
            .write(
                &*products,
                LocalId(id),
                &object(json!({"qty": 10.0 + id as f64})),
            )
            .await?;
    }
    drop(session);
    tx.commit().await?;
    println!(
        "   back office: 40 customers renamed, {} orders invoiced, {} shipped, {} held, 40 stock levels changed",
        open.len(),
        open.len().min(20),
        open.len().saturating_sub(20)
    );

    // The shop admin edits customers in Magento: 20 on other fields, 10 on the same field.
    let remote_ids: Vec<u32> = {
        let ctx = app.context(backend.clone(), "magento.customer");
        let binder = synckit::sync::binder_for(&ctx)?;
        let mut conn = storage.pool().acquire().await?;
        let mut ids = Vec::new();
        for id in 1..=30 {
            if let Some(ext) = binder.to_external(&mut conn, LocalId(id)).await? {
                ids.push(ext.as_str().parse().unwrap_or_default());
            }
        }
        ids
    };
    for (i, remote) in remote_ids.iter().enumerate() {
        sim.state().edit_customer(*remote, |c| {
            if i < 20 {
                c.firstname = format!("Shop-{}", c.firstname);
            } else {
                c.lastname = format!("Admin-{}", c.lastname);
            }
        });
    }
    println!(
        "   shop admin: 20 customers renamed, 10 of them on the field the back office changed"
    );

    // Magento stamps changes to the second, and an import window ends before the current
    // second (which may still change): changes made in this second belong to the next run.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    println!("\n3. Incremental import of the customers changed since");
    import(
        &app,
        &backend,
        "magento.customer",
        BatchFields::default(),
        customers_since,
    )
    .await?;

    println!("\n4. Workers drain the queue");
    let pending = app
        .queue()
        .list_jobs(&JobFilter {
            limit: 10_000,
            ..JobFilter::default()
        })
        .await?
        .len();
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(format!("{pending} export jobs"));
    spinner.enable_steady_tick(Duration::from_millis(100));
    let mut jobs = JobRegistry::new();
    register_sync_jobs(&mut jobs);
    let stats = Worker::builder(app.queue().clone(), jobs)
        .concurrency(4)
        .data(app.clone())
        .build()
        .run_until_idle()
        .await?;
    spinner.finish_with_message(format!("{stats:?}"));

    println!("\n5. Summary");
    let all_jobs = app
        .queue()
        .list_jobs(&JobFilter {
            limit: 10_000,
            ..JobFilter::default()
        })
        .await?;
    let by_state = |state: JobState| all_jobs.iter().filter(|j| j.state == state).count();
    for (label, table) in [
        ("websites", "websites"),
        ("store views", "store_views"),
        ("customer groups", "customer_groups"),
        ("categories", "categories"),
        ("products", "products"),
        ("customers", "customers"),
        ("sale orders", "sale_orders"),
    ] {
        println!(
            "   {label:<18} {:>6} in the back office",
            count(&storage, table).await?
        );
    }
    let state = sim.state();
    println!("   Magento received (requests served by the simulator):");
    for (label, route) in [
        ("invoices", "POST /V1/order/{orderId}/invoice"),
        ("shipments", "POST /V1/order/{orderId}/ship"),
        ("order comments", "POST /V1/orders/{id}/comments"),
        ("stock updates", "POST /V1/inventory/source-items"),
        ("customer updates", "PUT /V1/customers/{customerId}"),
    ] {
        println!("   {label:<18} {:>6}", state.request_count(route));
    }
    let review = storage
        .checkpoints()
        .list(&CheckpointFilter {
            state: Some(CheckpointState::NeedReview),
            ..CheckpointFilter::default()
        })
        .await?;
    let conflicts = review
        .iter()
        .filter(|c| c.message.contains("both sides"))
        .count();
    println!(
        "   {:<18} {:>6} to review ({} conflicts, the rest new products and categories)",
        "checkpoints",
        review.len(),
        conflicts
    );
    println!(
        "   {:<18} {:>6} done, {} failed, {} waiting",
        "jobs",
        by_state(JobState::Done),
        by_state(JobState::Failed),
        all_jobs.len() - by_state(JobState::Done) - by_state(JobState::Failed)
    );
    for job in all_jobs
        .iter()
        .filter(|j| j.state == JobState::Failed)
        .take(5)
    {
        println!("   failed: {} {}: {:?}", job.name, job.args, job.exc_info);
    }
    println!("\nFinished in {:.1}s.", started.elapsed().as_secs_f64());

    sim.shutdown().await;
    storage.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
