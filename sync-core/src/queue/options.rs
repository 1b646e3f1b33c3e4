//! [`Delayable`]: one job call with its options, ready to be delayed.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha1::{Digest, Sha1};

use super::channels::normalize_channel;
use super::graph::Graph;
use super::job::JobFunction;
use super::retry::RetryPattern;
use crate::error::{SyncError, SyncResult};

/// When a job may run at the earliest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eta {
    /// At this instant.
    At(DateTime<Utc>),
    /// This long after the job is stored (measured on the database's clock).
    In(Duration),
}

impl std::str::FromStr for Eta {
    type Err = SyncError;

    /// Parses what an operator types: an RFC 3339 instant, a number of seconds from now,
    /// or `now`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sync_core::queue::Eta;
    /// assert_eq!("now".parse::<Eta>()?, Eta::In(Duration::ZERO));
    /// assert_eq!("90".parse::<Eta>()?, Eta::In(Duration::from_secs(90)));
    /// assert!(matches!("2030-01-01T00:00:00Z".parse::<Eta>()?, Eta::At(_)));
    /// assert!("tomorrow".parse::<Eta>().is_err());
    /// # Ok::<(), sync_core::SyncError>(())
    /// ```
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let raw = raw.trim();
        if raw == "now" {
            return Ok(Eta::In(Duration::ZERO));
        }
        if let Ok(seconds) = raw.parse::<u64>() {
            return Ok(Eta::In(Duration::from_secs(seconds)));
        }
        DateTime::parse_from_rfc3339(raw)
            .map(|at| Eta::At(at.with_timezone(&Utc)))
            .map_err(|e| {
                SyncError::Failed(format!(
                    "eta `{raw}`: expected an RFC 3339 instant, seconds from now or `now` ({e})"
                ))
            })
    }
}

impl From<Duration> for Eta {
    fn from(delay: Duration) -> Self {
        Eta::In(delay)
    }
}

impl From<DateTime<Utc>> for Eta {
    fn from(at: DateTime<Utc>) -> Self {
        Eta::At(at)
    }
}

/// How a job's identity key is computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityKey {
    /// A key of your own, e.g. `import:magento:customer:42`.
    Key(String),
    /// The SHA-1 of the function name and the serialized arguments (queue_job's
    /// `identity_exact`): the same call with the same arguments is a duplicate.
    Exact,
}

impl From<&str> for IdentityKey {
    fn from(key: &str) -> Self {
        IdentityKey::Key(key.to_owned())
    }
}

impl From<String> for IdentityKey {
    fn from(key: String) -> Self {
        IdentityKey::Key(key)
    }
}

/// One job call (function and serialized arguments) with its options.
///
/// Built by the `call` function `#[job]` generates, or by [`JobFunction::with_args`]; the
/// options start from the function's defaults. Delay it with
/// [`Queue::delay`](super::Queue::delay), inside the caller's transaction.
///
/// ```
/// # use sync_core::queue::Delayable;
/// use std::time::Duration;
/// let job = Delayable::from_parts("import_customer", serde_json::json!({"id": 42}))?
///     .priority(5)
///     .eta(Duration::from_secs(60))
///     .max_retries(0) // retry forever
///     .channel("magento.customers")
///     .description("Import customer 42")
///     .identity_key("import:customer:42");
/// assert_eq!(job.options().channel, "root.magento.customers");
/// # Ok::<(), sync_core::SyncError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use = "a job is stored only once passed to `Queue::delay` (or a sibling)"]
pub struct Delayable {
    pub(crate) name: String,
    pub(crate) args: String,
    pub(crate) options: JobOptions,
}

/// The options of one delayed job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobOptions {
    /// Lower runs first.
    pub priority: i32,
    /// Not before.
    pub eta: Option<Eta>,
    /// Counted tries before failing; 0 retries forever.
    pub max_retries: u32,
    /// Shown to operators.
    pub description: Option<String>,
    /// The full channel name.
    pub channel: String,
    /// Deduplication: a job of the same key that waits (pending or wait_dependencies)
    /// takes this one's place; a running one gets at most one follow-up.
    pub identity_key: Option<IdentityKey>,
    /// Delays between tries.
    pub retry_pattern: RetryPattern,
    /// How long one try may run.
    pub timeout: Option<Duration>,
}

