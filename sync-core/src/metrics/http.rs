//! [`HttpMetrics`]: what a connector's HTTP client records about the requests it sends to
//! one backend.
//!
//! ```
//! use std::time::Duration;
//! use sync_core::metrics::{Metrics, WaitReason};
//!
//! let http = Metrics::new().http("shop");
//! http.response(429, Duration::from_millis(12)); // counted under status_class="4xx"
//! http.wait(WaitReason::RetryAfter, Duration::from_secs(2));
//! http.retry();
//! ```

use std::time::Duration;

use super::Metrics;
use super::labels::{BackendLabels, HttpLabels, StatusClass, WaitLabels, WaitReason};

/// The HTTP instrumentation of one backend (labelled with its name). Cheap to clone; a
/// client keeps one and records each request through it.
#[derive(Clone, Debug)]
pub struct HttpMetrics {
    metrics: Metrics,
    backend: String,
}

impl HttpMetrics {
    pub(super) fn new(metrics: Metrics, backend: &str) -> Self {
        HttpMetrics {
            metrics,
            backend: backend.to_owned(),
        }
    }

    /// The backend's name, as labelled.
    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// An answer with `status` came after `took`.
    pub fn response(&self, status: u16, took: Duration) {
        self.count(StatusClass::of(status), took);
    }

    /// No answer came (a network error, a timeout) after `took`.
    pub fn transport_error(&self, took: Duration) {
        self.count(StatusClass::Error, took);
    }

    /// A request is sent again (in place, by the client) after a failed try.
    pub fn retry(&self) {
        self.metrics
            .families
            .http_retries
            .get_or_create(&self.backend_labels())
            .inc();
    }

    /// A request waited `waited` before it was sent, for `reason`.
    pub fn wait(&self, reason: WaitReason, waited: Duration) {
        let labels = WaitLabels {
            backend: self.backend.clone(),
            reason,
        };
        let families = &self.metrics.families;
        families.http_waits.get_or_create(&labels).inc();
        families
            .http_wait_seconds
            .get_or_create(&labels)
            .inc_by(waited.as_secs_f64());
    }

    fn count(&self, status_class: StatusClass, took: Duration) {
        let families = &self.metrics.families;
        families
            .http_requests
            .get_or_create(&HttpLabels {
                backend: self.backend.clone(),
                status_class,
            })
            .inc();
        families
            .http_duration
            .get_or_create(&self.backend_labels())
            .observe(took.as_secs_f64());
    }

    fn backend_labels(&self) -> BackendLabels {
        BackendLabels {
            backend: self.backend.clone(),
        }
    }
}
