//! Parses `#[mapper(...)]` and `#[map(...)]` into the [`model`](super::model), recording
//! every error in the [`Ctxt`] and going on, so that all of them are reported at once.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::{Data, DeriveInput, Fields, Path, Type};

use super::model::{Container, Default, Field, FieldMapping, Method, Modifier, When};
use crate::internals::ctxt::Ctxt;
use crate::internals::parse::{
    SourcePath, expect_flag, ident_list, skip_value, source_path_list, span_of,
};

const CONTAINER_KEYS: &str = "`source`, `parent`, `id`, `finalize`, `method(...)`";
const FIELD_KEYS: &str = "`from`, `method`, `items`, `skip`, `async`, `only_create`, `changed_by(...)`, `always`, `default`, `empty_to_none`, `convert`, `parse`, `to_bool`, `external_to_local`, `local_to_external`";
const METHOD_KEYS: &str =
    "`with`, `fills(...)`, `async`, `only_create`, `changed_by(...)`, `always`";

/// Reads the input; `None` when it is not a struct with named fields (already reported).
pub fn container<'a>(cx: &Ctxt, input: &'a DeriveInput) -> Option<Container<'a>> {
    let named = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => named,
            _ => {
                cx.error_spanned_by(
                    &input.ident,
                    "#[derive(Mapper)] needs a struct with named fields: the target fields",
                );
                return None;
            }
        },
        _ => {
            cx.error_spanned_by(
                &input.ident,
                "#[derive(Mapper)] needs a struct with named fields: the target fields",
            );
            return None;
        }
    };
    if !input.generics.params.is_empty() || input.generics.where_clause.is_some() {
        cx.error_spanned_by(
            &input.generics,
            "#[derive(Mapper)] does not support generic targets: map into a concrete struct",
        );
    }

    let mut container = Container {
        ident: &input.ident,
        source: None,
        parent: None,
        id: None,
        finalize: None,
        methods: Vec::new(),
        fields: Vec::new(),
    };
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("mapper")) {
        let parsed = attr.parse_nested_meta(|meta| container_key(cx, &mut container, meta));
        if let Err(e) = parsed {
            cx.syn_error(e);
        }
    }
    for field in &named.named {
        if let Some(ident) = &field.ident {
            container.fields.push(field_attrs(cx, field, ident));
        }
    }
    Some(container)
}

fn container_key(cx: &Ctxt, c: &mut Container, meta: ParseNestedMeta) -> syn::Result<()> {
    let path = &meta.path;
    if path.is_ident("source") {
        let ty: Type = meta.value()?.parse()?;
        set_once(cx, &mut c.source, ty, path, "source");
    } else if path.is_ident("parent") {
        let ty: Type = meta.value()?.parse()?;
        set_once(cx, &mut c.parent, ty, path, "parent");
    } else if path.is_ident("id") {
        let id = SourcePath::parse(meta.value()?)?;
        set_once(cx, &mut c.id, id, path, "id");
    } else if path.is_ident("finalize") {
        let hook: Path = meta.value()?.parse()?;
        set_once(cx, &mut c.finalize, hook, path, "finalize");
    } else if path.is_ident("method") {
        if let Some(method) = method(cx, &meta)? {
            c.methods.push(method);
        }
    } else {
        cx.error_spanned_by(
            path,
            format!(
                "unknown mapper attribute `{}`; expected one of {CONTAINER_KEYS}",
                path_name(path)
            ),
        );
        skip_value(&meta)?;
    }
    Ok(())
}

fn method(cx: &Ctxt, meta: &ParseNestedMeta) -> syn::Result<Option<Method>> {
    let span = span_of(&meta.path);
    let mut with = None;
    let mut fills = None;
    let mut is_async = None;
    let mut when = When::default();
    meta.parse_nested_meta(|meta| {
        let path = &meta.path;
        if path.is_ident("with") {
            let f: Path = meta.value()?.parse()?;
            set_once(cx, &mut with, f, path, "with");
        } else if path.is_ident("fills") {
            let list = ident_list(&meta)?;
            set_once(cx, &mut fills, list, path, "fills");
        } else if path.is_ident("async") {
            let s = expect_flag(&meta, "async")?;
            set_once(cx, &mut is_async, s, path, "async");
        } else if !when_key(cx, &mut when, &meta)? {
            cx.error_spanned_by(
                path,
                format!(
                    "unknown method attribute `{}`; expected one of {METHOD_KEYS}",
                    path_name(path)
                ),
            );
            skip_value(&meta)?;
        }
        Ok(())
    })?;
    let Some(with) = with else {
        cx.error_at(
            span,
            "a `method(...)` mapping needs `with = function`: the function that computes the fields",
        );
        return Ok(None);
    };
    let Some(fills) = fills else {
        cx.error_at(
            span,
            "a `method(...)` mapping needs `fills(field, ...)`: the target fields it fills",
        );
        return Ok(None);
    };
    Ok(Some(Method {
        with,
        is_async: is_async.is_some(),
        fills,
        when,
        span,
    }))
}

