//! Orders, invoices and shipments: the records and their Magento JSON shape
//! (`sales-data-order-interface`, `sales-data-invoice-interface`, `sales-data-shipment-interface`).
//!
//! Totals are derived from the lines when serializing, so a write only has to touch quantities.

use crate::condition::FieldValue;
use crate::json_out::JsonOut;

/// An order line. A configurable product is two lines: the parent (`configurable`, carrying the
/// child's SKU and the price) and the child (`simple`, price 0, with `parent_item_id`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrderItem {
    /// Line id.
    pub item_id: u32,
    /// Parent line id (children of configurable lines).
    pub parent_item_id: Option<u32>,
    /// Product id.
    pub product_id: u32,
    /// `simple`, `configurable`, `virtual`.
    pub product_type: String,
    /// SKU (the child's SKU on both lines of a configurable pair).
    pub sku: String,
    /// Name.
    pub name: String,
    /// Ordered quantity.
    pub qty_ordered: f64,
    /// Invoiced quantity.
    pub qty_invoiced: f64,
    /// Shipped quantity.
    pub qty_shipped: f64,
    /// Canceled quantity.
    pub qty_canceled: f64,
    /// Refunded quantity.
    pub qty_refunded: f64,
    /// Unit price (0 on configurable children).
    pub price: f64,
    /// Catalog price.
    pub original_price: f64,
    /// Unit weight.
    pub weight: f64,
    /// Whether the product is virtual.
    pub is_virtual: bool,
    /// Quote item id.
    pub quote_item_id: u32,
    /// Configurable options `(attribute id, value id)` on configurable parents.
    pub options: Vec<(u32, u32)>,
}

impl OrderItem {
    /// Row total (price × qty).
    pub fn row_total(&self) -> f64 {
        round2(self.price * self.qty_ordered)
    }

    /// Quantity still to invoice.
    pub fn qty_to_invoice(&self) -> f64 {
        (self.qty_ordered - self.qty_invoiced - self.qty_canceled).max(0.0)
    }

    /// Quantity still to ship.
    pub fn qty_to_ship(&self) -> f64 {
        (self.qty_ordered - self.qty_shipped - self.qty_canceled - self.qty_refunded).max(0.0)
    }
}

/// An order address (billing, or shipping inside the shipping assignment).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrderAddress {
    /// Address entity id.
    pub entity_id: u32,
    /// `billing` or `shipping`.
    pub address_type: String,
    /// City.
    pub city: String,
    /// Company.
    pub company: Option<String>,
    /// ISO country code.
    pub country_id: String,
    /// The customer address it was copied from.
    pub customer_address_id: Option<u32>,
    /// E-mail.
    pub email: String,
    /// First name.
    pub firstname: String,
    /// Last name.
    pub lastname: String,
    /// Postcode.
    pub postcode: String,
    /// Region name.
    pub region: Option<String>,
    /// Region code.
    pub region_code: Option<String>,
    /// Region id.
    pub region_id: Option<u32>,
    /// Street lines.
    pub street: Vec<String>,
    /// Telephone.
    pub telephone: String,
}

/// An order status history entry (comment).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatusHistory {
    /// Entry id.
    pub entity_id: u32,
    /// Comment text.
    pub comment: String,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// 0/1, `None` when "notification not applicable".
    pub is_customer_notified: Option<u8>,
    /// 0/1.
    pub is_visible_on_front: u8,
    /// Order status at the time.
    pub status: Option<String>,
}

