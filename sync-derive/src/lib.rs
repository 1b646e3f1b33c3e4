//! Derive macros for Synckit.
//!
//! `#[derive(Mapper)]` turns an annotated target struct into a mapper (direct, method and
//! sub-mappings with modifiers), `#[derive(Binding)]` declares a binding model and its binder,
//! and `#[job]` declares a job function for the persistent queue. Use them through the
//! `synckit` facade, which re-exports them.

mod binding;
mod internals;
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
