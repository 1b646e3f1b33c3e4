//! The record import flow.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::AnyConnection;

use super::components::{RECORD_IMPORTER, adapter_for, binder_for, repository_for};
use super::two_way::{ConflictPolicy, Side, merge_three_way, record_open_conflicts};
use crate::context::WorkContext;
use crate::error::SyncResult;
use crate::ids::{ExternalId, LocalId};
use crate::local::LocalRepository;
use crate::mapper::{MapOptions, Mapper};
use crate::storage::SyncedState;
use crate::values::{Values, from_values};

/// How long an import holds its record lock at most (SQLite lease).
const IMPORT_LOCK_LEASE: Duration = Duration::from_secs(300);

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
    /// The binding's sync date is not older than the remote record: nothing imported.
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
}

/// The record import flow: read → skip rules → up-to-date check → lock → dependencies →
/// map → write locally with the backend as origin → bind → after-import hook, the write, the
/// bind and the hook in one transaction.
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
    // Backends stamp changes to the second (Magento does): a change made in the same second
    // as the last read may be newer than it, so only a strictly earlier second counts as up
    // to date.
    if !force
        && let (Some(binding), Some(updated)) = (&binding, spec.remote_updated_at(&remote))
        && binding
            .sync_date
            .is_some_and(|synced| updated < synced.trunc_subsecs(0))
    {
        return Ok(ImportOutcome::UpToDate(binding.local_id));
    }

    let lock_key = format!("import:{}:{}:{external_id}", ctx.backend().id, ctx.model());
    let lock = ctx.storage().try_lock(&lock_key, IMPORT_LOCK_LEASE).await?;
    let outcome = import_locked(spec, ctx, external_id, &record, remote, read_at).await;
    lock.release().await?;
    outcome
}

async fn import_locked<S: ImportSpec>(
    spec: &S,
    ctx: &WorkContext,
    external_id: &ExternalId,
    record: &str,
    remote: S::Remote,
    read_at: DateTime<Utc>,
) -> SyncResult<ImportOutcome> {
    for dependency in spec.dependencies(ctx, &remote).await? {
        import_dependency(ctx, &dependency).await?;
    }
    let binder = binder_for(ctx)?;
    let repository = repository_for(ctx, spec.local_model(ctx))?;

    let mut tx = ctx.storage().begin().await?;
    // Read again under the lock: another job may have bound it meanwhile.
    let binding = binder.binding_of_external(&mut tx, external_id).await?;
    let options = if binding.is_some() {
        MapOptions::for_update()
    } else {
        MapOptions::for_create()
    };
    let values = spec
        .mapper()
        .map(&remote, &options, ctx)
        .await?
        .into_values(record)?;

    let mut session = ctx.app().session(&mut tx, ctx.origin());
    let (local_id, outcome, synced) = match &binding {
        Some(binding) => {
            let local_id = binding.local_id;
            match (spec.two_way(ctx), &binding.synced) {
                (Some(policy), Some(synced)) => {
                    let local = repository
                        .get(session.conn(), local_id)
                        .await?
                        .unwrap_or_default();
                    let newest = match (
                        spec.local_updated_at(&local),
                        spec.remote_updated_at(&remote),
                    ) {
                        (Some(l), Some(r)) if l > r => Side::Local,
                        _ => Side::Remote,
                    };
                    let merge = merge_three_way(&synced.values, &local, &values, policy, newest);
                    session
                        .write(&*repository, local_id, &merge.to_local)
                        .await?;
                    let conflicts: Vec<String> =
                        merge.conflicts.iter().map(|c| c.field.clone()).collect();
                    if !conflicts.is_empty() {
                        let message = format!(
                            "{record}: fields changed on both sides since the last sync: {}",
                            conflicts.join(", ")
                        );
                        ctx.storage()
                            .checkpoints()
                            .add(
                                session.conn(),
                                ctx.backend().id,
                                spec.local_model(ctx),
                                local_id,
                                &message,
                            )
                            .await?;
                    }
                    let outcome = ImportOutcome::Updated {
                        local_id,
                        pending_export: merge.to_remote.keys().cloned().collect(),
                        conflicts,
                    };
                    let mut base = merge.base;
                    record_open_conflicts(&mut base, &merge.conflicts);
                    (local_id, outcome, Some(base))
                }
                _ => {
                    session.write(&*repository, local_id, &values).await?;
                    let outcome = ImportOutcome::Updated {
                        local_id,
                        pending_export: Vec::new(),
                        conflicts: Vec::new(),
                    };
                    (local_id, outcome, Some(values))
                }
            }
        }
        None => {
            let existing = spec
                .existing_local(ctx, session.conn(), &*repository, &remote)
                .await?;
            match existing {
                Some(local_id) => {
                    session.write(&*repository, local_id, &values).await?;
                    let outcome = ImportOutcome::Updated {
                        local_id,
                        pending_export: Vec::new(),
                        conflicts: Vec::new(),
                    };
                    (local_id, outcome, Some(values))
                }
                None => {
                    let local_id = session.create(&*repository, &values).await?;
                    (local_id, ImportOutcome::Created(local_id), Some(values))
                }
            }
        }
    };
    let bound = binder
        .bind(session.conn(), external_id, local_id, read_at)
        .await?;
    if let (Some(_), Some(base)) = (spec.two_way(ctx), synced) {
        binder
            .set_synced_state(session.conn(), &bound, &SyncedState::of(base))
            .await?;
    }
    let created = matches!(outcome, ImportOutcome::Created(_));
    spec.after_import(ctx, session.conn(), &remote, local_id, created)
        .await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Imports a dependency synchronously, in the same job, when it is not bound yet (or always).
async fn import_dependency(ctx: &WorkContext, dependency: &Dependency) -> SyncResult<()> {
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
    importer
        .run(&dep_ctx, &dependency.external_id, false)
        .await?;
    Ok(())
}
