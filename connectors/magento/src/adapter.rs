//! The generic Magento backend adapter: CRUD on one [`Resource`] over REST.

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use sync_core::adapter::{BackendAdapter, Page, PageRequest, SearchQuery};
use sync_core::values::Values;
use sync_core::{ExternalId, SyncError, SyncResult};

use crate::client::MagentoClient;
use crate::errors::RequestTarget;
use crate::resources::Resource;
use crate::search_criteria::search_criteria;

/// Magento's search answer envelope.
#[derive(Deserialize)]
struct SearchResults {
    #[serde(default)]
    items: Vec<Value>,
    #[serde(default)]
    total_count: Option<u64>,
}

/// The backend adapter of one Magento model.
#[derive(Debug, Clone)]
pub struct MagentoAdapter {
    client: Arc<MagentoClient>,
    resource: Resource,
}

impl MagentoAdapter {
    /// The adapter of `resource` through `client`.
    pub fn new(client: Arc<MagentoClient>, resource: Resource) -> Self {
        MagentoAdapter { client, resource }
    }

    /// The client.
    pub fn client(&self) -> &Arc<MagentoClient> {
        &self.client
    }

    fn route(&self, template: &str, id: &ExternalId) -> String {
        // SKUs may hold `/` or spaces: encode the id as one path segment.
        let encoded: String = id
            .as_str()
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                other => format!("%{other:02X}"),
            })
            .collect();
        self.client.url(&template.replace("{id}", &encoded))
    }

    fn unsupported(&self, operation: &str) -> SyncError {
        SyncError::Failed(format!(
            "{}: Magento has no REST route to {operation} it",
            self.resource.model
        ))
    }

    fn external_id(&self, record: &Value) -> Option<ExternalId> {
        match record.get(self.resource.id_field)? {
            Value::String(s) => Some(ExternalId(s.clone())),
            Value::Number(n) => Some(ExternalId(n.to_string())),
            _ => None,
        }
    }

    /// Lists of a plain-array route (websites, stores) are searched in memory: they are
    /// small, and Magento has no searchCriteria for them.
    async fn list_all(&self) -> SyncResult<Vec<Value>> {
        let target = RequestTarget::model(self.resource.model);
        self.client
            .get::<Vec<Value>>(&self.client.url(self.resource.search), &[], &target)
            .await
    }
}

#[async_trait]
impl BackendAdapter for MagentoAdapter {
    async fn search(&self, query: &SearchQuery, page: PageRequest) -> SyncResult<Page<ExternalId>> {
        let found = self.search_read(query, page).await?;
        Ok(Page {
            items: found
                .items
                .iter()
                .filter_map(|r| self.external_id(r))
                .collect(),
            total: found.total,
            next: found.next,
        })
    }

    async fn read(&self, id: &ExternalId) -> SyncResult<Value> {
        let target = RequestTarget::record(self.resource.model, id);
        if !self.resource.paged {
            return self
                .list_all()
                .await?
                .into_iter()
                .find(|r| self.external_id(r).as_ref() == Some(id))
                .ok_or(SyncError::IdMissingInBackend {
                    model: self.resource.model.to_owned(),
                    id: id.to_string(),
                });
        }
        self.client
            .get(&self.route(self.resource.read, id), &[], &target)
            .await
    }

    async fn search_read(&self, query: &SearchQuery, page: PageRequest) -> SyncResult<Page<Value>> {
        if !self.resource.paged {
            // One page holds everything; filters are not applied to these tiny lists.
            let items = if page.number == 1 {
                self.list_all().await?
            } else {
                Vec::new()
            };
            let total = items.len() as u64;
            return Ok(Page {
                items,
                total: Some(total),
                next: None,
            });
        }
        let target = RequestTarget::model(self.resource.model);
        let params = search_criteria(query, Some(page));
        let results: SearchResults = self
            .client
            .get(&self.client.url(self.resource.search), &params, &target)
            .await?;
        // Paging ends on the total, never on "an empty page": Magento 2.3 answers a page past
        // the end with the last page again.
        Ok(Page::next_of(page, results.items, results.total_count))
    }

    async fn create(&self, data: &Values) -> SyncResult<ExternalId> {
        let route = self
            .resource
            .create
            .ok_or_else(|| self.unsupported("create"))?;
        let target = RequestTarget::model(self.resource.model);
        let body = json!({ self.resource.envelope: data });
        let created: Value = self
            .client
            .write(Method::POST, &self.client.url(route), Some(&body), &target)
            .await?;
        self.external_id(&created).ok_or_else(|| {
            SyncError::invalid_data(
                self.resource.model,
                self.resource.id_field,
                "the created record came back without its id",
            )
        })
    }

    async fn write(&self, id: &ExternalId, data: &Values) -> SyncResult<()> {
        let route = self
            .resource
            .update
            .ok_or_else(|| self.unsupported("update"))?;
        let target = RequestTarget::record(self.resource.model, id);
        let mut record = data.clone();
        // Magento's PUT replaces the record from its payload: the id goes in the body too.
        if self.resource.id_field == "id"
            && let Ok(n) = id.as_str().parse::<i64>()
        {
            record.insert("id".into(), json!(n));
        }
        let body = json!({ self.resource.envelope: record });
        let _: Value = self
            .client
            .write(Method::PUT, &self.route(route, id), Some(&body), &target)
            .await?;
        Ok(())
    }

    async fn delete(&self, id: &ExternalId) -> SyncResult<()> {
        let route = self
            .resource
            .delete
            .ok_or_else(|| self.unsupported("delete"))?;
        let target = RequestTarget::record(self.resource.model, id);
        let _: Value = self
            .client
            .write(Method::DELETE, &self.route(route, id), None, &target)
            .await?;
        Ok(())
    }
}
