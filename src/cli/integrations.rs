//! `synckit integrations …`: Oro-style integrations from the command line.
//!
//! List, add, enable and disable integrations; run a forward sync or a reverse sync now (with
//! the connectors this binary registers) or hand it to the workers through the queue; show
//! executions with their counters and warnings, and the per-connector status rows; clean up.

use std::fmt::Write as _;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use sync_core::backend::Backend;
use sync_core::batch::{
    CleanupPolicy, ConnectorRun, ExecutionFilter, INTEGRATION_TYPE_USAGE, Integration,
    IntegrationType, JobExecution, NewIntegration, SyncOptions, cleanup, forward_sync,
    request_reverse_sync, reverse_sync, schedule_forward_sync,
};
use sync_core::storage::ScheduledWork;
use sync_core::sync::ConflictPolicy;
use sync_core::{App, LocalId, SyncError, SyncResult};

use super::output;
use super::progress::SyncWatch;

/// The `integrations` subcommands.
#[derive(Debug, Subcommand)]
pub enum IntegrationsCommand {
    /// List the integrations.
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Add an integration on an existing backend.
    Add(AddArgs),
    /// Enable an integration.
    Enable {
        /// The integration's name or id.
        integration: String,
    },
    /// Disable an integration (a running sync finishes).
    Disable {
        /// The integration's name or id.
        integration: String,
    },
    /// Run a forward sync (remote → local) of an integration.
    Sync(SyncArgs),
    /// Run a reverse sync (local → remote) of entities on a two-way connector.
    Reverse(ReverseArgs),
    /// Show job executions with their counters and warnings.
    Executions(ExecutionsArgs),
    /// Show the per-connector status rows of an integration.
    Statuses {
        /// The integration's name or id.
        integration: String,
        /// Only this connector.
        #[arg(long)]
        connector: Option<String>,
        /// At most this many rows, newest first.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Remove old statuses and executions (keeping each connector's latest completed status).
    Cleanup {
        /// Remove completed statuses and finished executions older than this many days.
        #[arg(long, default_value_t = 7)]
        days: u64,
        /// Remove failed statuses older than this many days.
        #[arg(long, default_value_t = 30)]
        failed_days: u64,
    },
}

/// How a field changed on both sides is settled: Oro's sync priorities `remote` and
/// `local`, or another conflict policy of the record jobs.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PriorityArg {
    /// The remote value wins (`remote_wins`).
    Remote,
    /// The local value wins (`local_wins`).
    Local,
    /// The side modified last wins (`newest_wins`).
    Newest,
    /// Neither: the field is left for a human, as a checkpoint (`field_merge`).
    FieldMerge,
}

impl PriorityArg {
    /// The conflict policy it stands for.
    pub fn policy(self) -> ConflictPolicy {
        match self {
            PriorityArg::Remote => ConflictPolicy::RemoteWins,
            PriorityArg::Local => ConflictPolicy::LocalWins,
            PriorityArg::Newest => ConflictPolicy::NewestWins,
            PriorityArg::FieldMerge => ConflictPolicy::FieldMerge,
        }
    }
}

/// Arguments of `integrations add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// A unique name.
    #[arg(long)]
    pub name: String,
    /// The backend's name.
    #[arg(long)]
    pub backend: String,
    /// A connector to enable, in run order (repeat the option).
    #[arg(long = "connector", required = true)]
    pub connectors: Vec<String>,
    /// Send local changes back (reverse sync), settling a field changed on both sides with
    /// this priority (stored and shown as its conflict policy).
    #[arg(long, value_enum)]
    pub two_way: Option<PriorityArg>,
    /// Log skipped items as errors.
    #[arg(long)]
    pub log_warnings: bool,
    /// The local owner of the records it creates.
    #[arg(long)]
    pub owner: Option<i64>,
    /// Run a forward sync this often (seconds) from the workers: a schedule, as `schedules add
    /// forward-sync` adds.
    #[arg(long)]
    pub every: Option<u64>,
}

/// Arguments of `integrations sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The integration's name or id.
    pub integration: String,
    /// Only this connector.
    #[arg(long)]
    pub connector: Option<String>,
    /// A full re-sync: read everything whatever the (backend, model) import cursor, then move
    /// it (the same as `imports run --full`).
    #[arg(long)]
    pub force: bool,
    /// Delay a job for the workers instead of running here.
    #[arg(long)]
    pub queue: bool,
}

