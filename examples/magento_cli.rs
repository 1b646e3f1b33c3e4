//! The `synckit` command line with the Magento connector and the example's shop back office
//! registered: `worker`, `jobs` and `integrations` for Magento integrations.
//!
//! ```sh
//! # A Magento to sync with: the bundled simulator (any Magento 2 works the same).
//! cargo run -p magento-sim -- --listen 127.0.0.1:8080 --token demo-token --customers 50
//!
//! export SYNCKIT_DATABASE_URL=sqlite://shop.db MAGENTO_URL=http://127.0.0.1:8080 MAGENTO_TOKEN=demo-token
//! export SYNCKIT_SECRET_KEY="$(openssl rand -base64 32)"   # encrypts the stored token
//! cargo run --example magento_cli -- integrations add --name shop --backend magento --connector customer --two-way remote
//! cargo run --example magento_cli -- integrations sync shop
//! cargo run --example magento_cli -- integrations reverse shop --connector customer --id 1
//! cargo run --example magento_cli -- integrations executions shop
//! ```
//!
//! With `MAGENTO_URL` set, the backend `magento` (or `MAGENTO_BACKEND`) is created on first
//! use, Magento 2.4 (or `MAGENTO_VERSION`) with the integration token `MAGENTO_TOKEN`; the
//! token is stored with the backend's secrets, encrypted with `SYNCKIT_SECRET_KEY`, never
//! printed. The back office's tables are
//! created in the same database.

#[path = "magento_sync/backoffice.rs"]
mod backoffice;

use std::process::ExitCode;

use serde_json::json;
use synckit::backend::{NewBackend, Secrets};
use synckit::cli::Setup;
use synckit::storage::Storage;
use synckit::{SyncError, SyncResult};

#[tokio::main]
async fn main() -> ExitCode {
    synckit::cli::main_with(async |setup: &mut Setup<'_>| {
        synckit_magento::register(setup.registry);
        synckit_magento::register_integration(setup.registry)?;
        backoffice::install(setup.storage, setup.registry).await?;
        backend_from_env(setup.storage).await
    })
    .await
}

/// Creates the Magento backend described by the environment, when it is set and the backend
/// does not exist yet.
async fn backend_from_env(storage: &Storage) -> SyncResult<()> {
    let Ok(base_url) = std::env::var("MAGENTO_URL") else {
        return Ok(());
    };
    let name = std::env::var("MAGENTO_BACKEND").unwrap_or_else(|_| "magento".to_owned());
    if storage.backends().by_name(&name).await?.is_some() {
        return Ok(());
    }
    let token = std::env::var("MAGENTO_TOKEN").map_err(|_| {
        SyncError::Failed("MAGENTO_URL is set: set MAGENTO_TOKEN (an integration token) too".into())
    })?;
    let version = std::env::var("MAGENTO_VERSION").unwrap_or_else(|_| "2.4".to_owned());
    let backend = storage
        .backends()
        .create(
            NewBackend::new("magento", &name)
                .version(&version)
                .settings(json!({ "base_url": base_url }))
                .secrets(Secrets::new().with("token", token)),
        )
        .await?;
    eprintln!(
        "created backend `{}` (magento {version}, #{})",
        backend.name, backend.id
    );
    Ok(())
}
