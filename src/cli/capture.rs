//! `synckit capture …`: declare which tables are local models' sources, so that changes
//! from any writer (the application's own code, scripts, `sqlite3`) are exported.

use std::fmt::Write as _;

use clap::{Args, Subcommand};
use sync_core::SyncResult;
use sync_core::capture::{CaptureDeclaration, Captures};
use sync_core::storage::Storage;

/// The `capture` subcommands.
#[derive(Debug, Subcommand)]
pub enum CaptureCommand {
    /// Declare a table as a model's source and install its triggers (replaces an earlier
    /// declaration of the model).
    Add(AddArgs),
    /// List the declared tables.
    List,
    /// Remove a model's declaration and drop its triggers.
    Remove {
        /// The local model, e.g. `customer`.
        model: String,
    },
}

/// Arguments of `capture add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The local model, e.g. `customer`.
    pub model: String,
    /// The table, e.g. `customers`.
    #[arg(long)]
    pub table: String,
    /// The column holding the record's integer id.
    #[arg(long, default_value = "id")]
    pub key: String,
    /// The columns whose changes matter, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub columns: Vec<String>,
}

/// Runs a `capture` subcommand and returns what to print.
pub async fn run(storage: &Storage, command: CaptureCommand) -> SyncResult<String> {
    let captures = Captures::new(storage);
    match command {
        CaptureCommand::Add(args) => {
            let declaration =
                CaptureDeclaration::new(&args.model, &args.table, &args.key).columns(args.columns);
            captures.add(&declaration).await?;
            Ok(format!(
                "capturing table {} as model {} (key {}; columns {})",
                declaration.table,
                declaration.model,
                declaration.key_column,
                declaration.columns.join(", ")
            ))
        }
        CaptureCommand::List => {
            let mut out = String::new();
            for installed in captures.list().await? {
                let d = &installed.declaration;
                let _ = writeln!(
                    out,
                    "{}\ttable {}\tkey {}\tcolumns {}\ttriggers v{}",
                    d.model,
                    d.table,
                    d.key_column,
                    d.columns.join(","),
                    installed.trigger_version
                );
            }
            if out.is_empty() {
                out.push_str("no captured tables");
            }
            Ok(out)
        }
        CaptureCommand::Remove { model } => {
            if captures.remove(&model).await? {
                Ok(format!("model {model} is no longer captured"))
            } else {
                Err(sync_core::SyncError::Failed(format!(
                    "model `{model}` is not captured"
                )))
            }
        }
    }
}
