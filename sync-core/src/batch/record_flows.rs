//! The bridges from batch steps to the record flows: a step's processor runs the record
//! import or the crash-safe record export of a connector's spec, and the writer has nothing
//! left to write.
//!
//! They are what makes the integrations and the per-record jobs "one engine, two
//! vocabularies": both run [`import_record_data`] and [`export_merged_record`], with their
//! locks, committed create intents, adoption by natural key, echo suppression and sync
//! state. A connector registers the processors for its spec with [`register_record_flows`]
//! and names them in its job file:
//!
//! | usage | component | parameters |
//! |---|---|---|
//! | `record_import` (processor) | [`RecordImportProcessor`] | `id_field` (default `id`) |
//! | `two_way_export` (processor) | [`TwoWayExportProcessor`] | — |
//! | `flow_outcomes` (writer) | [`FlowOutcomes`] | — |
//!
//! ```
//! use std::sync::Arc;
//! use sync_core::batch::register_record_flows;
//! use sync_core::registry::{ApplyOn, ComponentRegistry};
//! # use sync_core::sync::{ExportSpec, ImportSpec};
//! # fn demo<S: ImportSpec + ExportSpec>(spec: S) {
//! let mut registry = ComponentRegistry::new();
//! // `spec` implements ImportSpec and ExportSpec for the remote model `shop.customer`.
//! register_record_flows(&mut registry, ApplyOn::kind("shop").model("shop.customer"), Arc::new(spec));
//! # }
//! ```

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use sqlx::AnyConnection;

use super::components::{ItemProcessor, ItemWriter};
use super::context::StepContext;
use crate::context::WorkContext;
use crate::error::{SyncError, SyncResult};
use crate::ids::{ExternalId, LocalId};
use crate::registry::{ApplyOn, ComponentRegistry};
use crate::sync::{
    ConflictPolicyOverride, ExportOutcome, ExportSpec, ImportOutcome, ImportSpec, binder_for,
    export_merged_record, import_record, import_record_data,
};

/// The usage of [`RecordImportProcessor`].
pub const RECORD_IMPORT: &str = "record_import";
/// The usage of [`TwoWayExportProcessor`].
pub const TWO_WAY_EXPORT: &str = "two_way_export";
/// The usage of [`FlowOutcomes`], which [`register_builtins`](super::register_builtins)
/// registers for every backend kind.
pub const FLOW_OUTCOMES: &str = "flow_outcomes";

/// How often a record whose lock another job holds is tried again in place before the step
/// gives up on it (the item is then left for the job's retry, nothing is lost).
const LOCK_TRIES: u32 = 3;
/// The longest wait between those tries.
const LOCK_WAIT: Duration = Duration::from_millis(500);

/// Registers [`RecordImportProcessor`] and [`TwoWayExportProcessor`] of `spec` under
/// [`RECORD_IMPORT`] and [`TWO_WAY_EXPORT`] for `apply_on` (a backend kind and the remote
/// model the spec syncs).
pub fn register_record_flows<S>(registry: &mut ComponentRegistry, apply_on: ApplyOn, spec: Arc<S>)
where
    S: ImportSpec + ExportSpec,
{
    registry.register::<dyn ItemProcessor>(
        apply_on.clone(),
        RECORD_IMPORT,
        Arc::new(RecordImportProcessor::new(spec.clone())),
    );
    registry.register::<dyn ItemProcessor>(
        apply_on,
        TWO_WAY_EXPORT,
        Arc::new(TwoWayExportProcessor::new(spec)),
    );
}

/// The context of a step's record work: in an integration, a field changed on both sides
/// goes to the side of its sync priority instead of the backend's conflict policy.
fn with_sync_priority(ctx: WorkContext, step: &StepContext) -> WorkContext {
    match step.integration() {
        Some(integration) => ctx.with_extra(ConflictPolicyOverride(
            integration.settings.sync_priority.policy(),
        )),
        None => ctx,
    }
}

/// Runs `work` again while another job holds the record's lock (a retry that does not
/// count), a few times with a short wait, then returns the last error.
async fn with_lock_retries<T, F, Fut>(mut work: F) -> SyncResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = SyncResult<T>>,
{
    let mut tries = 1;
    loop {
        match work().await {
            Err(error)
                if error.is_retryable() && !error.counts_as_retry() && tries < LOCK_TRIES =>
            {
                tries += 1;
                let wait = error.retry_after().unwrap_or(LOCK_WAIT).min(LOCK_WAIT);
                tokio::time::sleep(wait).await;
            }
            other => return other,
        }
    }
}

/// Imports each remote record a step reads (Oro's import strategy) through the record
/// import flow of the connector's spec: dependencies first, mapping, the two-way merge
/// under the integration's sync priority, the local write with the backend as origin, the
/// binding. Each record commits on its own.
///
/// Counts a created local record as added and an updated one as updated; a record already
/// up to date (or skipped by the spec) is filtered out. A forced run (`force`) re-imports
/// records that are up to date. Step parameter `id_field` names the remote id (default
/// `id`).
pub struct RecordImportProcessor<S> {
    spec: Arc<S>,
}

impl<S> RecordImportProcessor<S> {
    /// The processor of the model `spec` imports.
    pub fn new(spec: Arc<S>) -> Self {
        RecordImportProcessor { spec }
    }
}

impl<S> std::fmt::Debug for RecordImportProcessor<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordImportProcessor")
            .finish_non_exhaustive()
    }
}

