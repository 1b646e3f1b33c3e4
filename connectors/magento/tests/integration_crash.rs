//! A reverse sync of the Magento integration killed with SIGKILL between the remote create
//! of a customer and the commit of its binding, then run again, leaves no duplicate in
//! Magento: the create intent committed before the call makes the retry look the customer up
//! by e-mail and adopt it. On SQLite and PostgreSQL.
//!
//! The worker process is this test binary itself, re-run with `child_reverse_sync_process`
//! selected and the database URL in the environment. Its customer adapter announces each
//! remote create in a file and then hangs, so the test kills it exactly in that window.

mod support;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use magento_sim::ApiVersion;
use serde_json::{Value, json};
use sync_core::adapter::{BackendAdapter, Page, PageRequest, SearchQuery};
use sync_core::batch::{BatchStatus, NewIntegration, SyncPriority, queued_job, register_jobs};
use sync_core::queue::{JobRegistry, Worker};
use sync_core::registry::{ApplyOn, ComponentRegistry};
use sync_core::storage::{Dialect, Storage};
use sync_core::sync::binder_for;
use sync_core::testing::test_databases;
use sync_core::values::Values;
use sync_core::{App, ExternalId, Origin, SyncResult, WorkContext};
use sync_magento::integration::CUSTOMER_CONNECTOR;
use sync_magento::{MAGENTO_2_4, MagentoAdapter, client_for, resources};

const URL_VAR: &str = "SYNCKIT_MAGENTO_CRASH_CHILD_URL";
/// The file the child writes once Magento has created a customer it has not bound yet.
const MARK_VAR: &str = "SYNCKIT_MAGENTO_CRASH_CHILD_MARK";
const CUSTOMERS: u32 = 4;
const NEW: [&str; 3] = [
    "crash.one@example.com",
    "crash.two@example.com",
    "crash.three@example.com",
];

/// The components of the integration, on `storage`.
async fn registry(storage: &Storage) -> ComponentRegistry {
    let mut registry = ComponentRegistry::new();
    sync_magento::backend::register_backend(&mut registry);
    sync_magento::models::register_models(&mut registry);
    sync_magento::register_integration(&mut registry).expect("the job file resolves");
    support::documents(
        storage,
        &mut registry,
        &["customer", "customer.group", "website"],
    )
    .await;
    registry
}

/// Magento's customer adapter, hanging after each create until the process is killed.
struct HangAfterCreate(MagentoAdapter);

#[async_trait]
impl BackendAdapter for HangAfterCreate {
    async fn search(&self, query: &SearchQuery, page: PageRequest) -> SyncResult<Page<ExternalId>> {
        self.0.search(query, page).await
    }

    async fn read(&self, id: &ExternalId) -> SyncResult<Value> {
        self.0.read(id).await
    }

    async fn search_read(&self, query: &SearchQuery, page: PageRequest) -> SyncResult<Page<Value>> {
        self.0.search_read(query, page).await
    }

    async fn create(&self, data: &Values) -> SyncResult<ExternalId> {
        let id = self.0.create(data).await?;
        // A file, not stdout: the test harness captures a test's output.
        if let Ok(mark) = std::env::var(MARK_VAR) {
            let _ = std::fs::write(mark, id.as_str());
        }
        tokio::time::sleep(Duration::from_secs(600)).await;
        Ok(id)
    }

    async fn write(&self, id: &ExternalId, data: &Values) -> SyncResult<()> {
        self.0.write(id, data).await
    }
}

