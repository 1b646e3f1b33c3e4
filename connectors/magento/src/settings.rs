//! A Magento backend's settings and credentials.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sync_core::backend::{Backend, Secret};
use sync_core::sync::ConflictPolicy;
use sync_core::{SyncError, SyncResult};

/// How the connector authenticates.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// An integration access token sent as a Bearer token (never expires until revoked).
    Token(Secret),
    /// An admin user: a token is requested from `/V1/integration/admin/token` and renewed
    /// when Magento answers 401 (admin tokens live 4 hours by default).
    Admin {
        /// The admin user name.
        username: String,
        /// The admin password.
        password: Secret,
    },
}

/// The settings of one Magento backend, read from the backend record's JSON settings and its
/// secrets (`token`, or `admin_password` with the `admin_user` setting).
#[derive(Debug, Clone)]
pub struct MagentoSettings {
    /// The shop's base URL, e.g. `https://shop.example.com` (without `/rest`).
    pub base_url: String,
    /// The store view code of reads and writes (`default`).
    pub store_code: String,
    /// Every store view code synchronized, for store-scoped values.
    pub store_codes: Vec<String>,
    /// How to authenticate.
    pub credentials: Credentials,
    /// Verify TLS certificates (on unless explicitly turned off for a test shop).
    pub verify_tls: bool,
    /// Timeout of one HTTP request.
    pub timeout: Duration,
    /// At most this many requests per second to this shop (0: unlimited).
    pub requests_per_second: u32,
    /// Records per search page (Magento caps it at 300 when input limits are on).
    pub page_size: u32,
    /// How many times an idempotent read is retried in place on 429, 5xx or a network error
    /// before the error goes to the job queue.
    pub read_retries: u32,
    /// How two-way customers settle a field changed on both sides.
    pub conflict_policy: ConflictPolicy,
    /// When orders are imported, by payment method (methods not listed: always).
    pub order_import_rules: BTreeMap<String, ImportRule>,
}

/// When an order of a payment method is imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportRule {
    /// Always.
    #[default]
    Always,
    /// Never.
    Never,
    /// Once it is paid.
    Paid,
    /// Once its payment is authorized.
    Authorized,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    base_url: String,
    #[serde(default = "default_store")]
    store_code: String,
    #[serde(default)]
    store_codes: Vec<String>,
    #[serde(default)]
    admin_user: Option<String>,
    #[serde(default = "yes")]
    verify_tls: bool,
    #[serde(default = "default_timeout")]
    timeout_secs: u64,
    #[serde(default)]
    requests_per_second: u32,
    #[serde(default = "default_page_size")]
    page_size: u32,
    #[serde(default = "default_retries")]
    read_retries: u32,
    #[serde(default)]
    conflict_policy: ConflictPolicy,
    #[serde(default)]
    order_import_rules: BTreeMap<String, ImportRule>,
}

fn default_store() -> String {
    "default".into()
}
fn yes() -> bool {
    true
}
fn default_timeout() -> u64 {
    30
}
fn default_page_size() -> u32 {
    100
}
fn default_retries() -> u32 {
    3
}

impl MagentoSettings {
    /// Reads the settings of a backend record.
    ///
    /// # Errors
    /// Invalid data naming the backend and the setting, when a setting is missing or of the
    /// wrong type, or when neither a `token` nor an `admin_user` with `admin_password` is
    /// given.
    pub fn from_backend(backend: &Backend) -> SyncResult<Self> {
        let record = format!("backend {}", backend.name);
        let raw: RawSettings = serde_json::from_value(backend.settings.clone()).map_err(|e| {
            let message = e.to_string();
            let field = message.split('`').nth(1).unwrap_or("settings").to_owned();
            SyncError::invalid_data(&record, field, message)
        })?;
        let credentials = match (backend.secrets.get("token"), &raw.admin_user) {
            (Some(token), _) => Credentials::Token(token.clone()),
            (None, Some(user)) => Credentials::Admin {
                username: user.clone(),
                password: backend
                    .secrets
                    .get("admin_password")
                    .cloned()
                    .ok_or_else(|| {
                        SyncError::invalid_data(
                            &record,
                            "admin_password",
                            "missing secret for admin_user",
                        )
                    })?,
            },
            (None, None) => {
                return Err(SyncError::invalid_data(
                    &record,
                    "token",
                    "set the `token` secret, or the `admin_user` setting and `admin_password` secret",
                ));
            }
        };
        if !(raw.base_url.starts_with("http://") || raw.base_url.starts_with("https://")) {
            return Err(SyncError::invalid_data(
                &record,
                "base_url",
                "must start with http:// or https://",
            ));
        }
        let mut store_codes = raw.store_codes;
        if store_codes.is_empty() {
            store_codes.push(raw.store_code.clone());
        }
        Ok(MagentoSettings {
            base_url: raw.base_url.trim_end_matches('/').to_owned(),
            store_code: raw.store_code,
            store_codes,
            credentials,
            verify_tls: raw.verify_tls,
            timeout: Duration::from_secs(raw.timeout_secs.max(1)),
            requests_per_second: raw.requests_per_second,
            page_size: raw.page_size.clamp(1, 300),
            read_retries: raw.read_retries,
            conflict_policy: raw.conflict_policy,
            order_import_rules: raw.order_import_rules,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sync_core::BackendId;
    use sync_core::backend::Secrets;

    fn backend(settings: serde_json::Value, secrets: Secrets) -> Backend {
        Backend {
            id: BackendId(1),
            kind: "magento".into(),
            version: Some("2.4".into()),
            name: "shop".into(),
            settings,
            secrets,
            enabled: true,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn defaults_and_token() {
        let s = MagentoSettings::from_backend(&backend(
            json!({"base_url": "https://shop.example.com/"}),
            Secrets::new().with("token", "t"),
        ))
        .unwrap();
        assert_eq!(s.base_url, "https://shop.example.com");
        assert_eq!(s.store_code, "default");
        assert!(s.verify_tls);
        assert_eq!(s.page_size, 100);
        assert!(matches!(s.credentials, Credentials::Token(_)));
    }

    #[test]
    fn errors_name_the_setting_and_never_the_secret() {
        let err = MagentoSettings::from_backend(&backend(
            json!({"base_url": "https://x", "page_sise": 10}),
            Secrets::new().with("token", "hunter2"),
        ))
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("page_sise") && !text.contains("hunter2"),
            "{text}"
        );
        let err = MagentoSettings::from_backend(&backend(
            json!({"base_url": "https://x"}),
            Secrets::new(),
        ))
        .unwrap_err();
        assert!(err.to_string().contains("token"));
    }
}
