//! `sync-magento`: the Magento 2 connector built on Synckit.
//!
//! It registers the backend kinds `magento` ← `magento-2.3` ← `magento-2.4`, a REST backend
//! adapter per model (searchCriteria, keyset paging, store scopes, errors mapped onto the
//! taxonomy: 404 missing, 400 invalid data, 429/5xx/network retryable with `Retry-After`),
//! and, as they land, binding models, mappers and synchronizers for Magento's websites,
//! stores, customers, categories, products and sale orders, and the exports of customers
//! (two-way), invoices, shipments, order statuses and stock quantities.
//!
//! The customer sync is also an Oro-style two-way connector of the `magento` integration
//! type, with its batch jobs in `jobs.toml` ([`register_integration`], see [`integration`]):
//! both ways of running it can share one backend.

pub mod adapter;
pub mod backend;
pub mod client;
pub mod errors;
pub mod integration;
pub mod models;
pub mod resources;
pub mod search_criteria;
pub mod settings;
pub mod time;

pub use adapter::MagentoAdapter;
pub use backend::{MAGENTO, MAGENTO_2_3, MAGENTO_2_4, MagentoClients, client_for};
pub use client::MagentoClient;
pub use integration::register_integration;
pub use settings::{Credentials, MagentoSettings};

use sync_core::registry::ComponentRegistry;

/// Registers the whole connector: the kinds, the REST adapters, the binding models, the
/// importers, the exporters and the listeners that delay exports on local writes.
pub fn register(registry: &mut ComponentRegistry) {
    backend::register_backend(registry);
    models::register_models(registry);
    models::register_listeners(registry);
}
