//! Small grammars shared by the attribute parsers.

use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::parse::ParseStream;
use syn::{Ident, LitStr, Token};

/// A dotted path of fields in the source record, e.g. `billing_address.city`, written either
/// as idents or as a string literal. Each segment keeps a span inside the attribute, so that
/// "no field `x`" errors point at it.
#[derive(Clone)]
pub struct SourcePath {
    /// The fields, outermost first.
    pub segments: Vec<Ident>,
    /// The whole path, for errors about it.
    pub span: Span,
}

impl SourcePath {
    /// The path as written, `a.b.c`.
    pub fn dotted(&self) -> String {
        let names: Vec<String> = self.segments.iter().map(unraw).collect();
        names.join(".")
    }

    /// A one-segment path.
    pub fn single(ident: &Ident) -> Self {
        SourcePath {
            segments: vec![ident.clone()],
            span: ident.span(),
        }
    }

    /// Parses `a.b.c` or `"a.b.c"`.
    pub fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            let value = lit.value();
            let mut segments = Vec::new();
            for part in value.split('.') {
                // Rebuild each segment as an ident spanned at the literal, so that a missing
                // field is reported on the attribute.
                match syn::parse_str::<Ident>(part) {
                    Ok(ident) => segments.push(Ident::new(&unraw(&ident), lit.span())),
                    Err(_) => {
                        let why = if part.is_empty() {
                            "it has an empty segment".to_owned()
                        } else {
                            format!("`{part}` is not a field name")
                        };
                        return Err(syn::Error::new(
                            lit.span(),
                            format!("`{value}` is not a field path: {why}"),
                        ));
                    }
                }
            }
            return Ok(SourcePath {
                segments,
                span: lit.span(),
            });
        }
        let first: Ident = input.parse()?;
        let mut span = first.span();
        let mut segments = vec![first];
        while input.peek(Token![.]) {
            input.parse::<Token![.]>()?;
            let next: Ident = input.parse()?;
            span = span.join(next.span()).unwrap_or(span);
            segments.push(next);
        }
        Ok(SourcePath { segments, span })
    }
}

/// An ident's name without a raw prefix (`r#type` is the field `type`).
pub fn unraw(ident: &Ident) -> String {
    let name = ident.to_string();
    name.strip_prefix("r#").map(str::to_owned).unwrap_or(name)
}

/// Parses `(a, b.c, "d")` after a key.
pub fn source_path_list(meta: &ParseNestedMeta) -> syn::Result<Vec<SourcePath>> {
    let content;
    syn::parenthesized!(content in meta.input);
    let list = content.parse_terminated(SourcePath::parse, Token![,])?;
    if list.is_empty() {
        return Err(meta.error("expected at least one field name inside the parentheses"));
    }
    Ok(list.into_iter().collect())
}

/// Parses `(a, b)` after a key: target field names.
pub fn ident_list(meta: &ParseNestedMeta) -> syn::Result<Vec<Ident>> {
    let content;
    syn::parenthesized!(content in meta.input);
    let list = content.parse_terminated(<Ident as syn::parse::Parse>::parse, Token![,])?;
    if list.is_empty() {
        return Err(meta.error("expected at least one field name inside the parentheses"));
    }
    Ok(list.into_iter().collect())
}

/// Consumes whatever follows an unknown key (`= expr` or `(...)`), so that parsing goes on
/// and the next errors are reported too.
pub fn skip_value(meta: &ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.input.parse::<Token![=]>()?;
        meta.input.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<TokenStream>()?;
    }
    Ok(())
}

/// Rejects a value after a flag such as `only_create`.
pub fn expect_flag(meta: &ParseNestedMeta, name: &str) -> syn::Result<Span> {
    if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
        return Err(meta.error(format!("`{name}` is a flag and takes no value")));
    }
    Ok(span_of(&meta.path))
}

/// The span of a path (its first token when the spans cannot be joined).
pub fn span_of(path: &syn::Path) -> Span {
    use syn::spanned::Spanned;
    path.span()
}