/// A sales order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Order {
    /// Order id (`entity_id`, the key of `/V1/orders/{id}`).
    pub entity_id: u32,
    /// Human order number, e.g. `000000003` (store 2: `2000000003`).
    pub increment_id: String,
    /// Store id.
    pub store_id: u16,
    /// Customer id; `None` for guest orders.
    pub customer_id: Option<u32>,
    /// Customer e-mail.
    pub customer_email: String,
    /// Customer first name.
    pub customer_firstname: Option<String>,
    /// Customer last name.
    pub customer_lastname: Option<String>,
    /// Customer group id (0 for guests).
    pub customer_group_id: u32,
    /// Order state.
    pub state: String,
    /// Order status.
    pub status: String,
    /// State before hold.
    pub hold_before_state: Option<String>,
    /// Status before hold.
    pub hold_before_status: Option<String>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Last update time, Unix seconds.
    pub updated_at: i64,
    /// Lines, parents and children.
    pub items: Vec<OrderItem>,
    /// Billing address.
    pub billing_address: OrderAddress,
    /// Shipping address (none for virtual orders).
    pub shipping_address: Option<OrderAddress>,
    /// Payment method code.
    pub payment_method: String,
    /// Payment method title.
    pub payment_title: String,
    /// Shipping method code.
    pub shipping_method: Option<String>,
    /// Shipping description.
    pub shipping_description: Option<String>,
    /// Shipping amount.
    pub shipping_amount: f64,
    /// Discount amount (negative, as Magento stores it).
    pub discount_amount: f64,
    /// Invoiced total.
    pub total_invoiced: f64,
    /// Paid total.
    pub total_paid: f64,
    /// Shipping amount already invoiced.
    pub shipping_invoiced: f64,
    /// Status history, newest first.
    pub status_histories: Vec<StatusHistory>,
    /// Quote id.
    pub quote_id: u32,
    /// Protect code.
    pub protect_code: String,
    /// Customer IP.
    pub remote_ip: Option<String>,
}

/// Rounds money to cents.
pub fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

impl Order {
    /// Whether this is a guest order.
    pub fn is_guest(&self) -> bool {
        self.customer_id.is_none()
    }

    /// Sum of row totals of the visible lines.
    pub fn subtotal(&self) -> f64 {
        round2(
            self.items
                .iter()
                .filter(|i| i.parent_item_id.is_none())
                .map(OrderItem::row_total)
                .sum(),
        )
    }

    /// Grand total.
    pub fn grand_total(&self) -> f64 {
        round2(self.subtotal() + self.shipping_amount + self.discount_amount)
    }

    /// Whether all lines are virtual.
    pub fn is_virtual(&self) -> bool {
        self.items.iter().all(|i| i.is_virtual)
    }

    /// The line with this id.
    pub fn item(&self, item_id: u32) -> Option<&OrderItem> {
        self.items.iter().find(|i| i.item_id == item_id)
    }

    fn total_qty_ordered(&self) -> f64 {
        self.items
            .iter()
            .filter(|i| i.parent_item_id.is_none())
            .map(|i| i.qty_ordered)
            .sum()
    }

    fn weight(&self) -> f64 {
        self.items
            .iter()
            .filter(|i| i.parent_item_id.is_none())
            .map(|i| i.weight * i.qty_ordered)
            .sum()
    }

    /// Writes one order line; children get the nested `parent_item` (the full parent line).
    pub fn write_item(&self, o: &mut JsonOut, it: &OrderItem) {
        let row = it.row_total();
        o.begin_obj()
            .f_num("amount_refunded", 0.0)
            .f_num("base_amount_refunded", 0.0)
            .f_num("base_discount_amount", 0.0)
            .f_num("base_discount_invoiced", 0.0)
            .f_num("base_original_price", it.original_price)
            .f_num("base_price", it.price)
            .f_num("base_price_incl_tax", it.price)
            .f_num("base_row_invoiced", round2(it.price * it.qty_invoiced))
            .f_num("base_row_total", row)
            .f_num("base_row_total_incl_tax", row)
            .f_num("base_tax_amount", 0.0)
            .f_num("base_tax_invoiced", 0.0)
            .f_time("created_at", self.created_at)
            .f_num("discount_amount", 0.0)
            .f_num("discount_invoiced", 0.0)
            .f_num("discount_percent", 0.0)
            .f_int("free_shipping", 0)
            .f_int("is_qty_decimal", 0)
            .f_int("is_virtual", it.is_virtual.into())
            .f_int("item_id", it.item_id.into())
            .f_str("name", &it.name)
            .f_int("no_discount", 0)
            .f_int("order_id", self.entity_id.into())
            .f_num("original_price", it.original_price)
            .f_opt_int("parent_item_id", it.parent_item_id.map(i64::from))
            .f_num("price", it.price)
            .f_num("price_incl_tax", it.price)
            .f_int("product_id", it.product_id.into())
            .f_str("product_type", &it.product_type)
            .f_num("qty_canceled", it.qty_canceled)
            .f_num("qty_invoiced", it.qty_invoiced)
            .f_num("qty_ordered", it.qty_ordered)
            .f_num("qty_refunded", it.qty_refunded)
            .f_num("qty_shipped", it.qty_shipped)
            .f_int("quote_item_id", it.quote_item_id.into())
            .f_num("row_invoiced", round2(it.price * it.qty_invoiced))
            .f_num("row_total", row)
            .f_num("row_total_incl_tax", row)
            .f_num("row_weight", it.weight * it.qty_ordered)
            .f_str("sku", &it.sku)
            .f_int("store_id", self.store_id.into())
            .f_num("tax_amount", 0.0)
            .f_num("tax_invoiced", 0.0)
            .f_num("tax_percent", 0.0)
            .f_time("updated_at", self.updated_at)
            .f_num("weight", it.weight);
        if let Some(parent) = it.parent_item_id.and_then(|p| self.item(p)) {
            o.key("parent_item");
            self.write_item(o, parent);
        }
        if !it.options.is_empty() {
            o.key("product_option")
                .begin_obj()
                .key("extension_attributes")
                .begin_obj()
                .key("configurable_item_options")
                .begin_arr();
            for (attr, val) in &it.options {
                o.begin_obj()
                    .f_str("option_id", &attr.to_string())
                    .f_int("option_value", (*val).into())
                    .end_obj();
            }
            o.end_arr().end_obj().end_obj();
        }
        o.end_obj();
    }

