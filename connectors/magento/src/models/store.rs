//! Websites, store groups and store views: the structure of a Magento installation.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sync_core::mapper::{DerivedMapper, MapRecord};
use sync_core::sync::{Dependency, ImportSpec};
use sync_core::{LocalId, SyncResult, WorkContext};
use sync_derive::{Binding, Mapper};

/// A website as `GET /V1/store/websites` lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct RemoteWebsite {
    /// The id (0 is the admin website).
    pub id: i64,
    /// The code, e.g. `base`.
    pub code: String,
    /// The name.
    pub name: String,
}

/// A store group as `GET /V1/store/storeGroups` lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct RemoteStoreGroup {
    /// The id (0 is the admin group).
    pub id: i64,
    /// Its website.
    pub website_id: i64,
    /// The root of its category tree.
    #[serde(default)]
    pub root_category_id: i64,
    /// The name.
    pub name: String,
    /// The code.
    #[serde(default)]
    pub code: String,
}

/// A store view as `GET /V1/store/storeViews` lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct RemoteStoreView {
    /// The id (0 is the admin store view).
    pub id: i64,
    /// The code used in REST URLs, e.g. `default`, `fr`.
    pub code: String,
    /// The name.
    pub name: String,
    /// Its store group.
    pub store_group_id: i64,
    /// 1 when active.
    #[serde(default)]
    pub is_active: i64,
}

/// The binding of websites.
#[derive(Debug, Clone, PartialEq, Binding)]
#[binding(kind = "magento", model = "magento.website", local = "website", external_id = i64)]
pub struct WebsiteBinding;

/// The binding of store groups.
#[derive(Debug, Clone, PartialEq, Binding)]
#[binding(kind = "magento", model = "magento.store", local = "store", external_id = i64)]
pub struct StoreGroupBinding;

/// The binding of store views.
#[derive(Debug, Clone, PartialEq, Binding)]
#[binding(kind = "magento", model = "magento.storeview", local = "storeview", external_id = i64)]
pub struct StoreViewBinding;

/// A website's local values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Mapper)]
#[mapper(source = RemoteWebsite, id = id)]
pub struct WebsiteValues {
    /// The name.
    #[map(from)]
    pub name: String,
    /// The code.
    #[map(from)]
    pub code: String,
}

/// A store group's local values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Mapper)]
#[mapper(source = RemoteStoreGroup, id = id)]
pub struct StoreGroupValues {
    /// The name.
    #[map(from)]
    pub name: String,
    /// The local website.
    #[map(from = website_id, external_to_local = WebsiteBinding)]
    pub website_id: LocalId,
}

/// A store view's local values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Mapper)]
#[mapper(source = RemoteStoreView, id = id)]
pub struct StoreViewValues {
    /// The name.
    #[map(from)]
    pub name: String,
    /// The code.
    #[map(from)]
    pub code: String,
    /// The local store group.
    #[map(from = store_group_id, external_to_local = StoreGroupBinding)]
    pub store_id: LocalId,
    /// Whether the view is active.
    #[map(method = Self::active, changed_by(is_active))]
    pub active: bool,
}

impl StoreViewValues {
    fn active(record: &MapRecord<'_, RemoteStoreView>, _: &WorkContext) -> SyncResult<bool> {
        Ok(record.is_active == 1)
    }
}

fn admin_scope(id: i64, what: &str) -> Option<String> {
    // Id 0 is Magento's admin scope, not a sales channel.
    (id == 0).then(|| format!("the admin {what} is not imported"))
}

/// Imports websites.
#[derive(Debug, Default)]
pub struct WebsiteImport(DerivedMapper<WebsiteValues>);

#[async_trait]
impl ImportSpec for WebsiteImport {
    type Remote = RemoteWebsite;
    type Mapper = DerivedMapper<WebsiteValues>;
    type Target = WebsiteValues;
    fn mapper(&self) -> &Self::Mapper {
        &self.0
    }
    fn local_model<'a>(&'a self, _: &'a WorkContext) -> &'a str {
        "website"
    }
    async fn skip_reason(
        &self,
        _: &WorkContext,
        remote: &RemoteWebsite,
    ) -> SyncResult<Option<String>> {
        Ok(admin_scope(remote.id, "website"))
    }
}

/// Imports store groups, their website first.
#[derive(Debug, Default)]
pub struct StoreGroupImport(DerivedMapper<StoreGroupValues>);

#[async_trait]
impl ImportSpec for StoreGroupImport {
    type Remote = RemoteStoreGroup;
    type Mapper = DerivedMapper<StoreGroupValues>;
    type Target = StoreGroupValues;
    fn mapper(&self) -> &Self::Mapper {
        &self.0
    }
    fn local_model<'a>(&'a self, _: &'a WorkContext) -> &'a str {
        "store"
    }
    async fn skip_reason(
        &self,
        _: &WorkContext,
        remote: &RemoteStoreGroup,
    ) -> SyncResult<Option<String>> {
        Ok(admin_scope(remote.id, "store group"))
    }
    async fn dependencies(
        &self,
        _: &WorkContext,
        remote: &RemoteStoreGroup,
    ) -> SyncResult<Vec<Dependency>> {
        Ok(vec![Dependency::new("magento.website", remote.website_id)])
    }
}

/// Imports store views, their store group first.
#[derive(Debug, Default)]
pub struct StoreViewImport(DerivedMapper<StoreViewValues>);

#[async_trait]
impl ImportSpec for StoreViewImport {
    type Remote = RemoteStoreView;
    type Mapper = DerivedMapper<StoreViewValues>;
    type Target = StoreViewValues;
    fn mapper(&self) -> &Self::Mapper {
        &self.0
    }
    fn local_model<'a>(&'a self, _: &'a WorkContext) -> &'a str {
        "storeview"
    }
    async fn skip_reason(
        &self,
        _: &WorkContext,
        remote: &RemoteStoreView,
    ) -> SyncResult<Option<String>> {
        Ok(admin_scope(remote.id, "store view"))
    }
    async fn dependencies(
        &self,
        _: &WorkContext,
        remote: &RemoteStoreView,
    ) -> SyncResult<Vec<Dependency>> {
        Ok(vec![Dependency::new(
            "magento.store",
            remote.store_group_id,
        )])
    }
}
