//! The batch export flow: every local record modified since a date.

use chrono::{DateTime, Utc};

use super::components::{RECORD_EXPORTER, repository_for};
use super::exporter::{ExportOutcome, RecordExporter};
use crate::context::WorkContext;
use crate::error::{SyncError, SyncResult};
use crate::ids::LocalId;

/// What a batch export did.
#[derive(Debug, Default)]
pub struct BatchExportReport {
    /// Records created remotely.
    pub created: u64,
    /// Records updated remotely.
    pub updated: u64,
    /// Records with nothing to send or skipped.
    pub unchanged: u64,
    /// Records whose export failed, with the error; the others went on.
    pub errors: Vec<(LocalId, SyncError)>,
}

/// Exports every record of the context's model modified at or after `since`, `page_size`
/// ids at a time (keyset paging: memory stays bounded).
pub async fn export_batch(
    ctx: &WorkContext,
    since: DateTime<Utc>,
    page_size: u32,
) -> SyncResult<BatchExportReport> {
    let repository = repository_for(ctx, ctx.model())?;
    let exporter = ctx.component::<dyn RecordExporter>(RECORD_EXPORTER)?;
    let mut report = BatchExportReport::default();
    let mut after = None;
    loop {
        let ids = {
            let mut conn = ctx.storage().pool().acquire().await?;
            repository
                .modified_since(&mut conn, since, after, page_size.max(1))
                .await?
        };
        let Some(last) = ids.last().copied() else {
            break;
        };
        for id in ids {
            match exporter.run(ctx, id, None).await {
                Ok(ExportOutcome::Created(_) | ExportOutcome::Adopted(_)) => report.created += 1,
                Ok(ExportOutcome::Updated { .. }) => report.updated += 1,
                Ok(ExportOutcome::NothingToDo(_) | ExportOutcome::Skipped(_)) => {
                    report.unchanged += 1
                }
                Err(error) => {
                    tracing::warn!(model = ctx.model(), local_id = %id, %error, "record export failed");
                    report.errors.push((id, error));
                }
            }
        }
        after = Some(last);
    }
    Ok(report)
}
