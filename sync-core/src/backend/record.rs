//! A configured backend instance.

use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::secret::Secrets;
use crate::ids::BackendId;

/// One configured instance of a backend kind: "the Magento shop at shop.example.com".
///
/// `Debug` and `Display` never show the secrets, only their names.
#[derive(Clone)]
pub struct Backend {
    /// The row id.
    pub id: BackendId,
    /// The kind family, e.g. `magento`.
    pub kind: String,
    /// The version, e.g. `2.4`; with the kind it selects `magento-2.4` components.
    pub version: Option<String>,
    /// A unique, human name.
    pub name: String,
    /// Non-secret settings as JSON (base URL, page size, store codes…).
    pub settings: Value,
    /// Tokens and passwords, kept apart from the settings.
    pub secrets: Secrets,
    /// Disabled backends are not synchronized.
    pub enabled: bool,
    /// When the backend was created.
    pub created_at: DateTime<Utc>,
    /// When the backend was last changed.
    pub updated_at: DateTime<Utc>,
}

impl Backend {
    /// A setting by name, if present.
    pub fn setting(&self, name: &str) -> Option<&Value> {
        self.settings.get(name)
    }

    /// A text setting by name.
    pub fn setting_str(&self, name: &str) -> Option<&str> {
        self.settings.get(name).and_then(Value::as_str)
    }
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backend")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("version", &self.version)
            .field("name", &self.name)
            .field("settings", &self.settings)
            .field("secrets", &self.secrets)
            .field("enabled", &self.enabled)
            .finish()
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Some(v) => write!(f, "{} ({} {v}, #{})", self.name, self.kind, self.id),
            None => write!(f, "{} ({}, #{})", self.name, self.kind, self.id),
        }
    }
}

/// What is needed to create a backend.
#[derive(Clone, Debug)]
pub struct NewBackend {
    /// The kind family, e.g. `magento`.
    pub kind: String,
    /// The version, e.g. `2.4`.
    pub version: Option<String>,
    /// A unique, human name.
    pub name: String,
    /// Non-secret settings.
    pub settings: Value,
    /// Tokens and passwords.
    pub secrets: Secrets,
    /// Whether it starts enabled.
    pub enabled: bool,
}

impl NewBackend {
    /// An enabled backend of `kind` named `name`, with empty settings.
    pub fn new(kind: &str, name: &str) -> Self {
        NewBackend {
            kind: kind.to_owned(),
            version: None,
            name: name.to_owned(),
            settings: Value::Object(Default::default()),
            secrets: Secrets::new(),
            enabled: true,
        }
    }

    /// Sets the version.
    pub fn version(mut self, version: &str) -> Self {
        self.version = Some(version.to_owned());
        self
    }

    /// Sets the settings.
    pub fn settings(mut self, settings: Value) -> Self {
        self.settings = settings;
        self
    }

    /// Sets the secrets.
    pub fn secrets(mut self, secrets: Secrets) -> Self {
        self.secrets = secrets;
        self
    }
}