/// The worker process: does nothing unless started by the test below.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_reverse_sync_process() {
    let Ok(url) = std::env::var(URL_VAR) else {
        return;
    };
    let storage = Storage::open(&url)
        .await
        .expect("the child opens the database");
    let mut registry = registry(&storage).await;
    // The backend is a 2.4 one: this adapter comes before the connector's own.
    registry.register_factory::<dyn BackendAdapter, _>(
        ApplyOn::kind(MAGENTO_2_4).model("magento.customer"),
        "backend.adapter",
        |ctx: &WorkContext| {
            let inner = MagentoAdapter::new(client_for(ctx)?, resources::CUSTOMERS);
            Ok(Arc::new(HangAfterCreate(inner)) as Arc<dyn BackendAdapter>)
        },
    );
    let app = App::new(registry, storage).await.unwrap();
    Worker::builder(app.queue().clone(), register_jobs(JobRegistry::new()))
        .data(app.clone())
        .build()
        .run_until_idle()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reverse_sync_killed_between_the_remote_create_and_the_commit_duplicates_nothing() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let sim = support::simulator(11, CUSTOMERS, 1, 0, ApiVersion::V2_4).await;
        let registry = registry(&db.storage).await;
        let backend = support::backend(&db.storage, &sim, "2.4", json!({})).await;
        let app = App::new(registry, db.storage.clone()).await.unwrap();
        let integration = db
            .storage
            .integrations()
            .create(
                NewIntegration::new(backend.id, "magento shop", [CUSTOMER_CONNECTOR])
                    .two_way(SyncPriority::Remote),
            )
            .await
            .unwrap();
        let customers = sync_core::testing::DocumentRepository::create(&db.storage, "customer")
            .await
            .unwrap();
        let mut ids = Vec::new();
        for email in NEW {
            let Value::Object(values) =
                json!({"email": email, "firstname": "Crash", "lastname": "Test"})
            else {
                unreachable!()
            };
            let mut tx = db.storage.begin().await.unwrap();
            ids.push(
                app.session(&mut tx, Origin::Local)
                    .create(&customers, &values)
                    .await
                    .unwrap(),
            );
            tx.commit().await.unwrap();
        }
        let job = queued_job(&db.storage, integration.id, CUSTOMER_CONNECTOR)
            .await
            .unwrap()
            .expect("the new customers scheduled the reverse sync");

        let dir = tempfile::tempdir().unwrap();
        let mark = dir.path().join("created");
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["child_reverse_sync_process", "--exact", "--test-threads=1"])
            .env(URL_VAR, &db.url)
            .env(MARK_VAR, &mark)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the child starts");
        let mut waited = Duration::ZERO;
        while !mark.exists() && waited < Duration::from_secs(120) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            waited += Duration::from_millis(20);
        }
        // SIGKILL: no destructor, no rollback, no lock release runs in the child.
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(mark.exists(), "{name}: the child never created a customer");
        assert_eq!(
            sim.state().customers_count(),
            CUSTOMERS as usize + 1,
            "{name}: killed after the first create"
        );
        let ctx = app.context(backend.clone(), "magento.customer");
        let binder = binder_for(&ctx).unwrap();
        {
            let mut conn = db.storage.pool().acquire().await.unwrap();
            assert_eq!(
                binder.to_external(&mut conn, ids[0]).await.unwrap(),
                None,
                "{name}: the kill came before the binding was committed"
            );
        }

        // The dead worker's locks: PostgreSQL dropped them with its connections; on SQLite
        // they are lease rows that outlive it until their lease ends, which we do not wait
        // for. Its job is handed back as an operator would (or the lease rescue would).
        if db.dialect() == Dialect::Sqlite {
            sqlx::query("UPDATE sync_locks SET expires_at = 0")
                .execute(db.storage.pool())
                .await
                .unwrap();
        }
        app.queue().requeue(&[job]).await.unwrap();
        Worker::builder(app.queue().clone(), register_jobs(JobRegistry::new()))
            .data(app.clone())
            .build()
            .run_until_idle()
            .await
            .unwrap();

        assert_eq!(
            sim.state().customers_count(),
            CUSTOMERS as usize + NEW.len(),
            "{name}: every new customer exists once in Magento"
        );
        let mut conn = db.storage.pool().acquire().await.unwrap();
        for (id, email) in ids.iter().zip(NEW) {
            let remote = sim
                .state()
                .customer_by_email(email)
                .expect("created in Magento");
            assert_eq!(
                binder.to_external(&mut conn, *id).await.unwrap(),
                Some(ExternalId::from(i64::from(remote.id))),
                "{name}: {email} is bound to its Magento customer"
            );
        }
        drop(conn);
        let (state,): (String,) = sqlx::query_as("SELECT state FROM queue_jobs WHERE id = $1")
            .bind(job.0)
            .fetch_one(db.storage.pool())
            .await
            .unwrap();
        assert_eq!(state, "done", "{name}");
        let executions = db
            .storage
            .batch_executions()
            .list(&sync_core::batch::ExecutionFilter {
                integration_id: Some(integration.id),
                ..Default::default()
            })
            .await
            .unwrap();
        let rerun = &executions[0];
        assert_eq!(rerun.status, BatchStatus::Completed, "{name}");
        assert_eq!(
            rerun.counters().added,
            3,
            "{name}: one adopted, two created"
        );
        sim.shutdown().await;
        db.cleanup().await;
    }
}