    fn write_address(&self, o: &mut JsonOut, a: &OrderAddress) {
        o.begin_obj()
            .f_str("address_type", &a.address_type)
            .f_str("city", &a.city)
            .f_opt_str("company", a.company.as_deref())
            .f_str("country_id", &a.country_id)
            .f_opt_int("customer_address_id", a.customer_address_id.map(i64::from))
            .f_opt_int("customer_id", self.customer_id.map(i64::from))
            .f_str("email", &a.email)
            .f_int("entity_id", a.entity_id.into())
            .f_str("firstname", &a.firstname)
            .f_str("lastname", &a.lastname)
            .f_int("parent_id", self.entity_id.into())
            .f_str("postcode", &a.postcode)
            .f_opt_str("region", a.region.as_deref())
            .f_opt_str("region_code", a.region_code.as_deref())
            .f_opt_int("region_id", a.region_id.map(i64::from))
            .f_str_arr("street", &a.street)
            .f_str("telephone", &a.telephone)
            .end_obj();
    }

    /// Writes one status history entry.
    pub fn write_history(&self, o: &mut JsonOut, h: &StatusHistory) {
        o.begin_obj()
            .f_str("comment", &h.comment)
            .f_time("created_at", h.created_at)
            .f_int("entity_id", h.entity_id.into())
            .f_str("entity_name", "order");
        match h.is_customer_notified {
            Some(n) => o.f_int("is_customer_notified", n.into()),
            None => o.f_null("is_customer_notified"),
        };
        o.f_int("is_visible_on_front", h.is_visible_on_front.into())
            .f_int("parent_id", self.entity_id.into())
            .f_opt_str("status", h.status.as_deref())
            .end_obj();
    }

