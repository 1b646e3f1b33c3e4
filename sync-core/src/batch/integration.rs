//! Integrations: a backend instance with its enabled connectors and sync settings.
//!
//! An integration is Oro's "channel". Synckit already has the backend (kind, version,
//! settings, secrets, enabled flag): the integration adds what Oro keeps next to it — the
//! connectors enabled on it, in order, its own enabled flag, the sync settings (two-way, its
//! conflict policy — Oro's sync priority — and log warnings) and the default owner — in
//! `sync_integrations`, one row per backend; its periodic forward sync is a schedule of the
//! one scheduler ([`crate::scheduler`]). One per backend because a sync stamps its local
//! writes with its backend as origin: that is what keeps them from triggering a reverse sync,
//! and it could not tell two integrations of one backend apart.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::error::{SyncError, SyncResult};
use crate::ids::BackendId;
use crate::storage::{ScheduledWork, Storage, from_micros, set_schedule_on, to_micros};
use crate::sync::ConflictPolicy;

/// The default overlap subtracted from an incremental cursor, for clock skew between the
/// remote side's servers (Oro's `mistiming_assumption_interval`).
pub const DEFAULT_OVERLAP: Duration = Duration::from_secs(300);

/// How an integration synchronizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncSettings {
    /// Whether local changes are sent back (reverse sync).
    pub two_way: bool,
    /// How a field changed on both sides since the last sync is settled: Oro's sync
    /// priority, `remote` ([`ConflictPolicy::RemoteWins`], the default) or `local`
    /// ([`ConflictPolicy::LocalWins`]), or any other policy of the record jobs (a
    /// [`ConflictPolicy::FieldMerge`] leaves a checkpoint). It replaces the backend's own
    /// `conflict_policy` in the integration's jobs.
    pub conflict_policy: ConflictPolicy,
    /// Whether skipped items are also logged as errors ("log warnings as errors").
    pub log_warnings: bool,
}

impl Default for SyncSettings {
    /// One-way, remote wins (Oro's default priority), warnings not logged as errors.
    fn default() -> Self {
        SyncSettings {
            two_way: false,
            conflict_policy: ConflictPolicy::RemoteWins,
            log_warnings: false,
        }
    }
}

/// One stored integration.
#[derive(Debug, Clone, PartialEq)]
pub struct Integration {
    /// The row id.
    pub id: i64,
    /// Its backend.
    pub backend_id: BackendId,
    /// A unique, human name.
    pub name: String,
    /// The names of the connectors enabled on it, in the configured order.
    pub connectors: Vec<String>,
    /// Disabled integrations are not synchronized (checked at every entry point).
    pub enabled: bool,
    /// How it synchronizes.
    pub settings: SyncSettings,
    /// The local owner stamped on records it creates, if any (Oro's default owner).
    pub default_owner_id: Option<i64>,
    /// Extra settings (JSON object), e.g. `overlap_secs`.
    pub extra: Value,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl Integration {
    /// The overlap subtracted from incremental cursors (`overlap_secs`, default 5 minutes).
    pub fn overlap(&self) -> Duration {
        self.extra
            .get("overlap_secs")
            .and_then(Value::as_u64)
            .map_or(DEFAULT_OVERLAP, Duration::from_secs)
    }
}

/// What is needed to create an integration.
#[derive(Debug, Clone)]
pub struct NewIntegration {
    /// Its backend.
    pub backend_id: BackendId,
    /// A unique, human name.
    pub name: String,
    /// The connectors enabled on it, in order.
    pub connectors: Vec<String>,
    /// Whether it starts enabled.
    pub enabled: bool,
    /// How it synchronizes.
    pub settings: SyncSettings,
    /// The default owner.
    pub default_owner_id: Option<i64>,
    /// Run a forward sync this often from the workers: a schedule created with the
    /// integration (see [`Storage::schedules`]).
    pub sync_interval: Option<Duration>,
    /// Extra settings (JSON object).
    pub extra: Value,
}

impl NewIntegration {
    /// An enabled, one-way integration of `backend_id` with these connectors.
    ///
    /// ```
    /// use sync_core::batch::NewIntegration;
    /// use sync_core::sync::ConflictPolicy;
    /// use sync_core::BackendId;
    /// let new = NewIntegration::new(BackendId(1), "shop", ["customer", "order"])
    ///     .two_way(ConflictPolicy::LocalWins);
    /// assert!(new.settings.two_way);
    /// ```
    pub fn new<S: Into<String>>(
        backend_id: BackendId,
        name: &str,
        connectors: impl IntoIterator<Item = S>,
    ) -> Self {
        NewIntegration {
            backend_id,
            name: name.to_owned(),
            connectors: connectors.into_iter().map(Into::into).collect(),
            enabled: true,
            settings: SyncSettings::default(),
            default_owner_id: None,
            sync_interval: None,
            extra: Value::Object(Default::default()),
        }
    }

