//! A batch import with a stored cursor (`run_batch_import`) settles its window page by page:
//! a record that fails for good is left as an import job of its own and no longer pins the
//! cursor; a passing failure stops the window before it; a run that stopped resumes from the
//! last settled page. On SQLite and PostgreSQL.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sync_core::adapter::{BackendAdapter, Page, PageRequest, SearchQuery};
use sync_core::backend::{Backend, BackendKind, NewBackend};
use sync_core::local::LocalRepository;
use sync_core::mapper::{MapOptions, MapOutput, Mapper};
use sync_core::queue::{JobFilter, JobRegistry, JobState, Worker};
use sync_core::registry::{ApplyOn, ComponentRegistry};
use sync_core::sync::{
    BATCH_IMPORT, BatchFields, BatchImportConfig, ImportMode, ImportSpec, RECORD_IMPORTER,
    RecordImporter, SpecImporter, register_sync_jobs, run_batch_import,
};
use sync_core::testing::{DocumentRepository, MemoryAdapter, MemoryBackend, TestDatabase};
use sync_core::{App, ExternalId, SyncError, SyncResult, WorkContext};

const PAGE: u32 = 10;

/// A remote item; a `name` that is not text cannot be read (a record bad for good).
#[derive(Deserialize)]
struct RemoteItem {
    name: String,
}

#[derive(Serialize)]
struct LocalItem {
    name: String,
}

struct ItemMapper;

#[async_trait]
impl Mapper for ItemMapper {
    type Source = RemoteItem;
    type Target = LocalItem;
    async fn map(
        &self,
        source: &RemoteItem,
        _: &MapOptions,
        _: &WorkContext,
    ) -> SyncResult<MapOutput<LocalItem>> {
        Ok(MapOutput::Full(LocalItem {
            name: source.name.clone(),
        }))
    }
    fn changed_by_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
}

/// Items whose name is `offline` fail as if the network were down (a passing failure).
struct ItemImport;

#[async_trait]
impl ImportSpec for ItemImport {
    type Remote = RemoteItem;
    type Mapper = ItemMapper;
    type Target = LocalItem;
    fn mapper(&self) -> &ItemMapper {
        &ItemMapper
    }
    async fn skip_reason(
        &self,
        _: &WorkContext,
        remote: &RemoteItem,
    ) -> SyncResult<Option<String>> {
        if remote.name == "offline" {
            return Err(SyncError::Network {
                message: "the backend did not answer".into(),
                after: None,
            });
        }
        Ok(None)
    }
}

/// The memory adapter, failing every search after the first `pages_before_crash` (a crash in
/// the middle of a run) when set, and counting the records it serves.
struct CrashingAdapter {
    inner: MemoryAdapter,
    pages_before_crash: Mutex<Option<u32>>,
    pages: AtomicU32,
    served: Mutex<Vec<u64>>,
}

#[async_trait]
impl BackendAdapter for CrashingAdapter {
    async fn read(&self, id: &ExternalId) -> SyncResult<Value> {
        self.inner.read(id).await
    }
    async fn search_read(&self, query: &SearchQuery, page: PageRequest) -> SyncResult<Page<Value>> {
        let served = self.pages.fetch_add(1, Ordering::SeqCst);
        if let Some(limit) = *self.pages_before_crash.lock().unwrap()
            && served >= limit
        {
            return Err(SyncError::Failed("injected crash".into()));
        }
        let result = self.inner.search_read(query, page).await?;
        self.served
            .lock()
            .unwrap()
            .extend(result.items.iter().filter_map(|r| r["id"].as_u64()));
        Ok(result)
    }
}

struct Fixture {
    db: TestDatabase,
    remote: MemoryBackend,
    adapter: Arc<CrashingAdapter>,
    app: App,
    backend: Backend,
}

impl Fixture {
    fn ctx(&self) -> WorkContext {
        self.app.context(self.backend.clone(), "item")
    }

    async fn local_items(&self) -> i64 {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM doc_item")
            .fetch_one(self.db.storage.pool())
            .await
            .unwrap();
        n
    }

    /// Puts `n` items; the ones at the given positions (1-based) get `bad` as name.
    fn put_items(&self, n: u64, bad: &[(u64, Value)]) {
        for i in 1..=n {
            let name = bad
                .iter()
                .find(|(at, _)| *at == i)
                .map_or_else(|| json!(format!("item {i}")), |(_, v)| v.clone());
            let Value::Object(record) = json!({ "name": name }) else {
                unreachable!()
            };
            self.remote.put("item", None, record);
        }
    }

