//! The one error taxonomy of Synckit.
//!
//! Every variant tells the job runner what to do with the work that raised it: retry later
//! (counted or not), mark the job done with a message, or fail it so a human can act. The
//! variants follow the connector framework's exceptions (`RetryableJobError`,
//! `NothingToDoJob`, `IDMissingInBackend`, `ManyIDSInBackend`, `InvalidDataError`,
//! `MappingError`, `NetworkRetryableError`, `FailedJobError`, `NoComponentError`,
//! `SeveralComponentError`) so that connector authors find familiar names.

use std::time::Duration;

/// The result type used across Synckit.
pub type SyncResult<T> = Result<T, SyncError>;

/// What went wrong, and so what the job runner must do about it.
///
/// Messages never carry secrets: adapters that build them from HTTP errors strip tokens and
/// passwords before they get here.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The work can succeed later: retry it after `after` (or the job's retry pattern).
    ///
    /// With `count_retry == false` the retry does not use one of the job's tries; this is
    /// how a lock held by another worker is reported.
    #[error("retryable: {message}")]
    Retryable {
        /// Why the work must be retried.
        message: String,
        /// When to retry; `None` lets the job's retry pattern decide.
        after: Option<Duration>,
        /// Whether this retry uses up one of the job's tries.
        count_retry: bool,
    },
    /// A network failure (connection refused, reset, timeout, 429, 5xx): retried.
    #[error("network error: {message}")]
    Network {
        /// What failed, without credentials.
        message: String,
        /// A delay the remote side asked for (e.g. `Retry-After`).
        after: Option<Duration>,
    },
    /// There is nothing to do; the job is set done with this message.
    #[error("nothing to do: {0}")]
    NothingToDo(String),
    /// The record does not exist (any more) in the backend.
    #[error("{model} {id} is missing in the backend")]
    IdMissingInBackend {
        /// The model of the missing record.
        model: String,
        /// Its external id.
        id: String,
    },
    /// A key that must be unique in the backend matched several records.
    #[error("{model}: {key} matches several records in the backend: {ids:?}")]
    ManyIdsInBackend {
        /// The model searched.
        model: String,
        /// The natural key, e.g. `email = a@b.c`.
        key: String,
        /// The external ids found.
        ids: Vec<String>,
    },
    /// A record's data is invalid; names the record and the field.
    #[error("invalid data in {record}, field `{field}`: {message}")]
    InvalidData {
        /// The record, e.g. `customer 42`.
        record: String,
        /// The offending field (may be a path such as `addresses[0].city`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A mapping could not be computed; names the record and the field.
    #[error("mapping error in {record}, field `{field}`: {message}")]
    Mapping {
        /// The record being mapped.
        record: String,
        /// The source or target field of the failing mapping.
        field: String,
        /// What went wrong.
        message: String,
    },
    /// No component is registered for this look-up.
    #[error("no component with usage `{usage}` for model `{model}` on backend kind `{kind}`")]
    NoComponent {
        /// The most specific backend kind searched.
        kind: String,
        /// The model searched.
        model: String,
        /// The usage searched.
        usage: String,
    },
    /// Several components match one look-up at the same precedence level.
    #[error(
        "{count} components with usage `{usage}` for model `{model}` on backend kind `{kind}`: the look-up is ambiguous"
    )]
    SeveralComponents {
        /// The backend kind on which the ambiguity was found.
        kind: String,
        /// The model searched.
        model: String,
        /// The usage searched.
        usage: String,
        /// How many components matched.
        count: usize,
    },
    /// A binding unique key, (backend, model, external id) or (backend, model, local id),
    /// would be violated.
    #[error("binding conflict on {model}: {detail}")]
    BindingConflict {
        /// The binding model.
        model: String,
        /// Which key collided.
        detail: String,
    },
    /// The work failed and a human must act; the job goes to `failed`.
    #[error("failed: {0}")]
    Failed(String),
    /// A storage (database) error.
    #[error("storage error: {0}")]
    Storage(#[source] sqlx::Error),
    /// A migration error.
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl SyncError {
    /// A retryable error that counts as a retry, with an optional delay.
    pub fn retryable(message: impl Into<String>, after: Option<Duration>) -> Self {
        SyncError::Retryable {
            message: message.into(),
            after,
            count_retry: true,
        }
    }

    /// A retryable error that does not use one of the job's tries (e.g. a lock held by
    /// another worker).
    pub fn retry_uncounted(message: impl Into<String>, after: Duration) -> Self {
        SyncError::Retryable {
            message: message.into(),
            after: Some(after),
            count_retry: false,
        }
    }

    /// An invalid-data error naming the record and the field.
    pub fn invalid_data(
        record: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        SyncError::InvalidData {
            record: record.into(),
            field: field.into(),
            message: message.into(),
        }
    }

    /// A mapping error naming the record and the field.
    pub fn mapping(
        record: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        SyncError::Mapping {
            record: record.into(),
            field: field.into(),
            message: message.into(),
        }
    }

    /// Whether the job runner should try this work again.
    pub fn is_retryable(&self) -> bool {
        match self {
            SyncError::Retryable { .. } | SyncError::Network { .. } => true,
            SyncError::Storage(e) => is_transient_storage_error(e),
            _ => false,
        }
    }

    /// Whether a retry of this error uses up one of the job's tries.
    ///
    /// A transient database error (a lost connection, a server restart, a serialization
    /// failure, a deadlock, a busy SQLite file) says nothing about the job: like a lock
    /// held by another worker, it is retried without using a try, so a database restart
    /// never fails a job for good.
    pub fn counts_as_retry(&self) -> bool {
        match self {
            SyncError::Retryable { count_retry, .. } => *count_retry,
            SyncError::Storage(e) => !is_transient_storage_error(e),
            _ => true,
        }
    }

    /// The delay asked for by the error, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SyncError::Retryable { after, .. } | SyncError::Network { after, .. } => *after,
            // Serialization failures and busy databases clear quickly, and a restarting
            // server is back within seconds: retry soon, as queue_job does for PostgreSQL
            // serialization errors.
            SyncError::Storage(e) if is_transient_storage_error(e) => Some(Duration::from_secs(5)),
            _ => None,
        }
    }

    /// The record a record-level error names (`customer 42`), if it names one.
    pub fn record(&self) -> Option<String> {
        match self {
            SyncError::InvalidData { record, .. } | SyncError::Mapping { record, .. } => {
                Some(record.clone())
            }
            SyncError::IdMissingInBackend { model, id } => Some(format!("{model} {id}")),
            _ => None,
        }
    }

    /// Whether this error is about one record's data, so a batch should record it and go on.
    pub fn is_record_level(&self) -> bool {
        matches!(
            self,
            SyncError::InvalidData { .. }
                | SyncError::Mapping { .. }
                | SyncError::IdMissingInBackend { .. }
                | SyncError::ManyIdsInBackend { .. }
                | SyncError::NothingToDo(_)
                | SyncError::BindingConflict { .. }
        )
    }
}

