//! The `synckit` command line: global options and the subcommand dispatch, for the plain
//! `synckit` binary and for connector programs that embed it.
//!
//! The plain binary registers no connector, so it can run workers for jobs that need none,
//! manage jobs and integrations, but not sync an integration itself. A connector program
//! embeds the same command line with its components registered, and so gets `worker`,
//! `jobs` and `integrations` for its connectors:
//!
//! ```no_run
//! use synckit::cli::Setup;
//!
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     synckit::cli::main_with(async |setup: &mut Setup<'_>| {
//!         // The connector's components, e.g. `sync_magento::register(setup.registry)`,
//!         // the local repositories (`setup.storage` is the database), job functions in
//!         // `setup.jobs`.
//!         setup.registry.add_kind(synckit::backend::BackendKind::root("shop"));
//!         Ok(())
//!     })
//!     .await
//! }
//! ```
//!
//! Each subcommand has its own file with a clap type and a `run` function returning what to
//! print; add one by declaring its module here and a variant in [`Command`].

pub mod backends;
pub mod capture;
pub mod imports;
pub mod integrations;
pub mod jobs;
pub mod locks;
pub mod metrics_server;
pub mod output;
pub mod progress;
pub mod schedules;
#[cfg(feature = "console")]
pub mod serve;
pub mod worker;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sync_core::backend::{SecretCipher, SecretsAtRest};
use sync_core::queue::{JobRegistry, Queue};
use sync_core::registry::ComponentRegistry;
use sync_core::storage::{Storage, StorageOptions};
use sync_core::{App, SyncError, SyncResult};

/// Operate Synckit: run workers, inspect and manage jobs, run integrations.
#[derive(Debug, Parser)]
#[command(name = "synckit", version, about)]
pub struct Cli {
    /// The database: `sqlite://path.db` or `postgres://user@host/db`.
    #[arg(
        long,
        global = true,
        env = "SYNCKIT_DATABASE_URL",
        default_value = "sqlite://synckit.db",
        hide_env_values = true
    )]
    pub database_url: String,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a queue worker until SIGTERM or Ctrl-C.
    Worker(worker::WorkerArgs),
    /// Inspect and manage jobs.
    Jobs {
        /// The jobs subcommand.
        #[command(subcommand)]
        command: jobs::JobsCommand,
    },
    /// The backends (remote systems): list, add, update, enable, disable, rotate-key.
    Backends {
        /// The backends subcommand.
        #[command(subcommand)]
        command: backends::BackendsCommand,
    },
    /// Change capture: which tables are local models' sources (add, list, remove).
    Capture {
        /// The capture subcommand.
        #[command(subcommand)]
        command: capture::CaptureCommand,
    },
    /// Batch imports per backend and model: run, queue, schedule, show the cursor.
    Imports {
        /// The imports subcommand.
        #[command(subcommand)]
        command: imports::ImportsCommand,
    },
    /// Oro-style integrations.
    Integrations {
        /// The integrations subcommand.
        #[command(subcommand)]
        command: integrations::IntegrationsCommand,
    },
    /// The periodic work of both styles (batch imports, forward syncs): list, add, remove.
    Schedules {
        /// The schedules subcommand.
        #[command(subcommand)]
        command: schedules::SchedulesCommand,
    },
    /// Serve the operator console (pages, JSON API) until SIGTERM or Ctrl-C.
    #[cfg(feature = "console")]
    Serve(serve::ServeArgs),
    /// The named locks of syncs and exports: list, release.
    Locks {
        /// The locks subcommand.
        #[command(subcommand)]
        command: locks::LocksCommand,
    },
}

/// What a program adds to the command line before a command that needs its connectors
/// runs (`worker`, `imports`, `integrations`, `serve`): components, job functions, and anything it prepares on
/// the database (e.g. its own tables).
#[non_exhaustive]
pub struct Setup<'a> {
    /// The component registry of the app the command runs with: register the connectors'
    /// components, their integration types and the local repositories here.
    pub registry: &'a mut ComponentRegistry,
    /// The job functions of `worker`. It already has the synchronizers' jobs
    /// (`synckit.import_record`, …), the integrations' forward and reverse syncs and
    /// `synckit.noop`; add the program's own.
    pub jobs: &'a mut JobRegistry,
    /// The database the command runs on (migrated).
    pub storage: &'a Storage,
}

