//! The in-memory shop: records in compact structs, indexes, and id sequences.

pub mod catalog;
pub mod customer;
pub mod generate;
pub mod names;
pub mod rng;
pub mod sales;
pub mod stores;
pub mod time;

use catalog::{Category, Product};
use customer::Customer;
use sales::{Invoice, Order, Shipment};
use std::collections::HashMap;

/// Auto-increment counters, one per table, as MySQL keeps them (ids are never reused).
#[derive(Debug, Clone, Default)]
pub struct Sequences {
    /// Last customer id.
    pub customer: u32,
    /// Last customer address id.
    pub address: u32,
    /// Last product id.
    pub product: u32,
    /// Last configurable option id.
    pub config_option: u32,
    /// Last order line id.
    pub order_item: u32,
    /// Last order address id.
    pub order_address: u32,
    /// Last status history id.
    pub history: u32,
    /// Last invoice line id.
    pub invoice_item: u32,
    /// Last shipment line id.
    pub shipment_item: u32,
    /// Last track id.
    pub track: u32,
    /// Last invoice/shipment comment id.
    pub comment: u32,
    /// Last quote id.
    pub quote: u32,
    /// Per-store order numbers.
    pub order_number: [u32; 4],
    /// Per-store invoice numbers.
    pub invoice_number: [u32; 4],
    /// Per-store shipment numbers.
    pub shipment_number: [u32; 4],
}

/// The kind of document an increment id is issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// Orders.
    Order,
    /// Invoices.
    Invoice,
    /// Shipments.
    Shipment,
}

/// Everything the shop holds.
#[derive(Debug, Clone, Default)]
pub struct Db {
    /// Customers, index `id - 1` (`None` once deleted).
    pub customers: Vec<Option<Customer>>,
    email_index: HashMap<(u16, String), u32>,
    /// Products, index `id - 1` (`None` once deleted).
    pub products: Vec<Option<Product>>,
    sku_index: HashMap<String, u32>,
    /// Categories, ordered by id.
    pub categories: Vec<Category>,
    /// Orders, index `entity_id - 1`.
    pub orders: Vec<Order>,
    /// Invoices, index `entity_id - 1`.
    pub invoices: Vec<Invoice>,
    /// Shipments, index `entity_id - 1`.
    pub shipments: Vec<Shipment>,
    /// Id sequences.
    pub seq: Sequences,
}

fn idx(id: u32) -> Option<usize> {
    (id as usize).checked_sub(1)
}

impl Db {
    /// Issues the next increment id: store 1 numbers `000000001`, other stores prefix their id
    /// (`2000000001`), as Magento's default sequence profiles do.
    pub fn next_increment(&mut self, kind: DocKind, store_id: u16) -> String {
        let s = usize::from(store_id.min(3));
        let n = match kind {
            DocKind::Order => &mut self.seq.order_number[s],
            DocKind::Invoice => &mut self.seq.invoice_number[s],
            DocKind::Shipment => &mut self.seq.shipment_number[s],
        };
        *n += 1;
        if store_id <= 1 {
            format!("{:09}", *n)
        } else {
            format!("{store_id}{:09}", *n)
        }
    }

    /// The number of live customers.
    pub fn customer_count(&self) -> usize {
        self.email_index.len()
    }

    /// A customer by id.
    pub fn customer(&self, id: u32) -> Option<&Customer> {
        self.customers.get(idx(id)?)?.as_ref()
    }

    /// A customer by id, for writing.
    pub fn customer_mut(&mut self, id: u32) -> Option<&mut Customer> {
        self.customers.get_mut(idx(id)?)?.as_mut()
    }

    /// Live customers in id order.
    pub fn live_customers(&self) -> impl Iterator<Item = &Customer> {
        self.customers.iter().flatten()
    }

    /// The id of the customer with this e-mail in this website.
    pub fn customer_by_email(&self, website_id: u16, email: &str) -> Option<u32> {
        self.email_index
            .get(&(website_id, email.to_lowercase()))
            .copied()
    }

