//! From what a try returned to what is stored: done, retried later, or failed.

use std::error::Error as _;

use super::job::JobOutput;
use super::retry::RetryPattern;
use super::store::Outcome;
use crate::error::SyncError;

/// The stored name of an error's kind (queue_job's `exc_name`).
pub(crate) fn error_kind(error: &SyncError) -> &'static str {
    match error {
        SyncError::Retryable { .. } => "Retryable",
        SyncError::Network { .. } => "Network",
        SyncError::NothingToDo(_) => "NothingToDo",
        SyncError::IdMissingInBackend { .. } => "IdMissingInBackend",
        SyncError::ManyIdsInBackend { .. } => "ManyIdsInBackend",
        SyncError::InvalidData { .. } => "InvalidData",
        SyncError::Mapping { .. } => "Mapping",
        SyncError::NoComponent { .. } => "NoComponent",
        SyncError::SeveralComponents { .. } => "SeveralComponents",
        SyncError::BindingConflict { .. } => "BindingConflict",
        SyncError::Failed(_) => "Failed",
        SyncError::Storage(_) => "Storage",
        SyncError::Migration(_) => "Migration",
        #[allow(unreachable_patterns)]
        _ => "Error",
    }
}

/// The error and its sources, one per line (the stored `exc_info`).
pub(crate) fn error_chain(error: &SyncError) -> String {
    let mut chain = format!("{}: {error}", error_kind(error));
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str("\ncaused by: ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}

/// Resolves a try's result against the job's retry budget.
///
/// `retry` is the number of counted tries used before this one. A counted retryable error
/// uses one more; when that reaches `max_retries` (and `max_retries > 0`) the job fails with
/// "Max. retries (n) reached". An uncounted retryable error uses none.
pub(crate) fn resolve(
    result: Result<JobOutput, SyncError>,
    retry: u32,
    max_retries: u32,
    pattern: &RetryPattern,
) -> Outcome {
    match result {
        Ok(result) => Outcome::Done { result },
        Err(SyncError::NothingToDo(message)) => Outcome::Done {
            result: Some(if message.is_empty() {
                "Job interrupted and set to Done: nothing to do.".to_owned()
            } else {
                message
            }),
        },
        Err(error) if error.is_retryable() => {
            let counted = error.counts_as_retry();
            let retry = if counted {
                retry.saturating_add(1)
            } else {
                retry
            };
            if counted && max_retries > 0 && retry >= max_retries {
                return Outcome::Failed {
                    retry,
                    name: error_kind(&error).to_owned(),
                    message: format!("Max. retries ({max_retries}) reached: {error}"),
                    info: error_chain(&error),
                };
            }
            let delay = pattern.next_delay(error.retry_after(), retry.max(1));
            Outcome::Retry {
                retry,
                delay_us: i64::try_from(delay.as_micros()).unwrap_or(i64::MAX / 4),
                message: error.to_string(),
                info: error_chain(&error),
            }
        }
        Err(error) => Outcome::Failed {
            retry: retry.saturating_add(1),
            name: error_kind(&error).to_owned(),
            message: error.to_string(),
            info: error_chain(&error),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn retry_budget() {
        let p = RetryPattern::new();
        let e = || Err(SyncError::retryable("busy", Some(Duration::from_secs(2))));
        match resolve(e(), 0, 5, &p) {
            Outcome::Retry {
                retry, delay_us, ..
            } => {
                assert_eq!(retry, 1);
                assert_eq!(delay_us, 2_000_000);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            resolve(e(), 4, 5, &p),
            Outcome::Failed { retry: 5, .. }
        ));
        // 0 retries forever.
        assert!(matches!(resolve(e(), 1000, 0, &p), Outcome::Retry { .. }));
        // Uncounted retries never exhaust the budget.
        let lock = Err(SyncError::retry_uncounted("lock", Duration::from_secs(1)));
        assert!(matches!(
            resolve(lock, 4, 5, &p),
            Outcome::Retry { retry: 4, .. }
        ));
    }

    #[test]
    fn a_lost_database_connection_retries_without_using_a_try() {
        let p = RetryPattern::new();
        let restart = || {
            Err(SyncError::from(crate::error::fake::database_error(
                "57P01",
                "terminating connection due to administrator command",
            )))
        };
        // Even on the last try, and with a budget of one: the job did nothing wrong.
        for (retry, max_retries) in [(0, 1), (4, 5)] {
            match resolve(restart(), retry, max_retries, &p) {
                Outcome::Retry {
                    retry: after,
                    delay_us,
                    message,
                    info,
                } => {
                    assert_eq!(after, retry, "the retry is not counted");
                    assert!(delay_us > 0);
                    assert!(message.contains("administrator command"), "{message}");
                    assert!(
                        info.contains(&message),
                        "the chain holds the message: {info}"
                    );
                }
                other => panic!("{other:?}"),
            }
        }
        let reset = Err(SyncError::from(sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset,
        ))));
        assert!(matches!(
            resolve(reset, 0, 1, &p),
            Outcome::Retry { retry: 0, .. }
        ));
        // A constraint violation is the job's own fault: it fails.
        let duplicate = Err(SyncError::from(crate::error::fake::database_error(
            "23505",
            "duplicate key value violates unique constraint",
        )));
        assert!(matches!(
            resolve(duplicate, 0, 5, &p),
            Outcome::Failed { retry: 1, .. }
        ));
    }

    #[test]
    fn nothing_to_do_and_failures() {
        let p = RetryPattern::new();
        match resolve(
            Err(SyncError::NothingToDo("already there".into())),
            0,
            5,
            &p,
        ) {
            Outcome::Done { result } => assert_eq!(result.as_deref(), Some("already there")),
            other => panic!("{other:?}"),
        }
        match resolve(
            Err(SyncError::invalid_data("c 1", "email", "bad")),
            0,
            5,
            &p,
        ) {
            Outcome::Failed { name, info, .. } => {
                assert_eq!(name, "InvalidData");
                assert!(info.contains("field `email`"));
            }
            other => panic!("{other:?}"),
        }
    }
}
