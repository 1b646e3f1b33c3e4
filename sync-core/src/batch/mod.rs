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
//!
//! Register the built-ins once per registry with [`register_builtins`].

mod components;
mod context;
mod definition;
mod execution;
mod execution_status;
mod integration;
mod job;
mod reader;
mod step;

pub use components::{ItemProcessor, ItemReader, ItemStream, ItemWriter};
pub use context::{FORCE_PARAMETER, ID_PARAMETER, IDS_PARAMETER, JobParameters, StepContext};
pub use definition::{
    DEFAULT_BATCH_SIZE, DefinitionError, JobCatalog, JobDefinition, JobType, StepDefinition,
};
pub use execution::{
    Counters, ExecutionFilter, Executions, JobExecution, StepExecution, StoredWarning, Warning,
};
pub use execution_status::{BatchStatus, ExitStatus};
pub use integration::{
    DEFAULT_OVERLAP, Integration, Integrations, NewIntegration, SyncPriority, SyncSettings,
};
pub use job::{JobOutcome, run_job};
pub use reader::{
    BACKEND_ADAPTER_USAGE, ENTITY_BY_ID, EntityByIdReader, LOCAL_CURSOR, LOCAL_MODIFIED_SINCE,
    LOCAL_REPOSITORY_USAGE, LocalModifiedSinceReader, PASS_THROUGH, PassThrough, REMOTE_CURSOR,
    REMOTE_PAGING, RemotePagingReader, format_time, parse_time, register_builtins,
};
