//! The component registry, the work context, and local events reaching listeners.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::json;
use sqlx::AnyConnection;
use sync_core::backend::{BackendKind, NewBackend};
use sync_core::local::{EventKind, Listener, LocalRepository, RecordEvent};
use sync_core::registry::{ApplyOn, ComponentRegistry};
use sync_core::testing::{DocumentRepository, test_databases};
use sync_core::values::Values;
use sync_core::{App, Origin, SyncError, SyncResult, WorkContext};

trait Named: Send + Sync {
    fn name(&self) -> &'static str;
}

struct N(&'static str);

impl Named for N {
    fn name(&self) -> &'static str {
        self.0
    }
}

fn magento_kinds(registry: &mut ComponentRegistry) {
    let magento = BackendKind::root("magento");
    let m23 = BackendKind::version(&magento, "magento", "2.3");
    let m24 = BackendKind::version(&m23, "magento", "2.4");
    registry.add_kind(magento);
    registry.add_kind(m23);
    registry.add_kind(m24);
}

fn named(registry: &mut ComponentRegistry, on: ApplyOn, usage: &str, name: &'static str) {
    registry.register::<dyn Named>(on, usage, Arc::new(N(name)) as Arc<dyn Named>);
}

async fn context(
    version: &str,
    model: &str,
    registry: ComponentRegistry,
) -> (WorkContext, sync_core::testing::TestDatabase) {
    let db = sync_core::testing::sqlite().await.unwrap();
    let backend = db
        .storage
        .backends()
        .create(NewBackend::new("magento", "shop").version(version))
        .await
        .unwrap();
    let app = App::new(registry, db.storage.clone()).await.unwrap();
    (app.context(backend, model), db)
}

#[tokio::test]
async fn lookup_walks_the_version_chain_most_specific_first() {
    let mut registry = ComponentRegistry::new();
    magento_kinds(&mut registry);
    named(
        &mut registry,
        ApplyOn::kind("magento"),
        "exporter",
        "generic",
    );
    named(
        &mut registry,
        ApplyOn::kind("magento-2.4"),
        "exporter",
        "v2.4",
    );
    named(&mut registry, ApplyOn::any(), "exporter", "any-kind");
    let (ctx, db) = context("2.4", "stock", registry).await;
    assert_eq!(
        ctx.component::<dyn Named>("exporter").unwrap().name(),
        "v2.4"
    );
    db.cleanup().await;

    let mut registry = ComponentRegistry::new();
    magento_kinds(&mut registry);
    named(
        &mut registry,
        ApplyOn::kind("magento"),
        "exporter",
        "generic",
    );
    named(
        &mut registry,
        ApplyOn::kind("magento-2.4"),
        "exporter",
        "v2.4",
    );
    // A 2.3 backend does not see the 2.4 component, and falls back to the root kind.
    let (ctx, db) = context("2.3", "stock", registry).await;
    assert_eq!(
        ctx.component::<dyn Named>("exporter").unwrap().name(),
        "generic"
    );
    db.cleanup().await;
}

#[tokio::test]
async fn a_model_specific_component_beats_a_generic_one() {
    let mut registry = ComponentRegistry::new();
    magento_kinds(&mut registry);
    named(
        &mut registry,
        ApplyOn::kind("magento-2.4"),
        "importer",
        "generic-2.4",
    );
    named(
        &mut registry,
        ApplyOn::kind("magento").model("customer"),
        "importer",
        "customer",
    );
    let (ctx, db) = context("2.4", "customer", registry).await;
    assert_eq!(
        ctx.component::<dyn Named>("importer").unwrap().name(),
        "customer"
    );
    // Another model gets the generic one; the extras and backend follow work_on.
    let orders = ctx.work_on("sale.order");
    assert_eq!(
        orders.component::<dyn Named>("importer").unwrap().name(),
        "generic-2.4"
    );
    db.cleanup().await;
}

#[tokio::test]
async fn ambiguity_and_absence_are_typed_errors() {
    let mut registry = ComponentRegistry::new();
    magento_kinds(&mut registry);
    named(
        &mut registry,
        ApplyOn::kind("magento").model("customer"),
        "importer",
        "a",
    );
    named(
        &mut registry,
        ApplyOn::kind("magento").model("customer"),
        "importer",
        "b",
    );
    let (ctx, db) = context("2.4", "customer", registry).await;
    let err = ctx.component::<dyn Named>("importer").err().unwrap();
    assert!(
        matches!(err, SyncError::SeveralComponents { count: 2, .. }),
        "{err:?}"
    );
    let err = ctx.component::<dyn Named>("deleter").err().unwrap();
    assert!(matches!(err, SyncError::NoComponent { .. }), "{err:?}");
    // Looking up another type under a registered usage is also absence, not a wrong type.
    let err = ctx
        .component::<dyn LocalRepository>("importer")
        .err()
        .unwrap();
    assert!(matches!(err, SyncError::NoComponent { .. }), "{err:?}");
    // Every component of a usage.
    assert_eq!(
        ctx.many_components::<dyn Named>("importer").unwrap().len(),
        2
    );
    db.cleanup().await;
}

#[tokio::test]
async fn extras_propagate_through_work_on() {
    struct ApiClient(&'static str);
    let mut registry = ComponentRegistry::new();
    magento_kinds(&mut registry);
    let (ctx, db) = context("2.4", "customer", registry).await;
    let ctx = ctx.with_extra(ApiClient("one client per run"));
    let other = ctx.work_on("product").work_on("sale.order");
    assert_eq!(
        other.extra::<ApiClient>().map(|c| c.0),
        Some("one client per run")
    );
    assert_eq!(other.backend().name, "shop");
    assert_eq!(other.origin(), Origin::Backend(other.backend().id));
    db.cleanup().await;
}

/// Records every event it receives, with the backend it listens for.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(String, EventKind, Vec<String>)>>,
}

