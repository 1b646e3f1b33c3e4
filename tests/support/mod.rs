//! What the command-line tests share: a Magento simulator with its backend on a test
//! database, and the command line embedded with the Magento connector and the example's
//! back office (as `examples/magento_cli.rs` does).

#[path = "../../examples/magento_sync/backoffice.rs"]
mod backoffice;

use magento_sim::{ApiVersion, Simulator};
use serde_json::json;
use synckit::SyncResult;
use synckit::backend::{NewBackend, Secrets};
use synckit::cli::{Setup, run_args};
use synckit::testing::TestDatabase;

const TOKEN: &str = "cli-tests-token";

/// Starts a Magento 2.4 simulator with `customers` customers and `products` products (no
/// orders) and creates the backend `sim` for it on `db`.
pub async fn magento(db: &TestDatabase, seed: u64, customers: u32, products: u32) -> Simulator {
    let sim = Simulator::builder()
        .seed(seed)
        .customers(customers)
        .products(products)
        .orders(0)
        .version(ApiVersion::V2_4)
        .token(TOKEN)
        .start()
        .await
        .expect("the simulator starts");
    db.storage
        .backends()
        .create(
            NewBackend::new("magento", "sim")
                .version("2.4")
                .settings(json!({"base_url": sim.base_url()}))
                .secrets(Secrets::new().with("token", TOKEN)),
        )
        .await
        .expect("the backend is created");
    sim
}

/// What the embedded command line registers: the Magento connector and its integration,
/// the example's back office.
pub async fn setup(setup: &mut Setup<'_>) -> SyncResult<()> {
    synckit_magento::register(setup.registry);
    synckit_magento::register_integration(setup.registry)?;
    backoffice::install(setup.storage, setup.registry).await
}

/// Runs one command of the embedded command line on `db`.
pub async fn cli(db: &TestDatabase, args: &[&str]) -> SyncResult<String> {
    let mut all = vec!["magento-cli", "--database-url", db.url.as_str()];
    all.extend_from_slice(args);
    run_args(all, async |s: &mut Setup<'_>| setup(s).await).await
}
