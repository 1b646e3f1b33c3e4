//! The record import flow.

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::AnyConnection;

use super::components::{RECORD_IMPORTER, adapter_for, binder_for, repository_for};
use super::two_way::{ConflictPolicy, Merge, Side, merge_three_way, record_open_conflicts};
use crate::context::WorkContext;
use crate::error::{SyncError, SyncResult};
use crate::ids::{ExternalId, LocalId};
use crate::local::LocalRepository;
use crate::mapper::{MapOptions, Mapper};
use crate::storage::{BindRow, Binding, SyncedState};
use crate::values::{Values, from_values};

/// What a record import did.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportOutcome {
    /// A local record was created and bound.
    Created(LocalId),
    /// The bound local record was updated. `pending_export` lists local fields whose local
    /// value won a conflict or changed alone and still has to be exported.
    Updated {
        /// The local record.
        local_id: LocalId,
        /// Local fields the backend does not have yet.
        pending_export: Vec<String>,
        /// Fields left for a human (a checkpoint was added).
        conflicts: Vec<String>,
    },
    /// Nothing to import: the binding's sync date is not older than the remote record, or
    /// (two-way) the remote record holds what was last synced and the local one too (e.g.
    /// the remote side stamped our own export).
    UpToDate(LocalId),
    /// A skip rule matched.
    Skipped(String),
}

/// A record another record needs before it can be imported (an order's customer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// The dependency's model (registry and binding model).
    pub model: String,
    /// Its external id.
    pub external_id: ExternalId,
    /// Import it even when it is already bound (to refresh it).
    pub always: bool,
}

impl Dependency {
    /// A dependency imported when not bound yet.
    pub fn new(model: &str, external_id: impl Into<ExternalId>) -> Self {
        Dependency {
            model: model.to_owned(),
            external_id: external_id.into(),
            always: false,
        }
    }
}

/// Imports one record. Registered under [`RECORD_IMPORTER`] per model.
#[async_trait]
pub trait RecordImporter: Send + Sync {
    /// Reads the record `external_id` of the context's model from the backend and imports
    /// it; `force` skips the up-to-date check.
    async fn run(
        &self,
        ctx: &WorkContext,
        external_id: &ExternalId,
        force: bool,
    ) -> SyncResult<ImportOutcome> {
        // Taken before the read: a change made on the remote side while we import is newer
        // than this sync date, so the next incremental run picks it up.
        let read_at = Utc::now();
        let record = adapter_for(ctx)?.read(external_id).await?;
        self.import_data(ctx, external_id, record, read_at, force)
            .await
    }

    /// Imports a record already read (e.g. from a search page, which saves one request per
    /// record); `read_at` is when the read started.
    async fn import_data(
        &self,
        ctx: &WorkContext,
        external_id: &ExternalId,
        record: Value,
        read_at: DateTime<Utc>,
        force: bool,
    ) -> SyncResult<ImportOutcome>;

    /// Imports a page of records already read (a batch import's search page); returns one
    /// outcome per record, in order. The default imports them one by one; the default flow
    /// ([`SpecImporter`]) writes the page in one transaction.
    async fn import_page(
        &self,
        ctx: &WorkContext,
        records: &[(ExternalId, Value)],
        read_at: DateTime<Utc>,
    ) -> Vec<SyncResult<ImportOutcome>> {
        let mut outcomes = Vec::with_capacity(records.len());
        for (external_id, record) in records {
            outcomes.push(
                self.import_data(ctx, external_id, record.clone(), read_at, false)
                    .await,
            );
        }
        outcomes
    }
}

