//! Job functions: what a job runs, with typed arguments, and what it receives.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::handle::Queue;
use super::options::{Delayable, IdentityKey};
use super::retry::RetryPattern;
use crate::error::{SyncError, SyncResult};
use crate::extras::Extras;
use crate::storage::Storage;

/// The id of a stored job.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A boxed, sendable future, as job functions return.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What a finished job leaves behind: an optional result message.
pub type JobOutput = Option<String>;

/// Turns what a job function returns into the stored result.
pub trait IntoJobOutput {
    /// The result message to store, if any.
    fn into_job_output(self) -> JobOutput;
}

impl IntoJobOutput for () {
    fn into_job_output(self) -> JobOutput {
        None
    }
}

impl IntoJobOutput for String {
    fn into_job_output(self) -> JobOutput {
        Some(self)
    }
}

impl IntoJobOutput for &str {
    fn into_job_output(self) -> JobOutput {
        Some(self.to_owned())
    }
}

impl IntoJobOutput for Option<String> {
    fn into_job_output(self) -> JobOutput {
        self
    }
}

/// The defaults of a job function, used when a delay does not override them.
#[derive(Debug, Clone)]
pub struct JobDefaults {
    /// The channel (default `root`).
    pub channel: String,
    /// Lower runs first (default 10).
    pub priority: i32,
    /// Counted tries before the job fails; 0 retries forever (default 5).
    pub max_retries: u32,
    /// Delays between tries.
    pub retry_pattern: RetryPattern,
    /// The description shown to operators (default: the function's doc line or name).
    pub description: Option<String>,
    /// How long one try may run before it is stopped and retried.
    pub timeout: Option<Duration>,
}

/// The default priority: lower runs first.
pub const DEFAULT_PRIORITY: i32 = 10;
/// The default number of counted tries.
pub const DEFAULT_MAX_RETRIES: u32 = 5;

impl Default for JobDefaults {
    fn default() -> Self {
        JobDefaults {
            channel: super::channels::ROOT.to_owned(),
            priority: DEFAULT_PRIORITY,
            max_retries: DEFAULT_MAX_RETRIES,
            retry_pattern: RetryPattern::default(),
            description: None,
            timeout: None,
        }
    }
}

/// A job function: a name, typed arguments and the async body.
///
/// `#[job]` implements it for an `async fn`; implementing it by hand looks like this:
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use sync_core::SyncResult;
/// use sync_core::queue::{BoxFuture, JobContext, JobFunction, JobOutput};
///
/// struct SendMail;
///
/// #[derive(Serialize, Deserialize)]
/// struct SendMailArgs { to: String }
///
/// impl JobFunction for SendMail {
///     const NAME: &'static str = "send_mail";
///     type Args = SendMailArgs;
///     fn perform(ctx: JobContext, args: SendMailArgs) -> BoxFuture<SyncResult<JobOutput>> {
///         Box::pin(async move {
///             let _ = (ctx, args.to);
///             Ok(None)
///         })
///     }
/// }
///
/// let delayable = SendMail::with_args(SendMailArgs { to: "a@example.com".into() })?
///     .priority(5);
/// assert_eq!(delayable.name(), "send_mail");
/// # Ok::<(), sync_core::SyncError>(())
/// ```
pub trait JobFunction: Send + Sync + 'static {
    /// The name under which jobs are stored and workers find the function.
    const NAME: &'static str;
    /// The arguments, stored as JSON. Never put secrets here: store a backend id and let
    /// the job read the secret.
    type Args: Serialize + DeserializeOwned + Send + 'static;

    /// The defaults of the function's jobs.
    fn defaults() -> JobDefaults {
        JobDefaults::default()
    }

    /// The identity key of a job with these arguments, unless its delay sets another
    /// (queue_job's per-function `identity_key`). `#[job(identity_key = "import:{id}")]`,
    /// `#[job(identity_key = path::to::function)]` and `#[job(identity_exact)]` generate
    /// it; by default a job has none.
    fn identity_key(args: &Self::Args) -> Option<IdentityKey> {
        let _ = args;
        None
    }

    /// Runs one try of the job.
    fn perform(ctx: JobContext, args: Self::Args) -> BoxFuture<SyncResult<JobOutput>>;

    /// A job of this function with these arguments, ready to be delayed.
    fn with_args(args: Self::Args) -> SyncResult<Delayable>
    where
        Self: Sized,
    {
        Delayable::new::<Self>(&args)
    }
}

/// What the worker knows about the running job.
#[derive(Debug, Clone)]
pub struct JobInfo {
    /// The job's id.
    pub id: JobId,
    /// The job function's name.
    pub name: String,
    /// The channel the job was delayed in.
    pub channel: String,
    /// Counted tries used before this one.
    pub retry: u32,
    /// Counted tries allowed (0: forever).
    pub max_retries: u32,
    /// The attempt number, increased by every claim; fences out stale workers.
    pub attempt: i64,
}

/// What a job function receives: the job, the storage, the queue (to delay follow-up jobs)
/// and the typed data the worker was given (e.g. the [`App`](crate::App)).
#[derive(Clone)]
pub struct JobContext {
    pub(crate) info: Arc<JobInfo>,
    pub(crate) queue: Queue,
    pub(crate) data: Arc<Extras>,
}

impl fmt::Debug for JobContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobContext")
            .field("job", &self.info)
            .finish_non_exhaustive()
    }
}

impl JobContext {
    /// A context for running a job outside a worker (tests, synchronous mode).
    pub fn new(queue: Queue, info: JobInfo, data: Arc<Extras>) -> Self {
        JobContext {
            info: Arc::new(info),
            queue,
            data,
        }
    }

    /// The running job.
    pub fn job(&self) -> &JobInfo {
        &self.info
    }

    /// The queue, to delay follow-up jobs.
    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// The storage.
    pub fn storage(&self) -> &Storage {
        self.queue.storage()
    }

    /// Typed data given to the worker with [`WorkerBuilder::data`](super::WorkerBuilder::data).
    pub fn data<T: Send + Sync + 'static>(&self) -> SyncResult<&T> {
        self.data.get::<T>().ok_or_else(|| {
            SyncError::Failed(format!(
                "job `{}` needs worker data of type `{}`, which the worker was not given",
                self.info.name,
                std::any::type_name::<T>()
            ))
        })
    }
}
