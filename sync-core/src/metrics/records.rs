//! Counting what the record flows did: an import's or an export's outcome becomes a
//! `synckit_records_total` sample (and a `synckit_conflicts_total` one when fields were
//! left for a human).
//!
//! ```
//! use sync_core::LocalId;
//! use sync_core::metrics::Metrics;
//! use sync_core::sync::ImportOutcome;
//!
//! let metrics = Metrics::new();
//! let outcome: sync_core::SyncResult<ImportOutcome> = Ok(ImportOutcome::Created(LocalId(7)));
//! metrics.import_result("magento.customer", outcome.as_ref());
//! ```

use super::Metrics;
use super::labels::{Direction, RecordOutcome};
use crate::error::SyncError;
use crate::sync::{ExportOutcome, ImportOutcome};

impl Metrics {
    /// Counts a record import's result (`Err` counts as failed).
    pub fn import_result(&self, model: &str, result: Result<&ImportOutcome, &SyncError>) {
        let outcome = match result {
            Ok(ImportOutcome::Created(_)) => RecordOutcome::Done,
            Ok(ImportOutcome::Updated { conflicts, .. }) => {
                if !conflicts.is_empty() {
                    self.conflict(model);
                }
                RecordOutcome::Done
            }
            Ok(ImportOutcome::UpToDate(_)) => RecordOutcome::Unchanged,
            Ok(ImportOutcome::Skipped(_)) => RecordOutcome::Skipped,
            Err(_) => RecordOutcome::Failed,
        };
        self.record(Direction::Import, model, outcome);
    }

    /// Counts a record export's result (`Err` counts as failed).
    pub fn export_result(&self, model: &str, result: Result<&ExportOutcome, &SyncError>) {
        let outcome = match result {
            Ok(ExportOutcome::Created(_) | ExportOutcome::Adopted(_)) => RecordOutcome::Done,
            Ok(ExportOutcome::Updated { .. }) => RecordOutcome::Done,
            Ok(ExportOutcome::NothingToDo(_)) => RecordOutcome::Unchanged,
            Ok(ExportOutcome::Skipped(_)) => RecordOutcome::Skipped,
            Err(_) => RecordOutcome::Failed,
        };
        self.record(Direction::Export, model, outcome);
    }
}
