//! The batch import flow: every record changed in a window, with keyset paging.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::Value;

use super::components::{RECORD_IMPORTER, adapter_for};
use super::importer::{ImportOutcome, RecordImporter};
use super::keyset::{KeysetPager, KeysetPosition};
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
    /// Where the next run's window starts: `until` minus the overlap when the whole window
    /// settled (with [`import_batch`]: every record went through), else the old start, so a
    /// failed record is tried again next run.
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
/// up to date) rather than missed. When a record failed, [`BatchImportReport::next_since`]
/// stays at this window's start; [`run_batch_import`](super::run_batch_import), which keeps
/// a stored cursor, moves past records that failed for good instead and keeps its progress
/// within the window.
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
    let pager = KeysetPager::new(fields.clone(), window.since, Some(window.until), page_size);
    let (report, _) = import_window(ctx, window, pager, overlap, dispatch, &EveryRecord).await?;
    Ok(report)
}

/// Decides when a page of a batch import is settled, and hears how far the window is.
#[async_trait]
pub(super) trait PageSettlement: Send + Sync {
    /// Whether a page whose records failed with `errors` (none: every record went through)
    /// is settled: a run that stops after it need not read it again.
    async fn settle(&self, ctx: &WorkContext, errors: &[(ExternalId, SyncError)]) -> bool;

    /// Every page up to the one ending at `position` settled, in the window's order.
    async fn settled_up_to(&self, ctx: &WorkContext, position: &KeysetPosition) -> SyncResult<()>;
}

/// [`import_batch`]'s rule: a page settles only when every record of it went through.
struct EveryRecord;

#[async_trait]
impl PageSettlement for EveryRecord {
    async fn settle(&self, _: &WorkContext, errors: &[(ExternalId, SyncError)]) -> bool {
        errors.is_empty()
    }

    async fn settled_up_to(&self, _: &WorkContext, _: &KeysetPosition) -> SyncResult<()> {
        Ok(())
    }
}

/// The pages written or being written, in the window's order, until the ones before them
/// settled: the position a run may resume from is that of the last page of the settled
/// prefix, whatever order the writes finish in.
#[derive(Default)]
struct SettledPrefix {
    /// Page number → its last record's position (`None` for a page without records) and,
    /// once written, whether it settled.
    pages: std::collections::BTreeMap<u64, (Option<KeysetPosition>, Option<bool>)>,
    /// The first page not settled yet (pages are numbered from 1).
    next: u64,
    /// A page did not settle: the prefix ends before it for the rest of the run.
    stopped: bool,
}

impl SettledPrefix {
    fn started(&mut self, page: u64, position: Option<KeysetPosition>) {
        if self.next == 0 {
            self.next = page;
        }
        self.pages.insert(page, (position, None));
    }

    /// Records that `page` was written; returns the new end of the settled prefix, if it moved.
    fn written(&mut self, page: u64, settled: bool) -> Option<KeysetPosition> {
        if let Some(entry) = self.pages.get_mut(&page) {
            entry.1 = Some(settled);
        }
        let mut reached = None;
        while !self.stopped {
            let Some((_, Some(settled))) = self.pages.get(&self.next) else {
                break;
            };
            if !settled {
                self.stopped = true;
                break;
            }
            if let Some((Some(position), _)) = self.pages.remove(&self.next) {
                reached = Some(position);
            }
            self.next += 1;
        }
        reached
    }
}

/// What a page's write returns: its number, whether it settled and its failed records.
type PageWritten = (u64, bool, Vec<(ExternalId, SyncError)>);

