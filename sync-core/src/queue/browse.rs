//! Browsing the jobs page by page for an operator console: filters (state, channel, job
//! function, text in the description or the error) and keyset paging.
//!
//! [`Queue::list_jobs`] pages with `OFFSET`, which reads and throws away every skipped row:
//! at a million jobs the last pages take seconds. Here a page starts below the last id of
//! the previous one (`id < before`, newest first), so every page costs the same.

use sqlx::{AssertSqlSafe, Row};

use super::handle::Queue;
use super::job::JobId;
use super::job_conditions::JobConditions;
use super::manage::{JOB_COLUMNS, JobRecord, record_from_row};
use super::states::JobState;
use crate::error::SyncResult;

/// The largest page [`Queue::browse_jobs`] returns, whatever is asked.
pub const MAX_BROWSE_PAGE: u32 = 500;

/// Which jobs to browse, and from where.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobQuery {
    /// Only these states (all when empty).
    pub states: Vec<JobState>,
    /// Only this channel and its subchannels.
    pub channel: Option<String>,
    /// Only this job function.
    pub name: Option<String>,
    /// Only jobs whose description or error message contains this text (ignoring case).
    pub text: Option<String>,
    /// Only jobs older than this one (the previous page's [`JobPage::next_before`]).
    pub before: Option<JobId>,
}

/// One page of jobs, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct JobPage {
    /// The jobs.
    pub jobs: Vec<JobRecord>,
    /// Where the next page starts, when there may be one.
    pub next_before: Option<JobId>,
}

impl JobQuery {
    /// The `WHERE` clause and its values (all text, bound in order from `$1`).
    fn conditions(&self) -> (String, Vec<String>) {
        let mut conditions = JobConditions::default();
        conditions.states(&self.states);
        conditions.channel(self.channel.as_deref());
        conditions.equals("name", self.name.as_deref());
        if let Some(text) = self.text.as_deref().filter(|t| !t.is_empty()) {
            // `\` escapes the wildcards so that `50%` or `a_b` match themselves.
            conditions.with_value(format!("%{}%", escape_like(&text.to_lowercase())), |n| {
                format!(
                    "(LOWER(COALESCE(description, '')) LIKE ${n} ESCAPE '\\' \
                     OR LOWER(COALESCE(exc_message, '')) LIKE ${n} ESCAPE '\\')"
                )
            });
        }
        if let Some(before) = self.before {
            // The id is ours (an integer), not the operator's text: it is inlined so that
            // every bound value stays text.
            conditions.inline(format!("id < {}", before.0));
        }
        conditions.into_sql()
    }
}

fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

impl Queue {
    /// One page of at most `limit` jobs matching `query` (capped at [`MAX_BROWSE_PAGE`]),
    /// newest first.
    pub async fn browse_jobs(&self, query: &JobQuery, limit: u32) -> SyncResult<JobPage> {
        let limit = limit.clamp(1, MAX_BROWSE_PAGE);
        let (filter, binds) = query.conditions();
        // One more row than asked tells whether a next page exists.
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM queue_jobs{filter} ORDER BY id DESC LIMIT {}",
            limit + 1
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for b in binds {
            q = q.bind(b);
        }
        let rows = q.fetch_all(self.storage().pool()).await?;
        let mut jobs = rows
            .iter()
            .map(record_from_row)
            .collect::<SyncResult<Vec<_>>>()?;
        let more = jobs.len() > limit as usize;
        jobs.truncate(limit as usize);
        let next_before = if more {
            jobs.last().map(|j| j.id)
        } else {
            None
        };
        Ok(JobPage { jobs, next_before })
    }

    /// The ids of at most `limit` jobs matching `query`, newest first: what a bulk action on
    /// a filter acts on, one chunk at a time.
    pub async fn matching_job_ids(&self, query: &JobQuery, limit: u32) -> SyncResult<Vec<JobId>> {
        let (filter, binds) = query.conditions();
        let sql = format!(
            "SELECT id FROM queue_jobs{filter} ORDER BY id DESC LIMIT {}",
            limit.max(1)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for b in binds {
            q = q.bind(b);
        }
        let rows = q.fetch_all(self.storage().pool()).await?;
        rows.iter()
            .map(|row| Ok(JobId(row.try_get("id")?)))
            .collect()
    }
}
