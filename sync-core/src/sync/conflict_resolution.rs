//! Settling a conflict checkpoint field by field, as an operator decides.
//!
//! A two-way import under [`ConflictPolicy::FieldMerge`](super::ConflictPolicy) leaves the
//! fields both sides changed differently untouched on both sides and raises a checkpoint
//! holding each field's base, local and remote values. [`resolve_conflict`] takes one
//! [`Side`] per field and goes through the normal flows:
//!
//! - a field where the **remote** side wins is written to the local record in a session
//!   whose origin is the backend (the app's listeners run; this backend's export listener
//!   does not echo it back);
//! - a field where the **local** side wins is sent by an [`ExportRecordJob`] delayed in the
//!   same transaction, limited to those fields;
//! - either way the binding's synced state takes the remote value the import found as its
//!   base and no longer lists the field in conflict, so the next import or export sees one
//!   side changed only (a remote change made since is a new conflict, as it should be);
//! - the checkpoint, and any older one of the same record whose fields are all settled now,
//!   is marked reviewed.
//!
//! All of it commits in one transaction.
//!
//! ```no_run
//! # async fn demo(app: sync_core::App, checkpoint: i64) -> sync_core::SyncResult<()> {
//! use sync_core::sync::{FieldChoice, Side, resolve_conflict};
//!
//! let settled = resolve_conflict(
//!     &app,
//!     checkpoint,
//!     &[
//!         FieldChoice::new("firstname", Side::Remote),
//!         FieldChoice::new("phone", Side::Local),
//!     ],
//! )
//! .await?;
//! assert_eq!(settled.written_locally, ["firstname"]);
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::components::{binder_for, repository_for};
use super::jobs::{ExportRecordArgs, ExportRecordJob};
use super::two_way::{OPEN_CONFLICTS, Side, open_conflicts};
use crate::app::App;
use crate::context::Origin;
use crate::error::{SyncError, SyncResult};
use crate::queue::{JobFunction, JobId};
use crate::storage::{CheckpointState, SyncedState};
use crate::values::Values;

/// The side an operator picked for one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChoice {
    /// The local field name.
    pub field: String,
    /// The side whose value wins.
    pub side: Side,
}

impl FieldChoice {
    /// `side` wins for `field`.
    pub fn new(field: &str, side: Side) -> Self {
        FieldChoice {
            field: field.to_owned(),
            side,
        }
    }
}

/// What [`resolve_conflict`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConflictResolution {
    /// The fields whose remote value was written to the local record.
    pub written_locally: Vec<String>,
    /// The fields whose local value an export job sends.
    pub exported: Vec<String>,
    /// That export job.
    pub export_job: Option<JobId>,
    /// The checkpoints marked reviewed (this one and older ones it settles).
    pub reviewed: Vec<i64>,
}

