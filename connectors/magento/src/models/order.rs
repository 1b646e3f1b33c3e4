//! Sale orders with their lines: configurable parent/child items merged, shipping as a line,
//! customer and products imported first, guest orders, import rules by payment method.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sync_core::binding_model::BindingModel;
use sync_core::mapper::{DerivedMapper, MapOutput, MapRecord};
use sync_core::sync::{Dependency, ImportSpec};
use sync_core::{LocalId, SyncError, SyncResult, WorkContext};
use sync_derive::{Binding, Mapper};

use super::customer::CustomerBinding;
use super::product::ProductBinding;
use crate::settings::ImportRule;
use crate::time::parse_magento_time;

/// An order item as Magento returns it: configurable products come as a parent item
/// (carrying the price and the chosen variant's SKU) and a child item with
/// `parent_item_id` (price 0).
#[derive(Debug, Clone, Deserialize)]
pub struct RemoteOrderItem {
    /// The item id.
    pub item_id: i64,
    /// The SKU (for a configurable parent: the chosen variant's SKU).
    pub sku: String,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// `simple`, `configurable`, `virtual`…
    #[serde(default)]
    pub product_type: String,
    /// Set on the child item of a configurable product.
    #[serde(default)]
    pub parent_item_id: Option<i64>,
    /// The unit price.
    #[serde(default)]
    pub price: f64,
    /// The quantity ordered.
    #[serde(default)]
    pub qty_ordered: f64,
    /// The discount on the row.
    #[serde(default)]
    pub discount_amount: f64,
}

/// The payment of an order.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RemotePayment {
    /// The payment method code, e.g. `checkmo`.
    #[serde(default)]
    pub method: String,
    /// The amount paid, when captured.
    #[serde(default)]
    pub amount_paid: Option<f64>,
    /// The amount authorized, when authorized.
    #[serde(default)]
    pub amount_authorized: Option<f64>,
}

/// A sale order as `GET /V1/orders/{id}` returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct RemoteOrder {
    /// The entity id (the REST id).
    pub entity_id: i64,
    /// The order number shown to people.
    pub increment_id: String,
    /// The customer, absent for guest orders.
    #[serde(default)]
    pub customer_id: Option<i64>,
    /// 1 for a guest order.
    #[serde(default)]
    pub customer_is_guest: i64,
    /// The buyer's e-mail.
    #[serde(default)]
    pub customer_email: Option<String>,
    /// The buyer's first name.
    #[serde(default)]
    pub customer_firstname: Option<String>,
    /// The buyer's last name.
    #[serde(default)]
    pub customer_lastname: Option<String>,
    /// When the order was placed.
    pub created_at: String,
    /// When the order was last changed.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// The state (`new`, `processing`, `complete`…).
    #[serde(default)]
    pub state: String,
    /// The status.
    #[serde(default)]
    pub status: String,
    /// The grand total.
    #[serde(default)]
    pub grand_total: f64,
    /// What is still due.
    #[serde(default)]
    pub total_due: Option<f64>,
    /// The shipping amount.
    #[serde(default)]
    pub shipping_amount: f64,
    /// The shipping method's label.
    #[serde(default)]
    pub shipping_description: Option<String>,
    /// The store view.
    #[serde(default)]
    pub store_id: i64,
    /// The payment.
    #[serde(default)]
    pub payment: RemotePayment,
    /// Every item, parents and children.
    #[serde(default)]
    pub items: Vec<RemoteOrderItem>,
}

impl RemoteOrder {
    fn is_guest(&self) -> bool {
        self.customer_is_guest == 1 || self.customer_id.is_none()
    }

    fn is_paid(&self) -> bool {
        self.total_due.is_some_and(|due| due <= 0.0)
            || self
                .payment
                .amount_paid
                .is_some_and(|paid| paid >= self.grand_total)
            || matches!(self.state.as_str(), "processing" | "complete" | "closed")
    }

    fn is_authorized(&self) -> bool {
        self.is_paid() || self.payment.amount_authorized.is_some_and(|a| a > 0.0)
    }

    /// The SKUs of the products sold (children of configurable items are merged into their
    /// parent, which already carries the variant's SKU).
    fn product_skus(&self) -> Vec<&str> {
        let mut skus: Vec<&str> = self
            .items
            .iter()
            .filter(|i| i.parent_item_id.is_none())
            .map(|i| i.sku.as_str())
            .collect();
        skus.sort_unstable();
        skus.dedup();
        skus
    }
}

/// The binding of sale orders, with the order number.
#[derive(Debug, Clone, PartialEq, Binding)]
#[binding(kind = "magento", model = "magento.sale.order", local = "sale.order", external_id = i64)]
pub struct OrderBinding {
    /// The order number shown to people.
    pub increment_id: String,
}

/// An order line's local values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Mapper)]
#[mapper(source = RemoteOrderItem, parent = RemoteOrder, id = item_id)]
pub struct OrderLineValues {
    /// The local product (none for the shipping line).
    #[map(from = sku, external_to_local = ProductBinding)]
    pub product_id: Option<LocalId>,
    /// The description.
    #[map(from = name)]
    pub name: String,
    /// The unit price.
    #[map(from = price)]
    pub price_unit: f64,
    /// The quantity.
    #[map(from = qty_ordered)]
    pub quantity: f64,
    /// The discount.
    #[map(from = discount_amount)]
    pub discount: f64,
    /// Whether it is the shipping line.
    #[map(default)]
    pub is_shipping: bool,
}

