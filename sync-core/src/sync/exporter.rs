//! The record export flow, crash-safe against duplicates.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::components::{
    RECORD_EXPORTER, RECORD_IMPORTER, adapter_for, binder_for, repository_for,
};
use super::importer::RecordImporter;
use super::two_way::open_conflicts;
use crate::adapter::BackendAdapter;
use crate::context::WorkContext;
use crate::error::{SyncError, SyncResult};
use crate::ids::{ExternalId, LocalId};
use crate::mapper::{MapOptions, Mapper};
use crate::storage::SyncedState;
use crate::values::{Values, from_values};

/// What a record export did.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportOutcome {
    /// The remote record was created with this id and bound.
    Created(ExternalId),
    /// A remote record left by an interrupted export was found by its natural key, updated
    /// and bound instead of creating a duplicate.
    Adopted(ExternalId),
    /// These fields of the remote record were written.
    Updated {
        /// The remote record.
        external_id: ExternalId,
        /// The local fields whose change was sent.
        fields: Vec<String>,
    },
    /// Nothing to send (nothing changed since the last sync, or nothing mapped).
    NothingToDo(String),
    /// A skip rule matched.
    Skipped(String),
}

/// A local record another record needs on the backend before it can be exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportDependency {
    /// The dependency's model.
    pub model: String,
    /// Its local id.
    pub local_id: LocalId,
}

/// Exports one local record. Registered under [`RECORD_EXPORTER`] per model.
#[async_trait]
pub trait RecordExporter: Send + Sync {
    /// Exports local record `local_id` of the context's model; `fields` limits an update to
    /// the mappings of these changed local fields (`None`: every mapping).
    async fn run(
        &self,
        ctx: &WorkContext,
        local_id: LocalId,
        fields: Option<&[String]>,
    ) -> SyncResult<ExportOutcome>;
}

/// What is specific to exporting one model; the flow is [`export_record`].
#[async_trait]
pub trait ExportSpec: Send + Sync + 'static {
    /// The local record, deserialized from the repository's values.
    type Local: DeserializeOwned + Send + Sync;
    /// The export mapper (local record → remote payload).
    type Mapper: Mapper<Source = Self::Local, Target = Self::Target>;
    /// The mapper's target, serialized into the payload.
    type Target: Serialize + Send;

    /// The mapper.
    fn mapper(&self) -> &Self::Mapper;

    /// The local model read (defaults to the context's model).
    fn local_model<'a>(&'a self, ctx: &'a WorkContext) -> &'a str {
        ctx.model()
    }

    /// Whether to keep the last-synced state: then a write whose local fields equal what was
    /// last synced is not sent again (echo suppression). On by default.
    fn track_sync_state(&self) -> bool {
        true
    }

    /// Whether a record already exported is written again when it changes. Documents the
    /// backend never lets change (an invoice, a shipment) say `false`: once bound, their
    /// exports have nothing to do.
    fn updates_remote(&self) -> bool {
        true
    }

    /// Whether an update first imports the remote record (a two-way model): a remote change
    /// the imports have not picked up yet is merged with the local one under the conflict
    /// policy before anything is written, instead of being overwritten by the export. Costs
    /// one read of the remote record per update. Off by default.
    fn refresh_before_update(&self, ctx: &WorkContext) -> bool {
        let _ = ctx;
        false
    }

    /// A reason to skip this record, if any.
    async fn skip_reason(
        &self,
        ctx: &WorkContext,
        local: &Self::Local,
    ) -> SyncResult<Option<String>> {
        let _ = (ctx, local);
        Ok(None)
    }

    /// Local records to export first.
    async fn dependencies(
        &self,
        ctx: &WorkContext,
        local: &Self::Local,
    ) -> SyncResult<Vec<ExportDependency>> {
        let _ = (ctx, local);
        Ok(Vec::new())
    }

    /// Finds the remote record a previous, interrupted export created, by its natural key
    /// (email, SKU, increment id) in `payload`. Without it, a crash between the remote create
    /// and the bind cannot be told from "never created", and the retry fails rather than
    /// risk a duplicate.
    async fn find_remote(
        &self,
        ctx: &WorkContext,
        adapter: &dyn BackendAdapter,
        payload: &Values,
    ) -> SyncResult<Option<ExternalId>> {
        let _ = (ctx, adapter, payload);
        Err(SyncError::Failed(format!(
            "{}: an earlier export was interrupted after its create call and this model has no \
             natural key to find the remote record; check the backend, then bind or unbind it",
            ctx.model()
        )))
    }
}

/// A [`RecordExporter`] running the default flow for an [`ExportSpec`].
#[derive(Debug, Clone)]
pub struct SpecExporter<S>(pub S);

