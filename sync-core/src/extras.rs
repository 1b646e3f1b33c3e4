//! [`Extras`]: typed values a run hands to every component, one per type.
//!
//! A connector puts what its components share for one run (an API client, a rate limiter, a
//! price list read once) into the extras of a work context or a worker; a component asks for
//! it by its type:
//!
//! ```
//! use sync_core::extras::Extras;
//!
//! struct ApiClient {
//!     base_url: String,
//! }
//!
//! let mut extras = Extras::default();
//! extras.insert(ApiClient { base_url: "http://shop".into() });
//! assert_eq!(extras.get::<ApiClient>().map(|c| c.base_url.as_str()), Some("http://shop"));
//! assert!(extras.get::<String>().is_none());
//! ```
//!
//! It has a module of its own, below both the queue and the work context, so that the queue
//! (which carries a worker's extras into each job) does not depend on the context, the app
//! and back on the queue.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Typed values propagated to every component of a run, e.g. one API client per run.
#[derive(Clone, Default)]
pub struct Extras {
    values: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl Extras {
    /// Adds or replaces the value of type `T`.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.values.insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// The value of type `T`, if present.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.values
            .get(&TypeId::of::<T>())
            .and_then(|v| v.downcast_ref::<T>())
    }
}

impl fmt::Debug for Extras {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Extras({} values)", self.values.len())
    }
}
