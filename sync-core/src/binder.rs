//! Binders: from external ids to local ids and back.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use crate::error::{SyncError, SyncResult};
use crate::ids::{BackendId, ExternalId, LocalId};
use crate::storage::{BindRow, Binding, BindingScope, Storage, SyncedState};

/// Finds the local id of an external id and the reverse, and records the link between them.
///
/// Every method runs on the connection it is given, so that a binding commits with the local
/// write it belongs to.
#[async_trait]
pub trait Binder: Send + Sync {
    /// The binding model.
    fn model(&self) -> &str;

    /// The binding of an external id.
    async fn binding_of_external(
        &self,
        conn: &mut AnyConnection,
        external_id: &ExternalId,
    ) -> SyncResult<Option<Binding>>;

    /// The bindings of many external ids, keyed by external id (ids without one are
    /// absent). The default asks [`Binder::binding_of_external`] for each; the table binder
    /// answers with one query.
    async fn bindings_of_externals(
        &self,
        conn: &mut AnyConnection,
        external_ids: &[ExternalId],
    ) -> SyncResult<HashMap<ExternalId, Binding>> {
        let mut found = HashMap::with_capacity(external_ids.len());
        for external_id in external_ids {
            if let Some(binding) = self.binding_of_external(conn, external_id).await? {
                found.insert(external_id.clone(), binding);
            }
        }
        Ok(found)
    }

    /// The binding of a local id.
    async fn binding_of_local(
        &self,
        conn: &mut AnyConnection,
        local_id: LocalId,
    ) -> SyncResult<Option<Binding>>;

    /// Binds an external id to a local id and sets the sync date.
    async fn bind(
        &self,
        conn: &mut AnyConnection,
        external_id: &ExternalId,
        local_id: LocalId,
        sync_date: DateTime<Utc>,
    ) -> SyncResult<Binding>;

    /// Binds many records, each with its sync date and, when given, its metadata and synced
    /// state. The default binds them one by one and sets their synced state (it refuses
    /// metadata, which the trait has no method to store); a binder over the bindings table
    /// writes a few hundred per statement.
    async fn bind_many(&self, conn: &mut AnyConnection, rows: &[BindRow]) -> SyncResult<()> {
        for row in rows {
            if row.metadata.is_some() {
                return Err(SyncError::Failed(format!(
                    "the binder of {} keeps no binding metadata",
                    self.model()
                )));
            }
            let binding = self
                .bind(conn, &row.external_id, row.local_id, row.sync_date)
                .await?;
            if let Some(synced) = &row.synced {
                self.set_synced_state(conn, &binding, synced).await?;
            }
        }
        Ok(())
    }

    /// Removes the binding of an external id; returns whether it existed.
    async fn unbind(&self, conn: &mut AnyConnection, external_id: &ExternalId) -> SyncResult<bool>;

    /// Stores what was last synced for a binding (two-way sync).
    async fn set_synced_state(
        &self,
        conn: &mut AnyConnection,
        binding: &Binding,
        state: &SyncedState,
    ) -> SyncResult<()>;

    /// Records that an export is about to create the local record remotely.
    async fn record_export_intent(
        &self,
        conn: &mut AnyConnection,
        local_id: LocalId,
    ) -> SyncResult<Binding>;

    /// The local id bound to an external id.
    async fn to_internal(
        &self,
        conn: &mut AnyConnection,
        external_id: &ExternalId,
    ) -> SyncResult<Option<LocalId>> {
        Ok(self
            .binding_of_external(conn, external_id)
            .await?
            .map(|b| b.local_id))
    }

    /// The external id bound to a local id.
    async fn to_external(
        &self,
        conn: &mut AnyConnection,
        local_id: LocalId,
    ) -> SyncResult<Option<ExternalId>> {
        Ok(self
            .binding_of_local(conn, local_id)
            .await?
            .and_then(|b| b.external_id))
    }
}

/// The binder over Synckit's bindings table, for one backend and one binding model.
#[derive(Debug, Clone)]
pub struct TableBinder {
    storage: Storage,
    backend_id: BackendId,
    model: String,
}

impl TableBinder {
    /// The binder of `model` on `backend_id`.
    pub fn new(storage: Storage, backend_id: BackendId, model: &str) -> Self {
        TableBinder {
            storage,
            backend_id,
            model: model.to_owned(),
        }
    }

    fn scope(&self) -> BindingScope<'_> {
        BindingScope {
            backend_id: self.backend_id,
            model: &self.model,
        }
    }
}

#[async_trait]
impl Binder for TableBinder {
    fn model(&self) -> &str {
        &self.model
    }

    async fn binding_of_external(
        &self,
        conn: &mut AnyConnection,
        external_id: &ExternalId,
    ) -> SyncResult<Option<Binding>> {
        self.storage
            .bindings()
            .by_external(conn, self.scope(), external_id)
            .await
    }

    async fn binding_of_local(
        &self,
        conn: &mut AnyConnection,
        local_id: LocalId,
    ) -> SyncResult<Option<Binding>> {
        self.storage
            .bindings()
            .by_local(conn, self.scope(), local_id)
            .await
    }

    async fn bindings_of_externals(
        &self,
        conn: &mut AnyConnection,
        external_ids: &[ExternalId],
    ) -> SyncResult<HashMap<ExternalId, Binding>> {
        self.storage
            .bindings()
            .by_externals(conn, self.scope(), external_ids)
            .await
    }

    async fn bind(
        &self,
        conn: &mut AnyConnection,
        external_id: &ExternalId,
        local_id: LocalId,
        sync_date: DateTime<Utc>,
    ) -> SyncResult<Binding> {
        self.storage
            .bindings()
            .bind(conn, self.scope(), external_id, local_id, sync_date)
            .await
    }

    async fn bind_many(&self, conn: &mut AnyConnection, rows: &[BindRow]) -> SyncResult<()> {
        self.storage
            .bindings()
            .bind_many(conn, self.scope(), rows)
            .await
    }

    async fn unbind(&self, conn: &mut AnyConnection, external_id: &ExternalId) -> SyncResult<bool> {
        self.storage
            .bindings()
            .unbind(conn, self.scope(), external_id)
            .await
    }

    async fn set_synced_state(
        &self,
        conn: &mut AnyConnection,
        binding: &Binding,
        state: &SyncedState,
    ) -> SyncResult<()> {
        self.storage
            .bindings()
            .set_synced_state(conn, binding.id, state)
            .await
    }

    async fn record_export_intent(
        &self,
        conn: &mut AnyConnection,
        local_id: LocalId,
    ) -> SyncResult<Binding> {
        self.storage
            .bindings()
            .record_export_intent(conn, self.scope(), local_id)
            .await
    }
}
