//! `synckit schedules …`: the one table of periodic work, for both styles of sync.
//!
//! A schedule runs a batch import of a (backend, model) or an integration's forward sync
//! every so many seconds; the workers (`synckit worker`) enqueue the due ones, one worker per
//! run. `imports schedule` and `integrations add --every` are shorter ways to add one.

use std::fmt::Write as _;
use std::time::Duration;

use clap::Subcommand;
use sync_core::storage::{Schedule, ScheduledWork};
use sync_core::{App, SyncError, SyncResult};

/// The `schedules` subcommands.
#[derive(Debug, Subcommand)]
pub enum SchedulesCommand {
    /// List every schedule with its interval and next run.
    List,
    /// Run some work periodically (the interval of an existing schedule of it is replaced).
    Add {
        /// What runs.
        #[command(subcommand)]
        work: WorkArg,
    },
    /// Remove a schedule by its id (see `schedules list`); a job it queued still runs.
    Remove {
        /// The schedule's id.
        id: i64,
    },
}

/// What a schedule runs.
#[derive(Debug, Subcommand)]
pub enum WorkArg {
    /// A batch import of a model from a backend (as `imports queue`).
    Import {
        /// The backend's name.
        #[arg(long)]
        backend: String,
        /// The model, e.g. `magento.customer`.
        #[arg(long)]
        model: String,
        /// Seconds between two runs.
        #[arg(long)]
        every: u64,
    },
    /// A forward sync of an integration (as `integrations sync --queue`).
    ForwardSync {
        /// The integration's name or id.
        #[arg(long)]
        integration: String,
        /// Seconds between two runs.
        #[arg(long)]
        every: u64,
    },
}

/// Adds (or replaces the interval of) the schedule of `work`; returns the line to print.
pub async fn add(app: &App, work: ScheduledWork, every: u64) -> SyncResult<String> {
    if every == 0 {
        return Err(SyncError::Failed(
            "--every must be at least 1 second".into(),
        ));
    }
    let schedule = app
        .storage()
        .schedules()
        .set(&work, Duration::from_secs(every))
        .await?;
    Ok(format!(
        "schedule #{}: {} every {every} s, from the workers' next tick",
        schedule.id, schedule.work
    ))
}

fn show(schedule: &Schedule) -> String {
    let last = schedule.last_enqueued_at.map_or_else(
        || "never".to_owned(),
        |at| at.format("%Y-%m-%d %H:%M:%S").to_string(),
    );
    format!(
        "#{} {} every {} s, next {}, last enqueued {last}",
        schedule.id,
        schedule.work,
        schedule.every.as_secs(),
        schedule.next_run_at.format("%Y-%m-%d %H:%M:%S"),
    )
}

/// Runs a `schedules` subcommand; returns what to print.
pub async fn run(app: &App, command: SchedulesCommand) -> SyncResult<String> {
    let mut out = String::new();
    let schedules = app.storage().schedules();
    match command {
        SchedulesCommand::List => {
            let all = schedules.list().await?;
            if all.is_empty() {
                let _ = writeln!(out, "no schedules");
            }
            for schedule in &all {
                let _ = writeln!(out, "{}", show(schedule));
            }
        }
        SchedulesCommand::Add { work } => {
            let (work, every) = match work {
                WorkArg::Import {
                    backend,
                    model,
                    every,
                } => (
                    ScheduledWork::Import {
                        backend_id: super::imports::backend(app, &backend).await?.id,
                        model,
                    },
                    every,
                ),
                WorkArg::ForwardSync { integration, every } => (
                    ScheduledWork::ForwardSync {
                        integration_id: super::integrations::find(app, &integration).await?.id,
                    },
                    every,
                ),
            };
            let _ = writeln!(out, "{}", add(app, work, every).await?);
        }
        SchedulesCommand::Remove { id } => {
            if !schedules.remove(id).await? {
                return Err(SyncError::Failed(format!("no schedule with id {id}")));
            }
            let _ = writeln!(out, "schedule #{id} removed");
        }
    }
    Ok(out)
}