    /// Writes the order object.
    pub fn write_json(&self, o: &mut JsonOut) {
        let subtotal = self.subtotal();
        let grand = self.grand_total();
        let due = round2(grand - self.total_paid);
        let canceled = self.state == "canceled";
        o.begin_obj()
            .f_str("applied_rule_ids", "1")
            .f_str("base_currency_code", "USD")
            .f_num("base_discount_amount", self.discount_amount)
            .f_num("base_grand_total", grand)
            .f_num("base_discount_tax_compensation_amount", 0.0)
            .f_num("base_shipping_amount", self.shipping_amount)
            .f_num("base_shipping_discount_amount", 0.0)
            .f_num("base_shipping_incl_tax", self.shipping_amount)
            .f_num("base_shipping_tax_amount", 0.0)
            .f_num("base_subtotal", subtotal)
            .f_num("base_subtotal_incl_tax", subtotal)
            .f_num("base_tax_amount", 0.0)
            .f_num("base_total_due", due);
        if self.total_invoiced > 0.0 {
            o.f_num("base_shipping_invoiced", self.shipping_invoiced)
                .f_num(
                    "base_subtotal_invoiced",
                    round2(self.total_invoiced - self.shipping_invoiced),
                )
                .f_num("base_total_invoiced", self.total_invoiced)
                .f_num("base_total_paid", self.total_paid);
        }
        if canceled {
            o.f_num("base_total_canceled", grand)
                .f_num("base_subtotal_canceled", subtotal);
        }
        o.f_num("base_to_global_rate", 1.0)
            .f_num("base_to_order_rate", 1.0)
            .f_int("billing_address_id", self.billing_address.entity_id.into())
            .f_time("created_at", self.created_at)
            .f_str("customer_email", &self.customer_email)
            .f_opt_str("customer_firstname", self.customer_firstname.as_deref())
            .f_int("customer_group_id", self.customer_group_id.into())
            .f_opt_int("customer_id", self.customer_id.map(i64::from))
            .f_int("customer_is_guest", self.is_guest().into())
            .f_opt_str("customer_lastname", self.customer_lastname.as_deref())
            .f_int("customer_note_notify", 1)
            .f_num("discount_amount", self.discount_amount)
            .f_int("email_sent", 1)
            .f_int("entity_id", self.entity_id.into())
            .f_str("global_currency_code", "USD")
            .f_num("grand_total", grand)
            .f_num("discount_tax_compensation_amount", 0.0)
            .f_opt_str("hold_before_state", self.hold_before_state.as_deref())
            .f_opt_str("hold_before_status", self.hold_before_status.as_deref())
            .f_str("increment_id", &self.increment_id)
            .f_int("is_virtual", self.is_virtual().into())
            .f_str("order_currency_code", "USD")
            .f_str("protect_code", &self.protect_code)
            .f_int("quote_id", self.quote_id.into())
            .f_opt_str("remote_ip", self.remote_ip.as_deref())
            .f_num("shipping_amount", self.shipping_amount)
            .f_opt_str("shipping_description", self.shipping_description.as_deref())
            .f_num("shipping_discount_amount", 0.0)
            .f_num("shipping_discount_tax_compensation_amount", 0.0)
            .f_num("shipping_incl_tax", self.shipping_amount);
        if self.total_invoiced > 0.0 {
            o.f_num("shipping_invoiced", self.shipping_invoiced);
        }
        o.f_num("shipping_tax_amount", 0.0)
            .f_str("state", &self.state)
            .f_str("status", &self.status)
            .f_str("store_currency_code", "USD")
            .f_int("store_id", self.store_id.into())
            .f_str(
                "store_name",
                &crate::data::stores::order_store_name(self.store_id),
            )
            .f_num("store_to_base_rate", 0.0)
            .f_num("store_to_order_rate", 0.0)
            .f_num("subtotal", subtotal)
            .f_num("subtotal_incl_tax", subtotal);
        if canceled {
            o.f_num("subtotal_canceled", subtotal)
                .f_num("total_canceled", grand);
        }
        if self.total_invoiced > 0.0 {
            o.f_num(
                "subtotal_invoiced",
                round2(self.total_invoiced - self.shipping_invoiced),
            );
        }
        o.f_num("tax_amount", 0.0).f_num("total_due", due);
        if self.total_invoiced > 0.0 {
            o.f_num("total_invoiced", self.total_invoiced)
                .f_num("total_paid", self.total_paid);
        }
        o.f_int(
            "total_item_count",
            self.items
                .iter()
                .filter(|i| i.parent_item_id.is_none())
                .count() as i64,
        )
        .f_num("total_qty_ordered", self.total_qty_ordered())
        .f_time("updated_at", self.updated_at)
        .f_num("weight", self.weight());
        o.key("items").begin_arr();
        for it in &self.items {
            self.write_item(o, it);
        }
        o.end_arr();
        o.key("billing_address");
        self.write_address(o, &self.billing_address);
        o.key("payment")
            .begin_obj()
            .f_null("account_status")
            .key("additional_information")
            .begin_arr()
            .str(&self.payment_title)
            .str("")
            .end_arr();
        if self.total_paid > 0.0 {
            o.f_num("amount_paid", self.total_paid)
                .f_num("base_amount_paid", self.total_paid)
                .f_num("base_amount_paid_online", 0.0)
                .f_num("base_shipping_captured", self.shipping_invoiced)
                .f_num("shipping_captured", self.shipping_invoiced);
        }
        o.f_num("amount_ordered", grand)
            .f_num("base_amount_ordered", grand)
            .f_num("base_shipping_amount", self.shipping_amount)
            .f_null("cc_last4")
            .f_int("entity_id", self.entity_id.into())
            .f_str("method", &self.payment_method)
            .f_int("parent_id", self.entity_id.into())
            .f_num("shipping_amount", self.shipping_amount)
            .end_obj();
        o.key("status_histories").begin_arr();
        for h in &self.status_histories {
            self.write_history(o, h);
        }
        o.end_arr();
        o.key("extension_attributes").begin_obj();
        o.key("shipping_assignments").begin_arr().begin_obj();
        o.key("shipping").begin_obj();
        if let Some(a) = &self.shipping_address {
            o.key("address");
            self.write_address(o, a);
        }
        o.f_opt_str("method", self.shipping_method.as_deref());
        o.key("total")
            .begin_obj()
            .f_num("base_shipping_amount", self.shipping_amount)
            .f_num("base_shipping_discount_amount", 0.0)
            .f_num("base_shipping_discount_tax_compensation_amnt", 0.0)
            .f_num("base_shipping_incl_tax", self.shipping_amount)
            .f_num("base_shipping_tax_amount", 0.0)
            .f_num("shipping_amount", self.shipping_amount)
            .f_num("shipping_discount_amount", 0.0)
            .f_num("shipping_discount_tax_compensation_amount", 0.0)
            .f_num("shipping_incl_tax", self.shipping_amount)
            .f_num("shipping_tax_amount", 0.0)
            .end_obj();
        o.end_obj();
        o.key("items").begin_arr();
        for it in &self.items {
            self.write_item(o, it);
        }
        o.end_arr().end_obj().end_arr();
        o.key("payment_additional_info")
            .begin_arr()
            .begin_obj()
            .f_str("key", "method_title")
            .f_str("value", &self.payment_title)
            .end_obj()
            .end_arr();
        o.key("applied_taxes").begin_arr().end_arr();
        o.key("item_applied_taxes").begin_arr().end_arr();
        o.end_obj();
        o.end_obj();
    }

