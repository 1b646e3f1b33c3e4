//! The status model of batch executions: [`BatchStatus`] and [`ExitStatus`].
//!
//! Both follow the Spring Batch model Oro's BatchBundle uses, including its severity orders,
//! so that "the worse status wins" when a job combines the outcomes of its steps.

use std::fmt;
use std::str::FromStr;

use crate::error::SyncError;

/// Where a job or step execution is in its life, ordered by severity as in Oro.
///
/// `Completed` is the least severe; `Unknown` the most. A finished execution never goes
/// back from a failure to a success (see [`BatchStatus::upgrade_to`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BatchStatus {
    /// Finished successfully.
    Completed,
    /// Created, not running yet.
    Starting,
    /// Running.
    Started,
    /// Asked to stop; will stop at the next check.
    Stopping,
    /// Stopped on request.
    Stopped,
    /// Finished with an error.
    Failed,
    /// Finished unsuccessfully and must not be restarted (e.g. found dead after a crash).
    Abandoned,
    /// Unknown (e.g. a status text this version does not know).
    Unknown,
}

impl BatchStatus {
    /// Every status, least severe first.
    pub const ALL: [BatchStatus; 8] = [
        BatchStatus::Completed,
        BatchStatus::Starting,
        BatchStatus::Started,
        BatchStatus::Stopping,
        BatchStatus::Stopped,
        BatchStatus::Failed,
        BatchStatus::Abandoned,
        BatchStatus::Unknown,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            BatchStatus::Completed => "completed",
            BatchStatus::Starting => "starting",
            BatchStatus::Started => "started",
            BatchStatus::Stopping => "stopping",
            BatchStatus::Stopped => "stopped",
            BatchStatus::Failed => "failed",
            BatchStatus::Abandoned => "abandoned",
            BatchStatus::Unknown => "unknown",
        }
    }

    /// Starting or started.
    pub fn is_running(self) -> bool {
        matches!(self, BatchStatus::Starting | BatchStatus::Started)
    }

    /// Failed, abandoned or unknown.
    pub fn is_unsuccessful(self) -> bool {
        self >= BatchStatus::Failed
    }

    /// The status after moving from `self` towards `other`, as Oro's `upgradeTo`: once past
    /// `Started` the worse one wins; otherwise `Completed` wins (the normal progression
    /// starting → started → completed).
    ///
    /// ```
    /// use sync_core::batch::BatchStatus;
    /// assert_eq!(BatchStatus::Started.upgrade_to(BatchStatus::Completed), BatchStatus::Completed);
    /// assert_eq!(BatchStatus::Failed.upgrade_to(BatchStatus::Completed), BatchStatus::Failed);
    /// ```
    pub fn upgrade_to(self, other: BatchStatus) -> BatchStatus {
        if self > BatchStatus::Started || other > BatchStatus::Started {
            self.max(other)
        } else if self == BatchStatus::Completed || other == BatchStatus::Completed {
            BatchStatus::Completed
        } else {
            self.max(other)
        }
    }
}

impl fmt::Display for BatchStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BatchStatus {
    type Err = SyncError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BatchStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| {
                SyncError::invalid_data(
                    "batch execution",
                    "status",
                    format!("unknown status `{s}`"),
                )
            })
    }
}

/// How an execution ended: a code and a description, as Oro's `ExitStatus`.
///
/// Codes have a severity (executing < completed < noop < stopped < failed < unknown < any
/// custom code); [`ExitStatus::and`] keeps the more severe code and joins the descriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitStatus {
    /// The exit code, e.g. `COMPLETED`.
    pub code: String,
    /// What happened, e.g. the failure message.
    pub description: String,
}

impl ExitStatus {
    /// Still running.
    pub const EXECUTING: &'static str = "EXECUTING";
    /// Finished normally.
    pub const COMPLETED: &'static str = "COMPLETED";
    /// Nothing was done (a job without steps).
    pub const NOOP: &'static str = "NOOP";
    /// Stopped on request.
    pub const STOPPED: &'static str = "STOPPED";
    /// Finished with an error.
    pub const FAILED: &'static str = "FAILED";
    /// Unknown.
    pub const UNKNOWN: &'static str = "UNKNOWN";

    /// An exit status with this code and no description.
    pub fn new(code: &str) -> Self {
        ExitStatus {
            code: code.to_owned(),
            description: String::new(),
        }
    }

    /// The same status with a description added.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        let description = description.into();
        if self.description.is_empty() {
            self.description = description;
        } else if !description.is_empty() {
            self.description = format!("{}; {description}", self.description);
        }
        self
    }

    /// The severity of the code: custom codes are the most severe, as in Oro.
    pub fn severity(&self) -> u8 {
        match self.code.as_str() {
            Self::EXECUTING => 1,
            Self::COMPLETED => 2,
            Self::NOOP => 3,
            Self::STOPPED => 4,
            Self::FAILED => 5,
            Self::UNKNOWN => 6,
            _ => 7,
        }
    }

    /// Combines two exit statuses: the more severe code, both descriptions.
    ///
    /// ```
    /// use sync_core::batch::ExitStatus;
    /// let done = ExitStatus::new(ExitStatus::COMPLETED);
    /// let failed = ExitStatus::new(ExitStatus::FAILED).with_description("remote refused");
    /// let both = done.and(&failed);
    /// assert_eq!(both.code, "FAILED");
    /// assert_eq!(both.description, "remote refused");
    /// ```
    pub fn and(&self, other: &ExitStatus) -> ExitStatus {
        let code = if other.severity() > self.severity() {
            other.code.clone()
        } else {
            self.code.clone()
        };
        ExitStatus {
            code,
            description: self.description.clone(),
        }
        .with_description(other.description.clone())
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.description.is_empty() {
            f.write_str(&self.code)
        } else {
            write!(f, "{} ({})", self.code, self.description)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_upgrade_as_in_oro() {
        use BatchStatus::*;
        assert_eq!(Starting.upgrade_to(Started), Started);
        assert_eq!(Started.upgrade_to(Completed), Completed);
        assert_eq!(Completed.upgrade_to(Failed), Failed);
        assert_eq!(Stopped.upgrade_to(Failed), Failed);
        assert_eq!(Failed.upgrade_to(Stopped), Failed);
        assert!(Failed.is_unsuccessful() && Abandoned.is_unsuccessful());
        assert!(!Stopped.is_unsuccessful());
        assert!(Starting.is_running() && Started.is_running() && !Stopping.is_running());
        for status in BatchStatus::ALL {
            assert_eq!(status.as_str().parse::<BatchStatus>().ok(), Some(status));
        }
        assert!("nope".parse::<BatchStatus>().is_err());
    }

    #[test]
    fn exit_statuses_keep_the_most_severe_code() {
        let custom = ExitStatus::new("PARTIAL");
        let failed = ExitStatus::new(ExitStatus::FAILED);
        assert_eq!(failed.and(&custom).code, "PARTIAL");
        assert_eq!(
            ExitStatus::new(ExitStatus::NOOP)
                .and(&ExitStatus::new(ExitStatus::COMPLETED))
                .code,
            "NOOP"
        );
    }
}
