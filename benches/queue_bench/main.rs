//! `queue-bench`: the job queue's throughput and latency harness.
//!
//! ```text
//! cargo run --release --bin queue-bench -- --db sqlite|postgres --jobs N --workers W
//! ```
//!
//! Measures, on a fresh database (a temporary SQLite file, or a fresh PostgreSQL schema):
//! enqueue throughput one job per transaction and in batches, no-op job throughput with 1, 2
//! and 4 workers (each worker a `Worker` with its own connection pool, as separate processes
//! would have; up to `--workers`), and enqueue-to-start latency (p50, p99) with a producer on
//! its own connections. On PostgreSQL it then runs the same measurements against
//! graphile-worker (installed by `install-graphile-worker.sh`) on the same server with the
//! same job count. It prints a table and ends with one JSON line holding every figure.
//!
//! PostgreSQL is found at `--url`, `SYNCKIT_BENCH_PG_URL` or
//! `postgres://postgres@127.0.0.1:5432/test`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use synckit::SyncResult;
use synckit::queue::{
    BoxFuture, Delayable, JobContext, JobFunction, JobOutput, JobRegistry, Queue, Worker,
};
use synckit::storage::{Storage, StorageOptions};

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Per-worker settings: the same for every run, written in the report.
const CONCURRENCY: usize = 32;
const PREFETCH: usize = 1000;
const CLAIM_BATCH: usize = 1000;
const ENQUEUE_BATCH: usize = 1000;
const LATENCY_JOBS: usize = 300;

struct Args {
    db: String,
    jobs: usize,
    workers: usize,
    url: String,
    compare: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        db: "sqlite".into(),
        jobs: 10_000,
        workers: 4,
        url: std::env::var("SYNCKIT_BENCH_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.into()),
        compare: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--db" => args.db = value()?,
            "--jobs" => args.jobs = value()?.parse().map_err(|_| "--jobs: a number")?,
            "--workers" => args.workers = value()?.parse().map_err(|_| "--workers: a number")?,
            "--url" => args.url = value()?,
            "--no-compare" => args.compare = false,
            "-h" | "--help" => {
                return Err(
                    "usage: queue-bench --db sqlite|postgres --jobs N --workers W \
                            [--url postgres://...] [--no-compare]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if args.db != "sqlite" && args.db != "postgres" {
        return Err("--db is sqlite or postgres".into());
    }
    Ok(args)
}

/// When the first job started and the last one ended, in µs since `base`.
struct Timing {
    base: Instant,
    first_start: AtomicU64,
    last_end: AtomicU64,
    latencies_us: Mutex<Vec<u64>>,
}

impl Timing {
    fn new() -> Self {
        Timing {
            base: Instant::now(),
            first_start: AtomicU64::new(u64::MAX),
            last_end: AtomicU64::new(0),
            latencies_us: Mutex::new(Vec::new()),
        }
    }
    fn since_base(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
    fn span(&self) -> Duration {
        let first = self.first_start.load(Ordering::Acquire);
        let last = self.last_end.load(Ordering::Acquire);
        Duration::from_micros(last.saturating_sub(first))
    }
}

fn epoch_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(0))
        .unwrap_or(0)
}

/// A job that does nothing but note when it ran.
struct Noop;

impl JobFunction for Noop {
    const NAME: &'static str = "bench.noop";
    type Args = ();
    fn perform(ctx: JobContext, _: ()) -> BoxFuture<SyncResult<JobOutput>> {
        Box::pin(async move {
            let timing = ctx.data::<Arc<Timing>>()?;
            let now = timing.since_base();
            timing.first_start.fetch_min(now, Ordering::AcqRel);
            timing.last_end.fetch_max(now, Ordering::AcqRel);
            Ok(None)
        })
    }
}

#[derive(Serialize, Deserialize)]
struct Sent {
    sent_us: u64,
}

/// A job that records how long after its enqueue it started.
struct Probe;

impl JobFunction for Probe {
    const NAME: &'static str = "bench.probe";
    type Args = Sent;
    fn perform(ctx: JobContext, args: Sent) -> BoxFuture<SyncResult<JobOutput>> {
        Box::pin(async move {
            let latency = epoch_us().saturating_sub(args.sent_us);
            if let Ok(mut l) = ctx.data::<Arc<Timing>>()?.latencies_us.lock() {
                l.push(latency);
            }
            Ok(None)
        })
    }
}

fn registry() -> JobRegistry {
    JobRegistry::new().register::<Noop>().register::<Probe>()
}

async fn open(url: &str, connections: u32) -> SyncResult<Queue> {
    let storage = Storage::connect(
        url,
        StorageOptions {
            max_connections: connections,
            ..StorageOptions::default()
        },
    )
    .await?;
    storage.migrate().await?;
    Ok(Queue::with_url(storage, url))
}

async fn reset(queue: &Queue) -> SyncResult<()> {
    let sql = match queue.storage().dialect() {
        synckit::storage::Dialect::Postgres => {
            "TRUNCATE queue_jobs, queue_job_history, queue_job_dependencies, queue_channel_state"
        }
        synckit::storage::Dialect::Sqlite => "DELETE FROM queue_jobs",
    };
    sqlx::query(sql).execute(queue.storage().pool()).await?;
    Ok(())
}

fn noop_jobs(n: usize) -> Vec<Delayable> {
    (0..n)
        .map(|_| Noop::with_args(()).expect("() serializes"))
        .collect()
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)] as f64 / 1000.0
}

