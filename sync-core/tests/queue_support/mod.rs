//! Shared by the queue tests: job functions that record what they do, and helpers.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sync_core::SyncError;
use sync_core::SyncResult;
use sync_core::queue::{
    BoxFuture, Delayable, JobContext, JobFunction, JobId, JobOutput, JobRecord, JobRegistry,
    JobState, Queue, Worker, WorkerBuilder,
};
use sync_core::testing::TestDatabase;

/// What the test jobs saw.
#[derive(Default)]
pub struct Log {
    pub events: Mutex<Vec<String>>,
    running: Mutex<HashMap<String, (u32, u32)>>,
    pub starts: Mutex<Vec<(String, Instant)>>,
}

impl Log {
    pub fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }
    fn push(&self, tag: &str) {
        self.events.lock().unwrap().push(tag.to_owned());
    }
    /// The most jobs seen running at once under `key`.
    pub fn max_running(&self, key: &str) -> u32 {
        self.running.lock().unwrap().get(key).map_or(0, |(_, m)| *m)
    }
    fn enter(&self, key: &str) {
        let mut running = self.running.lock().unwrap();
        let entry = running.entry(key.to_owned()).or_default();
        entry.0 += 1;
        entry.1 = entry.1.max(entry.0);
    }
    fn leave(&self, key: &str) {
        if let Some(entry) = self.running.lock().unwrap().get_mut(key) {
            entry.0 -= 1;
        }
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct RecordArgs {
    pub tag: String,
}

/// Records its tag.
pub struct RecordJob;

impl JobFunction for RecordJob {
    const NAME: &'static str = "record";
    type Args = RecordArgs;
    fn perform(ctx: JobContext, args: RecordArgs) -> BoxFuture<SyncResult<JobOutput>> {
        Box::pin(async move {
            ctx.data::<Arc<Log>>()?.push(&args.tag);
            Ok(None)
        })
    }
}

pub fn record(tag: &str) -> Delayable {
    RecordJob::with_args(RecordArgs { tag: tag.into() }).unwrap()
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct FlakyArgs {
    pub tag: String,
    /// Fail this many tries before succeeding.
    pub failures: u32,
    /// retry | uncounted | nothing | fail
    pub kind: String,
}

/// Fails `failures` times in the way `kind` says, then records its tag.
pub struct FlakyJob;

impl JobFunction for FlakyJob {
    const NAME: &'static str = "flaky";
    type Args = FlakyArgs;
    fn perform(ctx: JobContext, args: FlakyArgs) -> BoxFuture<SyncResult<JobOutput>> {
        Box::pin(async move {
            let log = ctx.data::<Arc<Log>>()?;
            let tries = u32::try_from(ctx.job().attempt).unwrap_or(u32::MAX);
            if tries <= args.failures {
                log.push(&format!("{}:fail{tries}", args.tag));
                return Err(match args.kind.as_str() {
                    "retry" => SyncError::retryable("remote busy", Some(Duration::ZERO)),
                    "uncounted" => SyncError::retry_uncounted("lock taken", Duration::ZERO),
                    "nothing" => SyncError::NothingToDo("already imported".into()),
                    _ => SyncError::invalid_data("customer 42", "email", "not an address"),
                });
            }
            log.push(&args.tag);
            Ok(Some(format!("{} ok", args.tag)))
        })
    }
}

pub fn flaky(tag: &str, failures: u32, kind: &str) -> Delayable {
    FlakyJob::with_args(FlakyArgs {
        tag: tag.into(),
        failures,
        kind: kind.into(),
    })
    .unwrap()
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct SleepArgs {
    pub tag: String,
    pub ms: u64,
    /// Concurrency is tracked under this key.
    pub key: String,
}

/// Sleeps, tracking how many run at once under `key`.
pub struct SleepJob;

impl JobFunction for SleepJob {
    const NAME: &'static str = "sleep";
    type Args = SleepArgs;
    fn perform(ctx: JobContext, args: SleepArgs) -> BoxFuture<SyncResult<JobOutput>> {
        Box::pin(async move {
            let log = ctx.data::<Arc<Log>>()?.clone();
            log.starts
                .lock()
                .unwrap()
                .push((args.tag.clone(), Instant::now()));
            log.enter(&args.key);
            tokio::time::sleep(Duration::from_millis(args.ms)).await;
            log.leave(&args.key);
            log.push(&args.tag);
            Ok(None)
        })
    }
}

pub fn sleep(tag: &str, ms: u64, key: &str) -> Delayable {
    SleepJob::with_args(SleepArgs {
        tag: tag.into(),
        ms,
        key: key.into(),
    })
    .unwrap()
}

pub fn registry() -> JobRegistry {
    JobRegistry::new()
        .register::<RecordJob>()
        .register::<FlakyJob>()
        .register::<SleepJob>()
}

pub fn queue_of(db: &TestDatabase) -> Queue {
    Queue::with_url(db.storage.clone(), &db.url)
}

/// A worker for tests: fast polls and leases.
pub fn worker(queue: &Queue, log: &Arc<Log>) -> WorkerBuilder {
    Worker::builder(queue.clone(), registry())
        .data(log.clone())
        .poll_interval(Duration::from_millis(50))
        .lease(Duration::from_secs(5))
        .grace(Duration::from_secs(5))
}

pub async fn enqueue(queue: &Queue, job: Delayable) -> JobId {
    queue.enqueue(job).await.unwrap()
}

pub async fn state(queue: &Queue, id: JobId) -> JobState {
    queue.job(id).await.unwrap().state
}

pub async fn job(queue: &Queue, id: JobId) -> JobRecord {
    queue.job(id).await.unwrap()
}
