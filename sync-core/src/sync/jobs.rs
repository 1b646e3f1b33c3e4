//! The synchronizers as queue jobs: one job per record import, export or deletion, and the
//! pieces that delay them (a batch import dispatch and an export listener).
//!
//! Jobs find the application through the worker's data: build workers with
//! `Worker::builder(queue, jobs).data(app)`. Job arguments hold ids only — never settings or
//! secrets, which the job reads from the backend record when it runs.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::AnyConnection;

use super::batch_importer::RecordDispatch;
use super::components::{RECORD_DELETER, RECORD_EXPORTER, RECORD_IMPORTER};
use super::deleter::RecordDeleter;
use super::exporter::RecordExporter;
use super::importer::RecordImporter;
use crate::app::App;
use crate::context::WorkContext;
use crate::error::{SyncError, SyncResult};
use crate::ids::{BackendId, ExternalId, LocalId};
use crate::local::{Listener, RecordEvent};
use crate::queue::{
    BoxFuture, Delayable, JobContext, JobDefaults, JobFunction, JobOutput, JobRegistry,
};

/// Arguments of [`ImportRecordJob`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportRecordArgs {
    /// The backend imported from.
    pub backend_id: BackendId,
    /// The model (registry and binding model).
    pub model: String,
    /// The remote record.
    pub external_id: ExternalId,
    /// Import even when up to date.
    pub force: bool,
}

/// Imports one record with the model's [`RecordImporter`].
#[derive(Debug, Clone, Copy)]
pub struct ImportRecordJob;

impl JobFunction for ImportRecordJob {
    const NAME: &'static str = "synckit.import_record";
    type Args = ImportRecordArgs;

    fn defaults() -> JobDefaults {
        JobDefaults {
            description: Some("Import a record from a backend".into()),
            ..JobDefaults::default()
        }
    }

    fn perform(ctx: JobContext, args: ImportRecordArgs) -> BoxFuture<SyncResult<JobOutput>> {
        Box::pin(async move {
            let app = ctx.data::<App>()?;
            let work = app.work_on(args.backend_id, &args.model).await?;
            let importer = work.component::<dyn RecordImporter>(RECORD_IMPORTER)?;
            let outcome = importer.run(&work, &args.external_id, args.force).await?;
            Ok(Some(format!(
                "{} {}: {outcome:?}",
                args.model, args.external_id
            )))
        })
    }
}

/// Arguments of [`ExportRecordJob`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportRecordArgs {
    /// The backend exported to.
    pub backend_id: BackendId,
    /// The model (registry and binding model).
    pub model: String,
    /// The local record.
    pub local_id: LocalId,
    /// The local fields that changed (`None`: every mapping).
    pub fields: Option<Vec<String>>,
}

/// Exports one local record with the model's [`RecordExporter`].
#[derive(Debug, Clone, Copy)]
pub struct ExportRecordJob;

impl JobFunction for ExportRecordJob {
    const NAME: &'static str = "synckit.export_record";
    type Args = ExportRecordArgs;

    fn defaults() -> JobDefaults {
        JobDefaults {
            description: Some("Export a record to a backend".into()),
            ..JobDefaults::default()
        }
    }

    fn perform(ctx: JobContext, args: ExportRecordArgs) -> BoxFuture<SyncResult<JobOutput>> {
        Box::pin(async move {
            let app = ctx.data::<App>()?;
            let work = app.work_on(args.backend_id, &args.model).await?;
            let exporter = work.component::<dyn RecordExporter>(RECORD_EXPORTER)?;
            let outcome = exporter
                .run(&work, args.local_id, args.fields.as_deref())
                .await?;
            Ok(Some(format!(
                "{} {}: {outcome:?}",
                args.model, args.local_id
            )))
        })
    }
}

/// Arguments of [`DeleteRecordJob`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteRecordArgs {
    /// The backend.
    pub backend_id: BackendId,
    /// The model.
    pub model: String,
    /// The remote record to delete.
    pub external_id: ExternalId,
}

/// Deletes one remote record with the model's [`RecordDeleter`].
#[derive(Debug, Clone, Copy)]
pub struct DeleteRecordJob;

impl JobFunction for DeleteRecordJob {
    const NAME: &'static str = "synckit.delete_record";
    type Args = DeleteRecordArgs;

    fn defaults() -> JobDefaults {
        JobDefaults {
            description: Some("Delete a record in a backend".into()),
            ..JobDefaults::default()
        }
    }

    fn perform(ctx: JobContext, args: DeleteRecordArgs) -> BoxFuture<SyncResult<JobOutput>> {
        Box::pin(async move {
            let app = ctx.data::<App>()?;
            let work = app.work_on(args.backend_id, &args.model).await?;
            let deleter = work.component::<dyn RecordDeleter>(RECORD_DELETER)?;
            let outcome = deleter.run(&work, &args.external_id).await?;
            Ok(Some(format!(
                "{} {}: {outcome:?}",
                args.model, args.external_id
            )))
        })
    }
}

/// Adds the synchronizer jobs to a job registry.
pub fn register_sync_jobs(jobs: &mut JobRegistry) {
    jobs.add::<ImportRecordJob>();
    jobs.add::<ExportRecordJob>();
    jobs.add::<DeleteRecordJob>();
    jobs.add::<super::ImportBatchJob>();
}

