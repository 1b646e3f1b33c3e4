//! Derive macros for Synckit.
//!
//! `#[derive(Mapper)]` turns an annotated target struct into a mapper (direct, method and
//! sub-mappings with modifiers), `#[derive(Binding)]` declares a binding model and its binder,
//! and `#[job]` declares a job function for the persistent queue. Use them through the
//! `synckit` facade, which re-exports them; the generated code names the runtime through
//! `synckit::__private` (or `sync_core::__private` for crates that depend on `sync-core`
//! directly), so nothing else needs to be in scope.
//!
//! # `#[derive(Mapper)]`
//!
//! Put it on the **target** struct and name the **source** record. Every field says how it is
//! filled; mappings run in field order (not the connector framework's alphabetical order).
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use sync_core::prelude::*;
//! use sync_derive::{Binding, Mapper};
//!
//! /// The remote record (an import mapper reads the backend's record).
//! struct MagentoCustomer {
//!     id: i64,
//!     email: String,
//!     firstname: String,
//!     lastname: String,
//!     middlename: String,
//!     group_id: i64,
//!     created_at: String,
//!     dob: Option<String>,
//!     addresses: Vec<MagentoAddress>,
//! }
//!
//! struct MagentoAddress {
//!     city: String,
//!     default_billing: bool,
//! }
//!
//! #[derive(Binding)]
//! #[binding(kind = "magento", model = "magento.customer.group", local = "customer.group", external_id = i64)]
//! struct CustomerGroupBinding;
//!
//! /// The local values.
//! #[derive(Serialize, Deserialize, Mapper)]
//! #[mapper(source = MagentoCustomer, id = id)]
//! struct CustomerValues {
//!     #[map(from = email)]                       // direct
//!     email: String,
//!     #[map(method = Self::name, changed_by(firstname, lastname))]
//!     name: String,
//!     #[map(from = middlename, empty_to_none)]   // "" becomes None
//!     middle_name: Option<String>,
//!     #[map(from = group_id, external_to_local = CustomerGroupBinding)]
//!     group: LocalId,                            // through the group's binder
//!     #[map(from = dob, parse)]                  // FromStr, inside the Option
//!     birth_year: Option<i32>,
//!     #[map(from = created_at, only_create)]
//!     created_at: String,
//!     #[map(items = addresses, skip = Self::not_billing)]
//!     addresses: Vec<AddressValues>,
//!     #[map(default = true)]                      // a constant, when creating
//!     active: bool,
//! }
//!
//! impl CustomerValues {
//!     fn name(c: &MapRecord<'_, MagentoCustomer>, _: &WorkContext) -> SyncResult<String> {
//!         Ok(format!("{} {}", c.firstname, c.lastname))
//!     }
//!
//!     fn not_billing(a: &MapRecord<'_, MagentoAddress, MagentoCustomer>) -> bool {
//!         !a.default_billing
//!     }
//! }
//!
//! /// The item mapper of the sub-mapping; `parent` makes the customer reachable.
//! #[derive(Serialize, Deserialize, Mapper)]
//! #[mapper(source = MagentoAddress, parent = MagentoCustomer)]
//! struct AddressValues {
//!     #[map(from = city)]
//!     city: String,
//!     #[map(method = Self::owner, always)]
//!     owner: String,
//! }
//!
//! impl AddressValues {
//!     fn owner(a: &MapRecord<'_, MagentoAddress, MagentoCustomer>, _: &WorkContext) -> SyncResult<String> {
//!         Ok(a.parent.email.clone())
//!     }
//! }
//!
//! // The component synchronizers call:
//! let mapper = DerivedMapper::<CustomerValues>::new();
//! assert_eq!(
//!     mapper.changed_by_fields(),
//!     ["email", "firstname", "lastname", "middlename", "group_id", "dob", "created_at", "addresses"]
//! );
//! ```
//!
//! ## Container attributes: `#[mapper(...)]`
//!
//! | attribute | meaning |
//! |---|---|
//! | `source = Type` | the record read (required) |
//! | `parent = Type` | the record owning this one when it is a sub-mapping item; without it the mapper works under any parent |
//! | `id = field` | the source field that names the record in errors (`customer 42`) |
//! | `finalize = path` | `fn(&MapRecord<S, P>, &mut MapOutput<Self>, &WorkContext) -> SyncResult<()>`, run after every mapping |
//! | `method(with = path, fills(a, b), ...)` | a method mapping filling several fields from a tuple; takes `async`, `only_create`, `changed_by(...)`, `always` |
//!
//! ## Field attributes: `#[map(...)]`
//!
//! | attribute | meaning |
//! |---|---|
//! | `from = a.b` / `from = "a.b"` / `from` | direct mapping from a (nested) source field; `from` alone: the same name. The value goes through `Into`, so `T` fills `Option<T>` |
//! | `method = path` | `fn(&MapRecord<S, P>, &WorkContext) -> SyncResult<T>`; add `async` for an `async fn` |
//! | `items = path` | sub-mapping: each item of the source collection is mapped by the field's `Vec<Item>` item type, with the same options; an item that maps to nothing (a partial update none of whose mappings ran) is dropped, not sent as `{}` |
//! | `skip = path` | `fn(&MapRecord<Item, Source>) -> bool`: drop an item (sub-mappings) |
//! | `only_create` | runs only when creating |
//! | `changed_by(a, b.c)` | on a partial update, runs when one of these source fields changed (required on method mappings, or `always`) |
//! | `always` | a method mapping that runs on every update |
//! | `default` / `default = expr` | with `from`: the value when the source is `None`; alone: a constant filled when creating |
//! | `empty_to_none` | `""`, `[]`, `{}`, `null`, `false` and `0` become `None` (the connector framework's `none`: Python falsy) |
//! | `convert` | `TryFrom` (so also `From`) |
//! | `parse` | `FromStr` |
//! | `to_bool` | a `bool` (or `Option<bool>`) field from a bool, the integers `1`/`0`, or the texts `"1"`/`"0"`, `"true"`/`"false"`, `"yes"`/`"no"` (any case, spaces trimmed); anything else is a mapping error naming the record and the field |
//! | `external_to_local = Binding` | external id → local id through `Binding`'s binder (Odoo's `external_to_m2o`) |
//! | `local_to_external = Binding` | local id → external id (Odoo's `m2o_to_external`) |
//!
//! Modifiers apply in the order written; when the field (or the source) is an `Option`, they
//! apply to the value inside it. Conversion errors and missing bindings are
//! [`SyncError::Mapping`](../sync_core/error/enum.SyncError.html) errors naming the record, the field
//! and, for bindings, the binding model and the id. Binder look-ups use a connection taken
//! from the pool once per run: they see committed bindings (import dependencies first).
//!
//! ## Output
//!
//! [`MapOutput::Full`](../sync_core/mapper/enum.MapOutput.html) when every mapping ran (a
//! create; an update without a changed-field filter and without `only_create` fields), else
//! `MapOutput::Partial` with the values of the mappings that ran: with
//! `MapOptions::for_changed(["email"])` only the mappings reading `email` (or `changed_by`
//! it) run. A change of `billing_address` triggers mappings of `billing_address.city`. The
//! finalize hook runs next, then `MapOptions::forced` values are applied (to the top-level
//! record only). Target fields must be `Serialize` (partial payloads) and `Deserialize`
//! (forced values).
//!
//! ## What it expands to
//!
//! For
//!
//! ```ignore
//! #[derive(Mapper)]
//! #[mapper(source = Remote)]
//! struct Values {
//!     #[map(from = email)]
//!     email: String,
//!     #[map(from = created_at, only_create)]
//!     created: String,
//! }
//! ```
//!
//! the derive generates (paths shortened, hygiene prefixes kept):
//!
//! ```ignore
//! const _: () = {
//!     use ::synckit::__private as __sk;
//!     impl<__P: ?Sized + Sync> __sk::MapTarget<__P> for Values {
//!         type Source = Remote;
//!         const SOURCE_FIELDS: &'static [&'static str] = &["email", "created_at"];
//!
//!         async fn map_record(__record: MapRecord<'_, Remote, __P>, __ctx: &WorkContext)
//!             -> SyncResult<MapOutput<Self>>
//!         {
//!             let __record = __record.without_parent();
//!             let __opts = __record.options;
//!             let __label = RecordLabel { model: __ctx.model(), id: None };
//!             let mut __f_email: Option<String> = None;
//!             let mut __f_created: Option<String> = None;
//!             if __opts.runs_for(&["email"]) {
//!                 __f_email = Some(Into::<String>::into(Clone::clone(&__record.source.email)));
//!             }
//!             if __opts.for_create && __opts.runs_for(&["created_at"]) {
//!                 __f_created = Some(Into::<String>::into(Clone::clone(&__record.source.created_at)));
//!             }
//!             let mut __out = match (__f_email, __f_created) {
//!                 (Some(__f_email), Some(__f_created)) =>
//!                     MapOutput::Full(Self { email: __f_email, created: __f_created }),
//!                 (__f_email, __f_created) => {
//!                     let mut __values = Values::new();
//!                     if let Some(__v) = __f_email {
//!                         __values.insert("email".into(), __sk::to_json(&__v, &__label, "email")?);
//!                     }
//!                     if let Some(__v) = __f_created {
//!                         __values.insert("created".into(), __sk::to_json(&__v, &__label, "created")?);
//!                     }
//!                     MapOutput::Partial(__values)
//!                 }
//!             };
//!             if let Some(__forced) = __record.forced() {
//!                 // deserialize each forced value into its field (full output) or insert it
//!                 // (partial output); an unknown field is a mapping error
//!             }
//!             Ok(__out)
//!         }
//!     }
//! };
//! ```
//!
//! There is no run-time reflection: a create is a sequence of field reads and moves into the
//! struct, as a hand-written mapper would do (see the crate README's benchmark).
//!
//! ## Compile-time errors
//!
//! A source field that does not exist (in `from`, `items`, `changed_by` or `id`), a type that
//! does not fit, an unknown or duplicate attribute, a malformed modifier, a method mapping
//! without `changed_by`/`always`/`only_create`, a field filled twice or not at all, and a
//! sub-mapper whose source or parent does not fit are compile errors pointing at the
//! attribute. Every attribute error of a struct is reported at once; a stub impl keeps code
//! that uses the mapper free of secondary errors.
//!
//! # `#[derive(Binding)]`
//!
//! Declares a binding model: the struct's fields are the extra metadata of its bindings.
//! Bindings of every model live in Synckit's one bindings table, so no DDL is generated; the
//! derive implements `BindingModel`, which gives the typed binder (`binder_in(ctx)`: typed
//! external ids and extras, and the untyped `Binder` for synchronizers) and `register`, which
//! puts the binder in the component registry under (kind, model, `"binder"`).
//!
//! ```
//! use chrono::Utc;
//! use sync_core::prelude::*;
//! use sync_derive::Binding;
//!
//! #[derive(Debug, Binding)]
//! #[binding(kind = "magento", model = "magento.customer", local = "customer", external_id = i64)]
//! struct MagentoCustomerBinding {
//!     /// Magento's creation date.
//!     created_at: Option<String>,
//!     #[binding(rename = "group")]
//!     group_id: i64,
//! }
//!
//! # async fn demo(ctx: &WorkContext, conn: &mut sqlx::AnyConnection) -> SyncResult<()> {
//! let mut registry = ComponentRegistry::new();
//! MagentoCustomerBinding::register(&mut registry);
//!
//! let binder = MagentoCustomerBinding::binder_in(ctx);
//! let extras = MagentoCustomerBinding { created_at: None, group_id: 1 };
//! binder.bind_with(conn, &42, LocalId(7), Utc::now(), &extras).await?;
//! assert_eq!(binder.local_id_of(conn, &42).await?, Some(LocalId(7)));
//! # Ok(()) }
//! ```
//!
//! | attribute | meaning |
//! |---|---|
//! | `kind = "..."` | the backend kind (required) |
//! | `model = "..."` | the binding model name, the `model` of its rows and of the registry entry (required) |
//! | `local = "..."` | the local model it binds (required) |
//! | `external_id = Type` | the external id type, `Display + FromStr` (default `String`) |
//! | `#[binding(rename = "key")]` on a field | its key in the metadata JSON |

mod binding;
mod internals;
mod job;
mod mapper;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `MapTarget` for a target struct: see the [crate docs](crate#derivemapper).
#[proc_macro_derive(Mapper, attributes(mapper, map))]
pub fn derive_mapper(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    mapper::derive(&input).into()
}

/// Derives `BindingModel` for a struct of extra binding fields: see the
/// [crate docs](crate#derivebinding).
#[proc_macro_derive(Binding, attributes(binding))]
pub fn derive_binding(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    binding::derive(&input).into()
}

/// Declares an `async fn` as a job function of the persistent queue: see
/// `sync_core::queue` and the crate docs of `synckit` for the options (`name`, `channel`,
/// `priority`, `max_retries`, `retry_pattern = "1:10,5:20-60"`, `description` (default: the
/// doc comment's first line, else the function's name), `timeout` in seconds, a default
/// `identity_key = "import:{arg}"` over the arguments or `identity_key = path::to::fn`
/// called with references to them, `identity_exact`, `crate = "path"`).
#[proc_macro_attribute]
pub fn job(args: TokenStream, item: TokenStream) -> TokenStream {
    job::expand(args.into(), item.into()).into()
}