/// The external id of a remote item, from its `id_field`.
fn external_id_of(ctx: &WorkContext, item: &Value, id_field: &str) -> SyncResult<ExternalId> {
    match item.get(id_field) {
        Some(Value::Number(n)) => Ok(ExternalId(n.to_string())),
        Some(Value::String(s)) if !s.is_empty() => Ok(ExternalId(s.clone())),
        Some(other) => Err(SyncError::invalid_data(
            format!("remote {} record", ctx.model()),
            id_field,
            format!("expected an id, got {other}"),
        )),
        None => Err(SyncError::invalid_data(
            format!("remote {} record", ctx.model()),
            id_field,
            "missing",
        )),
    }
}

#[async_trait]
impl<S: ImportSpec> ItemProcessor for RecordImportProcessor<S> {
    async fn process(&self, step: &mut StepContext, item: Value) -> SyncResult<Option<Value>> {
        let ctx = step.work().clone();
        let id_field = step
            .parameter("id_field")
            .and_then(Value::as_str)
            .unwrap_or("id")
            .to_owned();
        let external_id = external_id_of(&ctx, &item, &id_field)?;
        let ctx = with_sync_priority(ctx, step);
        let spec: &S = &self.spec;
        // The step's start is before the page holding this record was read: a remote change
        // made since is newer than the binding's sync date, so no later run misses it.
        let read_at = step.started_at();
        let force = step.is_forced();
        let outcome = with_lock_retries(|| {
            import_record_data(spec, &ctx, &external_id, item.clone(), read_at, force)
        })
        .await?;
        let counters = step.counters_mut();
        let (kind, local_id) = match outcome {
            ImportOutcome::Created(local_id) => {
                counters.added += 1;
                ("created", local_id)
            }
            ImportOutcome::Updated { local_id, .. } => {
                counters.updated += 1;
                ("updated", local_id)
            }
            ImportOutcome::UpToDate(_) | ImportOutcome::Skipped(_) => return Ok(None),
        };
        Ok(Some(json!({
            "external_id": external_id.as_str(),
            "local_id": local_id.0,
            "outcome": kind,
        })))
    }
}

/// Exports each local record a step reads (items of `entity_by_id`) with a two-way merge,
/// through the connector's record flows:
///
/// 1. a record already bound is first merged with the remote record by the import flow:
///    fields changed on one side take that side's value, a field changed on both sides goes
///    to the side of the integration's sync priority, and the remote winners are written
///    locally with the backend as origin (so they do not schedule another reverse sync);
/// 2. the export flow then sends what the local side has that the backend has not (the
///    local winners and the fields changed locally alone) under the record's export lock,
///    or creates the remote record crash-safe: the intent is committed before the create,
///    and a retry after an interrupted create adopts the remote record by its natural key
///    ([`ExportSpec::find_remote`]) instead of creating a duplicate. A write whose payload
///    is what was last synced is not sent (echo suppression).
///
/// Counts a remote record created (or adopted) as added and one written as updated; a record
/// with nothing to send is filtered out.
pub struct TwoWayExportProcessor<S> {
    spec: Arc<S>,
}

impl<S> TwoWayExportProcessor<S> {
    /// The processor of the model `spec` imports and exports.
    pub fn new(spec: Arc<S>) -> Self {
        TwoWayExportProcessor { spec }
    }
}

impl<S> std::fmt::Debug for TwoWayExportProcessor<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoWayExportProcessor")
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<S: ImportSpec + ExportSpec> ItemProcessor for TwoWayExportProcessor<S> {
    async fn process(&self, step: &mut StepContext, item: Value) -> SyncResult<Option<Value>> {
        let ctx = step.work().clone();
        let local_id = item
            .get("id")
            .and_then(Value::as_i64)
            .map(LocalId)
            .ok_or_else(|| {
                SyncError::invalid_data(format!("{} item", step.local_model()), "id", "missing")
            })?;
        let external_id = {
            let mut conn = ctx.storage().pool().acquire().await?;
            binder_for(&ctx)?.to_external(&mut conn, local_id).await?
        };
        let spec: &S = &self.spec;
        if let Some(external_id) = &external_id {
            let ctx = with_sync_priority(ctx.clone(), step);
            with_lock_retries(|| import_record(spec, &ctx, external_id, false)).await?;
        }
        // Merged above with the integration's priority: the export must not merge again
        // with the backend's conflict policy.
        let outcome =
            with_lock_retries(|| export_merged_record(spec, &ctx, local_id, None)).await?;
        let counters = step.counters_mut();
        let (kind, external_id) = match outcome {
            ExportOutcome::Created(id) => {
                counters.added += 1;
                ("created", id)
            }
            ExportOutcome::Adopted(id) => {
                counters.added += 1;
                ("adopted", id)
            }
            ExportOutcome::Updated { external_id, .. } => {
                counters.updated += 1;
                ("updated", external_id)
            }
            ExportOutcome::NothingToDo(_) | ExportOutcome::Skipped(_) => return Ok(None),
        };
        Ok(Some(json!({
            "local_id": local_id.0,
            "external_id": external_id.as_str(),
            "outcome": kind,
        })))
    }
}

/// The writer of steps whose processor ran a record flow: each record was committed by its
/// flow (with its own lock and transaction), so a chunk has nothing left to write. It
/// reports the outcomes at debug level.
#[derive(Debug, Clone, Copy, Default)]
pub struct FlowOutcomes;

#[async_trait]
impl ItemWriter for FlowOutcomes {
    async fn write(
        &self,
        step: &mut StepContext,
        _conn: &mut AnyConnection,
        items: &[Value],
    ) -> SyncResult<()> {
        tracing::debug!(
            job = %step.job_name(),
            step = %step.step_name(),
            records = items.len(),
            "records synchronized by their flows"
        );
        Ok(())
    }
}
