//! A conflict checkpoint settled field by field: the checkpoint keeps base, local and remote
//! per field; the remote side's fields are written locally, the local side's are exported
//! by a job, the synced state moves on so the next import finds nothing to settle; wrong
//! choices are named; on SQLite and PostgreSQL.

use std::sync::Arc;

use serde_json::{Value, json};
use sync_core::adapter::BackendAdapter;
use sync_core::backend::{Backend, BackendKind, NewBackend};
use sync_core::local::LocalRepository;
use sync_core::queue::{JobRegistry, Worker};
use sync_core::registry::{ApplyOn, ComponentRegistry};
use sync_core::storage::{CheckpointFilter, CheckpointState};
use sync_core::sync::{
    FieldChoice, ImportOutcome, OPEN_CONFLICTS, RECORD_EXPORTER, RECORD_IMPORTER, RecordExporter,
    RecordImporter, Side, SpecExporter, SpecImporter, binder_for, register_sync_jobs,
    resolve_conflict,
};
use sync_core::testing::{DocumentRepository, MemoryBackend, test_databases};
use sync_core::{App, ExternalId, LocalId, Origin, SyncError, WorkContext};

mod batch_support;
use batch_support::{ShopCustomers, object};

struct Shop {
    app: App,
    backend: Backend,
    remote: MemoryBackend,
    customers: Arc<DocumentRepository>,
}

async fn shop(storage: &sync_core::storage::Storage) -> Shop {
    let customers = Arc::new(
        DocumentRepository::create(storage, "customer")
            .await
            .unwrap(),
    );
    let remote = MemoryBackend::new();
    let mut registry = ComponentRegistry::new();
    registry.add_kind(BackendKind::root("shop"));
    let on = ApplyOn::kind("shop").model("customer");
    registry.register::<dyn BackendAdapter>(
        on.clone(),
        "backend.adapter",
        Arc::new(remote.adapter("customer")),
    );
    registry.register::<dyn LocalRepository>(
        ApplyOn::any().model("customer"),
        "local.repository",
        customers.clone(),
    );
    registry.register::<dyn RecordImporter>(
        on.clone(),
        RECORD_IMPORTER,
        Arc::new(SpecImporter(ShopCustomers)),
    );
    registry.register::<dyn RecordExporter>(
        on,
        RECORD_EXPORTER,
        Arc::new(SpecExporter(ShopCustomers)),
    );
    let backend = storage
        .backends()
        .create(NewBackend::new("shop", "shop-1"))
        .await
        .unwrap();
    let app = App::new(registry, storage.clone()).await.unwrap();
    Shop {
        app,
        backend,
        remote,
        customers,
    }
}

impl Shop {
    fn ctx(&self) -> WorkContext {
        self.app.context(self.backend.clone(), "customer")
    }

    async fn import(&self, id: u64) -> ImportOutcome {
        let ctx = self.ctx();
        let importer = ctx
            .component::<dyn RecordImporter>(RECORD_IMPORTER)
            .unwrap();
        importer
            .run(&ctx, &ExternalId::from(id as i64), false)
            .await
            .unwrap()
    }

    async fn local_id(&self, id: u64) -> LocalId {
        let mut conn = self.app.storage().pool().acquire().await.unwrap();
        binder_for(&self.ctx())
            .unwrap()
            .to_internal(&mut conn, &ExternalId::from(id as i64))
            .await
            .unwrap()
            .unwrap()
    }

    async fn local(&self, id: LocalId) -> Value {
        let mut conn = self.app.storage().pool().acquire().await.unwrap();
        Value::Object(self.customers.get(&mut conn, id).await.unwrap().unwrap())
    }

