//! Keyset paging through the records of a window, by `(updated, id)`.
//!
//! Offset paging over a set that changes while it is read skips records: a record modified
//! meanwhile leaves its place (its `updated` moves to the end) and every later record shifts
//! one place back, so the next page starts one record too far. A keyset cursor does not:
//! each page asks for the records modified at or after the last one seen, sorted by
//! `(updated, id)`, and drops those not past the cursor. It also does not depend on how a
//! backend answers a page past the end (Magento 2.3 repeats the last page).

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::batch_importer::BatchFields;
use crate::adapter::{Condition, Page, PageRequest, SearchQuery};

/// A place in a keyset-paged window: the `(updated, id)` of a record, as the backend gave
/// them. Paging resumed after it ([`KeysetPager::resume_after`]) reads the records sorted
/// after it and skips none.
#[derive(Debug, Clone, PartialEq)]
pub struct KeysetPosition {
    /// The record's modification date, as text (empty for models without one).
    pub updated: String,
    /// The record's id.
    pub id: Value,
}

/// Pages through the records whose `fields.updated` lies in `[since, until)`, one search at a
/// time: ask [`KeysetPager::next_request`] for the search, fetch it, hand the page to
/// [`KeysetPager::take_page`], which returns the records not seen yet.
#[derive(Debug, Clone)]
pub struct KeysetPager {
    fields: BatchFields,
    since: Option<String>,
    until: Option<String>,
    page_size: u32,
    /// The `(updated, id)` of the last record of the last page that moved the cursor.
    cursor: Option<(String, Value)>,
    /// 1 while keyset paging; more while stepping through records that all share the
    /// cursor's date (a page of them cannot move the cursor).
    page_number: u32,
    done: bool,
}

impl KeysetPager {
    /// A pager over the records modified in `[since, until)` (either bound open), in pages
    /// of `page_size`. Records without a modification date (`fields.updated` is `None`) are
    /// paged by id alone.
    pub fn new(
        fields: BatchFields,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        page_size: u32,
    ) -> Self {
        KeysetPager {
            fields,
            since: since.map(format_time),
            until: until.map(format_time),
            page_size: page_size.max(1),
            cursor: None,
            page_number: 1,
            done: false,
        }
    }

    /// Resumes paging after `position` (e.g. the last record of the last page a stopped run
    /// settled): the records sorted after it are read, those at or before it are not.
    pub fn resume_after(mut self, position: KeysetPosition) -> Self {
        self.cursor = Some((position.updated, position.id));
        self.page_number = 1;
        self
    }

    /// The fields that date and identify the records.
    pub fn fields(&self) -> &BatchFields {
        &self.fields
    }

    /// The keyset position of `record` (a record of a page this pager read).
    pub fn position_of(&self, record: &Value) -> KeysetPosition {
        KeysetPosition {
            updated: self
                .fields
                .updated
                .as_ref()
                .map_or_else(String::new, |field| text(record.get(field))),
            id: record.get(&self.fields.id).cloned().unwrap_or(Value::Null),
        }
    }

    /// The search of the next page, or `None` when every page was read.
    pub fn next_request(&self) -> Option<(SearchQuery, PageRequest)> {
        if self.done {
            return None;
        }
        let mut query = SearchQuery::new();
        if let Some(updated) = &self.fields.updated {
            let from = self
                .cursor
                .as_ref()
                .map(|(updated, _)| updated.clone())
                .or_else(|| self.since.clone());
            if let Some(from) = from {
                query = query.filter(updated, Condition::Gteq, from);
            }
            if let Some(until) = &self.until {
                query = query.filter(updated, Condition::Lt, until.clone());
            }
            query = query.sort_by(updated, true);
        } else if let Some((_, last_id)) = &self.cursor {
            query = query.filter(&self.fields.id, Condition::Gt, last_id.clone());
        }
        let request = PageRequest {
            number: self.page_number,
            size: self.page_size,
        };
        Some((query.sort_by(&self.fields.id, true), request))
    }

