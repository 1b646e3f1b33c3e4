//! The built-in readers and the pass-through processor, registered by
//! [`register_builtins`] for every backend kind and model:
//!
//! | usage | what it reads | parameters |
//! |---|---|---|
//! | `entity_by_id` | local records by id, ids from the run (`id`, `ids`) | — |
//! | `remote_paging` | remote records page by page, changed since the cursor | `since_field` (default `updated_at`), `page_size` (default 100), `overlap_secs` |
//! | `local_modified_since` | local records modified since the cursor | `page_size`, `overlap_secs` |
//! | `pass_through` (processor) | the item unchanged | — |
//! | `flow_outcomes` (writer) | nothing: see [`FlowOutcomes`](super::FlowOutcomes) | — |
//!
//! The two incremental readers keep their cursor in the connector's status data (see
//! [`StepContext::set_status_data`]): the next run starts from the cursor of the last
//! **completed** run minus an overlap for clock skew (the integration's `overlap_secs`, the
//! step's `overlap_secs`, else 5 minutes); a forced run (`force = true`) reads everything.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use super::components::{ItemProcessor, ItemReader, ItemStream, ItemWriter};
use super::context::StepContext;
use super::integration::DEFAULT_OVERLAP;
use super::record_flows::{FLOW_OUTCOMES, FlowOutcomes};
use crate::adapter::BackendAdapter;
use crate::error::{SyncError, SyncResult};
use crate::ids::LocalId;
use crate::local::LocalRepository;
use crate::registry::{ApplyOn, ComponentRegistry};
use crate::sync::{BatchFields, KeysetPager};

/// The usage of the local repositories the readers use.
pub const LOCAL_REPOSITORY_USAGE: &str = "local.repository";
/// The usage of the backend adapters the remote reader uses.
pub const BACKEND_ADAPTER_USAGE: &str = "backend.adapter";
/// The usage of [`EntityByIdReader`].
pub const ENTITY_BY_ID: &str = "entity_by_id";
/// The usage of [`RemotePagingReader`].
pub const REMOTE_PAGING: &str = "remote_paging";
/// The usage of [`LocalModifiedSinceReader`].
pub const LOCAL_MODIFIED_SINCE: &str = "local_modified_since";
/// The usage of [`PassThrough`].
pub const PASS_THROUGH: &str = "pass_through";
/// The status-data key of [`RemotePagingReader`]'s cursor.
pub const REMOTE_CURSOR: &str = "last_sync_at";
/// The status-data key of [`LocalModifiedSinceReader`]'s cursor.
pub const LOCAL_CURSOR: &str = "last_local_sync_at";

/// Registers the built-in readers, processor and writer for any backend kind and model.
pub fn register_builtins(registry: &mut ComponentRegistry) {
    registry.register::<dyn ItemReader>(ApplyOn::any(), ENTITY_BY_ID, Arc::new(EntityByIdReader));
    registry.register::<dyn ItemReader>(
        ApplyOn::any(),
        REMOTE_PAGING,
        Arc::new(RemotePagingReader),
    );
    registry.register::<dyn ItemReader>(
        ApplyOn::any(),
        LOCAL_MODIFIED_SINCE,
        Arc::new(LocalModifiedSinceReader),
    );
    registry.register::<dyn ItemProcessor>(ApplyOn::any(), PASS_THROUGH, Arc::new(PassThrough));
    registry.register::<dyn ItemWriter>(ApplyOn::any(), FLOW_OUTCOMES, Arc::new(FlowOutcomes));
}

/// Returns each item unchanged.
#[derive(Debug, Clone, Copy, Default)]
pub struct PassThrough;

#[async_trait]
impl ItemProcessor for PassThrough {
    async fn process(&self, _step: &mut StepContext, item: Value) -> SyncResult<Option<Value>> {
        Ok(Some(item))
    }
}