    async fn write_local(&self, id: LocalId, values: Value) {
        let mut tx = self.app.storage().begin().await.unwrap();
        self.app
            .session(&mut tx, Origin::Local)
            .write(self.customers.as_ref(), id, &object(values))
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    async fn run_worker(&self) {
        let mut jobs = JobRegistry::new();
        register_sync_jobs(&mut jobs);
        Worker::builder(self.app.queue().clone(), jobs)
            .data(self.app.clone())
            .build()
            .run_until_idle()
            .await
            .unwrap();
    }

    async fn open_checkpoints(&self) -> Vec<sync_core::storage::Checkpoint> {
        self.app
            .storage()
            .checkpoints()
            .list(&CheckpointFilter {
                state: Some(CheckpointState::NeedReview),
                ..Default::default()
            })
            .await
            .unwrap()
    }
}

/// Imports a customer, changes city and phone on both sides differently and imports again:
/// a conflict checkpoint on both fields. Returns the remote id and the local id.
async fn conflict(shop: &Shop) -> (u64, LocalId) {
    let id = shop.remote.put(
        "customer",
        None,
        object(json!({"name": "Ada", "city": "Paris", "phone": "1"})),
    );
    shop.import(id).await;
    let local_id = shop.local_id(id).await;
    shop.write_local(local_id, json!({"city": "Lyon", "phone": "2"}))
        .await;
    shop.remote.put(
        "customer",
        Some(id),
        object(json!({"name": "Ada", "city": "Nice", "phone": "3"})),
    );
    let outcome = shop.import(id).await;
    assert!(
        matches!(&outcome, ImportOutcome::Updated { conflicts, .. } if conflicts.len() == 2),
        "{outcome:?}"
    );
    (id, local_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_settles_a_conflict_field_by_field_through_the_flows() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let shop = shop(&db.storage).await;
        let (id, local_id) = conflict(&shop).await;

        let open = shop.open_checkpoints().await;
        assert_eq!(open.len(), 1, "{name}");
        let checkpoint = &open[0];
        assert_eq!(checkpoint.binding_model.as_deref(), Some("customer"));
        assert_eq!(
            serde_json::to_value(&checkpoint.conflicts).unwrap(),
            json!([
                {"field": "city", "base": "Paris", "local": "Lyon", "remote": "Nice"},
                {"field": "phone", "base": "1", "local": "2", "remote": "3"}
            ]),
            "{name}"
        );

        // A wrong choice is named, and changes nothing.
        let missing = resolve_conflict(
            &shop.app,
            checkpoint.id,
            &[FieldChoice::new("city", Side::Remote)],
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&missing, SyncError::InvalidData { field, .. } if field == "phone"),
            "{name}: {missing}"
        );
        let unknown = resolve_conflict(
            &shop.app,
            checkpoint.id,
            &[
                FieldChoice::new("city", Side::Remote),
                FieldChoice::new("phone", Side::Local),
                FieldChoice::new("name", Side::Local),
            ],
        )
        .await
        .unwrap_err();
        assert!(unknown.to_string().contains("name"), "{name}: {unknown}");
        assert_eq!(shop.open_checkpoints().await.len(), 1, "{name}");

        // City: the remote value; phone: the local one.
        let settled = resolve_conflict(
            &shop.app,
            checkpoint.id,
            &[
                FieldChoice::new("city", Side::Remote),
                FieldChoice::new("phone", Side::Local),
            ],
        )
        .await
        .unwrap();
        assert_eq!(settled.written_locally, ["city"], "{name}");
        assert_eq!(settled.exported, ["phone"], "{name}");
        assert_eq!(settled.reviewed, [checkpoint.id], "{name}");
        let job = settled
            .export_job
            .expect("an export job for the local side");
        assert_eq!(
            shop.app.queue().job(job).await.unwrap().name,
            "synckit.export_record"
        );
        let local = shop.local(local_id).await;
        assert_eq!(
            (&local["city"], &local["phone"]),
            (&json!("Nice"), &json!("2")),
            "{name}"
        );
        assert!(shop.open_checkpoints().await.is_empty(), "{name}");
        let mut conn = db.storage.pool().acquire().await.unwrap();
        let binding = binder_for(&shop.ctx())
            .unwrap()
            .binding_of_local(&mut conn, local_id)
            .await
            .unwrap()
            .unwrap();
        drop(conn);
        let synced = binding.synced.unwrap().values;
        assert!(!synced.contains_key(OPEN_CONFLICTS), "{name}: {synced:?}");

        // The export job sends the local phone; the remote city stays.
        shop.run_worker().await;
        let remote = Value::Object(shop.remote.get("customer", id).unwrap());
        assert_eq!(
            (&remote["city"], &remote["phone"]),
            (&json!("Nice"), &json!("2")),
            "{name}"
        );
        // Both sides agree now: the next import settles nothing and raises no checkpoint.
        let again = shop.import(id).await;
        assert!(
            matches!(&again, ImportOutcome::UpToDate(_))
                || matches!(&again, ImportOutcome::Updated { conflicts, .. } if conflicts.is_empty()),
            "{name}: {again:?}"
        );
        assert!(shop.open_checkpoints().await.is_empty(), "{name}");

        // Settled once only.
        let twice = resolve_conflict(
            &shop.app,
            checkpoint.id,
            &[
                FieldChoice::new("city", Side::Remote),
                FieldChoice::new("phone", Side::Local),
            ],
        )
        .await
        .unwrap_err();
        assert!(twice.to_string().contains("already reviewed"), "{name}");
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settling_the_newest_conflict_reviews_the_older_ones_of_the_record() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let shop = shop(&db.storage).await;
        let (id, local_id) = conflict(&shop).await;
        // Imported again while unsettled: a second checkpoint of the same conflict.
        shop.remote.put(
            "customer",
            Some(id),
            object(json!({"name": "Ada", "city": "Nice", "phone": "4"})),
        );
        shop.import(id).await;
        let open = shop.open_checkpoints().await;
        assert_eq!(open.len(), 2, "{name}");
        let newest = &open[1];
        let phone = newest
            .conflicts
            .iter()
            .find(|c| c.field == "phone")
            .unwrap();
        assert_eq!(phone.remote, Some(json!("4")), "{name}: the newest remote");
        let settled = resolve_conflict(
            &shop.app,
            newest.id,
            &[
                FieldChoice::new("city", Side::Remote),
                FieldChoice::new("phone", Side::Remote),
            ],
        )
        .await
        .unwrap();
        assert_eq!(settled.reviewed, [newest.id, open[0].id], "{name}");
        assert!(settled.export_job.is_none(), "{name}");
        let local = shop.local(local_id).await;
        assert_eq!(local["phone"], json!("4"), "{name}");
        assert!(shop.open_checkpoints().await.is_empty(), "{name}");
        db.cleanup().await;
    }
}
