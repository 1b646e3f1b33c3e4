//! Generates the `BindingModel` impl: names, external id type, and the extras ↔ `metadata`
//! JSON conversion. No DDL: every binding model shares the bindings table.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::DeriveInput;
use syn::spanned::Spanned;

use super::attr::Model;

/// The impl, wrapped in an anonymous const.
pub fn expand(m: &Model, sk: &TokenStream) -> TokenStream {
    let ident = m.ident;
    let (kind, model, local) = (&m.kind, &m.model, &m.local);
    let external_id = &m.external_id;
    let external_id = quote_spanned!(external_id.span()=> #external_id);
    let to = m.fields.iter().map(|f| {
        let (field, key) = (f.ident, &f.key);
        let value = quote_spanned!(f.ty.span()=> __sk::metadata_value(#model, &self.#field, #key)?);
        quote!(__m.insert(::std::string::String::from(#key), #value);)
    });
    let from = m.fields.iter().map(|f| {
        let (field, key, ty) = (f.ident, &f.key, f.ty);
        let value =
            quote_spanned!(ty.span()=> __sk::metadata_field::<#ty>(__record, __metadata, #key)?);
        quote!(#field: #value,)
    });
    quote! {
        #[doc(hidden)]
        const _: () = {
            use #sk as __sk;
            #[automatically_derived]
            impl __sk::BindingModel for #ident {
                const KIND: &'static str = #kind;
                const MODEL: &'static str = #model;
                const LOCAL_MODEL: &'static str = #local;
                type ExternalId = #external_id;

                fn to_metadata(&self) -> __sk::SyncResult<__sk::serde_json::Value> {
                    let mut __m = __sk::serde_json::Map::new();
                    #(#to)*
                    ::core::result::Result::Ok(__sk::serde_json::Value::Object(__m))
                }

                #[allow(unused_variables)]
                fn from_metadata(
                    __record: &str,
                    __metadata: &__sk::serde_json::Value,
                ) -> __sk::SyncResult<Self> {
                    ::core::result::Result::Ok(Self { #(#from)* })
                }
            }
        };
    }
}

/// A stub impl next to attribute errors, against secondary errors.
pub fn dummy(input: &DeriveInput, sk: &TokenStream) -> TokenStream {
    if !input.generics.params.is_empty() {
        return TokenStream::new();
    }
    let ident = &input.ident;
    let message = format!("the binding model `{ident}` did not compile");
    quote! {
        #[doc(hidden)]
        const _: () = {
            use #sk as __sk;
            impl __sk::BindingModel for #ident {
                const KIND: &'static str = "";
                const MODEL: &'static str = "";
                const LOCAL_MODEL: &'static str = "";
                type ExternalId = ::std::string::String;
                fn to_metadata(&self) -> __sk::SyncResult<__sk::serde_json::Value> {
                    ::core::result::Result::Err(__sk::SyncError::Failed(::std::string::String::from(#message)))
                }
                fn from_metadata(_: &str, _: &__sk::serde_json::Value) -> __sk::SyncResult<Self> {
                    ::core::result::Result::Err(__sk::SyncError::Failed(::std::string::String::from(#message)))
                }
            }
        };
    }
}
