//! Invoices and shipments: documents created on an order through Magento's order actions
//! (`POST /V1/order/{id}/invoice`, `POST /V1/order/{id}/ship`), never updated afterwards.

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sync_core::adapter::{BackendAdapter, Condition, Page, PageRequest, SearchQuery};
use sync_core::mapper::{DerivedMapper, MapRecord};
use sync_core::sync::ExportSpec;
use sync_core::values::Values;
use sync_core::{ExternalId, LocalId, SyncError, SyncResult, WorkContext};
use sync_derive::{Binding, Mapper};

use super::order::OrderBinding;
use crate::client::MagentoClient;
use crate::errors::RequestTarget;
use crate::search_criteria::search_criteria;

/// Where a kind of order document lives.
#[derive(Debug, Clone, Copy)]
pub struct DocumentRoutes {
    /// The model name.
    pub model: &'static str,
    /// The creating action, with `{order}`.
    pub create: &'static str,
    /// The search route.
    pub search: &'static str,
    /// The read route, with `{id}`.
    pub read: &'static str,
}

/// Invoices.
pub const INVOICE_ROUTES: DocumentRoutes = DocumentRoutes {
    model: "magento.invoice",
    create: "/order/{order}/invoice",
    search: "/invoices",
    read: "/invoices/{id}",
};

/// Shipments.
pub const SHIPMENT_ROUTES: DocumentRoutes = DocumentRoutes {
    model: "magento.shipment",
    create: "/order/{order}/ship",
    search: "/shipments",
    read: "/shipment/{id}",
};

/// The adapter of order documents: `create` runs the order action with the payload (whose
/// `order_id` names the order), searches and reads go to the document routes.
#[derive(Debug, Clone)]
pub struct DocumentAdapter {
    client: Arc<MagentoClient>,
    routes: DocumentRoutes,
}

impl DocumentAdapter {
    /// The adapter of `routes` through `client`.
    pub fn new(client: Arc<MagentoClient>, routes: DocumentRoutes) -> Self {
        DocumentAdapter { client, routes }
    }
}

#[derive(Deserialize)]
struct Found {
    #[serde(default)]
    items: Vec<Value>,
    #[serde(default)]
    total_count: Option<u64>,
}

fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[async_trait]
impl BackendAdapter for DocumentAdapter {
    async fn search(&self, query: &SearchQuery, page: PageRequest) -> SyncResult<Page<ExternalId>> {
        let target = RequestTarget::model(self.routes.model);
        let found: Found = self
            .client
            .get(
                &self.client.url(self.routes.search),
                &search_criteria(query, Some(page)),
                &target,
            )
            .await?;
        let ids = found
            .items
            .iter()
            .filter_map(|d| d.get("entity_id").and_then(id_text).map(ExternalId))
            .collect();
        Ok(Page::next_of(page, ids, found.total_count))
    }

    async fn read(&self, id: &ExternalId) -> SyncResult<Value> {
        let target = RequestTarget::record(self.routes.model, id);
        let url = self
            .client
            .url(&self.routes.read.replace("{id}", id.as_str()));
        self.client.get(&url, &[], &target).await
    }

    async fn create(&self, data: &Values) -> SyncResult<ExternalId> {
        let mut body = data.clone();
        let order = body
            .remove("order_id")
            .as_ref()
            .and_then(id_text)
            .ok_or_else(|| {
                SyncError::invalid_data(
                    self.routes.model,
                    "order_id",
                    "the order is not known to Magento",
                )
            })?;
        let target = RequestTarget::model(self.routes.model);
        let url = self
            .client
            .url(&self.routes.create.replace("{order}", &order));
        // Magento answers the new document's id, as a number or a numeric string.
        let created: Value = self
            .client
            .write(Method::POST, &url, Some(&Value::Object(body)), &target)
            .await?;
        id_text(&created).map(ExternalId).ok_or_else(|| {
            SyncError::invalid_data(
                self.routes.model,
                "<answer>",
                format!("expected an id, got {created}"),
            )
        })
    }
}

/// Finds the one document a previous, interrupted export created on an order.
async fn find_on_order(
    adapter: &dyn BackendAdapter,
    model: &str,
    payload: &Values,
) -> SyncResult<Option<ExternalId>> {
    let Some(order) = payload.get("order_id").cloned() else {
        return Ok(None);
    };
    let query = SearchQuery::new().filter("order_id", Condition::Eq, order.clone());
    let found = adapter.search(&query, PageRequest::first(2)).await?;
    match found.items.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        many => Err(SyncError::ManyIdsInBackend {
            model: model.to_owned(),
            key: format!("order_id = {order}"),
            ids: many.iter().map(ToString::to_string).collect(),
        }),
    }
}

