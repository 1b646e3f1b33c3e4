//! The stub impl emitted next to attribute errors, so that code using the target as a mapper
//! does not add secondary errors to the real ones (thiserror's and clap's fallback).

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use super::model::Container;

/// A `MapTarget` impl whose `map_record` fails; nothing when the input is generic.
pub fn dummy(input: &DeriveInput, container: Option<&Container>, sk: &TokenStream) -> TokenStream {
    if !input.generics.params.is_empty() {
        return TokenStream::new();
    }
    let ident = &input.ident;
    let source = container
        .and_then(|c| c.source.as_ref())
        .map_or_else(|| quote!(()), |s| quote!(#s));
    let message = format!("the mapper of `{ident}` did not compile");
    quote! {
        #[doc(hidden)]
        const _: () = {
            use #sk as __sk;
            impl<__P: ?::core::marker::Sized + ::core::marker::Sync> __sk::MapTarget<__P> for #ident {
                type Source = #source;
                const SOURCE_FIELDS: &'static [&'static str] = &[];
                async fn map_record(
                    _: __sk::MapRecord<'_, #source, __P>,
                    _: &__sk::WorkContext,
                ) -> __sk::SyncResult<__sk::MapOutput<Self>> {
                    ::core::result::Result::Err(__sk::SyncError::Failed(::std::string::String::from(#message)))
                }
            }
        };
    }
}
