//! Binding models: typed access to the one bindings table.
//!
//! Bindings of every model live in `sync_bindings` (see the storage module), keyed by backend
//! and model, with the model's extra fields in a JSON `metadata` column. A binding model is a
//! struct of those extra fields that implements [`BindingModel`] (usually through
//! `#[derive(Binding)]`): it names its backend kind, binding model and local model and the
//! type of its external ids. [`TypedBinder`] then reads and writes its bindings with typed ids
//! and extras, and is also a [`Binder`] for the synchronizers.

use std::collections::HashMap;
use std::fmt::{self, Display};
use std::marker::PhantomData;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::AnyConnection;

use crate::binder::{Binder, TableBinder};
use crate::context::WorkContext;
use crate::error::{SyncError, SyncResult};
use crate::ids::{BackendId, ExternalId, LocalId};
use crate::registry::{ApplyOn, ComponentRegistry};
use crate::storage::{BindRow, Binding, Storage, SyncedState};

/// The usage under which binders are registered and looked up.
pub const BINDER_USAGE: &str = "binder";

/// A binding model: its names, its external id type and its extra metadata fields (`Self`).
pub trait BindingModel: Sized + Send + Sync + 'static {
    /// The backend kind it applies to, e.g. `magento`.
    const KIND: &'static str;
    /// The binding model name, the `model` of its rows, e.g. `magento.customer`.
    const MODEL: &'static str;
    /// The local model it binds, e.g. `customer`.
    const LOCAL_MODEL: &'static str;

    /// The type of the external ids (stored as text).
    type ExternalId: Display + FromStr<Err: Display> + Send + Sync;

    /// The extra fields as the `metadata` JSON object.
    fn to_metadata(&self) -> SyncResult<Value>;

    /// The extra fields read back from the `metadata` JSON of a binding; errors name the
    /// binding (`record`) and the field.
    fn from_metadata(record: &str, metadata: &Value) -> SyncResult<Self>;

    /// The typed binder of this model on one backend.
    fn binder(storage: Storage, backend_id: BackendId) -> TypedBinder<Self> {
        TypedBinder::new(storage, backend_id)
    }

    /// The typed binder of this model on the context's backend.
    fn binder_in(ctx: &WorkContext) -> TypedBinder<Self> {
        TypedBinder::new(ctx.storage().clone(), ctx.backend().id)
    }

    /// Registers the binder of this model in `registry` under ([`Self::KIND`],
    /// [`Self::MODEL`], [`BINDER_USAGE`]), so that `ctx.component::<dyn Binder>("binder")`
    /// finds it for this model.
    fn register(registry: &mut ComponentRegistry) {
        registry.register_factory::<dyn Binder, _>(
            ApplyOn::kind(Self::KIND).model(Self::MODEL),
            BINDER_USAGE,
            |ctx| Ok(Arc::new(Self::binder_in(ctx)) as Arc<dyn Binder>),
        );
    }
}

/// A binding with its typed external id and extras.
#[derive(Debug, Clone, PartialEq)]
pub struct TypedBinding<B: BindingModel> {
    /// The row as stored.
    pub binding: Binding,
    /// The external id, parsed; `None` while an export's create is in flight.
    pub external_id: Option<B::ExternalId>,
    /// The binding model's extra fields.
    pub extras: B,
}

impl<B: BindingModel> TypedBinding<B> {
    /// The local record.
    pub fn local_id(&self) -> LocalId {
        self.binding.local_id
    }

    /// When the two records were last synchronized.
    pub fn sync_date(&self) -> Option<DateTime<Utc>> {
        self.binding.sync_date
    }

    fn from_binding(binding: Binding) -> SyncResult<Self> {
        let record = format!("{} binding {}", B::MODEL, binding.id);
        let external_id = binding
            .external_id
            .as_ref()
            .map(|id| parse_external_id::<B>(&record, id))
            .transpose()?;
        let extras = B::from_metadata(&record, &binding.metadata)?;
        Ok(TypedBinding {
            binding,
            external_id,
            extras,
        })
    }
}

fn parse_external_id<B: BindingModel>(record: &str, id: &ExternalId) -> SyncResult<B::ExternalId> {
    id.as_str().parse::<B::ExternalId>().map_err(|e| {
        SyncError::invalid_data(
            record,
            "external_id",
            format!("`{id}` is not a valid external id: {e}"),
        )
    })
}

/// The binder of one binding model `B` on one backend, over the bindings table.
///
/// Its inherent methods are typed (external ids of `B::ExternalId`, extras of `B`); it also
/// implements [`Binder`] for the synchronizers. Every method runs on the connection it is
/// given, so that a binding commits with the local write it belongs to.
pub struct TypedBinder<B> {
    table: TableBinder,
    // The table binder keeps its storage private; metadata writes need it too.
    storage: Storage,
    model: PhantomData<fn() -> B>,
}

impl<B> Clone for TypedBinder<B> {
    fn clone(&self) -> Self {
        TypedBinder {
            table: self.table.clone(),
            storage: self.storage.clone(),
            model: PhantomData,
        }
    }
}

impl<B> fmt::Debug for TypedBinder<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TypedBinder").field(&self.table).finish()
    }
}

impl<B: BindingModel> TypedBinder<B> {
    /// The binder of `B` on `backend_id`.
    pub fn new(storage: Storage, backend_id: BackendId) -> Self {
        TypedBinder {
            table: TableBinder::new(storage.clone(), backend_id, B::MODEL),
            storage,
            model: PhantomData,
        }
    }