    /// A column of `sales_order` for searchCriteria.
    pub fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        Some(match name {
            "entity_id" => FieldValue::Int(self.entity_id.into()),
            "increment_id" => FieldValue::from(self.increment_id.as_str()),
            "store_id" => FieldValue::Int(self.store_id.into()),
            "customer_id" => self
                .customer_id
                .map_or(FieldValue::Null, |c| FieldValue::Int(c.into())),
            "customer_email" => FieldValue::from(self.customer_email.as_str()),
            "customer_firstname" => FieldValue::from(self.customer_firstname.as_deref()),
            "customer_lastname" => FieldValue::from(self.customer_lastname.as_deref()),
            "customer_group_id" => FieldValue::Int(self.customer_group_id.into()),
            "customer_is_guest" => FieldValue::Int(self.is_guest().into()),
            "state" => FieldValue::from(self.state.as_str()),
            "status" => FieldValue::from(self.status.as_str()),
            "created_at" => FieldValue::Date(self.created_at),
            "updated_at" => FieldValue::Date(self.updated_at),
            "grand_total" | "base_grand_total" => FieldValue::Num(self.grand_total()),
            "subtotal" | "base_subtotal" => FieldValue::Num(self.subtotal()),
            "total_paid" | "base_total_paid" => {
                if self.total_paid > 0.0 {
                    FieldValue::Num(self.total_paid)
                } else {
                    FieldValue::Null
                }
            }
            "shipping_amount" => FieldValue::Num(self.shipping_amount),
            "quote_id" => FieldValue::Int(self.quote_id.into()),
            "is_virtual" => FieldValue::Int(self.is_virtual().into()),
            "billing_address_id" => FieldValue::Int(self.billing_address.entity_id.into()),
            "shipping_address_id" => self
                .shipping_address
                .as_ref()
                .map_or(FieldValue::Null, |a| FieldValue::Int(a.entity_id.into())),
            "order_currency_code" | "base_currency_code" => FieldValue::from("USD"),
            "protect_code" => FieldValue::from(self.protect_code.as_str()),
            "remote_ip" => FieldValue::from(self.remote_ip.as_deref()),
            "shipping_method" => FieldValue::from(self.shipping_method.as_deref()),
            "shipping_description" => FieldValue::from(self.shipping_description.as_deref()),
            "hold_before_state" => FieldValue::from(self.hold_before_state.as_deref()),
            "hold_before_status" => FieldValue::from(self.hold_before_status.as_deref()),
            "coupon_code" | "ext_order_id" | "customer_middlename" | "customer_dob" => {
                FieldValue::Null
            }
            _ => return None,
        })
    }
}

