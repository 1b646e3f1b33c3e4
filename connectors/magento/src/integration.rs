//! The Magento connector as an Oro-style integration: the customer sync as a two-way
//! connector of the `magento` integration type, with its batch jobs in `jobs.toml`.
//!
//! This is the second way to run the connector, next to the per-record jobs that
//! [`register`](crate::register) sets up, and both can run on one backend: the jobs here
//! run the same record flows (the same [`CustomerSync`] spec, mapper, bindings and locks),
//! so a customer imported or exported by one style is bound, not duplicated, by the other.
//!
//! | job | steps |
//! |---|---|
//! | `magento_customer_import` | `remote_paging` (customers changed since the cursor) → [`RecordImportProcessor`] → [`FlowOutcomes`] |
//! | `magento_customer_export` | `entity_by_id` (the local customers to send) → [`TwoWayExportProcessor`] → [`FlowOutcomes`] |
//!
//! Conflicts follow the integration's sync priority (`remote` or `local`, Oro's setting):
//! both jobs merge each customer field by field against what was last synced, and a field
//! changed on both sides goes to the side the priority names. The backend's own
//! `conflict_policy` setting applies to the per-record jobs, and to these jobs when they
//! run outside an integration.
//!
//! ```no_run
//! use sync_core::batch::{NewIntegration, SyncOptions, SyncPriority, forward_sync};
//! use sync_core::prelude::*;
//!
//! # async fn demo(storage: Storage, backend: Backend) -> SyncResult<()> {
//! let mut registry = ComponentRegistry::new();
//! sync_magento::register(&mut registry);
//! sync_magento::register_integration(&mut registry)?;
//! // ... register the local repositories of `customer`, `customer.group` and `website` ...
//! let app = App::new(registry, storage.clone()).await?;
//! let integration = storage
//!     .integrations()
//!     .create(NewIntegration::new(backend.id, "shop", ["customer"]).two_way(SyncPriority::Remote))
//!     .await?;
//! let report = forward_sync(&app, integration.id, SyncOptions::default()).await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use sqlx::AnyConnection;
use sync_core::app::LISTENER_USAGE;
use sync_core::batch::{
    Connector, ENTITY_BY_ID, EntityByIdReader, IntegrationType, ItemProcessor, ItemReader,
    ItemWriter, JobCatalog, REMOTE_PAGING, RemotePagingReader, ReverseSyncListener, StepContext,
};
use sync_core::local::Listener;
use sync_core::registry::{ApplyOn, ComponentRegistry};
use sync_core::sync::{
    ConflictPolicyOverride, ExportOutcome, ExportSpec, ImportOutcome, ImportSpec, binder_for,
    export_merged_record, import_record, import_record_data,
};
use sync_core::{ExternalId, LocalId, SyncError, SyncResult, WorkContext};

use crate::backend::MAGENTO;
use crate::models::customer::CustomerSync;

/// The job file, as shipped in the crate.
pub const JOBS_TOML: &str = include_str!("../jobs.toml");
/// The name the job file goes by in error messages.
pub const JOBS_FILE: &str = "sync-magento/jobs.toml";
/// The customer import job.
pub const CUSTOMER_IMPORT_JOB: &str = "magento_customer_import";
/// The customer export job (the reverse sync of the customer connector).
pub const CUSTOMER_EXPORT_JOB: &str = "magento_customer_export";
/// The name of the two-way customer connector, as integrations enable it.
pub const CUSTOMER_CONNECTOR: &str = "customer";
/// The usage of [`RecordImportProcessor`].
pub const RECORD_IMPORT_PROCESSOR: &str = "magento.record_import";
/// The usage of [`TwoWayExportProcessor`].
pub const TWO_WAY_EXPORT_PROCESSOR: &str = "magento.two_way_export";
/// The usage of [`FlowOutcomes`].
pub const FLOW_OUTCOMES_WRITER: &str = "magento.flow_outcomes";

/// How often a record whose lock another job holds is tried again in place before the step
/// gives up (and fails, so that nothing is lost: the cursor stays, export ids are retried).
const LOCK_TRIES: u32 = 3;
/// The longest wait between those tries.
const LOCK_WAIT: Duration = Duration::from_millis(500);

/// The connector's job definitions, parsed from [`JOBS_TOML`].
///
/// # Errors
/// A mistake in the shipped file, naming the job and the step (a unit test keeps it from
/// shipping).
pub fn jobs() -> SyncResult<JobCatalog> {
    Ok(JobCatalog::parse(JOBS_FILE, JOBS_TOML)?)
}

