//! An in-memory backend, for tests and examples that need a remote side without a server.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use serde_json::Value;

use crate::adapter::{BackendAdapter, Condition, Filter, Page, PageRequest, SearchQuery};
use crate::error::{SyncError, SyncResult};
use crate::ids::ExternalId;
use crate::values::Values;

#[derive(Debug, Default)]
struct Tables {
    records: BTreeMap<String, BTreeMap<u64, Values>>,
    next_id: u64,
    creates: u64,
    writes: u64,
    clock: u64,
}

/// A remote system held in memory: models of JSON records with integer ids, an
/// `updated_at` maintained on every write (`YYYY-MM-DD HH:MM:SS`, one second per write from
/// a fixed start, so tests are deterministic), and counters of creates and writes.
#[derive(Debug, Clone, Default)]
pub struct MemoryBackend {
    tables: Arc<Mutex<Tables>>,
}

impl MemoryBackend {
    /// An empty backend.
    pub fn new() -> Self {
        MemoryBackend::default()
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        // A panic in another test thread must not hide this test's own result.
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Inserts or replaces a record as an admin would, stamping `updated_at`; returns its id.
    pub fn put(&self, model: &str, id: Option<u64>, mut record: Values) -> u64 {
        let mut tables = self.lock();
        let id = id.unwrap_or_else(|| {
            tables.next_id += 1;
            tables.next_id
        });
        tables.next_id = tables.next_id.max(id);
        tables.clock += 1;
        let stamp = stamp(tables.clock);
        record.insert("id".into(), Value::from(id));
        record.insert("updated_at".into(), Value::from(stamp));
        tables
            .records
            .entry(model.to_owned())
            .or_default()
            .insert(id, record);
        id
    }

    /// A record by id.
    pub fn get(&self, model: &str, id: u64) -> Option<Values> {
        self.lock().records.get(model)?.get(&id).cloned()
    }

    /// How many records a model has.
    pub fn count(&self, model: &str) -> usize {
        self.lock().records.get(model).map_or(0, BTreeMap::len)
    }

    /// How many creates and writes adapters made.
    pub fn calls(&self) -> (u64, u64) {
        let tables = self.lock();
        (tables.creates, tables.writes)
    }

    /// The backend's current clock, as an `updated_at` text.
    pub fn now(&self) -> String {
        stamp(self.lock().clock)
    }

    /// The adapter of one model.
    pub fn adapter(&self, model: &str) -> MemoryAdapter {
        MemoryAdapter {
            backend: self.clone(),
            model: model.to_owned(),
        }
    }
}

fn stamp(clock: u64) -> String {
    let start = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .map(|d| d.to_utc())
        .unwrap_or_default();
    let at = start + chrono::Duration::seconds(i64::try_from(clock).unwrap_or(i64::MAX / 2));
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The [`BackendAdapter`] of one model of a [`MemoryBackend`].
#[derive(Debug, Clone)]
pub struct MemoryAdapter {
    backend: MemoryBackend,
    model: String,
}

impl MemoryAdapter {
    fn parse_id(&self, id: &ExternalId) -> SyncResult<u64> {
        id.as_str()
            .parse()
            .map_err(|_| SyncError::IdMissingInBackend {
                model: self.model.clone(),
                id: id.to_string(),
            })
    }

    fn matching(&self, query: &SearchQuery) -> Vec<Values> {
        let tables = self.backend.lock();
        let mut found: Vec<Values> = tables
            .records
            .get(&self.model)
            .into_iter()
            .flat_map(|t| t.values())
            .filter(|r| {
                query
                    .filter_groups
                    .iter()
                    .all(|group| group.iter().any(|f| matches(r, f)))
            })
            .cloned()
            .collect();
        for (field, ascending) in query.sort.iter().rev() {
            found.sort_by(|a, b| {
                let order = compare(a.get(field), b.get(field));
                if *ascending { order } else { order.reverse() }
            });
        }
        found
    }
}

fn compare(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(std::cmp::Ordering::Equal),
        (Some(x), Some(y)) => x.to_string().cmp(&y.to_string()),
        (a, b) => a.is_some().cmp(&b.is_some()),
    }
}

fn matches(record: &Values, filter: &Filter) -> bool {
    use std::cmp::Ordering::*;
    let value = record.get(&filter.field);
    let ord = || compare(value, Some(&filter.value));
    match filter.condition {
        Condition::Eq => ord() == Equal,
        Condition::Neq => ord() != Equal,
        Condition::Gt => ord() == Greater,
        Condition::Gteq | Condition::From => ord() != Less,
        Condition::Lt => ord() == Less,
        Condition::Lteq | Condition::To => ord() != Greater,
        Condition::Null => value.is_none_or(Value::is_null),
        Condition::Notnull => value.is_some_and(|v| !v.is_null()),
        Condition::In | Condition::Nin | Condition::Finset => {
            let list: Vec<String> = match &filter.value {
                Value::Array(items) => items.iter().map(plain).collect(),
                other => plain(other).split(',').map(str::to_owned).collect(),
            };
            let inside = value.is_some_and(|v| list.contains(&plain(v)));
            inside != (filter.condition == Condition::Nin)
        }
        Condition::Like | Condition::Nlike => {
            let pattern = plain(&filter.value).replace('%', "");
            let hit = value.is_some_and(|v| plain(v).contains(&pattern));
            hit != (filter.condition == Condition::Nlike)
        }
    }
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[async_trait]
impl BackendAdapter for MemoryAdapter {
    async fn search(&self, query: &SearchQuery, page: PageRequest) -> SyncResult<Page<ExternalId>> {
        let page = self.search_read(query, page).await?;
        Ok(Page {
            items: page
                .items
                .iter()
                .filter_map(|r| r.get("id").map(|id| ExternalId(plain(id))))
                .collect(),
            total: page.total,
            next: page.next,
        })
    }

    async fn read(&self, id: &ExternalId) -> SyncResult<Value> {
        let key = self.parse_id(id)?;
        self.backend
            .get(&self.model, key)
            .map(Value::Object)
            .ok_or_else(|| SyncError::IdMissingInBackend {
                model: self.model.clone(),
                id: id.to_string(),
            })
    }

    async fn search_read(&self, query: &SearchQuery, page: PageRequest) -> SyncResult<Page<Value>> {
        let all = self.matching(query);
        let total = all.len() as u64;
        let start = (page.number.saturating_sub(1) as usize).saturating_mul(page.size as usize);
        let items = all
            .into_iter()
            .skip(start)
            .take(page.size as usize)
            .map(Value::Object)
            .collect();
        Ok(Page::next_of(page, items, Some(total)))
    }

    async fn create(&self, data: &Values) -> SyncResult<ExternalId> {
        let id = self.backend.put(&self.model, None, data.clone());
        self.backend.lock().creates += 1;
        Ok(ExternalId::from(id.to_string()))
    }

    async fn write(&self, id: &ExternalId, data: &Values) -> SyncResult<()> {
        let key = self.parse_id(id)?;
        let mut record =
            self.backend
                .get(&self.model, key)
                .ok_or_else(|| SyncError::IdMissingInBackend {
                    model: self.model.clone(),
                    id: id.to_string(),
                })?;
        for (field, value) in data {
            record.insert(field.clone(), value.clone());
        }
        self.backend.put(&self.model, Some(key), record);
        self.backend.lock().writes += 1;
        Ok(())
    }

    async fn delete(&self, id: &ExternalId) -> SyncResult<()> {
        let key = self.parse_id(id)?;
        let removed = self
            .backend
            .lock()
            .records
            .get_mut(&self.model)
            .and_then(|t| t.remove(&key));
        match removed {
            Some(_) => Ok(()),
            None => Err(SyncError::IdMissingInBackend {
                model: self.model.clone(),
                id: id.to_string(),
            }),
        }
    }
}
