//! The change-capture benchmark: one writer commits single-row updates as fast as it can,
//! with capture off (no triggers) and on (triggers + a dispatcher whose listener delays one
//! export job per event), on SQLite and PostgreSQL.
//!
//! ```sh
//! cargo run --release --example capture_bench -- --seconds 30 --rounds 3
//! ```
//!
//! Runs are interleaved (off, on, on, off, …), each on a fresh database; every figure is the
//! median of the rounds with its spread. Before printing, each run with capture on is
//! verified: every committed update was consumed from the outbox exactly once, no value was
//! delivered twice, each record's last value was delivered, and the outbox is empty. It
//! reports the writer's throughput, the ratio on/off, the largest outbox backlog seen, and
//! the latency from the writer's commit to the export job's creation (p50, p99). Prints a
//! table and ends with one JSON line.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use clap::Parser;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{AnyConnection, AssertSqlSafe};
use synckit::app::LISTENER_USAGE;
use synckit::backend::{BackendKind, NewBackend};
use synckit::capture::{CaptureDeclaration, Captures, Dispatcher};
use synckit::prelude::*;
use synckit::queue::{BoxFuture, JobOutput};
use synckit::storage::{Dialect, to_micros};
use synckit::testing::TestDatabase;

/// Records updated round-robin: enough that a record is written again only long after its
/// previous change was dispatched, so each change is its own event and its latency is its own.
const RECORDS: i64 = 100_000;

/// Settings of a run, from the command line.
#[derive(Debug, Parser)]
#[command(about = "Writer throughput and export latency with change capture on and off")]
struct Args {
    /// Seconds each writer runs.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Rounds (each runs capture off and on once).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// `sqlite`, `postgres` or `both`.
    #[arg(long, default_value = "both")]
    db: String,
    /// The dispatcher's batch size (rows per transaction); its default when not given.
    #[arg(long)]
    batch: Option<u32>,
    /// The dispatcher's poll interval in ms; its default when not given.
    #[arg(long)]
    poll_ms: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct ExportArgs {
    id: i64,
    value: i64,
}

/// The export job the listener delays (never run here: its creation is what is measured).
struct ExportItem;

impl JobFunction for ExportItem {
    const NAME: &'static str = "bench.export_item";
    type Args = ExportArgs;
    fn perform(_ctx: JobContext, _args: ExportArgs) -> BoxFuture<SyncResult<JobOutput>> {
        Box::pin(async { Ok(None) })
    }
}

/// Delays one export job per event with the record's current value, as an export listener
/// does, in the dispatcher's transaction.
struct ExportListener;

#[async_trait]
impl Listener for ExportListener {
    async fn on_record_write(
        &self,
        ctx: &WorkContext,
        conn: &mut AnyConnection,
        event: &RecordEvent,
    ) -> SyncResult<()> {
        let (value,): (i64,) = sqlx::query_as("SELECT value FROM items WHERE id = $1")
            .bind(event.local_id.0)
            .fetch_one(&mut *conn)
            .await?;
        let job = ExportItem::with_args(ExportArgs {
            id: event.local_id.0,
            value,
        })?;
        ctx.app().queue().delay(conn, job).await?;
        Ok(())
    }
}

/// One measured run.
#[derive(Debug, Clone, Default)]
struct Run {
    per_second: f64,
    max_backlog: i64,
    p50_ms: f64,
    p99_ms: f64,
    merged: u64,
}

async fn open(dialect: Dialect) -> SyncResult<Option<TestDatabase>> {
    match dialect {
        Dialect::Sqlite => synckit::testing::sqlite().await.map(Some),
        Dialect::Postgres => synckit::testing::postgres().await,
    }
}

async fn run_once(dialect: Dialect, capture: bool, args: &Args) -> SyncResult<Option<Run>> {
    let seconds = args.seconds;
    let Some(db) = open(dialect).await? else {
        return Ok(None);
    };
    let storage = db.storage.clone();
    let id = match dialect {
        Dialect::Sqlite => "INTEGER PRIMARY KEY",
        Dialect::Postgres => "BIGINT PRIMARY KEY",
    };
    sqlx::query(AssertSqlSafe(format!(
        "CREATE TABLE items (id {id}, value BIGINT NOT NULL, label TEXT NOT NULL)"
    )))
    .execute(storage.pool())
    .await?;
    for chunk in (1..=RECORDS).collect::<Vec<_>>().chunks(1000) {
        let values: Vec<String> = chunk.iter().map(|i| format!("({i}, 0, 'item')")).collect();
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO items (id, value, label) VALUES {}",
            values.join(", ")
        )))
        .execute(storage.pool())
        .await?;
    }
    storage
        .backends()
        .create(NewBackend::new("bench", "remote"))
        .await?;
    let mut registry = ComponentRegistry::new();
    registry.add_kind(BackendKind::root("bench"));
    registry.register::<dyn Listener>(
        ApplyOn::kind("bench").model("item"),
        LISTENER_USAGE,
        Arc::new(ExportListener) as Arc<dyn Listener>,
    );
    // A queue opened from the URL, so that PostgreSQL dispatchers LISTEN.
    let queue = Queue::open(&db.url).await?;
    let app = App::with_queue(registry, queue).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::new(tokio::sync::Notify::new());
    let mut dispatcher = None;
    let mut sampler = None;
    if capture {
        Captures::new(&storage)
            .add(&CaptureDeclaration::new("item", "items", "id").columns(["value"]))
            .await?;
        let mut d = Dispatcher::new(app.clone());
        if let Some(rows) = args.batch {
            d = d.batch_size(rows);
        }
        if let Some(ms) = args.poll_ms {
            d = d.poll_interval(Duration::from_millis(ms));
        }
        let until = stopped.clone();
        dispatcher = Some(tokio::spawn(
            async move { d.run_until(until.notified()).await },
        ));
        let storage = storage.clone();
        let stop = stop.clone();
        sampler = Some(tokio::spawn(async move {
            let mut max = 0i64;
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(250)).await;
                if let Ok((n,)) =
                    sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM synckit_capture_outbox")
                        .fetch_one(storage.pool())
                        .await
                {
                    max = max.max(n);
                }
            }
            max
        }));
    }

    // The writer: single-row updates, one per transaction, round-robin over the records.
    let mut committed_at: Vec<i64> = Vec::new(); // by value - 1
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut value = 0i64;
    while Instant::now() < deadline {
        value += 1;
        let mut tx = storage.begin().await?;
        sqlx::query("UPDATE items SET value = $1 WHERE id = $2")
            .bind(value)
            .bind((value - 1) % RECORDS + 1)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        committed_at.push(to_micros(chrono::Utc::now()));
    }
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut run = Run {
        per_second: value as f64 / elapsed,
        ..Run::default()
    };
    if capture {
        run.max_backlog = match sampler {
            Some(s) => s.await.unwrap_or_default(),
            None => 0,
        };
        // Let the dispatcher finish the backlog, then stop it.
        let drain_deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM synckit_capture_outbox")
                .fetch_one(storage.pool())
                .await?;
            if n == 0 || Instant::now() > drain_deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stopped.notify_one();
        let consumed = match dispatcher {
            Some(d) => d
                .await
                .map_err(|e| SyncError::Failed(format!("dispatcher task: {e}")))??,
            None => Default::default(),
        };
        verify_and_measure(&storage, value, consumed, &committed_at, &mut run).await?;
    }
    storage.close().await;
    db.cleanup().await;
    Ok(Some(run))
}

