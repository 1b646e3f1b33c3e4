//! Rendering the metrics: the process's families and the database gauges in one
//! OpenMetrics text, as `/metrics` answers it.
//!
//! ```no_run
//! # async fn demo(app: sync_core::App) -> sync_core::SyncResult<()> {
//! let body = app.metrics().render(app.storage()).await?;
//! assert!(body.ends_with("# EOF\n"));
//! # Ok(()) }
//! ```

use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;

use super::Metrics;
use super::scrape::register_database_gauges;
use crate::error::{SyncError, SyncResult};
use crate::storage::Storage;

/// The content type of a rendered exposition.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

impl Metrics {
    /// Registers the process's families in `registry` (a server that adds its own metrics
    /// builds one registry per scrape with these, the database gauges and its own). The
    /// families are shared, not copied: the registry shows their values when it is encoded.
    pub fn register(&self, registry: &mut Registry) {
        let f = &self.families;
        registry.register(
            "synckit_job_duration_seconds",
            "How long a job's try ran, per channel and function",
            f.job_duration.clone(),
        );
        registry.register(
            "synckit_job_latency_seconds",
            "How long a job waited from when it was due (created, or its eta) to its start",
            f.job_latency.clone(),
        );
        registry.register(
            "synckit_job_retries",
            "Job tries that failed and were scheduled again, per function",
            f.job_retries.clone(),
        );
        registry.register(
            "synckit_job_failures",
            "Jobs that failed for good, per function",
            f.job_failures.clone(),
        );
        registry.register(
            "synckit_http_requests",
            "HTTP requests to each backend, per status class (error: no answer)",
            f.http_requests.clone(),
        );
        registry.register(
            "synckit_http_request_duration_seconds",
            "How long HTTP requests to each backend took",
            f.http_duration.clone(),
        );
        registry.register(
            "synckit_http_retries",
            "HTTP requests sent again in place after a failed try, per backend",
            f.http_retries.clone(),
        );
        registry.register(
            "synckit_http_waits",
            "HTTP requests that waited before they were sent (rate limit, Retry-After)",
            f.http_waits.clone(),
        );
        registry.register(
            "synckit_http_wait_seconds",
            "Time HTTP requests waited before they were sent (rate limit, Retry-After)",
            f.http_wait_seconds.clone(),
        );
        registry.register(
            "synckit_records",
            "Records imported or exported, per model and outcome (done, unchanged, skipped, failed)",
            f.records.clone(),
        );
        registry.register(
            "synckit_conflicts",
            "Records changed on both sides whose fields were left for a human, per model",
            f.conflicts.clone(),
        );
    }

    /// The OpenMetrics text of these metrics and of the database gauges read now.
    ///
    /// # Errors
    /// The database's, while reading the gauges.
    pub async fn render(&self, storage: &Storage) -> SyncResult<String> {
        let mut registry = Registry::default();
        self.register(&mut registry);
        register_database_gauges(storage, &mut registry).await?;
        encode_registry(&registry)
    }

    /// The OpenMetrics text of the process's families alone (no database gauges).
    ///
    /// # Errors
    /// When the text cannot be written (it can only fail on a broken label encoder).
    pub fn render_process(&self) -> SyncResult<String> {
        let mut registry = Registry::default();
        self.register(&mut registry);
        encode_registry(&registry)
    }
}

fn encode_registry(registry: &Registry) -> SyncResult<String> {
    let mut body = String::new();
    encode(&mut body, registry)
        .map_err(|_| SyncError::Failed("the metrics could not be encoded".into()))?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::{Direction, JobEnd, Metrics, RecordOutcome, WaitReason};

    #[test]
    fn labels_are_rendered_in_order_and_escaped() {
        let metrics = Metrics::new();
        metrics.record(
            Direction::Import,
            "magento.\"odd\"\nmodel",
            RecordOutcome::Skipped,
        );
        let text = metrics.render_process().unwrap();
        assert!(
            text.contains(
                "synckit_records_total{direction=\"import\",model=\"magento.\\\"odd\\\"\\nmodel\",outcome=\"skipped\"} 1\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn status_classes_and_wait_reasons_have_fixed_values() {
        let metrics = Metrics::new();
        let http = metrics.http("shop");
        for status in [200, 201, 302, 404, 429, 503] {
            http.response(status, Duration::from_millis(3));
        }
        http.transport_error(Duration::from_secs(1));
        http.wait(WaitReason::Throttle, Duration::from_millis(250));
        http.wait(WaitReason::RetryAfter, Duration::from_secs(2));
        http.retry();
        let text = metrics.render_process().unwrap();
        for line in [
            "synckit_http_requests_total{backend=\"shop\",status_class=\"2xx\"} 2\n",
            "synckit_http_requests_total{backend=\"shop\",status_class=\"3xx\"} 1\n",
            "synckit_http_requests_total{backend=\"shop\",status_class=\"4xx\"} 2\n",
            "synckit_http_requests_total{backend=\"shop\",status_class=\"5xx\"} 1\n",
            "synckit_http_requests_total{backend=\"shop\",status_class=\"error\"} 1\n",
            "synckit_http_request_duration_seconds_count{backend=\"shop\"} 7\n",
            "synckit_http_waits_total{backend=\"shop\",reason=\"throttle\"} 1\n",
            "synckit_http_wait_seconds_total{backend=\"shop\",reason=\"throttle\"} 0.25\n",
            "synckit_http_wait_seconds_total{backend=\"shop\",reason=\"retry_after\"} 2.0\n",
            "synckit_http_retries_total{backend=\"shop\"} 1\n",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn job_ends_count_retries_and_failures_by_function() {
        let metrics = Metrics::new();
        let took = Duration::from_millis(20);
        metrics.job_started("shop.import", "root.shop", Duration::from_millis(30));
        metrics.job_finished("shop.import", "root.shop", took, JobEnd::Retried);
        metrics.job_finished("shop.import", "root.shop", took, JobEnd::Failed);
        metrics.job_finished("shop.import", "root.shop", took, JobEnd::Done);
        let text = metrics.render_process().unwrap();
        for line in [
            "synckit_job_retries_total{function=\"shop.import\"} 1\n",
            "synckit_job_failures_total{function=\"shop.import\"} 1\n",
            "synckit_job_duration_seconds_count{channel=\"root.shop\",function=\"shop.import\"} 3\n",
            "synckit_job_latency_seconds_count{channel=\"root.shop\",function=\"shop.import\"} 1\n",
            // 30 ms falls in the 40 ms bucket (10, 20, 40, … ms), not in the 20 ms one.
            "synckit_job_latency_seconds_bucket{le=\"0.02\",channel=\"root.shop\",function=\"shop.import\"} 0\n",
            "synckit_job_latency_seconds_bucket{le=\"0.04\",channel=\"root.shop\",function=\"shop.import\"} 1\n",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }
}
