//! The Magento customer sync as an Oro-style integration against the simulator: forward
//! sync with its status row, reverse sync scheduled by a local change, conflicts under each
//! sync priority, the integration next to the per-record jobs on one backend, a reverse sync
//! whose customers settle one by one under a 429 and a refusal, and a create whose answer
//! was lost adopted instead of duplicated; on SQLite and PostgreSQL.

mod support;

use magento_sim::{ApiVersion, Faults, Simulator};
use serde_json::{Value, json};
use sync_core::backend::Backend;
use sync_core::batch::{
    BatchStatus, Integration, NewIntegration, StatusCode, SyncOptions, SyncPriority, forward_sync,
    pending_ids, queued_job, register_jobs, reverse_sync,
};
use sync_core::local::LocalRepository;
use sync_core::queue::{JobRegistry, Worker};
use sync_core::registry::ComponentRegistry;
use sync_core::storage::CheckpointFilter;
use sync_core::sync::{RECORD_IMPORTER, RecordImporter, binder_for, register_sync_jobs};
use sync_core::testing::{DocumentRepository, TestDatabase, test_databases};
use sync_core::values::Values;
use sync_core::{App, ExternalId, LocalId, Origin, WorkContext};
use sync_magento::integration::CUSTOMER_CONNECTOR;

const CUSTOMERS: u32 = 12;

/// Which components the app registers.
#[derive(Clone, Copy, PartialEq)]
enum Styles {
    /// The integration alone: no per-record export listeners, so every export is the
    /// integration's.
    IntegrationOnly,
    /// `sync_magento::register` in full (per-record jobs and listeners) and the integration.
    Both,
}

struct Shop {
    db: TestDatabase,
    sim: Simulator,
    app: App,
    backend: Backend,
    customers: DocumentRepository,
}

async fn shop(db: TestDatabase, styles: Styles) -> Shop {
    let sim = support::simulator(7, CUSTOMERS, 1, 0, ApiVersion::V2_4).await;
    let mut registry = ComponentRegistry::new();
    match styles {
        Styles::Both => sync_magento::register(&mut registry),
        Styles::IntegrationOnly => {
            sync_magento::backend::register_backend(&mut registry);
            sync_magento::models::register_models(&mut registry);
        }
    }
    sync_magento::register_integration(&mut registry).unwrap();
    let customers = support::documents(
        &db.storage,
        &mut registry,
        &["customer", "customer.group", "website"],
    )
    .await
    .into_iter()
    .next();
    let backend = support::backend(&db.storage, &sim, "2.4", json!({})).await;
    let app = App::new(registry, db.storage.clone()).await.unwrap();
    Shop {
        db,
        sim,
        app,
        backend,
        customers: customers.unwrap(),
    }
}

impl Shop {
    async fn integration(&self, priority: Option<SyncPriority>) -> Integration {
        let mut new = NewIntegration::new(self.backend.id, "magento shop", [CUSTOMER_CONNECTOR])
            // Every test change is newer than the cursor: no overlap needed.
            .extra(json!({"overlap_secs": 0}));
        if let Some(priority) = priority {
            new = new.two_way(priority);
        }
        self.db.storage.integrations().create(new).await.unwrap()
    }

    fn ctx(&self) -> WorkContext {
        self.app.context(self.backend.clone(), "magento.customer")
    }

    async fn local_id(&self, remote: u32) -> Option<LocalId> {
        let mut conn = self.db.storage.pool().acquire().await.unwrap();
        binder_for(&self.ctx())
            .unwrap()
            .to_internal(&mut conn, &ExternalId::from(i64::from(remote)))
            .await
            .unwrap()
    }

    async fn external_id(&self, local: LocalId) -> Option<ExternalId> {
        let mut conn = self.db.storage.pool().acquire().await.unwrap();
        binder_for(&self.ctx())
            .unwrap()
            .to_external(&mut conn, local)
            .await
            .unwrap()
    }

    async fn local(&self, id: LocalId) -> Values {
        let mut conn = self.db.storage.pool().acquire().await.unwrap();
        self.customers.get(&mut conn, id).await.unwrap().unwrap()
    }

    async fn local_count(&self) -> i64 {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM doc_customer")
            .fetch_one(self.db.storage.pool())
            .await
            .unwrap();
        n
    }

