//! `#[derive(Binding)]`: parse the attributes (`attr`), then generate the `BindingModel`
//! impl (`expand`), or a stub when an attribute is wrong.

mod attr;
mod expand;

use proc_macro2::TokenStream;
use syn::DeriveInput;

use crate::internals::crate_path::private_path;
use crate::internals::ctxt::Ctxt;

/// Expands `#[derive(Binding)]`.
pub fn derive(input: &DeriveInput) -> TokenStream {
    let sk = private_path();
    let cx = Ctxt::new();
    let model = attr::model(&cx, input);
    match (cx.check(), model) {
        (Ok(()), Some(model)) => expand::expand(&model, &sk),
        (result, _) => {
            let errors = result.err().map(syn::Error::into_compile_error);
            let dummy = expand::dummy(input, &sk);
            quote::quote!(#errors #dummy)
        }
    }
}
