//! The internal model of a `#[derive(Mapper)]` input, built by `attr` and read by `check`
//! and `expand`.

use proc_macro2::Span;
use syn::{Expr, Ident, Path, Type};

use crate::internals::parse::SourcePath;

/// The target struct and its container attributes.
pub struct Container<'a> {
    /// The target struct.
    pub ident: &'a Ident,
    /// `source = Type`: the record read.
    pub source: Option<Type>,
    /// `parent = Type`: the record owning the source when it is a sub-mapping item.
    pub parent: Option<Type>,
    /// `id = path`: the source field naming the record in errors.
    pub id: Option<SourcePath>,
    /// `finalize = path`: the hook run after every mapping.
    pub finalize: Option<Path>,
    /// `method(...)`: method mappings filling several fields.
    pub methods: Vec<Method>,
    /// The target fields in declaration order.
    pub fields: Vec<Field<'a>>,
}

/// A method mapping: `with = path`, the fields it fills and when it runs.
pub struct Method {
    /// The function.
    pub with: Path,
    /// Whether it is an `async fn`.
    pub is_async: bool,
    /// The target fields it fills, in the order of its tuple (one field: a plain value).
    pub fills: Vec<Ident>,
    /// When it runs.
    pub when: When,
    /// The attribute, for errors about the mapping as a whole.
    pub span: Span,
}

/// When a mapping runs.
#[derive(Default)]
pub struct When {
    /// `only_create`.
    pub only_create: Option<Span>,
    /// `changed_by(...)`: source fields that trigger it on a partial update.
    pub changed_by: Vec<SourcePath>,
    /// `always`: runs on every update, filtered or not.
    pub always: Option<Span>,
}

/// One target field.
pub struct Field<'a> {
    /// Its name.
    pub ident: &'a Ident,
    /// Its type.
    pub ty: &'a Type,
    /// How it is filled (`None`: by a container method, or an error).
    pub mapping: Option<FieldMapping>,
    /// When its mapping runs.
    pub when: When,
    /// `default` / `default = expr`.
    pub default: Option<Default>,
    /// Modifiers in the order written.
    pub modifiers: Vec<Modifier>,
    /// `skip = path`, for sub-mappings.
    pub skip: Option<Path>,
    /// `async`, for method mappings.
    pub is_async: Option<Span>,
    /// The mapping key (`from`, `method`, `items`), else the field name: where errors about
    /// the field's mapping as a whole point.
    pub span: Span,
    /// Whether its attributes had a parse error (then "no mapping" would be a cascade).
    pub had_errors: bool,
}

/// How a field is filled.
pub enum FieldMapping {
    /// `from = path`: a direct mapping.
    Direct(SourcePath),
    /// `method = path`.
    Method(Path),
    /// `items = path`: a sub-mapping of a collection.
    Items(SourcePath),
}

/// A default value.
pub enum Default {
    /// `default`: `Default::default()`.
    Trait(Span),
    /// `default = expr`.
    Expr(Expr),
}

/// A value modifier of a direct mapping.
pub enum Modifier {
    /// `empty_to_none`.
    EmptyToNone(Span),
    /// `convert`: `From` / `TryFrom`.
    Convert(Span),
    /// `parse`: `FromStr`.
    Parse(Span),
    /// `to_bool`: a flag from a bool, 1/0 or their usual spellings in text.
    ToBool(Span),
    /// `external_to_local = Binding`.
    ExternalToLocal(Type, Span),
    /// `local_to_external = Binding`.
    LocalToExternal(Type, Span),
}

impl Modifier {
    /// Where it was written.
    pub fn span(&self) -> Span {
        match self {
            Modifier::EmptyToNone(s)
            | Modifier::Convert(s)
            | Modifier::Parse(s)
            | Modifier::ToBool(s) => *s,
            Modifier::ExternalToLocal(_, s) | Modifier::LocalToExternal(_, s) => *s,
        }
    }

    /// Its attribute name.
    pub fn name(&self) -> &'static str {
        match self {
            Modifier::EmptyToNone(_) => "empty_to_none",
            Modifier::Convert(_) => "convert",
            Modifier::Parse(_) => "parse",
            Modifier::ToBool(_) => "to_bool",
            Modifier::ExternalToLocal(..) => "external_to_local",
            Modifier::LocalToExternal(..) => "local_to_external",
        }
    }
}