impl From<sqlx::Error> for SyncError {
    fn from(error: sqlx::Error) -> Self {
        SyncError::Storage(error)
    }
}

/// Whether a database error is about the connection or about contention, not about the
/// work: worth retrying as it is.
///
/// - PostgreSQL SQLSTATE class `08` (connection exception), `57P01`/`57P02`/`57P03` (admin
///   shutdown, crash shutdown, cannot connect now: a restart), `53300` (too many
///   connections), `40001` (serialization failure), `40P01` (deadlock), `55P03` (lock not
///   available);
/// - SQLite `SQLITE_BUSY` and `SQLITE_LOCKED` with their extended codes;
/// - the driver's own connection failures: I/O errors (connection reset, broken pipe),
///   protocol errors (what reading a connection the server dropped mid-message yields), a
///   pool that timed out or was closed, a crashed SQLite worker thread.
pub(crate) fn is_transient_storage_error(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => db.code().as_deref().is_some_and(is_transient_sqlstate),
        sqlx::Error::Io(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        _ => false,
    }
}

fn is_transient_sqlstate(code: &str) -> bool {
    code.starts_with("08")
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "53300" | "40001" | "40P01" | "55P03"
            // SQLite: SQLITE_BUSY, SQLITE_LOCKED and their extended codes.
            | "5" | "6" | "261" | "262" | "517" | "773"
        )
}

/// A database error with a given SQLSTATE, as a driver reports it; for tests.
#[cfg(test)]
pub(crate) mod fake {
    use std::borrow::Cow;

    /// A database error carrying only a code and a message.
    #[derive(Debug)]
    pub(crate) struct CodedError(pub &'static str, pub &'static str);

    impl std::fmt::Display for CodedError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.1)
        }
    }

    impl std::error::Error for CodedError {}

    impl sqlx::error::DatabaseError for CodedError {
        fn message(&self) -> &str {
            self.1
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    /// `sqlx::Error::Database` with this SQLSTATE.
    pub(crate) fn database_error(code: &'static str, message: &'static str) -> sqlx::Error {
        sqlx::Error::Database(Box::new(CodedError(code, message)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_and_contention_errors_retry_without_counting() {
        let transient = [
            fake::database_error(
                "57P01",
                "terminating connection due to administrator command",
            ),
            fake::database_error(
                "57P02",
                "terminating connection due to crash of another server process",
            ),
            fake::database_error("57P03", "the database system is starting up"),
            fake::database_error("08006", "connection failure"),
            fake::database_error("08P01", "protocol violation"),
            fake::database_error("53300", "too many clients already"),
            fake::database_error("40001", "could not serialize access"),
            fake::database_error("40P01", "deadlock detected"),
            fake::database_error("5", "database is locked"),
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::BrokenPipe)),
            sqlx::Error::Protocol("unexpected end of stream".into()),
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
        ];
        for error in transient {
            let shown = error.to_string();
            let error = SyncError::from(error);
            assert!(error.is_retryable(), "{shown}");
            assert!(!error.counts_as_retry(), "{shown}");
            assert!(error.retry_after().is_some(), "{shown}");
        }
    }

    #[test]
    fn data_errors_of_the_database_are_not_retried() {
        for (code, message) in [
            ("23505", "duplicate key value violates unique constraint"),
            ("42P01", "relation does not exist"),
            ("2067", "UNIQUE constraint failed"),
        ] {
            let error = SyncError::from(fake::database_error(code, message));
            assert!(!error.is_retryable(), "{code}");
            assert!(error.counts_as_retry(), "{code}");
        }
        assert!(!SyncError::from(sqlx::Error::RowNotFound).is_retryable());
    }

    #[test]
    fn lock_errors_retry_without_counting() {
        let e = SyncError::retry_uncounted("lock taken", Duration::from_secs(1));
        assert!(e.is_retryable());
        assert!(!e.counts_as_retry());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(1)));
    }

    #[test]
    fn record_errors_name_record_and_field() {
        let e = SyncError::invalid_data("customer 42", "email", "not an address");
        assert_eq!(
            e.to_string(),
            "invalid data in customer 42, field `email`: not an address"
        );
        assert!(e.is_record_level());
        assert!(!e.is_retryable());
    }
}
