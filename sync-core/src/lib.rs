//! The Synckit runtime.
//!
//! `sync-core` holds the concepts every connector builds on (see the workspace's design
//! notes): backends and their kinds, the component registry and the [`WorkContext`],
//! backend adapters, binders and bindings, mappers, the synchronizer flows (import, batch
//! import, export, batch export, delete), the local side (repositories, sessions, events and
//! listeners), checkpoints, locks and the storage on SQLite or PostgreSQL.
//!
//! Its two styles of sync — the per-record jobs with their batch imports ([`sync`]) and the
//! Oro-style integrations ([`batch`]) — share one engine: one incremental cursor per
//! (backend, model) ([`storage::ImportCursors`]), one table of schedules claimed by one loop
//! ([`scheduler`]) and one conflict setting ([`sync::ConflictPolicy`], with its per-field
//! three-way merge and checkpoint).
//!
//! # Which style do I use?
//!
//! - **Record jobs** ([`sync`]): one queue job per record (import, export, delete), each
//!   retried and requeued on its own; a batch import pages the backend from the stored cursor
//!   and hands each changed record to its job. For changes that should flow record by record
//!   as they happen.
//! - **Integrations** ([`batch`]): connectors whose jobs read, process and write in chunks,
//!   with executions, counters, warnings and status rows. For data flows an operator runs and
//!   reviews as a whole, declared in a connector's job file.
//!
//! An integration's steps call the record flows (`batch::register_record_flows`), so both
//! styles may run on one backend: they share the cursor, and a change is exported once.
//!
//! Most users depend on the `synckit` facade, which re-exports this crate, the derive macros
//! and a prelude.

#![warn(missing_docs)]

pub mod adapter;
pub mod app;
pub mod backend;
pub mod batch;
pub mod binder;
pub mod binding_cache;
pub mod binding_model;
pub mod capture;
pub mod context;
pub mod error;
pub mod extras;
pub mod ids;
pub mod local;
pub mod mapper;
pub mod metrics;
pub mod queue;
pub mod registry;
pub mod scheduler;
pub mod storage;
pub mod sync;
pub mod testing;
pub mod values;

#[doc(hidden)]
pub mod __private;

pub use app::App;
pub use context::{Origin, WorkContext};
pub use error::{SyncError, SyncResult};
pub use ids::{BackendId, ExternalId, LocalId};

/// The names most connector code needs, in one import.
pub mod prelude {
    pub use crate::adapter::{BackendAdapter, Condition, Filter, Page, PageRequest, SearchQuery};
    pub use crate::app::App;
    pub use crate::backend::{Backend, BackendKind, NewBackend, Secret, Secrets};
    pub use crate::batch::{
        Connector, IntegrationType, ItemProcessor, ItemReader, ItemStream, ItemWriter, JobCatalog,
        JobParameters, StepContext,
    };
    pub use crate::binder::{Binder, TableBinder};
    pub use crate::binding_model::{BindingModel, TypedBinder, TypedBinding};
    pub use crate::context::{Origin, WorkContext};
    pub use crate::error::{SyncError, SyncResult};
    pub use crate::ids::{BackendId, ExternalId, LocalId};
    pub use crate::local::{EventKind, Listener, LocalRepository, LocalSession, RecordEvent};
    pub use crate::mapper::{DerivedMapper, MapOptions, MapOutput, MapRecord, MapTarget, Mapper};
    pub use crate::queue::{
        Delayable, JobContext, JobFunction, JobId, JobRegistry, JobState, Queue, Worker, chain,
        group,
    };
    pub use crate::registry::{ApplyOn, ComponentRegistry};
    pub use crate::storage::{Binding, Storage};
    pub use crate::values::Values;
}
