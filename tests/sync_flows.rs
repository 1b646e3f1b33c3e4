//! A complete import and a complete export through the default synchronizer flows, against
//! an in-memory backend, on SQLite and PostgreSQL.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::AnyConnection;
use synckit::prelude::*;
use synckit::storage::Dialect;
use synckit::sync::{
    BatchFields, Dependency, ExportOutcome, ExportSpec, ImportDirectly, ImportOutcome, ImportSpec,
    ImportWindow, RECORD_EXPORTER, RECORD_IMPORTER, RecordExporter, RecordImporter, SpecExporter,
    SpecImporter, binder_for, import_batch,
};
use synckit::testing::{DocumentRepository, MemoryBackend, TestDatabase, test_databases};

// ---- remote records ----

#[derive(Deserialize)]
struct RemoteGroup {
    code: String,
    updated_at: String,
}

#[derive(Deserialize)]
struct RemoteCustomer {
    id: u64,
    email: String,
    firstname: String,
    group_id: u64,
    updated_at: String,
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|n| n.and_utc())
}

// ---- import mappers (hand-written; the derive generates the same shape) ----

#[derive(Serialize)]
struct LocalGroup {
    name: String,
}

struct GroupImportMapper;

#[async_trait]
impl Mapper for GroupImportMapper {
    type Source = RemoteGroup;
    type Target = LocalGroup;
    async fn map(
        &self,
        source: &RemoteGroup,
        _: &MapOptions,
        _: &WorkContext,
    ) -> SyncResult<MapOutput<LocalGroup>> {
        Ok(MapOutput::Full(LocalGroup {
            name: source.code.clone(),
        }))
    }
    fn changed_by_fields(&self) -> &'static [&'static str] {
        &["code"]
    }
}

#[derive(Serialize)]
struct LocalCustomer {
    email: String,
    name: String,
    group_id: i64,
}

struct CustomerImportMapper;

#[async_trait]
impl Mapper for CustomerImportMapper {
    type Source = RemoteCustomer;
    type Target = LocalCustomer;
    async fn map(
        &self,
        source: &RemoteCustomer,
        _: &MapOptions,
        ctx: &WorkContext,
    ) -> SyncResult<MapOutput<LocalCustomer>> {
        // external id → local id through the group's binder (Odoo's external_to_m2o).
        let groups = binder_for(&ctx.work_on("customer.group"))?;
        let mut conn = ctx.storage().pool().acquire().await?;
        let group = groups
            .to_internal(&mut conn, &ExternalId::from(source.group_id.to_string()))
            .await?
            .ok_or_else(|| {
                SyncError::mapping(
                    format!("customer {}", source.id),
                    "group_id",
                    format!("customer group {} is not bound", source.group_id),
                )
            })?;
        Ok(MapOutput::Full(LocalCustomer {
            email: source.email.clone(),
            name: source.firstname.clone(),
            group_id: group.0,
        }))
    }
    fn changed_by_fields(&self) -> &'static [&'static str] {
        &["email", "firstname", "group_id"]
    }
}

struct GroupImport;

impl ImportSpec for GroupImport {
    type Remote = RemoteGroup;
    type Mapper = GroupImportMapper;
    type Target = LocalGroup;
    fn mapper(&self) -> &GroupImportMapper {
        &GroupImportMapper
    }
    fn remote_updated_at(&self, remote: &RemoteGroup) -> Option<DateTime<Utc>> {
        parse_time(&remote.updated_at)
    }
}

struct CustomerImport;

#[async_trait]
impl ImportSpec for CustomerImport {
    type Remote = RemoteCustomer;
    type Mapper = CustomerImportMapper;
    type Target = LocalCustomer;
    fn mapper(&self) -> &CustomerImportMapper {
        &CustomerImportMapper
    }
    fn remote_updated_at(&self, remote: &RemoteCustomer) -> Option<DateTime<Utc>> {
        parse_time(&remote.updated_at)
    }
    async fn dependencies(
        &self,
        _: &WorkContext,
        remote: &RemoteCustomer,
    ) -> SyncResult<Vec<Dependency>> {
        Ok(vec![Dependency::new(
            "customer.group",
            remote.group_id.to_string(),
        )])
    }
}

// ---- export ----

#[derive(Deserialize)]
struct LocalCustomerRecord {
    email: String,
    name: String,
}

#[derive(Serialize)]
struct CustomerPayload {
    email: String,
    firstname: String,
}

struct CustomerExportMapper;