/// A sale order's local values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Mapper)]
#[mapper(source = RemoteOrder, id = increment_id, finalize = Self::add_shipping_line)]
pub struct OrderValues {
    /// The order number.
    #[map(from = increment_id)]
    pub name: String,
    /// The local customer; none for a guest order.
    #[map(method = Self::customer, async, changed_by(customer_id))]
    pub customer_id: Option<LocalId>,
    /// The buyer's e-mail (kept for guest orders).
    #[map(from = customer_email, default)]
    pub email: Option<String>,
    /// The buyer's name.
    #[map(method = Self::buyer, changed_by(customer_firstname, customer_lastname))]
    pub buyer: String,
    /// When the order was placed.
    #[map(from = created_at, only_create)]
    pub date_order: String,
    /// Magento's status.
    #[map(from = status)]
    pub status: String,
    /// The payment method.
    #[map(from = "payment.method")]
    pub payment_method: String,
    /// The grand total.
    #[map(from = grand_total)]
    pub amount_total: f64,
    /// The lines: configurable children merged into their parent.
    #[map(items = items, skip = Self::merged_child)]
    pub lines: Vec<OrderLineValues>,
}

impl OrderValues {
    async fn customer(
        r: &MapRecord<'_, RemoteOrder>,
        ctx: &WorkContext,
    ) -> SyncResult<Option<LocalId>> {
        let Some(customer) = r.customer_id.filter(|_| !r.is_guest()) else {
            return Ok(None);
        };
        let local = ctx.local_id_of::<CustomerBinding>(&customer).await?;
        local.map(Some).ok_or_else(|| {
            SyncError::mapping(
                format!("magento.sale.order {}", r.increment_id),
                "customer_id",
                format!("magento.customer {customer} is not bound"),
            )
        })
    }

    fn buyer(r: &MapRecord<'_, RemoteOrder>, _: &WorkContext) -> SyncResult<String> {
        let first = r.customer_firstname.as_deref().unwrap_or_default();
        let last = r.customer_lastname.as_deref().unwrap_or_default();
        Ok(format!("{first} {last}").trim().to_owned())
    }

    fn merged_child(item: &MapRecord<'_, RemoteOrderItem, RemoteOrder>) -> bool {
        // The configurable parent carries the variant's SKU, the price and the quantity.
        item.parent_item_id.is_some()
    }

    fn add_shipping_line(
        r: &MapRecord<'_, RemoteOrder>,
        output: &mut MapOutput<Self>,
        _: &WorkContext,
    ) -> SyncResult<()> {
        if let MapOutput::Full(order) = output
            && r.shipping_amount > 0.0
        {
            order.lines.push(OrderLineValues {
                product_id: None,
                name: r
                    .shipping_description
                    .clone()
                    .unwrap_or_else(|| "Shipping".to_owned()),
                price_unit: r.shipping_amount,
                quantity: 1.0,
                discount: 0.0,
                is_shipping: true,
            });
        }
        Ok(())
    }
}

/// The import rule of an order's payment method.
fn import_rule(ctx: &WorkContext, method: &str) -> SyncResult<ImportRule> {
    Ok(crate::backend::client_for(ctx)?
        .settings()
        .order_import_rules
        .get(method)
        .copied()
        .unwrap_or_default())
}

/// Imports sale orders.
#[derive(Debug, Default)]
pub struct OrderImport(DerivedMapper<OrderValues>);

#[async_trait]
impl ImportSpec for OrderImport {
    type Remote = RemoteOrder;
    type Mapper = DerivedMapper<OrderValues>;
    type Target = OrderValues;

    fn mapper(&self) -> &Self::Mapper {
        &self.0
    }

    fn local_model<'a>(&'a self, _: &'a WorkContext) -> &'a str {
        "sale.order"
    }

    fn remote_updated_at(&self, remote: &RemoteOrder) -> Option<DateTime<Utc>> {
        remote.updated_at.as_deref().and_then(parse_magento_time)
    }

    async fn skip_reason(
        &self,
        ctx: &WorkContext,
        order: &RemoteOrder,
    ) -> SyncResult<Option<String>> {
        let rule = import_rule(ctx, &order.payment.method)?;
        // An order waiting for its payment is skipped, not failed: paying it changes its
        // `updated_at`, so a later incremental run finds it again.
        Ok(match rule {
            ImportRule::Always => None,
            ImportRule::Never => Some(format!(
                "orders paid with {} are never imported",
                order.payment.method
            )),
            ImportRule::Paid if !order.is_paid() => Some(format!(
                "order {} is not paid yet ({} orders are imported once paid)",
                order.increment_id, order.payment.method
            )),
            ImportRule::Authorized if !order.is_authorized() => Some(format!(
                "order {} is not authorized yet",
                order.increment_id
            )),
            ImportRule::Paid | ImportRule::Authorized => None,
        })
    }

    async fn dependencies(
        &self,
        _: &WorkContext,
        order: &RemoteOrder,
    ) -> SyncResult<Vec<Dependency>> {
        let mut deps = Vec::new();
        if let Some(customer) = order.customer_id.filter(|_| !order.is_guest()) {
            deps.push(Dependency::new(CustomerBinding::MODEL, customer));
        }
        for sku in order.product_skus() {
            deps.push(Dependency::new(ProductBinding::MODEL, sku));
        }
        Ok(deps)
    }

    fn binding_metadata(&self, order: &RemoteOrder) -> SyncResult<Option<serde_json::Value>> {
        // Keep the order number on the binding: exports of invoices and shipments use it.
        let extras = OrderBinding {
            increment_id: order.increment_id.clone(),
        };
        extras.to_metadata().map(Some)
    }
}