/// A comment on an invoice or a shipment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DocComment {
    /// Comment id.
    pub entity_id: u32,
    /// Text.
    pub comment: String,
    /// 0/1.
    pub is_customer_notified: u8,
    /// 0/1.
    pub is_visible_on_front: u8,
    /// Creation time, Unix seconds.
    pub created_at: i64,
}

fn write_comments(o: &mut JsonOut, parent: u32, comments: &[DocComment]) {
    o.key("comments").begin_arr();
    for c in comments {
        o.begin_obj()
            .f_int("is_customer_notified", c.is_customer_notified.into())
            .f_int("parent_id", parent.into())
            .f_str("comment", &c.comment)
            .f_int("is_visible_on_front", c.is_visible_on_front.into())
            .f_time("created_at", c.created_at)
            .f_int("entity_id", c.entity_id.into())
            .end_obj();
    }
    o.end_arr();
}

/// A line of an invoice or a shipment: its own id, the order line and the quantity.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DocItem {
    /// Document line id.
    pub entity_id: u32,
    /// Order line id.
    pub order_item_id: u32,
    /// Quantity.
    pub qty: f64,
}

/// An invoice (state 2 = paid).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Invoice {
    /// Invoice id.
    pub entity_id: u32,
    /// Invoice number (its own sequence).
    pub increment_id: String,
    /// Order id.
    pub order_id: u32,
    /// Store id.
    pub store_id: u16,
    /// 1 open, 2 paid, 3 canceled.
    pub state: u8,
    /// Shipping amount included in this invoice.
    pub shipping_amount: f64,
    /// Lines.
    pub items: Vec<DocItem>,
    /// Comments.
    pub comments: Vec<DocComment>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Last update time, Unix seconds.
    pub updated_at: i64,
}

impl Invoice {
    /// Subtotal of the invoiced visible lines.
    pub fn subtotal(&self, order: &Order) -> f64 {
        round2(
            self.items
                .iter()
                .filter_map(|d| order.item(d.order_item_id).map(|i| (i, d.qty)))
                .filter(|(i, _)| i.parent_item_id.is_none())
                .map(|(i, q)| i.price * q)
                .sum(),
        )
    }

    /// Grand total.
    pub fn grand_total(&self, order: &Order) -> f64 {
        round2(self.subtotal(order) + self.shipping_amount)
    }

