//! Support for the code `sync-derive` generates. Not a public API: it may change in any
//! release. Generated code reaches it as `::synckit::__private` or `::sync_core::__private`,
//! so a user who depends on the facade alone needs nothing else in scope.

use std::cell::Cell;
use std::fmt::Display;
use std::str::FromStr;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::Any;
use sqlx::pool::PoolConnection;

use crate::binding_cache::PrefetchedBindings;
pub use crate::binding_model::{BindingModel, binder_for};
pub use crate::context::WorkContext;
pub use crate::error::{SyncError, SyncResult};
pub use crate::ids::{ExternalId, LocalId};
pub use crate::mapper::{MapOptions, MapOutput, MapRecord, MapTarget};
pub use crate::values::Values;
pub use serde_json;

/// Names the record being mapped in errors; formatted only when an error is built.
#[derive(Clone, Copy)]
pub struct RecordLabel<'a> {
    /// The model of the work context.
    pub model: &'a str,
    /// The source record's id, when the mapper declares one.
    pub id: Option<&'a (dyn Display + Sync)>,
}

impl RecordLabel<'_> {
    /// `customer 42`, or `customer` without an id.
    pub fn name(&self) -> String {
        match self.id {
            Some(id) => format!("{} {id}", self.model),
            None => self.model.to_owned(),
        }
    }

    /// A mapping error naming this record and `field`.
    pub fn error(&self, field: &str, message: impl Into<String>) -> SyncError {
        SyncError::mapping(self.name(), field, message)
    }
}

/// Lifts a source value into an `Option`: `Option<T>` stays as it is, any other `T` becomes
/// `Some(T)`. Resolved at the (concrete) call site by method probing: [`LiftOption`] applies
/// to `Lift<Option<T>>` by value and wins over [`LiftValue`], which needs an auto-ref.
pub struct Lift<T>(Cell<Option<T>>);

impl<T> Lift<T> {
    /// Wraps a value to lift.
    pub fn new(value: T) -> Self {
        Lift(Cell::new(Some(value)))
    }
}

/// See [`Lift`]: the `Option` case.
pub trait LiftOption {
    /// The type inside the option.
    type Inner;
    /// The value as an option.
    fn lift(self) -> Option<Self::Inner>;
}

impl<T> LiftOption for Lift<Option<T>> {
    type Inner = T;
    fn lift(self) -> Option<T> {
        self.0.into_inner().flatten()
    }
}

/// See [`Lift`]: the plain value case.
pub trait LiftValue {
    /// The value's type.
    type Inner;
    /// The value as an option.
    fn lift(self) -> Option<Self::Inner>;
}

impl<T> LiftValue for &Lift<T> {
    type Inner = T;
    fn lift(self) -> Option<T> {
        self.0.take()
    }
}

/// Values that can be empty (the `empty_to_none` modifier, Odoo's `none`): as in the
/// connector framework, whose `none` tests Python truthiness, `false` and zero are empty too.
pub trait EmptyToNone {
    /// The non-empty value's type.
    type Inner;
    /// `None` when the value is empty (or already `None`).
    fn empty_to_none(self) -> Option<Self::Inner>;
}

macro_rules! empty_to_none_by_is_empty {
    ($($ty:ty),*) => {$(
        impl EmptyToNone for $ty {
            type Inner = $ty;
            fn empty_to_none(self) -> Option<$ty> {
                if self.is_empty() { None } else { Some(self) }
            }
        }
        impl EmptyToNone for Option<$ty> {
            type Inner = $ty;
            fn empty_to_none(self) -> Option<$ty> {
                self.and_then(EmptyToNone::empty_to_none)
            }
        }
    )*};
}

empty_to_none_by_is_empty!(String, Values);