/// Arguments of `integrations reverse`.
#[derive(Debug, Args)]
pub struct ReverseArgs {
    /// The integration's name or id.
    pub integration: String,
    /// The two-way connector.
    #[arg(long)]
    pub connector: String,
    /// A local entity id to export (repeat the option).
    #[arg(long = "id", required = true)]
    pub ids: Vec<i64>,
    /// Delay (or merge into) the connector's queued export job instead of running here.
    #[arg(long)]
    pub queue: bool,
}

/// Arguments of `integrations executions`.
#[derive(Debug, Args)]
pub struct ExecutionsArgs {
    /// Only this integration (name or id).
    pub integration: Option<String>,
    /// Only this connector.
    #[arg(long)]
    pub connector: Option<String>,
    /// At most this many executions, newest first.
    #[arg(long, default_value_t = 10)]
    pub limit: u32,
    /// Warnings shown per step.
    #[arg(long, default_value_t = 20)]
    pub warnings: u32,
}

/// Runs an `integrations` subcommand and returns what to print.
///
/// Syncs run here need the connectors' components in `app`'s registry; `--queue` hands them
/// to the workers, which have them.
pub async fn run(app: &App, command: IntegrationsCommand) -> SyncResult<String> {
    let storage = app.storage();
    let integrations = storage.integrations();
    let mut out = String::new();
    match command {
        IntegrationsCommand::List { json } => {
            let all = integrations.list().await?;
            if json {
                let mut rows = Vec::with_capacity(all.len());
                for integration in &all {
                    rows.push(integration_json(app, integration).await?);
                }
                return Ok(output::json_list(rows));
            }
            for integration in all {
                line(&mut out, describe(app, &integration).await?);
            }
            if out.is_empty() {
                line(&mut out, "no integrations".into());
            }
        }
        IntegrationsCommand::Add(args) => {
            let backend = storage
                .backends()
                .by_name(&args.backend)
                .await?
                .ok_or_else(|| SyncError::Failed(format!("no backend named `{}`", args.backend)))?;
            check_connectors(app, &backend, &args.connectors)?;
            let mut new = NewIntegration::new(backend.id, &args.name, args.connectors)
                .log_warnings(args.log_warnings);
            if let Some(priority) = args.two_way {
                new = new.two_way(priority.policy());
            }
            if let Some(owner) = args.owner {
                new = new.default_owner(owner);
            }
            if let Some(secs) = args.every {
                new = new.every(Duration::from_secs(secs));
            }
            let integration = integrations.create(new).await?;
            line(
                &mut out,
                format!("added {}", describe(app, &integration).await?),
            );
        }
        IntegrationsCommand::Enable { integration } => {
            let integration = find(app, &integration).await?;
            integrations.set_enabled(integration.id, true).await?;
            line(&mut out, format!("enabled {}", integration.name));
        }
        IntegrationsCommand::Disable { integration } => {
            let integration = find(app, &integration).await?;
            integrations.set_enabled(integration.id, false).await?;
            line(&mut out, format!("disabled {}", integration.name));
        }
        IntegrationsCommand::Sync(args) => {
            let integration = find(app, &args.integration).await?;
            if args.queue {
                let job =
                    schedule_forward_sync(app.queue(), integration.id, args.connector, args.force)
                        .await?;
                line(
                    &mut out,
                    format!("forward sync of {} queued as job {job}", integration.name),
                );
            } else {
                let watch = SyncWatch::start(app, integration.id, args.connector.clone());
                let options = SyncOptions {
                    connector: args.connector,
                    force: args.force,
                    ..SyncOptions::default()
                };
                let report = forward_sync(app, integration.id, options).await;
                watch.finish();
                let report = report?;
                for run in &report.runs {
                    show_run(&mut out, run);
                }
                // The report goes to stderr with the error: a script sees a failed sync by
                // its exit code.
                if !report.is_success() {
                    return Err(SyncError::Failed(format!(
                        "{out}the forward sync of {} did not complete",
                        integration.name
                    )));
                }
            }
        }
        IntegrationsCommand::Reverse(args) => {
            let integration = find(app, &args.integration).await?;
            let ids: Vec<LocalId> = args.ids.into_iter().map(LocalId).collect();
            if args.queue {
                let mut tx = storage.begin().await?;
                let job = request_reverse_sync(
                    &mut tx,
                    app.queue(),
                    integration.id,
                    &args.connector,
                    &ids,
                )
                .await?;
                tx.commit().await?;
                app.queue().wake();
                line(&mut out, format!("reverse sync requested in job {job}"));
            } else {
                let run = reverse_sync(app, integration.id, &args.connector, &ids).await?;
                show_run(&mut out, &run);
                if !run.is_success() {
                    return Err(SyncError::Failed(format!(
                        "{out}the reverse sync of {} did not complete",
                        integration.name
                    )));
                }
            }
        }
        IntegrationsCommand::Executions(args) => {
            let integration_id = match &args.integration {
                Some(name) => Some(find(app, name).await?.id),
                None => None,
            };
            let filter = ExecutionFilter {
                integration_id,
                connector: args.connector,
                limit: Some(args.limit),
            };
            let executions = storage.batch_executions().list(&filter).await?;
            if executions.is_empty() {
                line(&mut out, "no executions".into());
            }
            for execution in &executions {
                show_execution(app, &mut out, execution, args.warnings).await?;
            }
        }
        IntegrationsCommand::Statuses {
            integration,
            connector,
            limit,
        } => {
            let integration = find(app, &integration).await?;
            let statuses = storage
                .integration_statuses()
                .list(integration.id, connector.as_deref(), limit)
                .await?;
            for status in statuses {
                line(
                    &mut out,
                    format!(
                        "#{} {} {} {} {} data {}",
                        status.id,
                        status.created_at.format("%Y-%m-%d %H:%M:%S"),
                        status.connector,
                        status.direction,
                        status.code.as_str(),
                        serde_json::Value::Object(status.data.clone())
                    ),
                );
                for text in status.message.lines() {
                    line(&mut out, format!("    {text}"));
                }
            }
        }
        IntegrationsCommand::Cleanup { days, failed_days } => {
            const DAY: u64 = 24 * 3600;
            let policy = CleanupPolicy {
                completed_statuses: Duration::from_secs(days * DAY),
                executions: Duration::from_secs(days * DAY),
                failed_statuses: Duration::from_secs(failed_days * DAY),
                ..CleanupPolicy::default()
            };
            let report = cleanup(storage, policy).await?;
            line(
                &mut out,
                format!(
                    "removed {} statuses and {} executions; {} abandoned",
                    report.statuses, report.executions, report.abandoned
                ),
            );
        }
    }
    Ok(out)
}

