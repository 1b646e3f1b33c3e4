//! `#[job]`: turns an `async fn` into a job function of the persistent queue.
//!
//! The function stays as written (callable directly, e.g. in tests). Beside it the macro
//! declares a type of the same name (types and functions live in different namespaces)
//! that implements `JobFunction`, with a serde arguments struct made of the parameters after
//! the optional leading `JobContext`, and a `call(...)` constructor returning a `Delayable`.
//!
//! The description defaults to the doc comment's first line, else the function's name
//! (queue_job's rule). A default identity key is a format string over the arguments
//! (`identity_key = "import:{backend_id}:{external_id}"`, checked at compile time), a
//! function called with references to the arguments (`identity_key = path::to::key`), or
//! the hash of the call (`identity_exact`).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Expr, FnArg, Ident, ItemFn, Lit, LitInt, LitStr, Pat, Path, Type};

/// The attribute's options, all optional.
#[derive(Default)]
struct Options {
    name: Option<LitStr>,
    channel: Option<LitStr>,
    priority: Option<LitInt>,
    max_retries: Option<LitInt>,
    retry_pattern: Option<LitStr>,
    description: Option<LitStr>,
    timeout: Option<LitInt>,
    identity_key: Option<KeyOption>,
    /// The `identity_exact` flag, kept for its span.
    identity_exact: Option<Path>,
    krate: Option<Path>,
}

/// How `identity_key = ...` computes a job's default key.
enum KeyOption {
    /// A format string whose `{placeholders}` name arguments.
    Format(LitStr),
    /// A function called with references to the arguments, in order.
    Function(Path),
}

fn parse_key_option(expr: Expr) -> syn::Result<KeyOption> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(KeyOption::Format(lit)),
        Expr::Path(path) if path.qself.is_none() => Ok(KeyOption::Function(path.path)),
        other => Err(syn::Error::new(
            other.span(),
            "`identity_key` takes a format string over the arguments, e.g. \
             `\"import:{backend_id}:{external_id}\"`, or the path of a function computing the key \
             from references to the arguments",
        )),
    }
}

/// Expands `#[job(...)]` on `item`.
pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    match try_expand(args, item.clone()) {
        Ok(tokens) => tokens,
        // Keep the function so that its own errors still show, plus ours.
        Err(error) => {
            let error = error.to_compile_error();
            quote!(#item #error)
        }
    }
}

fn set<T>(slot: &mut Option<T>, value: T, path: &Path, key: &str) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(path.span(), format!("duplicate `{key}`")));
    }
    *slot = Some(value);
    Ok(())
}

fn parse_options(args: TokenStream) -> syn::Result<Options> {
    let mut o = Options::default();
    let parser = syn::meta::parser(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(Ident::to_string)
            .unwrap_or_default();
        match key.as_str() {
            "name" => set(&mut o.name, meta.value()?.parse()?, &meta.path, "name"),
            "channel" => set(
                &mut o.channel,
                meta.value()?.parse()?,
                &meta.path,
                "channel",
            ),
            "priority" => set(
                &mut o.priority,
                meta.value()?.parse()?,
                &meta.path,
                "priority",
            ),
            "max_retries" => set(
                &mut o.max_retries,
                meta.value()?.parse()?,
                &meta.path,
                "max_retries",
            ),
            "retry_pattern" => set(
                &mut o.retry_pattern,
                meta.value()?.parse()?,
                &meta.path,
                "retry_pattern",
            ),
            "description" => set(
                &mut o.description,
                meta.value()?.parse()?,
                &meta.path,
                "description",
            ),
            "timeout" => set(
                &mut o.timeout,
                meta.value()?.parse()?,
                &meta.path,
                "timeout",
            ),
            "identity_key" => set(
                &mut o.identity_key,
                parse_key_option(meta.value()?.parse()?)?,
                &meta.path,
                "identity_key",
            ),
            "identity_exact" => {
                if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
                    return Err(meta.error("`identity_exact` is a flag: it takes no value"));
                }
                set(
                    &mut o.identity_exact,
                    meta.path.clone(),
                    &meta.path,
                    "identity_exact",
                )
            }
            "crate" => {
                let lit: LitStr = meta.value()?.parse()?;
                set(&mut o.krate, lit.parse()?, &meta.path, "crate")
            }
            _ => Err(meta.error(
                "unknown `job` option: expected one of name, channel, priority, max_retries, \
                 retry_pattern, description, timeout, identity_key, identity_exact, crate",
            )),
        }
    });
    parser.parse2(args)?;
    Ok(o)
}

