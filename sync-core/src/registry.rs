//! The component registry: components per (backend kind, model, usage).
//!
//! A connector registers its components at start-up; synchronizers look them up through a
//! [`WorkContext`]. A look-up is typed:
//! `ctx.component::<dyn RecordImporter>(RECORD_IMPORTER)` returns an
//! `Arc<dyn RecordImporter>` or a typed error, never a wrong type
//! ([`RecordImporter`](crate::sync::RecordImporter),
//! [`RECORD_IMPORTER`](crate::sync::RECORD_IMPORTER)).
//!
//! # Precedence
//! The connector framework prefers a component of the backend's own collection over a generic
//! one, then one applied on the model over one applied on any model. With version chains
//! (`magento-2.4` → `magento-2.3` → `magento`) the order is:
//!
//! 1. components for this **model**, walking the kind chain from the most specific kind to
//!    the root, then components registered for any kind;
//! 2. components for **any model**, in the same kind order.
//!
//! The first level with exactly one match wins; a level with several matches is a
//! [`SyncError::SeveralComponents`] error; no match anywhere is [`SyncError::NoComponent`].
//! A model-specific component therefore beats a generic one even when the generic one is
//! registered on a more specific version, and a version only needs to register what differs.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

use crate::backend::{BackendKind, KindRegistry};
use crate::context::WorkContext;
use crate::error::{SyncError, SyncResult};

/// Builds a component for a work context (components may keep what they need from it).
pub type ComponentFactory<T> = Arc<dyn Fn(&WorkContext) -> SyncResult<Arc<T>> + Send + Sync>;

/// Where a component applies: a backend kind (or any) and a model (or any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyOn {
    kind: Option<Arc<str>>,
    model: Option<Arc<str>>,
}

impl ApplyOn {
    /// Any backend kind, any model.
    pub fn any() -> Self {
        ApplyOn::default()
    }

    /// Backends of this kind (and of the kinds that derive from it).
    pub fn kind(kind: &str) -> Self {
        ApplyOn {
            kind: Some(kind.into()),
            model: None,
        }
    }

    /// Restricts to one model.
    pub fn model(mut self, model: &str) -> Self {
        self.model = Some(model.into());
        self
    }
}

struct Entry {
    apply_on: ApplyOn,
    /// A `ComponentFactory<T>` for the `T` of the entry's key.
    factory: Box<dyn Any + Send + Sync>,
}

/// The registry of backend kinds and components. Build one per application (or test): there is
/// no global registry.
#[derive(Default)]
pub struct ComponentRegistry {
    kinds: KindRegistry,
    entries: HashMap<(TypeId, Arc<str>), Vec<Entry>>,
}

impl std::fmt::Debug for ComponentRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentRegistry")
            .field("kinds", &self.kinds)
            .field(
                "usages",
                &self.entries.keys().map(|(_, u)| u).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl ComponentRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        ComponentRegistry::default()
    }

    /// Declares a backend kind.
    pub fn add_kind(&mut self, kind: BackendKind) {
        self.kinds.add(kind);
    }

    /// The declared kinds.
    pub fn kinds(&self) -> &KindRegistry {
        &self.kinds
    }

    /// Registers one shared instance of a component.
    pub fn register<T>(&mut self, apply_on: ApplyOn, usage: &str, component: Arc<T>)
    where
        T: ?Sized + Send + Sync + 'static,
    {
        let factory: ComponentFactory<T> = Arc::new(move |_| Ok(component.clone()));
        self.insert(apply_on, usage, factory);
    }

    /// Registers a factory that builds the component for each work context.
    pub fn register_factory<T, F>(&mut self, apply_on: ApplyOn, usage: &str, factory: F)
    where
        T: ?Sized + Send + Sync + 'static,
        F: Fn(&WorkContext) -> SyncResult<Arc<T>> + Send + Sync + 'static,
    {
        let factory: ComponentFactory<T> = Arc::new(factory);
        self.insert(apply_on, usage, factory);
    }

    fn insert<T: ?Sized + Send + Sync + 'static>(
        &mut self,
        apply_on: ApplyOn,
        usage: &str,
        factory: ComponentFactory<T>,
    ) {
        self.entries
            .entry((TypeId::of::<T>(), usage.into()))
            .or_default()
            .push(Entry {
                apply_on,
                factory: Box::new(factory),
            });
    }

    /// The factory of the one component of type `T` for `usage` and `model` on the kind
    /// chain `chain`, following the precedence in the module docs.
    pub fn lookup<T: ?Sized + Send + Sync + 'static>(
        &self,
        chain: &[Arc<str>],
        model: &str,
        usage: &str,
    ) -> SyncResult<ComponentFactory<T>> {
        let no_component = || SyncError::NoComponent {
            kind: chain.first().map(|k| k.to_string()).unwrap_or_default(),
            model: model.to_owned(),
            usage: usage.to_owned(),
        };
        let Some(entries) = self.entries.get(&(TypeId::of::<T>(), usage.into())) else {
            return Err(no_component());
        };
        let kind_levels = chain.iter().map(Some).chain(std::iter::once(None));
        for model_specific in [true, false] {
            for kind in kind_levels.clone() {
                let mut found = entries.iter().filter(|e| {
                    e.apply_on.kind.as_ref() == kind
                        && match &e.apply_on.model {
                            Some(m) => model_specific && &**m == model,
                            None => !model_specific,
                        }
                });
                let Some(first) = found.next() else { continue };
                let others = found.count();
                if others > 0 {
                    return Err(SyncError::SeveralComponents {
                        kind: kind.map(|k| k.to_string()).unwrap_or_else(|| "*".into()),
                        model: model.to_owned(),
                        usage: usage.to_owned(),
                        count: others + 1,
                    });
                }
                return downcast::<T>(first);
            }
        }
        Err(no_component())
    }

    /// Every component of type `T` for `usage` that applies to `model` on the kind chain, most
    /// specific first (listeners need them all).
    pub fn lookup_all<T: ?Sized + Send + Sync + 'static>(
        &self,
        chain: &[Arc<str>],
        model: &str,
        usage: &str,
    ) -> SyncResult<Vec<ComponentFactory<T>>> {
        let Some(entries) = self.entries.get(&(TypeId::of::<T>(), usage.into())) else {
            return Ok(Vec::new());
        };
        let mut all = Vec::new();
        for model_specific in [true, false] {
            for kind in chain.iter().map(Some).chain(std::iter::once(None)) {
                for entry in entries.iter().filter(|e| {
                    e.apply_on.kind.as_ref() == kind
                        && match &e.apply_on.model {
                            Some(m) => model_specific && &**m == model,
                            None => !model_specific,
                        }
                }) {
                    all.push(downcast::<T>(entry)?);
                }
            }
        }
        Ok(all)
    }
}

fn downcast<T: ?Sized + Send + Sync + 'static>(entry: &Entry) -> SyncResult<ComponentFactory<T>> {
    entry
        .factory
        .downcast_ref::<ComponentFactory<T>>()
        .cloned()
        // Entries are keyed by TypeId, so this cannot fail; report rather than panic anyway.
        .ok_or_else(|| SyncError::Failed("component registry type mismatch".into()))
}