/// What is specific to importing one model; the flow is [`import_record`].
#[async_trait]
pub trait ImportSpec: Send + Sync + 'static {
    /// The remote record, deserialized from the adapter's JSON.
    type Remote: DeserializeOwned + Send + Sync;
    /// The import mapper (remote record → local values).
    type Mapper: Mapper<Source = Self::Remote, Target = Self::Target>;
    /// The mapper's target, serialized into the local values.
    type Target: Serialize + Send;

    /// The mapper.
    fn mapper(&self) -> &Self::Mapper;

    /// The local model written (defaults to the context's model).
    fn local_model<'a>(&'a self, ctx: &'a WorkContext) -> &'a str {
        ctx.model()
    }

    /// When the remote record was last modified, for the up-to-date check.
    fn remote_updated_at(&self, remote: &Self::Remote) -> Option<DateTime<Utc>> {
        let _ = remote;
        None
    }

    /// When the local record was last modified, for [`ConflictPolicy::NewestWins`].
    fn local_updated_at(&self, local: &Values) -> Option<DateTime<Utc>> {
        let _ = local;
        None
    }

    /// `Some(policy)` for a two-way model: the import keeps the last-synced state and
    /// settles conflicts with a three-way merge. The context tells the backend, whose
    /// settings usually hold the policy.
    fn two_way(&self, ctx: &WorkContext) -> Option<ConflictPolicy> {
        let _ = ctx;
        None
    }

    /// A reason to skip this record, if any.
    async fn skip_reason(
        &self,
        ctx: &WorkContext,
        remote: &Self::Remote,
    ) -> SyncResult<Option<String>> {
        let _ = (ctx, remote);
        Ok(None)
    }

    /// Records to import first.
    async fn dependencies(
        &self,
        ctx: &WorkContext,
        remote: &Self::Remote,
    ) -> SyncResult<Vec<Dependency>> {
        let _ = (ctx, remote);
        Ok(Vec::new())
    }

    /// An existing, unbound local record to bind instead of creating one (a customer found
    /// by email, a product by SKU).
    async fn existing_local(
        &self,
        ctx: &WorkContext,
        conn: &mut AnyConnection,
        repository: &dyn LocalRepository,
        remote: &Self::Remote,
    ) -> SyncResult<Option<LocalId>> {
        let _ = (ctx, conn, repository, remote);
        Ok(None)
    }

    /// [`ImportSpec::existing_local`] for a page of unbound records, one answer per record
    /// in order. The default asks `existing_local` for each; override it to look the page up
    /// with one query (e.g. [`LocalRepository::find_many_by`]).
    async fn existing_locals(
        &self,
        ctx: &WorkContext,
        conn: &mut AnyConnection,
        repository: &dyn LocalRepository,
        remotes: &[&Self::Remote],
    ) -> SyncResult<Vec<Option<LocalId>>> {
        let mut found = Vec::with_capacity(remotes.len());
        for remote in remotes {
            found.push(self.existing_local(ctx, conn, repository, remote).await?);
        }
        Ok(found)
    }

    /// Metadata to store on the binding with the bind (e.g. a binding model's extras, such
    /// as an order number), if any.
    fn binding_metadata(&self, remote: &Self::Remote) -> SyncResult<Option<Value>> {
        let _ = remote;
        Ok(None)
    }

    /// Runs in the import's transaction after the write and the bind (e.g. a checkpoint).
    async fn after_import(
        &self,
        ctx: &WorkContext,
        conn: &mut AnyConnection,
        remote: &Self::Remote,
        local_id: LocalId,
        created: bool,
    ) -> SyncResult<()> {
        let _ = (ctx, conn, remote, local_id, created);
        Ok(())
    }
}

/// A [`RecordImporter`] running the default flow for an [`ImportSpec`].
#[derive(Debug, Clone)]
pub struct SpecImporter<S>(pub S);

#[async_trait]
impl<S: ImportSpec> RecordImporter for SpecImporter<S> {
    async fn import_data(
        &self,
        ctx: &WorkContext,
        external_id: &ExternalId,
        record: Value,
        read_at: DateTime<Utc>,
        force: bool,
    ) -> SyncResult<ImportOutcome> {
        import_record_data(&self.0, ctx, external_id, record, read_at, force).await
    }

    async fn import_page(
        &self,
        ctx: &WorkContext,
        records: &[(ExternalId, Value)],
        read_at: DateTime<Utc>,
    ) -> Vec<SyncResult<ImportOutcome>> {
        super::page_importer::import_page_data(&self.0, ctx, records, read_at).await
    }
}

/// The record import flow: read → skip rules → up-to-date check → dependencies → lock →
/// map → write locally with the backend as origin → bind → after-import hook, the lock, the
/// write, the bind and the hook in one transaction.
pub async fn import_record<S: ImportSpec>(
    spec: &S,
    ctx: &WorkContext,
    external_id: &ExternalId,
    force: bool,
) -> SyncResult<ImportOutcome> {
    let read_at = Utc::now();
    let record = adapter_for(ctx)?.read(external_id).await?;
    import_record_data(spec, ctx, external_id, record, read_at, force).await
}

