//! Derive macros for Synckit.
//!
//! `#[derive(Mapper)]` turns an annotated target struct into a mapper (direct, method and
//! sub-mappings with modifiers), `#[derive(Binding)]` declares a binding model and its binder,
//! and `#[job]` declares a job function for the persistent queue. Use them through the
//! `synckit` facade, which re-exports them.
