//! Synckit: a framework for two-way synchronization connectors.
//!
//! This facade re-exports [`sync_core`] (the runtime), the derive macros of `sync-derive`
//! and a [`prelude`].

pub use sync_core::*;
pub use sync_derive::*;

/// Everything a connector author usually needs.
pub mod prelude {
    pub use sync_core::prelude::*;
}