/// [`import_record`] for a record already read at `read_at`.
pub async fn import_record_data<S: ImportSpec>(
    spec: &S,
    ctx: &WorkContext,
    external_id: &ExternalId,
    data: Value,
    read_at: DateTime<Utc>,
    force: bool,
) -> SyncResult<ImportOutcome> {
    let record = format!("{} {external_id}", ctx.model());
    let binder = binder_for(ctx)?;
    let remote: S::Remote = from_values(&record, data)?;

    if let Some(reason) = spec.skip_reason(ctx, &remote).await? {
        return Ok(ImportOutcome::Skipped(reason));
    }
    let binding = {
        let mut conn = ctx.storage().pool().acquire().await?;
        binder.binding_of_external(&mut conn, external_id).await?
    };
    if !force
        && let Some(binding) = &binding
        && is_up_to_date(spec, binding, &remote)
    {
        return Ok(ImportOutcome::UpToDate(binding.local_id));
    }

    for dependency in spec.dependencies(ctx, &remote).await? {
        import_dependency(ctx, &dependency).await?;
    }
    let mut tx = ctx.storage().begin().await?;
    ctx.storage()
        .try_lock_in_transaction(&mut tx, &[import_lock_key(ctx, external_id)])
        .await?;
    // Read again under the lock: another job may have bound it meanwhile.
    let binding = binder.binding_of_external(&mut tx, external_id).await?;
    let outcome = write_record(
        spec,
        ctx,
        &mut tx,
        external_id,
        &record,
        &remote,
        binding,
        read_at,
    )
    .await
    .map_err(WriteError::into_error)?;
    tx.commit().await?;
    Ok(outcome)
}

/// Whether the binding's last sync is newer than the remote record's last change.
pub(super) fn is_up_to_date<S: ImportSpec>(
    spec: &S,
    binding: &Binding,
    remote: &S::Remote,
) -> bool {
    // Backends stamp changes to the second (Magento does): a change made in the same second
    // as the last read may be newer than it, so only a strictly earlier second counts as up
    // to date.
    match (binding.sync_date, spec.remote_updated_at(remote)) {
        (Some(synced), Some(updated)) => updated < synced.trunc_subsecs(0),
        _ => false,
    }
}

/// The conflict policy of a two-way model's import: the context's
/// ([`WorkContext::conflict_policy`], e.g. an integration's), else the spec's own; `None` for
/// a one-way model.
fn conflict_policy<S: ImportSpec>(spec: &S, ctx: &WorkContext) -> Option<ConflictPolicy> {
    let own = spec.two_way(ctx)?;
    Some(ctx.conflict_policy().unwrap_or(own))
}

/// The lock a record import holds for its transaction: two jobs importing the same record
/// (e.g. the same missing dependency) must not both create it.
pub(super) fn import_lock_key(ctx: &WorkContext, external_id: &ExternalId) -> String {
    format!("import:{}:{}:{external_id}", ctx.backend().id, ctx.model())
}

/// Why [`write_record`] failed, and whether the transaction is still good for other records.
pub(super) enum WriteError {
    /// Nothing was written for this record and the transaction can go on (bad data, a
    /// mapping error): a page import reports it and writes the rest.
    Record(SyncError),
    /// The transaction must be rolled back (a write started, or the database failed).
    Transaction(SyncError),
}

impl WriteError {
    /// The error, whatever the transaction's state.
    pub(super) fn into_error(self) -> SyncError {
        match self {
            WriteError::Record(error) | WriteError::Transaction(error) => error,
        }
    }

    /// An error raised before the record's first write: the transaction is still good unless
    /// the database itself failed (PostgreSQL aborts a transaction on any failed statement).
    fn before_write(error: SyncError) -> Self {
        match error {
            SyncError::Storage(_) => WriteError::Transaction(error),
            other => WriteError::Record(other),
        }
    }
}

/// Where a record's values go.
pub(super) enum Target {
    /// The record is bound to this local record.
    Bound(Box<Binding>),
    /// Unbound; an existing local record matches it (found by its natural key).
    Existing(LocalId),
    /// Unbound and unmatched: a local record is created.
    New,
}

/// A record written locally, its bind still to do.
pub(super) struct LocalWrite {
    /// What the import did.
    pub(super) outcome: ImportOutcome,
    /// The bind to write.
    pub(super) bind: BindRow,
}

