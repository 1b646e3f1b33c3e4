//! `synckit imports …`: batch imports per (backend, model), their cursors and schedules.
//!
//! A batch import resumes from its stored cursor and moves it only when every record went
//! through (see `sync_core::sync::run_batch_import`). `run` imports now, `queue` hands the
//! import to the workers, `schedule` makes it periodic: a schedule of the one table
//! `schedules` shows (the workers enqueue it when due).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use clap::{Args, Subcommand};
use sync_core::backend::Backend;
use sync_core::queue::JobFunction;
use sync_core::storage::ScheduledWork;
use sync_core::sync::{
    ImportBatchArgs, ImportBatchJob, ImportMode, ImportProgressHook, run_batch_import,
};
use sync_core::{App, BackendId, SyncError, SyncResult};

use super::output;
use super::progress::ImportBar;

/// The `imports` subcommands.
#[derive(Debug, Subcommand)]
pub enum ImportsCommand {
    /// List the import cursors: where each backend's model resumes, and its schedule.
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Import the records of a model changed since its cursor, now, in this process.
    Run(ImportArgs),
    /// Hand the import to the workers (one queued per backend and model).
    Queue(ImportArgs),
    /// Run the import of a model periodically (the workers enqueue it when due); the same as
    /// `schedules add import`.
    Schedule {
        /// Which backend and model.
        #[command(flatten)]
        target: Target,
        /// Seconds between two runs.
        #[arg(long)]
        every: u64,
    },
    /// Stop running the import of a model periodically (its cursor is kept); the same as
    /// `schedules remove` of its schedule.
    Unschedule {
        /// Which backend and model.
        #[command(flatten)]
        target: Target,
    },
    /// Show where the import of a model resumes.
    Cursor {
        /// Which backend and model.
        #[command(flatten)]
        target: Target,
    },
}

/// A backend and a model.
#[derive(Debug, Args)]
pub struct Target {
    /// The backend's name.
    #[arg(long)]
    pub backend: String,
    /// The model, e.g. `magento.customer`.
    #[arg(long)]
    pub model: String,
}

/// Arguments of `imports run` and `imports queue`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Which backend and model.
    #[command(flatten)]
    pub target: Target,
    /// Import everything instead of resuming from the cursor (the same as `integrations sync
    /// --force`).
    #[arg(long)]
    pub full: bool,
    /// Write the pages in this run instead of delaying one job per record (an initial load).
    #[arg(long)]
    pub direct: bool,
}

/// The backend named `name`.
pub(crate) async fn backend(app: &App, name: &str) -> SyncResult<Backend> {
    app.storage()
        .backends()
        .by_name(name)
        .await?
        .ok_or_else(|| SyncError::Failed(format!("no backend named `{name}`")))
}

fn mode(direct: bool) -> ImportMode {
    if direct {
        ImportMode::Direct
    } else {
        ImportMode::Jobs
    }
}

/// Runs an `imports` subcommand; returns what to print.
pub async fn run(app: &App, command: ImportsCommand) -> SyncResult<String> {
    let mut out = String::new();
    match command {
        ImportsCommand::List { json } => {
            let cursors = app.storage().list_import_cursors().await?;
            let names: HashMap<BackendId, String> = app
                .storage()
                .backends()
                .list()
                .await?
                .into_iter()
                .map(|b| (b.id, b.name))
                .collect();
            let backend_name = |id: BackendId| {
                names
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| format!("#{}", id.0))
            };
            if json {
                let rows = cursors
                    .iter()
                    .map(|c| {
                        serde_json::json!({
                            "backend_id": c.backend_id.0,
                            "backend": backend_name(c.backend_id),
                            "model": c.model,
                            "since": output::optional_time(c.since),
                            "every_secs": c.every.map(|d| d.as_secs()),
                            "next_run_at": output::optional_time(c.next_run_at),
                            "last_run_at": output::optional_time(c.last_run_at),
                        })
                    })
                    .collect();
                return Ok(output::json_list(rows));
            }
            for c in &cursors {
                let since = c
                    .since
                    .map_or_else(|| "everything".to_owned(), |t| format!("from {t}"));
                let every = c
                    .every
                    .map(|d| format!(", every {} s", d.as_secs()))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{} {}: next run imports {since}{every}",
                    backend_name(c.backend_id),
                    c.model
                );
            }
            if cursors.is_empty() {
                out.push_str("no import cursors\n");
            }
        }
        ImportsCommand::Run(args) => {
            let backend = backend(app, &args.target.backend).await?;
            let bar = Arc::new(ImportBar::new(&args.target.model));
            let ctx = app
                .context(backend, &args.target.model)
                .with_extra(ImportProgressHook(bar.clone()));
            let report = run_batch_import(&ctx, mode(args.direct), args.full).await;
            bar.finish();
            let report = report?;
            let _ = writeln!(
                out,
                "{}: {} records in {} pages, {} failed",
                args.target.model,
                report.dispatched,
                report.pages,
                report.errors.len()
            );
            for (id, error) in &report.errors {
                let _ = writeln!(out, "  {id}: {error}");
            }
            // The report goes to stderr with the error: a script sees a failed import by
            // its exit code.
            if !report.errors.is_empty() {
                return Err(SyncError::Failed(format!(
                    "{}the import of {} failed for {} record(s)",
                    out,
                    args.target.model,
                    report.errors.len()
                )));
            }
        }
        ImportsCommand::Queue(args) => {
            let backend = backend(app, &args.target.backend).await?;
            let job = ImportBatchJob::with_args(ImportBatchArgs {
                backend_id: backend.id,
                model: args.target.model.clone(),
                mode: mode(args.direct),
                full: args.full,
            })?
            .identity_key(ImportBatchJob::identity_key(backend.id, &args.target.model));
            let id = app.queue().enqueue(job).await?;
            let _ = writeln!(out, "queued job {id}");
        }
        ImportsCommand::Schedule { target, every } => {
            let backend = backend(app, &target.backend).await?;
            let work = ScheduledWork::Import {
                backend_id: backend.id,
                model: target.model.clone(),
            };
            let _ = writeln!(out, "{}", super::schedules::add(app, work, every).await?);
        }
        ImportsCommand::Unschedule { target } => {
            let backend = backend(app, &target.backend).await?;
            let work = ScheduledWork::Import {
                backend_id: backend.id,
                model: target.model.clone(),
            };
            let removed = app.storage().schedules().remove_work(&work).await?;
            let _ = if removed {
                writeln!(out, "{} on {} unscheduled", target.model, target.backend)
            } else {
                writeln!(
                    out,
                    "{} on {} was not scheduled",
                    target.model, target.backend
                )
            };
        }
        ImportsCommand::Cursor { target } => {
            let backend = backend(app, &target.backend).await?;
            let since = app
                .storage()
                .import_cursors()
                .since(backend.id, &target.model)
                .await?;
            let _ = match since {
                Some(since) => writeln!(out, "{} resumes from {since}", target.model),
                None => writeln!(
                    out,
                    "{} has no cursor: the next run imports everything",
                    target.model
                ),
            };
        }
    }
    Ok(out)
}
