//! The usages the flows look components up by, and typed look-up helpers.

use std::sync::Arc;

use crate::adapter::BackendAdapter;
use crate::binder::{Binder, TableBinder};
use crate::context::WorkContext;
use crate::error::{SyncError, SyncResult};
use crate::local::LocalRepository;

/// Usage of the backend adapter of a model.
pub const BACKEND_ADAPTER: &str = "backend.adapter";
/// Usage of the binder of a model.
pub const BINDER: &str = "binder";
/// Usage of the local repository of a model (register it for any backend kind).
pub const LOCAL_REPOSITORY: &str = "local.repository";
/// Usage of the record importer of a model.
pub const RECORD_IMPORTER: &str = "record.importer";
/// Usage of the record exporter of a model.
pub const RECORD_EXPORTER: &str = "record.exporter";
/// Usage of the record deleter of a model.
pub const RECORD_DELETER: &str = "record.exporter.deleter";

/// The backend adapter of the context's model.
pub fn adapter_for(ctx: &WorkContext) -> SyncResult<Arc<dyn BackendAdapter>> {
    ctx.component::<dyn BackendAdapter>(BACKEND_ADAPTER)
}

/// The binder of the context's model: the registered one, else the binder over the one
/// bindings table (every binding model lives there, so a default always exists).
pub fn binder_for(ctx: &WorkContext) -> SyncResult<Arc<dyn Binder>> {
    match ctx.component::<dyn Binder>(BINDER) {
        Err(SyncError::NoComponent { .. }) => Ok(Arc::new(TableBinder::new(
            ctx.storage().clone(),
            ctx.backend().id,
            ctx.model(),
        ))),
        other => other,
    }
}

/// The local repository of `model`.
pub fn repository_for(ctx: &WorkContext, model: &str) -> SyncResult<Arc<dyn LocalRepository>> {
    ctx.component_for::<dyn LocalRepository>(model, LOCAL_REPOSITORY)
}
