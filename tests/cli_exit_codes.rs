//! A failed import or sync exits non-zero, as a process: this test program runs the command
//! line embedded with the Magento connector (what a connector's own binary does with
//! `synckit::cli::main_with`) in a child process of itself, and checks its exit status and
//! its streams. On SQLite and PostgreSQL.
//!
//! It has its own `main` (no test harness): started with `SYNCKIT_TEST_CLI_ARGS` set, it
//! is the command line; otherwise it runs the checks below.

mod support;

use std::process::{Command, ExitCode, Output};

use magento_sim::Faults;
use support::{cli, magento};
use synckit::cli::{Setup, main_with_args};
use synckit::testing::{TestDatabase, test_databases};

/// The child's arguments, one per line.
const ARGS_VAR: &str = "SYNCKIT_TEST_CLI_ARGS";

/// Runs the embedded command line in a child process on `db`.
fn child(db: &TestDatabase, args: &[&str]) -> Output {
    let mut all = vec!["magento-cli", "--database-url", db.url.as_str()];
    all.extend_from_slice(args);
    Command::new(std::env::current_exe().expect("the test program's path"))
        .env(ARGS_VAR, all.join("\n"))
        .env_remove("RUST_LOG")
        .output()
        .expect("the child process runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn failed_import_exits_non_zero(db: &TestDatabase) {
    let name = db.name;
    let sim = magento(db, 4, 6, 1).await;
    // A customer of a group Magento does not have: its import fails.
    sim.state().edit_customer(2, |c| c.group_id = 999);
    // The edit stamps the current second: let it pass, so that the window holds it.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let groups = [
        "imports",
        "run",
        "--backend",
        "sim",
        "--model",
        "magento.customer.group",
        "--direct",
    ];
    cli(db, &groups).await.unwrap();
    let output = child(
        db,
        &[
            "imports",
            "run",
            "--backend",
            "sim",
            "--model",
            "magento.customer",
            "--direct",
        ],
    );
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{name}: {stdout} {stderr}");
    assert!(
        stderr.contains("error: ")
            && stderr.contains("the import of magento.customer failed for 1 record(s)"),
        "{name}: {stderr}"
    );
    // Not a terminal: the progress is plain lines, without control codes.
    assert!(stderr.contains("records ("), "{name}: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "{name}: {stderr:?}");
    sim.shutdown().await;
}

async fn failed_sync_exits_non_zero(db: &TestDatabase) {
    let name = db.name;
    let sim = magento(db, 5, 3, 1).await;
    let add = [
        "integrations",
        "add",
        "--name",
        "shop",
        "--backend",
        "sim",
        "--connector",
        "customer",
    ];
    cli(db, &add).await.unwrap();
    // Every customer search is refused: the connector cannot complete.
    sim.set_faults(
        Faults::none()
            .fail_next(1000, 400)
            .on_paths_containing("customers"),
    );
    let failed = child(db, &["integrations", "sync", "shop"]);
    let stderr = text(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{name}: {stderr}");
    assert!(
        stderr.contains("the forward sync of shop did not complete"),
        "{name}: {stderr}"
    );

    sim.set_faults(Faults::none());
    let done = child(db, &["integrations", "sync", "shop"]);
    let stdout = text(&done.stdout);
    assert!(
        done.status.success(),
        "{name}: {stdout} {}",
        text(&done.stderr)
    );
    assert!(stdout.contains("customer: completed"), "{name}: {stdout}");
    sim.shutdown().await;
}

fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Ok(args) = std::env::var(ARGS_VAR) {
        let args: Vec<String> = args.lines().map(str::to_owned).collect();
        return runtime.block_on(main_with_args(args, async |s: &mut Setup<'_>| {
            support::setup(s).await
        }));
    }
    runtime.block_on(async {
        for db in test_databases().await.unwrap() {
            failed_import_exits_non_zero(&db).await;
            db.cleanup().await;
        }
        for db in test_databases().await.unwrap() {
            failed_sync_exits_non_zero(&db).await;
            db.cleanup().await;
        }
    });
    println!("cli_exit_codes: a failed import and a failed sync exit 1 on every database");
    ExitCode::SUCCESS
}