#[async_trait]
impl Mapper for CustomerExportMapper {
    type Source = LocalCustomerRecord;
    type Target = CustomerPayload;
    async fn map(
        &self,
        source: &LocalCustomerRecord,
        options: &MapOptions,
        _: &WorkContext,
    ) -> SyncResult<MapOutput<CustomerPayload>> {
        if options.changed_fields.is_none() {
            return Ok(MapOutput::Full(CustomerPayload {
                email: source.email.clone(),
                firstname: source.name.clone(),
            }));
        }
        let mut partial = Values::new();
        if options.runs_for(&["email"]) {
            partial.insert("email".into(), json!(source.email));
        }
        if options.runs_for(&["name"]) {
            partial.insert("firstname".into(), json!(source.name));
        }
        Ok(MapOutput::Partial(partial))
    }
    fn changed_by_fields(&self) -> &'static [&'static str] {
        &["email", "name"]
    }
}

struct CustomerExport;

#[async_trait]
impl ExportSpec for CustomerExport {
    type Local = LocalCustomerRecord;
    type Mapper = CustomerExportMapper;
    type Target = CustomerPayload;
    fn mapper(&self) -> &CustomerExportMapper {
        &CustomerExportMapper
    }
    async fn find_remote(
        &self,
        _: &WorkContext,
        adapter: &dyn BackendAdapter,
        payload: &Values,
    ) -> SyncResult<Option<ExternalId>> {
        let email = payload.get("email").cloned().unwrap_or(Value::Null);
        let query = SearchQuery::new().filter("email", Condition::Eq, email);
        Ok(adapter
            .search(&query, PageRequest::first(2))
            .await?
            .items
            .into_iter()
            .next())
    }
}

/// Records the events it receives, as an export listener would before delaying a job.
#[derive(Default)]
struct RecordingListener {
    events: Mutex<Vec<(LocalId, Vec<String>)>>,
}

#[async_trait]
impl Listener for RecordingListener {
    async fn on_record_create(
        &self,
        _: &WorkContext,
        _: &mut AnyConnection,
        event: &RecordEvent,
    ) -> SyncResult<()> {
        self.events
            .lock()
            .unwrap()
            .push((event.local_id, event.fields.clone()));
        Ok(())
    }
    async fn on_record_write(
        &self,
        _: &WorkContext,
        _: &mut AnyConnection,
        event: &RecordEvent,
    ) -> SyncResult<()> {
        self.events
            .lock()
            .unwrap()
            .push((event.local_id, event.fields.clone()));
        Ok(())
    }
}

struct Fixture {
    db: TestDatabase,
    app: App,
    remote: MemoryBackend,
    listener: Arc<RecordingListener>,
    backend: Backend,
    customers: DocumentRepository,
}

async fn fixture(db: TestDatabase) -> Fixture {
    fixture_with(db, None).await
}

/// The fixture, with `extra_listener` also registered for customers.
async fn fixture_with(db: TestDatabase, extra_listener: Option<Arc<dyn Listener>>) -> Fixture {
    let remote = MemoryBackend::new();
    let listener = Arc::new(RecordingListener::default());
    let customers = DocumentRepository::create(&db.storage, "customer")
        .await
        .unwrap();
    let groups = DocumentRepository::create(&db.storage, "customer.group")
        .await
        .unwrap();

    let mut registry = ComponentRegistry::new();
    registry.add_kind(BackendKind::root("memory"));
    let on = |model: &str| ApplyOn::kind("memory").model(model);
    for model in ["customer", "customer.group"] {
        registry.register::<dyn BackendAdapter>(
            on(model),
            "backend.adapter",
            Arc::new(remote.adapter(model)) as Arc<dyn BackendAdapter>,
        );
    }
    registry.register::<dyn LocalRepository>(
        ApplyOn::any().model("customer"),
        "local.repository",
        Arc::new(customers.clone()) as Arc<dyn LocalRepository>,
    );
    registry.register::<dyn LocalRepository>(
        ApplyOn::any().model("customer.group"),
        "local.repository",
        Arc::new(groups) as Arc<dyn LocalRepository>,
    );
    registry.register::<dyn RecordImporter>(
        on("customer"),
        RECORD_IMPORTER,
        Arc::new(SpecImporter(CustomerImport)) as Arc<dyn RecordImporter>,
    );
    registry.register::<dyn RecordImporter>(
        on("customer.group"),
        RECORD_IMPORTER,
        Arc::new(SpecImporter(GroupImport)) as Arc<dyn RecordImporter>,
    );
    registry.register::<dyn RecordExporter>(
        on("customer"),
        RECORD_EXPORTER,
        Arc::new(SpecExporter(CustomerExport)) as Arc<dyn RecordExporter>,
    );
    registry.register::<dyn Listener>(
        on("customer"),
        "event.listener",
        listener.clone() as Arc<dyn Listener>,
    );
    if let Some(extra) = extra_listener {
        registry.register::<dyn Listener>(on("customer"), "event.listener", extra);
    }

    let backend = db
        .storage
        .backends()
        .create(NewBackend::new("memory", "remote"))
        .await
        .unwrap();
    let app = App::new(registry, db.storage.clone()).await.unwrap();
    Fixture {
        db,
        app,
        remote,
        listener,
        backend,
        customers,
    }
}