macro_rules! empty_to_none_by_default {
    ($($ty:ty),*) => {$(
        impl EmptyToNone for $ty {
            type Inner = $ty;
            fn empty_to_none(self) -> Option<$ty> {
                if self == <$ty>::default() { None } else { Some(self) }
            }
        }
        impl EmptyToNone for Option<$ty> {
            type Inner = $ty;
            fn empty_to_none(self) -> Option<$ty> {
                self.and_then(EmptyToNone::empty_to_none)
            }
        }
    )*};
}

// `false`, `0` and `0.0` are falsy in Python.
empty_to_none_by_default!(bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

impl<T> EmptyToNone for Vec<T> {
    type Inner = Vec<T>;
    fn empty_to_none(self) -> Option<Vec<T>> {
        if self.is_empty() { None } else { Some(self) }
    }
}

impl<T> EmptyToNone for Option<Vec<T>> {
    type Inner = Vec<T>;
    fn empty_to_none(self) -> Option<Vec<T>> {
        self.and_then(EmptyToNone::empty_to_none)
    }
}

impl EmptyToNone for Value {
    type Inner = Value;
    fn empty_to_none(self) -> Option<Value> {
        let empty = match &self {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            Value::Bool(b) => !b,
            Value::Number(n) => n.as_f64() == Some(0.0),
        };
        if empty { None } else { Some(self) }
    }
}

impl EmptyToNone for Option<Value> {
    type Inner = Value;
    fn empty_to_none(self) -> Option<Value> {
        self.and_then(EmptyToNone::empty_to_none)
    }
}

/// The `empty_to_none` modifier.
#[inline]
pub fn empty_to_none<V: EmptyToNone>(value: V) -> Option<V::Inner> {
    value.empty_to_none()
}

/// Values the `to_bool` modifier reads as a flag.
pub trait ToBool {
    /// The flag, or why the value is not one.
    fn to_bool(&self) -> Result<bool, String>;
}

impl ToBool for bool {
    fn to_bool(&self) -> Result<bool, String> {
        Ok(*self)
    }
}

macro_rules! to_bool_integer {
    ($($ty:ty),*) => {$(
        impl ToBool for $ty {
            fn to_bool(&self) -> Result<bool, String> {
                match *self {
                    0 => Ok(false),
                    1 => Ok(true),
                    other => Err(format!("`{other}` is not a flag (expected 1 or 0)")),
                }
            }
        }
    )*};
}

to_bool_integer!(i8, i16, i32, i64, u8, u16, u32, u64);

impl ToBool for str {
    fn to_bool(&self) -> Result<bool, String> {
        match self.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => Ok(true),
            "0" | "false" | "no" => Ok(false),
            _ => Err(format!(
                "`{self}` is not a flag (expected true/false, 1/0 or yes/no)"
            )),
        }
    }
}

impl ToBool for String {
    fn to_bool(&self) -> Result<bool, String> {
        self.as_str().to_bool()
    }
}

impl ToBool for Value {
    fn to_bool(&self) -> Result<bool, String> {
        match self {
            Value::Bool(b) => Ok(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => i.to_bool(),
                None => Err(format!("`{n}` is not a flag (expected 1 or 0)")),
            },
            Value::String(s) => s.to_bool(),
            other => Err(format!("`{other}` is not a flag")),
        }
    }
}

/// The `to_bool` modifier (the connector framework's `convert(field, bool)`, strict): see
/// [`ToBool`] for what it accepts; anything else is a mapping error naming the record and
/// the field.
#[inline]
pub fn to_bool<V: ToBool + ?Sized>(
    value: &V,
    label: &RecordLabel<'_>,
    field: &str,
) -> SyncResult<bool> {
    value.to_bool().map_err(|e| label.error(field, e))
}