#[async_trait]
impl<S: ExportSpec> RecordExporter for SpecExporter<S> {
    async fn run(
        &self,
        ctx: &WorkContext,
        local_id: LocalId,
        fields: Option<&[String]>,
    ) -> SyncResult<ExportOutcome> {
        export_record(&self.0, ctx, local_id, fields).await
    }
}

/// The record export flow: lock → read → (two-way: import the remote record first) → skip
/// rules → dependencies first → map (changed fields on update, everything on create) → echo
/// suppression → create or write remotely → bind and record the synced state.
///
/// Before a remote create, the intent is committed on the binding; a retry that finds the
/// intent looks the remote record up with [`ExportSpec::find_remote`] and adopts it, so a
/// crash between the create and the bind never yields a duplicate.
pub async fn export_record<S: ExportSpec>(
    spec: &S,
    ctx: &WorkContext,
    local_id: LocalId,
    fields: Option<&[String]>,
) -> SyncResult<ExportOutcome> {
    let refresh = spec.refresh_before_update(ctx);
    export_record_with(spec, ctx, local_id, fields, refresh).await
}

/// [`export_record`] for a caller that has just merged the remote record itself (e.g. with
/// an integration's sync priority instead of the backend's conflict policy): the flow does
/// not import it again, whatever [`ExportSpec::refresh_before_update`] says.
pub async fn export_merged_record<S: ExportSpec>(
    spec: &S,
    ctx: &WorkContext,
    local_id: LocalId,
    fields: Option<&[String]>,
) -> SyncResult<ExportOutcome> {
    export_record_with(spec, ctx, local_id, fields, false).await
}

async fn export_record_with<S: ExportSpec>(
    spec: &S,
    ctx: &WorkContext,
    local_id: LocalId,
    fields: Option<&[String]>,
    refresh: bool,
) -> SyncResult<ExportOutcome> {
    let lock_key = format!("export:{}:{}:{local_id}", ctx.backend().id, ctx.model());
    // A short lease renewed while the export runs: a killed worker's lock frees itself
    // within a job lease, and the export stops if the lock is lost.
    let lock = ctx
        .storage()
        .try_lock(&lock_key, crate::storage::LOCK_LEASE)
        .await?;
    let outcome = lock
        .while_held(export_locked(spec, ctx, local_id, fields, refresh))
        .await;
    lock.release().await?;
    outcome
}