    /// Writes the invoice object; `order` supplies the line details.
    pub fn write_json(&self, o: &mut JsonOut, order: &Order) {
        let subtotal = self.subtotal(order);
        let grand = self.grand_total(order);
        let total_qty: f64 = self.items.iter().map(|d| d.qty).sum();
        o.begin_obj()
            .f_str("base_currency_code", "USD")
            .f_num("base_discount_amount", 0.0)
            .f_num("base_grand_total", grand)
            .f_num("base_discount_tax_compensation_amount", 0.0)
            .f_num("base_shipping_amount", self.shipping_amount)
            .f_num("base_shipping_incl_tax", self.shipping_amount)
            .f_num("base_shipping_tax_amount", 0.0)
            .f_num("base_subtotal", subtotal)
            .f_num("base_subtotal_incl_tax", subtotal)
            .f_num("base_tax_amount", 0.0)
            .f_num("base_to_global_rate", 1.0)
            .f_num("base_to_order_rate", 1.0)
            .f_int("billing_address_id", order.billing_address.entity_id.into())
            .f_int("can_void_flag", 0)
            .f_time("created_at", self.created_at)
            .f_num("discount_amount", 0.0)
            .f_int("email_sent", 1)
            .f_int("entity_id", self.entity_id.into())
            .f_str("global_currency_code", "USD")
            .f_num("grand_total", grand)
            .f_num("discount_tax_compensation_amount", 0.0)
            .f_str("increment_id", &self.increment_id)
            .f_str("order_currency_code", "USD")
            .f_int("order_id", self.order_id.into())
            .f_opt_int(
                "shipping_address_id",
                order
                    .shipping_address
                    .as_ref()
                    .map(|a| i64::from(a.entity_id)),
            )
            .f_num("shipping_amount", self.shipping_amount)
            .f_num("shipping_discount_tax_compensation_amount", 0.0)
            .f_num("shipping_incl_tax", self.shipping_amount)
            .f_num("shipping_tax_amount", 0.0)
            .f_int("state", self.state.into())
            .f_str("store_currency_code", "USD")
            .f_int("store_id", self.store_id.into())
            .f_num("store_to_base_rate", 0.0)
            .f_num("store_to_order_rate", 0.0)
            .f_num("subtotal", subtotal)
            .f_num("subtotal_incl_tax", subtotal)
            .f_num("tax_amount", 0.0)
            .f_num("total_qty", total_qty)
            .f_time("updated_at", self.updated_at);
        o.key("items").begin_arr();
        for d in &self.items {
            let Some(it) = order.item(d.order_item_id) else {
                continue;
            };
            o.begin_obj()
                .f_num("base_price", it.price)
                .f_int("entity_id", d.entity_id.into())
                .f_str("name", &it.name)
                .f_int("parent_id", self.entity_id.into())
                .f_num("price", it.price)
                .f_int("product_id", it.product_id.into());
            // Children of configurable lines carry no row totals.
            if it.parent_item_id.is_none() {
                let row = round2(it.price * d.qty);
                o.f_num("base_row_total", row)
                    .f_num("base_row_total_incl_tax", row)
                    .f_num("base_price_incl_tax", it.price)
                    .f_num("price_incl_tax", it.price)
                    .f_num("row_total", row)
                    .f_num("row_total_incl_tax", row)
                    .f_num("tax_amount", 0.0)
                    .f_num("discount_tax_compensation_amount", 0.0)
                    .f_num("base_discount_tax_compensation_amount", 0.0);
            }
            o.f_str("sku", &it.sku)
                .f_int("order_item_id", d.order_item_id.into())
                .f_num("qty", d.qty)
                .end_obj();
        }
        o.end_arr();
        write_comments(o, self.entity_id, &self.comments);
        o.end_obj();
    }

    /// A column of `sales_invoice` for searchCriteria.
    pub fn field(&self, name: &str, order: &Order) -> Option<FieldValue<'_>> {
        Some(match name {
            "entity_id" => FieldValue::Int(self.entity_id.into()),
            "increment_id" => FieldValue::from(self.increment_id.as_str()),
            "order_id" => FieldValue::Int(self.order_id.into()),
            "store_id" => FieldValue::Int(self.store_id.into()),
            "state" => FieldValue::Int(self.state.into()),
            "created_at" => FieldValue::Date(self.created_at),
            "updated_at" => FieldValue::Date(self.updated_at),
            "grand_total" | "base_grand_total" => FieldValue::Num(self.grand_total(order)),
            "subtotal" => FieldValue::Num(self.subtotal(order)),
            "total_qty" => FieldValue::Num(self.items.iter().map(|d| d.qty).sum()),
            "billing_address_id" => FieldValue::Int(order.billing_address.entity_id.into()),
            "email_sent" => FieldValue::Int(1),
            "transaction_id" => FieldValue::Null,
            _ => return None,
        })
    }
}

/// A shipment track.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Track {
    /// Track id.
    pub entity_id: u32,
    /// Shipment id.
    pub parent_id: u32,
    /// Order id.
    pub order_id: u32,
    /// Tracking number.
    pub track_number: String,
    /// Carrier title.
    pub title: String,
    /// Carrier code.
    pub carrier_code: String,
    /// Weight (required getter, may be null).
    pub weight: Option<f64>,
    /// Quantity (required getter, may be null).
    pub qty: Option<f64>,
    /// Description (required getter, may be null).
    pub description: Option<String>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Last update time, Unix seconds.
    pub updated_at: i64,
}

