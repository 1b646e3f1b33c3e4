//! Components shared by the batch tests.
#![allow(dead_code)]

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::AnyConnection;
use sync_core::batch::{ItemProcessor, ItemWriter, StepContext};
use sync_core::local::LocalRepository;
use sync_core::testing::DocumentRepository;
use sync_core::values::Values;
use sync_core::{SyncError, SyncResult};

/// A JSON object as `Values` (tests build them from `json!`).
pub fn object(value: Value) -> Values {
    match value {
        Value::Object(map) => map,
        _ => Values::new(),
    }
}

/// Filters items with `skip`, rejects items with `invalid` (record-level), passes the rest.
pub struct Rules;

#[async_trait]
impl ItemProcessor for Rules {
    async fn process(&self, _step: &mut StepContext, item: Value) -> SyncResult<Option<Value>> {
        if item.get("skip").is_some() {
            return Ok(None);
        }
        if let Some(reason) = item.get("invalid").and_then(Value::as_str) {
            let id = item.get("id").cloned().unwrap_or(Value::Null);
            return Err(SyncError::invalid_data(
                format!("customer {id}"),
                "email",
                reason,
            ));
        }
        Ok(Some(item))
    }
}

/// Copies items into the `mirror` documents on the chunk's transaction, counting each as
/// added; a `poison` item fails the chunk (record-level) after the others were written, a
/// `fatal` one fails the step.
pub struct MirrorWriter {
    pub mirror: Arc<DocumentRepository>,
}

#[async_trait]
impl ItemWriter for MirrorWriter {
    async fn write(
        &self,
        step: &mut StepContext,
        conn: &mut AnyConnection,
        items: &[Value],
    ) -> SyncResult<()> {
        for item in items {
            if item.get("fatal").is_some() {
                return Err(SyncError::Failed("remote is down".into()));
            }
            self.mirror.create(conn, &object(item.clone())).await?;
            step.counters_mut().added += 1;
        }
        if let Some(item) = items.iter().find(|i| i.get("poison").is_some()) {
            let id = item.get("id").cloned().unwrap_or(Value::Null);
            return Err(SyncError::invalid_data(
                format!("customer {id}"),
                "poison",
                "refused by the remote side",
            ));
        }
        Ok(())
    }
}

/// Imports remote customers into the local `customer` documents with the backend as
/// origin, binding them; counts added and updated.
pub struct ImportWriter {
    pub customers: Arc<DocumentRepository>,
}

#[async_trait]
impl ItemWriter for ImportWriter {
    async fn write(
        &self,
        step: &mut StepContext,
        conn: &mut AnyConnection,
        items: &[Value],
    ) -> SyncResult<()> {
        let work = step.work().clone();
        let bindings = work.storage().bindings();
        for item in items {
            let external = item
                .get("id")
                .map(|id| sync_core::ExternalId(id.to_string()))
                .ok_or_else(|| SyncError::invalid_data("remote customer", "id", "missing"))?;
            let mut values = object(item.clone());
            values.remove("id");
            values.remove("updated_at");
            let origin = sync_core::Origin::Backend(work.backend().id);
            let existing = bindings
                .by_external(conn, work.binding_scope(), &external)
                .await?;
            let local_id = match existing {
                Some(binding) => {
                    let mut session = work.app().session(&mut *conn, origin);
                    session
                        .write(self.customers.as_ref(), binding.local_id, &values)
                        .await?;
                    step.counters_mut().updated += 1;
                    binding.local_id
                }
                None => {
                    let mut session = work.app().session(&mut *conn, origin);
                    let id = session.create(self.customers.as_ref(), &values).await?;
                    step.counters_mut().added += 1;
                    id
                }
            };
            let bound = bindings
                .bind(
                    conn,
                    work.binding_scope(),
                    &external,
                    local_id,
                    chrono::Utc::now(),
                )
                .await?;
            bindings
                .set_synced_state(conn, bound.id, &sync_core::storage::SyncedState::of(values))
                .await?;
        }
        Ok(())
    }
}

/// Always fails the step (a connector whose remote side is down).
pub struct DownWriter;

#[async_trait]
impl ItemWriter for DownWriter {
    async fn write(
        &self,
        _step: &mut StepContext,
        _conn: &mut AnyConnection,
        _items: &[Value],
    ) -> SyncResult<()> {
        Err(SyncError::Network {
            message: "connection refused".into(),
            after: None,
        })
    }
}

/// Counts what it is given as updated, writing nothing.
pub struct CountWriter;

#[async_trait]
impl ItemWriter for CountWriter {
    async fn write(
        &self,
        step: &mut StepContext,
        _conn: &mut AnyConnection,
        items: &[Value],
    ) -> SyncResult<()> {
        step.counters_mut().updated += items.len() as u64;
        Ok(())
    }
}