/// [`import_batch`] over `pager` (which may resume inside `window`), settling pages by
/// `settlement`; also returns whether every page settled. [`BatchImportReport::next_since`]
/// moves to the window's end minus `overlap` only then.
pub(super) async fn import_window(
    ctx: &WorkContext,
    window: ImportWindow,
    mut pager: KeysetPager,
    overlap: Duration,
    dispatch: &dyn RecordDispatch,
    settlement: &dyn PageSettlement,
) -> SyncResult<(BatchImportReport, bool)> {
    let adapter = adapter_for(ctx)?;
    let mut report = BatchImportReport::default();
    let max_writing = ctx.storage().write_concurrency();
    let mut writing = FuturesUnordered::new();
    let mut prefix = SettledPrefix::default();
    let mut fetched = None;
    loop {
        let (page, read_at) = match fetched.take() {
            Some(fetched) => fetched,
            None => {
                let Some((query, request)) = pager.next_request() else {
                    break;
                };
                let read_at = Utc::now();
                match adapter.search_read(&query, request).await {
                    Ok(page) => (page, read_at),
                    Err(error) => {
                        return Err(stop(
                            ctx,
                            &mut report,
                            &mut prefix,
                            settlement,
                            writing,
                            error,
                        )
                        .await);
                    }
                }
            }
        };
        report.pages += 1;
        let number = report.pages;
        let position = page.items.last().map(|last| pager.position_of(last));
        let id_field = pager.fields().id.clone();
        let mut batch = Vec::with_capacity(page.items.len());
        let mut unreadable = Vec::new();
        for record in pager.take_page(page) {
            match record.get(&id_field) {
                Some(Value::String(s)) => batch.push((ExternalId(s.clone()), record)),
                Some(Value::Number(n)) => batch.push((ExternalId(n.to_string()), record)),
                _ => unreadable.push((
                    ExternalId(String::new()),
                    SyncError::invalid_data(
                        format!("{} on page {number}", ctx.model()),
                        id_field.clone(),
                        "the record has no id",
                    ),
                )),
            }
        }
        report.dispatched += batch.len() as u64;
        // At most `max_writing` pages in flight, counting this one: a page settled while
        // another one's transaction waits unpolled would wait for it (SQLite's write lock).
        while writing.len() >= max_writing {
            if let Some(written) = writing.next().await {
                settle_page(ctx, &mut report, &mut prefix, settlement, written).await?;
            }
        }
        prefix.started(number, position);
        writing.push(async move {
            let mut errors = dispatch.dispatch_page(ctx, batch, read_at).await;
            errors.extend(unreadable);
            // In the page's own task, right after its writes: what settling a failure
            // writes (a job to retry it) does not wait behind the other pages.
            let settled = settlement.settle(ctx, &errors).await;
            (number, settled, errors)
        });
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
                Some(written) = writing.next(), if !writing.is_empty() => {
                    settle_page(ctx, &mut report, &mut prefix, settlement, written).await?;
                }
                next = &mut next => break next,
            }
        };
        match next {
            Ok(next) => fetched = Some((next, next_read_at)),
            Err(error) => {
                return Err(stop(ctx, &mut report, &mut prefix, settlement, writing, error).await);
            }
        }
    }
    while let Some(written) = writing.next().await {
        settle_page(ctx, &mut report, &mut prefix, settlement, written).await?;
    }
    let overlap = chrono::Duration::from_std(overlap).unwrap_or_else(|_| chrono::Duration::zero());
    report.next_since = if prefix.stopped {
        window.since
    } else {
        Some(window.until - overlap)
    };
    Ok((report, !prefix.stopped))
}

/// Takes a written page: reports its failed records and tells `settlement` when the settled
/// prefix of the window moved.
async fn settle_page(
    ctx: &WorkContext,
    report: &mut BatchImportReport,
    prefix: &mut SettledPrefix,
    settlement: &dyn PageSettlement,
    (number, settled, errors): PageWritten,
) -> SyncResult<()> {
    report.record_errors(ctx, errors);
    if let Some(position) = prefix.written(number, settled) {
        settlement.settled_up_to(ctx, &position).await?;
    }
    Ok(())
}

/// A page could not be read: the pages already read are written and settled first, so that
/// a run resumed after this error starts after them, then `error` is returned.
async fn stop<F>(
    ctx: &WorkContext,
    report: &mut BatchImportReport,
    prefix: &mut SettledPrefix,
    settlement: &dyn PageSettlement,
    mut writing: FuturesUnordered<F>,
    error: SyncError,
) -> SyncError
where
    F: std::future::Future<Output = PageWritten>,
{
    while let Some(written) = writing.next().await {
        if let Err(settling) = settle_page(ctx, report, prefix, settlement, written).await {
            tracing::warn!(model = ctx.model(), error = %settling, "keeping the import's progress failed");
        }
    }
    error
}

impl BatchImportReport {
    fn record_errors(&mut self, ctx: &WorkContext, errors: Vec<(ExternalId, SyncError)>) {
        for (external_id, error) in errors {
            tracing::warn!(model = ctx.model(), %external_id, %error, "record import failed");
            self.errors.push((external_id, error));
        }
    }
}
