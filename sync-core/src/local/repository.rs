//! The repository trait a local application implements per model.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::AnyConnection;

use crate::error::SyncResult;
use crate::ids::LocalId;
use crate::values::Values;

/// Access to one local model. Every method runs on the caller's connection (usually a
/// transaction), so that local writes, bindings and delayed jobs commit together.
///
/// Register one per model under the usage `"local.repository"` for any backend kind.
#[async_trait]
pub trait LocalRepository: Send + Sync {
    /// The local model name, e.g. `customer`.
    fn model(&self) -> &str;

    /// A record's fields, or `None` when it does not exist.
    async fn get(&self, conn: &mut AnyConnection, id: LocalId) -> SyncResult<Option<Values>>;

    /// Creates a record and returns its id.
    async fn create(&self, conn: &mut AnyConnection, values: &Values) -> SyncResult<LocalId>;

    /// Writes the given fields (only those) of a record.
    async fn write(&self, conn: &mut AnyConnection, id: LocalId, values: &Values)
    -> SyncResult<()>;

    /// Deletes a record.
    async fn delete(&self, conn: &mut AnyConnection, id: LocalId) -> SyncResult<()>;

    /// Up to `limit` ids of records modified at or after `since`, with ids above `after`, in
    /// id order (keyset paging with bounded memory).
    async fn modified_since(
        &self,
        conn: &mut AnyConnection,
        since: DateTime<Utc>,
        after: Option<LocalId>,
        limit: u32,
    ) -> SyncResult<Vec<LocalId>>;

    /// The record whose `field` equals `value`, to bind an imported record to an existing
    /// local one (e.g. a customer by email). The default finds nothing.
    async fn find_by(
        &self,
        conn: &mut AnyConnection,
        field: &str,
        value: &Value,
    ) -> SyncResult<Option<LocalId>> {
        let _ = (conn, field, value);
        Ok(None)
    }

    /// [`LocalRepository::find_by`] for many values at once, one answer per value in order
    /// (a page import looks up its whole page). The default asks `find_by` for each; a
    /// repository over a table answers with one query.
    async fn find_many_by(
        &self,
        conn: &mut AnyConnection,
        field: &str,
        values: &[Value],
    ) -> SyncResult<Vec<Option<LocalId>>> {
        let mut found = Vec::with_capacity(values.len());
        for value in values {
            found.push(self.find_by(conn, field, value).await?);
        }
        Ok(found)
    }
}