/// A batch import dispatch that delays one [`ImportRecordJob`] per record.
///
/// Each job has the identity key `import:<backend>:<model>:<id>`: a record found again by an
/// overlapping window while its job still waits is not imported twice.
#[derive(Debug, Clone, Default)]
pub struct DelayImport {
    /// The channel of the jobs (`None`: the job function's default).
    pub channel: Option<String>,
    /// The priority of the jobs (`None`: the default).
    pub priority: Option<i32>,
}

impl DelayImport {
    /// The import job of one record.
    pub(super) fn job_for(
        &self,
        ctx: &WorkContext,
        external_id: &ExternalId,
    ) -> SyncResult<Delayable> {
        let args = ImportRecordArgs {
            backend_id: ctx.backend().id,
            model: ctx.model().to_owned(),
            external_id: external_id.clone(),
            force: false,
        };
        let mut job = ImportRecordJob::with_args(args)?.identity_key(format!(
            "import:{}:{}:{external_id}",
            ctx.backend().id,
            ctx.model()
        ));
        if let Some(channel) = &self.channel {
            job = job.channel(channel);
        }
        if let Some(priority) = self.priority {
            job = job.priority(priority);
        }
        Ok(job)
    }
}

#[async_trait]
impl RecordDispatch for DelayImport {
    async fn dispatch(
        &self,
        ctx: &WorkContext,
        external_id: &ExternalId,
        _record: Value,
        _read_at: DateTime<Utc>,
    ) -> SyncResult<()> {
        ctx.queue().enqueue(self.job_for(ctx, external_id)?).await?;
        Ok(())
    }

    /// Delays the page's jobs in one transaction (batched inserts).
    async fn dispatch_page(
        &self,
        ctx: &WorkContext,
        records: Vec<(ExternalId, Value)>,
        _read_at: DateTime<Utc>,
    ) -> Vec<(ExternalId, SyncError)> {
        let mut errors = Vec::new();
        let mut jobs = Vec::with_capacity(records.len());
        let mut delayed = Vec::with_capacity(records.len());
        for (external_id, _) in records {
            match self.job_for(ctx, &external_id) {
                Ok(job) => {
                    jobs.push(job);
                    delayed.push(external_id);
                }
                Err(error) => errors.push((external_id, error)),
            }
        }
        if let Err(error) = ctx.queue().enqueue_many(jobs).await {
            // Nothing of the page was delayed: every record of it failed the same way.
            let message = format!("delaying the import jobs failed: {error}");
            errors.extend(
                delayed
                    .into_iter()
                    .map(|id| (id, SyncError::Failed(message.clone()))),
            );
        }
        errors
    }
}

/// A listener that delays an [`ExportRecordJob`] when a local record is created, or written
/// in one of the watched fields, in the writer's transaction: the write and its export job
/// commit together, and a rolled-back write exports nothing.
///
/// Register it under `"event.listener"` for a backend kind and the local model; the jobs
/// export the binding model `export_model`. Writes coming from this backend's own imports
/// never reach it (the origin rule).
#[derive(Debug, Clone)]
pub struct ExportListener {
    /// The model whose exporter runs (the binding model).
    pub export_model: String,
    /// The local fields whose change needs an export (usually the export mapper's
    /// `changed_by_fields`).
    pub watched: Vec<String>,
    /// Whether creating a local record exports it (not for records that only ever come
    /// from the backend, such as orders).
    pub on_create: bool,
    /// The channel of the jobs (`None`: the default).
    pub channel: Option<String>,
}

impl ExportListener {
    /// A listener exporting `export_model` when a record is created or one of `watched`
    /// changes.
    pub fn new(export_model: &str, watched: &[&str]) -> Self {
        ExportListener {
            export_model: export_model.to_owned(),
            watched: watched.iter().map(|f| (*f).to_owned()).collect(),
            on_create: true,
            channel: None,
        }
    }

    /// A listener exporting `export_model` only when one of `watched` changes.
    pub fn on_write(export_model: &str, watched: &[&str]) -> Self {
        ExportListener {
            on_create: false,
            ..Self::new(export_model, watched)
        }
    }

    /// Sets the channel of the export jobs.
    pub fn channel(mut self, channel: &str) -> Self {
        self.channel = Some(channel.to_owned());
        self
    }

    async fn delay(
        &self,
        ctx: &WorkContext,
        conn: &mut AnyConnection,
        local_id: LocalId,
        fields: Option<Vec<String>>,
    ) -> SyncResult<()> {
        let args = ExportRecordArgs {
            backend_id: ctx.backend().id,
            model: self.export_model.clone(),
            local_id,
            fields,
        };
        let mut job = ExportRecordJob::with_args(args)?;
        if let Some(channel) = &self.channel {
            job = job.channel(channel);
        }
        ctx.queue().delay(conn, job).await?;
        Ok(())
    }
}

#[async_trait]
impl Listener for ExportListener {
    async fn on_record_create(
        &self,
        ctx: &WorkContext,
        conn: &mut AnyConnection,
        event: &RecordEvent,
    ) -> SyncResult<()> {
        if !self.on_create {
            return Ok(());
        }
        self.delay(ctx, conn, event.local_id, None).await
    }

    async fn on_record_write(
        &self,
        ctx: &WorkContext,
        conn: &mut AnyConnection,
        event: &RecordEvent,
    ) -> SyncResult<()> {
        let changed: Vec<String> = event
            .fields
            .iter()
            .filter(|f| self.watched.contains(f))
            .cloned()
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        self.delay(ctx, conn, event.local_id, Some(changed)).await
    }
}