    /// Takes the page answering the last [`KeysetPager::next_request`]: returns its records
    /// not seen on an earlier page and moves the cursor past them.
    pub fn take_page(&mut self, page: Page<Value>) -> Vec<Value> {
        let no_date = String::new();
        let updated_field = self.fields.updated.as_ref().unwrap_or(&no_date);
        let Some(last) = page.items.last() else {
            self.done = true;
            return Vec::new();
        };
        let last_key = (
            text(last.get(updated_field)),
            last.get(&self.fields.id).cloned().unwrap_or(Value::Null),
        );
        let has_next = page.next.is_some();
        let cursor = self.cursor.clone();
        let id_field = &self.fields.id;
        let fresh = page
            .items
            .into_iter()
            .filter(|record| match &cursor {
                Some((cursor_updated, cursor_id)) => {
                    let id = record.get(id_field).unwrap_or(&Value::Null);
                    text(record.get(updated_field)) != *cursor_updated
                        || compare_ids(id, cursor_id) == Ordering::Greater
                }
                None => true,
            })
            .collect();
        if !has_next {
            self.done = true;
            return fresh;
        }
        // A page whose records all share the cursor's date cannot move the cursor: step
        // through that date with offsets instead, then resume keyset paging.
        match &self.cursor {
            Some((cursor_updated, _))
                if self.fields.updated.is_some() && *cursor_updated == last_key.0 =>
            {
                self.page_number += 1
            }
            _ => self.page_number = 1,
        }
        if self.page_number == 1 {
            self.cursor = Some(last_key);
        }
        fresh
    }
}

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// Numeric ids compare as numbers (`9 < 10`), others as text.
fn compare_ids(a: &Value, b: &Value) -> Ordering {
    let number = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok(),
        _ => None,
    };
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => text(Some(a)).cmp(&text(Some(b))),
    }
}

/// Backends filter on text dates; this is the `YYYY-MM-DD HH:MM:SS` UTC form most use.
fn format_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::adapter::BackendAdapter;
    use crate::testing::MemoryBackend;

    fn put(remote: &MemoryBackend, id: Option<u64>, email: &str) {
        let Value::Object(record) = json!({ "email": email }) else {
            unreachable!()
        };
        remote.put("customer", id, record);
    }

    /// Reads every page, modifying record 1 after the first one (it moves to the end).
    async fn read_all(pager: &mut KeysetPager, remote: &MemoryBackend) -> Vec<u64> {
        let adapter = remote.adapter("customer");
        let mut seen = Vec::new();
        let mut pages = 0;
        while let Some((query, request)) = pager.next_request() {
            let page = adapter.search_read(&query, request).await.unwrap();
            seen.extend(
                pager
                    .take_page(page)
                    .iter()
                    .filter_map(|r| r["id"].as_u64()),
            );
            pages += 1;
            if pages == 1 {
                put(remote, Some(1), "changed@example.com");
            }
        }
        seen
    }

    #[tokio::test]
    async fn a_record_modified_mid_read_shifts_no_other_out() {
        let remote = MemoryBackend::new();
        for i in 0..35 {
            put(&remote, None, &format!("c{i}@example.com"));
        }
        let mut pager = KeysetPager::new(BatchFields::default(), None, None, 10);
        let mut seen = read_all(&mut pager, &remote).await;
        // Record 1 is read again at the end (it changed); nobody is skipped.
        assert_eq!(seen.last(), Some(&1));
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen, (1..=35).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn paging_resumed_after_a_position_reads_the_records_after_it_only() {
        let remote = MemoryBackend::new();
        for i in 0..25 {
            put(&remote, None, &format!("c{i}@example.com"));
        }
        let adapter = remote.adapter("customer");
        let mut first = KeysetPager::new(BatchFields::default(), None, None, 10);
        let (query, request) = first.next_request().unwrap();
        let page = first.take_page(adapter.search_read(&query, request).await.unwrap());
        let position = first.position_of(page.last().unwrap());
        assert_eq!(position.id, json!(10));

        let mut resumed =
            KeysetPager::new(BatchFields::default(), None, None, 10).resume_after(position);
        let mut seen = Vec::new();
        while let Some((query, request)) = resumed.next_request() {
            let page = adapter.search_read(&query, request).await.unwrap();
            seen.extend(
                resumed
                    .take_page(page)
                    .iter()
                    .filter_map(|r| r["id"].as_u64()),
            );
        }
        assert_eq!(seen, (11..=25).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn undated_records_are_paged_by_id() {
        let remote = MemoryBackend::new();
        for i in 0..25 {
            put(&remote, None, &format!("c{i}@example.com"));
        }
        let mut pager = KeysetPager::new(BatchFields::undated("id"), None, None, 10);
        let seen = read_all(&mut pager, &remote).await;
        assert_eq!(seen, (1..=25).collect::<Vec<_>>(), "each once, in id order");
    }
}
