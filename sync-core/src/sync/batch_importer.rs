//! The batch import flow: every record changed in a window, page by page.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::components::{RECORD_IMPORTER, adapter_for};
use super::importer::RecordImporter;
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

/// How a batch import hands each record over: import it now, or delay a job.
#[async_trait]
pub trait RecordDispatch: Send + Sync {
    /// Handles one record found in the window.
    async fn dispatch(&self, ctx: &WorkContext, external_id: &ExternalId) -> SyncResult<()>;
}

/// Imports each record directly, in the batch's own task.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportDirectly;

#[async_trait]
impl RecordDispatch for ImportDirectly {
    async fn dispatch(&self, ctx: &WorkContext, external_id: &ExternalId) -> SyncResult<()> {
        let importer = ctx.component::<dyn RecordImporter>(RECORD_IMPORTER)?;
        importer.run(ctx, external_id, false).await.map(|_| ())
    }
}

/// What a batch import did.
#[derive(Debug, Default)]
pub struct BatchImportReport {
    /// Records found in the window and handed over.
    pub dispatched: u64,
    /// Records whose dispatch failed, with the error; the others went on.
    pub errors: Vec<(ExternalId, SyncError)>,
    /// Where the next run's window starts: `until` minus the overlap when every record went
    /// through, else the old start, so a failed record is tried again next run.
    pub next_since: Option<DateTime<Utc>>,
}

/// Searches the backend for records of the context's model modified in `window` (on
/// `updated_field`), pages through every result with one page in memory at a time, and
/// dispatches each record.
///
/// The next window starts `overlap` before this one's end: a record modified while the
/// search ran, or stamped by a clock a little behind, is found again (and skipped cheaply
/// when up to date) rather than missed.
pub async fn import_batch(
    ctx: &WorkContext,
    window: ImportWindow,
    updated_field: &str,
    page_size: u32,
    overlap: Duration,
    dispatch: &dyn RecordDispatch,
) -> SyncResult<BatchImportReport> {
    let adapter = adapter_for(ctx)?;
    let mut query = SearchQuery::new();
    if let Some(since) = window.since {
        query = query.filter(updated_field, Condition::Gteq, format_time(since));
    }
    query = query
        .filter(updated_field, Condition::Lt, format_time(window.until))
        .sort_by(updated_field, true);

    let mut report = BatchImportReport::default();
    let mut next = Some(PageRequest::first(page_size.max(1)));
    while let Some(request) = next {
        let page = adapter.search(&query, request).await?;
        for external_id in &page.items {
            report.dispatched += 1;
            if let Err(error) = dispatch.dispatch(ctx, external_id).await {
                tracing::warn!(model = ctx.model(), %external_id, %error, "record import failed");
                report.errors.push((external_id.clone(), error));
            }
        }
        next = page.next;
    }
    let overlap = chrono::Duration::from_std(overlap).unwrap_or_else(|_| chrono::Duration::zero());
    report.next_since = if report.errors.is_empty() {
        Some(window.until - overlap)
    } else {
        window.since
    };
    Ok(report)
}

/// Backends filter on text dates; this is the `YYYY-MM-DD HH:MM:SS` UTC form most use.
fn format_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}
