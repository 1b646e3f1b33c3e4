//! Synckit: a framework for two-way synchronization connectors.
//!
//! This facade re-exports [`sync_core`] (the runtime), the derive macros of `sync-derive`
//! and a [`prelude`]; with the `cli` feature (on by default), the operator command line
//! ([`cli`]), which connector programs embed with their connectors.

// The README's code sample is compiled as a doctest so that it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub use sync_core::*;
pub use sync_derive::*;

#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "console")]
pub mod console;

/// Everything a connector author usually needs.
pub mod prelude {
    pub use sync_core::prelude::*;
}
