//! `#[derive(Mapper)]`: parse (`attr`) into the model (`model`), validate (`check`), then
//! generate (`expand`), or a stub (`dummy`) when an attribute is wrong.

mod attr;
mod check;
mod dummy;
mod expand;
mod model;

use proc_macro2::TokenStream;
use syn::DeriveInput;

use crate::internals::crate_path::private_path;
use crate::internals::ctxt::Ctxt;

/// Expands `#[derive(Mapper)]`.
pub fn derive(input: &DeriveInput) -> TokenStream {
    let sk = private_path();
    let cx = Ctxt::new();
    let container = attr::container(&cx, input);
    let fillers = container.as_ref().map(|c| check::check(&cx, c));
    match (cx.check(), container, fillers) {
        (Ok(()), Some(container), Some(fillers)) => expand::expand(&container, &fillers, &sk),
        (result, container, _) => {
            let errors = result.err().map(syn::Error::into_compile_error);
            let dummy = dummy::dummy(input, container.as_ref(), &sk);
            quote::quote!(#errors #dummy)
        }
    }
}
