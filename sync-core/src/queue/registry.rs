//! [`JobRegistry`]: the job functions a worker can run, by name.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::job::{BoxFuture, JobContext, JobDefaults, JobFunction, JobOutput};
use crate::error::{SyncError, SyncResult};

/// A job function with its argument type erased: decodes JSON, then performs.
trait ErasedJob: Send + Sync {
    fn perform(&self, ctx: JobContext, args: &str) -> BoxFuture<SyncResult<JobOutput>>;
    fn defaults(&self) -> JobDefaults;
}

struct Typed<J>(std::marker::PhantomData<fn() -> J>);

impl<J: JobFunction> ErasedJob for Typed<J> {
    fn perform(&self, ctx: JobContext, args: &str) -> BoxFuture<SyncResult<JobOutput>> {
        match serde_json::from_str::<J::Args>(args) {
            Ok(args) => J::perform(ctx, args),
            // Bad arguments never panic: the job fails with a message naming the job and,
            // through serde's message, the field.
            Err(e) => {
                let error = SyncError::invalid_data(
                    format!("job `{}` (id {})", J::NAME, ctx.job().id),
                    "args",
                    format!("cannot decode the arguments: {e}"),
                );
                Box::pin(async move { Err(error) })
            }
        }
    }

    fn defaults(&self) -> JobDefaults {
        J::defaults()
    }
}

/// The job functions a worker runs, registered by type.
///
/// ```
/// # use sync_core::queue::{JobRegistry, JobFunction, JobContext, BoxFuture, JobOutput};
/// # use sync_core::SyncResult;
/// # struct Ping;
/// # impl JobFunction for Ping {
/// #     const NAME: &'static str = "ping";
/// #     type Args = ();
/// #     fn perform(_: JobContext, _: ()) -> BoxFuture<SyncResult<JobOutput>> {
/// #         Box::pin(async { Ok(None) })
/// #     }
/// # }
/// let registry = JobRegistry::new().register::<Ping>();
/// assert!(registry.contains("ping"));
/// ```
#[derive(Clone, Default)]
pub struct JobRegistry {
    jobs: HashMap<&'static str, Arc<dyn ErasedJob>>,
}

impl fmt::Debug for JobRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<_> = self.jobs.keys().collect();
        names.sort();
        f.debug_struct("JobRegistry").field("jobs", &names).finish()
    }
}

impl JobRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds job function `J`.
    pub fn register<J: JobFunction>(mut self) -> Self {
        self.add::<J>();
        self
    }

    /// Adds job function `J` in place.
    pub fn add<J: JobFunction>(&mut self) {
        self.jobs
            .insert(J::NAME, Arc::new(Typed::<J>(std::marker::PhantomData)));
    }

    /// Whether a function with this name is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.jobs.contains_key(name)
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.jobs.keys().copied().collect();
        names.sort_unstable();
        names
    }

    /// The defaults of a registered function.
    pub fn defaults(&self, name: &str) -> Option<JobDefaults> {
        self.jobs.get(name).map(|j| j.defaults())
    }

    /// Performs one try of the job `name` with JSON `args`.
    pub fn perform(
        &self,
        ctx: JobContext,
        name: &str,
        args: &str,
    ) -> BoxFuture<SyncResult<JobOutput>> {
        match self.jobs.get(name) {
            Some(job) => job.perform(ctx, args),
            None => {
                let error = SyncError::Failed(format!(
                    "no job function named `{name}` is registered with this worker"
                ));
                Box::pin(async move { Err(error) })
            }
        }
    }
}
