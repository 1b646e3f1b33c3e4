//! The one table of periodic work: what runs (a batch import of a (backend, model), or an
//! integration's forward sync), how often, and when next.
//!
//! ```no_run
//! # use std::time::Duration;
//! # use sync_core::prelude::*;
//! use sync_core::storage::ScheduledWork;
//! # async fn demo(storage: Storage, backend: BackendId) -> SyncResult<()> {
//! let work = ScheduledWork::Import { backend_id: backend, model: "magento.customer".into() };
//! let schedule = storage.schedules().set(&work, Duration::from_secs(600)).await?;
//! println!("#{} {} every {} s", schedule.id, schedule.work, schedule.every.as_secs());
//! storage.schedules().remove(schedule.id).await?;
//! # Ok(()) }
//! ```
//!
//! A schedule only says when its work is due; the claiming loop of the workers
//! ([`crate::scheduler`]) enqueues the due ones, claiming each with a conditional update in
//! the transaction that enqueues its job ([`Schedules::claim`]), so that of many workers
//! ticking at once exactly one enqueues it.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::connect::Storage;
use super::time::{from_micros, to_micros};
use crate::error::{SyncError, SyncResult};
use crate::ids::BackendId;

/// What a schedule runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ScheduledWork {
    /// A batch import of a model from a backend (`synckit.import_batch`, resuming from the
    /// (backend, model) import cursor).
    Import {
        /// The backend imported from.
        backend_id: BackendId,
        /// The model, e.g. `magento.customer`.
        model: String,
    },
    /// A forward sync of an integration (`batch.forward_sync`).
    ForwardSync {
        /// The integration.
        integration_id: i64,
    },
}

impl ScheduledWork {
    /// The stored kind: `import` or `forward_sync`.
    pub fn kind(&self) -> &'static str {
        match self {
            ScheduledWork::Import { .. } => "import",
            ScheduledWork::ForwardSync { .. } => "forward_sync",
        }
    }

    /// The schedule's identity: one schedule per work.
    pub fn target(&self) -> String {
        match self {
            ScheduledWork::Import { backend_id, model } => format!("import:{backend_id}:{model}"),
            ScheduledWork::ForwardSync { integration_id } => {
                format!("forward_sync:{integration_id}")
            }
        }
    }
}

impl fmt::Display for ScheduledWork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScheduledWork::Import { backend_id, model } => {
                write!(f, "import of {model} from backend {backend_id}")
            }
            ScheduledWork::ForwardSync { integration_id } => {
                write!(f, "forward sync of integration {integration_id}")
            }
        }
    }
}

/// One stored schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// The row id.
    pub id: i64,
    /// What runs.
    pub work: ScheduledWork,
    /// How often.
    pub every: Duration,
    /// When it is due next.
    pub next_run_at: DateTime<Utc>,
    /// When a worker last enqueued its job, if one did.
    pub last_enqueued_at: Option<DateTime<Utc>>,
}

/// The schedules of a [`Storage`]; get them with [`Storage::schedules`].
#[derive(Debug, Clone, Copy)]
pub struct Schedules<'s> {
    storage: &'s Storage,
}

impl Storage {
    /// The table of periodic work.
    pub fn schedules(&self) -> Schedules<'_> {
        Schedules { storage: self }
    }
}

const COLUMNS: &str =
    "id, kind, backend_id, model, integration_id, every_secs, next_run_at, last_enqueued_at";

