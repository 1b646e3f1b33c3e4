//! Batch imports as queue jobs: each run resumes from the stored cursor of its (backend,
//! model), and scheduled ones run periodically.
//!
//! The connector framework's batch importers take their `from_date` from a field the cron
//! job writes *before* the run, so a run that fails half-way has already moved the date and
//! the records it did not reach are never imported. Here the cursor moves after the run,
//! only when every record went through, to the run's end minus the overlap.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::batch_importer::{
    BatchFields, BatchImportReport, ImportDirectly, ImportWindow, RecordDispatch, import_batch,
};
use super::jobs::DelayImport;
use crate::app::App;
use crate::context::WorkContext;
use crate::error::SyncResult;
use crate::ids::BackendId;
use crate::queue::{BoxFuture, JobContext, JobDefaults, JobFunction, JobOutput, Queue};

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
/// `full` or when no run completed yet), then moves the cursor if every record went through.
pub async fn run_batch_import(
    ctx: &WorkContext,
    mode: ImportMode,
    full: bool,
) -> SyncResult<BatchImportReport> {
    let config = ctx.component::<BatchImportConfig>(BATCH_IMPORT)?;
    let cursors = ctx.storage().import_cursors();
    let since = if full {
        None
    } else {
        cursors.since(ctx.backend().id, ctx.model()).await?
    };
    let dispatch: Box<dyn RecordDispatch> = match mode {
        ImportMode::Jobs => Box::new(DelayImport::default()),
        ImportMode::Direct => Box::new(ImportDirectly),
    };
    let report = import_batch(
        ctx,
        ImportWindow::since(since),
        &config.fields,
        config.page_size,
        config.overlap,
        &*dispatch,
    )
    .await?;
    // A failed record keeps the cursor where it was: the next run finds it again.
    if report.errors.is_empty() {
        cursors
            .advance(ctx.backend().id, ctx.model(), report.next_since)
            .await?;
    }
    Ok(report)
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
