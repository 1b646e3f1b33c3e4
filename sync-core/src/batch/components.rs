//! The three kinds of step components: readers, processors and writers.
//!
//! Register them in the [`ComponentRegistry`](crate::registry::ComponentRegistry) under the
//! name a job file uses for them (the usage), for a backend kind and optionally a model:
//!
//! ```
//! use std::sync::Arc;
//! use async_trait::async_trait;
//! use serde_json::Value;
//! use sync_core::batch::{ItemProcessor, StepContext};
//! use sync_core::prelude::*;
//!
//! /// Keeps customers that have an email; the others are filtered out.
//! struct WithEmail;
//!
//! #[async_trait]
//! impl ItemProcessor for WithEmail {
//!     async fn process(&self, _step: &mut StepContext, item: Value) -> SyncResult<Option<Value>> {
//!         Ok(item.get("email").is_some().then_some(item))
//!     }
//! }
//!
//! let mut registry = ComponentRegistry::new();
//! registry.register::<dyn ItemProcessor>(
//!     ApplyOn::kind("shop").model("customer"),
//!     "customer.with_email",
//!     Arc::new(WithEmail),
//! );
//! ```
//!
//! Errors follow one rule, Oro's: a record-level error
//! ([`SyncError::is_record_level`](crate::SyncError::is_record_level), e.g. invalid data)
//! skips the item (from a reader or processor) or the chunk (from a writer) with a warning
//! naming the item and the reason; any other error fails the step. In an export job the
//! items settle one by one instead: any error a retry does not fix refuses its item alone
//! and the job ends failed listing it, and a retryable error stops the step for a retry of
//! the items left (see [`reverse_sync`](super::reverse_sync)).

use async_trait::async_trait;
use serde_json::Value;
use sqlx::AnyConnection;

use super::context::StepContext;
use crate::error::SyncResult;

/// Opens the stream of items a step reads.
#[async_trait]
pub trait ItemReader: Send + Sync {
    /// Starts reading for one step run. The stream keeps the reader's position, so a
    /// shared reader component can serve several runs at once.
    async fn open(&self, step: &mut StepContext) -> SyncResult<Box<dyn ItemStream>>;
}

/// The items of one step run, one at a time.
#[async_trait]
pub trait ItemStream: Send {
    /// The next item, or `None` at the end.
    ///
    /// A record-level error becomes a warning and the step asks for the next item, so the
    /// stream must move past the bad item before returning the error.
    async fn next(&mut self, step: &mut StepContext) -> SyncResult<Option<Value>>;
}

/// Turns a read item into what the writer needs.
#[async_trait]
pub trait ItemProcessor: Send + Sync {
    /// The processed item, or `None` to filter it out silently (it is counted as skipped).
    async fn process(&self, step: &mut StepContext, item: Value) -> SyncResult<Option<Value>>;
}

/// Writes a chunk of processed items.
#[async_trait]
pub trait ItemWriter: Send + Sync {
    /// Writes `items` (never empty). `conn` is the chunk's transaction: local writes and
    /// bindings made on it commit together after the call, or roll back when it fails.
    ///
    /// Count what was done with [`StepContext::counters_mut`] (added, updated, deleted);
    /// when the chunk fails those counts are rolled back with it.
    ///
    /// Write through `conn` only: on SQLite the chunk's transaction holds the database's
    /// write lock, so a write through the pool would wait for it and time out.
    async fn write(
        &self,
        step: &mut StepContext,
        conn: &mut AnyConnection,
        items: &[Value],
    ) -> SyncResult<()>;
}