fn record(value: Value) -> Values {
    match value {
        Value::Object(map) => map,
        _ => Values::new(),
    }
}

#[tokio::test]
async fn a_complete_import() {
    for db in test_databases().await.unwrap() {
        let f = fixture(db).await;
        let group = f
            .remote
            .put("customer.group", None, record(json!({"code": "VIP"})));
        for i in 0..25 {
            f.remote.put("customer", None, record(json!({
                "email": format!("c{i}@example.com"), "firstname": format!("C{i}"), "group_id": group
            })));
        }
        let ctx = f.app.context(f.backend.clone(), "customer");
        let window = ImportWindow::since(None);
        let report = import_batch(
            &ctx,
            window,
            &BatchFields::default(),
            10,
            std::time::Duration::from_secs(60),
            &ImportDirectly,
        )
        .await
        .unwrap();
        assert_eq!(report.dispatched, 25, "{}", f.db.name);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert!(report.next_since.is_some());

        // The dependency was imported first and bound; every customer is bound with a sync date.
        let mut conn = f.db.storage.pool().acquire().await.unwrap();
        let group_binder = binder_for(&ctx.work_on("customer.group")).unwrap();
        let group_local = group_binder
            .to_internal(&mut conn, &ExternalId::from(group.to_string()))
            .await
            .unwrap()
            .unwrap();
        let binder = binder_for(&ctx).unwrap();
        let first = f.remote.count("customer.group") as u64 + 1;
        let binding = binder
            .binding_of_external(&mut conn, &ExternalId::from(first.to_string()))
            .await
            .unwrap()
            .unwrap();
        assert!(binding.sync_date.is_some());
        let local = f
            .customers
            .get(&mut conn, binding.local_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(local.get("group_id"), Some(&json!(group_local.0)));
        assert_eq!(local.get("email"), Some(&json!("c0@example.com")));
        drop(conn);

        // The import's local writes did not trigger an export back to the same backend.
        assert!(
            f.listener.events.lock().unwrap().is_empty(),
            "{}: echo",
            f.db.name
        );

        // Up-to-date records are skipped; a record changed remotely is imported again.
        let importer = ctx
            .component::<dyn RecordImporter>(RECORD_IMPORTER)
            .unwrap();
        let outcome = importer
            .run(&ctx, &ExternalId::from(first.to_string()), false)
            .await
            .unwrap();
        assert!(matches!(outcome, ImportOutcome::UpToDate(_)), "{outcome:?}");
        let mut changed = f.remote.get("customer", first).unwrap();
        changed.insert("firstname".into(), json!("Changed"));
        // The memory backend's clock is in the past: move the sync date back to see the change.
        sqlx::query("UPDATE sync_bindings SET sync_date = 0")
            .execute(f.db.storage.pool())
            .await
            .unwrap();
        f.remote.put("customer", Some(first), changed);
        let outcome = importer
            .run(&ctx, &ExternalId::from(first.to_string()), false)
            .await
            .unwrap();
        assert!(
            matches!(outcome, ImportOutcome::Updated { .. }),
            "{outcome:?}"
        );

        // A record missing remotely is a typed, record-level error.
        let err = importer
            .run(&ctx, &ExternalId::from("9999"), false)
            .await
            .unwrap_err();
        assert!(
            matches!(err, SyncError::IdMissingInBackend { .. }),
            "{err:?}"
        );
        f.db.cleanup().await;
    }
}

#[tokio::test]
async fn a_complete_export() {
    for db in test_databases().await.unwrap() {
        let f = fixture(db).await;
        let ctx = f.app.context(f.backend.clone(), "customer");
        let exporter = ctx
            .component::<dyn RecordExporter>(RECORD_EXPORTER)
            .unwrap();

        // A user creates a customer: the listener sees it (it would delay the export job).
        let mut tx = f.db.storage.begin().await.unwrap();
        let id = f
            .app
            .session(&mut tx, Origin::Local)
            .create(
                &f.customers,
                &record(json!({"email": "ada@example.com", "name": "Ada"})),
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(f.listener.events.lock().unwrap().len(), 1);

        let outcome = exporter.run(&ctx, id, None).await.unwrap();
        let ExportOutcome::Created(external_id) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(f.remote.count("customer"), 1);
        let mut conn = f.db.storage.pool().acquire().await.unwrap();
        let binding = binder_for(&ctx)
            .unwrap()
            .binding_of_local(&mut conn, id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(binding.external_id.as_ref(), Some(&external_id));
        assert!(binding.sync_date.is_some() && binding.synced.is_some());
        drop(conn);

        // Exporting again sends nothing: the payload equals what was last synced.
        let outcome = exporter.run(&ctx, id, None).await.unwrap();
        assert!(
            matches!(outcome, ExportOutcome::NothingToDo(_)),
            "{outcome:?}"
        );
        assert_eq!(f.remote.calls(), (1, 0));

        // A local change sends only the changed field.
        let mut tx = f.db.storage.begin().await.unwrap();
        f.app
            .session(&mut tx, Origin::Local)
            .write(&f.customers, id, &record(json!({"name": "Ada L."})))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let fields = vec!["name".to_owned()];
        let outcome = exporter.run(&ctx, id, Some(&fields)).await.unwrap();
        assert_eq!(
            outcome,
            ExportOutcome::Updated {
                external_id: external_id.clone(),
                fields: fields.clone()
            }
        );
        let remote_id: u64 = external_id.as_str().parse().unwrap();
        assert_eq!(
            f.remote
                .get("customer", remote_id)
                .unwrap()
                .get("firstname"),
            Some(&json!("Ada L."))
        );
        f.db.cleanup().await;
    }
}

#[tokio::test]
async fn a_crash_between_remote_create_and_bind_does_not_duplicate() {
    for db in test_databases().await.unwrap() {
        let f = fixture(db).await;
        let ctx = f.app.context(f.backend.clone(), "customer");
        let mut tx = f.db.storage.begin().await.unwrap();
        let id = f
            .app
            .session(&mut tx, Origin::Local)
            .create(
                &f.customers,
                &record(json!({"email": "grace@example.com", "name": "Grace"})),
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();

        // Simulate the crash: the intent was committed and the remote create happened, the
        // bind did not.
        let mut conn = f.db.storage.pool().acquire().await.unwrap();
        binder_for(&ctx)
            .unwrap()
            .record_export_intent(&mut conn, id)
            .await
            .unwrap();
        drop(conn);
        f.remote.put(
            "customer",
            None,
            record(json!({"email": "grace@example.com", "firstname": "Grace"})),
        );

        let exporter = ctx
            .component::<dyn RecordExporter>(RECORD_EXPORTER)
            .unwrap();
        let outcome = exporter.run(&ctx, id, None).await.unwrap();
        assert!(
            matches!(outcome, ExportOutcome::Adopted(_)),
            "{}: {outcome:?}",
            f.db.name
        );
        assert_eq!(f.remote.count("customer"), 1, "no duplicate");
        f.db.cleanup().await;
    }
}

#[tokio::test]
async fn local_writes_delay_export_jobs_in_their_transaction() {
    use synckit::queue::{JobFilter, JobRegistry, Worker};
    use synckit::sync::{ExportListener, register_sync_jobs};
    for db in test_databases().await.unwrap() {
        let listener: Arc<dyn Listener> =
            Arc::new(ExportListener::new("customer", &["email", "name"]));
        let f = fixture_with(db, Some(listener)).await;
        let queue = f.app.queue().clone();

        // A rolled-back write leaves no job behind.
        let mut tx = f.db.storage.begin().await.unwrap();
        f.app
            .session(&mut tx, Origin::Local)
            .create(
                &f.customers,
                &record(json!({"email": "x@example.com", "name": "X"})),
            )
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert!(
            queue
                .list_jobs(&JobFilter::default())
                .await
                .unwrap()
                .is_empty(),
            "{}",
            f.db.name
        );

        // A committed write commits its job; a worker exports it.
        let mut tx = f.db.storage.begin().await.unwrap();
        let id = f
            .app
            .session(&mut tx, Origin::Local)
            .create(
                &f.customers,
                &record(json!({"email": "ada@example.com", "name": "Ada"})),
            )
            .await
            .unwrap();
        // A write of a field the export does not read delays nothing.
        f.app
            .session(&mut tx, Origin::Local)
            .write(&f.customers, id, &record(json!({"internal_note": "vip"})))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            queue.list_jobs(&JobFilter::default()).await.unwrap().len(),
            1
        );

        let mut jobs = JobRegistry::new();
        register_sync_jobs(&mut jobs);
        let stats = Worker::builder(queue.clone(), jobs)
            .data(f.app.clone())
            .build()
            .run_until_idle()
            .await
            .unwrap();
        let jobs_after = queue.list_jobs(&JobFilter::default()).await.unwrap();
        assert_eq!(
            f.remote.count("customer"),
            1,
            "{}: {stats:?} {jobs_after:?}",
            f.db.name
        );
        f.db.cleanup().await;
    }
}

/// Imports every customer, in pages of 50, written directly.
async fn import_customers(f: &Fixture) -> synckit::sync::BatchImportReport {
    let ctx = f.app.context(f.backend.clone(), "customer");
    import_batch(
        &ctx,
        ImportWindow::since(None),
        &BatchFields::default(),
        50,
        std::time::Duration::from_secs(60),
        &ImportDirectly,
    )
    .await
    .unwrap()
}

/// Counts the local customers.
async fn local_customers(f: &Fixture) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM doc_customer")
        .fetch_one(f.db.storage.pool())
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn a_page_writes_its_good_records_and_names_the_bad_ones() {
    for db in test_databases().await.unwrap() {
        let f = fixture(db).await;
        let group = f
            .remote
            .put("customer.group", None, record(json!({"code": "VIP"})));
        let mut ids = Vec::new();
        for i in 0..10 {
            let data = match i {
                // A first name that is not text: the record cannot be read.
                3 => json!({"email": "c3@example.com", "firstname": 42, "group_id": group}),
                // A group the backend does not have: its dependency cannot be imported.
                6 => json!({"email": "c6@example.com", "firstname": "C6", "group_id": 999}),
                _ => json!({
                    "email": format!("c{i}@example.com"), "firstname": format!("C{i}"), "group_id": group
                }),
            };
            ids.push(f.remote.put("customer", None, record(data)));
        }
        let report = import_customers(&f).await;
        assert_eq!(report.dispatched, 10, "{}", f.db.name);
        assert_eq!(local_customers(&f).await, 8, "{}: the good ones", f.db.name);
        let mut failed: Vec<(String, String)> = report
            .errors
            .iter()
            .map(|(id, error)| (id.to_string(), error.to_string()))
            .collect();
        failed.sort();
        assert_eq!(failed.len(), 2, "{}: {failed:?}", f.db.name);
        let bad_type = failed
            .iter()
            .find(|(id, _)| *id == ids[3].to_string())
            .unwrap();
        assert!(
            bad_type.1.contains(&format!("customer {}", ids[3]))
                && bad_type.1.contains("firstname"),
            "the error names the record and the field: {}",
            bad_type.1
        );
        assert!(
            failed.iter().any(|(id, _)| *id == ids[6].to_string()),
            "{failed:?}"
        );
        // Nothing is lost: the cursor does not move past the failed records.
        assert_eq!(report.next_since, None, "{}", f.db.name);
        f.db.cleanup().await;
    }
}

#[tokio::test]
async fn a_page_meeting_a_held_record_lock_falls_back_to_record_imports() {
    for db in test_databases().await.unwrap() {
        let f = fixture(db).await;
        let group = f
            .remote
            .put("customer.group", None, record(json!({"code": "VIP"})));
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(f.remote.put(
                "customer",
                None,
                record(json!({
                    "email": format!("c{i}@example.com"), "firstname": format!("C{i}"), "group_id": group
                })),
            ));
        }
        // Another worker imports customer ids[2] right now.
        let key = format!("import:{}:customer:{}", f.backend.id, ids[2]);
        let held =
            f.db.storage
                .try_lock(&key, std::time::Duration::from_secs(60))
                .await
                .unwrap();
        let report = import_customers(&f).await;
        match f.db.storage.dialect() {
            Dialect::Postgres => {
                // The page rolled back and went record by record: only the held one waits,
                // with a retry that does not use up a try.
                assert_eq!(local_customers(&f).await, 4);
                assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
                assert_eq!(report.errors[0].0, ExternalId::from(ids[2].to_string()));
                assert!(report.errors[0].1.is_retryable());
                assert!(!report.errors[0].1.counts_as_retry());
            }
            Dialect::Sqlite => {
                // SQLite imports take no named lock: BEGIN IMMEDIATE makes writers take
                // turns, and each reads the others' bindings under the write lock.
                assert_eq!(local_customers(&f).await, 5);
                assert!(report.errors.is_empty(), "{:?}", report.errors);
            }
        }
        held.release().await.unwrap();
        f.db.cleanup().await;
    }
}
