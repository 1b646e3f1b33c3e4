//! The batch import flow: every record changed in a window, with keyset paging.

use std::cmp::Ordering;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::Value;

use super::components::{RECORD_IMPORTER, adapter_for};
use super::importer::{ImportOutcome, RecordImporter};
use crate::adapter::{Condition, PageRequest, SearchQuery};
use crate::context::WorkContext;
use crate::error::{SyncError, SyncResult};
use crate::ids::ExternalId;

/// The window of modification dates a batch import covers: `[since, until)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportWindow {
    /// Start (inclusive); `None` imports everything.
    pub since: Option<DateTime<Utc>>,
    /// End (exclusive), usually "now" when the run starts.
    pub until: DateTime<Utc>,
}

impl ImportWindow {
    /// The window from `since` to now.
    pub fn since(since: Option<DateTime<Utc>>) -> Self {
        ImportWindow {
            since,
            until: Utc::now(),
        }
    }
}

/// Which fields of the remote records drive a batch import.
#[derive(Debug, Clone)]
pub struct BatchFields {
    /// The modification date (`updated_at`; `created_at` for records that never change);
    /// `None` for models without one (e.g. Magento's customer groups), which are imported
    /// whole every time.
    pub updated: Option<String>,
    /// The record id, the tie-breaker of the sort and the external id.
    pub id: String,
}

impl BatchFields {
    /// Records keyed by `id` and dated by `updated`.
    pub fn new(updated: &str, id: &str) -> Self {
        BatchFields {
            updated: Some(updated.to_owned()),
            id: id.to_owned(),
        }
    }

    /// Records without a modification date, keyed by `id`.
    pub fn undated(id: &str) -> Self {
        BatchFields {
            updated: None,
            id: id.to_owned(),
        }
    }
}

impl Default for BatchFields {
    fn default() -> Self {
        BatchFields::new("updated_at", "id")
    }
}

/// How a batch import hands each record over: import it now, or delay a job.
#[async_trait]
pub trait RecordDispatch: Send + Sync {
    /// Handles one record found in the window; `record` is its data from the search page,
    /// read at `read_at`.
    async fn dispatch(
        &self,
        ctx: &WorkContext,
        external_id: &ExternalId,
        record: Value,
        read_at: DateTime<Utc>,
    ) -> SyncResult<()>;

    /// Handles a page of records read at `read_at`; returns the records that failed, with
    /// their errors. The default dispatches them one by one.
    async fn dispatch_page(
        &self,
        ctx: &WorkContext,
        records: Vec<(ExternalId, Value)>,
        read_at: DateTime<Utc>,
    ) -> Vec<(ExternalId, SyncError)> {
        let mut errors = Vec::new();
        for (external_id, record) in records {
            if let Err(error) = self.dispatch(ctx, &external_id, record, read_at).await {
                errors.push((external_id, error));
            }
        }
        errors
    }
}

/// Imports each record directly, in the batch's own task, from the search page's data.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportDirectly;

#[async_trait]
impl RecordDispatch for ImportDirectly {
    async fn dispatch(
        &self,
        ctx: &WorkContext,
        external_id: &ExternalId,
        record: Value,
        read_at: DateTime<Utc>,
    ) -> SyncResult<()> {
        let importer = ctx.component::<dyn RecordImporter>(RECORD_IMPORTER)?;
        importer
            .import_data(ctx, external_id, record, read_at, false)
            .await
            .map(|_| ())
    }

    async fn dispatch_page(
        &self,
        ctx: &WorkContext,
        records: Vec<(ExternalId, Value)>,
        read_at: DateTime<Utc>,
    ) -> Vec<(ExternalId, SyncError)> {
        import_page(ctx, records, read_at)
            .await
            .into_iter()
            .filter_map(|(id, outcome)| outcome.err().map(|error| (id, error)))
            .collect()
    }
}

/// Imports a search page with the model's [`RecordImporter`] (the default flow writes it in
/// one transaction) and returns each record's outcome, for a [`RecordDispatch`] that wants
/// them (e.g. to count them on a progress bar).
pub async fn import_page(
    ctx: &WorkContext,
    records: Vec<(ExternalId, Value)>,
    read_at: DateTime<Utc>,
) -> Vec<(ExternalId, SyncResult<ImportOutcome>)> {
    let outcomes = match ctx.component::<dyn RecordImporter>(RECORD_IMPORTER) {
        Ok(importer) => importer.import_page(ctx, &records, read_at).await,
        Err(error) => {
            // Every record fails the same way; name each.
            let message = error.to_string();
            records
                .iter()
                .map(|_| Err(SyncError::Failed(message.clone())))
                .collect()
        }
    };
    records
        .into_iter()
        .map(|(id, _)| id)
        .zip(outcomes)
        .collect()
}

/// What a batch import did.
#[derive(Debug, Default)]
pub struct BatchImportReport {
    /// Records found in the window and handed over.
    pub dispatched: u64,
    /// Pages fetched.
    pub pages: u64,
    /// Records whose dispatch failed, with the error; the others went on.
    pub errors: Vec<(ExternalId, SyncError)>,
    /// Where the next run's window starts: `until` minus the overlap when every record went
    /// through, else the old start, so a failed record is tried again next run.
    pub next_since: Option<DateTime<Utc>>,
}