/// The jobs of the test connector.
pub const SHOP_JOBS: &str = r#"
[jobs.customer_import]
type = "import"

[[jobs.customer_import.steps]]
name = "import"
reader = "remote_paging"
processor = "test.rules"
writer = "test.import"

[jobs.customer_export]
type = "export"

[[jobs.customer_export.steps]]
name = "export"
reader = "entity_by_id"
processor = "two_way_export"
writer = "flow_outcomes"
batch_size = 1

[jobs.customer_scan]
type = "import"

[[jobs.customer_scan.steps]]
name = "scan"
reader = "local_modified_since"
processor = "pass_through"
writer = "test.count"
parameters = { page_size = 1 }

[jobs.vip_export]
type = "export"
model = "customer"

[[jobs.vip_export.steps]]
name = "export"
reader = "entity_by_id"
processor = "pass_through"
writer = "test.down"

[jobs.order_import]
type = "import"
model = "order"

[[jobs.order_import.steps]]
name = "import"
reader = "remote_paging"
processor = "pass_through"
writer = "test.down"
"#;

/// An app with the `shop` integration type, a memory backend and local customers.
pub struct Shop {
    pub app: sync_core::App,
    pub backend: sync_core::backend::Backend,
    pub remote: sync_core::testing::MemoryBackend,
    pub customers: Arc<DocumentRepository>,
    pub queue: sync_core::queue::Queue,
    /// The faults of the remote customers.
    pub faults: RemoteFaults,
}

/// Builds the shop on a storage; `gate` decides whether connector `group` may run.
pub async fn shop(storage: &sync_core::storage::Storage) -> Shop {
    use sync_core::adapter::BackendAdapter;
    use sync_core::batch::{Connector, IntegrationType, JobCatalog, ReverseSyncListener};
    use sync_core::registry::{ApplyOn, ComponentRegistry};

    let customers = Arc::new(
        DocumentRepository::create(storage, "customer")
            .await
            .unwrap(),
    );
    let remote = sync_core::testing::MemoryBackend::new();
    let mut registry = ComponentRegistry::new();
    sync_core::batch::register_builtins(&mut registry);
    registry.register::<dyn LocalRepository>(
        ApplyOn::any().model("customer"),
        "local.repository",
        customers.clone(),
    );
    let faults = RemoteFaults::default();
    registry.register::<dyn BackendAdapter>(
        ApplyOn::kind("shop").model("customer"),
        "backend.adapter",
        Arc::new(FaultyAdapter {
            inner: remote.adapter("customer"),
            faults: faults.clone(),
        }),
    );
    registry.register::<dyn BackendAdapter>(
        ApplyOn::kind("shop").model("order"),
        "backend.adapter",
        Arc::new(remote.adapter("order")),
    );
    sync_core::batch::register_record_flows(
        &mut registry,
        ApplyOn::kind("shop").model("customer"),
        Arc::new(ShopCustomers),
    );
    registry.register::<dyn ItemProcessor>(ApplyOn::kind("shop"), "test.rules", Arc::new(Rules));
    registry.register::<dyn ItemWriter>(
        ApplyOn::kind("shop"),
        "test.import",
        Arc::new(ImportWriter {
            customers: customers.clone(),
        }),
    );
    registry.register::<dyn ItemWriter>(ApplyOn::kind("shop"), "test.down", Arc::new(DownWriter));
    registry.register::<dyn ItemWriter>(ApplyOn::kind("shop"), "test.count", Arc::new(CountWriter));
    registry.register::<dyn sync_core::local::Listener>(
        ApplyOn::kind("shop"),
        "event.listener",
        Arc::new(ReverseSyncListener),
    );
    let jobs = JobCatalog::parse("tests/shop-jobs.toml", SHOP_JOBS).unwrap();
    IntegrationType::new("shop", jobs)
        .connector(
            Connector::new("customer", "Customers", "customer", "customer_import")
                .two_way("customer_export")
                .order(10)
                .supports_force_sync(),
        )
        .connector(Connector::new("order", "Orders", "order", "order_import"))
        .connector(
            Connector::new("vip", "VIP customers", "customer", "customer_import")
                .two_way("vip_export"),
        )
        .connector(
            Connector::new("scan", "Local scan", "customer", "customer_scan").supports_force_sync(),
        )
        .connector(
            Connector::new("group", "Groups", "customer", "customer_import")
                .order(20)
                .allowed_if(|_, done| {
                    done.get("customer")
                        .is_some_and(|s| s.code == sync_core::batch::StatusCode::Completed)
                }),
        )
        .connector(
            Connector::new("never", "Never", "customer", "customer_import")
                .allowed_if(|_, done| done.contains_key("nothing")),
        )
        .register(&mut registry)
        .unwrap();
    let backend = storage
        .backends()
        .create(sync_core::backend::NewBackend::new("shop", "shop-1"))
        .await
        .unwrap();
    let app = sync_core::App::new(registry, storage.clone())
        .await
        .unwrap();
    let queue = app.queue().clone();
    let _ = faults.local.set((app.clone(), customers.clone()));
    Shop {
        app,
        backend,
        remote,
        customers,
        queue,
        faults,
    }
}

