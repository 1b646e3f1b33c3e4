//! Progress of `imports run` and `integrations sync`: an indicatif bar on stderr when it is
//! a terminal (records/s, and a length and an ETA when the backend counts the records), and
//! plain lines otherwise, so that a log file gets text rather than control codes.
//!
//! - [`ImportBar`] hears a batch import page by page (see
//!   `sync_core::sync::ImportProgressHook`): the backend's count of the records left gives
//!   the length.
//! - [`SyncWatch`] follows a forward sync through the counters its steps save after each
//!   chunk; steps do not know how many records they will read, so it shows counts and a
//!   rate, no ETA.
//!
//! ```no_run
//! # async fn demo(ctx: synckit::WorkContext) -> synckit::SyncResult<()> {
//! use std::sync::Arc;
//! use synckit::sync::{ImportMode, ImportProgressHook, run_batch_import};
//!
//! let bar = Arc::new(synckit::cli::progress::ImportBar::new(ctx.model()));
//! let ctx = ctx.with_extra(ImportProgressHook(bar.clone()));
//! run_batch_import(&ctx, ImportMode::Direct, false).await?;
//! bar.finish();
//! # Ok(()) }
//! ```

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};
use sync_core::App;
use sync_core::batch::ExecutionFilter;
use sync_core::sync::ImportProgress;
use tokio::task::JoinHandle;

use super::output::stderr_is_terminal;

/// How often a [`SyncWatch`] reads the step counters, and the least time between two plain
/// progress lines.
const TICK: Duration = Duration::from_millis(500);

/// Where progress goes: a bar on a terminal, else plain lines on stderr.
enum Display {
    Bar(ProgressBar),
    Lines {
        /// When the last line was written, to write at most one per [`TICK`].
        last: Mutex<Option<Instant>>,
    },
}

impl Display {
    fn new() -> Self {
        if stderr_is_terminal() {
            // Cleared however it ends (the command prints its report after it).
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
                .with_finish(ProgressFinish::AndClear);
            bar.set_style(spinner_style());
            bar.enable_steady_tick(Duration::from_millis(120));
            Display::Bar(bar)
        } else {
            Display::Lines {
                last: Mutex::new(None),
            }
        }
    }