    /// Turns two-way sync on with this conflict policy (Oro's sync priority `remote` is
    /// [`ConflictPolicy::RemoteWins`], `local` is [`ConflictPolicy::LocalWins`]).
    pub fn two_way(mut self, policy: ConflictPolicy) -> Self {
        self.settings.two_way = true;
        self.settings.conflict_policy = policy;
        self
    }

    /// Logs warnings as errors.
    pub fn log_warnings(mut self, on: bool) -> Self {
        self.settings.log_warnings = on;
        self
    }

    /// Sets the default owner.
    pub fn default_owner(mut self, owner_id: i64) -> Self {
        self.default_owner_id = Some(owner_id);
        self
    }

    /// Runs a forward sync this often from the workers: [`Integrations::create`] adds its
    /// schedule ([`ScheduledWork::ForwardSync`]) in the same transaction.
    pub fn every(mut self, interval: Duration) -> Self {
        self.sync_interval = Some(interval);
        self
    }

    /// Sets the extra settings.
    pub fn extra(mut self, extra: Value) -> Self {
        self.extra = extra;
        self
    }
}

/// The integrations stored in a [`Storage`]; get them with [`Storage::integrations`].
#[derive(Debug, Clone, Copy)]
pub struct Integrations<'s> {
    storage: &'s Storage,
}

impl Storage {
    /// The stored integrations.
    pub fn integrations(&self) -> Integrations<'_> {
        Integrations { storage: self }
    }
}

const COLUMNS: &str = "id, backend_id, name, connectors, enabled, two_way, conflict_policy, log_warnings, \
                       default_owner_id, settings, created_at, updated_at";