impl Delayable {
    /// A call of job function `J` with `args`, with `J`'s defaults.
    pub fn new<J: JobFunction>(args: &J::Args) -> SyncResult<Self> {
        let identity_key = J::identity_key(args);
        let args = serde_json::to_string(args).map_err(|e| {
            SyncError::Failed(format!(
                "job `{}`: cannot serialize arguments: {e}",
                J::NAME
            ))
        })?;
        let defaults = J::defaults();
        Ok(Delayable {
            name: J::NAME.to_owned(),
            args,
            options: JobOptions {
                priority: defaults.priority,
                eta: None,
                max_retries: defaults.max_retries,
                description: defaults.description,
                channel: normalize_channel(&defaults.channel),
                identity_key,
                retry_pattern: defaults.retry_pattern,
                timeout: defaults.timeout,
            },
        })
    }

    /// A call by name with arguments already in JSON, with the global defaults (used by
    /// tools and tests; typed code uses [`Delayable::new`]).
    pub fn from_parts(name: &str, args: impl Serialize) -> SyncResult<Self> {
        let args = serde_json::to_string(&args).map_err(|e| {
            SyncError::Failed(format!("job `{name}`: cannot serialize arguments: {e}"))
        })?;
        Ok(Delayable {
            name: name.to_owned(),
            args,
            options: JobOptions {
                priority: super::job::DEFAULT_PRIORITY,
                eta: None,
                max_retries: super::job::DEFAULT_MAX_RETRIES,
                description: None,
                channel: super::channels::ROOT.to_owned(),
                identity_key: None,
                retry_pattern: RetryPattern::default(),
                timeout: None,
            },
        })
    }

    /// The job function's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The serialized arguments (JSON).
    pub fn args_json(&self) -> &str {
        &self.args
    }

    /// The options.
    pub fn options(&self) -> &JobOptions {
        &self.options
    }

    /// Sets the priority (lower runs first; default 10).
    pub fn priority(mut self, priority: i32) -> Self {
        self.options.priority = priority;
        self
    }

    /// Sets the earliest start: an instant or a delay.
    pub fn eta(mut self, eta: impl Into<Eta>) -> Self {
        self.options.eta = Some(eta.into());
        self
    }

    /// Sets the number of counted tries (0 retries forever).
    pub fn max_retries(mut self, max_retries: u32) -> Self {
        self.options.max_retries = max_retries;
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.options.description = Some(description.into());
        self
    }

    /// Sets the channel (`magento` means `root.magento`).
    pub fn channel(mut self, channel: &str) -> Self {
        self.options.channel = normalize_channel(channel);
        self
    }

    /// Sets the identity key: a string, or [`IdentityKey::Exact`].
    pub fn identity_key(mut self, key: impl Into<IdentityKey>) -> Self {
        self.options.identity_key = Some(key.into());
        self
    }

    /// Sets the retry pattern.
    pub fn retry_pattern(mut self, pattern: RetryPattern) -> Self {
        self.options.retry_pattern = pattern;
        self
    }

    /// Sets the timeout of one try.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = Some(timeout);
        self
    }

    /// A graph: `self`, then `children` once `self` is done.
    pub fn on_done(self, children: impl Into<Graph>) -> Graph {
        Graph::from(self).on_done(children)
    }

    /// The identity key as stored, if any.
    pub(crate) fn identity_key_value(&self) -> Option<String> {
        match &self.options.identity_key {
            None => None,
            Some(IdentityKey::Key(key)) => Some(key.clone()),
            Some(IdentityKey::Exact) => {
                let mut hasher = Sha1::new();
                hasher.update(self.name.as_bytes());
                hasher.update([0u8]);
                hasher.update(self.args.as_bytes());
                let digest = hasher.finalize();
                Some(digest.iter().map(|b| format!("{b:02x}")).collect())
            }
        }
    }
}
