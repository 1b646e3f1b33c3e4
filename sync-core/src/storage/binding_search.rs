//! Finding bindings for an operator: by local id, external id or a natural key held in the
//! last synced state, across backends and binding models unless narrowed.
//!
//! ```no_run
//! # async fn demo(storage: sync_core::storage::Storage) -> sync_core::SyncResult<()> {
//! use sync_core::storage::BindingQuery;
//!
//! let query = BindingQuery {
//!     model: Some("magento.customer".into()),
//!     natural_key: Some(("email".into(), "ada@example.com".into())),
//!     ..BindingQuery::default()
//! };
//! for binding in storage.search_bindings(&query, 20).await? {
//!     println!("{} {:?}", binding.local_id, binding.external_id);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! A local or external id within one backend and model uses the bindings' unique indexes;
//! without them the search reads every backend's and model's index. A natural key is read
//! from the synced values (JSON text), so it scans the bindings of the backend and model
//! given: narrow it to one model on a large table.

use sqlx::AssertSqlSafe;

use super::bindings::{Binding, COLUMNS, binding_from_row};
use super::connect::{Dialect, Storage};
use crate::error::{SyncError, SyncResult};
use crate::ids::BackendId;

/// What to look for; every given criterion must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BindingQuery {
    /// Only this backend.
    pub backend_id: Option<BackendId>,
    /// Only this binding model.
    pub model: Option<String>,
    /// The local record's id.
    pub local_id: Option<i64>,
    /// The external record's id.
    pub external_id: Option<String>,
    /// A field of the last synced state and its value (compared as text), e.g.
    /// `("email", "ada@example.com")`.
    pub natural_key: Option<(String, String)>,
}

impl Storage {
    /// At most `limit` bindings matching `query`, newest binding first.
    ///
    /// # Errors
    /// A query with no criterion besides backend and model, or a natural key field that is
    /// not made of letters, digits and `_` (it is part of a JSON path).
    pub async fn search_bindings(
        &self,
        query: &BindingQuery,
        limit: u32,
    ) -> SyncResult<Vec<Binding>> {
        if query.local_id.is_none() && query.external_id.is_none() && query.natural_key.is_none() {
            return Err(SyncError::Failed(
                "searching bindings: give a local id, an external id or a natural key".into(),
            ));
        }
        let mut conditions = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        // Binds are numbered in the order they are pushed: the ids first, then the texts.
        let mut next = 1;
        let mut ids: Vec<i64> = Vec::new();
        if let Some(backend) = query.backend_id {
            conditions.push(format!("backend_id = ${next}"));
            ids.push(backend.0);
            next += 1;
        }
        if let Some(local) = query.local_id {
            conditions.push(format!("local_id = ${next}"));
            ids.push(local);
            next += 1;
        }
        if let Some(model) = &query.model {
            conditions.push(format!("model = ${next}"));
            texts.push(model.clone());
            next += 1;
        }
        if let Some(external) = &query.external_id {
            conditions.push(format!("external_id = ${next}"));
            texts.push(external.clone());
            next += 1;
        }
        if let Some((field, value)) = &query.natural_key {
            if field.is_empty() || !field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(SyncError::invalid_data(
                    "binding search",
                    "natural key",
                    format!("`{field}` is not a field name (letters, digits and _ only)"),
                ));
            }
            // The field name is checked above: inlining it in the path is safe.
            conditions.push(match self.dialect() {
                Dialect::Sqlite => {
                    format!("CAST(json_extract(synced_values, '$.{field}') AS TEXT) = ${next}")
                }
                Dialect::Postgres => format!("(synced_values::jsonb ->> '{field}') = ${next}"),
            });
            texts.push(value.clone());
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM sync_bindings WHERE {} ORDER BY id DESC LIMIT {limit}",
            conditions.join(" AND ")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in ids {
            q = q.bind(id);
        }
        for text in texts {
            q = q.bind(text);
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter().map(binding_from_row).collect()
    }
}
