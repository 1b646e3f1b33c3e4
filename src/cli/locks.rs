//! `synckit locks …`: the named locks workers hold across a sync or an export.
//!
//! Locks are short leases their holder renews, so a killed worker's lock frees itself
//! within a job lease; `release` is for the rest. A lock whose holder is alive is released
//! only with `--force`: on SQLite the holder notices at its next renewal and stops the work
//! the lock protects; on PostgreSQL the holder's database session is terminated.

use std::fmt::Write as _;

use clap::Subcommand;
use sync_core::SyncResult;
use sync_core::storage::{LockRelease, Storage};

/// The `locks` subcommands.
#[derive(Debug, Subcommand)]
pub enum LocksCommand {
    /// List the locks with their holder and whether it is alive.
    List,
    /// Release a lock whose holder died (refused while it is alive, unless forced).
    Release {
        /// The lock's key, as `locks list` shows it.
        key: String,
        /// Take the lock away from a live holder (which stops its work).
        #[arg(long)]
        force: bool,
    },
}

/// Runs a `locks` subcommand; returns what to print.
pub async fn run(storage: &Storage, command: LocksCommand) -> SyncResult<String> {
    let mut out = String::new();
    match command {
        LocksCommand::List => {
            for lock in storage.list_locks().await? {
                let acquired = lock
                    .acquired_at
                    .map(|at| format!("  since {}", at.format("%Y-%m-%d %H:%M:%S UTC")))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{}  {}  held by {}{acquired}  lease until {}",
                    lock.key,
                    if lock.alive { "alive" } else { "dead" },
                    lock.holder,
                    lock.expires_at.format("%Y-%m-%d %H:%M:%S UTC")
                );
            }
            if out.is_empty() {
                out.push_str("no locks\n");
            }
        }
        LocksCommand::Release { key, force } => {
            let what = match storage.release_lock(&key, force).await? {
                LockRelease::Tidied => "released (its holder was gone)",
                LockRelease::TakenAway => "taken away from its live holder",
            };
            let _ = writeln!(out, "lock {key} {what}");
        }
    }
    Ok(out)
}
