//! The [`WorkContext`]: what every component receives.

use std::fmt;
use std::sync::Arc;

use crate::app::App;
use crate::backend::Backend;
use crate::error::SyncResult;
pub use crate::extras::Extras;
use crate::ids::BackendId;
use crate::registry::ComponentRegistry;
use crate::storage::{BindingScope, Storage};
use crate::sync::two_way::ConflictPolicy;

/// Where a piece of work (and the local writes it makes) comes from.
///
/// Writes made by an import from backend X carry `Origin::Backend(X)`; the export listeners of
/// X skip events with that origin, so an import never echoes back to the backend it came
/// from, while the listeners of other backends still see the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A user or the local application itself.
    Local,
    /// A synchronization with this backend.
    Backend(BackendId),
}

struct Env {
    app: App,
    backend: Arc<Backend>,
    kind_chain: Vec<Arc<str>>,
    extras: Extras,
    origin: Origin,
    conflict_policy: Option<ConflictPolicy>,
}

/// The work environment passed to every component: the backend, the model worked on, the
/// storage, the component registry, typed extras and the origin of the work.
///
/// Cheap to clone; [`WorkContext::work_on`] switches the model and keeps everything else,
/// extras included.
///
/// ```
/// # use std::sync::Arc;
/// # use sync_core::prelude::*;
/// # async fn demo(app: App, backend: Backend) {
/// struct ApiClient { base_url: String }
/// let ctx = app.context(backend, "customer")
///     .with_extra(ApiClient { base_url: "http://shop".into() });
/// let orders = ctx.work_on("sale.order");
/// assert_eq!(orders.model(), "sale.order");
/// assert!(orders.extra::<ApiClient>().is_some());
/// # }
/// ```
#[derive(Clone)]
pub struct WorkContext {
    env: Arc<Env>,
    model: Arc<str>,
}

impl fmt::Debug for WorkContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkContext")
            .field("backend", &self.env.backend.name)
            .field("kind", &self.env.kind_chain.first())
            .field("model", &self.model)
            .field("origin", &self.env.origin)
            .finish()
    }
}

impl WorkContext {
    /// A context for `backend` working on `model`. The origin is the backend itself.
    pub fn new(app: App, backend: Backend, model: &str) -> Self {
        let registry = app.registry();
        let kind = registry
            .kinds()
            .resolve(&backend.kind, backend.version.as_deref());
        let kind_chain = registry.kinds().chain(&kind);
        let origin = Origin::Backend(backend.id);
        WorkContext {
            env: Arc::new(Env {
                app,
                backend: Arc::new(backend),
                kind_chain,
                extras: Extras::default(),
                origin,
                conflict_policy: None,
            }),
            model: model.into(),
        }
    }

    /// The same context on another model, with the same extras.
    pub fn work_on(&self, model: &str) -> WorkContext {
        WorkContext {
            env: self.env.clone(),
            model: model.into(),
        }
    }

    /// Adds a typed extra, propagated to every component and every `work_on`.
    pub fn with_extra<T: Send + Sync + 'static>(self, value: T) -> Self {
        self.map_env(|env| env.extras.insert(value))
    }

    /// Sets the origin of the work.
    pub fn with_origin(self, origin: Origin) -> Self {
        self.map_env(|env| env.origin = origin)
    }

    /// Sets the conflict policy of the work: the setting of what runs it (an integration's
    /// sync priority, stored as a [`ConflictPolicy`]). It replaces a two-way model's own
    /// policy (e.g. a backend's `conflict_policy` setting) in the three-way merge of every
    /// record this context imports; one-way models are not affected.
    pub fn with_conflict_policy(self, policy: ConflictPolicy) -> Self {
        self.map_env(|env| env.conflict_policy = Some(policy))
    }

    fn map_env(self, change: impl FnOnce(&mut Env)) -> Self {
        let mut env = Env {
            app: self.env.app.clone(),
            backend: self.env.backend.clone(),
            kind_chain: self.env.kind_chain.clone(),
            extras: self.env.extras.clone(),
            origin: self.env.origin,
            conflict_policy: self.env.conflict_policy,
        };
        change(&mut env);
        WorkContext {
            env: Arc::new(env),
            model: self.model,
        }
    }

    /// The backend worked with.
    pub fn backend(&self) -> &Backend {
        &self.env.backend
    }

    /// The model worked on.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The storage handle.
    pub fn storage(&self) -> &Storage {
        self.env.app.storage()
    }

    /// The component registry.
    pub fn registry(&self) -> &ComponentRegistry {
        self.env.app.registry()
    }

    /// The job queue.
    pub fn queue(&self) -> &crate::queue::Queue {
        self.env.app.queue()
    }

    /// The application this work runs in.
    pub fn app(&self) -> &App {
        &self.env.app
    }

    /// The backend's kind chain, most specific first.
    pub fn kind_chain(&self) -> &[Arc<str>] {
        &self.env.kind_chain
    }

    /// The origin of the work.
    pub fn origin(&self) -> Origin {
        self.env.origin
    }

    /// The conflict policy set with [`WorkContext::with_conflict_policy`], if any.
    pub fn conflict_policy(&self) -> Option<ConflictPolicy> {
        self.env.conflict_policy
    }

    /// A typed extra, if one was added.
    pub fn extra<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.env.extras.get::<T>()
    }

    /// The binding scope (backend, model) of this context.
    pub fn binding_scope(&self) -> BindingScope<'_> {
        BindingScope {
            backend_id: self.env.backend.id,
            model: &self.model,
        }
    }

    /// The component of type `T` with this usage for the current model.
    pub fn component<T: ?Sized + Send + Sync + 'static>(&self, usage: &str) -> SyncResult<Arc<T>> {
        let factory = self
            .registry()
            .lookup::<T>(&self.env.kind_chain, &self.model, usage)?;
        factory(self)
    }

    /// The component of type `T` with this usage for another model.
    pub fn component_for<T: ?Sized + Send + Sync + 'static>(
        &self,
        model: &str,
        usage: &str,
    ) -> SyncResult<Arc<T>> {
        self.work_on(model).component::<T>(usage)
    }

    /// Every component of type `T` with this usage for the current model.
    pub fn many_components<T: ?Sized + Send + Sync + 'static>(
        &self,
        usage: &str,
    ) -> SyncResult<Vec<Arc<T>>> {
        self.registry()
            .lookup_all::<T>(&self.env.kind_chain, &self.model, usage)?
            .iter()
            .map(|factory| factory(self))
            .collect()
    }
}
