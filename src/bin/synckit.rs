//! `synckit`: the operator command line, with no connector registered.
//!
//! The subcommands live in the library (`synckit::cli`), so that a connector program can
//! embed the same command line with its connectors: see `synckit::cli::main_with`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    synckit::cli::main().await
}