/// Refuses connector names the backend's integration type does not declare, when this
/// program registers that type (otherwise the workers that have it check them at sync time).
fn check_connectors(app: &App, backend: &Backend, connectors: &[String]) -> SyncResult<()> {
    let ctx = app.context(backend.clone(), "");
    let itype = match ctx.component::<IntegrationType>(INTEGRATION_TYPE_USAGE) {
        Ok(itype) => itype,
        Err(SyncError::NoComponent { .. }) => return Ok(()),
        Err(error) => return Err(error),
    };
    for name in connectors {
        if itype.get(name).is_none() {
            let known: Vec<&str> = itype.connectors().iter().map(|c| c.name()).collect();
            return Err(SyncError::Failed(format!(
                "backend `{}` (kind `{}`) has no connector named `{name}`; its connectors: {}",
                backend.name,
                backend.kind,
                known.join(", ")
            )));
        }
    }
    Ok(())
}

fn line(out: &mut String, text: String) {
    let _ = writeln!(out, "{text}");
}

/// An integration by name, or by id when the text is a number.
pub(crate) async fn find(app: &App, name_or_id: &str) -> SyncResult<Integration> {
    let integrations = app.storage().integrations();
    if let Some(integration) = integrations.by_name(name_or_id).await? {
        return Ok(integration);
    }
    match name_or_id.parse::<i64>() {
        Ok(id) => integrations.get(id).await,
        Err(_) => Err(SyncError::Failed(format!(
            "no integration named `{name_or_id}`"
        ))),
    }
}

