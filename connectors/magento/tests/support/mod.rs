//! What the connector's tests share: a seeded Magento simulator and the backend that syncs
//! with it.

use std::sync::Arc;

use magento_sim::{ApiVersion, Simulator};
use serde_json::{Value, json};
use sync_core::backend::{Backend, NewBackend, Secrets};
use sync_core::local::LocalRepository;
use sync_core::registry::{ApplyOn, ComponentRegistry};
use sync_core::storage::Storage;
use sync_core::testing::DocumentRepository;

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

/// A document repository for each local model, registered as its local repository for any
/// backend kind; returned in the order of `models`.
pub async fn documents(
    storage: &Storage,
    registry: &mut ComponentRegistry,
    models: &[&str],
) -> Vec<DocumentRepository> {
    let mut repositories = Vec::with_capacity(models.len());
    for model in models {
        let repository = DocumentRepository::create(storage, model)
            .await
            .expect("the document table is created");
        registry.register::<dyn LocalRepository>(
            ApplyOn::any().model(model),
            "local.repository",
            Arc::new(repository.clone()),
        );
        repositories.push(repository);
    }
    repositories
}