/// The `magento` integration type: its job file and the two-way customer connector.
///
/// # Errors
/// A mistake in the shipped job file.
pub fn integration_type() -> SyncResult<IntegrationType> {
    Ok(IntegrationType::new(MAGENTO, jobs()?).connector(
        Connector::new(
            CUSTOMER_CONNECTOR,
            "Customers",
            "magento.customer",
            CUSTOMER_IMPORT_JOB,
        )
        .two_way(CUSTOMER_EXPORT_JOB)
        .local_model("customer")
        .supports_force_sync(),
    ))
}

/// Registers the components the job file names (for the Magento kinds only, so that a
/// program may also call [`sync_core::batch::register_builtins`]), the listener that turns a
/// local customer change into a reverse sync, and the [`integration_type`], checking every
/// name of the job file against the registry.
///
/// Call it after [`register`](crate::register), which registers the adapters, binders and
/// per-record flows the jobs use. Add the batch queue jobs to the workers with
/// [`sync_core::batch::register_jobs`].
///
/// # Errors
/// A job file component that does not resolve, naming the file, job and step.
pub fn register_integration(registry: &mut ComponentRegistry) -> SyncResult<()> {
    let magento = || ApplyOn::kind(MAGENTO);
    registry.register::<dyn ItemReader>(magento(), ENTITY_BY_ID, Arc::new(EntityByIdReader));
    registry.register::<dyn ItemReader>(magento(), REMOTE_PAGING, Arc::new(RemotePagingReader));
    let customers = Arc::new(CustomerSync::default());
    registry.register::<dyn ItemProcessor>(
        magento().model("magento.customer"),
        RECORD_IMPORT_PROCESSOR,
        Arc::new(RecordImportProcessor::new(customers.clone())),
    );
    registry.register::<dyn ItemProcessor>(
        magento().model("magento.customer"),
        TWO_WAY_EXPORT_PROCESSOR,
        Arc::new(TwoWayExportProcessor::new(customers)),
    );
    registry.register::<dyn ItemWriter>(magento(), FLOW_OUTCOMES_WRITER, Arc::new(FlowOutcomes));
    registry.register::<dyn Listener>(
        magento().model("customer"),
        LISTENER_USAGE,
        Arc::new(ReverseSyncListener),
    );
    integration_type()?.register(registry)
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
/// 2. the export flow then sends what the local side has that Magento has not (the local
///    winners and the fields changed locally alone), or creates the remote record, crash-safe
///    (an interrupted create is adopted by the customer's e-mail, never duplicated).
///
/// Counts a remote record created (or adopted) as added and one written as updated; a record
/// with nothing to send is filtered out. A record gone on either side is skipped with a
/// warning.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> ComponentRegistry {
        let mut registry = ComponentRegistry::new();
        crate::register(&mut registry);
        registry
    }

    #[test]
    fn the_shipped_job_file_loads_and_resolves_against_the_registry() {
        let mut registry = registry();
        register_integration(&mut registry).expect("the shipped job file resolves");
        let catalog = jobs().expect("the shipped job file parses");
        catalog
            .validate(&registry, MAGENTO)
            .expect("every job names registered components");
        let itype = integration_type().expect("the integration type builds");
        let customer = itype
            .get(CUSTOMER_CONNECTOR)
            .expect("the customer connector");
        assert_eq!(customer.import_job(), CUSTOMER_IMPORT_JOB);
        assert_eq!(customer.export_job(), Some(CUSTOMER_EXPORT_JOB));
        assert_eq!(
            itype.two_way_for_model("customer").map(Connector::name),
            Some(CUSTOMER_CONNECTOR)
        );
        // The versions inherit the connector: a 2.4 backend resolves the same components.
        catalog
            .validate(&registry, crate::MAGENTO_2_4)
            .expect("resolves on magento-2.4 too");
    }

    #[test]
    fn a_wrong_component_name_is_refused_at_load_time() {
        let registry = {
            let mut registry = registry();
            register_integration(&mut registry).expect("registers");
            registry
        };
        let wrong = JOBS_TOML.replace("magento.two_way_export", "magento.two_way_exprot");
        let catalog = JobCatalog::parse(JOBS_FILE, &wrong).expect("still parses");
        let error = IntegrationType::new(MAGENTO, catalog)
            .connector(
                Connector::new(
                    CUSTOMER_CONNECTOR,
                    "Customers",
                    "magento.customer",
                    CUSTOMER_IMPORT_JOB,
                )
                .two_way(CUSTOMER_EXPORT_JOB),
            )
            .validate(&registry)
            .expect_err("the misspelt processor is found");
        let message = error.to_string();
        assert!(
            message.contains(JOBS_FILE)
                && message.contains(CUSTOMER_EXPORT_JOB)
                && message.contains("magento.two_way_exprot"),
            "{message}"
        );
    }
}