    /// Writes a local customer as the back office does (origin local: listeners run).
    async fn write_local(&self, id: LocalId, values: Value) {
        let mut tx = self.db.storage.begin().await.unwrap();
        self.app
            .session(&mut tx, Origin::Local)
            .write(&self.customers, id, &object(values))
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    async fn create_local(&self, values: Value) -> LocalId {
        let mut tx = self.db.storage.begin().await.unwrap();
        let id = self
            .app
            .session(&mut tx, Origin::Local)
            .create(&self.customers, &object(values))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        id
    }

    /// Runs the queue until it is empty, with the integration's jobs and the per-record ones.
    async fn run_workers(&self) {
        let mut jobs = register_jobs(JobRegistry::new());
        register_sync_jobs(&mut jobs);
        Worker::builder(self.app.queue().clone(), jobs)
            .data(self.app.clone())
            .build()
            .run_until_idle()
            .await
            .unwrap();
    }

    async fn sync(&self, integration: &Integration) -> (StatusCode, String) {
        let report = forward_sync(&self.app, integration.id, SyncOptions::default())
            .await
            .unwrap();
        assert_eq!(report.runs.len(), 1);
        let status = report.runs[0].status.clone().unwrap();
        (status.code, status.message)
    }

    async fn last_export_status(&self, integration: &Integration) -> String {
        let statuses = self
            .db
            .storage
            .integration_statuses()
            .list(integration.id, Some(CUSTOMER_CONNECTOR), 20)
            .await
            .unwrap();
        statuses
            .into_iter()
            .find(|s| s.message.starts_with("[EXPORT]"))
            .map(|s| {
                assert_eq!(s.code, StatusCode::Completed, "{}", s.message);
                s.message
            })
            .unwrap_or_default()
    }

    async fn finish(self) {
        self.sim.shutdown().await;
        self.db.cleanup().await;
    }
}

fn object(value: Value) -> Values {
    match value {
        Value::Object(map) => map,
        _ => Values::new(),
    }
}

#[tokio::test]
async fn a_forward_sync_imports_the_customers_with_a_status_row() {
    for db in test_databases().await.unwrap() {
        let shop = shop(db, Styles::IntegrationOnly).await;
        // A customer of a group Magento does not have: its import fails, the others go on.
        shop.sim.state().edit_customer(3, |c| c.group_id = 999);
        let integration = shop.integration(None).await;

        let (code, message) = shop.sync(&integration).await;
        assert_eq!(code, StatusCode::Completed, "{}: {message}", shop.db.name);
        let mut lines = message.lines();
        assert_eq!(
            lines.next(),
            Some(
                format!(
                    "[IMPORT] Stats: read {CUSTOMERS}, processed {}, updated 0, added {}, deleted 0, invalid 1",
                    CUSTOMERS - 1,
                    CUSTOMERS - 1
                )
                .as_str()
            ),
            "{}",
            shop.db.name
        );
        assert_eq!(
            lines.next(),
            Some("Some entities were skipped due to warnings:")
        );
        let warning = lines.next().unwrap();
        assert!(warning.contains("999"), "{warning}");
        assert_eq!(shop.local_count().await, i64::from(CUSTOMERS) - 1);
        let ada = shop.local_id(1).await.expect("customer 1 is bound");
        let remote = shop.sim.state().customer(1).unwrap();
        let local = shop.local(ada).await;
        assert_eq!(local["email"], json!(remote.email));
        assert_eq!(local["firstname"], json!(remote.firstname));
        assert!(shop.local_id(3).await.is_none());

        // The execution keeps the counters and the warning.
        let executions = shop
            .db
            .storage
            .batch_executions()
            .list(&sync_core::batch::ExecutionFilter {
                integration_id: Some(integration.id),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(executions.len(), 1);
        assert_eq!(executions[0].status, BatchStatus::Completed);
        assert_eq!(executions[0].counters().errors, 1);

        // Incremental: only what changed since the cursor; an unchanged record is skipped.
        shop.sim
            .state()
            .edit_customer(1, |c| c.lastname = "Changed-In-Magento".into());
        let (code, message) = shop.sync(&integration).await;
        assert_eq!(code, StatusCode::Completed, "{message}");
        assert!(
            message.contains("processed 1, updated 1, added 0"),
            "{}: {message}",
            shop.db.name
        );
        assert_eq!(
            shop.local(ada).await["lastname"],
            json!("Changed-In-Magento")
        );
        assert_eq!(shop.local_count().await, i64::from(CUSTOMERS) - 1);
        shop.finish().await;
    }
}

#[tokio::test]
async fn a_local_change_schedules_the_reverse_sync_which_exports_it() {
    for db in test_databases().await.unwrap() {
        let shop = shop(db, Styles::IntegrationOnly).await;
        let integration = shop.integration(Some(SyncPriority::Remote)).await;
        shop.sync(&integration).await;
        // The import's own writes scheduled nothing.
        assert_eq!(
            queued_job(&shop.db.storage, integration.id, CUSTOMER_CONNECTOR)
                .await
                .unwrap(),
            None
        );

        let id = shop.local_id(2).await.unwrap();
        shop.write_local(id, json!({"lastname": "Backoffice"}))
            .await;
        let job = queued_job(&shop.db.storage, integration.id, CUSTOMER_CONNECTOR)
            .await
            .unwrap()
            .expect("the local change scheduled the export job");
        assert_eq!(pending_ids(&shop.db.storage, job).await.unwrap(), [id]);

        shop.run_workers().await;
        assert_eq!(
            shop.sim.state().customer(2).unwrap().lastname,
            "Backoffice",
            "{}",
            shop.db.name
        );
        let message = shop.last_export_status(&integration).await;
        assert!(
            message.starts_with("[EXPORT] Stats: read 1, processed 1, updated 1, added 0"),
            "{}: {message}",
            shop.db.name
        );

        // A customer created in the back office is created in Magento once, and bound.
        let new = shop
            .create_local(json!({
                "email": "new.customer@example.com",
                "firstname": "New",
                "lastname": "Customer",
            }))
            .await;
        shop.run_workers().await;
        let created = shop
            .sim
            .state()
            .customer_by_email("new.customer@example.com")
            .expect("created in Magento");
        assert_eq!(
            shop.external_id(new).await,
            Some(ExternalId::from(i64::from(created.id)))
        );
        assert_eq!(shop.sim.state().customers_count(), CUSTOMERS as usize + 1);
        // The export's write did not echo back as another reverse sync.
        assert_eq!(
            queued_job(&shop.db.storage, integration.id, CUSTOMER_CONNECTOR)
                .await
                .unwrap(),
            None
        );
        shop.finish().await;
    }
}

#[tokio::test]
async fn a_field_changed_on_both_sides_goes_to_the_sync_priority() {
    for priority in [SyncPriority::Remote, SyncPriority::Local] {
        for db in test_databases().await.unwrap() {
            let name = db.name;
            let shop = shop(db, Styles::IntegrationOnly).await;
            let integration = shop.integration(Some(priority)).await;
            shop.sync(&integration).await;
            let id = shop.local_id(4).await.unwrap();

            // Both sides change the first name; each side also changes a field alone.
            shop.write_local(
                id,
                json!({"firstname": "Local-First", "lastname": "Local-Last"}),
            )
            .await;
            shop.sim.state().edit_customer(4, |c| {
                c.firstname = "Remote-First".into();
                c.email = "remote.changed@example.com".into();
            });
            shop.run_workers().await;

            let expected = match priority {
                SyncPriority::Remote => "Remote-First",
                SyncPriority::Local => "Local-First",
            };
            let local = shop.local(id).await;
            let remote = shop.sim.state().customer(4).unwrap();
            assert_eq!(local["firstname"], json!(expected), "{name} {priority:?}");
            assert_eq!(remote.firstname, expected, "{name} {priority:?}");
            // The fields changed on one side only are merged both ways.
            assert_eq!(
                local["lastname"],
                json!("Local-Last"),
                "{name} {priority:?}"
            );
            assert_eq!(remote.lastname, "Local-Last", "{name} {priority:?}");
            assert_eq!(
                local["email"],
                json!("remote.changed@example.com"),
                "{name} {priority:?}"
            );
            assert_eq!(remote.email, "remote.changed@example.com");
            let message = shop.last_export_status(&integration).await;
            assert!(
                message.starts_with("[EXPORT] Stats: read 1, processed 1, updated 1"),
                "{name} {priority:?}: {message}"
            );
            // The priority settled the conflict: nothing is left for a human.
            let review = shop
                .db
                .storage
                .checkpoints()
                .list(&CheckpointFilter::default())
                .await
                .unwrap();
            assert!(review.is_empty(), "{name} {priority:?}: {review:?}");

            // Both sides agree now: the next forward sync changes nothing.
            let (_, message) = shop.sync(&integration).await;
            assert!(message.contains("added 0"), "{message}");
            let again = shop.local(id).await;
            assert_eq!(again["firstname"], json!(expected), "{name} {priority:?}");
            assert_eq!(
                again["lastname"],
                json!("Local-Last"),
                "{name} {priority:?}"
            );
            assert_eq!(
                queued_job(&shop.db.storage, integration.id, CUSTOMER_CONNECTOR)
                    .await
                    .unwrap(),
                None,
                "the merge's local write did not schedule another export"
            );
            shop.finish().await;
        }
    }
}

#[tokio::test]
async fn the_integration_and_the_per_record_jobs_share_one_backend() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let shop = shop(db, Styles::Both).await;
        // The per-record style imports a few customers first.
        let importer = shop
            .ctx()
            .component::<dyn RecordImporter>(RECORD_IMPORTER)
            .unwrap();
        for remote in 1..=3_i64 {
            importer
                .run(&shop.ctx(), &ExternalId::from(remote), false)
                .await
                .unwrap();
        }
        let first = shop.local_id(1).await.unwrap();

        // The integration's import binds the others and finds those already bound.
        let integration = shop.integration(Some(SyncPriority::Remote)).await;
        let (code, message) = shop.sync(&integration).await;
        assert_eq!(code, StatusCode::Completed, "{name}: {message}");
        assert!(
            message.contains(&format!("added {}", CUSTOMERS - 3)),
            "{name}: {message}"
        );
        assert_eq!(shop.local_count().await, i64::from(CUSTOMERS), "{name}");
        assert_eq!(shop.local_id(1).await, Some(first));

        // A back-office customer: both styles ask to export it (a per-record export job and
        // the integration's reverse sync); Magento gets it once.
        let new = shop
            .create_local(json!({
                "email": "both.styles@example.com",
                "firstname": "Both",
                "lastname": "Styles",
            }))
            .await;
        assert!(
            queued_job(&shop.db.storage, integration.id, CUSTOMER_CONNECTOR)
                .await
                .unwrap()
                .is_some()
        );
        shop.run_workers().await;
        assert_eq!(
            shop.sim.state().customers_count(),
            CUSTOMERS as usize + 1,
            "{name}"
        );
        let remote = shop
            .sim
            .state()
            .customer_by_email("both.styles@example.com")
            .unwrap();
        assert_eq!(
            shop.external_id(new).await,
            Some(ExternalId::from(i64::from(remote.id)))
        );

        // A local change goes out once more, whichever style sends it, and both styles'
        // imports afterwards find the customer bound.
        shop.write_local(new, json!({"lastname": "Changed"})).await;
        shop.run_workers().await;
        assert_eq!(
            shop.sim.state().customer(remote.id).unwrap().lastname,
            "Changed"
        );
        importer
            .run(&shop.ctx(), &ExternalId::from(i64::from(remote.id)), true)
            .await
            .unwrap();
        let (code, message) = shop.sync(&integration).await;
        assert_eq!(code, StatusCode::Completed, "{message}");
        assert!(message.contains("added 0"), "{name}: {message}");
        assert_eq!(shop.local_count().await, i64::from(CUSTOMERS) + 1, "{name}");
        assert_eq!(shop.sim.state().customers_count(), CUSTOMERS as usize + 1);
        shop.finish().await;
    }
}

/// The state, counted retries, seconds until the eta and error message of a queue job.
async fn job_row(shop: &Shop, job: sync_core::queue::JobId) -> (String, i64, i64, String) {
    let (state, retry, eta, message): (String, i64, Option<i64>, Option<String>) =
        sqlx::query_as("SELECT state, retry, eta, exc_message FROM queue_jobs WHERE id = $1")
            .bind(job.0)
            .fetch_one(shop.db.storage.pool())
            .await
            .unwrap();
    let now = sync_core::storage::to_micros(chrono::Utc::now());
    let wait = eta.map_or(0, |eta| (eta - now).max(0) / 1_000_000);
    (state, retry, wait, message.unwrap_or_default())
}

/// How many times the simulator served `GET /V1/customers/{id}` for `id`.
fn customer_reads(shop: &Shop, id: u32) -> usize {
    let suffix = format!("/V1/customers/{id}");
    shop.sim
        .state()
        .request_stats()
        .log
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with(&suffix) && r.status == 200)
        .count()
}