fn worker_counts(max: usize) -> Vec<usize> {
    [1, 2, 4].into_iter().filter(|&w| w <= max.max(1)).collect()
}

struct Figures {
    enqueue_single: f64,
    enqueue_batch: f64,
    throughput: Vec<(usize, f64)>,
    deleting: (usize, f64),
    p50_ms: f64,
    p99_ms: f64,
}

/// Enqueues `jobs` no-op jobs, then lets `w` workers drain them; returns jobs per second
/// from the first start to the last end.
async fn drain(queue: &Queue, url: &str, jobs: usize, w: usize, channels: &str) -> SyncResult<f64> {
    reset(queue).await?;
    for chunk in noop_jobs(jobs).chunks(ENQUEUE_BATCH) {
        queue.enqueue_many(chunk.to_vec()).await?;
    }
    let timing = Arc::new(Timing::new());
    let mut runs = Vec::new();
    for _ in 0..w {
        let worker_queue = open(url, 6).await?;
        let worker = Worker::builder(worker_queue, registry())
            .concurrency(CONCURRENCY)
            .prefetch(PREFETCH)
            .claim_batch(CLAIM_BATCH)
            .channels(channels.parse()?)
            .poll_interval(Duration::from_millis(50))
            .data(timing.clone())
            .build();
        runs.push(tokio::spawn(worker.run_until_idle()));
    }
    let mut done = 0;
    for run in runs {
        if let Ok(Ok(stats)) = run.await {
            done += stats.done;
        }
    }
    if done != jobs as u64 {
        eprintln!("warning: {done} of {jobs} jobs done with {w} workers");
    }
    Ok(jobs as f64 / timing.span().as_secs_f64())
}

