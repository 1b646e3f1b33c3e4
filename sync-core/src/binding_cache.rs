//! Bindings resolved ahead of a mapping run, so that mapping a page of records asks the
//! database once per page instead of once per relation.
//!
//! A page import knows what its records point to before it maps them: the records' declared
//! [`Dependency`](crate::sync::Dependency)s (an order's customer and products). It imports
//! the missing ones, reads the local ids of all of them with one query per model, and puts
//! them in the work context as [`PrefetchedBindings`]. The `external_to_local` mapping
//! modifier and [`WorkContext::local_id_of`] look there first and query only on a miss.

use std::collections::HashMap;

use crate::binding_model::{BindingModel, binder_for};
use crate::context::WorkContext;
use crate::error::SyncResult;
use crate::ids::{ExternalId, LocalId};

/// Local ids of external records, per binding model, known to be bound.
///
/// Only bindings that exist are kept: a miss means "not prefetched", never "not bound".
#[derive(Debug, Default, Clone)]
pub struct PrefetchedBindings {
    local_ids: HashMap<String, HashMap<ExternalId, LocalId>>,
}

impl PrefetchedBindings {
    /// An empty set.
    pub fn new() -> Self {
        PrefetchedBindings::default()
    }

    /// Records that `external_id` of binding model `model` is bound to `local_id`.
    pub fn insert(&mut self, model: &str, external_id: ExternalId, local_id: LocalId) {
        self.local_ids
            .entry(model.to_owned())
            .or_default()
            .insert(external_id, local_id);
    }

    /// The local id prefetched for `external_id` of `model`, if any.
    pub fn local_id(&self, model: &str, external_id: &ExternalId) -> Option<LocalId> {
        self.local_ids.get(model)?.get(external_id).copied()
    }
}

impl WorkContext {
    /// The local id bound to an external id of binding model `B` on this context's backend:
    /// from the [`PrefetchedBindings`] of the run when they have it, else from `B`'s binder.
    ///
    /// ```
    /// # use sync_core::prelude::*;
    /// # use sync_core::binding_model::BindingModel;
    /// # async fn demo<B: BindingModel>(ctx: &WorkContext, id: B::ExternalId) -> SyncResult<()> {
    /// if let Some(local_id) = ctx.local_id_of::<B>(&id).await? {
    ///     println!("bound to local record {local_id}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn local_id_of<B: BindingModel>(
        &self,
        external_id: &B::ExternalId,
    ) -> SyncResult<Option<LocalId>> {
        let external_id = ExternalId(external_id.to_string());
        if let Some(local_id) = self
            .extra::<PrefetchedBindings>()
            .and_then(|prefetched| prefetched.local_id(B::MODEL, &external_id))
        {
            return Ok(Some(local_id));
        }
        let binder = binder_for::<B>(self)?;
        let mut conn = self.storage().pool().acquire().await?;
        binder.to_internal(&mut conn, &external_id).await
    }
}
