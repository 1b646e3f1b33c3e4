//! `magento-sim`: an in-memory Magento 2.4 (and 2.3) REST simulator.
//!
//! The connector's tests, the example sync and the benchmarks run against it, because no real
//! Magento can run on a developer's machine or in CI. It serves the `/rest[/<store>]/V1` subset
//! the `sync-magento` connector uses, answering as Magento does (shapes, status codes, error
//! bodies, searchCriteria semantics), with deterministic seeded data and fault injection.
//!
//! ```no_run
//! # async fn demo() -> Result<(), magento_sim::SimError> {
//! let sim = magento_sim::Simulator::builder()
//!     .seed(42).customers(100).products(50).orders(200)
//!     .version(magento_sim::ApiVersion::V2_4)
//!     .token("secret-token")
//!     .admin_credentials("admin", "admin123")
//!     .faults(magento_sim::Faults::none())
//!     .start()
//!     .await?;
//! let url = format!("{}/rest/default/V1/customers/1", sim.base_url());
//! # let _ = url;
//! sim.set_faults(magento_sim::Faults::none().with_error_503_rate(0.1));
//! assert_eq!(sim.state().customers_count(), 100);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod admin;
pub mod condition;
pub mod config;
pub mod data;
pub mod errors;
pub mod faults;
pub mod json_out;
pub mod query;
pub mod requests;
pub mod routes;
pub mod search_criteria;
mod server;
pub mod state;
pub mod tokens;

pub use config::{ApiVersion, SimBuilder, SimConfig};
pub use faults::Faults;
pub use requests::{RequestRecord, RequestStats};
pub use server::{SimError, Simulator};
pub use state::SimState;
