//! Mappers: turning a source record into target values.

use std::collections::BTreeSet;

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
            custom: Values::new(),
        }
    }

    /// Whether a mapping reading `fields` runs under these options.
    pub fn runs_for(&self, fields: &[&str]) -> bool {
        match &self.changed_fields {
            None => true,
            Some(changed) => fields.iter().any(|f| changed.contains(*f)),
        }
    }
}

/// What a mapper produced: the full typed target on create, the values of the mappings that
/// ran on update.
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
