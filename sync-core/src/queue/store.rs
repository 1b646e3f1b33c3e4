//! The SQL of the queue: insert, claim, heartbeat, complete, rescue, release.
//!
//! Every statement is written once for SQLite and PostgreSQL (the `Any` driver, `$n`
//! placeholders); the few differences (row locks, the claim lock) ask the [`Dialect`].
//! Workers write in batches: one claim fetches many jobs, one statement completes many.

use std::collections::HashMap;
use std::fmt::Write as _;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::job::JobId;
use super::options::{Delayable, Eta};
use super::states::{JobState, KEYED_WAITING_SQL};
use crate::error::{SyncError, SyncResult};
use crate::storage::{Dialect, Storage};

/// Rows per multi-row statement. Statements with thousands of parameters cost more to
/// prepare and bind than they save in round trips (measured with queue-bench: 100 rows per
/// insert made batched enqueue 3 to 8 times faster than 500).
const CHUNK: usize = 100;
/// Jobs per multi-row insert.
const INSERT_CHUNK: usize = CHUNK;

/// The PostgreSQL advisory lock key that serializes claims when channels limit capacity.
const CLAIM_LOCK_KEY: i64 = 0x5359_4e43_4b51_5545; // "SYNCKQUE"

/// `$start, $start+1, ...` (`count` placeholders).
pub(crate) fn placeholders(start: usize, count: usize) -> String {
    let mut out = String::new();
    for i in 0..count {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "${}", start + i);
    }
    out
}

fn micros(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX / 4)
}

/// One job as a claim returns it.
#[derive(Debug, Clone)]
pub(crate) struct ClaimedJob {
    pub id: JobId,
    pub name: String,
    pub args: String,
    pub attempt: i64,
    pub retry: u32,
    pub max_retries: u32,
    pub retry_pattern: Option<String>,
    pub timeout_ms: Option<i64>,
    pub channel: String,
    pub has_dependents: bool,
    pub priority: i64,
    pub date_created: i64,
    /// How long the job waited from when it was due (its creation, or its eta) to its
    /// claim, by the database's clock.
    pub waited_us: i64,
    /// When this process read the claim, to add the wait for a free slot to `waited_us`.
    pub claimed_at: std::time::Instant,
}

const CLAIM_COLUMNS: &str = "id, name, args, attempt, retry, max_retries, retry_pattern, \
                             timeout_ms, channel, has_dependents, priority, date_created, \
                             eta, date_enqueued";

fn claimed_from_row(row: &AnyRow) -> SyncResult<ClaimedJob> {
    let date_created: i64 = row.try_get("date_created")?;
    let due = row
        .try_get::<Option<i64>, _>("eta")?
        .map_or(date_created, |eta| eta.max(date_created));
    let enqueued = row
        .try_get::<Option<i64>, _>("date_enqueued")?
        .unwrap_or(due);
    Ok(ClaimedJob {
        id: JobId(row.try_get("id")?),
        name: row.try_get("name")?,
        args: row.try_get("args")?,
        attempt: row.try_get("attempt")?,
        retry: u32::try_from(row.try_get::<i64, _>("retry")?).unwrap_or(0),
        max_retries: u32::try_from(row.try_get::<i64, _>("max_retries")?).unwrap_or(0),
        retry_pattern: row.try_get("retry_pattern")?,
        timeout_ms: row.try_get("timeout_ms")?,
        channel: row.try_get("channel")?,
        has_dependents: row.try_get::<i64, _>("has_dependents")? != 0,
        priority: row.try_get("priority")?,
        date_created,
        waited_us: (enqueued - due).max(0),
        claimed_at: std::time::Instant::now(),
    })
}

// ---------------------------------------------------------------------------------------
// Insert
// ---------------------------------------------------------------------------------------

const INSERT_COLUMNS: &str = "name, description, args, state, priority, eta, max_retries, \
                              retry_pattern, channel, identity_key, timeout_ms, graph_id, date_created";