/// Parses the process's arguments, runs the subcommand with no connector registered,
/// prints its output or its error: the plain `synckit` binary.
pub async fn main() -> ExitCode {
    main_with(async |_: &mut Setup<'_>| Ok(())).await
}

/// [`main`] for a program that embeds the command line: `setup` registers its connectors
/// (and local repositories) before a command that needs them runs.
pub async fn main_with<F>(setup: F) -> ExitCode
where
    F: AsyncFnOnce(&mut Setup<'_>) -> SyncResult<()>,
{
    main_with_args(std::env::args_os(), setup).await
}

/// [`main_with`] on `args` (the first one is the program name) instead of the process's:
/// what a program does with its command line, output and exit status included (e.g. for a
/// test that runs the command line in a child process). Invalid arguments print clap's
/// message and exit, as [`main`] does.
pub async fn main_with_args<I, T, F>(args: I, setup: F) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
    F: AsyncFnOnce(&mut Setup<'_>) -> SyncResult<()>,
{
    let cli = Cli::try_parse_from(args).unwrap_or_else(|error| error.exit());
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A program that installed its own subscriber keeps it. Colours only on a terminal:
    // a log redirected to a file or a pipe gets plain text.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(output::stderr_is_terminal())
        .try_init();
    match run_with(cli, setup).await {
        Ok(text) => match output::print_stdout(&text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: writing the output failed: {error}");
                ExitCode::FAILURE
            }
        },
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Parses `args` (the first one is the program name) and runs the command, returning what
/// it prints: the embedded command line without a process, e.g. for tests.
///
/// # Errors
/// Invalid arguments (with clap's message, `--help` included), then the command's errors.
pub async fn run_args<I, T, F>(args: I, setup: F) -> SyncResult<String>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
    F: AsyncFnOnce(&mut Setup<'_>) -> SyncResult<()>,
{
    let cli = Cli::try_parse_from(args).map_err(|e| SyncError::Failed(e.to_string()))?;
    run_with(cli, setup).await
}

/// Runs a parsed command and returns what to print. `setup` runs only for the commands
/// that need an app (`worker`, `imports`, `integrations`, `serve`).
///
/// # Errors
/// The command's errors, and those of `setup`.
pub async fn run_with<F>(cli: Cli, setup: F) -> SyncResult<String>
where
    F: AsyncFnOnce(&mut Setup<'_>) -> SyncResult<()>,
{
    // The URL is kept by the queue (PostgreSQL workers LISTEN on it) but never printed:
    // it may hold a password.
    // Backend secrets are encrypted with the key in SYNCKIT_SECRET_KEY; without it they
    // are refused (see `backends add --plaintext-secrets`).
    let options = StorageOptions {
        secrets_at_rest: SecretsAtRest::from_cipher(SecretCipher::from_env()?),
        ..StorageOptions::default()
    };
    let storage = Storage::open_with(&cli.database_url, options).await?;
    let queue = Queue::with_url(storage, &cli.database_url);
    let output = match cli.command {
        Command::Worker(args) => match app(&queue, setup).await {
            Ok((app, jobs)) => worker::run(&app, jobs, args).await,
            Err(error) => Err(error),
        },
        Command::Jobs { command } => jobs::run(&queue, command).await,
        Command::Backends { command } => backends::run(queue.storage(), command).await,
        Command::Capture { command } => capture::run(queue.storage(), command).await,
        Command::Locks { command } => locks::run(queue.storage(), command).await,
        Command::Imports { command } => match app(&queue, setup).await {
            Ok((app, _)) => imports::run(&app, command).await,
            Err(error) => Err(error),
        },
        Command::Integrations { command } => match app(&queue, setup).await {
            Ok((app, _)) => integrations::run(&app, command).await,
            Err(error) => Err(error),
        },
        Command::Schedules { command } => match app(&queue, setup).await {
            Ok((app, _)) => schedules::run(&app, command).await,
            Err(error) => Err(error),
        },
        #[cfg(feature = "console")]
        Command::Serve(args) => match app(&queue, setup).await {
            Ok((app, _)) => serve::run(&app, args).await,
            Err(error) => Err(error),
        },
    };
    queue.storage().close().await;
    output
}

/// The app with the program's components, and the worker's job functions.
async fn app<F>(queue: &Queue, setup: F) -> SyncResult<(App, JobRegistry)>
where
    F: AsyncFnOnce(&mut Setup<'_>) -> SyncResult<()>,
{
    let mut registry = ComponentRegistry::new();
    let mut jobs = worker::job_registry();
    setup(&mut Setup {
        registry: &mut registry,
        jobs: &mut jobs,
        storage: queue.storage(),
    })
    .await?;
    let app = App::with_queue(registry, queue.clone()).await?;
    Ok((app, jobs))
}