impl Schedules<'_> {
    /// Runs `work` every `every` (at least a second), the first time at the workers' next
    /// tick; a schedule of the same work gets the new interval. Returns the schedule.
    ///
    /// # Errors
    /// An unknown backend or integration, or a storage error.
    pub async fn set(&self, work: &ScheduledWork, every: Duration) -> SyncResult<Schedule> {
        let mut conn = self.storage.pool().acquire().await?;
        set_on(&mut conn, work, every).await
    }

    /// Removes a schedule by id; `false` when there was none. A job it already enqueued
    /// still runs.
    pub async fn remove(&self, id: i64) -> SyncResult<bool> {
        let done = sqlx::query("DELETE FROM sync_schedules WHERE id = $1")
            .bind(id)
            .execute(self.storage.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Removes the schedule of `work`; `false` when there was none.
    pub async fn remove_work(&self, work: &ScheduledWork) -> SyncResult<bool> {
        let done = sqlx::query("DELETE FROM sync_schedules WHERE target = $1")
            .bind(work.target())
            .execute(self.storage.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The schedule of `work`, if any.
    pub async fn get(&self, work: &ScheduledWork) -> SyncResult<Option<Schedule>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sync_schedules WHERE target = $1"
        )))
        .bind(work.target())
        .fetch_optional(self.storage.pool())
        .await?;
        row.as_ref().map(schedule_from_row).transpose()
    }

    /// Every schedule, by id.
    pub async fn list(&self) -> SyncResult<Vec<Schedule>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sync_schedules ORDER BY id"
        )))
        .fetch_all(self.storage.pool())
        .await?;
        rows.iter().map(schedule_from_row).collect()
    }

    /// The schedules due at `now` whose work may run: its backend is enabled and, for a
    /// forward sync, its integration too (a disabled one stays due and runs once enabled).
    pub async fn due(&self, now: DateTime<Utc>) -> SyncResult<Vec<Schedule>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {} FROM sync_schedules s \
             LEFT JOIN sync_integrations i ON i.id = s.integration_id \
             JOIN sync_backends b ON b.id = COALESCE(s.backend_id, i.backend_id) \
             WHERE s.next_run_at <= $1 AND b.enabled = 1 AND (i.id IS NULL OR i.enabled = 1) \
             ORDER BY s.next_run_at, s.id",
            COLUMNS
                .split(", ")
                .map(|c| format!("s.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        )))
        .bind(to_micros(now))
        .fetch_all(self.storage.pool())
        .await?;
        rows.iter().map(schedule_from_row).collect()
    }

    /// Claims a due schedule on `conn` (the transaction that enqueues its job): moves it to
    /// its next run, from `now`, only if it is still at the run `due` found. Of several
    /// workers claiming the same run, one gets `true`; on PostgreSQL the others wait for its
    /// transaction and then find the row moved.
    pub async fn claim(
        conn: &mut AnyConnection,
        due: &Schedule,
        now: DateTime<Utc>,
    ) -> SyncResult<bool> {
        let now = to_micros(now);
        let done = sqlx::query(
            "UPDATE sync_schedules SET next_run_at = $1 + every_secs * 1000000, last_enqueued_at = $1, \
             updated_at = $1 WHERE id = $2 AND next_run_at = $3",
        )
        .bind(now)
        .bind(due.id)
        .bind(to_micros(due.next_run_at))
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// [`Schedules::set`] on a connection, e.g. the transaction that creates an integration.
pub(crate) async fn set_on(
    conn: &mut AnyConnection,
    work: &ScheduledWork,
    every: Duration,
) -> SyncResult<Schedule> {
    let now = to_micros(Utc::now());
    let every = i64::try_from(every.as_secs().max(1)).unwrap_or(i64::MAX / 1_000_000);
    let (backend_id, model, integration_id) = match work {
        ScheduledWork::Import { backend_id, model } => {
            (Some(backend_id.0), Some(model.as_str()), None)
        }
        ScheduledWork::ForwardSync { integration_id } => (None, None, Some(*integration_id)),
    };
    let row = sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO sync_schedules (kind, backend_id, model, integration_id, target, every_secs, next_run_at, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7) \
         ON CONFLICT (target) DO UPDATE SET every_secs = excluded.every_secs, \
         next_run_at = excluded.next_run_at, updated_at = excluded.updated_at RETURNING {COLUMNS}"
    )))
    .bind(work.kind())
    .bind(backend_id)
    .bind(model)
    .bind(integration_id)
    .bind(work.target())
    .bind(every)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            SyncError::Failed(format!("cannot schedule the {work}: it does not exist"))
        }
        _ => SyncError::from(e),
    })?;
    schedule_from_row(&row)
}

fn schedule_from_row(row: &AnyRow) -> SyncResult<Schedule> {
    let id: i64 = row.try_get("id")?;
    let kind: String = row.try_get("kind")?;
    let work = match kind.as_str() {
        "import" => {
            let backend_id: Option<i64> = row.try_get("backend_id")?;
            let model: Option<String> = row.try_get("model")?;
            match (backend_id, model) {
                (Some(backend_id), Some(model)) => ScheduledWork::Import {
                    backend_id: BackendId(backend_id),
                    model,
                },
                _ => {
                    return Err(SyncError::invalid_data(
                        format!("schedule {id}"),
                        "backend_id",
                        "an import schedule needs a backend and a model",
                    ));
                }
            }
        }
        "forward_sync" => match row.try_get::<Option<i64>, _>("integration_id")? {
            Some(integration_id) => ScheduledWork::ForwardSync { integration_id },
            None => {
                return Err(SyncError::invalid_data(
                    format!("schedule {id}"),
                    "integration_id",
                    "a forward-sync schedule needs an integration",
                ));
            }
        },
        other => {
            return Err(SyncError::invalid_data(
                format!("schedule {id}"),
                "kind",
                format!("`{other}` is neither `import` nor `forward_sync`"),
            ));
        }
    };
    let every: i64 = row.try_get("every_secs")?;
    Ok(Schedule {
        id,
        work,
        every: Duration::from_secs(u64::try_from(every).unwrap_or(1)),
        next_run_at: from_micros(row.try_get("next_run_at")?),
        last_enqueued_at: row
            .try_get::<Option<i64>, _>("last_enqueued_at")?
            .map(from_micros),
    })
}