#[async_trait]
impl Listener for Recorder {
    async fn on_record_create(
        &self,
        ctx: &WorkContext,
        _: &mut AnyConnection,
        event: &RecordEvent,
    ) -> SyncResult<()> {
        self.record(ctx, event);
        Ok(())
    }
    async fn on_record_write(
        &self,
        ctx: &WorkContext,
        _: &mut AnyConnection,
        event: &RecordEvent,
    ) -> SyncResult<()> {
        self.record(ctx, event);
        Ok(())
    }
    async fn on_record_unlink(
        &self,
        ctx: &WorkContext,
        _: &mut AnyConnection,
        event: &RecordEvent,
    ) -> SyncResult<()> {
        self.record(ctx, event);
        Ok(())
    }
}

impl Recorder {
    fn record(&self, ctx: &WorkContext, event: &RecordEvent) {
        self.seen.lock().unwrap().push((
            ctx.backend().name.clone(),
            event.kind,
            event.fields.clone(),
        ));
    }
}

#[tokio::test]
async fn events_reach_listeners_and_the_origin_rule_suppresses_the_echo() {
    for db in test_databases().await.unwrap() {
        let recorder = Arc::new(Recorder::default());
        let mut registry = ComponentRegistry::new();
        registry.add_kind(BackendKind::root("shop"));
        registry.register::<dyn Listener>(
            ApplyOn::kind("shop").model("customer"),
            "event.listener",
            recorder.clone() as Arc<dyn Listener>,
        );
        let backends = db.storage.backends();
        let a = backends.create(NewBackend::new("shop", "A")).await.unwrap();
        let _b = backends.create(NewBackend::new("shop", "B")).await.unwrap();
        let app = App::new(registry, db.storage.clone()).await.unwrap();
        let customers = DocumentRepository::create(&db.storage, "customer")
            .await
            .unwrap();
        let mut values = Values::new();
        values.insert("email".into(), json!("ada@example.com"));

        // A user's write reaches the listeners of both backends.
        let mut tx = db.storage.begin().await.unwrap();
        let mut session = app.session(&mut tx, Origin::Local);
        let id = session.create(&customers, &values).await.unwrap();
        tx.commit().await.unwrap();
        {
            let seen = recorder.seen.lock().unwrap();
            assert_eq!(seen.len(), 2, "{}: {seen:?}", db.name);
            assert!(
                seen.iter()
                    .all(|(_, kind, fields)| *kind == EventKind::Create && fields == &["email"])
            );
        }
        recorder.seen.lock().unwrap().clear();

        // A write made by an import from A reaches B only.
        let mut tx = db.storage.begin().await.unwrap();
        let mut session = app.session(&mut tx, Origin::Backend(a.id));
        let mut change = Values::new();
        change.insert("name".into(), json!("Ada"));
        session.write(&customers, id, &change).await.unwrap();
        session.unlink(&customers, id).await.unwrap();
        tx.commit().await.unwrap();
        {
            let seen = recorder.seen.lock().unwrap();
            let names: Vec<&str> = seen.iter().map(|(n, _, _)| n.as_str()).collect();
            assert_eq!(names, ["B", "B"], "{}", db.name);
            assert_eq!(seen[0].1, EventKind::Write);
            assert_eq!(seen[0].2, ["name"]);
            assert_eq!(seen[1].1, EventKind::Unlink);
        }

        // Other models do not reach a listener registered for customers.
        recorder.seen.lock().unwrap().clear();
        let products = DocumentRepository::create(&db.storage, "product")
            .await
            .unwrap();
        let mut tx = db.storage.begin().await.unwrap();
        app.session(&mut tx, Origin::Local)
            .create(&products, &values)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(recorder.seen.lock().unwrap().is_empty());
        db.cleanup().await;
    }
}

/// A listener whose failure must roll the write back (the write and its jobs are atomic).
struct Failing;

#[async_trait]
impl Listener for Failing {
    async fn on_record_create(
        &self,
        _: &WorkContext,
        _: &mut AnyConnection,
        _: &RecordEvent,
    ) -> SyncResult<()> {
        Err(SyncError::Failed("listener failed".into()))
    }
}

#[tokio::test]
async fn a_failing_listener_rolls_the_write_back() {
    for db in test_databases().await.unwrap() {
        let mut registry = ComponentRegistry::new();
        registry.add_kind(BackendKind::root("shop"));
        registry.register::<dyn Listener>(
            ApplyOn::kind("shop"),
            "event.listener",
            Arc::new(Failing) as Arc<dyn Listener>,
        );
        db.storage
            .backends()
            .create(NewBackend::new("shop", "A"))
            .await
            .unwrap();
        let app = App::new(registry, db.storage.clone()).await.unwrap();
        let customers = DocumentRepository::create(&db.storage, "customer")
            .await
            .unwrap();
        let mut tx = db.storage.begin().await.unwrap();
        let result = app
            .session(&mut tx, Origin::Local)
            .create(&customers, &Values::new())
            .await;
        assert!(result.is_err());
        drop(tx); // rolled back
        let mut conn = db.storage.pool().acquire().await.unwrap();
        assert!(
            customers
                .get(&mut conn, sync_core::LocalId(1))
                .await
                .unwrap()
                .is_none()
        );
        drop(conn);
        db.cleanup().await;
    }
}
