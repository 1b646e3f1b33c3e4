//! `synckit serve`: the operator console (see [`crate::console`]) until SIGTERM or Ctrl-C.
//!
//! The tokens come from `SYNCKIT_CONSOLE_TOKEN` (admin) and `SYNCKIT_CONSOLE_READ_TOKEN`
//! (read-only) only, never from arguments: arguments show in the process list.

use std::net::SocketAddr;

use clap::Args;
use sync_core::queue::shutdown_signal;
use sync_core::{App, SyncError, SyncResult};

use crate::console::{ConsoleConfig, Tokens, check_config, serve};

/// The `serve` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Serve without any token, everyone being admin: only on a loopback address.
    #[arg(long)]
    pub insecure_local: bool,
}

/// Serves the console of `app` (the program's connectors settle conflict checkpoints) until
/// a shutdown signal.
///
/// # Errors
/// No token without `--insecure-local` (or that flag on a non-loopback address), an
/// address already in use, the server failing.
pub async fn run(app: &App, args: ServeArgs) -> SyncResult<String> {
    let config = ConsoleConfig {
        tokens: Tokens::from_env(),
        insecure_local: args.insecure_local,
    };
    // Refused before binding, so a wrong setup never opens the port.
    check_config(&config, args.listen)?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| SyncError::Failed(format!("cannot listen on {}: {e}", args.listen)))?;
    let addr = listener.local_addr().unwrap_or(args.listen);
    eprintln!("console on http://{addr}/");
    serve(listener, app.clone(), config, shutdown_signal()).await?;
    Ok(String::from("console stopped"))
}
