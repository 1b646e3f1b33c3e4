//! `sync-magento`: the Magento 2 connector built on Synckit.
//!
//! It registers the backend kinds `magento` ← `magento-2.3` ← `magento-2.4`, a REST backend
//! adapter, binding models, mappers and synchronizers for Magento's websites, stores,
//! customers, categories, products and sale orders, and the exports of customers (two-way),
//! invoices, shipments, order statuses and stock quantities.

/// The name of the generic Magento backend kind, the root of the version chain.
pub const MAGENTO: &str = "magento";
