//! The dispatcher: outbox rows → listener events, exactly once.
//!
//! One dispatch is one write transaction: claim up to a batch of rows (oldest first), emit
//! each record's merged events to the listeners on that transaction's connection (the jobs
//! they delay are written there), delete the rows, commit. A crash anywhere before the
//! commit rolls all of it back, so the rows are dispatched again and no job was kept: nothing
//! is lost and nothing is delivered twice.
//!
//! On PostgreSQL many dispatchers may run. Rows are claimed with `FOR UPDATE SKIP LOCKED`,
//! and each claimed record's transaction-level advisory lock is taken in the same scan, so
//! two dispatchers never hold rows of one record at once: a record's later row cannot be
//! dispatched before its earlier one commits. Per-record order is commit order because two
//! transactions writing one row are serialized by its row lock: the second one's trigger runs
//! (and takes its outbox id) only after the first one committed. Rows of different records
//! may be dispatched in an order other than their commits'; nothing depends on that. The
//! scan tries the advisory locks as it goes, over one snapshot, so after it a new statement
//! looks for earlier rows of the claimed records that the scan passed while another
//! dispatcher held them; such a record is held back for the next batch.
//!
//! A listener error rolls the batch back; it is then redone record by record, each in a
//! savepoint, so that the failing record's events alone are undone: its rows stay with
//! the error and wait before the next try, growing with each failure, and the record's later
//! rows wait behind them.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use sqlx::{AnyConnection, AssertSqlSafe, Connection};

use super::merge::{OutboxRow, merge};
use super::origin::parse_origin;
use super::postgres_triggers::NOTIFY_CHANNEL;
use crate::app::App;
use crate::error::{SyncError, SyncResult};
use crate::ids::LocalId;
use crate::local::{EventKind, RecordEvent};
use crate::storage::Dialect;

/// What a dispatch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchStats {
    /// Outbox rows consumed (delivered, merged or dropped as a create + delete).
    pub rows: u64,
    /// Events delivered to the listeners.
    pub events: u64,
    /// Records whose listeners failed; their rows wait for another try.
    pub failed: u64,
    /// Records claimed but left for the next batch because an earlier row of theirs was
    /// still in the outbox (PostgreSQL, several dispatchers; see [`Dispatcher`]).
    pub held_back: u64,
}

impl std::ops::AddAssign for DispatchStats {
    fn add_assign(&mut self, other: Self) {
        self.rows += other.rows;
        self.events += other.events;
        self.failed += other.failed;
        self.held_back += other.held_back;
    }
}

/// Turns outbox rows into `on_record_create` / `on_record_write` / `on_record_unlink`.
///
/// ```no_run
/// # async fn demo(app: sync_core::App) -> sync_core::SyncResult<()> {
/// use sync_core::capture::Dispatcher;
/// let dispatcher = Dispatcher::new(app);
/// // Everything waiting now, e.g. in a test or before a worker stops:
/// let stats = dispatcher.dispatch_pending().await?;
/// // Or until shutdown, woken by NOTIFY on PostgreSQL, polling on SQLite:
/// dispatcher.run_until(tokio::signal::ctrl_c()).await?;
/// # let _ = stats; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Dispatcher {
    app: App,
    batch_size: u32,
    poll_interval: Duration,
}

impl Dispatcher {
    /// A dispatcher for `app`'s listeners, with batches of 200 rows and polls every 20 ms on
    /// SQLite (a cheap read, no write lock taken while the outbox is empty) or every second on
    /// PostgreSQL, where notifications wake it.
    pub fn new(app: App) -> Self {
        let poll_interval = match app.storage().dialect() {
            Dialect::Sqlite => Duration::from_millis(20),
            Dialect::Postgres => Duration::from_secs(1),
        };
        Dispatcher {
            app,
            batch_size: 200,
            poll_interval,
        }
    }

    /// Rows claimed per transaction.
    pub fn batch_size(mut self, rows: u32) -> Self {
        self.batch_size = rows.max(1);
        self
    }

    /// How long to wait between polls when nothing wakes the dispatcher.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Dispatches batches until no due row is left.
    pub async fn dispatch_pending(&self) -> SyncResult<DispatchStats> {
        let mut total = DispatchStats::default();
        loop {
            let stats = self.dispatch_batch().await?;
            total += stats;
            if stats.rows == 0 && stats.held_back == 0 {
                return Ok(total);
            }
        }
    }