/// Maps one record and writes it in the open transaction `conn`, whose lock on the record
/// is held and in which `binding` was read: the local write with the backend as origin, the
/// three-way merge of a two-way model, the bind, the sync state and the after-import hook.
#[allow(clippy::too_many_arguments)]
pub(super) async fn write_record<S: ImportSpec>(
    spec: &S,
    ctx: &WorkContext,
    conn: &mut AnyConnection,
    external_id: &ExternalId,
    record: &str,
    remote: &S::Remote,
    binding: Option<Binding>,
    read_at: DateTime<Utc>,
) -> Result<ImportOutcome, WriteError> {
    let repository =
        repository_for(ctx, spec.local_model(ctx)).map_err(WriteError::before_write)?;
    let target = match binding {
        Some(binding) => Target::Bound(Box::new(binding)),
        None => {
            match spec
                .existing_local(ctx, conn, &*repository, remote)
                .await
                .map_err(WriteError::before_write)?
            {
                Some(local_id) => Target::Existing(local_id),
                None => Target::New,
            }
        }
    };
    let written = write_local(
        spec,
        ctx,
        conn,
        &*repository,
        external_id,
        record,
        remote,
        target,
        read_at,
    )
    .await?;
    let mut outcomes = finish_writes(spec, ctx, conn, vec![(remote, written)])
        .await
        .map_err(WriteError::Transaction)?;
    outcomes.pop().ok_or_else(|| {
        WriteError::Transaction(SyncError::Failed(format!("{record}: no import outcome")))
    })
}

/// Maps a record and writes its local side (not its bind): the first half of a record's
/// import, shared by the record and the page flows.
#[allow(clippy::too_many_arguments)]
pub(super) async fn write_local<S: ImportSpec>(
    spec: &S,
    ctx: &WorkContext,
    conn: &mut AnyConnection,
    repository: &dyn LocalRepository,
    external_id: &ExternalId,
    record: &str,
    remote: &S::Remote,
    target: Target,
    read_at: DateTime<Utc>,
) -> Result<LocalWrite, WriteError> {
    let prepared = prepare_write(spec, ctx, conn, repository, record, remote, target)
        .await
        .map_err(WriteError::before_write)?;
    let (local_id, outcome, synced) = apply_write(spec, ctx, conn, repository, record, prepared)
        .await
        .map_err(WriteError::Transaction)?;
    let bind = BindRow {
        external_id: external_id.clone(),
        local_id,
        sync_date: read_at,
        metadata: spec
            .binding_metadata(remote)
            .map_err(WriteError::Transaction)?,
        synced: spec.two_way(ctx).map(|_| SyncedState::of(synced)),
    };
    Ok(LocalWrite { outcome, bind })
}