    /// Stores a customer; its id must be the next one (`seq.customer + 1`) or an existing one.
    pub fn put_customer(&mut self, c: Customer) {
        let i = (c.id as usize).saturating_sub(1);
        if let Some(Some(old)) = self.customers.get(i) {
            self.email_index
                .remove(&(old.website_id, old.email.to_lowercase()));
        }
        self.email_index
            .insert((c.website_id, c.email.to_lowercase()), c.id);
        self.seq.customer = self.seq.customer.max(c.id);
        if i >= self.customers.len() {
            self.customers.resize(i + 1, None);
        }
        self.customers[i] = Some(c);
    }

    /// Deletes a customer; false if there was none.
    pub fn delete_customer(&mut self, id: u32) -> bool {
        let Some(slot) = idx(id).and_then(|i| self.customers.get_mut(i)) else {
            return false;
        };
        match slot.take() {
            Some(old) => {
                self.email_index
                    .remove(&(old.website_id, old.email.to_lowercase()));
                true
            }
            None => false,
        }
    }

    /// The number of live products.
    pub fn product_count(&self) -> usize {
        self.sku_index.len()
    }

    /// A product by id.
    pub fn product(&self, id: u32) -> Option<&Product> {
        self.products.get(idx(id)?)?.as_ref()
    }

    /// A product by id, for writing.
    pub fn product_mut(&mut self, id: u32) -> Option<&mut Product> {
        self.products.get_mut(idx(id)?)?.as_mut()
    }

    /// The id of a product by SKU (case-insensitive, like the MySQL collation).
    pub fn product_id_by_sku(&self, sku: &str) -> Option<u32> {
        self.sku_index.get(&sku.to_lowercase()).copied()
    }

    /// A product by SKU.
    pub fn product_by_sku(&self, sku: &str) -> Option<&Product> {
        self.product(self.product_id_by_sku(sku)?)
    }

    /// Live products in id order.
    pub fn live_products(&self) -> impl Iterator<Item = &Product> {
        self.products.iter().flatten()
    }

    /// Stores a product under its id.
    pub fn put_product(&mut self, p: Product) {
        let i = (p.id as usize).saturating_sub(1);
        if let Some(Some(old)) = self.products.get(i) {
            self.sku_index.remove(&old.sku.to_lowercase());
        }
        self.sku_index.insert(p.sku.to_lowercase(), p.id);
        self.seq.product = self.seq.product.max(p.id);
        if i >= self.products.len() {
            self.products.resize(i + 1, None);
        }
        self.products[i] = Some(p);
    }

    /// Deletes a product (and unlinks it from a configurable parent); false if there was none.
    pub fn delete_product(&mut self, id: u32) -> bool {
        let Some(old) = idx(id)
            .and_then(|i| self.products.get_mut(i))
            .and_then(Option::take)
        else {
            return false;
        };
        self.sku_index.remove(&old.sku.to_lowercase());
        if let Some(parent) = old.parent_id.and_then(|p| self.product_mut(p)) {
            parent.configurable_links.retain(|&c| c != id);
        }
        true
    }

    /// A category by id.
    pub fn category(&self, id: u32) -> Option<&Category> {
        self.categories
            .binary_search_by_key(&id, |c| c.id)
            .ok()
            .map(|i| &self.categories[i])
    }

    /// An order by id.
    pub fn order(&self, id: u32) -> Option<&Order> {
        self.orders.get(idx(id)?)
    }

    /// An order by id, for writing.
    pub fn order_mut(&mut self, id: u32) -> Option<&mut Order> {
        self.orders.get_mut(idx(id)?)
    }

    /// An invoice by id.
    pub fn invoice(&self, id: u32) -> Option<&Invoice> {
        self.invoices.get(idx(id)?)
    }

    /// A shipment by id.
    pub fn shipment(&self, id: u32) -> Option<&Shipment> {
        self.shipments.get(idx(id)?)
    }

    /// A shipment by id, for writing.
    pub fn shipment_mut(&mut self, id: u32) -> Option<&mut Shipment> {
        self.shipments.get_mut(idx(id)?)
    }

    /// The number of products linked to each category id (`product_count`).
    pub fn category_product_counts(&self) -> HashMap<u32, u32> {
        let mut m = HashMap::new();
        for p in self.live_products() {
            for (c, _) in &p.category_links {
                *m.entry(*c).or_insert(0) += 1;
            }
        }
        m
    }
}