/// Reads local records by id (Oro's `oro_integration.reader.entity.by_id`): the ids come
/// from the run's `id` and `ids` parameters. Each item is the record's fields plus `id`.
/// A record that no longer exists is a warning, not a failure.
#[derive(Debug, Clone, Copy, Default)]
pub struct EntityByIdReader;

#[async_trait]
impl ItemReader for EntityByIdReader {
    async fn open(&self, step: &mut StepContext) -> SyncResult<Box<dyn ItemStream>> {
        let ids = step.entity_ids()?;
        let repository = step
            .work()
            .component_for::<dyn LocalRepository>(step.local_model(), LOCAL_REPOSITORY_USAGE)?;
        Ok(Box::new(ByIdStream {
            repository,
            ids: ids.into_iter(),
        }))
    }
}

struct ByIdStream {
    repository: Arc<dyn LocalRepository>,
    ids: std::vec::IntoIter<LocalId>,
}

#[async_trait]
impl ItemStream for ByIdStream {
    async fn next(&mut self, step: &mut StepContext) -> SyncResult<Option<Value>> {
        let Some(id) = self.ids.next() else {
            return Ok(None);
        };
        let mut conn = step.storage().pool().acquire().await?;
        match self.repository.get(&mut conn, id).await? {
            Some(record) => Ok(Some(with_id(record, id))),
            None => Err(SyncError::invalid_data(
                format!("{} {id}", self.repository.model()),
                "id",
                "no such record",
            )),
        }
    }
}

fn with_id(mut record: crate::values::Values, id: LocalId) -> Value {
    record.insert("id".into(), Value::from(id.0));
    Value::Object(record)
}

/// The overlap for a step: the step's `overlap_secs`, else the integration's, else 5 min.
fn overlap(step: &StepContext) -> Duration {
    if let Some(secs) = step.parameter("overlap_secs").and_then(Value::as_u64) {
        return Duration::from_secs(secs);
    }
    step.integration()
        .map_or(DEFAULT_OVERLAP, |integration| integration.overlap())
}

fn page_size(step: &StepContext) -> u32 {
    step.parameter("page_size")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n > 0)
        .unwrap_or(100)
}

/// A cursor's start: the previous cursor minus the overlap, or `None` for a full read.
fn start_from(step: &StepContext, key: &str) -> Option<DateTime<Utc>> {
    if step.is_forced() {
        return None;
    }
    let previous = parse_time(step.previous_status_data(key)?)?;
    let overlap = chrono::Duration::from_std(overlap(step)).unwrap_or_default();
    Some(previous - overlap)
}

