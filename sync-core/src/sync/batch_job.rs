//! Batch imports as queue jobs: each run resumes from the stored cursor of its (backend,
//! model), and scheduled ones run periodically.
//!
//! The connector framework's batch importers take their `from_date` from a field the cron
//! job writes *before* the run, so a run that fails half-way has already moved the date and
//! the records it did not reach are never imported. Here the cursor moves after the run,
//! once its whole window settled, to the run's end minus the overlap; within the window the
//! position of the last settled page is kept, so a run that stopped resumes from there.
//!
//! A record *settles* when it went through, or when it failed for good (bad data, a mapping
//! error) and was left visible and retryable on its own: in the jobs mode its import job is
//! there; in the direct mode a `synckit.import_record` job is delayed for it, whose
//! description and, once a worker ran it, failure name the record and the field. One bad
//! record therefore no longer pins the cursor. A record that failed for a passing reason (the
//! network, a lock another worker holds) does not settle: the window stops before its page.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::batch_importer::{
    BatchFields, BatchImportReport, ImportDirectly, ImportWindow, PageSettlement, RecordDispatch,
    import_window,
};
use super::jobs::DelayImport;
use super::keyset::{KeysetPager, KeysetPosition};
use crate::app::App;
use crate::context::WorkContext;
use crate::error::{SyncError, SyncResult};
use crate::ids::{BackendId, ExternalId};
use crate::queue::{BoxFuture, JobContext, JobDefaults, JobFunction, JobOutput, Queue};
use crate::storage::OpenWindow;

/// Usage of a model's [`BatchImportConfig`].
pub const BATCH_IMPORT: &str = "batch.import";

/// How a model is imported in batches. Register one per model under [`BATCH_IMPORT`].
#[derive(Debug, Clone)]
pub struct BatchImportConfig {
    /// The fields that date and identify the records.
    pub fields: BatchFields,
    /// Records per search page.
    pub page_size: u32,
    /// How far before the last run's end the next window starts.
    pub overlap: Duration,
}

impl BatchImportConfig {
    /// Pages of 100 records and a 5-minute overlap.
    pub fn new(fields: BatchFields) -> Self {
        BatchImportConfig {
            fields,
            page_size: 100,
            overlap: Duration::from_secs(300),
        }
    }

    /// Sets the page size.
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// Sets the overlap.
    pub fn overlap(mut self, overlap: Duration) -> Self {
        self.overlap = overlap;
        self
    }
}

/// How a batch import hands its records over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// One [`ImportRecordJob`](super::ImportRecordJob) per record, each retried on its own.
    #[default]
    Jobs,
    /// Every page written in the batch's own transactions (an initial load).
    Direct,
}

/// Arguments of [`ImportBatchJob`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportBatchArgs {
    /// The backend imported from.
    pub backend_id: BackendId,
    /// The model.
    pub model: String,
    /// How records are handed over.
    #[serde(default)]
    pub mode: ImportMode,
    /// Import everything instead of resuming from the cursor.
    #[serde(default)]
    pub full: bool,
}

/// Runs [`run_batch_import`] for a (backend, model).
#[derive(Debug, Clone, Copy)]
pub struct ImportBatchJob;

impl ImportBatchJob {
    /// The identity key of a batch import: one queued per (backend, model).
    pub fn identity_key(backend_id: BackendId, model: &str) -> String {
        format!("import_batch:{backend_id}:{model}")
    }
}

impl JobFunction for ImportBatchJob {
    const NAME: &'static str = "synckit.import_batch";
    type Args = ImportBatchArgs;

    fn defaults() -> JobDefaults {
        JobDefaults {
            description: Some("Import the records changed on a backend".into()),
            ..JobDefaults::default()
        }
    }

    fn perform(ctx: JobContext, args: ImportBatchArgs) -> BoxFuture<SyncResult<JobOutput>> {
        Box::pin(async move {
            let app = ctx.data::<App>()?;
            let work = app.work_on(args.backend_id, &args.model).await?;
            let report = run_batch_import(&work, args.mode, args.full).await?;
            Ok(Some(format!(
                "{}: {} records in {} pages, {} failed",
                args.model,
                report.dispatched,
                report.pages,
                report.errors.len()
            )))
        })
    }
}

