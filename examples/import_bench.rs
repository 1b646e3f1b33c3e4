//! The import benchmark: a full import of customers, products and orders from the Magento
//! simulator into SQLite or PostgreSQL, next to the floor measured in the same run (fetch
//! every page and bulk-insert the rows, with no framework).
//!
//! ```sh
//! cargo run --release --example import_bench -- --db sqlite --customers 100000 --products 20000 --orders 50000
//! ```
//!
//! The simulator runs in its own process (started with `cargo run --release -p magento-sim`),
//! and each measured phase in a child process of its own, so that the peak memory reported is
//! that phase's alone. It prints a table and ends with one JSON line.

use std::time::{Duration, Instant};

use clap::Parser;
use serde::Deserialize;
use serde_json::{Value, json};
use synckit::backend::{NewBackend, Secrets, SecretsAtRest};
use synckit::prelude::*;
use synckit::sync::{ImportDirectly, ImportWindow, import_batch};
use synckit::testing::TestDatabase;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The example's shop back office: typed columns, natural keys indexed.
#[path = "magento_sync/backoffice.rs"]
mod backoffice;

const TOKEN: &str = "bench-token";
const PAGE: u32 = 300;

/// Settings of a run, from the command line.
#[derive(Debug, Parser)]
#[command(about = "Full Magento import against the no-framework floor")]
struct Args {
    /// `sqlite` or `postgres` (the test PostgreSQL).
    #[arg(long, default_value = "sqlite")]
    db: String,
    /// Customers in the simulator.
    #[arg(long, default_value_t = 100_000)]
    customers: u32,
    /// Products in the simulator.
    #[arg(long, default_value_t = 20_000)]
    products: u32,
    /// Orders in the simulator.
    #[arg(long, default_value_t = 50_000)]
    orders: u32,
    /// Internal: run one measured phase (`floor` or `synckit`) in this process.
    #[arg(long, hide = true)]
    phase: Option<String>,
    /// Internal: the simulator's base URL, for a phase.
    #[arg(long, hide = true)]
    base_url: Option<String>,
    /// Internal: the database URL, for a phase.
    #[arg(long, hide = true)]
    url: Option<String>,
}

/// The peak resident memory of this process, in MB (Linux `VmHWM`).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[derive(Deserialize)]
struct SearchPage {
    items: Vec<Value>,
    total_count: u64,
}

/// The floor: every page fetched and its rows bulk-inserted as JSON, nothing else.
async fn floor(base_url: &str, url: &str) -> SyncResult<u64> {
    let storage = Storage::open(url).await?;
    let http = reqwest::Client::new();
    let mut records = 0;
    for (route, table, id) in [
        ("customers/search", "floor_customers", "id"),
        ("products", "floor_products", "sku"),
        ("orders", "floor_orders", "entity_id"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE IF NOT EXISTS {table} (id TEXT PRIMARY KEY, data TEXT NOT NULL)"
        )))
        .execute(storage.pool())
        .await?;
        let mut page: u32 = 1;
        loop {
            let page_url = format!(
                "{base_url}/rest/default/V1/{route}?searchCriteria[pageSize]={PAGE}&searchCriteria[currentPage]={page}&searchCriteria[sortOrders][0][field]={id}&searchCriteria[sortOrders][0][direction]=ASC"
            );
            let found: SearchPage = http
                .get(&page_url)
                .bearer_auth(TOKEN)
                .send()
                .await
                .and_then(|r| r.error_for_status())
                .map_err(|e| SyncError::Failed(e.to_string()))?
                .json()
                .await
                .map_err(|e| SyncError::Failed(e.to_string()))?;
            if found.items.is_empty() {
                break;
            }
            let params: Vec<String> = (0..found.items.len())
                .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
                .collect();
            let sql = format!(
                "INSERT INTO {table} (id, data) VALUES {}",
                params.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for item in &found.items {
                let key = match item.get(id) {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                query = query.bind(key).bind(item.to_string());
            }
            let mut tx = storage.begin().await?;
            query.execute(&mut *tx).await?;
            tx.commit().await?;
            records += found.items.len() as u64;
            if u64::from(page) * u64::from(PAGE) >= found.total_count {
                break;
            }
            page += 1;
        }
    }
    storage.close().await;
    Ok(records)
}

/// The framework: the connector's batch imports, each record mapped, bound and written.
async fn synckit(base_url: &str, url: &str) -> SyncResult<u64> {
    // A throw-away benchmark database holding the simulator's token.
    let storage = Storage::open(url)
        .await?
        .with_secrets_at_rest(SecretsAtRest::Plaintext);
    let mut registry = ComponentRegistry::new();
    synckit_magento::register(&mut registry);
    backoffice::install(&storage, &mut registry).await?;
    let backend = storage
        .backends()
        .create(
            NewBackend::new("magento", "bench")
                .version("2.4")
                .settings(json!({"base_url": base_url, "page_size": PAGE}))
                .secrets(Secrets::new().with("token", TOKEN)),
        )
        .await?;
    let app = App::new(registry, storage.clone()).await?;
    let mut records = 0;
    // The connector's own window fields; the counted models are the ones the floor loads,
    // the others are what customers depend on.
    let counted = ["magento.customer", "magento.product", "magento.sale.order"];
    let imported = synckit_magento::models::batch_imports()
        .into_iter()
        .filter(|(model, _)| {
            counted.contains(model) || ["magento.customer.group", "magento.website"].contains(model)
        });
    for (model, fields) in imported {
        let ctx = app.context(backend.clone(), model);
        let report = import_batch(
            &ctx,
            ImportWindow::since(None),
            &fields,
            PAGE,
            Duration::from_secs(300),
            &ImportDirectly,
        )
        .await?;
        if let Some((id, error)) = report.errors.first() {
            eprintln!("{model} {id}: {error} ({} errors)", report.errors.len());
        }
        if counted.contains(&model) {
            records += report.dispatched;
        }
    }
    storage.close().await;
    Ok(records)
}

