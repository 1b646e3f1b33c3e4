//! `magento-sim`: serve a simulated Magento 2 REST API until SIGINT/SIGTERM.

use clap::Parser;
use magento_sim::{ApiVersion, Faults, SimConfig, Simulator};
use std::net::SocketAddr;
use std::time::Duration;

/// A Magento 2.4/2.3 REST simulator with seeded data and fault injection.
#[derive(Debug, Parser)]
#[command(name = "magento-sim", disable_version_flag = true)]
struct Args {
    /// Address to listen on; port 0 picks a free port (the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Number of generated customers.
    #[arg(long, default_value_t = 100)]
    customers: u32,
    /// Number of generated products.
    #[arg(long, default_value_t = 50)]
    products: u32,
    /// Number of generated orders.
    #[arg(long, default_value_t = 200)]
    orders: u32,
    /// Admin user of POST /V1/integration/admin/token.
    #[arg(long, default_value = "admin")]
    admin_user: String,
    /// Admin password of POST /V1/integration/admin/token.
    #[arg(long, default_value = "admin123")]
    admin_password: String,
    /// Lifetime of admin tokens, in seconds.
    #[arg(long, default_value_t = 4 * 3600)]
    admin_token_ttl: u64,
    /// A fixed integration token accepted as "Authorization: Bearer <token>".
    #[arg(long, env = "MAGENTO_SIM_TOKEN")]
    token: Option<String>,
    /// Imitated Magento version: 2.3 or 2.4.
    #[arg(long = "version", id = "magento_version", default_value = "2.4")]
    magento_version: ApiVersion,
    /// Added latency per request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Extra random latency per request, up to this many milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_jitter_ms: u64,
    /// Probability of a 500 answer.
    #[arg(long, default_value_t = 0.0)]
    error_500_rate: f64,
    /// Probability of a 503 answer.
    #[arg(long, default_value_t = 0.0)]
    error_503_rate: f64,
    /// Probability of a 429 answer.
    #[arg(long, default_value_t = 0.0)]
    rate_limit_rate: f64,
    /// Retry-After seconds of 429/503 answers.
    #[arg(long, default_value_t = 1)]
    retry_after: u64,
    /// Probability that a request hangs (then loses its connection).
    #[arg(long, default_value_t = 0.0)]
    hang_rate: f64,
    /// How long a hanging request hangs, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    hang_ms: u64,
    /// Probability that a connection is dropped without an answer.
    #[arg(long, default_value_t = 0.0)]
    drop_rate: f64,
    /// Probability that a request is carried out and its answer lost (connection closed).
    #[arg(long, default_value_t = 0.0)]
    lost_answer_rate: f64,
    /// Only requests whose path contains this are faulted.
    #[arg(long)]
    fault_path: Option<String>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let faults = Faults {
        latency_ms: args.latency_ms,
        latency_jitter_ms: args.latency_jitter_ms,
        error_500_rate: args.error_500_rate,
        error_503_rate: args.error_503_rate,
        rate_limit_rate: args.rate_limit_rate,
        retry_after_secs: args.retry_after,
        hang_rate: args.hang_rate,
        hang_ms: args.hang_ms,
        drop_rate: args.drop_rate,
        lost_answer_rate: args.lost_answer_rate,
        path_contains: args.fault_path,
        ..Faults::none()
    };
    if let Err(e) = faults.validate() {
        eprintln!("magento-sim: {e}");
        return std::process::ExitCode::from(2);
    }
    let config = SimConfig {
        seed: args.seed,
        customers: args.customers,
        products: args.products,
        orders: args.orders,
        version: args.magento_version,
        token: args.token,
        admin_user: args.admin_user,
        admin_password: args.admin_password,
        admin_token_ttl: Duration::from_secs(args.admin_token_ttl),
        faults,
        listen: args.listen,
        ..SimConfig::default()
    };
    let started = std::time::Instant::now();
    let sim = match magento_sim::SimBuilder::from_config(config).start().await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("magento-sim: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    print_banner(&sim, started.elapsed());
    wait_for_signal().await;
    eprintln!("magento-sim: shutting down");
    sim.shutdown().await;
    std::process::ExitCode::SUCCESS
}

fn print_banner(sim: &Simulator, took: Duration) {
    let s = sim.state();
    println!("magento-sim listening on {}", sim.addr());
    println!("base URL: {}", sim.base_url());
    println!(
        "Magento {} | {} customers, {} products, {} orders (seed {}, generated in {:.2?})",
        s.version().as_str(),
        s.customers_count(),
        s.products_count(),
        s.orders_count(),
        s.config().seed,
        took
    );
    println!(
        "REST: {}  admin: {}/__sim/",
        sim.rest_url(Some("default")),
        sim.base_url()
    );
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
