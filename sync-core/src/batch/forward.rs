//! Forward sync (remote → local) of an integration: its connectors' import jobs, in order.

use super::connector::ProcessedStatuses;
use super::context::JobParameters;
use super::definition::JobType;
use super::run::{ConnectorRun, exclusively, load, run_connector};
use super::status::StatusCode;
use crate::app::App;
use crate::error::{SyncError, SyncResult};
use crate::values::Values;

/// What a forward sync should do.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Only this connector (it must be enabled on the integration); `None`: all enabled.
    pub connector: Option<String>,
    /// A full re-sync: connectors that support it ignore their cursor.
    pub force: bool,
    /// Extra parameters for the jobs (Oro's connector parameters).
    pub parameters: JobParameters,
}

/// The result of a sync: one entry per connector considered.
#[derive(Debug, Clone)]
pub struct SyncReport {
    /// The integration.
    pub integration_id: i64,
    /// Each connector's run, in run order.
    pub runs: Vec<ConnectorRun>,
}

impl SyncReport {
    /// Whether every connector that ran completed.
    pub fn is_success(&self) -> bool {
        self.runs.iter().all(ConnectorRun::is_success)
    }
}

/// Runs a forward sync of an integration: each enabled connector's import job, ordered by
/// `order` (ties keep the integration's order), gated by `is_allowed` with the statuses of
/// the connectors already run.
///
/// Each connector appends a status row (`[IMPORT] Stats: read N, processed N, updated N,
/// added N, deleted N, invalid N`, then the skipped items); one that fails does not stop
/// the others. Its cursor is the data of its last **completed** import; `force` clears it
/// for connectors that support a full re-sync.
///
/// ```no_run
/// # use sync_core::batch::{SyncOptions, forward_sync};
/// # async fn demo(app: sync_core::App) -> sync_core::SyncResult<()> {
/// let report = forward_sync(&app, 1, SyncOptions::default()).await?;
/// for run in &report.runs {
///     if let Some(status) = &run.status {
///         println!("{}: {}", run.connector, status.message);
///     }
/// }
/// # Ok(()) }
/// ```
///
/// Only one forward sync of an integration runs at a time, whatever process runs it.
///
/// # Errors
/// A retryable error when another forward sync of the integration is running;
/// [`SyncError::NothingToDo`] when the integration or its backend is disabled; an unknown
/// integration, a connector not enabled on it, or a storage error.
pub async fn forward_sync(
    app: &App,
    integration_id: i64,
    options: SyncOptions,
) -> SyncResult<SyncReport> {
    let key = format!("batch:forward:{integration_id}");
    exclusively(app.storage(), &key, run(app, integration_id, options)).await
}

async fn run(app: &App, integration_id: i64, options: SyncOptions) -> SyncResult<SyncReport> {
    let loaded = load(app, integration_id).await?;
    let integration = &loaded.integration;
    let enabled: Vec<String> = match &options.connector {
        Some(only) if integration.connectors.contains(only) => vec![only.clone()],
        Some(only) => {
            return Err(SyncError::Failed(format!(
                "connector `{only}` is not enabled on integration `{}`",
                integration.name
            )));
        }
        None => integration.connectors.clone(),
    };
    let (connectors, unknown) = loaded.itype.ordered(&enabled);
    for name in unknown {
        // A connector removed from the code but still enabled: say so, do not fail the rest.
        tracing::warn!(integration = %integration.name, connector = name, "unknown connector skipped");
    }
    let storage = app.storage();
    let mut processed = ProcessedStatuses::new();
    let mut runs = Vec::new();
    for connector in connectors {
        if !connector.is_allowed(integration, &processed) {
            tracing::info!(
                integration = %integration.name,
                connector = connector.name(),
                "connector not allowed in this run; skipped"
            );
            runs.push(ConnectorRun {
                connector: connector.name().to_owned(),
                status: None,
                execution: None,
            });
            continue;
        }
        let force = options.force && connector.force_sync_supported();
        let mut parameters = options.parameters.clone();
        let previous = if force {
            parameters = parameters.force(true);
            Values::new()
        } else {
            storage
                .integration_statuses()
                .last(
                    integration.id,
                    connector.name(),
                    JobType::Import,
                    Some(StatusCode::Completed),
                )
                .await?
                .map(|s| s.data)
                .unwrap_or_default()
        };
        let run = run_connector(
            &loaded,
            connector,
            JobType::Import,
            connector.import_job(),
            parameters,
            &previous,
            None,
        )
        .await?;
        if let Some(status) = &run.status {
            processed.insert(connector.name().to_owned(), status.clone());
        }
        runs.push(run);
    }
    Ok(SyncReport {
        integration_id,
        runs,
    })
}