impl Integrations<'_> {
    /// Creates an integration.
    ///
    /// # Errors
    /// The name is taken, or the backend already has an integration.
    pub async fn create(&self, new: NewIntegration) -> SyncResult<Integration> {
        let now = to_micros(Utc::now());
        let mut tx = self.storage.begin().await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO sync_integrations (backend_id, name, connectors, enabled, two_way, conflict_policy, \
             log_warnings, default_owner_id, settings, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING {COLUMNS}"
        )))
        .bind(new.backend_id.0)
        .bind(&new.name)
        .bind(Value::from(new.connectors.clone()).to_string())
        .bind(i64::from(new.enabled))
        .bind(i64::from(new.settings.two_way))
        .bind(new.settings.conflict_policy.as_str())
        .bind(i64::from(new.settings.log_warnings))
        .bind(new.default_owner_id)
        .bind(new.extra.to_string())
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => SyncError::Failed(format!(
                "an integration named `{}` or on backend {} already exists",
                new.name, new.backend_id
            )),
            _ => SyncError::from(e),
        })?;
        let integration = integration_from_row(&row)?;
        if let Some(every) = new.sync_interval {
            let work = ScheduledWork::ForwardSync {
                integration_id: integration.id,
            };
            set_schedule_on(&mut tx, &work, every).await?;
        }
        tx.commit().await?;
        Ok(integration)
    }

    /// An integration by id.
    pub async fn get(&self, id: i64) -> SyncResult<Integration> {
        self.find("id = $1", Value::from(id))
            .await?
            .ok_or_else(|| SyncError::Failed(format!("no integration with id {id}")))
    }

    /// An integration by name.
    pub async fn by_name(&self, name: &str) -> SyncResult<Option<Integration>> {
        self.find("name = $1", Value::from(name)).await
    }

    /// The integration of a backend.
    pub async fn by_backend(&self, backend_id: BackendId) -> SyncResult<Option<Integration>> {
        self.find("backend_id = $1", Value::from(backend_id.0))
            .await
    }

    async fn find(&self, condition: &str, value: Value) -> SyncResult<Option<Integration>> {
        let query = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sync_integrations WHERE {condition}"
        )));
        let query = match value {
            Value::String(s) => query.bind(s),
            other => query.bind(other.as_i64().unwrap_or_default()),
        };
        let row = query.fetch_optional(self.storage.pool()).await?;
        row.as_ref().map(integration_from_row).transpose()
    }

    /// Every integration, by id.
    pub async fn list(&self) -> SyncResult<Vec<Integration>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sync_integrations ORDER BY id"
        )))
        .fetch_all(self.storage.pool())
        .await?;
        rows.iter().map(integration_from_row).collect()
    }

    /// Enables or disables an integration (a running sync is not interrupted).
    pub async fn set_enabled(&self, id: i64, enabled: bool) -> SyncResult<()> {
        self.update(id, "enabled = $1", Value::from(i64::from(enabled)))
            .await
    }

    /// Replaces the enabled connectors.
    pub async fn set_connectors(&self, id: i64, connectors: &[String]) -> SyncResult<()> {
        let list = Value::from(connectors.to_vec()).to_string();
        self.update(id, "connectors = $1", Value::from(list)).await
    }

    /// Replaces the sync settings.
    pub async fn set_settings(&self, id: i64, settings: SyncSettings) -> SyncResult<()> {
        let done = sqlx::query(
            "UPDATE sync_integrations SET two_way = $1, conflict_policy = $2, log_warnings = $3, updated_at = $4 \
             WHERE id = $5",
        )
        .bind(i64::from(settings.two_way))
        .bind(settings.conflict_policy.as_str())
        .bind(i64::from(settings.log_warnings))
        .bind(to_micros(Utc::now()))
        .bind(id)
        .execute(self.storage.pool())
        .await?;
        found(done.rows_affected(), id)
    }

    async fn update(&self, id: i64, assignment: &str, value: Value) -> SyncResult<()> {
        let query = sqlx::query(AssertSqlSafe(format!(
            "UPDATE sync_integrations SET {assignment}, updated_at = $2 WHERE id = $3"
        )));
        let query = match value {
            Value::String(s) => query.bind(s),
            other => query.bind(other.as_i64().unwrap_or_default()),
        };
        let done = query
            .bind(to_micros(Utc::now()))
            .bind(id)
            .execute(self.storage.pool())
            .await?;
        found(done.rows_affected(), id)
    }
}

fn found(rows: u64, id: i64) -> SyncResult<()> {
    if rows == 0 {
        return Err(SyncError::Failed(format!("no integration with id {id}")));
    }
    Ok(())
}

fn integration_from_row(row: &AnyRow) -> SyncResult<Integration> {
    let id: i64 = row.try_get("id")?;
    let record = || format!("integration {id}");
    let connectors: String = row.try_get("connectors")?;
    let connectors: Vec<String> = serde_json::from_str(&connectors)
        .map_err(|e| SyncError::invalid_data(record(), "connectors", e.to_string()))?;
    let policy: String = row.try_get("conflict_policy")?;
    let conflict_policy = policy
        .parse()
        .map_err(|e: crate::sync::UnknownConflictPolicy| {
            SyncError::invalid_data(record(), "conflict_policy", e.to_string())
        })?;
    let extra: String = row.try_get("settings")?;
    let extra: Value = serde_json::from_str(&extra)
        .map_err(|e| SyncError::invalid_data(record(), "settings", e.to_string()))?;
    Ok(Integration {
        id,
        backend_id: BackendId(row.try_get("backend_id")?),
        name: row.try_get("name")?,
        connectors,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        settings: SyncSettings {
            two_way: row.try_get::<i64, _>("two_way")? != 0,
            conflict_policy,
            log_warnings: row.try_get::<i64, _>("log_warnings")? != 0,
        },
        default_owner_id: row.try_get("default_owner_id")?,
        extra,
        created_at: from_micros(row.try_get("created_at")?),
        updated_at: from_micros(row.try_get("updated_at")?),
    })
}