/// Asks its own job to stop when it processes an item (outside the chunk's transaction:
/// on SQLite that transaction holds the write lock).
pub struct Stopper;

#[async_trait]
impl ItemProcessor for Stopper {
    async fn process(&self, step: &mut StepContext, item: Value) -> SyncResult<Option<Value>> {
        let executions = step.storage().batch_executions();
        executions.request_stop(step.job_execution_id()).await?;
        Ok(Some(item))
    }
}

/// The shop's customer fields, the same on both sides (a missing one is `null`).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct CustomerFields {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

const CUSTOMER_FIELDS: &[&str] = &["name", "city", "phone"];

impl CustomerFields {
    /// The fields whose mapping runs for `options` (all on a create).
    fn mapped(&self, options: &sync_core::mapper::MapOptions) -> Values {
        let all = [
            ("name", &self.name),
            ("city", &self.city),
            ("phone", &self.phone),
        ];
        all.into_iter()
            .filter(|(field, _)| options.runs_for(&[field]))
            .map(|(field, value)| (field.to_owned(), Value::from(value.clone())))
            .collect()
    }
}

/// Copies the three fields (import and export alike).
pub struct CopyFields;

#[async_trait]
impl sync_core::mapper::Mapper for CopyFields {
    type Source = CustomerFields;
    type Target = CustomerFields;

    async fn map(
        &self,
        source: &CustomerFields,
        options: &sync_core::mapper::MapOptions,
        _: &sync_core::WorkContext,
    ) -> SyncResult<sync_core::mapper::MapOutput<CustomerFields>> {
        Ok(match options.changed_fields {
            None => sync_core::mapper::MapOutput::Full(source.clone()),
            Some(_) => sync_core::mapper::MapOutput::Partial(source.mapped(options)),
        })
    }

    fn changed_by_fields(&self) -> &'static [&'static str] {
        CUSTOMER_FIELDS
    }
}

/// The two-way customer sync of the shop through the record flows: found again by name
/// after an interrupted create; conflicts field by field (the integration's priority
/// overrides).
pub struct ShopCustomers;

#[async_trait]
impl sync_core::sync::ImportSpec for ShopCustomers {
    type Remote = CustomerFields;
    type Mapper = CopyFields;
    type Target = CustomerFields;

    fn mapper(&self) -> &CopyFields {
        &CopyFields
    }

    fn two_way(&self, _: &sync_core::WorkContext) -> Option<sync_core::sync::ConflictPolicy> {
        Some(sync_core::sync::ConflictPolicy::FieldMerge)
    }
}

#[async_trait]
impl sync_core::sync::ExportSpec for ShopCustomers {
    type Local = CustomerFields;
    type Mapper = CopyFields;
    type Target = CustomerFields;

    fn mapper(&self) -> &CopyFields {
        &CopyFields
    }

    async fn find_remote(
        &self,
        _: &sync_core::WorkContext,
        adapter: &dyn sync_core::adapter::BackendAdapter,
        payload: &Values,
    ) -> SyncResult<Option<sync_core::ExternalId>> {
        use sync_core::adapter::{Condition, PageRequest, SearchQuery};
        let name = payload.get("name").cloned().unwrap_or(Value::Null);
        let query = SearchQuery::new().filter("name", Condition::Eq, name);
        let page = adapter.search(&query, PageRequest::first(2)).await?;
        Ok(page.items.into_iter().next())
    }
}

/// What the remote customer adapter does wrong, keyed by the customer's name.
#[derive(Clone, Default)]
pub struct RemoteFaults {
    inner: Arc<std::sync::Mutex<FaultPlan>>,
    /// The app and local customers, for a local write made while the remote side is called.
    local: Arc<std::sync::OnceLock<(sync_core::App, Arc<DocumentRepository>)>>,
}

#[derive(Default)]
struct FaultPlan {
    /// Creates and writes of these customers are refused (invalid data).
    refused: std::collections::BTreeSet<String>,
    /// The next creates or writes of these customers answer 429 with `Retry-After: 1`.
    rate_limited: std::collections::BTreeMap<String, u32>,
    /// The next creates of these customers are carried out, then their answer is lost.
    lost_answers: std::collections::BTreeMap<String, u32>,
    /// When this customer is first written or created remotely, these values are written to
    /// the local record (a back-office change arriving while its export runs).
    local_write_during_export: Option<(String, sync_core::LocalId, Values)>,
    reads: u64,
}

