//! Hearing how a batch import advances, e.g. to draw a progress bar: put an
//! [`ImportProgressHook`] in the work context's extras and the batch import reports each
//! page it reads (with the backend's count of the records left, when it gives one) and each
//! page it wrote.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use sync_core::sync::{ImportMode, ImportProgress, ImportProgressHook, run_batch_import};
//!
//! #[derive(Default)]
//! struct Count(AtomicU64);
//!
//! impl ImportProgress for Count {
//!     fn page_read(&self, records: u64, remaining: Option<u64>) {
//!         let _ = (records, remaining);
//!     }
//!     fn page_written(&self, records: u64, failed: u64) {
//!         self.0.fetch_add(records - failed, Ordering::Relaxed);
//!     }
//! }
//!
//! # async fn demo(ctx: sync_core::WorkContext) -> sync_core::SyncResult<()> {
//! let count = Arc::new(Count::default());
//! let ctx = ctx.with_extra(ImportProgressHook(count.clone()));
//! run_batch_import(&ctx, ImportMode::Direct, false).await?;
//! println!("{} records went through", count.0.load(Ordering::Relaxed));
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;

use crate::context::WorkContext;

/// What a batch import tells as it goes. Called from the import's tasks: keep it quick.
pub trait ImportProgress: Send + Sync {
    /// A page of `records` was read. `remaining` is the backend's count of the records
    /// matching the rest of the window, this page included (the window's total on the
    /// first page), when the backend gives one.
    fn page_read(&self, records: u64, remaining: Option<u64>);

    /// A page of `records` was handed over (imported, or delayed as jobs); `failed` of them
    /// failed.
    fn page_written(&self, records: u64, failed: u64);
}

/// The [`ImportProgress`] a batch import reports to, found in the work context's extras.
#[derive(Clone)]
pub struct ImportProgressHook(pub Arc<dyn ImportProgress>);

impl fmt::Debug for ImportProgressHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportProgressHook").finish_non_exhaustive()
    }
}

/// The context's progress hook, if it has one.
pub(super) fn hook(ctx: &WorkContext) -> Option<&dyn ImportProgress> {
    ctx.extra::<ImportProgressHook>().map(|hook| &*hook.0)
}
