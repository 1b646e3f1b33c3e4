//! Backends: the external systems Synckit talks to, their kinds and their stored records.

mod kind;
mod record;
mod secret;
mod store;

pub use kind::{BackendKind, KindRegistry};
pub use record::{Backend, NewBackend};
pub use secret::{Secret, Secrets};
pub use store::Backends;
