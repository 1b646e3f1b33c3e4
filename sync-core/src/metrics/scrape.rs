//! The gauges read from the database at each scrape: jobs by channel and state, and the
//! checkpoints waiting for a review. Read rather than counted in the process, so that they
//! hold for every worker on the database and survive restarts.
//!
//! ```no_run
//! # async fn demo(storage: sync_core::storage::Storage) -> sync_core::SyncResult<()> {
//! let mut registry = prometheus_client::registry::Registry::default();
//! sync_core::metrics::register_database_gauges(&storage, &mut registry).await?;
//! # Ok(()) }
//! ```

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use sqlx::Row;

use crate::error::SyncResult;
use crate::storage::Storage;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobStateLabels {
    channel: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckpointLabels {
    backend: String,
    model: String,
}

/// Reads the database gauges now and registers them in `registry`:
/// `synckit_jobs{channel, state}` and `synckit_checkpoints_open{backend, model}`.
///
/// # Errors
/// The database's.
pub async fn register_database_gauges(
    storage: &Storage,
    registry: &mut Registry,
) -> SyncResult<()> {
    let jobs = Family::<JobStateLabels, Gauge>::default();
    let rows = sqlx::query(
        "SELECT channel, state, COUNT(*) AS jobs FROM queue_jobs GROUP BY channel, state",
    )
    .fetch_all(storage.pool())
    .await?;
    for row in &rows {
        jobs.get_or_create(&JobStateLabels {
            channel: row.try_get("channel")?,
            state: row.try_get("state")?,
        })
        .set(row.try_get("jobs")?);
    }
    registry.register("synckit_jobs", "Jobs per channel and state", jobs);

    let checkpoints = Family::<CheckpointLabels, Gauge>::default();
    // A checkpoint whose backend was removed still counts, under its id.
    let rows = sqlx::query(
        "SELECT COALESCE(b.name, CAST(c.backend_id AS TEXT)) AS backend, c.model, COUNT(*) AS open \
         FROM sync_checkpoints c LEFT JOIN sync_backends b ON b.id = c.backend_id \
         WHERE c.state = 'need_review' GROUP BY b.name, c.backend_id, c.model",
    )
    .fetch_all(storage.pool())
    .await?;
    for row in &rows {
        checkpoints
            .get_or_create(&CheckpointLabels {
                backend: row.try_get("backend")?,
                model: row.try_get("model")?,
            })
            .set(row.try_get("open")?);
    }
    registry.register(
        "synckit_checkpoints_open",
        "Checkpoints waiting for a review, per backend and model",
        checkpoints,
    );
    Ok(())
}
