//! The batch import flow: every record changed in a window, with keyset paging.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::Value;

use super::components::{RECORD_IMPORTER, adapter_for};
use super::importer::{ImportOutcome, RecordImporter};
use super::keyset::KeysetPager;
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
/// Pages are read with a keyset cursor `(updated, id)` ([`KeysetPager`]): a record modified
/// while the run pages cannot shift another one out of the window. The next page is fetched
/// while the pages before it are written; at most [`Storage::write_concurrency`] pages are
/// written at once (one on SQLite), so memory holds that many pages plus one.
///
/// The next window starts `overlap` before this one's end: a record modified while the run
/// went on, or stamped by a clock a little behind, is found again (and skipped cheaply when
/// up to date) rather than missed.
///
/// [`Storage::write_concurrency`]: crate::storage::Storage::write_concurrency
pub async fn import_batch(
    ctx: &WorkContext,
    window: ImportWindow,
    fields: &BatchFields,
    page_size: u32,
    overlap: Duration,
    dispatch: &dyn RecordDispatch,
) -> SyncResult<BatchImportReport> {
    let adapter = adapter_for(ctx)?;
    let mut pager = KeysetPager::new(fields.clone(), window.since, Some(window.until), page_size);
    let mut report = BatchImportReport::default();
    let max_writing = ctx.storage().write_concurrency();
    let mut writing = FuturesUnordered::new();
    let mut fetched = None;
    loop {
        let (page, read_at) = match fetched.take() {
            Some(fetched) => fetched,
            None => {
                let Some((query, request)) = pager.next_request() else {
                    break;
                };
                let read_at = Utc::now();
                (adapter.search_read(&query, request).await?, read_at)
            }
        };
        report.pages += 1;
        let mut batch = Vec::with_capacity(page.items.len());
        for record in pager.take_page(page) {
            match record.get(&fields.id) {
                Some(Value::String(s)) => batch.push((ExternalId(s.clone()), record)),
                Some(Value::Number(n)) => batch.push((ExternalId(n.to_string()), record)),
                _ => report.errors.push((
                    ExternalId(String::new()),
                    SyncError::invalid_data(
                        format!("{} on page {}", ctx.model(), report.pages),
                        fields.id.clone(),
                        "the record has no id",
                    ),
                )),
            }
        }
        report.dispatched += batch.len() as u64;
        writing.push(dispatch.dispatch_page(ctx, batch, read_at));
        while writing.len() > max_writing {
            if let Some(errors) = writing.next().await {
                report.record_errors(ctx, errors);
            }
        }
        // Fetch the next page while the pages before it are written: the backend's answer
        // time and the local writes overlap instead of adding up.
        let Some((query, request)) = pager.next_request() else {
            break;
        };
        let next_read_at = Utc::now();
        let next = adapter.search_read(&query, request);
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
