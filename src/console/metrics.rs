//! `GET /metrics`: the process's instrumentation ([`sync_core::metrics`]: job durations and
//! latencies, retries, HTTP requests, records per model, conflicts) and the gauges read from
//! the database at each scrape, so that they hold for every worker on the database and
//! survive restarts: the same families as `synckit worker --metrics-listen`, plus
//!
//! - `synckit_oldest_pending_age_seconds`: how long the oldest pending job has waited (0
//!   when none waits);
//! - `synckit_workers_live`: workers holding a lease.
//!
//! A registry is built per scrape rather than kept in a global: two consoles in one process
//! (two apps, two tests) never share figures.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::ConsoleState;
use super::error::{ConsoleError, ConsoleResult};

/// The content type of the answer.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `GET /metrics`.
pub async fn metrics(State(state): State<ConsoleState>) -> ConsoleResult<impl IntoResponse> {
    let queue = &state.queue;
    let mut registry = Registry::default();

    queue.metrics().register(&mut registry);
    sync_core::metrics::register_database_gauges(queue.storage(), &mut registry).await?;

    let oldest = Gauge::<i64>::default();
    registry.register(
        "synckit_oldest_pending_age_seconds",
        "How long the oldest pending job has waited",
        oldest.clone(),
    );
    if let Some(pending) = queue.oldest_pending().await? {
        let now = sync_core::storage::from_micros(queue.storage().now_micros().await?);
        oldest.set((now - pending.since).num_seconds().max(0));
    }

    let workers = Gauge::<i64>::default();
    registry.register(
        "synckit_workers_live",
        "Workers holding a lease (running or about to run a job)",
        workers.clone(),
    );
    workers.set(i64::try_from(queue.live_workers().await?.len()).unwrap_or(i64::MAX));

    let mut body = String::new();
    encode(&mut body, &registry).map_err(|error| {
        tracing::error!(%error, "console: the metrics failed to encode");
        ConsoleError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "the metrics failed to encode; see the server log",
        )
    })?;
    Ok(([(CONTENT_TYPE, OPENMETRICS)], body))
}