    /// The local id bound to a typed external id (Odoo's `to_internal(..., unwrap=True)`).
    pub async fn local_id_of(
        &self,
        conn: &mut AnyConnection,
        external_id: &B::ExternalId,
    ) -> SyncResult<Option<LocalId>> {
        self.table
            .to_internal(conn, &ExternalId(external_id.to_string()))
            .await
    }

    /// The typed external id bound to a local id (Odoo's `to_external(..., wrap=True)`).
    pub async fn external_id_of(
        &self,
        conn: &mut AnyConnection,
        local_id: LocalId,
    ) -> SyncResult<Option<B::ExternalId>> {
        let record = format!("{} of local record {local_id}", B::MODEL);
        self.table
            .to_external(conn, local_id)
            .await?
            .map(|id| parse_external_id::<B>(&record, &id))
            .transpose()
    }

    /// The typed binding of an external id.
    pub async fn find(
        &self,
        conn: &mut AnyConnection,
        external_id: &B::ExternalId,
    ) -> SyncResult<Option<TypedBinding<B>>> {
        self.table
            .binding_of_external(conn, &ExternalId(external_id.to_string()))
            .await?
            .map(TypedBinding::from_binding)
            .transpose()
    }

    /// The typed binding of a local id.
    pub async fn find_local(
        &self,
        conn: &mut AnyConnection,
        local_id: LocalId,
    ) -> SyncResult<Option<TypedBinding<B>>> {
        self.table
            .binding_of_local(conn, local_id)
            .await?
            .map(TypedBinding::from_binding)
            .transpose()
    }

    /// Binds a typed external id to a local id, sets the sync date and stores the extras.
    pub async fn bind_with(
        &self,
        conn: &mut AnyConnection,
        external_id: &B::ExternalId,
        local_id: LocalId,
        sync_date: DateTime<Utc>,
        extras: &B,
    ) -> SyncResult<TypedBinding<B>> {
        let metadata = extras.to_metadata()?;
        let mut binding = self
            .table
            .bind(
                conn,
                &ExternalId(external_id.to_string()),
                local_id,
                sync_date,
            )
            .await?;
        self.storage
            .bindings()
            .set_metadata(conn, binding.id, &metadata)
            .await?;
        binding.metadata = metadata;
        TypedBinding::from_binding(binding)
    }

    /// Replaces the extras of a binding.
    pub async fn set_extras(
        &self,
        conn: &mut AnyConnection,
        binding: &mut TypedBinding<B>,
        extras: B,
    ) -> SyncResult<()> {
        let metadata = extras.to_metadata()?;
        self.storage
            .bindings()
            .set_metadata(conn, binding.binding.id, &metadata)
            .await?;
        binding.binding.metadata = metadata;
        binding.extras = extras;
        Ok(())
    }

    /// Removes the binding of a typed external id; returns whether it existed.
    pub async fn unbind_id(
        &self,
        conn: &mut AnyConnection,
        external_id: &B::ExternalId,
    ) -> SyncResult<bool> {
        self.table
            .unbind(conn, &ExternalId(external_id.to_string()))
            .await
    }
}

/// The untyped [`Binder`] interface, for the synchronizers; it keeps existing extras.
#[async_trait]
impl<B: BindingModel> Binder for TypedBinder<B> {
    fn model(&self) -> &str {
        B::MODEL
    }

    async fn binding_of_external(
        &self,
        conn: &mut AnyConnection,
        external_id: &ExternalId,
    ) -> SyncResult<Option<Binding>> {
        self.table.binding_of_external(conn, external_id).await
    }

    async fn binding_of_local(
        &self,
        conn: &mut AnyConnection,
        local_id: LocalId,
    ) -> SyncResult<Option<Binding>> {
        self.table.binding_of_local(conn, local_id).await
    }

    async fn bindings_of_externals(
        &self,
        conn: &mut AnyConnection,
        external_ids: &[ExternalId],
    ) -> SyncResult<HashMap<ExternalId, Binding>> {
        self.table.bindings_of_externals(conn, external_ids).await
    }

    async fn bind(
        &self,
        conn: &mut AnyConnection,
        external_id: &ExternalId,
        local_id: LocalId,
        sync_date: DateTime<Utc>,
    ) -> SyncResult<Binding> {
        self.table
            .bind(conn, external_id, local_id, sync_date)
            .await
    }

    async fn bind_many(&self, conn: &mut AnyConnection, rows: &[BindRow]) -> SyncResult<()> {
        self.table.bind_many(conn, rows).await
    }

    async fn unbind(&self, conn: &mut AnyConnection, external_id: &ExternalId) -> SyncResult<bool> {
        self.table.unbind(conn, external_id).await
    }

    async fn set_synced_state(
        &self,
        conn: &mut AnyConnection,
        binding: &Binding,
        state: &SyncedState,
    ) -> SyncResult<()> {
        self.table.set_synced_state(conn, binding, state).await
    }

    async fn record_export_intent(
        &self,
        conn: &mut AnyConnection,
        local_id: LocalId,
    ) -> SyncResult<Binding> {
        self.table.record_export_intent(conn, local_id).await
    }
}

/// The binder of `B` for a mapping run: the one registered for `B`'s model (a connector may
/// replace the default), else the table binder.
pub fn binder_for<B: BindingModel>(ctx: &WorkContext) -> SyncResult<Arc<dyn Binder>> {
    match ctx.component_for::<dyn Binder>(B::MODEL, BINDER_USAGE) {
        Ok(binder) => Ok(binder),
        Err(SyncError::NoComponent { .. }) => Ok(Arc::new(B::binder_in(ctx))),
        Err(other) => Err(other),
    }
}