/// Reads an RFC 3339 or `YYYY-MM-DD HH:MM:SS` (UTC, Magento's format) timestamp.
pub fn parse_time(value: &Value) -> Option<DateTime<Utc>> {
    let text = value.as_str()?;
    DateTime::parse_from_rfc3339(text)
        .map(|d| d.to_utc())
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// Formats a cursor the way remote filters and humans read it: `YYYY-MM-DD HH:MM:SS` UTC.
pub fn format_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Reads remote records changed since the cursor, page by page with bounded memory, through
/// the model's [`BackendAdapter`], with a keyset cursor on `(since_field, id_field)` (step
/// parameters, default `updated_at` and `id`): a record modified while the step pages cannot
/// shift another one out of the read, as page numbers would. The new cursor is the greatest
/// `since_field` value read, capped at now; with nothing read the previous cursor is kept.
#[derive(Debug, Clone, Copy, Default)]
pub struct RemotePagingReader;

#[async_trait]
impl ItemReader for RemotePagingReader {
    async fn open(&self, step: &mut StepContext) -> SyncResult<Box<dyn ItemStream>> {
        let adapter = step
            .work()
            .component::<dyn BackendAdapter>(BACKEND_ADAPTER_USAGE)?;
        let field = step
            .parameter("since_field")
            .and_then(Value::as_str)
            .unwrap_or("updated_at")
            .to_owned();
        let id_field = step
            .parameter("id_field")
            .and_then(Value::as_str)
            .unwrap_or("id")
            .to_owned();
        let since = start_from(step, REMOTE_CURSOR);
        if let Some(previous) = step.previous_status_data(REMOTE_CURSOR).cloned() {
            // Kept when nothing newer is read, so an empty run does not lose the cursor.
            step.set_status_data(REMOTE_CURSOR, previous);
        }
        let pager = KeysetPager::new(
            BatchFields::new(&field, &id_field),
            since,
            None,
            page_size(step),
        );
        Ok(Box::new(RemoteStream {
            adapter,
            pager,
            field,
            buffer: Vec::new().into_iter(),
            now: Utc::now(),
        }))
    }
}

struct RemoteStream {
    adapter: Arc<dyn BackendAdapter>,
    pager: KeysetPager,
    field: String,
    buffer: std::vec::IntoIter<Value>,
    now: DateTime<Utc>,
}

#[async_trait]
impl ItemStream for RemoteStream {
    async fn next(&mut self, step: &mut StepContext) -> SyncResult<Option<Value>> {
        loop {
            if let Some(item) = self.buffer.next() {
                if let Some(at) = item.get(&self.field).and_then(parse_time) {
                    let at = at.min(self.now);
                    let newer = step
                        .status_data(REMOTE_CURSOR)
                        .and_then(parse_time)
                        .is_none_or(|current| at > current);
                    if newer {
                        step.set_status_data(REMOTE_CURSOR, format_time(at));
                    }
                }
                return Ok(Some(item));
            }
            let Some((query, request)) = self.pager.next_request() else {
                return Ok(None);
            };
            let page = self.adapter.search_read(&query, request).await?;
            self.buffer = self.pager.take_page(page).into_iter();
        }
    }
}

/// Reads local records modified since the cursor, in id order with keyset paging. The new
/// cursor is the time the read started, so a record changed during the run is read again
/// next time rather than missed.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalModifiedSinceReader;

#[async_trait]
impl ItemReader for LocalModifiedSinceReader {
    async fn open(&self, step: &mut StepContext) -> SyncResult<Box<dyn ItemStream>> {
        let repository = step
            .work()
            .component_for::<dyn LocalRepository>(step.local_model(), LOCAL_REPOSITORY_USAGE)?;
        let since = start_from(step, LOCAL_CURSOR).unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        // Our own clock: keep microseconds so that the overlap alone decides what is re-read.
        let started = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        step.set_status_data(LOCAL_CURSOR, started);
        Ok(Box::new(LocalStream {
            repository,
            since,
            after: None,
            page_size: page_size(step),
            buffer: Vec::new().into_iter(),
            done: false,
        }))
    }
}

struct LocalStream {
    repository: Arc<dyn LocalRepository>,
    since: DateTime<Utc>,
    after: Option<LocalId>,
    page_size: u32,
    buffer: std::vec::IntoIter<LocalId>,
    done: bool,
}

#[async_trait]
impl ItemStream for LocalStream {
    async fn next(&mut self, step: &mut StepContext) -> SyncResult<Option<Value>> {
        loop {
            if let Some(id) = self.buffer.next() {
                self.after = Some(id);
                let mut conn = step.storage().pool().acquire().await?;
                // A record deleted since it was listed is simply gone: read the next one.
                if let Some(record) = self.repository.get(&mut conn, id).await? {
                    return Ok(Some(with_id(record, id)));
                }
                continue;
            }
            if self.done {
                return Ok(None);
            }
            let mut conn = step.storage().pool().acquire().await?;
            let ids = self
                .repository
                .modified_since(&mut conn, self.since, self.after, self.page_size)
                .await?;
            self.done = ids.len() < self.page_size as usize;
            self.buffer = ids.into_iter();
        }
    }
}