async fn export_locked<S: ExportSpec>(
    spec: &S,
    ctx: &WorkContext,
    local_id: LocalId,
    fields: Option<&[String]>,
    refresh: bool,
) -> SyncResult<ExportOutcome> {
    let record = format!("{} {local_id}", spec.local_model(ctx));
    let repository = repository_for(ctx, spec.local_model(ctx))?;
    let binder = binder_for(ctx)?;
    let read = || async {
        let mut conn = ctx.storage().pool().acquire().await?;
        let values = repository.get(&mut conn, local_id).await?;
        let binding = binder.binding_of_local(&mut conn, local_id).await?;
        SyncResult::Ok(values.map(|values| (values, binding)))
    };
    let Some((mut local_values, mut binding)) = read().await? else {
        return Ok(ExportOutcome::NothingToDo(format!(
            "{record} no longer exists"
        )));
    };
    // Two-way: take the remote side's news in first. The import merges them into the local
    // record and the synced state, so the export below sends only what the local side still
    // has to say (a remote change that won is now local too, a conflict left open is not
    // sent).
    if let Some(external_id) = binding.as_ref().and_then(|b| b.external_id.clone())
        && spec.updates_remote()
        && refresh
    {
        let importer = ctx.component::<dyn RecordImporter>(RECORD_IMPORTER)?;
        importer.run(ctx, &external_id, false).await?;
        let Some(fresh) = read().await? else {
            return Ok(ExportOutcome::NothingToDo(format!(
                "{record} no longer exists"
            )));
        };
        (local_values, binding) = fresh;
    }
    let local: S::Local = from_values(&record, serde_json::Value::Object(local_values.clone()))?;
    if let Some(reason) = spec.skip_reason(ctx, &local).await? {
        return Ok(ExportOutcome::Skipped(reason));
    }
    for dependency in spec.dependencies(ctx, &local).await? {
        export_dependency(ctx, &dependency).await?;
    }
    let adapter = adapter_for(ctx)?;
    let read_fields = spec.mapper().changed_by_fields();

    match binding.as_ref().and_then(|b| b.external_id.clone()) {
        Some(external_id) if !spec.updates_remote() => Ok(ExportOutcome::NothingToDo(format!(
            "{record} was exported as {external_id} and is not updated afterwards"
        ))),
        Some(external_id) => {
            let binding = binding
                .as_ref()
                .ok_or_else(|| SyncError::Failed("binding vanished".into()))?;
            // The local fields that differ from what was last synced: the rest would be an
            // echo of the last sync.
            let mut changed: BTreeSet<String> = match fields {
                Some(fields) => fields.iter().cloned().collect(),
                None => read_fields.iter().map(|f| (*f).to_owned()).collect(),
            };
            if spec.track_sync_state()
                && let Some(synced) = &binding.synced
            {
                // Fields both sides changed and nobody settled yet stay as they are on
                // both sides until a human does (see the checkpoint).
                let open = open_conflicts(&synced.values);
                changed
                    .retain(|f| synced.values.get(f) != local_values.get(f) && !open.contains(f));
            }
            if changed.is_empty() {
                return Ok(ExportOutcome::NothingToDo(format!(
                    "{record}: no change since the last sync"
                )));
            }
            let payload = spec
                .mapper()
                .map(
                    &local,
                    &MapOptions::for_changed(changed.iter().cloned()),
                    ctx,
                )
                .await?
                .into_values(&record)?;
            if payload.is_empty() {
                return Ok(ExportOutcome::NothingToDo(format!(
                    "{record}: nothing to export"
                )));
            }
            let started = Utc::now();
            adapter.write(&external_id, &payload).await?;
            let mut tx = ctx.storage().begin().await?;
            let bound = binder
                .bind(&mut tx, &external_id, local_id, started)
                .await?;
            if spec.track_sync_state() {
                let state = merged_state(bound.synced.as_ref(), &local_values, read_fields);
                binder.set_synced_state(&mut tx, &bound, &state).await?;
            }
            tx.commit().await?;
            Ok(ExportOutcome::Updated {
                external_id,
                fields: changed.into_iter().collect(),
            })
        }
        None => {
            let payload = spec
                .mapper()
                .map(&local, &MapOptions::for_create(), ctx)
                .await?
                .into_values(&record)?;
            let interrupted = binding
                .as_ref()
                .is_some_and(|b| b.export_intent_at.is_some());
            let started = Utc::now();
            let (external_id, adopted) = match interrupted {
                true => match spec.find_remote(ctx, &*adapter, &payload).await? {
                    Some(found) => {
                        // A record the backend never updates (an invoice) is adopted as it
                        // is: the interrupted create already sent this payload.
                        if spec.updates_remote() {
                            adapter.write(&found, &payload).await?;
                        }
                        (found, true)
                    }
                    None => (adapter.create(&payload).await?, false),
                },
                false => {
                    // Commit the intent before the call: it is what tells a retry that the
                    // create may have happened.
                    let mut tx = ctx.storage().begin().await?;
                    binder.record_export_intent(&mut tx, local_id).await?;
                    tx.commit().await?;
                    (adapter.create(&payload).await?, false)
                }
            };
            let mut tx = ctx.storage().begin().await?;
            let bound = binder
                .bind(&mut tx, &external_id, local_id, started)
                .await?;
            if spec.track_sync_state() {
                let state = merged_state(None, &local_values, read_fields);
                binder.set_synced_state(&mut tx, &bound, &state).await?;
            }
            tx.commit().await?;
            Ok(if adopted {
                ExportOutcome::Adopted(external_id)
            } else {
                ExportOutcome::Created(external_id)
            })
        }
    }
}

/// The synced state after an export: the previous state with the exported local fields.
fn merged_state(
    previous: Option<&SyncedState>,
    local_values: &Values,
    read_fields: &[&str],
) -> SyncedState {
    let mut values = previous.map(|s| s.values.clone()).unwrap_or_default();
    for field in read_fields {
        if let Some(value) = local_values.get(*field) {
            values.insert((*field).to_owned(), value.clone());
        }
    }
    SyncedState::of(values)
}

/// Exports a dependency synchronously, in the same job, when it has no external id yet.
async fn export_dependency(ctx: &WorkContext, dependency: &ExportDependency) -> SyncResult<()> {
    let dep_ctx = ctx.work_on(&dependency.model);
    let binder = binder_for(&dep_ctx)?;
    let bound = {
        let mut conn = ctx.storage().pool().acquire().await?;
        binder.to_external(&mut conn, dependency.local_id).await?
    };
    if bound.is_none() {
        let exporter: Arc<dyn RecordExporter> = dep_ctx.component(RECORD_EXPORTER)?;
        exporter.run(&dep_ctx, dependency.local_id, None).await?;
    }
    Ok(())
}
