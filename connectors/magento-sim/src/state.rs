//! [`SimState`]: the handle tests use to inspect and change the shop while it is served.

use crate::config::{ApiVersion, SimConfig};
use crate::data::Db;
use crate::data::catalog::Product;
use crate::data::customer::Customer;
use crate::data::sales::{Invoice, Order, Shipment};
use crate::data::time::now;
use crate::faults::{FaultState, Faults};
use crate::requests::{RequestLog, RequestStats};
use crate::tokens::TokenStore;
use std::sync::{Arc, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Everything a running simulator shares between requests.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) config: SimConfig,
    pub(crate) db: RwLock<Db>,
    pub(crate) faults: FaultState,
    pub(crate) requests: RequestLog,
    pub(crate) tokens: TokenStore,
    pub(crate) base_url: OnceLock<String>,
}

/// A cloneable handle to a simulator's in-memory data, faults and request counters.
///
/// ```no_run
/// # async fn demo() -> Result<(), magento_sim::SimError> {
/// let sim = magento_sim::Simulator::builder().customers(5).start().await?;
/// let state = sim.state();
/// assert_eq!(state.customers_count(), 5);
/// // Change a customer as a shop admin would; updated_at moves to now.
/// state.edit_customer(1, |c| c.lastname = "Edited".into());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SimState {
    pub(crate) inner: Arc<Inner>,
}

impl SimState {
    pub(crate) fn new(config: SimConfig, db: Db) -> Self {
        let faults = FaultState::new(config.faults.clone(), config.seed);
        let requests = RequestLog::new(config.request_log_capacity);
        let tokens = TokenStore::new(&config);
        SimState {
            inner: Arc::new(Inner {
                config,
                db: RwLock::new(db),
                faults,
                requests,
                tokens,
                base_url: OnceLock::new(),
            }),
        }
    }

    /// The configuration the simulator was started with.
    pub fn config(&self) -> &SimConfig {
        &self.inner.config
    }

    /// The imitated version.
    pub fn version(&self) -> ApiVersion {
        self.inner.config.version
    }

    /// Read access to the whole shop.
    pub fn read(&self) -> RwLockReadGuard<'_, Db> {
        // A panic while holding the lock cannot leave the data half-written in a way that
        // matters to a simulator, so a poisoned lock is simply taken over.
        self.inner.db.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Write access to the whole shop (no timestamp is bumped: use the `edit_*` methods for
    /// admin-style edits).
    pub fn write(&self) -> RwLockWriteGuard<'_, Db> {
        self.inner.db.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of customers.
    pub fn customers_count(&self) -> usize {
        self.read().customer_count()
    }

    /// A customer by id.
    pub fn customer(&self, id: u32) -> Option<Customer> {
        self.read().customer(id).cloned()
    }

    /// A customer of the main website by e-mail (case-insensitive).
    pub fn customer_by_email(&self, email: &str) -> Option<Customer> {
        let db = self.read();
        db.customer_by_email(1, email)
            .and_then(|id| db.customer(id).cloned())
    }

    /// Changes a customer as a shop admin would and bumps its `updated_at`; false if missing.
    pub fn edit_customer(&self, id: u32, f: impl FnOnce(&mut Customer)) -> bool {
        let mut db = self.write();
        let Some(mut c) = db.customer(id).cloned() else {
            return false;
        };
        f(&mut c);
        c.id = id;
        c.updated_at = now().max(c.updated_at);
        db.put_customer(c);
        true
    }

    /// Deletes a customer as a shop admin would; false if missing.
    pub fn delete_customer(&self, id: u32) -> bool {
        self.write().delete_customer(id)
    }

    /// Number of products.
    pub fn products_count(&self) -> usize {
        self.read().product_count()
    }

    /// A product by SKU.
    pub fn product(&self, sku: &str) -> Option<Product> {
        self.read().product_by_sku(sku).cloned()
    }

    /// Changes a product as a shop admin would and bumps its `updated_at`; false if missing.
    pub fn edit_product(&self, sku: &str, f: impl FnOnce(&mut Product)) -> bool {
        let mut db = self.write();
        let Some(mut p) = db.product_by_sku(sku).cloned() else {
            return false;
        };
        let id = p.id;
        f(&mut p);
        p.id = id;
        p.updated_at = now().max(p.updated_at);
        db.put_product(p);
        true
    }

    /// Number of orders.
    pub fn orders_count(&self) -> usize {
        self.read().orders.len()
    }

    /// An order by id.
    pub fn order(&self, id: u32) -> Option<Order> {
        self.read().order(id).cloned()
    }

    /// Changes an order as a shop admin would and bumps its `updated_at`; false if missing.
    pub fn edit_order(&self, id: u32, f: impl FnOnce(&mut Order)) -> bool {
        let mut db = self.write();
        let Some(o) = db.order_mut(id) else {
            return false;
        };
        f(o);
        o.entity_id = id;
        o.updated_at = now().max(o.updated_at);
        true
    }

    /// Number of invoices.
    pub fn invoices_count(&self) -> usize {
        self.read().invoices.len()
    }

    /// The invoices of an order.
    pub fn invoices_for_order(&self, order_id: u32) -> Vec<Invoice> {
        self.read()
            .invoices
            .iter()
            .filter(|i| i.order_id == order_id)
            .cloned()
            .collect()
    }

    /// Number of shipments.
    pub fn shipments_count(&self) -> usize {
        self.read().shipments.len()
    }

    /// The shipments of an order.
    pub fn shipments_for_order(&self, order_id: u32) -> Vec<Shipment> {
        self.read()
            .shipments
            .iter()
            .filter(|s| s.order_id == order_id)
            .cloned()
            .collect()
    }

    /// The current faults.
    pub fn faults(&self) -> Faults {
        self.inner.faults.get()
    }

    /// Replaces the faults.
    pub fn set_faults(&self, faults: Faults) {
        self.inner.faults.set(faults);
    }

    /// How many requests of a route were served, by route key such as `POST /V1/customers` or
    /// `GET /V1/customers/{customerId}`.
    pub fn request_count(&self, route: &str) -> u64 {
        self.inner.requests.count(route)
    }

    /// Counters and the recent request log.
    pub fn request_stats(&self) -> RequestStats {
        self.inner.requests.stats()
    }

    /// Clears counters and log.
    pub fn reset_requests(&self) {
        self.inner.requests.reset();
    }

    /// Invalidates every issued admin token (to test re-authentication).
    pub fn revoke_admin_tokens(&self) {
        self.inner.tokens.revoke_all();
    }
}
