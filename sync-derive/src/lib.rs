//! Derive macros for Synckit.
//!
//! `#[derive(Mapper)]` turns an annotated target struct into a mapper (direct, method and
//! sub-mappings with modifiers), `#[derive(Binding)]` declares a binding model and its binder,
//! and `#[job]` declares a job function for the persistent queue. Use them through the
//! `synckit` facade, which re-exports them.

mod binding;
mod internals;
mod job;
mod mapper;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives a mapper: see the crate docs.
#[proc_macro_derive(Mapper, attributes(mapper, map))]
pub fn derive_mapper(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    mapper::derive(&input).into()
}

/// Derives a binding model: see the crate docs.
#[proc_macro_derive(Binding, attributes(binding))]
pub fn derive_binding(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    binding::derive(&input).into()
}

/// Declares an `async fn` as a job function of the persistent queue: see
/// `sync_core::queue` and the crate docs of `synckit` for the options (`name`, `channel`,
/// `priority`, `max_retries`, `retry_pattern = "1:10,5:20-60"`, `description`, `timeout`
/// in seconds, `crate = "path"`).
#[proc_macro_attribute]
pub fn job(args: TokenStream, item: TokenStream) -> TokenStream {
    job::expand(args.into(), item.into()).into()
}