    /// Dispatches until `shutdown` completes. A database error is logged and retried after
    /// the poll interval (the rows stay in the outbox).
    pub async fn run_until<F: std::future::Future>(
        &self,
        shutdown: F,
    ) -> SyncResult<DispatchStats> {
        let wake = std::sync::Arc::new(tokio::sync::Notify::new());
        let listener = self.spawn_listener(wake.clone());
        let mut total = DispatchStats::default();
        tokio::pin!(shutdown);
        loop {
            match self.dispatch_batch().await {
                // A full batch: more are waiting; held-back records are due at once.
                // Otherwise wait for the next wake-up or poll, which also lets changes
                // gather into larger batches under load.
                Ok(stats) if stats.rows >= u64::from(self.batch_size) || stats.held_back > 0 => {
                    total += stats;
                    continue;
                }
                Ok(stats) => total += stats,
                Err(error) => tracing::warn!("capture dispatch failed, retrying: {error}"),
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(self.poll_interval) => {}
            }
        }
        if let Some(listener) = listener {
            listener.abort();
        }
        Ok(total)
    }

    /// Runs the dispatcher in a task until it is aborted (e.g. beside a queue worker).
    pub fn spawn(self) -> tokio::task::JoinHandle<SyncResult<DispatchStats>> {
        tokio::spawn(async move { self.run_until(std::future::pending::<()>()).await })
    }

    fn spawn_listener(
        &self,
        wake: std::sync::Arc<tokio::sync::Notify>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let url = self.app.queue().url()?.to_owned();
        if self.app.storage().dialect() != Dialect::Postgres {
            return None;
        }
        Some(tokio::spawn(async move {
            loop {
                match sqlx::postgres::PgListener::connect(&url).await {
                    Ok(mut listener) => {
                        if let Err(e) = listener.listen(NOTIFY_CHANNEL).await {
                            tracing::warn!("LISTEN {NOTIFY_CHANNEL} failed: {e}");
                        } else {
                            // Notifications sent while disconnected are lost: look once.
                            wake.notify_one();
                            while listener.recv().await.is_ok() {
                                wake.notify_one();
                            }
                        }
                    }
                    Err(e) => tracing::warn!("cannot listen for captured changes: {e}"),
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }))
    }

    /// Claims one batch of due rows and dispatches it in one transaction.
    pub async fn dispatch_batch(&self) -> SyncResult<DispatchStats> {
        let storage = self.app.storage();
        let dialect = storage.dialect();
        let now = dialect.now_micros_sql();
        // A read first: an idle SQLite dispatcher must not take the write lock every poll.
        let due: Option<(i64,)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT id FROM synckit_capture_outbox WHERE retry_at <= {now} LIMIT 1"
        )))
        .fetch_optional(storage.pool())
        .await?;
        if due.is_none() {
            return Ok(DispatchStats::default());
        }
        // Fast path: the whole batch without savepoints, its rows deleted with one
        // statement. Only when a listener fails is the batch redone record by record.
        let mut tx = storage.begin().await?;
        let (rows, held_back) =
            claim(&mut tx, dialect, storage_namespace(self), self.batch_size).await?;
        let records = group_by_record(rows);
        let mut stats = DispatchStats {
            held_back,
            ..DispatchStats::default()
        };
        let mut failed = false;
        for record in &records {
            match self.emit(&mut tx, record).await {
                Ok(events) => {
                    stats.rows += record.rows.len() as u64;
                    stats.events += events;
                }
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if !failed {
            delete_rows(&mut tx, &records).await?;
            tx.commit().await?;
            return Ok(stats);
        }
        tx.rollback().await?;
        let mut tx = storage.begin().await?;
        let (rows, held_back) =
            claim(&mut tx, dialect, storage_namespace(self), self.batch_size).await?;
        let mut stats = DispatchStats {
            held_back,
            ..DispatchStats::default()
        };
        for record in group_by_record(rows) {
            stats += self.dispatch_record(&mut tx, &record).await?;
        }
        tx.commit().await?;
        Ok(stats)
    }

    async fn dispatch_record(
        &self,
        conn: &mut AnyConnection,
        record: &RecordRows,
    ) -> SyncResult<DispatchStats> {
        let first = record.rows.first().map(|r| r.id).unwrap_or_default();
        let last = record.rows.last().map(|r| r.id).unwrap_or_default();
        let mut savepoint = conn.begin().await?;
        match self.emit(&mut savepoint, record).await {
            Ok(events) => {
                sqlx::query(
                    "DELETE FROM synckit_capture_outbox \
                     WHERE model = $1 AND record_key = $2 AND id BETWEEN $3 AND $4",
                )
                .bind(&record.model)
                .bind(&record.key)
                .bind(first)
                .bind(last)
                .execute(&mut *savepoint)
                .await?;
                savepoint.commit().await?;
                Ok(DispatchStats {
                    rows: record.rows.len() as u64,
                    events,
                    ..DispatchStats::default()
                })
            }
            Err(error) => {
                savepoint.rollback().await?;
                // Names the record, never its values (they may be personal data).
                tracing::warn!(
                    "captured change of {} {} not dispatched: {error}",
                    record.model,
                    record.key
                );
                let now = self.app.storage().dialect().now_micros_sql();
                // 1 s, 2 s, 4 s … capped at about an hour. PostgreSQL shifts a BIGINT by an
                // INTEGER only, hence the casts.
                let backoff = format!(
                    "UPDATE synckit_capture_outbox SET attempts = attempts + 1, last_error = $1, \
                     retry_at = {now} + 1000000 * (CASE WHEN attempts < 12 \
                     THEN (CAST(1 AS BIGINT) << CAST(attempts AS INTEGER)) ELSE 4096 END) \
                     WHERE model = $2 AND record_key = $3 AND id BETWEEN $4 AND $5"
                );
                sqlx::query(AssertSqlSafe(backoff))
                    .bind(error.to_string())
                    .bind(&record.model)
                    .bind(&record.key)
                    .bind(first)
                    .bind(last)
                    .execute(&mut *conn)
                    .await?;
                Ok(DispatchStats {
                    failed: 1,
                    ..DispatchStats::default()
                })
            }
        }
    }

    /// Emits a record's merged events; returns how many.
    async fn emit(&self, conn: &mut AnyConnection, record: &RecordRows) -> SyncResult<u64> {
        let local_id = record.key.parse::<i64>().map(LocalId).map_err(|_| {
            SyncError::invalid_data(
                format!("{} {}", record.model, record.key),
                "key",
                "the captured key is not an integer local id",
            )
        })?;
        let rows = record
            .rows
            .iter()
            .map(|row| row.decode(&record.model, &record.key))
            .collect::<SyncResult<Vec<OutboxRow>>>()?;
        let events = merge(&rows);
        for event in &events {
            let event = RecordEvent {
                kind: event.kind,
                model: record.model.clone(),
                local_id,
                fields: event.fields.clone(),
                origin: event.origin,
            };
            self.app.dispatch(conn, &event).await?;
        }
        Ok(events.len() as u64)
    }
}

/// Deletes the dispatched rows of `records` with one statement. The ids are integers this
/// process read from the database, formatted, never text from elsewhere.
async fn delete_rows(conn: &mut AnyConnection, records: &[RecordRows]) -> SyncResult<()> {
    let ids: Vec<String> = records
        .iter()
        .flat_map(|r| r.rows.iter().map(|row| row.id.to_string()))
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "DELETE FROM synckit_capture_outbox WHERE id IN ({})",
        ids.join(", ")
    );
    sqlx::query(AssertSqlSafe(sql)).execute(&mut *conn).await?;
    Ok(())
}