impl Track {
    /// Writes the track object.
    pub fn write_json(&self, o: &mut JsonOut) {
        o.begin_obj()
            .f_int("order_id", self.order_id.into())
            .f_time("created_at", self.created_at)
            .f_int("entity_id", self.entity_id.into())
            .f_int("parent_id", self.parent_id.into())
            .f_time("updated_at", self.updated_at);
        match self.weight {
            Some(w) => o.f_num("weight", w),
            None => o.f_null("weight"),
        };
        match self.qty {
            Some(q) => o.f_num("qty", q),
            None => o.f_null("qty"),
        };
        match &self.description {
            Some(d) => o.f_str("description", d),
            None => o.f_null("description"),
        };
        o.f_str("track_number", &self.track_number)
            .f_str("title", &self.title)
            .f_str("carrier_code", &self.carrier_code)
            .end_obj();
    }
}

/// A shipment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Shipment {
    /// Shipment id.
    pub entity_id: u32,
    /// Shipment number (its own sequence).
    pub increment_id: String,
    /// Order id.
    pub order_id: u32,
    /// Store id.
    pub store_id: u16,
    /// Lines.
    pub items: Vec<DocItem>,
    /// Tracks.
    pub tracks: Vec<Track>,
    /// Comments.
    pub comments: Vec<DocComment>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Last update time, Unix seconds.
    pub updated_at: i64,
}

impl Shipment {
    /// Writes the shipment object; `order` supplies the line details.
    pub fn write_json(&self, o: &mut JsonOut, order: &Order) {
        let total_qty: f64 = self.items.iter().map(|d| d.qty).sum();
        let weight: f64 = self
            .items
            .iter()
            .filter_map(|d| order.item(d.order_item_id).map(|i| i.weight * d.qty))
            .sum();
        o.begin_obj()
            .f_int("billing_address_id", order.billing_address.entity_id.into())
            .f_time("created_at", self.created_at)
            .f_opt_int("customer_id", order.customer_id.map(i64::from))
            .f_int("email_sent", 1)
            .f_int("entity_id", self.entity_id.into())
            .f_str("increment_id", &self.increment_id)
            .f_int("order_id", self.order_id.into())
            .key("packages")
            .begin_arr()
            .end_arr()
            .f_opt_int(
                "shipping_address_id",
                order
                    .shipping_address
                    .as_ref()
                    .map(|a| i64::from(a.entity_id)),
            )
            .f_int("store_id", self.store_id.into())
            .f_num("total_qty", total_qty)
            .f_num("total_weight", weight)
            .f_time("updated_at", self.updated_at);
        o.key("items").begin_arr();
        for d in &self.items {
            let Some(it) = order.item(d.order_item_id) else {
                continue;
            };
            o.begin_obj()
                .f_int("entity_id", d.entity_id.into())
                .f_str("name", &it.name)
                .f_int("parent_id", self.entity_id.into())
                .f_num("price", it.price)
                .f_int("product_id", it.product_id.into())
                .f_str("sku", &it.sku)
                .f_num("weight", it.weight)
                .f_int("order_item_id", d.order_item_id.into())
                .f_num("qty", d.qty)
                .end_obj();
        }
        o.end_arr();
        o.key("tracks").begin_arr();
        for t in &self.tracks {
            t.write_json(o);
        }
        o.end_arr();
        write_comments(o, self.entity_id, &self.comments);
        o.end_obj();
    }

    /// A column of `sales_shipment` for searchCriteria.
    pub fn field(&self, name: &str, order: &Order) -> Option<FieldValue<'_>> {
        Some(match name {
            "entity_id" => FieldValue::Int(self.entity_id.into()),
            "increment_id" => FieldValue::from(self.increment_id.as_str()),
            "order_id" => FieldValue::Int(self.order_id.into()),
            "store_id" => FieldValue::Int(self.store_id.into()),
            "customer_id" => order
                .customer_id
                .map_or(FieldValue::Null, |c| FieldValue::Int(c.into())),
            "created_at" => FieldValue::Date(self.created_at),
            "updated_at" => FieldValue::Date(self.updated_at),
            "total_qty" => FieldValue::Num(self.items.iter().map(|d| d.qty).sum()),
            "shipment_status" => FieldValue::Null,
            "email_sent" => FieldValue::Int(1),
            _ => return None,
        })
    }
}
