//! What the connector's tests share: a seeded Magento simulator and the backend that syncs
//! with it.

use magento_sim::{ApiVersion, Simulator};
use serde_json::{Value, json};
use sync_core::backend::{Backend, NewBackend, Secrets};
use sync_core::storage::Storage;

/// The integration token of every test simulator.
pub const TOKEN: &str = "magento-tests-token";

/// A simulator of Magento `version` with a seeded catalogue and customer base.
pub async fn simulator(
    seed: u64,
    customers: u32,
    products: u32,
    orders: u32,
    version: ApiVersion,
) -> Simulator {
    Simulator::builder()
        .seed(seed)
        .customers(customers)
        .products(products)
        .orders(orders)
        .version(version)
        .token(TOKEN)
        .start()
        .await
        .expect("the simulator starts")
}

/// The backend `sim` of Magento `version` for `sim`, with `settings` besides its base URL
/// and the token in its secrets.
pub async fn backend(
    storage: &Storage,
    sim: &Simulator,
    version: &str,
    settings: Value,
) -> Backend {
    let mut all = json!({ "base_url": sim.base_url() });
    if let (Some(all), Value::Object(extra)) = (all.as_object_mut(), settings) {
        all.extend(extra);
    }
    storage
        .backends()
        .create(
            NewBackend::new("magento", "sim")
                .version(version)
                .settings(all)
                .secrets(Secrets::new().with("token", TOKEN)),
        )
        .await
        .expect("the backend is created")
}
