//! Generates the `MapTarget` impl of a checked mapper.
//!
//! The generated `map_record` keeps one `Option` slot per target field, runs the mappings in
//! field order (a `#[mapper(method(...))]` at its first filled field), each guarded by its
//! run condition, then builds the full struct when every slot is filled and a partial
//! payload otherwise, runs the finalize hook and applies forced values. See the crate docs
//! for an example expansion.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{Ident, Type};

use super::check::{Filler, is_option, vec_item};
use super::model::{Container, Default, Field, FieldMapping, Method, Modifier, When};
use crate::internals::parse::{SourcePath, unraw};

/// The impl, wrapped in an anonymous const.
pub fn expand(c: &Container, fillers: &[Filler], sk: &TokenStream) -> TokenStream {
    let ident = c.ident;
    let source = c.source.as_ref().map_or_else(|| quote!(()), |s| quote!(#s));
    let (impl_head, reparent) = match &c.parent {
        Some(parent) => (quote!(impl __sk::MapTarget<#parent> for #ident), quote!()),
        None => (
            quote!(impl<__P: ?::core::marker::Sized + ::core::marker::Sync> __sk::MapTarget<__P> for #ident),
            // Method mappings of a mapper without a parent take `MapRecord<'_, Source>`.
            quote!(let __record = __record.without_parent();),
        ),
    };
    let parent_ty = match &c.parent {
        Some(parent) => quote!(#parent),
        None => quote!(__P),
    };

    let source_fields = source_fields(c);
    let label_id = match &c.id {
        Some(id) => {
            let access = access(id);
            quote_spanned!(id.span=> ::core::option::Option::Some(&__record.source #access as &(dyn ::core::fmt::Display + ::core::marker::Sync)))
        }
        None => quote!(::core::option::Option::None),
    };
    let needs_conn = c.fields.iter().any(|f| {
        f.modifiers.iter().any(|m| {
            matches!(
                m,
                Modifier::ExternalToLocal(..) | Modifier::LocalToExternal(..)
            )
        })
    });
    let conn = needs_conn.then(|| quote!(let mut __conn = __sk::LazyConn::default();));

    let slots = c.fields.iter().map(|f| {
        let slot = slot(f.ident);
        let ty = f.ty;
        let partial = matches!(f.mapping, Some(FieldMapping::Items(_))).then(|| {
            let p = partial_slot(f.ident);
            quote!(let mut #p: ::core::option::Option<__sk::serde_json::Value> = ::core::option::Option::None;)
        });
        quote! {
            let mut #slot: ::core::option::Option<#ty> = ::core::option::Option::None;
            #partial
        }
    });

    let mut mappings = Vec::new();
    let mut methods_done = vec![false; c.methods.len()];
    for (field, filler) in c.fields.iter().zip(fillers) {
        match *filler {
            Filler::Own => mappings.push(field_mapping(c, field, &source)),
            Filler::Method(method) => {
                if !methods_done[method] {
                    methods_done[method] = true;
                    mappings.push(container_method(&c.methods[method]));
                }
            }
        }
    }

    let output = output(c);
    let finalize = c
        .finalize
        .as_ref()
        .map(|hook| quote_spanned!(hook_span(hook)=> #hook(&__record, &mut __out, __ctx)?;));
    let forced = forced(c);
    let changed_by_check = changed_by_check(c, &source);

    quote! {
        #[doc(hidden)]
        const _: () = {
            use #sk as __sk;
            #changed_by_check
            #[automatically_derived]
            #impl_head {
                type Source = #source;

                const SOURCE_FIELDS: &'static [&'static str] = &[#(#source_fields),*];

                #[allow(unused_mut, unused_variables, clippy::all, clippy::pedantic)]
                async fn map_record(
                    __record: __sk::MapRecord<'_, #source, #parent_ty>,
                    __ctx: &__sk::WorkContext,
                ) -> __sk::SyncResult<__sk::MapOutput<Self>> {
                    use __sk::{LiftOption as _, LiftValue as _};
                    #reparent
                    let __opts: &__sk::MapOptions = __record.options;
                    let __label = __sk::RecordLabel { model: __ctx.model(), id: #label_id };
                    #conn
                    #(#slots)*
                    #(#mappings)*
                    let mut __out = #output;
                    #finalize
                    #forced
                    ::core::result::Result::Ok(__out)
                }
            }
        };
    }
}

/// `changed_by` names are not read by the mapping, so a function that reads them makes a
/// misspelled one a "no field" error on the attribute instead of a mapping that never runs.
fn changed_by_check(c: &Container, source: &TokenStream) -> TokenStream {
    let whens = c
        .methods
        .iter()
        .map(|m| &m.when)
        .chain(c.fields.iter().map(|f| &f.when));
    let reads: Vec<TokenStream> = whens
        .flat_map(|w| &w.changed_by)
        .map(|path| {
            let access = access(path);
            quote_spanned!(path.span=> let _ = &__source #access;)
        })
        .collect();
    if reads.is_empty() || c.source.is_none() {
        return TokenStream::new();
    }
    quote! {
        #[allow(dead_code)]
        fn __changed_by_fields_exist(__source: &#source) {
            #(#reads)*
        }
    }
}

/// Every source field read or `changed_by`, deduplicated, in declaration order.
fn source_fields(c: &Container) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |path: &SourcePath| {
        let dotted = path.dotted();
        if !out.contains(&dotted) {
            out.push(dotted);
        }
    };
    for method in &c.methods {
        method.when.changed_by.iter().for_each(&mut add);
    }
    for f in &c.fields {
        match &f.mapping {
            Some(FieldMapping::Direct(path)) | Some(FieldMapping::Items(path)) => add(path),
            _ => {}
        }
        f.when.changed_by.iter().for_each(&mut add);
    }
    out
}

fn slot(ident: &Ident) -> Ident {
    format_ident!("__f_{}", unraw(ident))
}

fn partial_slot(ident: &Ident) -> Ident {
    format_ident!("__p_{}", unraw(ident))
}

/// `.a.b.c`, each segment keeping its span.
fn access(path: &SourcePath) -> TokenStream {
    let segments = &path.segments;
    quote!(#(.#segments)*)
}

fn hook_span(path: &syn::Path) -> Span {
    path.segments
        .last()
        .map_or_else(Span::call_site, |s| s.ident.span())
}

/// The run condition: `only_create`, `always`, and the trigger fields on a partial update.
fn condition(when: &When, reads: Option<&SourcePath>) -> TokenStream {
    let mut triggers: Vec<String> = Vec::new();
    let mut add_with_prefixes = |path: &SourcePath| {
        // A change of `billing_address` or of `billing_address.city` both trigger a mapping
        // of `billing_address.city`.
        for n in 1..=path.segments.len() {
            let prefix: Vec<String> = path.segments[..n].iter().map(unraw).collect();
            let prefix = prefix.join(".");
            if !triggers.contains(&prefix) {
                triggers.push(prefix);
            }
        }
    };
    if let Some(path) = reads {
        add_with_prefixes(path);
    }
    when.changed_by.iter().for_each(&mut add_with_prefixes);
    let on_update = if when.always.is_some() {
        quote!(true)
    } else if triggers.is_empty() {
        quote!(__opts.changed_fields.is_none())
    } else {
        quote!(__opts.runs_for(&[#(#triggers),*]))
    };
    if when.only_create.is_some() {
        if triggers.is_empty() {
            quote!(__opts.for_create)
        } else {
            quote!(__opts.for_create && #on_update)
        }
    } else {
        on_update
    }
}

fn field_mapping(c: &Container, f: &Field, source: &TokenStream) -> TokenStream {
    let slot = slot(f.ident);
    let name = unraw(f.ident);
    match &f.mapping {
        Some(FieldMapping::Direct(path)) => {
            let cond = condition(&f.when, Some(path));
            let value = direct_value(f, path, &name);
            quote! {
                if #cond {
                    #value
                }
            }
        }
        Some(FieldMapping::Method(with)) => {
            let cond = condition(&f.when, None);
            let call = method_call(with, f.is_async.is_some());
            quote! {
                if #cond {
                    #slot = ::core::option::Option::Some(#call);
                }
            }
        }
        Some(FieldMapping::Items(path)) => {
            let cond = condition(&f.when, Some(path));
            let items = items(f, path, &name, source);
            let _ = c;
            quote! {
                if #cond {
                    #items
                }
            }
        }
        None => {
            // A constant: `default` without a mapping, filled when creating.
            let ty = f.ty;
            let value = match &f.default {
                Some(Default::Expr(e)) => quote_spanned!(expr_span(e)=> #e),
                _ => quote_spanned!(f.span=> <#ty as ::core::default::Default>::default()),
            };
            quote! {
                if __opts.for_create {
                    #slot = ::core::option::Option::Some(#value);
                }
            }
        }
    }
}

fn expr_span(e: &syn::Expr) -> Span {
    use syn::spanned::Spanned;
    e.span()
}

fn method_call(with: &syn::Path, is_async: bool) -> TokenStream {
    let span = hook_span(with);
    if is_async {
        quote_spanned!(span=> #with(&__record, __ctx).await?)
    } else {
        quote_spanned!(span=> #with(&__record, __ctx)?)
    }
}

fn container_method(m: &Method) -> TokenStream {
    let cond = condition(&m.when, None);
    let call = method_call(&m.with, m.is_async);
    let assign = if m.fills.len() == 1 {
        let slot = slot(&m.fills[0]);
        quote!(#slot = ::core::option::Option::Some(#call);)
    } else {
        let temps: Vec<Ident> = (0..m.fills.len())
            .map(|i| format_ident!("__m{}", i))
            .collect();
        let slots = m.fills.iter().map(slot);
        quote! {
            let (#(#temps),*) = #call;
            #(#slots = ::core::option::Option::Some(#temps);)*
        }
    };
    quote! {
        if #cond {
            #assign
        }
    }
}

/// Reads the source value, runs the modifiers and fills the slot.
fn direct_value(f: &Field, path: &SourcePath, name: &str) -> TokenStream {
    let slot = slot(f.ident);
    let ty = f.ty;
    let access = access(path);
    let span = path.span;
    let read = quote_spanned!(span=> ::core::clone::Clone::clone(&__record.source #access));
    if f.modifiers.is_empty() && f.default.is_none() {
        // `Into` so that `T` fills `Option<T>` and `i64` fills `LocalId`; a mismatch is a
        // "`From<X>` is not implemented" error on the attribute.
        return quote_spanned! {span=>
            #slot = ::core::option::Option::Some(::core::convert::Into::<#ty>::into(#read));
        };
    }

    let target_is_option = is_option(ty);
    let mut steps = Vec::new();
    steps.push(quote!(let __v = #read;));
    let starts_empty_to_none = matches!(f.modifiers.first(), Some(Modifier::EmptyToNone(_)));
    let mut in_option = false;
    if (target_is_option || f.default.is_some()) && !starts_empty_to_none {
        steps.push(quote_spanned!(span=> let __v = __sk::Lift::new(__v).lift();));
        in_option = true;
    }
    for modifier in &f.modifiers {
        let ms = modifier.span();
        let apply = |x: TokenStream| -> TokenStream {
            match modifier {
                Modifier::EmptyToNone(_) => quote_spanned!(ms=> __sk::empty_to_none(#x)),
                Modifier::Convert(_) => quote_spanned!(ms=> __sk::convert(#x, &__label, #name)?),
                Modifier::Parse(_) => quote_spanned!(ms=> __sk::parse(#x, &__label, #name)?),
                Modifier::ToBool(_) => quote_spanned!(ms=> __sk::to_bool(&#x, &__label, #name)?),
                Modifier::ExternalToLocal(binding, _) => quote_spanned! {ms=>
                    __sk::external_to_local::<#binding>(&mut __conn, __ctx, #x, &__label, #name).await?
                },
                Modifier::LocalToExternal(binding, _) => quote_spanned! {ms=>
                    __sk::local_to_external::<#binding, _>(&mut __conn, __ctx, #x, &__label, #name).await?
                },
            }
        };
        let step = match modifier {
            Modifier::EmptyToNone(_) => {
                let e = apply(quote!(__v));
                in_option = true;
                quote!(let __v = #e;)
            }
            _ if in_option => {
                let e = apply(quote!(__x));
                quote! {
                    let __v = match __v {
                        ::core::option::Option::Some(__x) => ::core::option::Option::Some(#e),
                        ::core::option::Option::None => ::core::option::Option::None,
                    };
                }
            }
            _ => {
                let e = apply(quote!(__v));
                quote!(let __v = #e;)
            }
        };
        steps.push(step);
    }
    let value = match (&f.default, in_option, target_is_option) {
        (Some(Default::Expr(e)), true, true) => {
            quote_spanned!(expr_span(e)=> match __v { ::core::option::Option::Some(__x) => ::core::option::Option::Some(__x), ::core::option::Option::None => #e })
        }
        (Some(Default::Expr(e)), true, false) => {
            quote_spanned!(expr_span(e)=> match __v { ::core::option::Option::Some(__x) => __x, ::core::option::Option::None => #e })
        }
        (Some(Default::Trait(s)), true, false) => {
            quote_spanned!(*s=> ::core::option::Option::unwrap_or_default(__v))
        }
        _ => quote_spanned!(span=> __v),
    };
    quote! {
        #(#steps)*
        #slot = ::core::option::Option::Some(#value);
    }
}

/// A sub-mapping: maps each item with the item type's `MapTarget` impl for this source.
fn items(f: &Field, path: &SourcePath, name: &str, source: &TokenStream) -> TokenStream {
    let slot = slot(f.ident);
    let partial = partial_slot(f.ident);
    let access = access(path);
    let span = path.span;
    let item_ty: Type = match vec_item(f.ty) {
        Some(t) => t.clone(),
        None => syn::parse_quote!(()),
    };
    let skip = f
        .skip
        .as_ref()
        .map(|hook| quote_spanned!(hook_span(hook)=> if #hook(&__child) { continue; }));
    let call = quote_spanned! {span=>
        <#item_ty as __sk::MapTarget<#source>>::map_record(__child, __ctx)
    };
    quote! {
        let __src = &__record.source #access;
        let __iter = ::core::iter::IntoIterator::into_iter(__src);
        let mut __items = __sk::Items::<#item_ty>::with_capacity(::core::iter::Iterator::size_hint(&__iter).0);
        for (__i, __item) in ::core::iter::Iterator::enumerate(__iter) {
            let __child = __record.child(__item);
            #skip
            let __o = #call
                .await
                .map_err(|__e| __sk::item_error(__e, #name, __i))?;
            __items.push(__o, &__label, #name)?;
        }
        match __items.finish() {
            ::core::result::Result::Ok(__v) => #slot = ::core::option::Option::Some(__v),
            ::core::result::Result::Err(__v) => #partial = ::core::option::Option::Some(__v),
        }
    }
}

/// `Full` when every slot is filled, else the values of the filled ones.
fn output(c: &Container) -> TokenStream {
    let slots: Vec<Ident> = c.fields.iter().map(|f| slot(f.ident)).collect();
    let idents: Vec<&Ident> = c.fields.iter().map(|f| f.ident).collect();
    let partial = c.fields.iter().map(|f| {
        let s = slot(f.ident);
        let name = unraw(f.ident);
        let ty_span = type_span(f.ty);
        let to_json = quote_spanned!(ty_span=> __sk::to_json(&__v, &__label, #name)?);
        let items = matches!(f.mapping, Some(FieldMapping::Items(_))).then(|| {
            let p = partial_slot(f.ident);
            quote! {
                else if let ::core::option::Option::Some(__v) = #p {
                    __values.insert(::std::string::String::from(#name), __v);
                }
            }
        });
        quote! {
            if let ::core::option::Option::Some(__v) = #s {
                __values.insert(::std::string::String::from(#name), #to_json);
            } #items
        }
    });
    quote! {
        match (#(#slots,)*) {
            (#(::core::option::Option::Some(#slots),)*) => __sk::MapOutput::Full(Self { #(#idents: #slots),* }),
            (#(#slots,)*) => {
                let mut __values = __sk::Values::new();
                #(#partial)*
                __sk::MapOutput::Partial(__values)
            }
        }
    }
}

fn type_span(ty: &Type) -> Span {
    use syn::spanned::Spanned;
    ty.span()
}

/// Forced values: deserialized into the fields of a full output, inserted into a partial one.
fn forced(c: &Container) -> TokenStream {
    let target = c.ident.to_string();
    let arms = c.fields.iter().map(|f| {
        let ident = f.ident;
        let name = unraw(ident);
        let ty = f.ty;
        let value =
            quote_spanned!(type_span(ty)=> __sk::from_forced::<#ty>(__value, &__label, #name)?);
        quote!(#name => __target.#ident = #value,)
    });
    quote! {
        if let ::core::option::Option::Some(__forced) = __record.forced() {
            match &mut __out {
                __sk::MapOutput::Full(__target) => {
                    for (__key, __value) in __forced {
                        match __key.as_str() {
                            #(#arms)*
                            __other => {
                                return ::core::result::Result::Err(__sk::unknown_forced(&__label, __other, #target));
                            }
                        }
                    }
                }
                __sk::MapOutput::Partial(__values) => {
                    for (__key, __value) in __forced {
                        __values.insert(::core::clone::Clone::clone(__key), ::core::clone::Clone::clone(__value));
                    }
                }
            }
        }
    }
}