impl RemoteFaults {
    fn plan(&self) -> std::sync::MutexGuard<'_, FaultPlan> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuses every create and write of customer `name` (or stops refusing it).
    pub fn refuse(&self, name: &str, refused: bool) {
        let mut plan = self.plan();
        if refused {
            plan.refused.insert(name.to_owned());
        } else {
            plan.refused.remove(name);
        }
    }

    /// Answers the next `times` creates or writes of customer `name` with a 429.
    pub fn rate_limit(&self, name: &str, times: u32) {
        self.plan().rate_limited.insert(name.to_owned(), times);
    }

    /// Carries the next `times` creates of customer `name` out, then loses their answer (the
    /// caller cannot tell whether the customer was created).
    pub fn lose_answer(&self, name: &str, times: u32) {
        self.plan().lost_answers.insert(name.to_owned(), times);
    }

    fn answer_lost(&self, name: &str) -> bool {
        match self.plan().lost_answers.get_mut(name) {
            Some(left) if *left > 0 => {
                *left -= 1;
                true
            }
            _ => false,
        }
    }

    /// Writes `values` to local customer `id` when customer `name` is sent to the remote side.
    pub fn write_locally_during_export(&self, name: &str, id: sync_core::LocalId, values: Values) {
        self.plan().local_write_during_export = Some((name.to_owned(), id, values));
    }

    /// How many remote customers were read by id.
    pub fn reads(&self) -> u64 {
        self.plan().reads
    }

    async fn before_sending(&self, name: &str) -> SyncResult<()> {
        let write = {
            let mut plan = self.plan();
            if plan.refused.contains(name) {
                return Err(SyncError::invalid_data(
                    format!("remote customer {name}"),
                    "name",
                    "refused by the remote side",
                ));
            }
            if let Some(left) = plan.rate_limited.get_mut(name)
                && *left > 0
            {
                *left -= 1;
                return Err(SyncError::Network {
                    message: "429 Too Many Requests".into(),
                    after: Some(std::time::Duration::from_secs(1)),
                });
            }
            match &plan.local_write_during_export {
                Some((who, _, _)) if who == name => plan.local_write_during_export.take(),
                _ => None,
            }
        };
        if let Some((_, id, values)) = write
            && let Some((app, customers)) = self.local.get()
        {
            let mut tx = app.storage().begin().await?;
            app.session(&mut tx, sync_core::Origin::Local)
                .write(customers.as_ref(), id, &values)
                .await?;
            tx.commit().await?;
        }
        Ok(())
    }
}

/// The memory backend's customer adapter with [`RemoteFaults`].
pub struct FaultyAdapter {
    inner: sync_core::testing::MemoryAdapter,
    faults: RemoteFaults,
}

fn name_of(values: &Values) -> String {
    values
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

#[async_trait]
impl sync_core::adapter::BackendAdapter for FaultyAdapter {
    async fn search(
        &self,
        query: &sync_core::adapter::SearchQuery,
        page: sync_core::adapter::PageRequest,
    ) -> SyncResult<sync_core::adapter::Page<sync_core::ExternalId>> {
        self.inner.search(query, page).await
    }

    async fn read(&self, id: &sync_core::ExternalId) -> SyncResult<Value> {
        self.faults.plan().reads += 1;
        self.inner.read(id).await
    }

    async fn search_read(
        &self,
        query: &sync_core::adapter::SearchQuery,
        page: sync_core::adapter::PageRequest,
    ) -> SyncResult<sync_core::adapter::Page<Value>> {
        self.inner.search_read(query, page).await
    }

    async fn create(&self, data: &Values) -> SyncResult<sync_core::ExternalId> {
        let name = name_of(data);
        self.faults.before_sending(&name).await?;
        let created = self.inner.create(data).await?;
        if self.faults.answer_lost(&name) {
            return Err(SyncError::Network {
                message: "connection closed before the answer".into(),
                after: None,
            });
        }
        Ok(created)
    }

    async fn write(&self, id: &sync_core::ExternalId, data: &Values) -> SyncResult<()> {
        let current = match self.inner.read(id).await? {
            Value::Object(record) => record,
            _ => Values::new(),
        };
        self.faults.before_sending(&name_of(&current)).await?;
        self.inner.write(id, data).await
    }

    async fn delete(&self, id: &sync_core::ExternalId) -> SyncResult<()> {
        self.inner.delete(id).await
    }
}