    fn served(&self) -> Vec<u64> {
        std::mem::take(&mut *self.adapter.served.lock().unwrap())
    }

    async fn import_jobs(&self, states: Vec<JobState>) -> Vec<sync_core::queue::JobRecord> {
        self.app
            .queue()
            .list_jobs(&JobFilter {
                states,
                name: Some("synckit.import_record".into()),
                ..JobFilter::default()
            })
            .await
            .unwrap()
    }
}

async fn fixture(db: TestDatabase) -> Fixture {
    let remote = MemoryBackend::new();
    let adapter = Arc::new(CrashingAdapter {
        inner: remote.adapter("item"),
        pages_before_crash: Mutex::new(None),
        pages: AtomicU32::new(0),
        served: Mutex::new(Vec::new()),
    });
    let items = DocumentRepository::create(&db.storage, "item")
        .await
        .unwrap();
    let mut registry = ComponentRegistry::new();
    registry.add_kind(BackendKind::root("memory"));
    let on = ApplyOn::kind("memory").model("item");
    registry.register::<dyn BackendAdapter>(
        on.clone(),
        "backend.adapter",
        adapter.clone() as Arc<dyn BackendAdapter>,
    );
    registry.register::<dyn LocalRepository>(
        ApplyOn::any().model("item"),
        "local.repository",
        Arc::new(items) as Arc<dyn LocalRepository>,
    );
    registry.register::<dyn RecordImporter>(
        on.clone(),
        RECORD_IMPORTER,
        Arc::new(SpecImporter(ItemImport)) as Arc<dyn RecordImporter>,
    );
    registry.register(
        on,
        BATCH_IMPORT,
        Arc::new(BatchImportConfig::new(BatchFields::default()).page_size(PAGE)),
    );
    let backend = db
        .storage
        .backends()
        .create(NewBackend::new("memory", "remote"))
        .await
        .unwrap();
    let app = App::new(registry, db.storage.clone()).await.unwrap();
    Fixture {
        db,
        remote,
        adapter,
        app,
        backend,
    }
}

#[tokio::test]
async fn a_record_bad_for_good_is_left_as_a_job_and_the_cursor_moves_past_it() {
    for db in sync_core::testing::test_databases().await.unwrap() {
        let f = fixture(db).await;
        let name = f.db.name;
        f.put_items(35, &[(17, json!(42))]);

        let report = run_batch_import(&f.ctx(), ImportMode::Direct, false)
            .await
            .unwrap();
        assert_eq!(report.dispatched, 35, "{name}");
        assert_eq!(report.errors.len(), 1, "{name}: {:?}", report.errors);
        assert_eq!(
            f.local_items().await,
            34,
            "{name}: the others were imported"
        );
        let cursors = f.db.storage.import_cursors();
        let since = cursors.since(f.backend.id, "item").await.unwrap();
        assert!(
            since.is_some(),
            "{name}: the cursor moved past the bad record"
        );
        // Stored to the microsecond.
        let expected = report
            .next_since
            .map(|t| chrono::SubsecRound::trunc_subsecs(t, 6));
        assert_eq!(expected, since, "{name}");
        assert_eq!(
            cursors.open_window(f.backend.id, "item").await.unwrap(),
            None
        );

        // The bad record is visible on its own: an import job describing the failure,
        // naming the record and the field.
        let pending = f.import_jobs(vec![JobState::Pending]).await;
        assert_eq!(pending.len(), 1, "{name}: {pending:?}");
        assert!(
            pending[0].args.contains("\"17\""),
            "{name}: {}",
            pending[0].args
        );
        let description = pending[0].description.clone().unwrap_or_default();
        assert!(
            description.contains("item 17") && description.contains("name"),
            "{name}: {description}"
        );
        // A worker runs it; it fails for good with the record and the field, retryable by
        // hand once the data is fixed.
        let mut jobs = JobRegistry::new();
        register_sync_jobs(&mut jobs);
        Worker::builder(f.app.queue().clone(), jobs)
            .data(f.app.clone())
            .build()
            .run_until_idle()
            .await
            .unwrap();
        let failed = f.import_jobs(vec![JobState::Failed]).await;
        assert_eq!(failed.len(), 1, "{name}");
        let message = failed[0].exc_message.clone().unwrap_or_default();
        assert!(
            message.contains("item 17") && message.contains("`name`"),
            "{name}: {message}"
        );

        // The next run starts after the window: nothing of it is read again.
        f.served();
        let next = run_batch_import(&f.ctx(), ImportMode::Direct, false)
            .await
            .unwrap();
        assert_eq!(next.dispatched, 0, "{name}: {:?}", f.served());
        assert!(next.errors.is_empty(), "{name}");
        f.db.cleanup().await;
    }
}

