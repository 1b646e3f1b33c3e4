//! `sim-bench`: measures how many simple GETs per second the simulator serves on loopback.
//!
//! It starts the simulator in-process on its own runtime, then fires keep-alive GETs from a
//! hyper client on a second runtime over `--connections` connections, and prints a table and a
//! final JSON line.

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Empty};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Load generator for magento-sim.
#[derive(Debug, Parser, Clone)]
#[command(name = "sim-bench")]
struct Args {
    /// Number of measured requests.
    #[arg(long, default_value_t = 200_000)]
    requests: u64,
    /// Number of keep-alive connections.
    #[arg(long, default_value_t = 32)]
    connections: u64,
    /// Requests sent before measuring.
    #[arg(long, default_value_t = 5_000)]
    warmup: u64,
    /// Path template; `{id}` is replaced by a customer id cycling through the data.
    #[arg(long, default_value = "/rest/default/V1/customers/{id}")]
    path: String,
    /// Customers generated (ids cycle through them).
    #[arg(long, default_value_t = 1_000)]
    customers: u32,
    /// Worker threads of the simulator's runtime.
    #[arg(long, default_value_t = 2)]
    server_threads: usize,
    /// Worker threads of the client's runtime.
    #[arg(long, default_value_t = 2)]
    client_threads: usize,
}

const TOKEN: &str = "bench-token";

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let server_rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.server_threads.max(1))
        .thread_name("sim-server")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sim-bench: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let customers = args.customers.max(1);
    let sim = match server_rt.block_on(
        magento_sim::Simulator::builder()
            .customers(customers)
            .products(100)
            .orders(100)
            .token(TOKEN)
            .request_log_capacity(1_000)
            .start(),
    ) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sim-bench: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let addr = sim.addr();
    let client_rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .thread_name("sim-client")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sim-bench: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // Warm-up, then the measured run.
    let _ = client_rt.block_on(run(addr, &args, args.warmup, customers));
    let result = client_rt.block_on(run(addr, &args, args.requests, customers));
    server_rt.block_on(sim.shutdown());
    let (mut lat, errors, elapsed) = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sim-bench: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    lat.sort_unstable();
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        let i = ((lat.len() as f64 - 1.0) * p).round() as usize;
        lat[i] as f64 / 1000.0
    };
    let n = lat.len() as f64;
    let rps = n / elapsed.as_secs_f64();
    let (p50, p90, p99, max) = (pct(0.5), pct(0.9), pct(0.99), pct(1.0));
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "magento-sim benchmark: GET {} over {} keep-alive connections ({} cores)",
        args.path, args.connections, cores
    );
    println!("| requests | errors | seconds | requests/s | p50 ms | p90 ms | p99 ms | max ms |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| {} | {} | {:.2} | {:.0} | {:.3} | {:.3} | {:.3} | {:.3} |",
        lat.len(),
        errors,
        elapsed.as_secs_f64(),
        rps,
        p50,
        p90,
        p99,
        max
    );
    println!(
        "{}",
        serde_json::json!({
            "requests": lat.len(),
            "errors": errors,
            "connections": args.connections,
            "seconds": elapsed.as_secs_f64(),
            "requests_per_sec": rps.round(),
            "p50_ms": p50,
            "p90_ms": p90,
            "p99_ms": p99,
            "max_ms": max,
            "cores": cores,
            "path": args.path,
        })
    );
    std::process::ExitCode::SUCCESS
}

type RunResult = Result<(Vec<u32>, u64, Duration), String>;

async fn run(addr: std::net::SocketAddr, args: &Args, total: u64, customers: u32) -> RunResult {
    let next = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.connections.max(1) {
        let next = next.clone();
        let errors = errors.clone();
        let path = args.path.clone();
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| e.to_string())?;
            let _ = stream.set_nodelay(true);
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .map_err(|e| e.to_string())?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            let host = addr.to_string();
            let auth = format!("Bearer {TOKEN}");
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let id = 1 + (i % u64::from(customers));
                let uri = path.replace("{id}", &id.to_string());
                let req = hyper::Request::get(uri)
                    .header("host", &host)
                    .header("authorization", &auth)
                    .body(Empty::<Bytes>::new())
                    .map_err(|e| e.to_string())?;
                let t = Instant::now();
                sender.ready().await.map_err(|e| e.to_string())?;
                let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
                let ok = res.status().is_success();
                res.into_body().collect().await.map_err(|e| e.to_string())?;
                lat.push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                if !ok {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok::<Vec<u32>, String>(lat)
        }));
    }
    let mut all = Vec::with_capacity(total as usize);
    for t in tasks {
        let lat = t.await.map_err(|e| e.to_string())??;
        all.extend(lat);
    }
    Ok((all, errors.load(Ordering::Relaxed), started.elapsed()))
}