/// `::synckit` when the caller depends on the facade, else `::sync_core`.
fn runtime_path() -> TokenStream {
    use proc_macro_crate::{FoundCrate, crate_name};
    for (package, krate) in [("synckit", "synckit"), ("sync-core", "sync_core")] {
        match crate_name(package) {
            Ok(FoundCrate::Itself) => {
                let ident = Ident::new(krate, Span::call_site());
                return quote!(::#ident);
            }
            Ok(FoundCrate::Name(name)) => {
                let ident = Ident::new(&name, Span::call_site());
                return quote!(::#ident);
            }
            Err(_) => {}
        }
    }
    quote!(::synckit)
}

/// Whether `ty` is `JobContext` or `&JobContext` (by its last path segment).
fn context_kind(ty: &Type) -> Option<bool> {
    let (inner, by_ref) = match ty {
        Type::Reference(r) => (&*r.elem, true),
        other => (other, false),
    };
    match inner {
        Type::Path(p)
            if p.path
                .segments
                .last()
                .is_some_and(|s| s.ident == "JobContext") =>
        {
            Some(by_ref)
        }
        _ => None,
    }
}

/// Parses `1:10,5:20-60` at compile time, so a bad pattern is a compile error on the
/// attribute rather than a failure at run time.
fn retry_steps(lit: &LitStr) -> syn::Result<Vec<(u32, u64, Option<u64>)>> {
    let mut steps = Vec::new();
    for part in lit
        .value()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let bad = || {
            syn::Error::new(
                lit.span(),
                format!(
                    "invalid retry pattern step `{part}`: expected `tries:seconds` or `tries:min-max`"
                ),
            )
        };
        let (tries, delay) = part.split_once(':').ok_or_else(bad)?;
        let tries: u32 = tries.trim().parse().map_err(|_| bad())?;
        let step = match delay.split_once('-') {
            Some((a, b)) => (
                tries,
                a.trim().parse().map_err(|_| bad())?,
                Some(b.trim().parse().map_err(|_| bad())?),
            ),
            None => (tries, delay.trim().parse().map_err(|_| bad())?, None),
        };
        steps.push(step);
    }
    Ok(steps)
}

/// The first line of the doc comment, the default description.
fn doc_line(item: &ItemFn) -> Option<String> {
    item.attrs.iter().find_map(|attr| {
        if !attr.path().is_ident("doc") {
            return None;
        }
        match &attr.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                // A `/** ... */` comment is one attribute of many lines.
                Expr::Lit(lit) => match &lit.lit {
                    Lit::Str(s) => s
                        .value()
                        .lines()
                        .map(str::trim)
                        .find(|line| !line.is_empty())
                        .map(str::to_owned),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        }
    })
}

/// The argument names a key format string uses, checked against the arguments, so that a
/// typo is a compile error on the string rather than a key that never matches.
fn key_format_names(
    lit: &LitStr,
    fields: &[(Ident, Type)],
    fn_name: &Ident,
) -> syn::Result<Vec<Ident>> {
    let format = lit.value();
    if format.trim().is_empty() {
        return Err(syn::Error::new(
            lit.span(),
            "the identity key format is empty",
        ));
    }
    let expected = || {
        fields
            .iter()
            .map(|(name, _)| name.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut names: Vec<Ident> = Vec::new();
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        match c {
            '{' if chars.peek().is_some_and(|&(_, n)| n == '{') => {
                chars.next();
            }
            '}' if chars.peek().is_some_and(|&(_, n)| n == '}') => {
                chars.next();
            }
            '}' => {
                return Err(syn::Error::new(
                    lit.span(),
                    "unmatched `}` in the identity key format: write `}}` for a brace",
                ));
            }
            '{' => {
                let mut inner = String::new();
                let mut closed = false;
                for (_, n) in chars.by_ref() {
                    if n == '}' {
                        closed = true;
                        break;
                    }
                    inner.push(n);
                }
                if !closed {
                    return Err(syn::Error::new(
                        lit.span(),
                        "unclosed `{` in the identity key format: write `{{` for a brace",
                    ));
                }
                let name = inner.split(':').next().unwrap_or_default().trim();
                if name.is_empty() || name.chars().all(|c| c.is_ascii_digit()) {
                    return Err(syn::Error::new(
                        lit.span(),
                        format!(
                            "name the argument in `{{{inner}}}`: the identity key format takes \
                             the arguments of `{fn_name}` by name ({})",
                            expected()
                        ),
                    ));
                }
                let Some((field, _)) = fields.iter().find(|(field, _)| field == name) else {
                    return Err(syn::Error::new(
                        lit.span(),
                        format!(
                            "`{{{name}}}` in the identity key is not an argument of `{fn_name}`: \
                             expected one of {}",
                            expected()
                        ),
                    ));
                };
                if !names.contains(field) {
                    names.push(field.clone());
                }
            }
            _ => {}
        }
    }
    Ok(names)
}

fn try_expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let options = parse_options(args)?;
    let func: ItemFn = syn::parse2(item)?;
    let sig = &func.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            "#[job] goes on an `async fn`",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "a job function cannot be generic: its arguments are stored as JSON and decoded by name",
        ));
    }
    let krate = match &options.krate {
        Some(path) => quote!(#path),
        None => runtime_path(),
    };
    let queue = quote!(#krate::queue);
    let fn_name = &sig.ident;
    let vis = &func.vis;
    let job_name = options
        .name
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_else(|| fn_name.to_string());

    // Parameters: an optional leading JobContext, then the stored arguments.
    let mut context: Option<bool> = None;
    let mut fields: Vec<(Ident, Type)> = Vec::new();
    for (i, input) in sig.inputs.iter().enumerate() {
        let typed = match input {
            FnArg::Receiver(r) => {
                return Err(syn::Error::new(
                    r.span(),
                    "a job function cannot take `self`: use a free `async fn`",
                ));
            }
            FnArg::Typed(t) => t,
        };
        if i == 0
            && let Some(by_ref) = context_kind(&typed.ty)
        {
            context = Some(by_ref);
            continue;
        }
        let Pat::Ident(pat) = &*typed.pat else {
            return Err(syn::Error::new(
                typed.pat.span(),
                "job arguments must be plain names: they become the fields of the stored arguments",
            ));
        };
        if let Type::Reference(r) = &*typed.ty {
            return Err(syn::Error::new(
                r.span(),
                "job arguments are stored and decoded later: take them by value, not by reference",
            ));
        }
        fields.push((pat.ident.clone(), (*typed.ty).clone()));
    }

    let args_ident = format_ident!("__{}_job_args", fn_name);
    let serde_path = format!("{}::__private::serde", queue.to_string().replace(' ', ""));
    let field_names: Vec<&Ident> = fields.iter().map(|(n, _)| n).collect();
    let field_types: Vec<&Type> = fields.iter().map(|(_, t)| t).collect();
    let ctx_arg = match context {
        Some(true) => quote!(&ctx,),
        Some(false) => quote!(ctx,),
        None => quote!(),
    };
    let drop_ctx = if context.is_none() {
        quote!(let _ = ctx;)
    } else {
        quote!()
    };

    let mut defaults = Vec::new();
    if let Some(channel) = &options.channel {
        defaults.push(quote!(defaults.channel = ::std::string::String::from(#channel);));
    }
    if let Some(priority) = &options.priority {
        defaults.push(quote!(defaults.priority = #priority;));
    }
    if let Some(max) = &options.max_retries {
        defaults.push(quote!(defaults.max_retries = #max;));
    }
    if let Some(timeout) = &options.timeout {
        defaults.push(quote!(defaults.timeout = ::std::option::Option::Some(::std::time::Duration::from_secs(#timeout));));
    }
    if let Some(pattern) = &options.retry_pattern {
        for (tries, a, b) in retry_steps(pattern)? {
            let delay = match b {
                Some(b) => quote!(#queue::RetryDelay::Range(#a, #b)),
                None => quote!(#queue::RetryDelay::Fixed(#a)),
            };
            defaults.push(
                quote!(defaults.retry_pattern = defaults.retry_pattern.step(#tries, #delay);),
            );
        }
    }
    // queue_job's rule: the explicit description, else the docstring's first line, else
    // the function's name.
    let description = options
        .description
        .as_ref()
        .map(LitStr::value)
        .or_else(|| doc_line(&func))
        .unwrap_or_else(|| fn_name.to_string());
    defaults.push(quote!(defaults.description = ::std::option::Option::Some(::std::string::String::from(#description));));

    let identity_key = match (&options.identity_key, &options.identity_exact) {
        (Some(_), Some(flag)) => {
            return Err(syn::Error::new(
                flag.span(),
                "`identity_exact` and `identity_key` both set the identity key: keep one",
            ));
        }
        (None, None) => quote!(),
        (None, Some(_)) => quote! {
            fn identity_key(args: &#args_ident) -> ::std::option::Option<#queue::IdentityKey> {
                let _ = args;
                ::std::option::Option::Some(#queue::IdentityKey::Exact)
            }
        },
        (Some(KeyOption::Format(lit)), None) => {
            let names = key_format_names(lit, &fields, fn_name)?;
            quote! {
                fn identity_key(args: &#args_ident) -> ::std::option::Option<#queue::IdentityKey> {
                    let _ = args;
                    ::std::option::Option::Some(#queue::IdentityKey::Key(
                        ::std::format!(#lit, #( #names = args.#names ),*)
                    ))
                }
            }
        }
        (Some(KeyOption::Function(path)), None) => {
            // Spanned on the path, arguments included, so that a function of the wrong
            // signature is reported there.
            let span = path.span();
            let arguments = field_names.iter().map(|name| {
                let mut name = (*name).clone();
                name.set_span(span);
                name
            });
            let key = quote_spanned!(span=> #path(#( &args.#arguments ),*));
            quote! {
                fn identity_key(args: &#args_ident) -> ::std::option::Option<#queue::IdentityKey> {
                    let _ = args;
                    ::std::option::Option::Some(#queue::IdentityKey::Key(
                        ::std::convert::Into::<::std::string::String>::into(#key)
                    ))
                }
            }
        }
    };

    let doc = format!(
        "The job function `{job_name}`: `{fn_name}::call(..)` builds a job to delay, \
         `JobRegistry::register::<{fn_name}>()` lets a worker run it."
    );
    let call_doc = format!("A `{job_name}` job with these arguments, ready to be delayed.");
    let span = fn_name.span();
    let type_decl = quote_spanned! {span=>
        #[doc = #doc]
        #[allow(non_camel_case_types)]
        #vis struct #fn_name {}
    };

    Ok(quote! {
        #func

        #type_decl

        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #[derive(#queue::__private::serde::Serialize, #queue::__private::serde::Deserialize)]
        #[serde(crate = #serde_path)]
        #vis struct #args_ident {
            #( #vis #field_names: #field_types, )*
        }

        impl #queue::JobFunction for #fn_name {
            const NAME: &'static str = #job_name;
            type Args = #args_ident;

            fn defaults() -> #queue::JobDefaults {
                #[allow(unused_mut)]
                let mut defaults = #queue::JobDefaults::default();
                #( #defaults )*
                defaults
            }

            #identity_key

            fn perform(
                ctx: #queue::JobContext,
                args: #args_ident,
            ) -> #queue::BoxFuture<#krate::SyncResult<#queue::JobOutput>> {
                ::std::boxed::Box::pin(async move {
                    #drop_ctx
                    let output = #fn_name(#ctx_arg #( args.#field_names, )*).await?;
                    ::std::result::Result::Ok(#queue::IntoJobOutput::into_job_output(output))
                })
            }
        }

        impl #fn_name {
            #[doc = #call_doc]
            #[allow(clippy::too_many_arguments)]
            #vis fn call(#( #field_names: #field_types ),*) -> #krate::SyncResult<#queue::Delayable> {
                #queue::Delayable::new::<#fn_name>(&#args_ident { #( #field_names, )* })
            }
        }
    })
}
