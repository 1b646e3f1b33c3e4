//! The audit log: every action taken through the console (who, what, on which target,
//! with what outcome, when), kept in `console_audit` and shown on the Audit page.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use sync_core::SyncResult;
use sync_core::storage::Storage;
use utoipa::ToSchema;

/// One recorded action.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AuditEntry {
    /// When (RFC 3339).
    pub at: String,
    /// Who: the role and the way in.
    pub actor: String,
    /// What, e.g. `jobs.requeue`.
    pub action: String,
    /// On what, e.g. `jobs 4, 7` or `jobs matching state=failed`.
    pub target: String,
    /// What it did, e.g. `2 changed`.
    pub outcome: String,
}

/// Records an action.
pub async fn record(
    storage: &Storage,
    actor: &str,
    action: &str,
    target: &str,
    outcome: &str,
) -> SyncResult<()> {
    let now = storage.now_micros().await?;
    sqlx::query(
        "INSERT INTO console_audit (at, actor, action, target, outcome) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(now)
    .bind(actor)
    .bind(action)
    .bind(target)
    .bind(outcome)
    .execute(storage.pool())
    .await?;
    Ok(())
}

/// The latest `limit` actions, newest first.
pub async fn recent(storage: &Storage, limit: u32) -> SyncResult<Vec<AuditEntry>> {
    let sql = format!(
        "SELECT at, actor, action, target, outcome FROM console_audit ORDER BY id DESC LIMIT {}",
        limit.max(1)
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(storage.pool())
        .await?;
    rows.iter()
        .map(|row| {
            let at: i64 = row.try_get("at")?;
            Ok(AuditEntry {
                at: rfc3339(sync_core::storage::from_micros(at)),
                actor: row.try_get("actor")?,
                action: row.try_get("action")?,
                target: row.try_get("target")?,
                outcome: row.try_get("outcome")?,
            })
        })
        .collect()
}

/// A time as the console shows it.
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