#[tokio::test]
async fn a_reverse_sync_settles_each_customer_under_a_429_and_a_refusal() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let shop = shop(db, Styles::IntegrationOnly).await;
        let integration = shop.integration(Some(SyncPriority::Remote)).await;
        shop.sync(&integration).await;
        let mut ids = Vec::new();
        for remote in 1..=5_u32 {
            let id = shop.local_id(remote).await.unwrap();
            let change = match remote {
                // Magento refuses this one (400: not a valid e-mail address).
                4 => json!({"lastname": "Renamed-4", "email": "not-an-address"}),
                _ => json!({"lastname": format!("Renamed-{remote}")}),
            };
            shop.write_local(id, change).await;
            ids.push(id);
        }
        let job = queued_job(&shop.db.storage, integration.id, CUSTOMER_CONNECTOR)
            .await
            .unwrap()
            .unwrap();
        shop.sim.state().reset_requests();
        // The third customer's write is rate limited once, `Retry-After: 1`.
        shop.sim.set_faults(Faults {
            fail_next: 1,
            fail_next_status: 429,
            retry_after_secs: 1,
            path_contains: Some("/V1/customers/3".into()),
            methods: Some(vec!["PUT".into()]),
            ..Faults::none()
        });
        shop.run_workers().await;

        let lastname = |remote: u32| shop.sim.state().customer(remote).unwrap().lastname;
        assert_eq!(lastname(1), "Renamed-1", "{name}");
        assert_eq!(lastname(2), "Renamed-2", "{name}");
        let (state, retry, wait, message) = job_row(&shop, job).await;
        assert_eq!(state, "pending", "{name}: {message}");
        assert!(
            wait <= 1,
            "{name}: the retry waits {wait} s, not the Retry-After"
        );
        assert_eq!(retry, 0, "{name}: customers went through, no try used");
        assert_eq!(
            pending_ids(&shop.db.storage, job).await.unwrap(),
            ids[2..],
            "{name}: only the customers not sent yet are left"
        );

        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        shop.run_workers().await;
        assert_eq!(lastname(3), "Renamed-3", "{name}");
        assert_eq!(lastname(5), "Renamed-5", "{name}");
        assert_ne!(lastname(4), "Renamed-4", "{name}: refused");
        // The customers that went through were neither read nor sent again.
        assert_eq!(customer_reads(&shop, 1), 1, "{name}");
        assert_eq!(customer_reads(&shop, 2), 1, "{name}");

        // The refused customer fails its job with Magento's message, and the counters agree.
        let (state, _, _, message) = job_row(&shop, job).await;
        assert_eq!(state, "failed", "{name}: {message}");
        assert!(
            message.contains(&format!("customer {}", ids[3])) && message.contains("email"),
            "{name}: {message}"
        );
        assert_eq!(pending_ids(&shop.db.storage, job).await.unwrap(), [ids[3]]);
        let executions = shop
            .db
            .storage
            .batch_executions()
            .list(&sync_core::batch::ExecutionFilter {
                integration_id: Some(integration.id),
                ..Default::default()
            })
            .await
            .unwrap();
        let last = &executions[0];
        assert_eq!(last.status, BatchStatus::Failed, "{name}");
        let counters = last.counters();
        assert_eq!(
            (counters.read, counters.updated, counters.errors),
            (3, 2, 1),
            "{name}"
        );
        shop.finish().await;
    }
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_adopted_by_the_next_reverse_sync() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let shop = shop(db, Styles::IntegrationOnly).await;
        let integration = shop.integration(Some(SyncPriority::Remote)).await;
        shop.sync(&integration).await;
        let new = shop
            .create_local(json!({
                "email": "lost.answer@example.com",
                "firstname": "Lost",
                "lastname": "Answer",
            }))
            .await;
        // Magento creates the customer, then the connection drops before the answer.
        shop.sim.set_faults(Faults {
            lost_answer_rate: 1.0,
            path_contains: Some("/V1/customers".into()),
            methods: Some(vec!["POST".into()]),
            ..Faults::none()
        });
        let first = reverse_sync(&shop.app, integration.id, CUSTOMER_CONNECTOR, &[new])
            .await
            .unwrap();
        assert!(!first.is_success(), "{name}: the answer was lost");
        assert_eq!(shop.sim.state().customers_count(), CUSTOMERS as usize + 1);
        assert_eq!(shop.external_id(new).await, None, "{name}");

        shop.sim.set_faults(Faults::none());
        let again = reverse_sync(&shop.app, integration.id, CUSTOMER_CONNECTOR, &[new])
            .await
            .unwrap();
        assert!(again.is_success(), "{name}");
        let created = shop
            .sim
            .state()
            .customer_by_email("lost.answer@example.com")
            .unwrap();
        assert_eq!(
            shop.sim.state().customers_count(),
            CUSTOMERS as usize + 1,
            "{name}: adopted by e-mail, not created twice"
        );
        assert_eq!(
            shop.external_id(new).await,
            Some(ExternalId::from(i64::from(created.id)))
        );
        shop.finish().await;
    }
}
