//! The synchronizers: the flows of import, export and deletion, written once.
//!
//! A connector describes what is specific to a model in a small *spec* ([`ImportSpec`],
//! [`ExportSpec`]) — how to read the remote update date, which records it depends on, how to
//! find an existing remote record by its natural key — and registers it; the flows here do the
//! rest the same way for every model: up-to-date checks, locks, dependencies first, mapping,
//! local writes with the backend as origin, binding, sync state, checkpoints. A conflict
//! checkpoint a human settles field by field goes back through the same flows with
//! [`resolve_conflict`].
//!
//! Usages under which the flows are registered and looked up:
//! [`RECORD_IMPORTER`], [`RECORD_EXPORTER`], [`RECORD_DELETER`], plus the backend adapter
//! ([`BACKEND_ADAPTER`]), the binder ([`BINDER`]) and local repositories ([`LOCAL_REPOSITORY`]).

mod batch_exporter;
mod batch_importer;
mod batch_job;
mod components;
mod conflict_resolution;
mod deleter;
mod exporter;
mod importer;
mod jobs;
mod keyset;
mod page_importer;
mod progress;
pub(crate) mod two_way;

pub use batch_exporter::{BatchExportReport, export_batch};
pub use batch_importer::{
    BatchFields, BatchImportReport, ImportDirectly, ImportWindow, RecordDispatch, import_batch,
    import_page,
};
pub use batch_job::{
    BATCH_IMPORT, BatchImportConfig, ImportBatchArgs, ImportBatchJob, ImportMode, run_batch_import,
};
pub use components::{
    BACKEND_ADAPTER, BINDER, LOCAL_REPOSITORY, RECORD_DELETER, RECORD_EXPORTER, RECORD_IMPORTER,
    adapter_for, binder_for, repository_for,
};
pub use conflict_resolution::{ConflictResolution, FieldChoice, resolve_conflict};
pub use deleter::{DefaultDeleter, DeleteOutcome, RecordDeleter, delete_record};
pub use exporter::{
    ExportDependency, ExportOutcome, ExportSpec, RecordExporter, SpecExporter,
    export_merged_record, export_record,
};
pub use importer::{
    Dependency, ImportOutcome, ImportSpec, RecordImporter, SpecImporter, import_record,
    import_record_data,
};
pub use jobs::{
    DelayImport, DeleteRecordArgs, DeleteRecordJob, ExportListener, ExportRecordArgs,
    ExportRecordJob, ImportRecordArgs, ImportRecordJob, register_sync_jobs,
};
pub use keyset::{KeysetPager, KeysetPosition};
pub use page_importer::import_page_data;
pub use progress::{ImportProgress, ImportProgressHook};
pub use two_way::{
    ConflictPolicy, FieldConflict, Merge, OPEN_CONFLICTS, Side, UnknownConflictPolicy,
    merge_three_way, open_conflicts, record_open_conflicts,
};
