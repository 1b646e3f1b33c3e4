//! [`App`]: the assembled runtime — registry, storage, job queue and the enabled backends.

use std::sync::{Arc, RwLock};

use sqlx::AnyConnection;

use crate::backend::Backend;
use crate::context::{Origin, WorkContext};
use crate::error::{SyncError, SyncResult};
use crate::ids::BackendId;
use crate::local::{EventKind, Listener, LocalSession, RecordEvent};
use crate::queue::Queue;
use crate::registry::ComponentRegistry;
use crate::storage::Storage;

/// The usage under which listeners are registered.
pub const LISTENER_USAGE: &str = "event.listener";

struct AppInner {
    registry: Arc<ComponentRegistry>,
    storage: Storage,
    queue: Queue,
    /// The enabled backends, whose listeners receive local events.
    backends: RwLock<Arc<Vec<Backend>>>,
}

/// The runtime of one application: its component registry, its storage and its enabled
/// backends. Cheap to clone. Two `App`s (two tests) can live in one process.
#[derive(Clone)]
pub struct App {
    inner: Arc<AppInner>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("storage", &self.inner.storage.dialect())
            .finish_non_exhaustive()
    }
}

impl App {
    /// Assembles an app and loads its enabled backends. Its job queue polls for new jobs;
    /// use [`App::with_queue`] with a queue opened from a URL to let PostgreSQL workers
    /// LISTEN for them.
    pub async fn new(registry: ComponentRegistry, storage: Storage) -> SyncResult<App> {
        let queue = Queue::new(storage.clone());
        Self::with_queue(registry, queue).await
    }

    /// Assembles an app on the storage of `queue`.
    pub async fn with_queue(registry: ComponentRegistry, queue: Queue) -> SyncResult<App> {
        let storage = queue.storage().clone();
        let app = App {
            inner: Arc::new(AppInner {
                registry: Arc::new(registry),
                storage,
                queue,
                backends: RwLock::new(Arc::new(Vec::new())),
            }),
        };
        app.reload_backends().await?;
        Ok(app)
    }

    /// Reloads the enabled backends (after creating, enabling or disabling one).
    pub async fn reload_backends(&self) -> SyncResult<()> {
        let enabled: Vec<Backend> = self
            .inner
            .storage
            .backends()
            .list()
            .await?
            .into_iter()
            .filter(|b| b.enabled)
            .collect();
        let mut guard = self
            .inner
            .backends
            .write()
            .map_err(|_| SyncError::Failed("backend list lock poisoned".into()))?;
        *guard = Arc::new(enabled);
        Ok(())
    }

    /// The storage.
    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    /// The job queue, to delay jobs (in a transaction, with [`Queue::delay`]).
    pub fn queue(&self) -> &Queue {
        &self.inner.queue
    }

    /// The component registry.
    pub fn registry(&self) -> &Arc<ComponentRegistry> {
        &self.inner.registry
    }

    /// A work context for a stored backend and a model.
    pub async fn work_on(&self, backend_id: BackendId, model: &str) -> SyncResult<WorkContext> {
        let backend = self.inner.storage.backends().get(backend_id).await?;
        Ok(WorkContext::new(self.clone(), backend, model))
    }

    /// A work context for a backend already loaded.
    pub fn context(&self, backend: Backend, model: &str) -> WorkContext {
        WorkContext::new(self.clone(), backend, model)
    }

    /// A session for local writes on `conn` stamped with `origin`.
    pub fn session<'c>(&self, conn: &'c mut AnyConnection, origin: Origin) -> LocalSession<'c> {
        LocalSession::new(self.clone(), conn, origin)
    }

    pub(crate) fn enabled_backends(&self) -> SyncResult<Arc<Vec<Backend>>> {
        self.inner
            .backends
            .read()
            .map(|b| b.clone())
            .map_err(|_| SyncError::Failed("backend list lock poisoned".into()))
    }

    /// Sends an event to the listeners of every enabled backend except the one it came from.
    pub(crate) async fn dispatch(
        &self,
        conn: &mut AnyConnection,
        event: &RecordEvent,
    ) -> SyncResult<()> {
        for backend in self.enabled_backends()?.iter() {
            // The origin rule: an import from this backend must not be exported back to it.
            if event.origin == Origin::Backend(backend.id) {
                continue;
            }
            let ctx = WorkContext::new(self.clone(), backend.clone(), &event.model);
            for listener in ctx.many_components::<dyn Listener>(LISTENER_USAGE)? {
                match event.kind {
                    EventKind::Create => listener.on_record_create(&ctx, conn, event).await?,
                    EventKind::Write => listener.on_record_write(&ctx, conn, event).await?,
                    EventKind::Unlink => listener.on_record_unlink(&ctx, conn, event).await?,
                }
            }
        }
        Ok(())
    }
}
