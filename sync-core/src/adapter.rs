//! Backend adapters: CRUD on the external system.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{SyncError, SyncResult};
use crate::ids::ExternalId;
use crate::values::Values;

/// A comparison in a search filter (the conditions Magento's searchCriteria accepts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Condition {
    /// Equal.
    Eq,
    /// Not equal.
    Neq,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gteq,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lteq,
    /// In a list (comma-separated or JSON array).
    In,
    /// Not in a list.
    Nin,
    /// SQL-style `LIKE` with `%` wildcards.
    Like,
    /// Not `LIKE`.
    Nlike,
    /// Is null.
    Null,
    /// Is not null.
    Notnull,
    /// Greater than or equal (a date range's start).
    From,
    /// Less than or equal (a date range's end).
    To,
    /// In a set (multi-select attributes).
    Finset,
}

/// One condition on one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    /// The backend's field name.
    pub field: String,
    /// The comparison.
    pub condition: Condition,
    /// The value compared with.
    pub value: Value,
}

/// A search: filter groups ANDed together, the filters of a group ORed, and a sort order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchQuery {
    /// AND of groups; each group is an OR of filters.
    pub filter_groups: Vec<Vec<Filter>>,
    /// Sort fields, ascending when `true`.
    pub sort: Vec<(String, bool)>,
}

impl SearchQuery {
    /// A search for everything.
    pub fn new() -> Self {
        SearchQuery::default()
    }

    /// ANDs one condition.
    pub fn filter(mut self, field: &str, condition: Condition, value: impl Into<Value>) -> Self {
        self.filter_groups.push(vec![Filter {
            field: field.to_owned(),
            condition,
            value: value.into(),
        }]);
        self
    }

    /// ANDs a group of ORed conditions.
    pub fn any_of(mut self, filters: Vec<Filter>) -> Self {
        self.filter_groups.push(filters);
        self
    }

    /// Adds a sort field.
    pub fn sort_by(mut self, field: &str, ascending: bool) -> Self {
        self.sort.push((field.to_owned(), ascending));
        self
    }
}

/// Which page of results to fetch: 1-based page number and page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// Page number, from 1.
    pub number: u32,
    /// Items per page.
    pub size: u32,
}

impl PageRequest {
    /// The first page of `size` items.
    pub fn first(size: u32) -> Self {
        PageRequest { number: 1, size }
    }

    /// The page after this one.
    pub fn next(self) -> Self {
        PageRequest {
            number: self.number + 1,
            size: self.size,
        }
    }
}

/// One page of search results and where to go next.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The total number of matches, when the backend tells.
    pub total: Option<u64>,
    /// The next page, or `None` on the last one.
    pub next: Option<PageRequest>,
}

impl<T> Page<T> {
    /// The next page request, computed from the total when known, else from a short page.
    ///
    /// Relying on the total as well as on a short page matters: Magento 2.3 answers a page
    /// past the end with the last page again, so "a non-empty page" never ends a loop.
    pub fn next_of(request: PageRequest, items: Vec<T>, total: Option<u64>) -> Self {
        let seen = u64::from(request.number) * u64::from(request.size);
        let more = match total {
            Some(total) => seen < total && !items.is_empty(),
            None => items.len() as u64 == u64::from(request.size) && !items.is_empty(),
        };
        Page {
            items,
            total,
            next: more.then(|| request.next()),
        }
    }
}

/// CRUD on one model of the backend, in the backend's own field names.
///
/// Methods a backend does not support keep their default, which fails with a message naming
/// the operation.
#[async_trait]
pub trait BackendAdapter: Send + Sync {
    /// The ids of the records matching `query`, one page at a time.
    async fn search(&self, query: &SearchQuery, page: PageRequest) -> SyncResult<Page<ExternalId>> {
        let _ = (query, page);
        Err(unsupported("search"))
    }

    /// One record by id; [`SyncError::IdMissingInBackend`] when it does not exist.
    async fn read(&self, id: &ExternalId) -> SyncResult<Value>;

    /// The records matching `query`, one page at a time.
    async fn search_read(&self, query: &SearchQuery, page: PageRequest) -> SyncResult<Page<Value>> {
        let _ = (query, page);
        Err(unsupported("search_read"))
    }

    /// Creates a record and returns its id.
    async fn create(&self, data: &Values) -> SyncResult<ExternalId> {
        let _ = data;
        Err(unsupported("create"))
    }

    /// Writes fields of a record.
    async fn write(&self, id: &ExternalId, data: &Values) -> SyncResult<()> {
        let _ = (id, data);
        Err(unsupported("write"))
    }

    /// Deletes a record.
    async fn delete(&self, id: &ExternalId) -> SyncResult<()> {
        let _ = id;
        Err(unsupported("delete"))
    }
}

fn unsupported(operation: &str) -> SyncError {
    SyncError::Failed(format!(
        "this backend adapter does not support `{operation}`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_stops_on_total_even_when_pages_repeat() {
        let page = Page::next_of(PageRequest::first(2), vec![1, 2], Some(4));
        assert_eq!(page.next, Some(PageRequest { number: 2, size: 2 }));
        let last = Page::next_of(PageRequest { number: 2, size: 2 }, vec![3, 4], Some(4));
        assert_eq!(last.next, None);
        let unknown = Page::next_of(PageRequest::first(2), vec![1], None);
        assert_eq!(unknown.next, None);
    }
}