/// Parameters bound per inserted row.
const INSERT_PARAMS: usize = 13;

fn insert_values(dialect: Dialect, start: usize) -> String {
    format!("({})", insert_exprs(dialect, start))
}

/// The expressions of one inserted row, its parameters numbered from `start`.
fn insert_exprs(dialect: Dialect, start: usize) -> String {
    let now = dialect.now_micros_sql();
    let p = |i: usize| format!("${}", start + i);
    format!(
        "{}, {}, {}, {}, {}, COALESCE({}, {now} + {}), {}, {}, {}, {}, {}, {}, {now}",
        p(0),
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
        p(6),
        p(7),
        p(8),
        p(9),
        p(10),
        p(11),
        p(12),
    )
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

fn bind_job<'q>(
    query: AnyQuery<'q>,
    job: &Delayable,
    state: JobState,
    identity_key: Option<String>,
    graph_id: Option<&str>,
) -> AnyQuery<'q> {
    let (eta_at, eta_in) = match job.options.eta {
        None => (None, None),
        Some(Eta::At(at)) => (Some(at.timestamp_micros()), None),
        Some(Eta::In(delay)) => (None, Some(micros(delay))),
    };
    let pattern = if job.options.retry_pattern.is_empty() {
        None
    } else {
        serde_json::to_string(&job.options.retry_pattern).ok()
    };
    query
        .bind(job.name.clone())
        .bind(job.options.description.clone())
        .bind(job.args.clone())
        .bind(state.as_str())
        .bind(i64::from(job.options.priority))
        .bind(eta_at)
        .bind(eta_in)
        .bind(i64::from(job.options.max_retries))
        .bind(pattern)
        .bind(job.options.channel.clone())
        .bind(identity_key)
        .bind(
            job.options
                .timeout
                .map(|t| i64::try_from(t.as_millis()).unwrap_or(i64::MAX)),
        )
        .bind(graph_id.map(str::to_owned))
}

/// Inserts one job; with an identity key, returns the waiting job of that key instead when
/// there is one. Returns the id and whether a new row was inserted.
///
/// A key merges into a waiting job only (pending or wait_dependencies): a claimed or running
/// job may already have read what it works on, so a duplicate delayed meanwhile becomes one
/// follow-up job, which later duplicates merge into.
pub(crate) async fn insert_one(
    conn: &mut AnyConnection,
    dialect: Dialect,
    job: &Delayable,
    state: JobState,
    graph_id: Option<&str>,
) -> SyncResult<(JobId, bool)> {
    let key = job.identity_key_value();
    let Some(key) = key else {
        let sql = format!(
            "INSERT INTO queue_jobs ({INSERT_COLUMNS}) VALUES {} RETURNING id",
            insert_values(dialect, 1)
        );
        let id: i64 = bind_job(sqlx::query(AssertSqlSafe(sql)), job, state, None, graph_id)
            .fetch_one(&mut *conn)
            .await?
            .try_get("id")?;
        return Ok((JobId(id), true));
    };
    // One statement in the common case: insert unless a job of the key waits (fresh or
    // retrying). The unique index over fresh waiting jobs makes a concurrent duplicate wait
    // for the first transaction; once it commits, DO NOTHING and the SELECT below find its
    // row. A waiting job claimed between the two statements leaves nothing to merge into:
    // insert again (as its follow-up).
    let key_param = 1 + 9; // identity_key is the tenth bound value of a row
    let insert = format!(
        "INSERT INTO queue_jobs ({INSERT_COLUMNS}) SELECT {} \
         WHERE NOT EXISTS (SELECT 1 FROM queue_jobs WHERE identity_key = ${key_param} \
             AND {KEYED_WAITING_SQL}) \
         ON CONFLICT (identity_key) WHERE {KEYED_WAITING_SQL} AND attempt = 0 \
         DO NOTHING RETURNING id",
        insert_exprs(dialect, 1)
    );
    let existing = format!(
        "SELECT id FROM queue_jobs WHERE identity_key = $1 AND {KEYED_WAITING_SQL} \
         ORDER BY attempt, id LIMIT 1"
    );
    for _ in 0..5 {
        let inserted = bind_job(
            sqlx::query(AssertSqlSafe(insert.clone())),
            job,
            state,
            Some(key.clone()),
            graph_id,
        )
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(row) = inserted {
            return Ok((JobId(row.try_get("id")?), true));
        }
        if let Some(id) = waiting_job_of_key(conn, &existing, &key).await? {
            return Ok((id, false));
        }
    }
    Err(SyncError::retryable(
        format!("identity key `{key}` kept changing state while delaying a job"),
        None,
    ))
}

