//! Batch job definitions, item steps, persisted executions and the built-in readers, on
//! SQLite and PostgreSQL.

use std::sync::Arc;

use serde_json::json;
use sync_core::backend::NewBackend;
use sync_core::batch::{
    BatchStatus, ItemProcessor, ItemReader, ItemWriter, JobCatalog, JobParameters, run_job,
};
use sync_core::local::LocalRepository;
use sync_core::registry::{ApplyOn, ComponentRegistry};
use sync_core::testing::{DocumentRepository, test_databases};
use sync_core::{App, LocalId, SyncError};

mod batch_support;
use batch_support::{MirrorWriter, Rules, Stopper, object};

const JOBS: &str = r#"
[jobs.customer_copy]
title = "Copy customers by id"
type = "import"
model = "customer"

[[jobs.customer_copy.steps]]
name = "copy"
reader = "entity_by_id"
processor = "test.rules"
writer = "test.mirror"
batch_size = 2

[[jobs.customer_copy.steps]]
name = "after"
reader = "entity_by_id"
processor = "pass_through"
writer = "test.mirror"

[jobs.customer_send]
title = "Send customers by id"
type = "export"
model = "customer"

[[jobs.customer_send.steps]]
name = "send"
reader = "entity_by_id"
processor = "test.rules"
writer = "test.mirror"
batch_size = 2

[jobs.customer_stop]
type = "export"

[[jobs.customer_stop.steps]]
name = "stop"
reader = "entity_by_id"
processor = "test.stopper"
writer = "test.mirror"
batch_size = 1

[[jobs.customer_stop.steps]]
name = "never"
reader = "entity_by_id"
processor = "pass_through"
writer = "test.mirror"
"#;

async fn setup(
    storage: &sync_core::storage::Storage,
) -> (
    App,
    sync_core::WorkContext,
    Arc<DocumentRepository>,
    Arc<DocumentRepository>,
) {
    let customers = Arc::new(
        DocumentRepository::create(storage, "customer")
            .await
            .unwrap(),
    );
    let mirror = Arc::new(DocumentRepository::create(storage, "mirror").await.unwrap());
    let mut registry = ComponentRegistry::new();
    sync_core::batch::register_builtins(&mut registry);
    registry.register::<dyn LocalRepository>(
        ApplyOn::any().model("customer"),
        "local.repository",
        customers.clone(),
    );
    registry.register::<dyn ItemProcessor>(ApplyOn::kind("shop"), "test.rules", Arc::new(Rules));
    registry.register::<dyn ItemProcessor>(
        ApplyOn::kind("shop"),
        "test.stopper",
        Arc::new(Stopper),
    );
    registry.register::<dyn ItemWriter>(
        ApplyOn::kind("shop"),
        "test.mirror",
        Arc::new(MirrorWriter {
            mirror: mirror.clone(),
        }),
    );
    let backend = storage
        .backends()
        .create(NewBackend::new("shop", "shop-1"))
        .await
        .unwrap();
    let app = App::new(registry, storage.clone()).await.unwrap();
    let ctx = app.context(backend, "customer");
    (app, ctx, customers, mirror)
}

async fn add_customers(
    storage: &sync_core::storage::Storage,
    repo: &DocumentRepository,
    records: &[serde_json::Value],
) -> Vec<LocalId> {
    let mut conn = storage.pool().acquire().await.unwrap();
    let mut ids = Vec::new();
    for record in records {
        ids.push(
            repo.create(&mut conn, &object(record.clone()))
                .await
                .unwrap(),
        );
    }
    ids
}