/// An integration as `integrations list --json` prints it.
async fn integration_json(app: &App, integration: &Integration) -> SyncResult<serde_json::Value> {
    let settings = &integration.settings;
    let schedule = forward_sync_schedule(app, integration).await?;
    Ok(serde_json::json!({
        "id": integration.id,
        "name": integration.name,
        "backend_id": integration.backend_id.0,
        "enabled": integration.enabled,
        "connectors": integration.connectors,
        "two_way": settings.two_way,
        "conflict_policy": settings.conflict_policy.as_str(),
        "every_secs": schedule.as_ref().map(|s| s.every.as_secs()),
        "schedule_id": schedule.as_ref().map(|s| s.id),
        "default_owner_id": integration.default_owner_id,
        "created_at": output::time(integration.created_at),
        "updated_at": output::time(integration.updated_at),
    }))
}

/// The schedule of an integration's periodic forward sync, if it has one.
async fn forward_sync_schedule(
    app: &App,
    integration: &Integration,
) -> SyncResult<Option<sync_core::storage::Schedule>> {
    app.storage()
        .schedules()
        .get(&ScheduledWork::ForwardSync {
            integration_id: integration.id,
        })
        .await
}

/// One line per integration; its periodic forward sync is its schedule's.
async fn describe(app: &App, integration: &Integration) -> SyncResult<String> {
    let settings = &integration.settings;
    let direction = if settings.two_way {
        format!("two-way (conflicts: {})", settings.conflict_policy)
    } else {
        "one-way".to_owned()
    };
    let every = forward_sync_schedule(app, integration)
        .await?
        .map(|s| format!(", every {}s (schedule #{})", s.every.as_secs(), s.id))
        .unwrap_or_default();
    Ok(format!(
        "#{} {} backend {} {} connectors [{}] {direction}{every}",
        integration.id,
        integration.name,
        integration.backend_id,
        if integration.enabled {
            "enabled"
        } else {
            "disabled"
        },
        integration.connectors.join(", "),
    ))
}

fn show_run(out: &mut String, run: &ConnectorRun) {
    match &run.status {
        None => line(
            out,
            format!("{}: not allowed in this run, skipped", run.connector),
        ),
        Some(status) => {
            let execution = run
                .execution
                .as_ref()
                .map(|e| format!(" (execution #{})", e.id))
                .unwrap_or_default();
            line(
                out,
                format!("{}: {}{execution}", run.connector, status.code.as_str()),
            );
            for text in status.message.lines() {
                line(out, format!("    {text}"));
            }
        }
    }
}

async fn show_execution(
    app: &App,
    out: &mut String,
    execution: &JobExecution,
    max_warnings: u32,
) -> SyncResult<()> {
    let started = execution.started_at.map_or_else(
        || "-".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
    );
    let ended = execution.ended_at.map_or_else(
        || "-".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
    );
    let scope = match (&execution.integration_id, &execution.connector) {
        (Some(id), Some(connector)) => format!(" integration {id} connector {connector}"),
        (Some(id), None) => format!(" integration {id}"),
        _ => String::new(),
    };
    line(
        out,
        format!(
            "#{} {} ({}){scope}: {} [{}] {started} → {ended}",
            execution.id,
            execution.job_name,
            execution.job_type,
            execution.status,
            execution.exit_status,
        ),
    );
    line(out, format!("    parameters {}", execution.parameters));
    for step in &execution.steps {
        let c = &step.counters;
        line(
            out,
            format!(
                "  step {}: {} read {}, processed {}, added {}, updated {}, deleted {}, skipped {}, errors {}",
                step.step_name,
                step.status,
                c.read,
                c.processed,
                c.added,
                c.updated,
                c.deleted,
                c.skipped,
                c.errors
            ),
        );
        for failure in &step.failures {
            line(out, format!("    failure: {failure}"));
        }
        if max_warnings > 0 {
            for warning in app
                .storage()
                .batch_executions()
                .warnings(step.id, max_warnings)
                .await?
            {
                line(
                    out,
                    format!("    warning: {} item {}", warning.reason, warning.item),
                );
            }
        }
    }
    Ok(())
}