/// Checks the work, then fills in the latencies.
async fn verify_and_measure(
    storage: &Storage,
    updates: i64,
    consumed: synckit::capture::DispatchStats,
    committed_at: &[i64],
    run: &mut Run,
) -> SyncResult<()> {
    let fail = |m: String| Err(SyncError::Failed(format!("verification failed: {m}")));
    if consumed.rows != updates as u64 {
        return fail(format!(
            "{updates} updates but {} outbox rows consumed",
            consumed.rows
        ));
    }
    let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM synckit_capture_outbox")
        .fetch_one(storage.pool())
        .await?;
    if left != 0 {
        return fail(format!("{left} rows left in the outbox"));
    }
    let jobs: Vec<(String, i64)> = sqlx::query_as(
        "SELECT args, date_created FROM queue_jobs WHERE name = 'bench.export_item' ORDER BY id",
    )
    .fetch_all(storage.pool())
    .await?;
    if jobs.len() as u64 != consumed.events {
        return fail(format!(
            "{} events but {} export jobs",
            consumed.events,
            jobs.len()
        ));
    }
    let mut delivered: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut latencies = Vec::with_capacity(jobs.len());
    for (args, created) in &jobs {
        let args: ExportArgs = serde_json::from_str(args)
            .map_err(|e| SyncError::Failed(format!("job arguments: {e}")))?;
        delivered.entry(args.id).or_default().push(args.value);
        let index = usize::try_from(args.value - 1).unwrap_or(usize::MAX);
        if let Some(commit) = committed_at.get(index) {
            latencies.push((created - commit) as f64 / 1000.0);
        }
    }
    for id in 1..=RECORDS.min(updates) {
        let values = delivered.get(&id).cloned().unwrap_or_default();
        if values.windows(2).any(|w| w[0] >= w[1]) {
            return fail(format!("item {id}: values delivered out of order or twice"));
        }
        // The last value written to this record.
        let last = updates - (updates - id).rem_euclid(RECORDS);
        if values.last() != Some(&last) {
            return fail(format!("item {id}: last value {last} not delivered"));
        }
    }
    run.merged = updates as u64 - jobs.len() as u64;
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    if !latencies.is_empty() {
        run.p50_ms = at(0.5);
        run.p99_ms = at(0.99);
    }
    Ok(())
}

