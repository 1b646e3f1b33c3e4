//! Process-wide instrumentation in the Prometheus (OpenMetrics) text format.
//!
//! One [`Metrics`] belongs to one application: it lives on the app's [`Queue`] handle,
//! which the app, its work contexts, its listeners and its workers all share, so every
//! part of the process counts into the same families without a global (two apps in one
//! process, e.g. two tests, never mix their figures). Rendering it adds the gauges read
//! from the database at that moment (jobs by state and channel, checkpoints open), so that
//! they hold for every worker on the database:
//!
//! ```no_run
//! # async fn demo(app: sync_core::App) -> sync_core::SyncResult<()> {
//! use std::time::Duration;
//! use sync_core::metrics::{Direction, RecordOutcome};
//!
//! let metrics = app.metrics();
//! // What the worker, the HTTP clients and the record flows record on their own:
//! metrics.record(Direction::Import, "magento.customer", RecordOutcome::Done);
//! metrics.http("shop").response(200, Duration::from_millis(40));
//! // A `/metrics` answer: the counters above and the database gauges.
//! let text = metrics.render(app.storage()).await?;
//! assert!(text.contains("synckit_records_total"));
//! # Ok(()) }
//! ```
//!
//! The families (label names in braces):
//!
//! | name | type | labels |
//! |---|---|---|
//! | `synckit_job_duration_seconds` | histogram | `channel`, `function` |
//! | `synckit_job_latency_seconds` (due → started) | histogram | `channel`, `function` |
//! | `synckit_job_retries_total` | counter | `function` |
//! | `synckit_job_failures_total` | counter | `function` |
//! | `synckit_http_requests_total` | counter | `backend`, `status_class` |
//! | `synckit_http_request_duration_seconds` | histogram | `backend` |
//! | `synckit_http_retries_total` | counter | `backend` |
//! | `synckit_http_waits_total` | counter | `backend`, `reason` |
//! | `synckit_http_wait_seconds_total` | counter | `backend`, `reason` |
//! | `synckit_records_total` | counter | `direction`, `model`, `outcome` |
//! | `synckit_conflicts_total` | counter | `model` |
//! | `synckit_jobs` (database) | gauge | `channel`, `state` |
//! | `synckit_checkpoints_open` (database) | gauge | `backend`, `model` |
//!
//! `synckit worker --metrics-listen ADDR` serves [`Metrics::render`] at `/metrics`.
//!
//! [`Queue`]: crate::queue::Queue

mod http;
mod labels;
mod records;
mod render;
mod scrape;

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

pub use http::HttpMetrics;
pub use labels::{Direction, RecordOutcome, StatusClass, WaitReason};
pub use render::OPENMETRICS_CONTENT_TYPE;
pub use scrape::register_database_gauges;

use labels::{
    BackendLabels, FunctionLabels, HttpLabels, JobLabels, ModelLabels, RecordLabels, WaitLabels,
};

/// A histogram family whose histograms share one set of buckets.
type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// How a job's try ended, for [`Metrics::job_finished`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEnd {
    /// The job is done (or had nothing to do).
    Done,
    /// The try failed and the job will be tried again.
    Retried,
    /// The job failed for good.
    Failed,
}

/// The counters and histograms of one application (see the [module documentation](self)).
/// Cheap to clone: clones count into the same families.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    families: Arc<Families>,
}

#[derive(Debug)]
struct Families {
    job_duration: Histograms<JobLabels>,
    job_latency: Histograms<JobLabels>,
    job_retries: Family<FunctionLabels, Counter>,
    job_failures: Family<FunctionLabels, Counter>,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Histograms<BackendLabels>,
    http_retries: Family<BackendLabels, Counter>,
    http_waits: Family<WaitLabels, Counter>,
    http_wait_seconds: Family<WaitLabels, Counter<f64>>,
    records: Family<RecordLabels, Counter>,
    conflicts: Family<ModelLabels, Counter>,
}

/// Job runs: from 5 ms to about 3 minutes.
fn job_duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 16))
}

/// Waits in the queue: from 10 ms to about 45 minutes.
fn job_latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 18))
}

/// HTTP requests: from 5 ms to about 40 s.
fn http_duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

impl Default for Families {
    fn default() -> Self {
        Families {
            job_duration: Family::new_with_constructor(job_duration_histogram),
            job_latency: Family::new_with_constructor(job_latency_histogram),
            job_retries: Family::default(),
            job_failures: Family::default(),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(http_duration_histogram),
            http_retries: Family::default(),
            http_waits: Family::default(),
            http_wait_seconds: Family::default(),
            records: Family::default(),
            conflicts: Family::default(),
        }
    }
}

impl Metrics {
    /// Fresh metrics, every counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// A job of `function` on `channel` started, `waited` after it became due (its
    /// creation, or its eta when it had one, e.g. a retry's delay).
    pub fn job_started(&self, function: &str, channel: &str, waited: Duration) {
        self.families
            .job_latency
            .get_or_create(&job_labels(function, channel))
            .observe(waited.as_secs_f64());
    }

    /// A try of a job of `function` on `channel` ran for `took` and ended as `end`.
    pub fn job_finished(&self, function: &str, channel: &str, took: Duration, end: JobEnd) {
        self.families
            .job_duration
            .get_or_create(&job_labels(function, channel))
            .observe(took.as_secs_f64());
        let labels = FunctionLabels {
            function: function.to_owned(),
        };
        match end {
            JobEnd::Done => {}
            JobEnd::Retried => {
                self.families.job_retries.get_or_create(&labels).inc();
            }
            JobEnd::Failed => {
                self.families.job_failures.get_or_create(&labels).inc();
            }
        }
    }

    /// The HTTP instrumentation of the backend named `backend`, for its client.
    pub fn http(&self, backend: &str) -> HttpMetrics {
        HttpMetrics::new(self.clone(), backend)
    }

    /// A record of `model` went `direction` with `outcome`.
    pub fn record(&self, direction: Direction, model: &str, outcome: RecordOutcome) {
        self.families
            .records
            .get_or_create(&RecordLabels {
                direction,
                model: model.to_owned(),
                outcome,
            })
            .inc();
    }

    /// A record of `model` changed on both sides since its last sync: its fields were left
    /// for a human (a checkpoint was opened).
    pub fn conflict(&self, model: &str) {
        self.families
            .conflicts
            .get_or_create(&ModelLabels {
                model: model.to_owned(),
            })
            .inc();
    }
}

fn job_labels(function: &str, channel: &str) -> JobLabels {
    JobLabels {
        channel: channel.to_owned(),
        function: function.to_owned(),
    }
}
