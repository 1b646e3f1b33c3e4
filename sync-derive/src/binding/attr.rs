//! Parses `#[binding(...)]` on the struct and its fields into a [`Model`].

use syn::meta::ParseNestedMeta;
use syn::{Data, DeriveInput, Fields, Ident, LitStr, Type};

use crate::internals::ctxt::Ctxt;
use crate::internals::parse::{skip_value, unraw};

/// A binding model: its names, external id type and extra fields.
pub struct Model<'a> {
    /// The struct.
    pub ident: &'a Ident,
    /// `kind = "..."`: the backend kind.
    pub kind: LitStr,
    /// `model = "..."`: the binding model name.
    pub model: LitStr,
    /// `local = "..."`: the local model.
    pub local: LitStr,
    /// `external_id = Type` (default `String`).
    pub external_id: Type,
    /// The extra fields.
    pub fields: Vec<Extra<'a>>,
}

/// One extra field, stored under `key` in the metadata JSON.
pub struct Extra<'a> {
    /// The field.
    pub ident: &'a Ident,
    /// Its type.
    pub ty: &'a Type,
    /// The JSON key (`rename = "..."`, else the field name).
    pub key: String,
}

const KEYS: &str = "`kind`, `model`, `local`, `external_id`";

/// Reads the input; `None` when something required is missing (already reported).
pub fn model<'a>(cx: &Ctxt, input: &'a DeriveInput) -> Option<Model<'a>> {
    let fields: Vec<&syn::Field> = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => named.named.iter().collect(),
            Fields::Unit => Vec::new(),
            Fields::Unnamed(_) => {
                cx.error_spanned_by(
                    &input.ident,
                    "#[derive(Binding)] needs a struct with named fields (the extra metadata) or a unit struct",
                );
                return None;
            }
        },
        _ => {
            cx.error_spanned_by(
                &input.ident,
                "#[derive(Binding)] needs a struct with named fields (the extra metadata) or a unit struct",
            );
            return None;
        }
    };
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(
            &input.generics,
            "#[derive(Binding)] does not support generics",
        );
    }
    let mut kind = None;
    let mut model = None;
    let mut local = None;
    let mut external_id = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("binding")) {
        let parsed = attr.parse_nested_meta(|meta| {
            let path = &meta.path;
            if path.is_ident("kind") {
                set_once(cx, &mut kind, name_value(&meta)?, path, "kind");
            } else if path.is_ident("model") {
                set_once(cx, &mut model, name_value(&meta)?, path, "model");
            } else if path.is_ident("local") {
                set_once(cx, &mut local, name_value(&meta)?, path, "local");
            } else if path.is_ident("external_id") {
                let ty: Type = meta.value()?.parse()?;
                set_once(cx, &mut external_id, ty, path, "external_id");
            } else {
                cx.error_spanned_by(
                    path,
                    format!("unknown binding attribute; expected one of {KEYS}"),
                );
                skip_value(&meta)?;
            }
            Ok(())
        });
        if let Err(e) = parsed {
            cx.syn_error(e);
        }
    }
    let mut extras = Vec::new();
    for field in fields {
        let Some(ident) = &field.ident else { continue };
        let mut key = None;
        for attr in field.attrs.iter().filter(|a| a.path().is_ident("binding")) {
            let parsed = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    set_once(cx, &mut key, name_value(&meta)?, &meta.path, "rename");
                } else {
                    cx.error_spanned_by(
                        &meta.path,
                        "unknown binding field attribute; expected `rename = \"key\"`",
                    );
                    skip_value(&meta)?;
                }
                Ok(())
            });
            if let Err(e) = parsed {
                cx.syn_error(e);
            }
        }
        extras.push(Extra {
            ident,
            ty: &field.ty,
            key: key.map_or_else(|| unraw(ident), |k| k.value()),
        });
    }
    let missing = |name: &str, what: &str| {
        cx.error_spanned_by(
            &input.ident,
            format!("missing `#[binding({name} = ...)]`: {what}"),
        );
    };
    if kind.is_none() {
        missing("kind", "the backend kind, e.g. \"magento\"");
    }
    if model.is_none() {
        missing("model", "the binding model, e.g. \"magento.customer\"");
    }
    if local.is_none() {
        missing("local", "the local model it binds, e.g. \"customer\"");
    }
    Some(Model {
        ident: &input.ident,
        kind: kind?,
        model: model?,
        local: local?,
        external_id: external_id.unwrap_or_else(|| syn::parse_quote!(::std::string::String)),
        fields: extras,
    })
}

/// `key = "non-empty string"`.
fn name_value(meta: &ParseNestedMeta) -> syn::Result<LitStr> {
    let lit: LitStr = meta.value()?.parse()?;
    let value = lit.value();
    if value.trim().is_empty() || value.chars().any(char::is_whitespace) {
        return Err(syn::Error::new(
            lit.span(),
            "expected a non-empty name without spaces",
        ));
    }
    Ok(lit)
}

fn set_once<T>(cx: &Ctxt, slot: &mut Option<T>, value: T, path: &syn::Path, name: &str) {
    if slot.is_some() {
        cx.error_spanned_by(path, format!("duplicate attribute `{name}`"));
    } else {
        *slot = Some(value);
    }
}
