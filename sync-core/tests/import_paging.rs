//! Batch imports page with a keyset cursor: records modified while the run pages through the
//! window do not make it skip the others.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Value, json};
use sync_core::adapter::{BackendAdapter, Page, PageRequest, SearchQuery};
use sync_core::backend::{BackendKind, NewBackend};
use sync_core::registry::{ApplyOn, ComponentRegistry};
use sync_core::sync::{BatchFields, ImportWindow, RecordDispatch, import_batch};
use sync_core::testing::{MemoryAdapter, MemoryBackend};
use sync_core::{App, ExternalId, SyncResult, WorkContext};

/// Modifies record 1 (as a shop admin would) right after the first page was served.
struct ChangingAdapter {
    inner: MemoryAdapter,
    remote: MemoryBackend,
    pages: Mutex<u32>,
}

#[async_trait]
impl BackendAdapter for ChangingAdapter {
    async fn read(&self, id: &ExternalId) -> SyncResult<Value> {
        self.inner.read(id).await
    }
    async fn search_read(&self, query: &SearchQuery, page: PageRequest) -> SyncResult<Page<Value>> {
        let result = self.inner.search_read(query, page).await?;
        let mut pages = self.pages.lock().unwrap();
        *pages += 1;
        if *pages == 1 {
            let record = self.remote.get("customer", 1).unwrap();
            self.remote.put("customer", Some(1), record);
        }
        Ok(result)
    }
}

#[derive(Default)]
struct Collect(Mutex<Vec<String>>);

#[async_trait]
impl RecordDispatch for Collect {
    async fn dispatch(
        &self,
        _: &WorkContext,
        id: &ExternalId,
        _: Value,
        _: DateTime<Utc>,
    ) -> SyncResult<()> {
        self.0.lock().unwrap().push(id.to_string());
        Ok(())
    }
}

fn memory_time(text: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .unwrap()
        .and_utc()
}

#[tokio::test]
async fn a_record_modified_mid_run_does_not_shift_the_others_out() {
    let db = sync_core::testing::sqlite().await.unwrap();
    let remote = MemoryBackend::new();
    for i in 0..35 {
        let Value::Object(record) = json!({"email": format!("c{i}@example.com")}) else {
            unreachable!()
        };
        remote.put("customer", None, record);
    }
    let mut registry = ComponentRegistry::new();
    registry.add_kind(BackendKind::root("memory"));
    registry.register::<dyn BackendAdapter>(
        ApplyOn::kind("memory").model("customer"),
        "backend.adapter",
        Arc::new(ChangingAdapter {
            inner: remote.adapter("customer"),
            remote: remote.clone(),
            pages: Mutex::new(0),
        }),
    );
    let backend = db
        .storage
        .backends()
        .create(NewBackend::new("memory", "m"))
        .await
        .unwrap();
    let app = App::new(registry, db.storage.clone()).await.unwrap();
    let ctx = app.context(backend, "customer");

    // The window ends at the backend's "now": record 1, modified during the run, leaves it.
    let until = memory_time(&remote.now()) + chrono::Duration::seconds(1);
    let window = ImportWindow { since: None, until };
    let seen = Collect::default();
    let report = import_batch(
        &ctx,
        window,
        &BatchFields::default(),
        10,
        std::time::Duration::from_secs(300),
        &seen,
    )
    .await
    .unwrap();
    let seen = seen.0.into_inner().unwrap();
    let expected: Vec<String> = (1..=35).map(|i| i.to_string()).collect();
    assert_eq!(seen, expected, "every record once, none skipped");
    assert!(report.errors.is_empty());
    // The modified record is newer than the window: the next run starts before `until` and
    // finds it again.
    assert!(report.next_since.unwrap() < until);
    db.cleanup().await;
}

#[tokio::test]
async fn many_records_sharing_one_timestamp_are_all_read() {
    // A backend whose clock has one-second resolution stamps a bulk update with one date.
    struct SameStamp(MemoryAdapter);
    #[async_trait]
    impl BackendAdapter for SameStamp {
        async fn read(&self, id: &ExternalId) -> SyncResult<Value> {
            self.0.read(id).await
        }
        async fn search_read(
            &self,
            query: &SearchQuery,
            page: PageRequest,
        ) -> SyncResult<Page<Value>> {
            let mut query = query.clone();
            query
                .filter_groups
                .retain(|g| g.iter().all(|f| f.field != "updated_at"));
            let mut result = self.0.search_read(&query, page).await?;
            for item in &mut result.items {
                item["updated_at"] = json!("2026-01-01 00:00:00");
            }
            Ok(result)
        }
    }
    let db = sync_core::testing::sqlite().await.unwrap();
    let remote = MemoryBackend::new();
    for i in 0..25 {
        let Value::Object(record) = json!({"n": i}) else {
            unreachable!()
        };
        remote.put("customer", None, record);
    }
    let mut registry = ComponentRegistry::new();
    registry.add_kind(BackendKind::root("memory"));
    registry.register::<dyn BackendAdapter>(
        ApplyOn::kind("memory").model("customer"),
        "backend.adapter",
        Arc::new(SameStamp(remote.adapter("customer"))),
    );
    let backend = db
        .storage
        .backends()
        .create(NewBackend::new("memory", "m"))
        .await
        .unwrap();
    let app = App::new(registry, db.storage.clone()).await.unwrap();
    let ctx = app.context(backend, "customer");
    let seen = Collect::default();
    import_batch(
        &ctx,
        ImportWindow::since(None),
        &BatchFields::default(),
        10,
        std::time::Duration::ZERO,
        &seen,
    )
    .await
    .unwrap();
    let mut seen = seen.0.into_inner().unwrap();
    seen.sort_by_key(|s| s.parse::<u32>().unwrap());
    assert_eq!(seen, (1..=25).map(|i| i.to_string()).collect::<Vec<_>>());
    db.cleanup().await;
}
