//! Mappers: turning a source record into target values.
//!
//! A [`Mapper`] is what an import or export spec hands to the record flows
//! ([`ImportSpec::mapper`](crate::sync::ImportSpec::mapper),
//! [`ExportSpec::mapper`](crate::sync::ExportSpec::mapper)); it is typed by the spec, so it is
//! not looked up in the component registry. Connector authors rarely write one by hand:
//! `#[derive(Mapper)]` on a target struct implements [`MapTarget`] for it, and
//! [`DerivedMapper`] turns any [`MapTarget`] into a [`Mapper`].
//!
//! A mapping run sees a [`MapRecord`]: the source record, its parent record (for the items
//! of a sub-mapping) and the [`MapOptions`].

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;

use async_trait::async_trait;
use serde::Serialize;

use crate::context::WorkContext;
use crate::error::SyncResult;
use crate::values::{Values, to_values};

/// Options of one mapping run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapOptions {
    /// Mapping for a create: every mapping runs, `only_create` ones included.
    pub for_create: bool,
    /// The source fields that changed; `None` maps everything. On update, only mappings whose
    /// source fields or `changed_by` fields intersect this set run.
    pub changed_fields: Option<BTreeSet<String>>,
    /// Free options passed down to method mappings and sub-mappers.
    pub custom: Values,
    /// Values forced onto the output, applied last (after the finalize hook) and only to
    /// the top-level record, never to the items of a sub-mapping. On a full output each key
    /// must name a target field and deserialize into its type.
    pub forced: Values,
}

impl MapOptions {
    /// Options for creating the target record.
    pub fn for_create() -> Self {
        MapOptions {
            for_create: true,
            ..MapOptions::default()
        }
    }

    /// Options for updating the target with every mapping.
    pub fn for_update() -> Self {
        MapOptions::default()
    }

    /// Options for updating the target with the mappings of these changed source fields.
    pub fn for_changed<I, S>(fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        MapOptions {
            for_create: false,
            changed_fields: Some(fields.into_iter().map(Into::into).collect()),
            ..MapOptions::default()
        }
    }

    /// The same options with one forced value (see [`MapOptions::forced`]).
    pub fn force(mut self, field: &str, value: impl Into<serde_json::Value>) -> Self {
        self.forced.insert(field.to_owned(), value.into());
        self
    }

    /// Whether a mapping reading `fields` runs under these options.
    pub fn runs_for(&self, fields: &[&str]) -> bool {
        match &self.changed_fields {
            None => true,
            Some(changed) => fields.iter().any(|f| changed.contains(*f)),
        }
    }
}

/// What a mapper produced: the full typed target when every mapping ran (on create, or on an
/// update without a changed-field filter and without `only_create` mappings), else the
/// values of the mappings that ran (a partial payload).
#[derive(Debug, Clone, PartialEq)]
pub enum MapOutput<T> {
    /// Every target field (for create, or an update without a changed-field filter).
    Full(T),
    /// Only the fields whose mappings ran.
    Partial(Values),
}

impl<T: Serialize> MapOutput<T> {
    /// The output as field values, for a repository or an adapter.
    pub fn into_values(self, record: &str) -> SyncResult<Values> {
        match self {
            MapOutput::Full(target) => to_values(record, &target),
            MapOutput::Partial(values) => Ok(values),
        }
    }
}

/// Turns a `Source` record into `Target` values. `#[derive(Mapper)]` writes these.
#[async_trait]
pub trait Mapper: Send + Sync {
    /// The record read (a remote record on import, a local one on export).
    type Source: Send + Sync;
    /// The record produced.
    type Target: Send;

    /// Maps one record.
    async fn map(
        &self,
        source: &Self::Source,
        options: &MapOptions,
        ctx: &WorkContext,
    ) -> SyncResult<MapOutput<Self::Target>>;

    /// Every source field some mapping reads or is `changed_by`: a listener uses it to tell
    /// whether a local write needs an export at all.
    fn changed_by_fields(&self) -> &'static [&'static str];
}

/// One record being mapped: the source, its parent (the record that owns the items of a
/// sub-mapping; `()` at the top level) and the options of the run.
///
/// Method mappings, skip hooks and finalize hooks receive it. It dereferences to the source,
/// so `record.email` reads the source's `email`.
pub struct MapRecord<'a, S: ?Sized, P: ?Sized = ()> {
    /// The record read.
    pub source: &'a S,
    /// The record owning `source` when it is an item of a sub-mapping.
    pub parent: &'a P,
    /// The options of the run, the same for a record and its items.
    pub options: &'a MapOptions,
    /// Forced values: `Some` only for the top-level record of a run.
    forced: Option<&'a Values>,
}

