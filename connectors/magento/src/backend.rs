//! The Magento backend kinds, the shared REST clients, and the registration of every
//! component of the connector.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sync_core::adapter::BackendAdapter;
use sync_core::backend::BackendKind;
use sync_core::registry::{ApplyOn, ComponentRegistry};
use sync_core::{BackendId, SyncError, SyncResult, WorkContext};

use crate::adapter::MagentoAdapter;
use crate::client::MagentoClient;
use crate::resources::ALL;
use crate::settings::MagentoSettings;

/// The generic Magento kind, root of the version chain.
pub const MAGENTO: &str = "magento";
/// Magento 2.3.
pub const MAGENTO_2_3: &str = "magento-2.3";
/// Magento 2.4 (multi-source inventory).
pub const MAGENTO_2_4: &str = "magento-2.4";

/// The usage of the shared client cache.
const CLIENTS_USAGE: &str = "magento.clients";

/// A client and the backend version (its `updated_at`) it was built for.
type CachedClient = (DateTime<Utc>, Arc<MagentoClient>);

/// One REST client per backend, shared by every component and job of a process so that they
/// share its connection pool, admin token and rate limit. A client is rebuilt when its
/// backend's settings change.
#[derive(Debug, Default)]
pub struct MagentoClients {
    clients: Mutex<HashMap<BackendId, CachedClient>>,
}

impl MagentoClients {
    /// The client of the context's backend.
    pub fn client_for(&self, ctx: &WorkContext) -> SyncResult<Arc<MagentoClient>> {
        let backend = ctx.backend();
        let mut clients = self
            .clients
            .lock()
            .map_err(|_| SyncError::Failed("Magento client cache poisoned".into()))?;
        if let Some((stamp, client)) = clients.get(&backend.id)
            && *stamp == backend.updated_at
        {
            return Ok(client.clone());
        }
        let client = MagentoClient::new(MagentoSettings::from_backend(backend)?)?
            .with_metrics(ctx.queue().metrics().http(&backend.name));
        let client = Arc::new(client);
        clients.insert(backend.id, (backend.updated_at, client.clone()));
        Ok(client)
    }
}

/// The client of the context's backend: the run's own when one was put in the context's
/// extras, else the shared one.
pub fn client_for(ctx: &WorkContext) -> SyncResult<Arc<MagentoClient>> {
    if let Some(client) = ctx.extra::<Arc<MagentoClient>>() {
        return Ok(client.clone());
    }
    ctx.component::<MagentoClients>(CLIENTS_USAGE)?
        .client_for(ctx)
}

/// Declares the Magento kinds and registers the REST adapters of every model.
pub fn register_backend(registry: &mut ComponentRegistry) {
    let magento = BackendKind::root(MAGENTO);
    let m23 = BackendKind::version(&magento, MAGENTO, "2.3");
    let m24 = BackendKind::version(&m23, MAGENTO, "2.4");
    registry.add_kind(magento);
    registry.add_kind(m23);
    registry.add_kind(m24);
    registry.register(
        ApplyOn::kind(MAGENTO),
        CLIENTS_USAGE,
        Arc::new(MagentoClients::default()),
    );
    for resource in ALL {
        let resource = *resource;
        registry.register_factory::<dyn BackendAdapter, _>(
            ApplyOn::kind(MAGENTO).model(resource.model),
            "backend.adapter",
            move |ctx| {
                Ok(Arc::new(MagentoAdapter::new(client_for(ctx)?, resource))
                    as Arc<dyn BackendAdapter>)
            },
        );
    }
}