/// The `convert` modifier: `From` or `TryFrom` (every `From` gives a `TryFrom`).
#[inline]
pub fn convert<S, T>(value: S, label: &RecordLabel<'_>, field: &str) -> SyncResult<T>
where
    T: TryFrom<S>,
    T::Error: Display,
{
    T::try_from(value).map_err(|e| label.error(field, format!("cannot convert the value: {e}")))
}

/// The `parse` modifier: `FromStr`.
#[inline]
pub fn parse<S, T>(value: S, label: &RecordLabel<'_>, field: &str) -> SyncResult<T>
where
    S: AsRef<str>,
    T: FromStr,
    T::Err: Display,
{
    let text = value.as_ref();
    text.parse::<T>()
        .map_err(|e| label.error(field, format!("cannot parse `{text}`: {e}")))
}

/// A database connection taken from the pool on the first binder look-up of a mapping run
/// and kept for the rest of it.
#[derive(Default)]
pub struct LazyConn(Option<PoolConnection<Any>>);

impl LazyConn {
    async fn get(&mut self, ctx: &WorkContext) -> SyncResult<&mut PoolConnection<Any>> {
        if self.0.is_none() {
            self.0 = Some(ctx.storage().pool().acquire().await?);
        }
        match self.0.as_mut() {
            Some(conn) => Ok(conn),
            None => Err(SyncError::Failed("no database connection".into())),
        }
    }
}

/// The `external_to_local = B` modifier (Odoo's `external_to_m2o`): the local id bound to
/// an external id through `B`'s binder. A missing binding is a mapping error naming the
/// record, the field, the binding model and the external id.
pub async fn external_to_local<B: BindingModel>(
    conn: &mut LazyConn,
    ctx: &WorkContext,
    external_id: impl Display,
    label: &RecordLabel<'_>,
    field: &str,
) -> SyncResult<LocalId> {
    let external_id = ExternalId(external_id.to_string());
    // A page import resolved its records' relations ahead: no query for those.
    if let Some(local_id) = ctx
        .extra::<PrefetchedBindings>()
        .and_then(|prefetched| prefetched.local_id(B::MODEL, &external_id))
    {
        return Ok(local_id);
    }
    let binder = binder_for::<B>(ctx)?;
    let conn = conn.get(ctx).await?;
    match binder.to_internal(conn, &external_id).await? {
        Some(local_id) => Ok(local_id),
        None => Err(label.error(
            field,
            format!(
                "no {} binding for external id `{external_id}` on backend {}",
                B::MODEL,
                ctx.backend().name
            ),
        )),
    }
}

/// Types a `local_to_external` modifier can produce from an external id's text.
pub trait FromExternalId: Sized {
    /// Parses the external id's text.
    fn from_external_id(id: ExternalId) -> Result<Self, String>;
}

impl FromExternalId for ExternalId {
    fn from_external_id(id: ExternalId) -> Result<Self, String> {
        Ok(id)
    }
}

impl FromExternalId for String {
    fn from_external_id(id: ExternalId) -> Result<Self, String> {
        Ok(id.0)
    }
}

macro_rules! from_external_id_by_parse {
    ($($ty:ty),*) => {$(
        impl FromExternalId for $ty {
            fn from_external_id(id: ExternalId) -> Result<Self, String> {
                id.as_str().parse().map_err(|e| format!("external id `{id}` is not a {}: {e}", stringify!($ty)))
            }
        }
    )*};
}

from_external_id_by_parse!(i32, i64, u32, u64);

/// The `local_to_external = B` modifier (Odoo's `m2o_to_external`): the external id bound to
/// a local id through `B`'s binder. A missing binding is a mapping error naming the record,
/// the field, the binding model and the local id.
pub async fn local_to_external<B: BindingModel, T: FromExternalId>(
    conn: &mut LazyConn,
    ctx: &WorkContext,
    local_id: impl Into<LocalId>,
    label: &RecordLabel<'_>,
    field: &str,
) -> SyncResult<T> {
    let local_id = local_id.into();
    let binder = binder_for::<B>(ctx)?;
    let conn = conn.get(ctx).await?;
    match binder.to_external(conn, local_id).await? {
        Some(external_id) => T::from_external_id(external_id).map_err(|e| label.error(field, e)),
        None => Err(label.error(
            field,
            format!(
                "no {} binding for local record {local_id} on backend {}",
                B::MODEL,
                ctx.backend().name
            ),
        )),
    }
}

/// Collects the outputs of a sub-mapping's items: typed while every item is full, values as
/// soon as one is partial.
pub struct Items<T> {
    full: Vec<T>,
    values: Option<Vec<Value>>,
}

impl<T: Serialize> Items<T> {
    /// An empty collection sized for `capacity` items.
    #[inline]
    pub fn with_capacity(capacity: usize) -> Self {
        Items {
            full: Vec::with_capacity(capacity),
            values: None,
        }
    }

    /// Adds one item's output; an item that mapped to nothing (a partial output without a
    /// value) is dropped, as the connector framework drops empty child values, rather than
    /// sent as `{}`.
    #[inline]
    pub fn push(
        &mut self,
        output: MapOutput<T>,
        label: &RecordLabel<'_>,
        field: &str,
    ) -> SyncResult<()> {
        if matches!(&output, MapOutput::Partial(values) if values.is_empty()) {
            return Ok(());
        }
        match (output, &mut self.values) {
            (MapOutput::Full(item), None) => self.full.push(item),
            (MapOutput::Full(item), Some(values)) => values.push(to_json(&item, label, field)?),
            (MapOutput::Partial(item), values) => {
                let values = match values {
                    Some(values) => values,
                    None => {
                        let converted = self
                            .full
                            .drain(..)
                            .map(|item| to_json(&item, label, field))
                            .collect::<SyncResult<Vec<_>>>()?;
                        self.values.insert(converted)
                    }
                };
                values.push(Value::Object(item));
            }
        }
        Ok(())
    }

    /// The typed items, or their values when one was partial.
    #[inline]
    pub fn finish(self) -> Result<Vec<T>, Value> {
        match self.values {
            None => Ok(self.full),
            Some(values) => Err(Value::Array(values)),
        }
    }
}

/// Prefixes the field of a mapping error raised by item `index` of sub-mapping `field`, so
/// that the message says `lines[2].sku`.
pub fn item_error(error: SyncError, field: &str, index: usize) -> SyncError {
    match error {
        SyncError::Mapping {
            record,
            field: inner,
            message,
        } => SyncError::Mapping {
            record,
            field: format!("{field}[{index}].{inner}"),
            message,
        },
        other => other,
    }
}

/// A target field's value as JSON, for a partial output.
#[inline]
pub fn to_json<T: Serialize + ?Sized>(
    value: &T,
    label: &RecordLabel<'_>,
    field: &str,
) -> SyncResult<Value> {
    serde_json::to_value(value).map_err(|e| label.error(field, format!("cannot serialize: {e}")))
}

/// A forced value deserialized into a target field's type.
pub fn from_forced<T: DeserializeOwned>(
    value: &Value,
    label: &RecordLabel<'_>,
    field: &str,
) -> SyncResult<T> {
    T::deserialize(value).map_err(|e| label.error(field, format!("invalid forced value: {e}")))
}

/// A forced value that names no target field.
pub fn unknown_forced(label: &RecordLabel<'_>, field: &str, target: &str) -> SyncError {
    label.error(
        field,
        format!("forced value for a field `{target}` does not have"),
    )
}

/// One extra field of a binding model, read from its `metadata` JSON; a missing key reads as
/// `null` (so an `Option` field is `None`).
pub fn metadata_field<T: DeserializeOwned>(
    record: &str,
    metadata: &Value,
    field: &str,
) -> SyncResult<T> {
    let value = metadata.get(field).unwrap_or(&Value::Null);
    T::deserialize(value).map_err(|e| SyncError::invalid_data(record, field, e.to_string()))
}

/// One extra field of a binding model as JSON.
pub fn metadata_value<T: Serialize + ?Sized>(
    model: &str,
    value: &T,
    field: &str,
) -> SyncResult<Value> {
    serde_json::to_value(value)
        .map_err(|e| SyncError::invalid_data(format!("{model} binding"), field, e.to_string()))
}
