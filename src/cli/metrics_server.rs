//! `synckit worker --metrics-listen ADDR`: the worker process serves its app's metrics at
//! `GET /metrics` (see `sync_core::metrics`): the counters of this process and the gauges
//! read from the database at each scrape.
//!
//! ```no_run
//! # async fn demo(app: synckit::App) -> synckit::SyncResult<()> {
//! let server = synckit::cli::metrics_server::start(app, "127.0.0.1:9464", None).await?;
//! println!("scrape http://{}/metrics", server.addr());
//! // The server stops when `server` is dropped.
//! # Ok(()) }
//! ```
//!
//! With a token (from `SYNCKIT_CONSOLE_READ_TOKEN` or `SYNCKIT_CONSOLE_TOKEN`, the console's
//! tokens) a scrape must send `Authorization: Bearer <token>`; without one the server only
//! listens on a loopback address.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sync_core::backend::Secret;
use sync_core::metrics::OPENMETRICS_CONTENT_TYPE;
use sync_core::{App, SyncError, SyncResult};
use tokio::task::JoinHandle;

/// The environment variables whose token a scrape must present, in the order looked up.
pub const TOKEN_VARIABLES: [&str; 2] = ["SYNCKIT_CONSOLE_READ_TOKEN", "SYNCKIT_CONSOLE_TOKEN"];

/// The token from the environment ([`TOKEN_VARIABLES`]), if one is set and not empty.
pub fn token_from_env() -> Option<Secret> {
    TOKEN_VARIABLES
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.is_empty())
        .map(Secret::new)
}

/// A running metrics server; dropping it stops the server.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl MetricsServer {
    /// The address it listens on (with the port the system chose for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct ServerState {
    app: App,
    token: Option<Secret>,
}

/// Listens on `addr` and serves `/metrics` for `app`, requiring `token` when given.
///
/// # Errors
/// An address that is not `host:port`, one that cannot be bound (named in the error), and a
/// non-loopback address without a token.
pub async fn start(app: App, addr: &str, token: Option<Secret>) -> SyncResult<MetricsServer> {
    let wanted: SocketAddr = addr.parse().map_err(|_| {
        SyncError::Failed(format!(
            "--metrics-listen `{addr}` is not an address (host:port, e.g. 127.0.0.1:9464)"
        ))
    })?;
    if token.is_none() && !wanted.ip().is_loopback() {
        return Err(SyncError::Failed(format!(
            "--metrics-listen {wanted} is not a loopback address: set {} (or {}) so that a \
             scrape needs a token",
            TOKEN_VARIABLES[0], TOKEN_VARIABLES[1]
        )));
    }
    let listener = tokio::net::TcpListener::bind(wanted)
        .await
        .map_err(|e| SyncError::Failed(format!("--metrics-listen {wanted}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| SyncError::Failed(format!("--metrics-listen {wanted}: {e}")))?;
    let router = Router::new()
        .route("/metrics", get(metrics))
        .with_state(ServerState { app, token });
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            eprintln!("the metrics server on {addr} stopped: {error}");
        }
    });
    Ok(MetricsServer { addr, task })
}

/// `GET /metrics`.
async fn metrics(State(state): State<ServerState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.token
        && !presents(&headers, token)
    {
        return (
            StatusCode::UNAUTHORIZED,
            [("www-authenticate", "Bearer")],
            "a bearer token is required\n",
        )
            .into_response();
    }
    match state.app.metrics().render(state.app.storage()).await {
        Ok(body) => ([(CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)], body).into_response(),
        Err(error) => {
            // The error is the database's (no secret in it); the scraper sees a 500.
            eprintln!("reading the metrics failed: {error}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("reading the metrics failed: {error}\n"),
            )
                .into_response()
        }
    }
}

/// Whether the request carries `Authorization: Bearer <token>`, compared in constant time.
fn presents(headers: &HeaderMap, token: &Secret) -> bool {
    let Some(sent) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let (a, b) = (sent.as_bytes(), token.expose().as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