async fn bench_synckit(url: &str, args: &Args) -> SyncResult<Figures> {
    let queue = open(url, 8).await?;
    reset(&queue).await?;

    // Enqueue, one job per transaction.
    let single = args.jobs.min(2_000);
    let started = Instant::now();
    for job in noop_jobs(single) {
        queue.enqueue(job).await?;
    }
    let enqueue_single = single as f64 / started.elapsed().as_secs_f64();
    reset(&queue).await?;

    // Enqueue in batches.
    let started = Instant::now();
    for chunk in noop_jobs(args.jobs).chunks(ENQUEUE_BATCH) {
        queue.enqueue_many(chunk.to_vec()).await?;
    }
    let enqueue_batch = args.jobs as f64 / started.elapsed().as_secs_f64();

    // No-op throughput: the backlog is there, workers drain it.
    let mut throughput = Vec::new();
    for w in worker_counts(args.workers) {
        throughput.push((w, drain(&queue, url, args.jobs, w, "root:*").await?));
    }
    // The same with done jobs deleted at once (a channel retention of 0), as graphile-worker
    // does with every finished job.
    let w = 2.min(args.workers.max(1));
    let deleting = (
        w,
        drain(&queue, url, args.jobs, w, "root:*:retention=0").await?,
    );

    // Latency: an idle worker, a producer on its own connections enqueueing one job at a
    // time (on SQLite, in the same process: the queue handle wakes the worker).
    reset(&queue).await?;
    let timing = Arc::new(Timing::new());
    let worker_queue = match queue.storage().dialect() {
        synckit::storage::Dialect::Postgres => open(url, 6).await?,
        synckit::storage::Dialect::Sqlite => queue.clone(),
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = Worker::builder(worker_queue, registry())
        .concurrency(CONCURRENCY)
        .poll_interval(Duration::from_millis(500))
        .data(timing.clone())
        .build();
    let run = tokio::spawn(worker.run_until(async {
        let _ = stop_rx.await;
    }));
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..LATENCY_JOBS {
        let job = Probe::with_args(Sent {
            sent_us: epoch_us(),
        })?;
        queue.enqueue(job).await?;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while timing.latencies_us.lock().map(|l| l.len()).unwrap_or(0) < LATENCY_JOBS
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop_tx.send(());
    let _ = run.await;
    let mut latencies = timing
        .latencies_us
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    latencies.sort_unstable();
    reset(&queue).await?;
    queue.storage().close().await;
    Ok(Figures {
        enqueue_single,
        enqueue_batch,
        throughput,
        deleting,
        p50_ms: percentile(&latencies, 50.0),
        p99_ms: percentile(&latencies, 99.0),
    })
}

fn graphile_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/queue_bench")
}

fn bench_graphile(args: &Args) -> Option<Value> {
    let dir = graphile_dir();
    if !dir.join(".graphile/node_modules/graphile-worker").exists() {
        eprintln!(
            "graphile-worker is not installed: run benches/queue_bench/install-graphile-worker.sh"
        );
        return None;
    }
    let output = Command::new("node")
        .arg(dir.join("graphile_bench.mjs"))
        .args(["--url", &args.url])
        .args(["--jobs", &args.jobs.to_string()])
        .args(["--workers", &args.workers.to_string()])
        .output();
    match output {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            text.lines()
                .rev()
                .find_map(|l| serde_json::from_str::<Value>(l).ok())
        }
        Ok(out) => {
            eprintln!(
                "graphile-worker bench failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            None
        }
        Err(e) => {
            eprintln!("cannot run node: {e}");
            None
        }
    }
}

fn fmt_rate(v: f64) -> String {
    if v.is_finite() {
        format!("{v:>10.0}")
    } else {
        format!("{:>10}", "-")
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> SyncResult<()> {
    sqlx::any::install_default_drivers();
    let mut cleanup: Option<String> = None;
    let _tmp;
    let url = if args.db == "sqlite" {
        let dir = std::env::temp_dir().join(format!("queue-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| synckit::SyncError::Failed(format!("temp dir: {e}")))?;
        let url = format!("sqlite://{}", dir.join("bench.db").display());
        _tmp = TempDir(dir);
        url
    } else {
        let admin = Storage::connect(&args.url, StorageOptions::default()).await?;
        let schema = format!("queue_bench_{}", std::process::id());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(admin.pool())
            .await?;
        admin.close().await;
        cleanup = Some(schema.clone());
        let sep = if args.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-csearch_path%3D{schema}", args.url)
    };

    let ours = bench_synckit(&url, &args).await;
    if let Some(schema) = cleanup {
        let admin = Storage::connect(&args.url, StorageOptions::default()).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE"
        )))
        .execute(admin.pool())
        .await?;
        admin.close().await;
    }
    let ours = ours?;
    let other = if args.db == "postgres" && args.compare {
        bench_graphile(&args)
    } else {
        None
    };

    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    println!(
        "queue-bench: {} jobs, db {}, {cores} cores; synckit workers: concurrency {CONCURRENCY}, \
         prefetch {PREFETCH}, claim batch {CLAIM_BATCH}, own pool each",
        args.jobs, args.db
    );
    println!();
    println!("| measure | synckit | graphile-worker |");
    println!("|---|---:|---:|");
    let other_num = |path: &[&str]| -> f64 {
        let mut v = other.as_ref();
        for p in path {
            v = v.and_then(|v| v.get(*p));
        }
        v.and_then(Value::as_f64).unwrap_or(f64::NAN)
    };
    println!(
        "| enqueue, 1 job per transaction (jobs/s) | {} | {} |",
        fmt_rate(ours.enqueue_single),
        fmt_rate(other_num(&["enqueue_single_per_s"]))
    );
    println!(
        "| enqueue, batches of {ENQUEUE_BATCH} (jobs/s) | {} | {} |",
        fmt_rate(ours.enqueue_batch),
        fmt_rate(other_num(&["enqueue_batch_per_s"]))
    );
    for (w, rate) in &ours.throughput {
        println!(
            "| no-op jobs, {w} worker(s) (jobs/s) | {} | {} |",
            fmt_rate(*rate),
            fmt_rate(other_num(&["throughput_per_s", &w.to_string()]))
        );
    }
    println!(
        "| no-op jobs, {} worker(s), done jobs deleted at once (jobs/s) | {} | {} |",
        ours.deleting.0,
        fmt_rate(ours.deleting.1),
        fmt_rate(other_num(&[
            "throughput_per_s",
            &ours.deleting.0.to_string()
        ]))
    );
    println!(
        "| enqueue→start latency p50 (ms) | {:>10.2} | {:>10.2} |",
        ours.p50_ms,
        other_num(&["latency_p50_ms"])
    );
    println!(
        "| enqueue→start latency p99 (ms) | {:>10.2} | {:>10.2} |",
        ours.p99_ms,
        other_num(&["latency_p99_ms"])
    );
    let throughput: serde_json::Map<String, Value> = ours
        .throughput
        .iter()
        .map(|(w, r)| (w.to_string(), json!(r.round())))
        .collect();
    let summary = json!({
        "db": args.db,
        "jobs": args.jobs,
        "cores": cores,
        "synckit": {
            "enqueue_single_per_s": ours.enqueue_single.round(),
            "enqueue_batch_per_s": ours.enqueue_batch.round(),
            "throughput_per_s": throughput,
            "throughput_deleting_done_per_s": {ours.deleting.0.to_string(): ours.deleting.1.round()},
            "latency_p50_ms": (ours.p50_ms * 100.0).round() / 100.0,
            "latency_p99_ms": (ours.p99_ms * 100.0).round() / 100.0,
        },
        "graphile_worker": other,
    });
    println!();
    println!("{summary}");
    Ok(())
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
