//! Categories, parents first; a checkpoint for each new category.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use sync_core::mapper::{DerivedMapper, MapRecord};
use sync_core::sync::{Dependency, ImportSpec};
use sync_core::{LocalId, SyncError, SyncResult, WorkContext};
use sync_derive::{Binding, Mapper};

use crate::time::parse_magento_time;

/// A category as `GET /V1/categories/list` returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct RemoteCategory {
    /// The id (1 is the invisible root).
    pub id: i64,
    /// The parent (0 for the root).
    #[serde(default)]
    pub parent_id: i64,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// Whether it is shown.
    #[serde(default)]
    pub is_active: bool,
    /// Its depth (0 root, 1 a store's root category).
    #[serde(default)]
    pub level: i64,
    /// When it was last changed.
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// The binding of categories.
#[derive(Debug, Clone, PartialEq, Binding)]
#[binding(kind = "magento", model = "magento.category", local = "category", external_id = i64)]
pub struct CategoryBinding;

/// A category's local values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Mapper)]
#[mapper(source = RemoteCategory, id = id)]
pub struct CategoryValues {
    /// The name.
    #[map(from)]
    pub name: String,
    /// Whether it is shown.
    #[map(from = is_active)]
    pub active: bool,
    /// The local parent; none for a store's root category.
    #[map(method = Self::parent, async, changed_by(parent_id))]
    pub parent_id: Option<LocalId>,
}

/// Categories whose parent is imported too (the invisible root, level 0, is not).
fn has_imported_parent(category: &RemoteCategory) -> bool {
    category.level > 1
}

impl CategoryValues {
    async fn parent(
        r: &MapRecord<'_, RemoteCategory>,
        ctx: &WorkContext,
    ) -> SyncResult<Option<LocalId>> {
        if !has_imported_parent(r) {
            return Ok(None);
        }
        let parent = ctx.local_id_of::<CategoryBinding>(&r.parent_id).await?;
        parent.map(Some).ok_or_else(|| {
            SyncError::mapping(
                format!("magento.category {}", r.id),
                "parent_id",
                format!("parent category {} is not bound", r.parent_id),
            )
        })
    }
}

/// Imports categories, each parent before its children.
#[derive(Debug, Default)]
pub struct CategoryImport(DerivedMapper<CategoryValues>);

#[async_trait]
impl ImportSpec for CategoryImport {
    type Remote = RemoteCategory;
    type Mapper = DerivedMapper<CategoryValues>;
    type Target = CategoryValues;

    fn mapper(&self) -> &Self::Mapper {
        &self.0
    }

    fn local_model<'a>(&'a self, _: &'a WorkContext) -> &'a str {
        "category"
    }

    fn remote_updated_at(&self, remote: &RemoteCategory) -> Option<DateTime<Utc>> {
        remote.updated_at.as_deref().and_then(parse_magento_time)
    }

    async fn skip_reason(
        &self,
        _: &WorkContext,
        remote: &RemoteCategory,
    ) -> SyncResult<Option<String>> {
        Ok((remote.level == 0).then(|| "the root catalog is not a category".to_owned()))
    }

    async fn dependencies(
        &self,
        _: &WorkContext,
        remote: &RemoteCategory,
    ) -> SyncResult<Vec<Dependency>> {
        Ok(if has_imported_parent(remote) {
            vec![Dependency::new("magento.category", remote.parent_id)]
        } else {
            Vec::new()
        })
    }

    async fn after_import(
        &self,
        ctx: &WorkContext,
        conn: &mut AnyConnection,
        remote: &RemoteCategory,
        local_id: LocalId,
        created: bool,
    ) -> SyncResult<()> {
        if created {
            let message = format!(
                "category {} was created by the Magento import: review it",
                remote.name
            );
            ctx.storage()
                .checkpoints()
                .add(conn, ctx.backend().id, "category", local_id, &message)
                .await?;
        }
        Ok(())
    }
}
