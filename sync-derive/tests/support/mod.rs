//! Shared test support: a work context on a fresh database.

#![allow(dead_code)]

use sync_core::prelude::*;
use sync_core::testing::TestDatabase;

/// A work context on `db` for a new `magento` backend named `name`.
pub async fn context(db: &TestDatabase, registry: ComponentRegistry, model: &str) -> WorkContext {
    let storage = db.storage.clone();
    let name = format!("shop-{}", std::process::id());
    let backend = storage
        .backends()
        .create(NewBackend::new("magento", &name))
        .await
        .expect("create backend");
    let app = App::new(registry, storage).await.expect("app");
    app.context(backend, model)
}

/// A registry with the `magento` kind.
pub fn registry() -> ComponentRegistry {
    let mut registry = ComponentRegistry::new();
    registry.add_kind(BackendKind::root("magento"));
    registry
}
