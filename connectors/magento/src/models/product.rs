//! Products, bound by SKU; a checkpoint for each new product.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::AnyConnection;
use sync_core::mapper::{DerivedMapper, MapRecord};
use sync_core::sync::ImportSpec;
use sync_core::{LocalId, SyncResult, WorkContext};
use sync_derive::{Binding, Mapper};

use crate::time::parse_magento_time;

/// One custom attribute: a code and a value that Magento does not cast (text, list or
/// object).
#[derive(Debug, Clone, Deserialize)]
pub struct CustomAttribute {
    /// The attribute code, e.g. `description`.
    pub attribute_code: String,
    /// Its value.
    pub value: Value,
}

/// A product as `GET /V1/products` returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct RemoteProduct {
    /// The entity id.
    pub id: i64,
    /// The SKU, the product's external id.
    pub sku: String,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The price (an integer or a decimal on the wire).
    #[serde(default)]
    pub price: f64,
    /// `simple`, `configurable`, `virtual`…
    #[serde(default)]
    pub type_id: String,
    /// 1 enabled, 2 disabled.
    #[serde(default)]
    pub status: i64,
    /// The weight.
    #[serde(default)]
    pub weight: Option<f64>,
    /// When it was last changed.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// The custom attributes.
    #[serde(default)]
    pub custom_attributes: Vec<CustomAttribute>,
}

impl RemoteProduct {
    /// A custom attribute's value as text.
    pub fn attribute(&self, code: &str) -> Option<&str> {
        self.custom_attributes
            .iter()
            .find(|a| a.attribute_code == code)
            .and_then(|a| a.value.as_str())
    }
}

/// The binding of products, keyed by SKU.
#[derive(Debug, Clone, PartialEq, Binding)]
#[binding(kind = "magento", model = "magento.product", local = "product")]
pub struct ProductBinding;

/// A product's local values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Mapper)]
#[mapper(source = RemoteProduct, id = sku)]
pub struct ProductValues {
    /// The SKU (the local default code).
    #[map(from)]
    pub sku: String,
    /// The name.
    #[map(from)]
    pub name: String,
    /// The list price.
    #[map(from = price)]
    pub list_price: f64,
    /// The weight.
    #[map(from, default)]
    pub weight: Option<f64>,
    /// Whether the product can be sold.
    #[map(method = Self::active, changed_by(status))]
    pub active: bool,
    /// The description, from the custom attributes.
    #[map(method = Self::description, changed_by(custom_attributes))]
    pub description: Option<String>,
}

impl ProductValues {
    fn active(r: &MapRecord<'_, RemoteProduct>, _: &WorkContext) -> SyncResult<bool> {
        Ok(r.status == 1)
    }

    fn description(
        r: &MapRecord<'_, RemoteProduct>,
        _: &WorkContext,
    ) -> SyncResult<Option<String>> {
        Ok(r.attribute("description").map(str::to_owned))
    }
}

/// Imports simple products. Configurable parents are skipped, as the reference connector
/// does: their simple children are the products sold.
#[derive(Debug, Default)]
pub struct ProductImport(DerivedMapper<ProductValues>);

#[async_trait]
impl ImportSpec for ProductImport {
    type Remote = RemoteProduct;
    type Mapper = DerivedMapper<ProductValues>;
    type Target = ProductValues;

    fn mapper(&self) -> &Self::Mapper {
        &self.0
    }

    fn local_model<'a>(&'a self, _: &'a WorkContext) -> &'a str {
        "product"
    }

    fn remote_updated_at(&self, remote: &RemoteProduct) -> Option<DateTime<Utc>> {
        remote.updated_at.as_deref().and_then(parse_magento_time)
    }

    async fn skip_reason(
        &self,
        _: &WorkContext,
        remote: &RemoteProduct,
    ) -> SyncResult<Option<String>> {
        Ok((remote.type_id == "configurable").then(|| {
            format!(
                "{} is a configurable product: its variants are imported",
                remote.sku
            )
        }))
    }

    async fn after_import(
        &self,
        ctx: &WorkContext,
        conn: &mut AnyConnection,
        remote: &RemoteProduct,
        local_id: LocalId,
        created: bool,
    ) -> SyncResult<()> {
        if created {
            let message = format!(
                "product {} was created by the Magento import: review it",
                remote.sku
            );
            ctx.storage()
                .checkpoints()
                .add(conn, ctx.backend().id, "product", local_id, &message)
                .await?;
        }
        Ok(())
    }
}
