//! The `synckit` command line: global options and the subcommand dispatch.
//!
//! Each subcommand has its own file with a clap type and a `run` function returning what to
//! print; add one by declaring its module here and a variant in [`Command`].

pub mod integrations;
pub mod jobs;
pub mod worker;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sync_core::queue::Queue;
use sync_core::{App, SyncResult};

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
    /// Oro-style integrations.
    Integrations {
        /// The integrations subcommand.
        #[command(subcommand)]
        command: integrations::IntegrationsCommand,
    },
}

/// Parses the arguments, runs the subcommand, prints its output or its error.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match run(cli).await {
        Ok(output) => {
            if !output.is_empty() {
                println!("{}", output.trim_end());
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> SyncResult<String> {
    // The URL is kept by the queue (PostgreSQL workers LISTEN on it) but never printed:
    // it may hold a password.
    let queue = Queue::open(&cli.database_url).await?;
    match cli.command {
        Command::Worker(args) => worker::run(&app(&queue).await?, args).await,
        Command::Jobs { command } => jobs::run(&queue, command).await,
        Command::Integrations { command } => integrations::run(&app(&queue).await?, command).await,
    }
}

/// The app with the components of the connectors this binary ships.
async fn app(queue: &Queue) -> SyncResult<App> {
    App::with_queue(sync_core::registry::ComponentRegistry::new(), queue.clone()).await
}