    /// Writes a plain line unless one was written less than a tick ago (`force`: always).
    fn line(&self, text: impl FnOnce() -> String, force: bool) {
        if let Display::Lines { last } = self {
            let mut last = match last.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            if force || last.is_none_or(|at| at.elapsed() >= TICK) {
                eprintln!("{}", text());
                *last = Some(Instant::now());
            }
        }
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix} {pos} records ({per_sec}) {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{prefix} [{bar:30}] {pos}/{len} records ({per_sec}, ETA {eta}) {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

fn rate(records: u64, since: Instant) -> f64 {
    let secs = since.elapsed().as_secs_f64();
    if secs > 0.0 {
        records as f64 / secs
    } else {
        0.0
    }
}

/// The progress of one batch import (an [`ImportProgress`]).
pub struct ImportBar {
    model: String,
    display: Display,
    started: Instant,
    read: AtomicU64,
    /// The backend's total for the window (read so far + left), when it gave one.
    total: AtomicU64,
    written: AtomicU64,
    failed: AtomicU64,
}

impl ImportBar {
    /// The progress of importing `model`, shown on stderr.
    pub fn new(model: &str) -> Self {
        let display = Display::new();
        if let Display::Bar(bar) = &display {
            bar.set_prefix(model.to_owned());
        }
        ImportBar {
            model: model.to_owned(),
            display,
            started: Instant::now(),
            read: AtomicU64::new(0),
            total: AtomicU64::new(0),
            written: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }
    }

    /// Ends the display (the bar is cleared: the command prints its report).
    pub fn finish(&self) {
        match &self.display {
            Display::Bar(bar) => bar.finish_and_clear(),
            Display::Lines { .. } => self.display.line(|| self.text(), true),
        }
    }

    fn text(&self) -> String {
        let written = self.written.load(Ordering::Relaxed);
        let total = self.total.load(Ordering::Relaxed);
        let of = if total > 0 {
            format!("/{total}")
        } else {
            String::new()
        };
        format!(
            "{}: {written}{of} records ({:.1}/s), {} failed",
            self.model,
            rate(written, self.started),
            self.failed.load(Ordering::Relaxed)
        )
    }
}

impl ImportProgress for ImportBar {
    fn page_read(&self, records: u64, remaining: Option<u64>) {
        let before = self.read.fetch_add(records, Ordering::Relaxed);
        if let Some(remaining) = remaining {
            let total = before + remaining.max(records);
            self.total.store(total, Ordering::Relaxed);
            if let Display::Bar(bar) = &self.display {
                if bar.length().is_none() {
                    bar.set_style(bar_style());
                }
                bar.set_length(total);
            }
        }
    }

    fn page_written(&self, records: u64, failed: u64) {
        self.written.fetch_add(records, Ordering::Relaxed);
        let failed = self.failed.fetch_add(failed, Ordering::Relaxed) + failed;
        match &self.display {
            Display::Bar(bar) => {
                bar.inc(records);
                if failed > 0 {
                    bar.set_message(format!("{failed} failed"));
                }
            }
            Display::Lines { .. } => self.display.line(|| self.text(), false),
        }
    }
}

/// Follows the forward sync of an integration from the counters its steps save: a task
/// that reads them every half second until [`SyncWatch::finish`].
pub struct SyncWatch {
    task: JoinHandle<()>,
}

impl SyncWatch {
    /// Starts following the executions of `integration_id` (one connector's only, when
    /// given) that start from now on.
    pub fn start(app: &App, integration_id: i64, connector: Option<String>) -> Self {
        let storage = app.storage().clone();
        let since = chrono::Utc::now() - chrono::Duration::seconds(1);
        let task = tokio::spawn(async move {
            let display = Display::new();
            let started = Instant::now();
            let filter = ExecutionFilter {
                integration_id: Some(integration_id),
                connector,
                limit: Some(1),
            };
            let mut shown = None;
            loop {
                tokio::time::sleep(TICK).await;
                // A failed read only skips a tick: the sync reports its own errors.
                let Ok(executions) = storage.batch_executions().list(&filter).await else {
                    continue;
                };
                let Some(execution) = executions
                    .into_iter()
                    .find(|e| e.created_at >= since && e.ended_at.is_none())
                else {
                    continue;
                };
                let counters = execution.counters();
                let step = execution
                    .steps
                    .iter()
                    .rev()
                    .find(|s| s.ended_at.is_none())
                    .map(|s| s.step_name.clone())
                    .unwrap_or_default();
                let what = format!(
                    "{} {step}",
                    execution
                        .connector
                        .as_deref()
                        .unwrap_or(&execution.job_name)
                );
                let key = (execution.id, counters.read, counters.errors);
                if shown == Some(key) {
                    continue;
                }
                shown = Some(key);
                match &display {
                    Display::Bar(bar) => {
                        bar.set_prefix(what);
                        bar.set_position(counters.read);
                        bar.set_message(format!(
                            "{} processed, {} errors",
                            counters.processed, counters.errors
                        ));
                    }
                    Display::Lines { .. } => display.line(
                        || {
                            format!(
                                "{what}: {} read ({:.1}/s), {} processed, {} errors",
                                counters.read,
                                rate(counters.read, started),
                                counters.processed,
                                counters.errors
                            )
                        },
                        true,
                    ),
                }
            }
        });
        SyncWatch { task }
    }

    /// Stops following (the bar is cleared: the command prints its report).
    pub fn finish(self) {
        self.task.abort();
    }
}

impl Drop for SyncWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}
