//! Stock quantities: the one place where Magento 2.3 and 2.4 differ for this connector.
//! 2.3 updates the legacy stock item; 2.4 writes the source item of multi-source inventory.
//! Each version registers its own exporter; the component look-up picks by version.

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use sync_core::binding_model::BindingModel;
use sync_core::sync::{ExportOutcome, RecordExporter, repository_for};
use sync_core::{LocalId, SyncError, SyncResult, WorkContext};

use super::product::ProductBinding;
use crate::backend::client_for;
use crate::errors::RequestTarget;

/// The model under which stock exporters are registered (one binding: the product's).
pub const STOCK_MODEL: &str = "magento.product.stock";

/// Which stock API an exporter speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockApi {
    /// `PUT /V1/products/{sku}/stockItems/{itemId}` (2.3, and 2.4 without MSI).
    LegacyStockItem,
    /// `POST /V1/inventory/source-items` (2.4 multi-source inventory).
    SourceItems {
        /// The inventory source written (`default`).
        source_code: &'static str,
    },
}

/// Exports a local product's `qty` to Magento.
#[derive(Debug, Clone, Copy)]
pub struct StockExporter {
    api: StockApi,
}

impl StockExporter {
    /// An exporter speaking `api`.
    pub fn new(api: StockApi) -> Self {
        StockExporter { api }
    }
}

#[derive(Deserialize)]
struct StockItem {
    item_id: i64,
}

#[async_trait]
impl RecordExporter for StockExporter {
    async fn run(
        &self,
        ctx: &WorkContext,
        local_id: LocalId,
        _fields: Option<&[String]>,
    ) -> SyncResult<ExportOutcome> {
        let products = repository_for(ctx, ProductBinding::LOCAL_MODEL)?;
        let binder = ProductBinding::binder_in(&ctx.work_on(ProductBinding::MODEL));
        let (product, sku) = {
            let mut conn = ctx.storage().pool().acquire().await?;
            let Some(product) = products.get(&mut conn, local_id).await? else {
                return Ok(ExportOutcome::NothingToDo(format!(
                    "product {local_id} no longer exists"
                )));
            };
            (product, binder.external_id_of(&mut conn, local_id).await?)
        };
        let Some(sku) = sku else {
            return Ok(ExportOutcome::Skipped(format!(
                "product {local_id} is not bound to Magento"
            )));
        };
        let qty = product.get("qty").and_then(Value::as_f64).ok_or_else(|| {
            SyncError::invalid_data(
                format!("product {local_id}"),
                "qty",
                "missing or not a number",
            )
        })?;
        let client = client_for(ctx)?;
        let target = RequestTarget::record(STOCK_MODEL, &sku);
        let encoded = sku.replace('/', "%2F").replace(' ', "%20");
        match self.api {
            StockApi::SourceItems { source_code } => {
                let body = json!({"sourceItems": [{
                    "sku": sku, "source_code": source_code, "quantity": qty, "status": i32::from(qty > 0.0),
                }]});
                let _: Value = client
                    .write(
                        Method::POST,
                        &client.url("/inventory/source-items"),
                        Some(&body),
                        &target,
                    )
                    .await?;
            }
            StockApi::LegacyStockItem => {
                let item: StockItem = client
                    .get(&client.url(&format!("/stockItems/{encoded}")), &[], &target)
                    .await?;
                let body = json!({"stockItem": {"qty": qty, "is_in_stock": qty > 0.0}});
                let url = client.url(&format!("/products/{encoded}/stockItems/{}", item.item_id));
                let _: Value = client
                    .write(Method::PUT, &url, Some(&body), &target)
                    .await?;
            }
        }
        Ok(ExportOutcome::Updated {
            external_id: sku.into(),
            fields: vec!["qty".into()],
        })
    }
}