/// Settles conflict checkpoint `checkpoint_id` with one choice per field in conflict (see
/// the module documentation).
///
/// # Errors
/// A checkpoint that does not exist, was already reviewed or is not a field conflict; a
/// choice for a field not in conflict, two choices for one field, or a field left without
/// a choice (each named); the record's binding gone; the local write, the export job or the
/// database failing (then nothing is changed).
pub async fn resolve_conflict(
    app: &App,
    checkpoint_id: i64,
    choices: &[FieldChoice],
) -> SyncResult<ConflictResolution> {
    let what = format!("checkpoint {checkpoint_id}");
    let checkpoints = app.storage().checkpoints();
    let checkpoint = checkpoints
        .get(checkpoint_id)
        .await?
        .ok_or_else(|| SyncError::Failed(format!("{what} does not exist")))?;
    if checkpoint.state == CheckpointState::Reviewed {
        return Err(SyncError::Failed(format!("{what} was already reviewed")));
    }
    let binding_model = match (&checkpoint.binding_model, checkpoint.conflicts.is_empty()) {
        (Some(model), false) => model.clone(),
        _ => {
            return Err(SyncError::Failed(format!(
                "{what} is not a field conflict, there is nothing to settle: mark it reviewed"
            )));
        }
    };
    let mut chosen: Vec<(&FieldChoice, Option<&Value>)> = Vec::new();
    let mut seen = BTreeSet::new();
    for choice in choices {
        let conflict = checkpoint
            .conflicts
            .iter()
            .find(|c| c.field == choice.field)
            .ok_or_else(|| {
                SyncError::invalid_data(&what, &choice.field, "this field is not in conflict")
            })?;
        if !seen.insert(choice.field.as_str()) {
            return Err(SyncError::invalid_data(
                &what,
                &choice.field,
                "two choices for one field",
            ));
        }
        chosen.push((choice, conflict.remote.as_ref()));
    }
    if let Some(missing) = checkpoint
        .conflicts
        .iter()
        .find(|c| !seen.contains(c.field.as_str()))
    {
        return Err(SyncError::invalid_data(
            &what,
            &missing.field,
            "choose the local or the remote side",
        ));
    }

    let ctx = app
        .work_on(checkpoint.backend_id, &binding_model)
        .await?
        .with_origin(Origin::Backend(checkpoint.backend_id));
    let binder = binder_for(&ctx)?;
    let repository = repository_for(&ctx, &checkpoint.model)?;
    let record = format!("{} {}", checkpoint.model, checkpoint.record_id);

    let mut tx = app.storage().begin().await?;
    let binding = binder
        .binding_of_local(&mut tx, checkpoint.record_id)
        .await?
        .ok_or_else(|| {
            SyncError::Failed(format!(
                "{what}: {record} is no longer bound to {binding_model}, nothing to settle"
            ))
        })?;
    let mut to_local = Values::new();
    let mut base = binding
        .synced
        .as_ref()
        .map(|s| s.values.clone())
        .unwrap_or_default();
    let mut written_locally = Vec::new();
    let mut exported = Vec::new();
    for (choice, remote) in &chosen {
        let remote = remote.cloned().unwrap_or(Value::Null);
        if choice.side == Side::Remote {
            to_local.insert(choice.field.clone(), remote.clone());
            written_locally.push(choice.field.clone());
        } else {
            exported.push(choice.field.clone());
        }
        // Both ways, the remote value the operator saw is what both sides now start from:
        // the local value differs from it until the export has sent it.
        base.insert(choice.field.clone(), remote);
    }
    let still_open: Vec<Value> = open_conflicts(&base)
        .into_iter()
        .filter(|f| !seen.contains(f.as_str()))
        .map(Value::from)
        .collect();
    if still_open.is_empty() {
        base.remove(OPEN_CONFLICTS);
    } else {
        base.insert(OPEN_CONFLICTS.to_owned(), Value::Array(still_open));
    }

    if !to_local.is_empty() {
        ctx.app()
            .session(&mut tx, ctx.origin())
            .write(&*repository, checkpoint.record_id, &to_local)
            .await?;
    }
    binder
        .set_synced_state(&mut tx, &binding, &SyncedState::of(base))
        .await?;
    let export_job = if exported.is_empty() {
        None
    } else {
        let job = ExportRecordJob::with_args(ExportRecordArgs {
            backend_id: checkpoint.backend_id,
            model: binding_model.clone(),
            local_id: checkpoint.record_id,
            fields: Some(exported.clone()),
        })?;
        Some(app.queue().delay(&mut tx, job).await?)
    };
    // Another operator may have settled it since it was read: then this one changes nothing.
    if checkpoints
        .mark_reviewed_on(&mut tx, &[checkpoint_id])
        .await?
        == 0
    {
        return Err(SyncError::Failed(format!("{what} was already reviewed")));
    }
    let mut reviewed = vec![checkpoint_id];
    for older in checkpoints
        .open_conflicts_of(
            &mut tx,
            checkpoint.backend_id,
            &binding_model,
            checkpoint.record_id,
        )
        .await?
    {
        if older.id != checkpoint_id
            && older
                .conflicts
                .iter()
                .all(|c| seen.contains(c.field.as_str()))
        {
            reviewed.push(older.id);
        }
    }
    checkpoints
        .mark_reviewed_on(&mut tx, &reviewed[1..])
        .await?;
    tx.commit().await?;
    Ok(ConflictResolution {
        written_locally,
        exported,
        export_job,
        reviewed,
    })
}