/// A fresh database for one phase: a SQLite file in a temporary directory, or a fresh
/// PostgreSQL schema (the returned handle drops it in its `cleanup`).
async fn database(db: &str, phase: &str) -> SyncResult<(String, Option<TestDatabase>)> {
    match db {
        "sqlite" => {
            let dir = std::env::temp_dir().join(format!(
                "synckit-import-bench-{}-{phase}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).map_err(|e| SyncError::Failed(e.to_string()))?;
            Ok((format!("sqlite://{}", dir.join("bench.db").display()), None))
        }
        _ => {
            let pg = synckit::testing::postgres()
                .await?
                .ok_or_else(|| SyncError::Failed("PostgreSQL unreachable".into()))?;
            Ok((pg.url.clone(), Some(pg)))
        }
    }
}

#[tokio::main]
async fn main() -> SyncResult<()> {
    let args = Args::parse();
    if let (Some(phase), Some(base_url), Some(url)) = (&args.phase, &args.base_url, &args.url) {
        let started = Instant::now();
        let records = match phase.as_str() {
            "floor" => floor(base_url, url).await?,
            _ => synckit(base_url, url).await?,
        };
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{}",
            json!({"records": records, "secs": secs, "peak_mb": peak_rss_mb()})
        );
        return Ok(());
    }

    // The simulator, in a process of its own.
    let mut sim = tokio::process::Command::new("cargo")
        .args([
            "run",
            "--release",
            "-q",
            "-p",
            "magento-sim",
            "--bin",
            "magento-sim",
            "--",
            "--listen",
            "127.0.0.1:0",
            "--token",
            TOKEN,
        ])
        .args([
            "--customers",
            &args.customers.to_string(),
            "--products",
            &args.products.to_string(),
            "--orders",
            &args.orders.to_string(),
        ])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| SyncError::Failed(format!("cannot start the simulator: {e}")))?;
    let stdout = sim
        .stdout
        .take()
        .ok_or_else(|| SyncError::Failed("no simulator output".into()))?;
    let mut lines = BufReader::new(stdout).lines();
    let mut base_url = None;
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(url) = line.strip_prefix("base URL: ") {
            base_url = Some(url.trim().to_owned());
            break;
        }
    }
    let base_url =
        base_url.ok_or_else(|| SyncError::Failed("the simulator printed no base URL".into()))?;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let exe = std::env::current_exe().map_err(|e| SyncError::Failed(e.to_string()))?;
    let mut results = serde_json::Map::new();
    for phase in ["floor", "synckit"] {
        let (url, database) = database(&args.db, phase).await?;
        let out = tokio::process::Command::new(&exe)
            .args(["--phase", phase, "--base-url", &base_url, "--url", &url])
            .output()
            .await
            .map_err(|e| SyncError::Failed(e.to_string()))?;
        // The phase's data is not kept: drop its schema, or its SQLite directory.
        match database {
            Some(pg) => pg.cleanup().await,
            None => {
                if let Some(path) = url.strip_prefix("sqlite://")
                    && let Some(dir) = std::path::Path::new(path).parent()
                {
                    let _ = std::fs::remove_dir_all(dir);
                }
            }
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().last().unwrap_or_default();
        let result: Value = serde_json::from_str(line).map_err(|_| {
            SyncError::Failed(format!(
                "{phase} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        })?;
        results.insert(phase.to_owned(), result);
    }
    let rate = |p: &str| {
        let r = &results[p];
        r["records"].as_f64().unwrap_or(0.0) / r["secs"].as_f64().unwrap_or(1.0)
    };
    println!(
        "database: {}  ({} customers, {} products, {} orders)",
        args.db, args.customers, args.products, args.orders
    );
    println!(
        "{:<10} {:>10} {:>10} {:>12} {:>10}",
        "phase", "records", "seconds", "records/s", "peak MB"
    );
    for phase in ["floor", "synckit"] {
        let r = &results[phase];
        println!(
            "{phase:<10} {:>10} {:>10.1} {:>12.0} {:>10.0}",
            r["records"],
            r["secs"].as_f64().unwrap_or(0.0),
            rate(phase),
            r["peak_mb"].as_f64().unwrap_or(0.0)
        );
    }
    let ratio = rate("synckit") / rate("floor").max(1e-9);
    println!("synckit / floor throughput: {:.2}", ratio);
    println!(
        "{}",
        json!({"db": args.db, "floor": results["floor"], "synckit": results["synckit"], "ratio": ratio})
    );
    drop(sim);
    Ok(())
}
