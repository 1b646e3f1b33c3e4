//! Where the runtime is: the path generated code uses to reach `__private`.

use proc_macro_crate::{FoundCrate, crate_name};
use proc_macro2::{Span, TokenStream};
use quote::quote;

/// `::synckit::__private` when the user depends on the facade, else
/// `::sync_core::__private`.
///
/// The facade is tried first because it is what connector authors depend on. A crate found as
/// "itself" is still named by its crate name: the derives are used from its tests, examples
/// and benches, which are other crates (neither runtime crate uses them in its own library).
pub fn private_path() -> TokenStream {
    for (package, krate) in [("synckit", "synckit"), ("sync-core", "sync_core")] {
        match crate_name(package) {
            Ok(FoundCrate::Itself) => {
                let ident = syn::Ident::new(krate, Span::call_site());
                return quote!(::#ident::__private);
            }
            Ok(FoundCrate::Name(name)) => {
                let ident = syn::Ident::new(&name, Span::call_site());
                return quote!(::#ident::__private);
            }
            Err(_) => {}
        }
    }
    // Neither found (e.g. a manifest proc-macro-crate cannot read): assume the facade, the
    // documented way to use the derives; rustc then says `synckit` is missing.
    quote!(::synckit::__private)
}
