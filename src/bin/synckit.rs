//! `synckit`: the operator command line.
//!
//! The subcommands live under `src/cli/`, one file each; see `cli::Command`.

#[path = "../cli/mod.rs"]
mod cli;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    cli::main().await
}
