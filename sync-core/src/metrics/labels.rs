//! The label sets of the metrics, and the few closed sets of label values (status classes,
//! record outcomes, wait reasons), so that every series of a family has the same labels
//! and a dashboard can rely on the values.

use std::fmt::Write as _;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};

/// A job function on a channel: the labels of the job histograms.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct JobLabels {
    pub(crate) channel: String,
    pub(crate) function: String,
}

/// A job function: the labels of the retry and failure counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct FunctionLabels {
    pub(crate) function: String,
}

/// A backend and the class of an HTTP answer.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct HttpLabels {
    pub(crate) backend: String,
    pub(crate) status_class: StatusClass,
}

/// A backend.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct BackendLabels {
    pub(crate) backend: String,
}

/// A backend and why a request waited.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct WaitLabels {
    pub(crate) backend: String,
    pub(crate) reason: WaitReason,
}

/// A record flow's direction, model and outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RecordLabels {
    pub(crate) direction: Direction,
    pub(crate) model: String,
    pub(crate) outcome: RecordOutcome,
}

/// A model.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ModelLabels {
    pub(crate) model: String,
}

/// The class of an HTTP answer, or `error` when none came (connection refused, timeout,
/// an answer cut short).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum StatusClass {
    /// 1xx.
    Informational,
    /// 2xx.
    Success,
    /// 3xx.
    Redirection,
    /// 4xx.
    ClientError,
    /// 5xx.
    ServerError,
    /// No answer: a network error or a timeout.
    Error,
}

impl StatusClass {
    /// The class of an HTTP status code; a code outside 100–599 counts as an error (no
    /// valid answer came).
    pub fn of(status: u16) -> StatusClass {
        match status {
            100..=199 => StatusClass::Informational,
            200..=299 => StatusClass::Success,
            300..=399 => StatusClass::Redirection,
            400..=499 => StatusClass::ClientError,
            500..=599 => StatusClass::ServerError,
            _ => StatusClass::Error,
        }
    }
}

/// Why a request to a backend waited before it was sent.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum WaitReason {
    /// The client's own requests-per-second limit for the backend.
    Throttle,
    /// The backend asked for it (`429` or `503` with `Retry-After`), or a retry's backoff.
    RetryAfter,
}

/// Which way a record went.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Direction {
    /// Backend → local.
    Import,
    /// Local → backend.
    Export,
}

/// What a record's import or export did.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum RecordOutcome {
    /// Written: created, updated or adopted on the other side.
    Done,
    /// Nothing to write: up to date, or nothing changed since the last sync.
    Unchanged,
    /// A skip rule matched.
    Skipped,
    /// The try failed (a record retried by its job counts once per failed try).
    Failed,
}

/// Label values with a fixed spelling: the text a dashboard filters on.
macro_rules! label_values {
    ($($type:ident { $($variant:ident => $text:literal),+ $(,)? })+) => {$(
        impl $type {
            /// The label value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($type::$variant => $text),+
                }
            }
        }

        impl EncodeLabelValue for $type {
            fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
                encoder.write_str(self.as_str())
            }
        }
    )+};
}

label_values! {
    StatusClass {
        Informational => "1xx",
        Success => "2xx",
        Redirection => "3xx",
        ClientError => "4xx",
        ServerError => "5xx",
        Error => "error",
    }
    WaitReason {
        Throttle => "throttle",
        RetryAfter => "retry_after",
    }
    Direction {
        Import => "import",
        Export => "export",
    }
    RecordOutcome {
        Done => "done",
        Unchanged => "unchanged",
        Skipped => "skipped",
        Failed => "failed",
    }
}