/// The second half of the records' imports, after their local writes: their binds (one
/// statement for many) and their after-import hooks, which find them bound. Returns the
/// outcomes, in order.
pub(super) async fn finish_writes<S: ImportSpec>(
    spec: &S,
    ctx: &WorkContext,
    conn: &mut AnyConnection,
    written: Vec<(&S::Remote, LocalWrite)>,
) -> SyncResult<Vec<ImportOutcome>> {
    let binder = binder_for(ctx)?;
    let mut rows = Vec::with_capacity(written.len());
    let mut done = Vec::with_capacity(written.len());
    for (remote, write) in written {
        done.push((remote, write.bind.local_id, write.outcome));
        rows.push(write.bind);
    }
    binder.bind_many(conn, &rows).await?;
    let mut outcomes = Vec::with_capacity(done.len());
    for (remote, local_id, outcome) in done {
        let created = matches!(outcome, ImportOutcome::Created(_));
        spec.after_import(ctx, conn, remote, local_id, created)
            .await?;
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// What a record's write will do, decided by reads only.
struct PreparedWrite {
    /// The mapped values.
    values: Values,
    /// The bound or found local record, `None` to create one.
    target: Option<LocalId>,
    /// The three-way merge of a two-way model's bound record, with what the local side holds.
    merge: Option<Merge>,
}

async fn prepare_write<S: ImportSpec>(
    spec: &S,
    ctx: &WorkContext,
    conn: &mut AnyConnection,
    repository: &dyn LocalRepository,
    record: &str,
    remote: &S::Remote,
    target: Target,
) -> SyncResult<PreparedWrite> {
    let options = if matches!(target, Target::Bound(_)) {
        MapOptions::for_update()
    } else {
        MapOptions::for_create()
    };
    let values = spec
        .mapper()
        .map(remote, &options, ctx)
        .await?
        .into_values(record)?;
    Ok(match target {
        Target::Bound(binding) => {
            let merge = match (conflict_policy(spec, ctx), &binding.synced) {
                (Some(policy), Some(synced)) => {
                    let local = repository
                        .get(conn, binding.local_id)
                        .await?
                        .unwrap_or_default();
                    let newest = match (
                        spec.local_updated_at(&local),
                        spec.remote_updated_at(remote),
                    ) {
                        (Some(l), Some(r)) if l > r => Side::Local,
                        _ => Side::Remote,
                    };
                    Some(merge_three_way(
                        &synced.values,
                        &local,
                        &values,
                        policy,
                        newest,
                    ))
                }
                _ => None,
            };
            PreparedWrite {
                values,
                target: Some(binding.local_id),
                merge,
            }
        }
        Target::Existing(local_id) => PreparedWrite {
            values,
            target: Some(local_id),
            merge: None,
        },
        Target::New => PreparedWrite {
            values,
            target: None,
            merge: None,
        },
    })
}

/// Writes the local side; returns the local record, the outcome and the values to keep as
/// synced.
async fn apply_write<S: ImportSpec>(
    spec: &S,
    ctx: &WorkContext,
    conn: &mut AnyConnection,
    repository: &dyn LocalRepository,
    record: &str,
    prepared: PreparedWrite,
) -> SyncResult<(LocalId, ImportOutcome, Values)> {
    let mut session = ctx.app().session(conn, ctx.origin());
    let PreparedWrite {
        values,
        target,
        merge,
    } = prepared;
    Ok(match (target, merge) {
        (Some(local_id), Some(merge)) => {
            session.write(repository, local_id, &merge.to_local).await?;
            let conflicts: Vec<String> = merge.conflicts.iter().map(|c| c.field.clone()).collect();
            if !conflicts.is_empty() {
                let message = format!(
                    "{record}: fields changed on both sides since the last sync: {}",
                    conflicts.join(", ")
                );
                ctx.storage()
                    .checkpoints()
                    .add_conflict(
                        session.conn(),
                        ctx.backend().id,
                        ctx.model(),
                        spec.local_model(ctx),
                        local_id,
                        &message,
                        &merge.conflicts,
                    )
                    .await?;
            }
            let unchanged =
                merge.to_local.is_empty() && merge.to_remote.is_empty() && conflicts.is_empty();
            let outcome = if unchanged {
                ImportOutcome::UpToDate(local_id)
            } else {
                ImportOutcome::Updated {
                    local_id,
                    pending_export: merge.to_remote.keys().cloned().collect(),
                    conflicts,
                }
            };
            let mut base = merge.base;
            record_open_conflicts(&mut base, &merge.conflicts);
            (local_id, outcome, base)
        }
        (Some(local_id), None) => {
            session.write(repository, local_id, &values).await?;
            let outcome = ImportOutcome::Updated {
                local_id,
                pending_export: Vec::new(),
                conflicts: Vec::new(),
            };
            (local_id, outcome, values)
        }
        (None, _) => {
            let local_id = session.create(repository, &values).await?;
            (local_id, ImportOutcome::Created(local_id), values)
        }
    })
}

/// Imports a dependency synchronously, in the same job, when it is not bound yet (or always).
pub(super) async fn import_dependency(
    ctx: &WorkContext,
    dependency: &Dependency,
) -> SyncResult<()> {
    let dep_ctx = ctx.work_on(&dependency.model);
    if !dependency.always {
        let binder = binder_for(&dep_ctx)?;
        let mut conn = ctx.storage().pool().acquire().await?;
        if binder
            .binding_of_external(&mut conn, &dependency.external_id)
            .await?
            .is_some()
        {
            return Ok(());
        }
    }
    let importer = dep_ctx.component::<dyn RecordImporter>(RECORD_IMPORTER)?;
    let outcome = importer.run(&dep_ctx, &dependency.external_id, false).await;
    dep_ctx
        .queue()
        .metrics()
        .import_result(dep_ctx.model(), outcome.as_ref());
    outcome.map(|_| ())
}