fn storage_namespace(dispatcher: &Dispatcher) -> String {
    dispatcher.app.storage().lock_namespace().to_owned()
}

/// An outbox row as stored.
struct RawRow {
    id: i64,
    model: String,
    key: String,
    operation: String,
    changes: String,
    origin: String,
}

impl RawRow {
    fn decode(&self, model: &str, key: &str) -> SyncResult<OutboxRow> {
        let record = || format!("{model} {key} (outbox row {})", self.id);
        let operation = match self.operation.as_str() {
            "insert" => EventKind::Create,
            "update" => EventKind::Write,
            "delete" => EventKind::Unlink,
            other => {
                return Err(SyncError::invalid_data(
                    record(),
                    "operation",
                    format!("unknown operation `{other}`"),
                ));
            }
        };
        let changes: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&self.changes).map_err(|e| {
                SyncError::invalid_data(record(), "changes", format!("not a JSON object: {e}"))
            })?;
        let origin = parse_origin(&self.origin).ok_or_else(|| {
            SyncError::invalid_data(record(), "origin", "neither `local` nor `backend:<id>`")
        })?;
        Ok(OutboxRow {
            id: self.id,
            operation,
            fields: changes.keys().cloned().collect(),
            origin,
        })
    }
}

/// The claimed rows of one record, in id order.
struct RecordRows {
    model: String,
    key: String,
    rows: Vec<RawRow>,
}

fn group_by_record(rows: Vec<RawRow>) -> Vec<RecordRows> {
    let mut records: Vec<RecordRows> = Vec::new();
    let mut index = HashMap::<(String, String), usize>::new();
    for row in rows {
        let slot = (row.model.clone(), row.key.clone());
        match index.get(&slot) {
            Some(&i) => records[i].rows.push(row),
            None => {
                index.insert(slot, records.len());
                records.push(RecordRows {
                    model: row.model.clone(),
                    key: row.key.clone(),
                    rows: vec![row],
                });
            }
        }
    }
    records
}