/// The binding of invoices.
#[derive(Debug, Clone, PartialEq, Binding)]
#[binding(kind = "magento", model = "magento.invoice", local = "account.invoice", external_id = i64)]
pub struct InvoiceBinding;

/// A local invoice of a whole order.
#[derive(Debug, Clone, Deserialize)]
pub struct LocalInvoice {
    /// The invoiced order.
    pub order_id: LocalId,
    /// Whether the payment is captured online (Magento's default when unset).
    #[serde(default)]
    pub capture: Option<bool>,
    /// Whether Magento e-mails the customer (Magento's default when unset).
    #[serde(default)]
    pub notify: Option<bool>,
}

/// The body of `POST /V1/order/{id}/invoice` (with the order id the adapter puts in the
/// URL). No `items`: the whole order is invoiced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Mapper)]
#[mapper(source = LocalInvoice)]
pub struct InvoicePayload {
    /// Magento's order.
    #[map(from = order_id, local_to_external = OrderBinding)]
    pub order_id: i64,
    /// Capture online.
    #[map(from)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture: Option<bool>,
    /// Notify the customer.
    #[map(from)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify: Option<bool>,
}

/// Exports invoices.
#[derive(Debug, Default)]
pub struct InvoiceExport(DerivedMapper<InvoicePayload>);

#[async_trait]
impl ExportSpec for InvoiceExport {
    type Local = LocalInvoice;
    type Mapper = DerivedMapper<InvoicePayload>;
    type Target = InvoicePayload;
    fn mapper(&self) -> &Self::Mapper {
        &self.0
    }
    fn local_model<'a>(&'a self, _: &'a WorkContext) -> &'a str {
        "account.invoice"
    }
    fn updates_remote(&self) -> bool {
        false
    }
    async fn find_remote(
        &self,
        _: &WorkContext,
        adapter: &dyn BackendAdapter,
        payload: &Values,
    ) -> SyncResult<Option<ExternalId>> {
        find_on_order(adapter, INVOICE_ROUTES.model, payload).await
    }
}

/// The binding of shipments.
#[derive(Debug, Clone, PartialEq, Binding)]
#[binding(kind = "magento", model = "magento.shipment", local = "stock.picking", external_id = i64)]
pub struct ShipmentBinding;

/// A local delivery of a whole order, with its tracking number.
#[derive(Debug, Clone, Deserialize)]
pub struct LocalShipment {
    /// The shipped order.
    pub order_id: LocalId,
    /// The carrier's tracking number.
    #[serde(default)]
    pub tracking_number: Option<String>,
    /// The carrier code, e.g. `ups`.
    #[serde(default)]
    pub carrier_code: Option<String>,
    /// The carrier's name.
    #[serde(default)]
    pub carrier_title: Option<String>,
}

/// One tracking number of a shipment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackPayload {
    /// The number.
    pub track_number: String,
    /// The carrier's name.
    pub title: String,
    /// The carrier code.
    pub carrier_code: String,
}

/// The body of `POST /V1/order/{id}/ship`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Mapper)]
#[mapper(source = LocalShipment)]
pub struct ShipmentPayload {
    /// Magento's order.
    #[map(from = order_id, local_to_external = OrderBinding)]
    pub order_id: i64,
    /// The tracking numbers.
    #[map(method = Self::tracks, changed_by(tracking_number, carrier_code, carrier_title))]
    pub tracks: Vec<TrackPayload>,
    /// Notify the customer.
    #[map(default)]
    pub notify: bool,
}

impl ShipmentPayload {
    fn tracks(r: &MapRecord<'_, LocalShipment>, _: &WorkContext) -> SyncResult<Vec<TrackPayload>> {
        Ok(r.tracking_number
            .iter()
            .map(|number| TrackPayload {
                track_number: number.clone(),
                title: r.carrier_title.clone().unwrap_or_else(|| "Carrier".into()),
                carrier_code: r.carrier_code.clone().unwrap_or_else(|| "custom".into()),
            })
            .collect())
    }
}

/// Exports shipments with their tracking numbers.
#[derive(Debug, Default)]
pub struct ShipmentExport(DerivedMapper<ShipmentPayload>);

#[async_trait]
impl ExportSpec for ShipmentExport {
    type Local = LocalShipment;
    type Mapper = DerivedMapper<ShipmentPayload>;
    type Target = ShipmentPayload;
    fn mapper(&self) -> &Self::Mapper {
        &self.0
    }
    fn local_model<'a>(&'a self, _: &'a WorkContext) -> &'a str {
        "stock.picking"
    }
    fn updates_remote(&self) -> bool {
        false
    }
    async fn find_remote(
        &self,
        _: &WorkContext,
        adapter: &dyn BackendAdapter,
        payload: &Values,
    ) -> SyncResult<Option<ExternalId>> {
        find_on_order(adapter, SHIPMENT_ROUTES.model, payload).await
    }
}