/// Imports the records of the context's model changed since its cursor (everything when
/// `full` or when no run completed yet), then moves the cursor once the whole window settled.
///
/// A window a previous run left unsettled (it crashed, or met a passing failure) is finished
/// first, from the position of its last settled page. Records that failed for good do not
/// hold the cursor back: they are left as `synckit.import_record` jobs (see the module
/// documentation). The report's `next_since` is where the cursor's start now is.
pub async fn run_batch_import(
    ctx: &WorkContext,
    mode: ImportMode,
    full: bool,
) -> SyncResult<BatchImportReport> {
    let config = ctx.component::<BatchImportConfig>(BATCH_IMPORT)?;
    let cursors = ctx.storage().import_cursors();
    let open = if full {
        None
    } else {
        cursors.open_window(ctx.backend().id, ctx.model()).await?
    };
    let (window, resume) = match open {
        Some(open) => (
            ImportWindow {
                since: open.since,
                until: open.until,
            },
            open.position,
        ),
        None if full => (ImportWindow::since(None), None),
        None => (
            ImportWindow::since(cursors.since(ctx.backend().id, ctx.model()).await?),
            None,
        ),
    };
    let dispatch: Box<dyn RecordDispatch> = match mode {
        ImportMode::Jobs => Box::new(DelayImport::default()),
        ImportMode::Direct => Box::new(ImportDirectly),
    };
    let mut pager = KeysetPager::new(
        config.fields.clone(),
        window.since,
        Some(window.until),
        config.page_size,
    );
    if let Some(position) = resume {
        tracing::info!(model = ctx.model(), updated = %position.updated, id = %position.id, "resuming an unsettled import window");
        pager = pager.resume_after(position);
    }
    let settlement = StoredProgress { window };
    let (report, settled) =
        import_window(ctx, window, pager, config.overlap, &*dispatch, &settlement).await?;
    if settled {
        cursors
            .advance(ctx.backend().id, ctx.model(), report.next_since)
            .await?;
    }
    Ok(report)
}

/// The settlement of [`run_batch_import`]: failed-for-good records are left as import jobs,
/// and the settled prefix of the window is stored.
struct StoredProgress {
    window: ImportWindow,
}

#[async_trait]
impl PageSettlement for StoredProgress {
    async fn settle(&self, ctx: &WorkContext, errors: &[(ExternalId, SyncError)]) -> bool {
        let mut settled = true;
        for (external_id, error) in errors {
            if error.is_retryable() {
                settled = false;
            } else if external_id.as_str().is_empty() {
                // A record without an id cannot be imported on its own; it is reported and
                // logged, and must not pin the cursor.
            } else if let Err(delaying) = leave_for_retry(ctx, external_id, error).await {
                tracing::warn!(model = ctx.model(), %external_id, error = %delaying, "leaving a failed record as an import job failed");
                settled = false;
            }
        }
        settled
    }

    async fn settled_up_to(&self, ctx: &WorkContext, position: &KeysetPosition) -> SyncResult<()> {
        let progress = OpenWindow {
            since: self.window.since,
            until: self.window.until,
            position: Some(position.clone()),
        };
        ctx.storage()
            .import_cursors()
            .save_progress(ctx.backend().id, ctx.model(), &progress)
            .await
    }
}

/// Delays the `synckit.import_record` job of a record that failed for good, described with
/// the failure (which names the record and the field), so that it can be looked at and
/// retried on its own. A job already queued for it (same identity key) is kept.
async fn leave_for_retry(
    ctx: &WorkContext,
    external_id: &ExternalId,
    error: &SyncError,
) -> SyncResult<()> {
    let job = DelayImport::default()
        .job_for(ctx, external_id)?
        .description(format!(
            "Import {} {external_id} again: a batch import could not ({error})",
            ctx.model()
        ));
    ctx.queue().enqueue(job).await?;
    Ok(())
}

/// Enqueues an [`ImportBatchJob`] for each scheduled import that is due (see
/// [`ImportCursors::schedule`](crate::storage::ImportCursors::schedule)); returns how many.
/// A (backend, model) whose previous job still waits is not queued twice.
pub async fn enqueue_due_imports(app: &App) -> SyncResult<usize> {
    let due = app.storage().import_cursors().claim_due().await?;
    let queue: &Queue = app.queue();
    for import in &due {
        let args = ImportBatchArgs {
            backend_id: import.backend_id,
            model: import.model.clone(),
            mode: ImportMode::Jobs,
            full: false,
        };
        let job = ImportBatchJob::with_args(args)?.identity_key(ImportBatchJob::identity_key(
            import.backend_id,
            &import.model,
        ));
        queue.enqueue(job).await?;
    }
    Ok(due.len())
}

/// Calls [`enqueue_due_imports`] every `tick` until the task is aborted; errors are logged
/// and the next tick tries again.
pub fn spawn_periodic_imports(app: App, tick: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            if let Err(error) = enqueue_due_imports(&app).await {
                tracing::warn!(%error, "scheduling the due batch imports failed");
            }
        }
    })
}