/// Claims up to `limit` due rows, oldest first, skipping records whose earlier rows wait
/// after an error (and on PostgreSQL, rows or records another dispatcher holds). Returns
/// the rows and how many records were held back (see [`hold_back_overtaking`]).
async fn claim(
    conn: &mut AnyConnection,
    dialect: Dialect,
    namespace: String,
    limit: u32,
) -> SyncResult<(Vec<RawRow>, u64)> {
    let now = dialect.now_micros_sql();
    // `e.retry_at > 0` lets both databases answer from the partial index of waiting rows.
    let not_blocked = format!(
        "o.retry_at <= {now} AND NOT EXISTS (SELECT 1 FROM synckit_capture_outbox e \
         WHERE e.retry_at > 0 AND e.model = o.model AND e.record_key = o.record_key \
         AND e.id < o.id AND e.retry_at > {now})"
    );
    let columns = "o.id, o.model, o.record_key, o.operation, o.changes, o.origin";
    let rows: Vec<(i64, String, String, String, String, String)> = match dialect {
        Dialect::Sqlite => {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {columns} FROM synckit_capture_outbox o WHERE {not_blocked} \
                 ORDER BY o.id LIMIT $1"
            )))
            .bind(i64::from(limit))
            .fetch_all(&mut *conn)
            .await?
        }
        Dialect::Postgres => {
            // The advisory lock is tried in the scan, before the row lock: a record another
            // dispatcher holds is skipped whole, so its later rows cannot overtake.
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {columns} FROM synckit_capture_outbox o WHERE {not_blocked} \
                 AND pg_try_advisory_xact_lock(hashtext($1), hashtext(o.model || ':' || o.record_key)) \
                 ORDER BY o.id LIMIT $2 FOR UPDATE SKIP LOCKED"
            )))
            .bind(format!("synckit_capture:{namespace}"))
            .bind(i64::from(limit))
            .fetch_all(&mut *conn)
            .await?
        }
    };
    let rows: Vec<RawRow> = rows
        .into_iter()
        .map(|(id, model, key, operation, changes, origin)| RawRow {
            id,
            model,
            key,
            operation,
            changes,
            origin,
        })
        .collect();
    match dialect {
        // One write transaction at a time: the claim saw the whole outbox as it is.
        Dialect::Sqlite => Ok((rows, 0)),
        Dialect::Postgres => hold_back_overtaking(conn, rows).await,
    }
}

/// PostgreSQL: leaves out the claimed records that still have an earlier row.
///
/// The claim reads one snapshot but tries each record's advisory lock as its scan goes. If
/// another dispatcher held a record while the scan passed its earlier rows (skipped) and
/// committed before the scan reached a later row, that later row is claimed although the
/// earlier ones are still there: not yet dispatched (the other batch ended before them) or
/// waiting after a listener error the snapshot does not show. Now that this transaction
/// holds the advisory lock of every claimed record, a new statement sees each such earlier
/// row; its record is left for the next batch, which claims it from its first row.
async fn hold_back_overtaking(
    conn: &mut AnyConnection,
    rows: Vec<RawRow>,
) -> SyncResult<(Vec<RawRow>, u64)> {
    let Some(max) = rows.iter().map(|r| r.id).max() else {
        return Ok((rows, 0));
    };
    // Each record's first claimed id (the rows come in id order).
    let mut firsts: HashMap<(&str, &str), i64> = HashMap::new();
    for row in &rows {
        firsts.entry((&row.model, &row.key)).or_insert(row.id);
    }
    // The records as one JSON parameter: one statement text whatever their number.
    let records: Vec<[&str; 2]> = firsts.keys().map(|(m, k)| [*m, *k]).collect();
    let records = serde_json::to_string(&records)
        .map_err(|e| SyncError::Failed(format!("cannot encode the claimed records: {e}")))?;
    let query = sqlx::query_as::<_, (String, String, i64)>(
        "SELECT model, record_key, MIN(id) FROM synckit_capture_outbox \
         WHERE id < $1 AND (model, record_key) IN \
         (SELECT r->>0, r->>1 FROM jsonb_array_elements($2::jsonb) r) \
         GROUP BY model, record_key",
    )
    .bind(max)
    .bind(records);
    let earliest = query.fetch_all(&mut *conn).await?;
    let held: HashSet<(String, String)> = earliest
        .into_iter()
        .filter(|(model, key, min)| {
            firsts
                .get(&(model.as_str(), key.as_str()))
                .is_some_and(|first| min < first)
        })
        .map(|(model, key, _)| (model, key))
        .collect();
    if held.is_empty() {
        return Ok((rows, 0));
    }
    let kept = rows
        .into_iter()
        .filter(|r| !held.contains(&(r.model.clone(), r.key.clone())))
        .collect();
    Ok((kept, held.len() as u64))
}
