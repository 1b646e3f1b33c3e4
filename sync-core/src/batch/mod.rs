//! Oro-style integrations, batch jobs and reverse synchronization.
//!
//! This module follows Oro's IntegrationBundle and BatchBundle (see the workspace's design
//! notes, §5) and fixes the weaknesses known there:
//!
//! - **Job definitions** ([`JobCatalog`]) come from a declarative TOML file shipped by each
//!   connector crate: jobs of type import or export, made of steps that name their reader,
//!   processor and writer by their usage in the component registry, with parameters and a
//!   batch size (default 100). A mistake fails at load time naming the file, job and step.
//! - **Item steps** read → process → write in chunks ([`run_job`]): a processor's `None`
//!   filters the item, a record-level error skips the item (or the writer's chunk) with a
//!   warning naming it and the reason, any other error fails the step, and later steps do
//!   not run after a failed step.
//! - **Executions** ([`JobExecution`], [`StepExecution`]) are persisted outside the data
//!   transactions, with Oro's statuses ([`BatchStatus`]), exit statuses ([`ExitStatus`]),
//!   counters ([`Counters`]) and warnings.
//! - **Readers**: [`EntityByIdReader`] (ids from the run parameters), [`RemotePagingReader`]
//!   and [`LocalModifiedSinceReader`] (incremental, with a clock-skew overlap).
//! - **Integrations** ([`Integration`]): a backend with its enabled connectors and sync
//!   settings; **connectors** ([`Connector`]) gathered in an [`IntegrationType`] per backend
//!   kind with the job file they use.
//! - **Forward sync** ([`forward_sync`]): connectors in order, gated, each with a status
//!   row and an incremental cursor; periodically from the worker ([`schedule_due_syncs`]).
//! - **Reverse sync** ([`ReverseSyncListener`], [`request_reverse_sync`], [`reverse_sync`]):
//!   a local change schedules the connector's export job with the entity's id; a request
//!   while one is queued is merged into it, never lost; each entity settles on its own.
//! - **Record flows** ([`RecordImportProcessor`], [`TwoWayExportProcessor`],
//!   [`FlowOutcomes`]): steps that run the record import and the crash-safe record export
//!   of a connector's spec, settling conflicts with the integration's sync priority.
//! - **Cleanup** ([`cleanup`]) of old statuses and executions, keeping each connector's
//!   latest cursor.
//!
//! Register the built-ins once per registry with [`register_builtins`], and the queue jobs
//! with [`register_jobs`].

mod cleanup;
mod components;
mod connector;
mod context;
mod definition;
mod execution;
mod execution_status;
mod forward;
mod integration;
mod job;
mod reader;
mod record_flows;
mod reverse;
mod run;
mod schedule;
mod settlement;
mod status;
mod step;

pub use cleanup::{CleanupPolicy, CleanupReport, cleanup};
pub use components::{ItemProcessor, ItemReader, ItemStream, ItemWriter};
pub use connector::{Connector, INTEGRATION_TYPE_USAGE, IntegrationType, ProcessedStatuses};
pub use context::{FORCE_PARAMETER, ID_PARAMETER, IDS_PARAMETER, JobParameters, StepContext};
pub use definition::{
    DEFAULT_BATCH_SIZE, DefinitionError, JobCatalog, JobDefinition, JobType, StepDefinition,
};
pub use execution::{
    Counters, ExecutionFilter, Executions, JobExecution, StepExecution, StoredWarning, Warning,
};
pub use execution_status::{BatchStatus, ExitStatus};
pub use forward::{SyncOptions, SyncReport, forward_sync};
pub use integration::{
    DEFAULT_OVERLAP, Integration, Integrations, NewIntegration, SyncPriority, SyncSettings,
};
pub use job::{JobOutcome, run_job};
pub use reader::{
    BACKEND_ADAPTER_USAGE, ENTITY_BY_ID, EntityByIdReader, LOCAL_CURSOR, LOCAL_MODIFIED_SINCE,
    LOCAL_REPOSITORY_USAGE, LocalModifiedSinceReader, PASS_THROUGH, PassThrough, REMOTE_CURSOR,
    REMOTE_PAGING, RemotePagingReader, format_time, parse_time, register_builtins,
};
pub use record_flows::{
    FLOW_OUTCOMES, FlowOutcomes, RECORD_IMPORT, RecordImportProcessor, TWO_WAY_EXPORT,
    TwoWayExportProcessor, register_record_flows,
};
pub use reverse::{
    ReverseSyncArgs, ReverseSyncJob, ReverseSyncListener, pending_ids, queued_job,
    request_reverse_sync, reverse_sync,
};
pub use run::ConnectorRun;
pub use schedule::{
    ForwardSyncArgs, ForwardSyncJob, schedule_due_syncs, schedule_forward_sync,
    spawn_periodic_syncs,
};
pub use status::{ConnectorStatus, NewStatus, StatusCode, Statuses, stats_message};

/// Adds the batch queue jobs ([`ForwardSyncJob`], [`ReverseSyncJob`]) to a worker's registry.
/// The worker must also be given the [`App`](crate::App) as data.
pub fn register_jobs(registry: crate::queue::JobRegistry) -> crate::queue::JobRegistry {
    registry
        .register::<ForwardSyncJob>()
        .register::<ReverseSyncJob>()
}
