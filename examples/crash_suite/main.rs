//! The crash suite: imports and exports against the Magento simulator with its faults on,
//! worker processes SIGKILLed at random moments (and, in the long form, PostgreSQL restarted
//! once), then one clean drain and the checks — every Magento customer, product and order
//! has exactly one binding and one local record, every back-office change reached Magento
//! exactly once, and no job is left undone.
//!
//! ```sh
//! cargo run --example crash_suite -- --short          # the test command's form: a few kills per database
//! cargo run --example crash_suite                     # the long form: 100 kills per database, PostgreSQL restarted once
//! cargo run --example crash_suite -- --db sqlite --kills 30 --seed 7
//! ```
//!
//! The workers are the `magento_cli` example (`magento_cli worker`), built first with the
//! profile of this program. It prints one line per trial, a table (database, trials, kills,
//! lost, duplicated, stuck, seconds), what it found by ids, and a JSON line; it exits with 1
//! when anything was lost, duplicated or stuck, 2 when it could not run.

#[path = "../magento_sync/backoffice.rs"]
mod backoffice;
mod database;
mod findings;
mod trial;
mod verify;
mod workers;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use serde_json::json;
use synckit::{SyncError, SyncResult};

use database::{DatabaseKind, postgres_answers};
use findings::Findings;
use trial::{PostgresFault, TrialPlan, run_trial};

/// Which databases to run on.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum DbChoice {
    Sqlite,
    Postgres,
    Both,
}

/// SIGKILLs sync workers at random moments and checks that nothing was lost, duplicated or
/// left stuck.
#[derive(Debug, Parser)]
#[command(name = "crash_suite")]
struct Args {
    /// The databases to run on (PostgreSQL: `SYNCKIT_TEST_PG_URL`, as for the tests).
    #[arg(long, value_enum, default_value = "both")]
    db: DbChoice,
    /// Workers SIGKILLed on each database (default: 100, or 5 with `--short`).
    #[arg(long)]
    kills: Option<u32>,
    /// Kills per trial; each trial has its own shop and database (default: 10, or 5 with
    /// `--short`).
    #[arg(long)]
    kills_per_trial: Option<u32>,
    /// Worker processes running at once.
    #[arg(long, default_value_t = 3)]
    workers: u32,
    /// Seed of the shops' data, their faults and the kill schedule.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// The test command's form: a few kills per database, small shops, PostgreSQL never
    /// restarted.
    #[arg(long)]
    short: bool,
    /// Restart the PostgreSQL cluster once in the middle of the PostgreSQL run (default: on
    /// in the long form; never in the short form). It ends every connection to the server,
    /// other programs' too.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    restart_postgres: Option<bool>,
    /// The worker program (default: the `magento_cli` example next to this program).
    #[arg(long)]
    worker_bin: Option<PathBuf>,
    /// Do not build the `magento_cli` example first.
    #[arg(long)]
    no_build: bool,
}