#[tokio::test]
async fn a_passing_failure_stops_the_window_before_its_page() {
    for db in sync_core::testing::test_databases().await.unwrap() {
        let f = fixture(db).await;
        let name = f.db.name;
        // Item 25 cannot be imported while the network is down: page 3 does not settle.
        // (Keyset pages after the first start at the last record of the one before, read
        // again and dropped: pages end at items 10, 19, 28…)
        f.put_items(35, &[(25, json!("offline"))]);

        let report = run_batch_import(&f.ctx(), ImportMode::Direct, false)
            .await
            .unwrap();
        assert_eq!(report.errors.len(), 1, "{name}: {:?}", report.errors);
        assert!(report.errors[0].1.is_retryable());
        let cursors = f.db.storage.import_cursors();
        assert_eq!(
            cursors.since(f.backend.id, "item").await.unwrap(),
            None,
            "{name}: the window's start did not move"
        );
        let open = cursors
            .open_window(f.backend.id, "item")
            .await
            .unwrap()
            .expect("the window stays open");
        let position = open.position.expect("pages 1 and 2 settled");
        assert_eq!(position.id, json!(19), "{name}: stopped before page 3");
        assert!(
            f.import_jobs(Vec::new()).await.is_empty(),
            "{name}: a passing failure is not left as a job"
        );

        // The network is back: the next run finishes the window from page 3, then closes it.
        let Value::Object(record) = json!({"name": "item 25"}) else {
            unreachable!()
        };
        f.remote.put("item", Some(25), record);
        f.served();
        let resumed = run_batch_import(&f.ctx(), ImportMode::Direct, false)
            .await
            .unwrap();
        assert!(resumed.errors.is_empty(), "{name}: {:?}", resumed.errors);
        let served = f.served();
        assert!(
            served.iter().all(|id| *id >= 19),
            "{name}: the settled pages are not read again: {served:?}"
        );
        assert_eq!(f.local_items().await, 35, "{name}");
        assert!(cursors.since(f.backend.id, "item").await.unwrap().is_some());
        assert_eq!(
            cursors.open_window(f.backend.id, "item").await.unwrap(),
            None
        );
        f.db.cleanup().await;
    }
}

#[tokio::test]
async fn a_run_that_crashed_resumes_from_its_last_settled_page() {
    for db in sync_core::testing::test_databases().await.unwrap() {
        let f = fixture(db).await;
        let name = f.db.name;
        f.put_items(55, &[]);
        // The run dies when it asks for page 4.
        *f.adapter.pages_before_crash.lock().unwrap() = Some(3);
        let crashed = run_batch_import(&f.ctx(), ImportMode::Direct, false).await;
        assert!(crashed.is_err(), "{name}");
        // Pages end at items 10, 19 and 28 (each keyset page after the first reads the last
        // record of the one before again, and drops it).
        assert_eq!(
            f.local_items().await,
            28,
            "{name}: the pages read were written"
        );
        let cursors = f.db.storage.import_cursors();
        let open = cursors
            .open_window(f.backend.id, "item")
            .await
            .unwrap()
            .expect("the window stays open");
        assert_eq!(open.position.map(|p| p.id), Some(json!(28)), "{name}");

        // Restarted: the run reads from page 4 on, within the same window.
        *f.adapter.pages_before_crash.lock().unwrap() = None;
        f.served();
        let resumed = run_batch_import(&f.ctx(), ImportMode::Direct, false)
            .await
            .unwrap();
        assert_eq!(resumed.dispatched, 27, "{name}");
        assert!(resumed.errors.is_empty(), "{name}: {:?}", resumed.errors);
        let served = f.served();
        assert_eq!(served.first(), Some(&28), "{name}: {served:?}");
        assert_eq!(f.local_items().await, 55, "{name}");
        assert_eq!(resumed.next_since.map(|t| t < open.until), Some(true));
        assert_eq!(
            cursors.open_window(f.backend.id, "item").await.unwrap(),
            None
        );
        f.db.cleanup().await;
    }
}
