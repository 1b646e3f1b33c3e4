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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ExternalId, LocalId};

    #[test]
    fn outcomes_are_counted_per_model_and_conflicts_apart() {
        let metrics = Metrics::new();
        let model = "magento.customer";
        let with_conflict = ImportOutcome::Updated {
            local_id: LocalId(1),
            pending_export: Vec::new(),
            conflicts: vec!["email".into()],
        };
        metrics.import_result(model, Ok(&with_conflict));
        metrics.import_result(model, Ok(&ImportOutcome::UpToDate(LocalId(2))));
        metrics.import_result(model, Ok(&ImportOutcome::Skipped("rule".into())));
        metrics.import_result(model, Err(&SyncError::Failed("boom".into())));
        metrics.export_result(model, Ok(&ExportOutcome::Adopted(ExternalId("9".into()))));
        metrics.export_result(model, Ok(&ExportOutcome::NothingToDo("same".into())));
        let text = metrics.render_process().unwrap();
        for (labels, value) in [
            (
                "direction=\"import\",model=\"magento.customer\",outcome=\"done\"",
                1,
            ),
            (
                "direction=\"import\",model=\"magento.customer\",outcome=\"unchanged\"",
                1,
            ),
            (
                "direction=\"import\",model=\"magento.customer\",outcome=\"skipped\"",
                1,
            ),
            (
                "direction=\"import\",model=\"magento.customer\",outcome=\"failed\"",
                1,
            ),
            (
                "direction=\"export\",model=\"magento.customer\",outcome=\"done\"",
                1,
            ),
            (
                "direction=\"export\",model=\"magento.customer\",outcome=\"unchanged\"",
                1,
            ),
        ] {
            let line = format!("synckit_records_total{{{labels}}} {value}\n");
            assert!(text.contains(&line), "missing {line:?} in\n{text}");
        }
        assert!(
            text.contains("synckit_conflicts_total{model=\"magento.customer\"} 1\n"),
            "{text}"
        );
    }
}