/// The figures of one database.
#[derive(Debug, Default)]
struct Summary {
    database: &'static str,
    trials: u32,
    kills: u32,
    seconds: f64,
    findings: Findings,
    notes: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(summaries) => {
            report(&summaries);
            if summaries.iter().all(|s| s.findings.is_clean()) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(error) => {
            eprintln!("crash-suite: {error}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> SyncResult<Vec<Summary>> {
    let restart = match (args.short, args.restart_postgres) {
        (true, Some(true)) => {
            return Err(SyncError::Failed(
                "the short form never restarts PostgreSQL (other tests may share it)".into(),
            ));
        }
        (true, _) => false,
        (false, choice) => choice.unwrap_or(true),
    };
    let kills = args.kills.unwrap_or(if args.short { 5 } else { 100 });
    let per_trial = args
        .kills_per_trial
        .unwrap_or(if args.short { 5 } else { 10 })
        .max(1);
    let size = if args.short {
        (40, 20, 30)
    } else {
        (80, 40, 60)
    };
    let program = workers::worker_program(args.worker_bin.clone(), !args.no_build).await?;
    let kinds: &[DatabaseKind] = match args.db {
        DbChoice::Sqlite => &[DatabaseKind::Sqlite],
        DbChoice::Postgres => &[DatabaseKind::Postgres],
        DbChoice::Both => &[DatabaseKind::Sqlite, DatabaseKind::Postgres],
    };
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let mut summaries = Vec::new();
    for (k, &kind) in kinds.iter().enumerate() {
        if kind == DatabaseKind::Postgres && !postgres_answers().await {
            if ci || matches!(args.db, DbChoice::Postgres) {
                return Err(SyncError::Failed(
                    "PostgreSQL does not answer at the test URL".into(),
                ));
            }
            eprintln!("SKIPPED: PostgreSQL unreachable; the crash suite ran on SQLite only");
            continue;
        }
        let started = Instant::now();
        let mut summary = Summary {
            database: kind.name(),
            ..Summary::default()
        };
        let trials = kills.div_ceil(per_trial).max(1);
        for number in 1..=trials {
            let plan = TrialPlan {
                number,
                kind,
                seed: args.seed ^ ((k as u64) << 40) ^ u64::from(number),
                kills: per_trial.min(kills - (number - 1) * per_trial),
                workers: args.workers,
                size,
                // Once, in the middle of the run: the whole cluster when asked to, else
                // only this run's connections.
                postgres_fault: match (kind, number == trials.div_ceil(2), restart) {
                    (DatabaseKind::Postgres, true, true) => PostgresFault::Restart,
                    (DatabaseKind::Postgres, true, false) => PostgresFault::TerminateConnections,
                    _ => PostgresFault::None,
                },
            };
            let trial_started = Instant::now();
            let outcome = run_trial(&plan, program.clone()).await.map_err(|e| {
                SyncError::Failed(format!("{} trial {number} could not run: {e}", kind.name()))
            })?;
            let f = &outcome.findings;
            eprintln!(
                "{} trial {number}/{trials}: {} kills; {} Magento records and {} changes checked; \
                 {} requests, {} faulted; {} lost, {} duplicated, {} stuck ({:.1} s)",
                kind.name(),
                outcome.kills,
                outcome.coverage.remote_records,
                outcome.coverage.changes,
                outcome.requests.0,
                outcome.requests.1,
                f.lost.len(),
                f.duplicated.len(),
                f.stuck.len(),
                trial_started.elapsed().as_secs_f64()
            );
            summary.trials += 1;
            summary.kills += outcome.kills;
            let label = format!("{} trial {number}", kind.name());
            summary.findings.absorb(&label, outcome.findings);
            summary
                .notes
                .extend(outcome.notes.into_iter().map(|n| format!("{label}: {n}")));
        }
        summary.seconds = started.elapsed().as_secs_f64();
        summaries.push(summary);
    }
    Ok(summaries)
}

fn report(summaries: &[Summary]) {
    println!(
        "{:<10} {:>6} {:>6} {:>6} {:>10} {:>6} {:>8}",
        "database", "trials", "kills", "lost", "duplicated", "stuck", "seconds"
    );
    for s in summaries {
        println!(
            "{:<10} {:>6} {:>6} {:>6} {:>10} {:>6} {:>8.1}",
            s.database,
            s.trials,
            s.kills,
            s.findings.lost.len(),
            s.findings.duplicated.len(),
            s.findings.stuck.len(),
            s.seconds
        );
    }
    for s in summaries {
        for (kind, list) in [
            ("lost", &s.findings.lost),
            ("duplicated", &s.findings.duplicated),
            ("stuck", &s.findings.stuck),
        ] {
            for entry in list {
                println!("{kind}: {entry}");
            }
        }
        for note in &s.notes {
            println!("note: {note}");
        }
    }
    let json = json!({
        "crash_suite": summaries.iter().map(|s| json!({
            "database": s.database,
            "trials": s.trials,
            "kills": s.kills,
            "lost": s.findings.lost.len(),
            "duplicated": s.findings.duplicated.len(),
            "stuck": s.findings.stuck.len(),
            "seconds": (s.seconds * 10.0).round() / 10.0,
        })).collect::<Vec<_>>()
    });
    println!("{json}");
}