async fn waiting_job_of_key(
    conn: &mut AnyConnection,
    sql: &str,
    key: &str,
) -> SyncResult<Option<JobId>> {
    let row = sqlx::query(AssertSqlSafe(sql.to_owned()))
        .bind(key.to_owned())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|row| Ok(JobId(row.try_get("id")?))).transpose()
}

/// Inserts jobs without identity keys in multi-row statements.
pub(crate) async fn insert_many(
    conn: &mut AnyConnection,
    dialect: Dialect,
    jobs: &[Delayable],
    state: JobState,
) -> SyncResult<Vec<JobId>> {
    let mut ids = Vec::with_capacity(jobs.len());
    for chunk in jobs.chunks(INSERT_CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| insert_values(dialect, 1 + i * INSERT_PARAMS))
            .collect();
        let sql = format!(
            "INSERT INTO queue_jobs ({INSERT_COLUMNS}) VALUES {} RETURNING id",
            values.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for job in chunk {
            query = bind_job(query, job, state, None, None);
        }
        // RETURNING lists the rows in VALUES order on both databases.
        for row in query.fetch_all(&mut *conn).await? {
            ids.push(JobId(row.try_get("id")?));
        }
    }
    Ok(ids)
}

/// Records that `child` waits for `parent`, and marks the parent as having dependents.
pub(crate) async fn insert_dependency(
    conn: &mut AnyConnection,
    child: JobId,
    parent: JobId,
) -> SyncResult<()> {
    sqlx::query(
        "INSERT INTO queue_job_dependencies (job_id, depends_on) VALUES ($1, $2) \
         ON CONFLICT (job_id, depends_on) DO NOTHING",
    )
    .bind(child.0)
    .bind(parent.0)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE queue_jobs SET has_dependents = 1 WHERE id = $1 AND has_dependents = 0")
        .bind(parent.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Locks an existing job until the end of the transaction, so that it cannot change state
/// meanwhile (SQLite has one writer at a time: the write transaction is the lock).
pub(crate) async fn lock_job(
    conn: &mut AnyConnection,
    dialect: Dialect,
    id: JobId,
) -> SyncResult<()> {
    let lock = match dialect {
        Dialect::Postgres => " FOR UPDATE",
        Dialect::Sqlite => "",
    };
    sqlx::query(AssertSqlSafe(format!(
        "SELECT id FROM queue_jobs WHERE id = $1{lock}"
    )))
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(())
}

/// Moves waiting children of `parents` (or of nobody in particular when `None`) whose
/// parents are all done to `pending`.
pub(crate) async fn release_children(
    conn: &mut AnyConnection,
    parents: &[JobId],
) -> SyncResult<u64> {
    let mut released = 0;
    for chunk in parents.chunks(CHUNK) {
        let sql = format!(
            "UPDATE queue_jobs SET state = 'pending' WHERE state = 'wait_dependencies' \
             AND id IN (SELECT job_id FROM queue_job_dependencies WHERE depends_on IN ({})) \
             AND NOT EXISTS (SELECT 1 FROM queue_job_dependencies d \
                 JOIN queue_jobs p ON p.id = d.depends_on \
                 WHERE d.job_id = queue_jobs.id AND p.state <> 'done')",
            placeholders(1, chunk.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(id.0);
        }
        released += query.execute(&mut *conn).await?.rows_affected();
    }
    Ok(released)
}

// ---------------------------------------------------------------------------------------
// History
// ---------------------------------------------------------------------------------------

/// One history row to write.
#[derive(Debug, Clone)]
pub(crate) struct HistoryEntry {
    pub job_id: JobId,
    pub state: JobState,
    pub attempt: i64,
    pub worker_id: Option<String>,
    pub message: Option<String>,
}

pub(crate) async fn insert_history(
    conn: &mut AnyConnection,
    dialect: Dialect,
    entries: &[HistoryEntry],
) -> SyncResult<()> {
    let now = dialect.now_micros_sql();
    for chunk in entries.chunks(CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let s = 1 + i * 5;
                format!(
                    "(${s}, {now}, ${}, ${}, ${}, ${})",
                    s + 1,
                    s + 2,
                    s + 3,
                    s + 4
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO queue_job_history (job_id, at, state, attempt, worker_id, message) VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for e in chunk {
            query = query
                .bind(e.job_id.0)
                .bind(e.state.as_str())
                .bind(e.attempt)
                .bind(e.worker_id.clone())
                .bind(e.message.clone());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Claim
// ---------------------------------------------------------------------------------------

fn row_lock(dialect: Dialect) -> &'static str {
    match dialect {
        // Rows another worker is claiming or completing are skipped, not waited for.
        Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        // SQLite has one writer at a time: the claim's write transaction is the lock.
        Dialect::Sqlite => "",
    }
}

/// Claims up to `limit` due pending jobs in queue order, when no channel limits capacity:
/// one statement, concurrent claimers skip each other's rows.
pub(crate) async fn claim_unconstrained(
    storage: &Storage,
    worker_id: &str,
    lease: std::time::Duration,
    limit: usize,
) -> SyncResult<Vec<ClaimedJob>> {
    let dialect = storage.dialect();
    let now = dialect.now_micros_sql();
    let sql = format!(
        "UPDATE queue_jobs SET state = 'enqueued', worker_id = $1, attempt = attempt + 1, \
             date_enqueued = {now}, lease_expires_at = {now} + $2 \
         WHERE state = 'pending' AND id IN (SELECT id FROM queue_jobs \
             WHERE state = 'pending' AND (eta IS NULL OR eta <= {now}) \
             ORDER BY priority, date_created, id LIMIT $3{}) \
         RETURNING {CLAIM_COLUMNS}",
        row_lock(dialect)
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(worker_id.to_owned())
        .bind(micros(lease))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(storage.pool())
        .await?;
    let mut jobs = rows
        .iter()
        .map(claimed_from_row)
        .collect::<SyncResult<Vec<_>>>()?;
    sort_claimed(&mut jobs);
    Ok(jobs)
}

/// RETURNING has no order: start the claimed jobs in queue order.
pub(crate) fn sort_claimed(jobs: &mut [ClaimedJob]) {
    jobs.sort_by_key(|j| (j.priority, j.date_created, j.id));
}

/// The claim transaction's view of the channels: running counts, failed channels, last
/// throttled starts and the head of each sequential channel.
pub(crate) struct ChannelSnapshot {
    pub now: i64,
    pub running: HashMap<String, u32>,
    pub failed: Vec<String>,
    pub last_started: HashMap<String, i64>,
}

/// Begins the serialized claim of a constrained configuration: capacities are global, so
/// two claimers must not both count the same free slot.
pub(crate) async fn begin_constrained_claim(
    storage: &Storage,
) -> SyncResult<sqlx::Transaction<'static, sqlx::Any>> {
    let mut tx = storage.begin().await?;
    if storage.dialect() == Dialect::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(CLAIM_LOCK_KEY)
            .execute(&mut *tx)
            .await?;
    }
    Ok(tx)
}

pub(crate) async fn channel_snapshot(
    conn: &mut AnyConnection,
    dialect: Dialect,
    want_failed: bool,
    want_throttle: bool,
) -> SyncResult<ChannelSnapshot> {
    let now: i64 = sqlx::query(AssertSqlSafe(format!(
        "SELECT {} AS now",
        dialect.now_micros_sql()
    )))
    .fetch_one(&mut *conn)
    .await?
    .try_get("now")?;
    let mut running = HashMap::new();
    for row in sqlx::query(
        "SELECT channel, COUNT(*) AS n FROM queue_jobs \
         WHERE state IN ('enqueued', 'started') GROUP BY channel",
    )
    .fetch_all(&mut *conn)
    .await?
    {
        let n: i64 = row.try_get("n")?;
        running.insert(
            row.try_get("channel")?,
            u32::try_from(n).unwrap_or(u32::MAX),
        );
    }
    let mut failed = Vec::new();
    if want_failed {
        for row in sqlx::query("SELECT DISTINCT channel FROM queue_jobs WHERE state = 'failed'")
            .fetch_all(&mut *conn)
            .await?
        {
            failed.push(row.try_get("channel")?);
        }
    }
    let mut last_started = HashMap::new();
    if want_throttle {
        for row in sqlx::query("SELECT channel, last_started_at FROM queue_channel_state")
            .fetch_all(&mut *conn)
            .await?
        {
            last_started.insert(row.try_get("channel")?, row.try_get("last_started_at")?);
        }
    }
    Ok(ChannelSnapshot {
        now,
        running,
        failed,
        last_started,
    })
}

/// The eta of the first pending job (in queue order, due or not) of a channel's subtree.
pub(crate) async fn sequential_head_eta(
    conn: &mut AnyConnection,
    channel: &str,
) -> SyncResult<Option<Option<i64>>> {
    let prefix = format!("{channel}.");
    let row = sqlx::query(
        "SELECT eta FROM queue_jobs WHERE state = 'pending' \
         AND (channel = $1 OR substr(channel, 1, CAST($2 AS INTEGER)) = $3) \
         ORDER BY priority, date_created, id LIMIT 1",
    )
    .bind(channel.to_owned())
    .bind(i64::try_from(prefix.len()).unwrap_or(i64::MAX))
    .bind(prefix)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Some(row.try_get("eta")?)),
        None => Ok(None),
    }
}

/// Due pending candidates in queue order, skipping channels known to be full.
pub(crate) async fn candidates(
    conn: &mut AnyConnection,
    dialect: Dialect,
    excluded: &[String],
    limit: usize,
) -> SyncResult<Vec<(JobId, String)>> {
    let now = dialect.now_micros_sql();
    let exclusion = if excluded.is_empty() {
        String::new()
    } else {
        format!(" AND channel NOT IN ({})", placeholders(2, excluded.len()))
    };
    let sql = format!(
        "SELECT id, channel FROM queue_jobs WHERE state = 'pending' \
         AND (eta IS NULL OR eta <= {now}){exclusion} \
         ORDER BY priority, date_created, id LIMIT $1{}",
        row_lock(dialect)
    );
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(i64::try_from(limit).unwrap_or(i64::MAX));
    for channel in excluded {
        query = query.bind(channel.clone());
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|row| Ok((JobId(row.try_get("id")?), row.try_get("channel")?)))
        .collect()
}

/// Marks the chosen jobs enqueued for this worker.
pub(crate) async fn take(
    conn: &mut AnyConnection,
    dialect: Dialect,
    ids: &[JobId],
    worker_id: &str,
    lease: std::time::Duration,
) -> SyncResult<Vec<ClaimedJob>> {
    let now = dialect.now_micros_sql();
    let mut jobs = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "UPDATE queue_jobs SET state = 'enqueued', worker_id = $1, attempt = attempt + 1, \
                 date_enqueued = {now}, lease_expires_at = {now} + $2 \
             WHERE state = 'pending' AND id IN ({}) RETURNING {CLAIM_COLUMNS}",
            placeholders(3, chunk.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(worker_id.to_owned())
            .bind(micros(lease));
        for id in chunk {
            query = query.bind(id.0);
        }
        for row in query.fetch_all(&mut *conn).await? {
            jobs.push(claimed_from_row(&row)?);
        }
    }
    Ok(jobs)
}

/// Records the start of a throttled channel.
pub(crate) async fn record_throttled_start(
    conn: &mut AnyConnection,
    channel: &str,
    at: i64,
) -> SyncResult<()> {
    sqlx::query(
        "INSERT INTO queue_channel_state (channel, last_started_at) VALUES ($1, $2) \
         ON CONFLICT (channel) DO UPDATE SET last_started_at = excluded.last_started_at",
    )
    .bind(channel.to_owned())
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Leases
// ---------------------------------------------------------------------------------------

/// Extends the lease of every job this worker holds.
pub(crate) async fn heartbeat(
    storage: &Storage,
    worker_id: &str,
    lease: std::time::Duration,
) -> SyncResult<u64> {
    let now = storage.dialect().now_micros_sql();
    let sql = format!(
        "UPDATE queue_jobs SET lease_expires_at = {now} + $2 \
         WHERE worker_id = $1 AND state IN ('enqueued', 'started')"
    );
    Ok(sqlx::query(AssertSqlSafe(sql))
        .bind(worker_id.to_owned())
        .bind(micros(lease))
        .execute(storage.pool())
        .await?
        .rows_affected())
}

/// Requeues the jobs whose lease expired (their worker died), counting the retry; a job
/// that used its last try fails, so a job that kills its worker cannot loop forever.
///
/// The jobs of `rescuer` itself are never taken: a worker that is alive to rescue is alive
/// to run them, and an expired lease of its own only means its heartbeat was held up.
pub(crate) async fn rescue_expired(
    storage: &Storage,
    rescuer: &str,
) -> SyncResult<Vec<(JobId, JobState)>> {
    let dialect = storage.dialect();
    let now = dialect.now_micros_sql();
    let mut tx = storage.begin().await?;
    let sql = format!(
        "UPDATE queue_jobs SET \
             retry = retry + 1, \
             state = CASE WHEN max_retries > 0 AND retry + 1 >= max_retries THEN 'failed' ELSE 'pending' END, \
             date_failed = CASE WHEN max_retries > 0 AND retry + 1 >= max_retries THEN {now} ELSE NULL END, \
             exc_name = CASE WHEN max_retries > 0 AND retry + 1 >= max_retries THEN 'LeaseExpired' ELSE NULL END, \
             exc_message = CASE WHEN max_retries > 0 AND retry + 1 >= max_retries \
                 THEN 'Max. retries (' || max_retries || ') reached: the worker running the job stopped (lease expired)' \
                 ELSE NULL END, \
             result = 'the worker running the job stopped (lease expired); requeued', \
             worker_id = NULL, lease_expires_at = NULL, eta = NULL \
         WHERE state IN ('enqueued', 'started') AND lease_expires_at < {now} \
             AND (worker_id IS NULL OR worker_id <> $1) \
         RETURNING id, state, attempt"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(rescuer.to_owned())
        .fetch_all(&mut *tx)
        .await?;
    let mut rescued = Vec::with_capacity(rows.len());
    let mut history = Vec::with_capacity(rows.len());
    for row in &rows {
        let id = JobId(row.try_get("id")?);
        let state: JobState = row.try_get::<String, _>("state")?.parse()?;
        history.push(HistoryEntry {
            job_id: id,
            state,
            attempt: row.try_get("attempt")?,
            worker_id: None,
            message: Some("lease expired: the worker stopped heartbeating".into()),
        });
        rescued.push((id, state));
    }
    insert_history(&mut tx, dialect, &history).await?;
    tx.commit().await?;
    Ok(rescued)
}

/// Gives back every job this worker still holds (graceful stop), without counting a retry.
pub(crate) async fn release_worker(storage: &Storage, worker_id: &str) -> SyncResult<u64> {
    Ok(sqlx::query(
        "UPDATE queue_jobs SET state = 'pending', worker_id = NULL, lease_expires_at = NULL, \
             date_enqueued = NULL, date_started = NULL \
         WHERE worker_id = $1 AND state IN ('enqueued', 'started')",
    )
    .bind(worker_id.to_owned())
    .execute(storage.pool())
    .await?
    .rows_affected())
}

// ---------------------------------------------------------------------------------------
// Completion
// ---------------------------------------------------------------------------------------

/// A finished try, as the worker's writer stores it.
#[derive(Debug, Clone)]
pub(crate) struct Finished {
    pub id: JobId,
    pub attempt: i64,
    pub exec_us: i64,
    pub has_dependents: bool,
    /// Delete the job once done (its channel keeps done jobs for no time).
    pub delete_when_done: bool,
    pub outcome: Outcome,
}

/// What a try ended with, already resolved against the job's retry budget.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Done {
        result: Option<String>,
    },
    Retry {
        retry: u32,
        delay_us: i64,
        message: String,
        /// The error chain, kept in the try's history row.
        info: String,
    },
    Failed {
        retry: u32,
        name: String,
        message: String,
        info: String,
    },
}

/// Marks `started` the jobs that began running, in one statement.
pub(crate) async fn mark_started(storage: &Storage, started: &[(JobId, i64)]) -> SyncResult<()> {
    let now = storage.dialect().now_micros_sql();
    for chunk in started.chunks(CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                format!(
                    "(CAST(${} AS BIGINT), CAST(${} AS BIGINT))",
                    1 + 2 * i,
                    2 + 2 * i
                )
            })
            .collect();
        let sql = format!(
            "WITH v (vid, vattempt) AS (VALUES {}) \
             UPDATE queue_jobs SET state = 'started', date_started = {now} \
             FROM v WHERE id = v.vid AND attempt = v.vattempt AND state = 'enqueued'",
            values.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (id, attempt) in chunk {
            query = query.bind(id.0).bind(*attempt);
        }
        query.execute(storage.pool()).await?;
    }
    Ok(())
}

/// Stores finished tries in one transaction: done ones in batch statements, retries and
/// failures one by one (they are rare), then releases the children of done parents.
/// A try whose attempt no longer matches (its lease was taken away) is ignored.
pub(crate) async fn store_finished(
    storage: &Storage,
    worker_id: &str,
    finished: &[Finished],
) -> SyncResult<()> {
    if finished.is_empty() {
        return Ok(());
    }
    let dialect = storage.dialect();
    let now = dialect.now_micros_sql();
    let mut tx = storage.begin().await?;
    let mut history = Vec::with_capacity(finished.len());
    let mut parents_done = Vec::new();

    // Done jobs of a channel with a retention of zero go at once, unless a child still
    // needs to see them done.
    let (deleted, done): (Vec<&Finished>, Vec<&Finished>) = finished
        .iter()
        .filter(|f| matches!(f.outcome, Outcome::Done { .. }))
        .partition(|f| f.delete_when_done && !f.has_dependents);
    for chunk in deleted.chunks(CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                format!(
                    "(CAST(${} AS BIGINT), CAST(${} AS BIGINT))",
                    1 + 2 * i,
                    2 + 2 * i
                )
            })
            .collect();
        let sql = format!(
            "DELETE FROM queue_jobs WHERE state IN ('enqueued', 'started') \
             AND (id, attempt) IN (VALUES {})",
            values.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for f in chunk {
            query = query.bind(f.id.0).bind(f.attempt);
        }
        query.execute(&mut *tx).await?;
    }
    for chunk in done.chunks(CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let s = 1 + 4 * i;
                format!(
                    "(CAST(${s} AS BIGINT), CAST(${} AS BIGINT), CAST(${} AS BIGINT), CAST(${} AS TEXT))",
                    s + 1,
                    s + 2,
                    s + 3
                )
            })
            .collect();
        let sql = format!(
            "WITH v (vid, vattempt, vexec, vresult) AS (VALUES {}) \
             UPDATE queue_jobs SET state = 'done', date_done = {now}, exec_time_us = v.vexec, \
                 date_started = COALESCE(date_started, {now} - v.vexec), result = v.vresult, \
                 lease_expires_at = NULL \
             FROM v WHERE id = v.vid AND attempt = v.vattempt AND state IN ('enqueued', 'started') \
             RETURNING id",
            values.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for f in chunk {
            let result = match &f.outcome {
                Outcome::Done { result } => result.clone(),
                _ => None,
            };
            query = query
                .bind(f.id.0)
                .bind(f.attempt)
                .bind(f.exec_us)
                .bind(result);
        }
        let rows = query.fetch_all(&mut *tx).await?;
        let stored: std::collections::HashSet<i64> = rows
            .iter()
            .map(|r| r.try_get::<i64, _>("id"))
            .collect::<Result<_, _>>()?;
        for f in chunk {
            if stored.contains(&f.id.0) {
                let message = match &f.outcome {
                    Outcome::Done { result } => result.clone(),
                    _ => None,
                };
                // A first try that succeeds has nothing to tell beyond the job's own dates,
                // worker and result: skipping its history row halves the writes of the
                // common case. Later tries close the story their earlier outcomes began.
                if f.attempt <= 1 && message.is_none() {
                    if f.has_dependents {
                        parents_done.push(f.id);
                    }
                    continue;
                }
                history.push(HistoryEntry {
                    job_id: f.id,
                    state: JobState::Done,
                    attempt: f.attempt,
                    worker_id: Some(worker_id.to_owned()),
                    message,
                });
                if f.has_dependents {
                    parents_done.push(f.id);
                }
            }
        }
    }

    for f in finished {
        let (sql, state, message) = match &f.outcome {
            Outcome::Done { .. } => continue,
            Outcome::Retry {
                retry,
                delay_us,
                message,
                info,
            } => {
                let sql = format!(
                    "UPDATE queue_jobs SET state = 'pending', retry = $3, eta = {now} + $4, \
                         result = $5, exc_name = NULL, exc_message = NULL, exc_info = NULL, \
                         exec_time_us = $6, worker_id = NULL, lease_expires_at = NULL \
                     WHERE id = $1 AND attempt = $2 AND state IN ('enqueued', 'started')"
                );
                let q = sqlx::query(AssertSqlSafe(sql))
                    .bind(f.id.0)
                    .bind(f.attempt)
                    .bind(i64::from(*retry))
                    .bind(*delay_us)
                    .bind(message.clone())
                    .bind(f.exec_us);
                (q, JobState::Pending, info.clone())
            }
            Outcome::Failed {
                retry,
                name,
                message,
                info,
            } => {
                let sql = format!(
                    "UPDATE queue_jobs SET state = 'failed', retry = $3, date_failed = {now}, \
                         exc_name = $4, exc_message = $5, exc_info = $6, exec_time_us = $7, \
                         lease_expires_at = NULL \
                     WHERE id = $1 AND attempt = $2 AND state IN ('enqueued', 'started')"
                );
                let q = sqlx::query(AssertSqlSafe(sql))
                    .bind(f.id.0)
                    .bind(f.attempt)
                    .bind(i64::from(*retry))
                    .bind(name.clone())
                    .bind(message.clone())
                    .bind(info.clone())
                    .bind(f.exec_us);
                (q, JobState::Failed, info.clone())
            }
        };
        // Each try's history row keeps its whole error chain: the job's own row keeps the
        // last one only.
        if sql.execute(&mut *tx).await?.rows_affected() == 1 {
            history.push(HistoryEntry {
                job_id: f.id,
                state,
                attempt: f.attempt,
                worker_id: Some(worker_id.to_owned()),
                message: Some(message),
            });
        }
    }

    insert_history(&mut tx, dialect, &history).await?;
    if !parents_done.is_empty() {
        release_children(&mut tx, &parents_done).await?;
    }
    tx.commit().await?;
    Ok(())
}
