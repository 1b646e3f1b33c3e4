//! The states of a job and the transitions between them.

use std::fmt;
use std::str::FromStr;

use crate::error::SyncError;

/// The state of a job, as stored in `queue_jobs.state`.
///
/// The normal path is `pending → enqueued → started → done`; a job with unfinished parents
/// starts in `wait_dependencies`. A retryable error sends it back to `pending` with an eta;
/// any other error, or the last counted retry, sends it to `failed`. Operators move jobs to
/// `pending` (requeue), `done` or `cancelled`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waits for all its parents to be done.
    WaitDependencies,
    /// Ready to run once its eta has passed and its channel has capacity.
    Pending,
    /// Claimed by a worker (leased), not yet running.
    Enqueued,
    /// Running on a worker (leased).
    Started,
    /// Finished successfully (or set done by an operator, or nothing to do).
    Done,
    /// Failed; a human must act (requeue, set done or cancel).
    Failed,
    /// Cancelled by an operator.
    Cancelled,
}

impl JobState {
    /// Every state, in the order of the normal path.
    pub const ALL: [JobState; 7] = [
        JobState::WaitDependencies,
        JobState::Pending,
        JobState::Enqueued,
        JobState::Started,
        JobState::Done,
        JobState::Failed,
        JobState::Cancelled,
    ];

    /// The states in which a job is "live": waiting for its turn or running.
    pub const LIVE: [JobState; 4] = [
        JobState::WaitDependencies,
        JobState::Pending,
        JobState::Enqueued,
        JobState::Started,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::WaitDependencies => "wait_dependencies",
            JobState::Pending => "pending",
            JobState::Enqueued => "enqueued",
            JobState::Started => "started",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// Whether a worker holds a lease on a job in this state.
    pub fn is_leased(self) -> bool {
        matches!(self, JobState::Enqueued | JobState::Started)
    }

    /// Whether the job is live (waiting or running).
    pub fn is_live(self) -> bool {
        JobState::LIVE.contains(&self)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = SyncError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| {
                SyncError::Failed(format!(
                    "unknown job state `{s}`: expected one of wait_dependencies, pending, \
                     enqueued, started, done, failed, cancelled"
                ))
            })
    }
}

/// The condition that a keyed job is waiting (has not started its current try): a
/// duplicate merges into such a job, never into a claimed or running one, which may already
/// have read what it works on. Written as the identity indexes' predicates, so that both
/// databases use them.
pub(crate) const KEYED_WAITING_SQL: &str =
    "identity_key IS NOT NULL AND state IN ('wait_dependencies', 'pending')";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for state in JobState::ALL {
            assert_eq!(state.as_str().parse::<JobState>().unwrap(), state);
        }
        assert!("running".parse::<JobState>().is_err());
    }
}
