//! The operator console, `synckit serve`: server-rendered pages and a JSON API over the
//! queue, with tokens, roles, sessions, CSRF protection, security headers and an audit log.
//!
//! It lives in the facade crate behind the `console` feature (on by default) rather than in
//! a crate of its own because it is part of the command line: a connector program that
//! embeds [`crate::cli::main_with`] gets `serve` with its own registry, and a user depends
//! on one crate. The pages are askama templates compiled into the binary and need no
//! script: nothing to install beyond cargo.
//!
//! One file per concern: [`auth`] (tokens, roles, sessions, the action check),
//! [`headers`], [`audit`], [`redact`], [`actions`], [`jobs_view`], [`backends_view`], [`bindings_view`], [`checkpoints_view`], [`integrations_view`], [`api`] (the JSON API
//! and its OpenAPI document), [`metrics`] (Prometheus) and [`pages`].
//!
//! ```no_run
//! # async fn demo(app: synckit::App) -> synckit::SyncResult<()> {
//! use synckit::console::{ConsoleConfig, Tokens, serve};
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080")
//!     .await
//!     .expect("the port is free");
//! let config = ConsoleConfig {
//!     tokens: Tokens::from_env(),
//!     insecure_local: false,
//! };
//! serve(listener, app, config, std::future::pending()).await
//! # }
//! ```

pub mod actions;
pub mod api;
pub mod audit;
pub mod auth;
pub mod backends_view;
pub mod bindings_view;
pub mod checkpoints_view;
pub mod error;
pub mod headers;
pub mod integrations_view;
pub mod jobs_view;
pub mod metrics;
pub mod pages;
pub mod redact;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use sync_core::queue::Queue;
use sync_core::{App, SyncError, SyncResult};
use tokio::net::TcpListener;

pub use auth::{Principal, Role, Tokens};

/// How the console authenticates.
#[derive(Debug, Clone, Default)]
pub struct ConsoleConfig {
    /// The admin and read-only tokens.
    pub tokens: Tokens,
    /// Serve without any token, as admin to everyone: only on a loopback address, for a
    /// console on one's own machine.
    pub insecure_local: bool,
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct ConsoleState {
    /// The app: its components settle conflict checkpoints through the record flows.
    pub app: App,
    /// The queue (and through it the storage).
    pub queue: Queue,
    /// The tokens.
    pub tokens: Arc<Tokens>,
    /// The signed-in sessions.
    pub sessions: auth::Sessions,
    /// The CSRF token of the pages when the console runs without tokens.
    pub local_csrf: String,
}

/// Checks that `config` may serve on `addr`: a token is set, or `insecure_local` is given
/// and `addr` is a loopback address.
///
/// # Errors
/// Why the console refuses to start.
pub fn check_config(config: &ConsoleConfig, addr: SocketAddr) -> SyncResult<()> {
    if !config.tokens.is_empty() {
        return Ok(());
    }
    if !config.insecure_local {
        return Err(SyncError::Failed(format!(
            "the console needs a token: set {} (admin) and/or {} (read-only), or pass \
             --insecure-local to serve on 127.0.0.1 without one",
            Tokens::ADMIN_ENV,
            Tokens::READ_ONLY_ENV
        )));
    }
    if !addr.ip().is_loopback() {
        return Err(SyncError::Failed(format!(
            "--insecure-local serves only on a loopback address, not on {addr}: set {} to \
             listen there",
            Tokens::ADMIN_ENV
        )));
    }
    Ok(())
}

/// The console's routes (pages, API), authenticated and with security headers, over
/// `app` (its queue, storage and the components of its connectors).
pub fn router(app: App, config: ConsoleConfig) -> Router {
    let state = ConsoleState {
        queue: app.queue().clone(),
        app,
        tokens: Arc::new(config.tokens),
        sessions: auth::Sessions::default(),
        local_csrf: auth::random_token(),
    };
    Router::new()
        .merge(api::routes())
        .merge(pages::routes())
        .route("/metrics", axum::routing::get(metrics::metrics))
        .layer(from_fn_with_state(state.clone(), auth::authenticate))
        .layer(from_fn(headers::security_headers))
        .with_state(state)
}

/// Serves the console of `app` on `listener` until `shutdown` completes.
///
/// # Errors
/// A configuration [`check_config`] refuses, or the server failing.
pub async fn serve(
    listener: TcpListener,
    app: App,
    config: ConsoleConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> SyncResult<()> {
    let addr = listener
        .local_addr()
        .map_err(|e| SyncError::Failed(format!("cannot read the console's address: {e}")))?;
    check_config(&config, addr)?;
    tracing::info!(%addr, "console listening");
    axum::serve(listener, router(app, config))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| SyncError::Failed(format!("the console stopped: {e}")))
}
