//! How the `synckit` binary writes: it ends quietly when its reader closes stdout early
//! (`synckit jobs list | head`), its log has no colour codes when stderr is not a terminal,
//! an error exits non-zero, a failed import is an error, and the list commands print JSON
//! with `--json`. On SQLite and PostgreSQL.

mod support;

use std::process::{Command, Stdio};

use serde_json::Value;
use support::{cli, magento};
use synckit::queue::{Delayable, Queue};
use synckit::testing::test_databases;

const BINARY: &str = env!("CARGO_BIN_EXE_synckit");

fn synckit(url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env_remove("SYNCKIT_SECRET_KEY")
        .env_remove("RUST_LOG");
    command
}

async fn noop_jobs(queue: &Queue, n: usize) {
    for i in 0..n {
        queue
            .enqueue(
                Delayable::from_parts("synckit.noop", serde_json::json!({}))
                    .unwrap()
                    .description(format!("job number {i} with a description long enough")),
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_closed_stdout_ends_the_command_quietly() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let queue = Queue::new(db.storage.clone());
        noop_jobs(&queue, 300).await;
        let mut child = synckit(&db.url, &["jobs", "list", "--limit", "300"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the command writes (as `head` does after its lines).
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{name}: {:?}, stderr: {stderr}",
            output.status
        );
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_log_has_no_colour_codes_off_a_terminal() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        // Debug level: the database driver logs each statement.
        let output = synckit(&db.url, &["jobs", "list"])
            .env("RUST_LOG", "debug")
            .output()
            .unwrap();
        assert!(output.status.success(), "{name}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.trim().is_empty(), "{name}: nothing was logged");
        assert!(
            !stderr.contains('\u{1b}'),
            "{name}: colour codes in a log that is not a terminal: {stderr:?}"
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_error_exits_non_zero() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let output = synckit(
            &db.url,
            &["imports", "run", "--backend", "nowhere", "--model", "x"],
        )
        .output()
        .unwrap();
        assert_eq!(output.status.code(), Some(1), "{name}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("error: ") && stderr.contains("no backend named `nowhere`"),
            "{name}: {stderr}"
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_import_with_failed_records_is_an_error_that_names_them() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let sim = magento(&db, 4, 6, 1).await;
        // A customer of a group Magento does not have: its import fails.
        sim.state().edit_customer(2, |c| c.group_id = 999);
        // The edits stamp the current second: let it pass, so that the window holds them.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let target = ["--backend", "sim", "--direct"];
        let mut groups = vec!["imports", "run", "--model", "magento.customer.group"];
        groups.extend_from_slice(&target);
        cli(&db, &groups).await.unwrap();
        let mut customers = vec!["imports", "run", "--model", "magento.customer"];
        customers.extend_from_slice(&target);
        let error = cli(&db, &customers).await.unwrap_err().to_string();
        assert!(
            error.contains("records in")
                && error.contains("1 failed")
                && error.contains("the import of magento.customer failed for 1 record(s)"),
            "{name}: {error}"
        );
        sim.shutdown().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn list_commands_print_json() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let sim = magento(&db, 3, 1, 1).await;
        let queue = Queue::new(db.storage.clone());
        noop_jobs(&queue, 2).await;

        let jobs: Value =
            serde_json::from_str(&cli(&db, &["jobs", "list", "--json"]).await.unwrap()).unwrap();
        let jobs = jobs.as_array().unwrap();
        assert_eq!(jobs.len(), 2, "{name}: {jobs:?}");
        assert_eq!(jobs[0]["name"], "synckit.noop");
        assert_eq!(jobs[0]["state"], "pending");
        assert!(jobs[0]["id"].is_i64() && jobs[0]["date_created"].is_string());

        let backends: Value =
            serde_json::from_str(&cli(&db, &["backends", "list", "--json"]).await.unwrap())
                .unwrap();
        assert_eq!(backends[0]["name"], "sim", "{name}: {backends}");
        assert_eq!(backends[0]["kind"], "magento");
        // The names of the secrets, never their values.
        assert_eq!(backends[0]["secrets"], serde_json::json!(["token"]));
        assert!(
            !backends.to_string().contains("cli-tests-token"),
            "{backends}"
        );

        cli(
            &db,
            &[
                "imports",
                "schedule",
                "--backend",
                "sim",
                "--model",
                "magento.customer",
                "--every",
                "60",
            ],
        )
        .await
        .unwrap();
        let cursors: Value =
            serde_json::from_str(&cli(&db, &["imports", "list", "--json"]).await.unwrap()).unwrap();
        assert_eq!(
            cursors.as_array().map(Vec::len),
            Some(1),
            "{name}: {cursors}"
        );
        assert_eq!(cursors[0]["backend"], "sim");
        assert_eq!(cursors[0]["model"], "magento.customer");
        assert_eq!(cursors[0]["every_secs"], 60);
        assert!(cursors[0]["since"].is_null(), "{name}: {cursors}");

        let locks: Value =
            serde_json::from_str(&cli(&db, &["locks", "list", "--json"]).await.unwrap()).unwrap();
        assert_eq!(locks, serde_json::json!([]), "{name}");

        cli(
            &db,
            &[
                "integrations",
                "add",
                "--name",
                "shop",
                "--backend",
                "sim",
                "--connector",
                "customer",
            ],
        )
        .await
        .unwrap();
        let integrations: Value =
            serde_json::from_str(&cli(&db, &["integrations", "list", "--json"]).await.unwrap())
                .unwrap();
        assert_eq!(integrations[0]["name"], "shop", "{name}: {integrations}");
        assert_eq!(
            integrations[0]["connectors"],
            serde_json::json!(["customer"])
        );
        assert_eq!(integrations[0]["two_way"], false);
        sim.shutdown().await;
        db.cleanup().await;
    }
}
