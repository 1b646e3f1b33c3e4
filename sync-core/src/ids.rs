//! Identifiers of records on both sides of a synchronization.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The id of a record in the local application.
///
/// Local applications key their records by integer primary keys; the binding table stores
/// them as `BIGINT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LocalId(pub i64);

impl fmt::Display for LocalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<i64> for LocalId {
    fn from(id: i64) -> Self {
        LocalId(id)
    }
}

/// The id of a record in a backend, always kept as text.
///
/// Text because backends use integers, SKUs and UUIDs alike, and because `0` is a valid id in
/// some of them (the connector framework stores `external_id` as a `Char` for that reason).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExternalId(pub String);

impl ExternalId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ExternalId {
    fn from(id: &str) -> Self {
        ExternalId(id.to_owned())
    }
}

impl From<String> for ExternalId {
    fn from(id: String) -> Self {
        ExternalId(id)
    }
}

impl From<i64> for ExternalId {
    fn from(id: i64) -> Self {
        ExternalId(id.to_string())
    }
}

/// The id of a configured backend instance (a row of `sync_backends`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BackendId(pub i64);

impl fmt::Display for BackendId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