// Manual impls: a derive would require `S: Clone` and `P: Clone` for a struct of references.
impl<S: ?Sized, P: ?Sized> Clone for MapRecord<'_, S, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S: ?Sized, P: ?Sized> Copy for MapRecord<'_, S, P> {}

impl<S: ?Sized + fmt::Debug, P: ?Sized> fmt::Debug for MapRecord<'_, S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapRecord")
            .field("source", &self.source)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<S: ?Sized, P: ?Sized> Deref for MapRecord<'_, S, P> {
    type Target = S;

    fn deref(&self) -> &S {
        self.source
    }
}

impl<'a, S: ?Sized> MapRecord<'a, S, ()> {
    /// The top-level record of a run; it receives the options' forced values.
    pub fn new(source: &'a S, options: &'a MapOptions) -> Self {
        MapRecord {
            source,
            parent: &(),
            options,
            forced: Some(&options.forced),
        }
    }
}

impl<'a, S: ?Sized, P: ?Sized> MapRecord<'a, S, P> {
    /// The record of one item of this record's sub-mapping: same options, this record's
    /// source as parent, no forced values.
    pub fn child<C: ?Sized>(&self, item: &'a C) -> MapRecord<'a, C, S> {
        MapRecord {
            source: item,
            parent: self.source,
            options: self.options,
            forced: None,
        }
    }

    /// The same record seen without its parent (for mappers that do not declare one).
    pub fn without_parent(&self) -> MapRecord<'a, S, ()> {
        MapRecord {
            source: self.source,
            parent: &(),
            options: self.options,
            forced: self.forced,
        }
    }

    /// The forced values to apply to this record's output (empty for sub-mapping items).
    pub fn forced(&self) -> Option<&'a Values> {
        self.forced.filter(|forced| !forced.is_empty())
    }
}

/// A type a mapper produces from a `Source` record whose parent record is a `P`.
///
/// `#[derive(Mapper)]` implements it; see the `sync-derive` crate for the attributes. A
/// target that declares no parent implements it for every `P`, so that it can be the item
/// mapper of any sub-mapping; one that declares `parent = Order` only for `P = Order`.
pub trait MapTarget<P: ?Sized + Sync = ()>: Sized + Send {
    /// The record read.
    type Source: Sync;

    /// Every source field some mapping reads or is `changed_by` (see
    /// [`Mapper::changed_by_fields`]), in declaration order.
    const SOURCE_FIELDS: &'static [&'static str];

    /// Maps one record.
    fn map_record(
        record: MapRecord<'_, Self::Source, P>,
        ctx: &WorkContext,
    ) -> impl Future<Output = SyncResult<MapOutput<Self>>> + Send;
}

/// The [`Mapper`] of a [`MapTarget`]: what an import or export spec returns from its
/// `mapper()`.
///
/// ```
/// # use sync_core::prelude::*;
/// # use sync_core::mapper::MapTarget;
/// fn mapper_of<T>() -> impl Mapper<Source = T::Source, Target = T>
/// where
///     T: MapTarget<Source: Send + Sync>,
/// {
///     DerivedMapper::<T>::new()
/// }
/// ```
pub struct DerivedMapper<T>(PhantomData<fn() -> T>);

impl<T> DerivedMapper<T> {
    /// The mapper of `T`.
    pub const fn new() -> Self {
        DerivedMapper(PhantomData)
    }
}

impl<T> Default for DerivedMapper<T> {
    fn default() -> Self {
        DerivedMapper::new()
    }
}

impl<T> Clone for DerivedMapper<T> {
    fn clone(&self) -> Self {
        DerivedMapper::new()
    }
}

impl<T> fmt::Debug for DerivedMapper<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DerivedMapper<{}>", std::any::type_name::<T>())
    }
}

#[async_trait]
impl<T> Mapper for DerivedMapper<T>
where
    T: MapTarget<Source: Send + Sync>,
{
    type Source = T::Source;
    type Target = T;

    async fn map(
        &self,
        source: &Self::Source,
        options: &MapOptions,
        ctx: &WorkContext,
    ) -> SyncResult<MapOutput<T>> {
        T::map_record(MapRecord::new(source, options), ctx).await
    }

    fn changed_by_fields(&self) -> &'static [&'static str] {
        T::SOURCE_FIELDS
    }
}
