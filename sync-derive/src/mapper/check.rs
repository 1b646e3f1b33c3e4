//! Semantic checks of a parsed mapper: every field filled exactly once, attributes that fit
//! their mapping, modifiers that compose. Each failure is recorded with the span of the
//! offending attribute.

use syn::{GenericArgument, PathArguments, Type};

use super::model::{Container, Default, FieldMapping, Modifier, When};
use crate::internals::ctxt::Ctxt;

/// What fills a field: its own `#[map]`, or a container method.
#[derive(Clone, Copy)]
pub enum Filler {
    /// The field's own mapping (direct, method, items or a constant default).
    Own,
    /// A container `method(...)`: its index in `Container::methods`.
    Method(usize),
}

/// Checks the container; returns the filler of each field (in field order).
pub fn check(cx: &Ctxt, c: &Container) -> Vec<Filler> {
    if c.source.is_none() {
        cx.error_spanned_by(
            c.ident,
            "missing `#[mapper(source = Type)]`: the type of the record this mapper reads",
        );
    }
    let mut fillers: Vec<Option<Filler>> = c
        .fields
        .iter()
        .map(|f| (f.mapping.is_some() || f.default.is_some()).then_some(Filler::Own))
        .collect();

    for (m, method) in c.methods.iter().enumerate() {
        check_when(cx, &method.when, method.span, true);
        for fill in &method.fills {
            let Some(index) = c.fields.iter().position(|f| f.ident == fill) else {
                cx.error_spanned_by(fill, format!("`{fill}` is not a field of `{}`", c.ident));
                continue;
            };
            if fillers[index].is_some() {
                cx.error_spanned_by(
                    fill,
                    format!("field `{fill}` is filled twice: it already has a mapping"),
                );
                continue;
            }
            fillers[index] = Some(Filler::Method(m));
        }
    }

    for (field, filler) in c.fields.iter().zip(&fillers) {
        if filler.is_none() && !field.had_errors {
            cx.error_at(
                field.span,
                format!(
                    "field `{}` has no mapping: add `#[map(from = source_field)]`, \
                     `#[map(method = function, ...)]`, `#[map(items = source_field)]` or \
                     `#[map(default)]`, or fill it with a `#[mapper(method(...))]`",
                    field.ident
                ),
            );
        }
        check_field(cx, field);
    }
    fillers
        .into_iter()
        .map(|f| f.unwrap_or(Filler::Own))
        .collect()
}

fn check_field(cx: &Ctxt, f: &super::model::Field) {
    let is_method = matches!(f.mapping, Some(FieldMapping::Method(_)));
    let is_direct = matches!(f.mapping, Some(FieldMapping::Direct(_)));
    let is_items = matches!(f.mapping, Some(FieldMapping::Items(_)));
    let is_constant = f.mapping.is_none() && f.default.is_some();

    if is_method {
        check_when(cx, &f.when, f.span, true);
    } else {
        check_when(cx, &f.when, f.span, false);
    }
    if let (Some(s), false) = (f.is_async, is_method) {
        cx.error_at(
            s,
            "`async` applies to method mappings (`method = function`)",
        );
    }
    if let (Some(skip), false) = (&f.skip, is_items) {
        cx.error_spanned_by(
            skip,
            "`skip` applies to sub-mappings (`items = source_field`)",
        );
    }
    if let (Some(default), true) = (&f.default, is_method || is_items) {
        let message = "`default` applies to direct mappings (used when the source value is \
                       `None`) and to fields without a mapping (filled when creating)";
        match default {
            Default::Trait(s) => cx.error_at(*s, message),
            Default::Expr(e) => cx.error_spanned_by(e, message),
        }
    }
    if is_constant && !f.when.changed_by.is_empty() {
        cx.error_spanned_by(
            &f.when.changed_by[0].segments[0],
            "a field without a mapping is filled when creating only: `changed_by` does not apply",
        );
    }
    if is_items && vec_item(f.ty).is_none() {
        cx.error_spanned_by(
            f.ty,
            "a sub-mapping (`items = ...`) fills a `Vec<Item>` field, `Item` being the item mapper",
        );
    }

    let mut conversion: Option<&Modifier> = None;
    let mut id: Option<&Modifier> = None;
    for modifier in &f.modifiers {
        if !is_direct {
            cx.error_at(
                modifier.span(),
                format!(
                    "`{}` modifies the value of a direct mapping (`from = source_field`)",
                    modifier.name()
                ),
            );
            continue;
        }
        let slot = match modifier {
            Modifier::ToBool(_) => {
                if !is_bool_or_option_bool(f.ty) {
                    cx.error_at(
                        modifier.span(),
                        "`to_bool` yields a `bool`: the field must be a `bool` or an `Option<bool>`",
                    );
                }
                &mut conversion
            }
            Modifier::Convert(_) | Modifier::Parse(_) => &mut conversion,
            Modifier::ExternalToLocal(..) | Modifier::LocalToExternal(..) => &mut id,
            Modifier::EmptyToNone(_) => {
                if !is_option(f.ty) && f.default.is_none() {
                    cx.error_at(
                        modifier.span(),
                        "`empty_to_none` yields an `Option`: the field must be an `Option<_>` \
                         or have a `default`",
                    );
                }
                continue;
            }
        };
        match slot {
            Some(first) => cx.error_at(
                modifier.span(),
                format!(
                    "`{}` and `{}` exclude each other: use one conversion and one id modifier at most",
                    first.name(),
                    modifier.name()
                ),
            ),
            None => *slot = Some(modifier),
        }
    }
}

fn check_when(cx: &Ctxt, when: &When, span: proc_macro2::Span, is_method: bool) {
    if let (Some(s), Some(_)) = (when.always, when.only_create) {
        cx.error_at(s, "`always` and `only_create` exclude each other");
    }
    if is_method {
        if when.always.is_none() && when.only_create.is_none() && when.changed_by.is_empty() {
            cx.error_at(
                span,
                "a method mapping must say when it runs on a partial update: add \
                 `changed_by(source_field, ...)` (the fields it reads), `always`, or `only_create`",
            );
        }
    } else if let Some(s) = when.always {
        cx.error_at(
            s,
            "`always` applies to method mappings; a direct mapping runs when its source field changed",
        );
    }
}

/// `Some(T)` when `ty` is written `Option<T>` (the last path segment, as serde does).
pub fn is_option(ty: &Type) -> bool {
    generic_of(ty, "Option").is_some()
}

/// `Some(T)` when `ty` is written `Vec<T>`.
pub fn vec_item(ty: &Type) -> Option<&Type> {
    generic_of(ty, "Vec")
}

fn generic_of<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first() {
        Some(GenericArgument::Type(inner)) if args.args.len() == 1 => Some(inner),
        _ => None,
    }
}

/// Whether `ty` is written `bool` or `Option<bool>` (the targets of `to_bool`).
fn is_bool_or_option_bool(ty: &syn::Type) -> bool {
    let is_bool = |ty: &syn::Type| matches!(ty, syn::Type::Path(p) if p.qself.is_none() && p.path.is_ident("bool"));
    if is_bool(ty) {
        return true;
    }
    let syn::Type::Path(path) = ty else {
        return false;
    };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    if last.ident != "Option" {
        return false;
    }
    match &last.arguments {
        syn::PathArguments::AngleBracketed(args) => matches!(
            args.args.first(),
            Some(syn::GenericArgument::Type(inner)) if is_bool(inner)
        ),
        _ => false,
    }
}