fn median(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    (median, values[0], values[n - 1])
}

#[tokio::main]
async fn main() -> SyncResult<()> {
    let args = Args::parse();
    let dialects: Vec<Dialect> = match args.db.as_str() {
        "sqlite" => vec![Dialect::Sqlite],
        "postgres" => vec![Dialect::Postgres],
        "both" => vec![Dialect::Sqlite, Dialect::Postgres],
        other => {
            return Err(SyncError::Failed(format!(
                "--db `{other}`: sqlite, postgres or both"
            )));
        }
    };
    let mut report = Vec::new();
    println!(
        "{:<9} {:>16} {:>16} {:>12} {:>10} {:>14} {:>14}",
        "database", "off (upd/s)", "on (upd/s)", "on/off", "backlog", "p50 ms", "p99 ms"
    );
    for dialect in dialects {
        let mut off = Vec::new();
        let mut on = Vec::new();
        for round in 0..args.rounds.max(1) {
            // Interleaved: off first in even rounds, on first in odd ones.
            let order = if round % 2 == 0 {
                [false, true]
            } else {
                [true, false]
            };
            for capture in order {
                let Some(run) = run_once(dialect, capture, &args).await? else {
                    break;
                };
                eprintln!("{dialect:?} round {round} capture {capture}: {run:?}");
                if capture { on.push(run) } else { off.push(run) }
            }
        }
        if on.is_empty() || off.is_empty() {
            eprintln!("{dialect:?}: skipped (database unreachable)");
            continue;
        }
        let off_rate = median(off.iter().map(|r| r.per_second).collect());
        let on_rate = median(on.iter().map(|r| r.per_second).collect());
        let ratio = median(
            on.iter()
                .zip(&off)
                .map(|(a, b)| a.per_second / b.per_second)
                .collect(),
        );
        let backlog = median(on.iter().map(|r| r.max_backlog as f64).collect());
        let p50 = median(on.iter().map(|r| r.p50_ms).collect());
        let p99 = median(on.iter().map(|r| r.p99_ms).collect());
        let name = format!("{dialect:?}").to_lowercase();
        println!(
            "{:<9} {:>16} {:>16} {:>12} {:>10} {:>14} {:>14}",
            name,
            format!("{:.0} ({:.0}-{:.0})", off_rate.0, off_rate.1, off_rate.2),
            format!("{:.0} ({:.0}-{:.0})", on_rate.0, on_rate.1, on_rate.2),
            format!("{:.2} ({:.2}-{:.2})", ratio.0, ratio.1, ratio.2),
            format!("{:.0}", backlog.2),
            format!("{:.1} ({:.1}-{:.1})", p50.0, p50.1, p50.2),
            format!("{:.1} ({:.1}-{:.1})", p99.0, p99.1, p99.2),
        );
        report.push(json!({
            "database": name,
            "seconds": args.seconds,
            "rounds": on.len(),
            "off_updates_per_s": {"median": off_rate.0, "min": off_rate.1, "max": off_rate.2},
            "on_updates_per_s": {"median": on_rate.0, "min": on_rate.1, "max": on_rate.2},
            "ratio_on_off": {"median": ratio.0, "min": ratio.1, "max": ratio.2},
            "max_outbox_backlog": backlog.2,
            "commit_to_job_p50_ms": {"median": p50.0, "min": p50.1, "max": p50.2},
            "commit_to_job_p99_ms": {"median": p99.0, "min": p99.1, "max": p99.2},
            "events_merged": on.iter().map(|r| r.merged).sum::<u64>(),
            "verified": true,
        }));
    }
    println!("{}", json!({"capture_bench": report}));
    Ok(())
}