/// Imports every record of the context's model modified in `window`.
///
/// Pages are read with a **keyset** cursor `(updated, id)`: each page asks for records
/// modified at or after the last one seen, sorted by `(updated, id)`, and drops those not
/// past the cursor. Offset paging over a set that changes while it is read skips records
/// (a record modified meanwhile leaves the window and shifts every later record one place
/// back); a keyset cursor does not, and it does not depend on how a backend answers a page
/// past the end. Only one page is in memory at a time.
///
/// The next window starts `overlap` before this one's end: a record modified while the run
/// went on, or stamped by a clock a little behind, is found again (and skipped cheaply when
/// up to date) rather than missed.
pub async fn import_batch(
    ctx: &WorkContext,
    window: ImportWindow,
    fields: &BatchFields,
    page_size: u32,
    overlap: Duration,
    dispatch: &dyn RecordDispatch,
) -> SyncResult<BatchImportReport> {
    let adapter = adapter_for(ctx)?;
    let page_size = page_size.max(1);
    let until = format_time(window.until);
    let mut cursor: Option<(String, Value)> = None;
    let mut page_number = 1;
    let mut report = BatchImportReport::default();
    let no_date = String::new();
    let updated_field = fields.updated.as_ref().unwrap_or(&no_date);
    // The next page, fetched while the pages before it are written; at most
    // `write_concurrency` pages are written at once (one on SQLite), so at most that many
    // plus one are in memory.
    let mut fetched = None;
    let max_writing = ctx.storage().write_concurrency();
    let mut writing = FuturesUnordered::new();
    loop {
        let (page, read_at) = match fetched.take() {
            Some(fetched) => fetched,
            None => {
                let read_at = Utc::now();
                let query = page_query(&window, fields, cursor.as_ref(), &until);
                let request = PageRequest {
                    number: page_number,
                    size: page_size,
                };
                (adapter.search_read(&query, request).await?, read_at)
            }
        };
        report.pages += 1;
        let Some(last) = page.items.last() else { break };
        let last_key = (
            text(last.get(updated_field)),
            last.get(&fields.id).cloned().unwrap_or(Value::Null),
        );
        let has_next = page.next.is_some();
        let mut batch = Vec::with_capacity(page.items.len());
        for record in page.items {
            let updated = text(record.get(updated_field));
            let id = record.get(&fields.id).cloned().unwrap_or(Value::Null);
            if let Some((cursor_updated, cursor_id)) = &cursor
                && updated == *cursor_updated
                && compare_ids(&id, cursor_id) != Ordering::Greater
            {
                continue; // seen on the previous page
            }
            let external_id = match &id {
                Value::String(s) => ExternalId(s.clone()),
                Value::Number(n) => ExternalId(n.to_string()),
                _ => {
                    report.errors.push((
                        ExternalId(String::new()),
                        SyncError::invalid_data(
                            format!("{} on page {page_number}", ctx.model()),
                            fields.id.clone(),
                            "the record has no id",
                        ),
                    ));
                    continue;
                }
            };
            batch.push((external_id, record));
        }
        report.dispatched += batch.len() as u64;
        writing.push(dispatch.dispatch_page(ctx, batch, read_at));
        while writing.len() > max_writing {
            if let Some(errors) = writing.next().await {
                report.record_errors(ctx, errors);
            }
        }
        if !has_next {
            break;
        }
        // A page whose records all share the cursor's date cannot move the cursor: step
        // through that date with offsets instead, then resume keyset paging.
        match &cursor {
            Some((cursor_updated, _))
                if fields.updated.is_some() && *cursor_updated == last_key.0 =>
            {
                page_number += 1
            }
            _ => page_number = 1,
        }
        if page_number == 1 {
            cursor = Some(last_key);
        }
        // Fetch the next page while the pages before it are written: the backend's answer
        // time and the local writes overlap instead of adding up.
        let next_query = page_query(&window, fields, cursor.as_ref(), &until);
        let next_request = PageRequest {
            number: page_number,
            size: page_size,
        };
        let next_read_at = Utc::now();
        let next = adapter.search_read(&next_query, next_request);
        tokio::pin!(next);
        let next = loop {
            tokio::select! {
                biased;
                Some(errors) = writing.next(), if !writing.is_empty() => {
                    report.record_errors(ctx, errors);
                }
                next = &mut next => break next,
            }
        };
        fetched = Some((next?, next_read_at));
    }
    while let Some(errors) = writing.next().await {
        report.record_errors(ctx, errors);
    }
    let overlap = chrono::Duration::from_std(overlap).unwrap_or_else(|_| chrono::Duration::zero());
    report.next_since = if report.errors.is_empty() {
        Some(window.until - overlap)
    } else {
        window.since
    };
    Ok(report)
}

impl BatchImportReport {
    fn record_errors(&mut self, ctx: &WorkContext, errors: Vec<(ExternalId, SyncError)>) {
        for (external_id, error) in errors {
            tracing::warn!(model = ctx.model(), %external_id, %error, "record import failed");
            self.errors.push((external_id, error));
        }
    }
}

/// The search of the page after `cursor`: records modified in the window at or after the
/// cursor's date, sorted by `(updated, id)`; for undated records, ids past the cursor's.
fn page_query(
    window: &ImportWindow,
    fields: &BatchFields,
    cursor: Option<&(String, Value)>,
    until: &str,
) -> SearchQuery {
    let mut query = SearchQuery::new();
    if let Some(updated_field) = &fields.updated {
        let from = cursor
            .map(|(updated, _)| updated.clone())
            .or_else(|| window.since.map(format_time));
        if let Some(from) = from {
            query = query.filter(updated_field, Condition::Gteq, from);
        }
        query = query
            .filter(updated_field, Condition::Lt, until.to_owned())
            .sort_by(updated_field, true);
    } else if let Some((_, last_id)) = cursor {
        query = query.filter(&fields.id, Condition::Gt, last_id.clone());
    }
    query.sort_by(&fields.id, true)
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