async fn mirror_count(storage: &sync_core::storage::Storage) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM doc_mirror")
        .fetch_one(storage.pool())
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn invalid_items_are_skipped_with_warnings_and_the_job_completes() {
    for db in test_databases().await.unwrap() {
        let (_app, ctx, customers, _mirror) = setup(&db.storage).await;
        let catalog = JobCatalog::parse("tests/jobs.toml", JOBS).unwrap();
        catalog.validate(ctx.registry(), "shop").unwrap();
        let ids = add_customers(
            &db.storage,
            &customers,
            &[
                json!({"email": "a@x"}),
                json!({"email": "b@x", "invalid": "no address"}),
                json!({"email": "c@x", "skip": true}),
                json!({"email": "d@x"}),
                json!({"email": "e@x"}),
            ],
        )
        .await;
        let mut params_ids = ids.clone();
        params_ids.push(LocalId(9999)); // does not exist: a reader warning
        let outcome = run_job(
            &ctx,
            &catalog,
            "customer_copy",
            JobParameters::new().ids(params_ids),
        )
        .await
        .unwrap();
        let job = &outcome.execution;
        assert_eq!(job.status, BatchStatus::Completed, "{} {job:?}", db.name);
        assert_eq!(job.exit_status.code, "COMPLETED");
        assert_eq!(job.steps.len(), 2);
        let copy = &job.steps[0].counters;
        assert_eq!(
            (
                copy.read,
                copy.processed,
                copy.added,
                copy.skipped,
                copy.errors
            ),
            (6, 3, 3, 3, 2),
            "{}: {copy:?}",
            db.name
        );

        // Persisted, outside the data transactions, with the warnings naming item and reason.
        let stored = db.storage.batch_executions().get(job.id).await.unwrap();
        assert_eq!(stored.status, BatchStatus::Completed);
        assert_eq!(stored.steps[0].counters, *copy);
        assert!(stored.started_at.is_some() && stored.ended_at.is_some());
        let warnings = db
            .storage
            .batch_executions()
            .warnings(stored.steps[0].id, 10)
            .await
            .unwrap();
        assert_eq!(warnings.len(), 2, "{}: {warnings:?}", db.name);
        assert!(
            warnings
                .iter()
                .any(|w| w.reason.contains("no such record") && w.reason.contains("9999"))
        );
        // The missing record has no item to show: the warning's item names it.
        assert!(
            warnings
                .iter()
                .any(|w| w.item.as_str().is_some_and(|item| item.ends_with("9999"))),
            "{warnings:?}"
        );
        let invalid = warnings
            .iter()
            .find(|w| w.item.get("email") == Some(&json!("b@x")))
            .expect("the invalid item is named");
        assert!(invalid.reason.contains("no address"), "{}", invalid.reason);
        // 3 written by the first step, 6 read by the second (only 1 missing id), 5 written.
        assert_eq!(mirror_count(&db.storage).await, 3 + 5);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_export_whose_item_failed_ends_failed_naming_it_after_sending_the_others() {
    for db in test_databases().await.unwrap() {
        let (_app, ctx, customers, _mirror) = setup(&db.storage).await;
        let catalog = JobCatalog::parse("tests/jobs.toml", JOBS).unwrap();
        let ids = add_customers(
            &db.storage,
            &customers,
            &[
                json!({"email": "a@x"}),
                json!({"email": "b@x", "invalid": "no address"}),
                json!({"email": "c@x"}),
            ],
        )
        .await;
        let outcome = run_job(
            &ctx,
            &catalog,
            "customer_send",
            JobParameters::new().ids(ids.clone()),
        )
        .await
        .unwrap();
        // Not a silent success: the job fails, its counters and failures say why.
        let job = &outcome.execution;
        assert_eq!(job.status, BatchStatus::Failed, "{}", db.name);
        let send = &job.steps[0].counters;
        assert_eq!(
            (send.read, send.processed, send.added, send.errors),
            (3, 2, 2, 1),
            "{}: {send:?}",
            db.name
        );
        assert_eq!(job.failures.len(), 1, "{:?}", job.failures);
        assert!(
            job.failures[0].starts_with(&format!("customer {}:", ids[1]))
                && job.failures[0].contains("no address"),
            "{}",
            job.failures[0]
        );
        assert_eq!(mirror_count(&db.storage).await, 2, "{}", db.name);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_writer_failure_skips_its_chunk_and_rolls_it_back() {
    for db in test_databases().await.unwrap() {
        let (_app, ctx, customers, _mirror) = setup(&db.storage).await;
        let catalog = JobCatalog::parse("tests/jobs.toml", JOBS).unwrap();
        let ids = add_customers(
            &db.storage,
            &customers,
            &[
                json!({"email": "a@x"}),
                json!({"email": "b@x", "poison": true}),
                json!({"email": "c@x"}),
            ],
        )
        .await;
        let outcome = run_job(
            &ctx,
            &catalog,
            "customer_copy",
            JobParameters::new().ids(ids),
        )
        .await
        .unwrap();
        let job = &outcome.execution;
        assert_eq!(job.status, BatchStatus::Completed, "{}", db.name);
        let copy = &job.steps[0].counters;
        // Chunk [a, b] fails: a's write is rolled back and its `added` count with it.
        assert_eq!(
            (
                copy.read,
                copy.processed,
                copy.added,
                copy.skipped,
                copy.errors
            ),
            (3, 1, 1, 2, 2),
            "{}: {copy:?}",
            db.name
        );
        let warnings = db
            .storage
            .batch_executions()
            .warnings(job.steps[0].id, 10)
            .await
            .unwrap();
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].reason.contains("chunk of 2"),
            "{}",
            warnings[0].reason
        );
        assert_eq!(warnings[0].item.as_array().map(Vec::len), Some(2));
        // Only c from step 1; step 2 writes [a, b, c] as one chunk, which the poison fails.
        assert_eq!(job.steps[1].counters.skipped, 3);
        assert_eq!(mirror_count(&db.storage).await, 1);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_failed_step_fails_the_job_and_later_steps_do_not_run() {
    for db in test_databases().await.unwrap() {
        let (_app, ctx, customers, _mirror) = setup(&db.storage).await;
        let catalog = JobCatalog::parse("tests/jobs.toml", JOBS).unwrap();
        let ids = add_customers(
            &db.storage,
            &customers,
            &[
                json!({"email": "a@x"}),
                json!({"email": "b@x"}),
                json!({"email": "c@x", "fatal": true}),
            ],
        )
        .await;
        let outcome = run_job(
            &ctx,
            &catalog,
            "customer_copy",
            JobParameters::new().ids(ids),
        )
        .await
        .unwrap();
        let job = &outcome.execution;
        assert_eq!(job.status, BatchStatus::Failed, "{}", db.name);
        assert_eq!(job.exit_status.code, "FAILED");
        assert_eq!(job.steps.len(), 1, "the second step must not run");
        assert_eq!(job.steps[0].status, BatchStatus::Failed);
        assert!(
            job.failures[0].contains("remote is down"),
            "{:?}",
            job.failures
        );
        // The first chunk was committed before the failure and stays.
        assert_eq!(mirror_count(&db.storage).await, 2);
        let stored = db.storage.batch_executions().get(job.id).await.unwrap();
        assert_eq!(stored.status, BatchStatus::Failed);
        assert_eq!(stored.steps.len(), 1);
        assert_eq!(stored.failures, job.failures);
        let listed = db
            .storage
            .batch_executions()
            .list(&Default::default())
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn wrong_component_names_fail_at_load_naming_file_job_and_step() {
    let db = sync_core::testing::sqlite().await.unwrap();
    let (_app, ctx, _customers, _mirror) = setup(&db.storage).await;
    let typo = JOBS.replace(
        "writer = \"test.mirror\"\nbatch_size",
        "writer = \"test.mirorr\"\nbatch_size",
    );
    let catalog = JobCatalog::parse("shop/jobs.toml", &typo).unwrap();
    let error = catalog.validate(ctx.registry(), "shop").unwrap_err();
    assert_eq!(error.file, "shop/jobs.toml");
    assert_eq!(error.job.as_deref(), Some("customer_copy"));
    assert_eq!(error.step.as_deref(), Some("copy"));
    assert!(error.message.contains("writer `test.mirorr`"), "{error}");
    // A reader registered under a name, asked for as a writer, is the wrong type.
    let wrong_type = JOBS.replace(
        "processor = \"pass_through\"",
        "processor = \"entity_by_id\"",
    );
    let catalog = JobCatalog::parse("shop/jobs.toml", &wrong_type).unwrap();
    let error = catalog.validate(ctx.registry(), "shop").unwrap_err();
    assert_eq!(error.step.as_deref(), Some("after"));
    // Never a panic for an unknown job either.
    let missing = run_job(&ctx, &catalog, "nope", JobParameters::new()).await;
    assert!(matches!(missing, Err(SyncError::Failed(_))));
    let _ = ctx
        .registry()
        .lookup::<dyn ItemReader>(&[], "customer", "entity_by_id");
    db.cleanup().await;
}

#[tokio::test]
async fn a_stop_request_stops_the_job_after_the_current_chunk() {
    for db in test_databases().await.unwrap() {
        let (_app, ctx, customers, _mirror) = setup(&db.storage).await;
        let catalog = JobCatalog::parse("tests/jobs.toml", JOBS).unwrap();
        let ids = add_customers(
            &db.storage,
            &customers,
            &[json!({"email": "a@x"}), json!({"email": "b@x"})],
        )
        .await;
        let outcome = run_job(
            &ctx,
            &catalog,
            "customer_stop",
            JobParameters::new().ids(ids),
        )
        .await
        .unwrap();
        let job = &outcome.execution;
        assert_eq!(job.status, BatchStatus::Stopped, "{}", db.name);
        assert_eq!(job.exit_status.code, "STOPPED");
        assert_eq!(job.steps.len(), 1, "the next step must not run");
        assert_eq!(
            job.steps[0].counters.read, 1,
            "stopped after the first chunk"
        );
        let stored = db.storage.batch_executions().get(job.id).await.unwrap();
        assert_eq!(stored.status, BatchStatus::Stopped);
        db.cleanup().await;
    }
}