/// `only_create`, `changed_by(...)`, `always`; `false` when the key is none of them.
fn when_key(cx: &Ctxt, when: &mut When, meta: &ParseNestedMeta) -> syn::Result<bool> {
    let path = &meta.path;
    if path.is_ident("only_create") {
        let s = expect_flag(meta, "only_create")?;
        set_once(cx, &mut when.only_create, s, path, "only_create");
    } else if path.is_ident("always") {
        let s = expect_flag(meta, "always")?;
        set_once(cx, &mut when.always, s, path, "always");
    } else if path.is_ident("changed_by") {
        if !when.changed_by.is_empty() {
            cx.error_spanned_by(path, "duplicate attribute `changed_by`");
        }
        when.changed_by.extend(source_path_list(meta)?);
    } else {
        return Ok(false);
    }
    Ok(true)
}

fn field_attrs<'a>(cx: &Ctxt, field: &'a syn::Field, ident: &'a syn::Ident) -> Field<'a> {
    let mut out = Field {
        ident,
        ty: &field.ty,
        mapping: None,
        when: When::default(),
        default: None,
        modifiers: Vec::new(),
        skip: None,
        is_async: None,
        span: ident.span(),
        had_errors: false,
    };
    let errors_before = cx.error_count();
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("map")) {
        let parsed = attr.parse_nested_meta(|meta| field_key(cx, &mut out, meta));
        if let Err(e) = parsed {
            cx.syn_error(e);
        }
    }
    out.had_errors = cx.error_count() > errors_before;
    out
}

fn field_key(cx: &Ctxt, f: &mut Field, meta: ParseNestedMeta) -> syn::Result<()> {
    let path = &meta.path;
    let span = span_of(path);
    if path.is_ident("from") {
        let source = if meta.input.peek(syn::Token![=]) {
            SourcePath::parse(meta.value()?)?
        } else {
            // `from` alone: the source field of the same name.
            let mut same = SourcePath::single(f.ident);
            same.segments[0].set_span(span);
            same.span = span;
            same
        };
        set_mapping(cx, f, FieldMapping::Direct(source), span);
    } else if path.is_ident("method") {
        let with: Path = meta.value()?.parse()?;
        set_mapping(cx, f, FieldMapping::Method(with), span);
    } else if path.is_ident("items") {
        let items = SourcePath::parse(meta.value()?)?;
        set_mapping(cx, f, FieldMapping::Items(items), span);
    } else if path.is_ident("skip") {
        let hook: Path = meta.value()?.parse()?;
        set_once(cx, &mut f.skip, hook, path, "skip");
    } else if path.is_ident("async") {
        let s = expect_flag(&meta, "async")?;
        set_once(cx, &mut f.is_async, s, path, "async");
    } else if path.is_ident("default") {
        let default = if meta.input.peek(syn::Token![=]) {
            Default::Expr(meta.value()?.parse()?)
        } else {
            Default::Trait(span)
        };
        set_once(cx, &mut f.default, default, path, "default");
    } else if path.is_ident("empty_to_none") {
        f.modifiers
            .push(Modifier::EmptyToNone(expect_flag(&meta, "empty_to_none")?));
    } else if path.is_ident("convert") {
        f.modifiers
            .push(Modifier::Convert(expect_flag(&meta, "convert")?));
    } else if path.is_ident("parse") {
        f.modifiers
            .push(Modifier::Parse(expect_flag(&meta, "parse")?));
    } else if path.is_ident("to_bool") {
        f.modifiers
            .push(Modifier::ToBool(expect_flag(&meta, "to_bool")?));
    } else if path.is_ident("external_to_local") {
        let binding = binding_type(&meta, "external_to_local")?;
        f.modifiers.push(Modifier::ExternalToLocal(binding, span));
    } else if path.is_ident("local_to_external") {
        let binding = binding_type(&meta, "local_to_external")?;
        f.modifiers.push(Modifier::LocalToExternal(binding, span));
    } else if !when_key(cx, &mut f.when, &meta)? {
        cx.error_spanned_by(
            path,
            format!(
                "unknown map attribute `{}`; expected one of {FIELD_KEYS}",
                path_name(path)
            ),
        );
        skip_value(&meta)?;
    }
    Ok(())
}

fn binding_type(meta: &ParseNestedMeta, name: &str) -> syn::Result<Type> {
    if !meta.input.peek(syn::Token![=]) {
        return Err(meta.error(format!(
            "`{name}` needs the binding model of the related record: `{name} = SomeBinding`"
        )));
    }
    meta.value()?.parse()
}

fn set_mapping(cx: &Ctxt, f: &mut Field, mapping: FieldMapping, span: Span) {
    if f.mapping.is_none() {
        f.span = span;
    }
    if f.mapping.is_some() {
        cx.error_at(
            span,
            "a field has one mapping: `from`, `method` and `items` exclude each other",
        );
    } else {
        f.mapping = Some(mapping);
    }
}

fn set_once<T>(cx: &Ctxt, slot: &mut Option<T>, value: T, path: &Path, name: &str) {
    if slot.is_some() {
        cx.error_spanned_by(path, format!("duplicate attribute `{name}`"));
    } else {
        *slot = Some(value);
    }
}

fn path_name(path: &Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}
