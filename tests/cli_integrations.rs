//! The command line embedded with the Magento connector and the example's back office (as
//! `examples/magento_cli.rs` does): add an integration, run its forward and reverse syncs,
//! and show the executions with their counters and warnings; on SQLite and PostgreSQL.

mod support;

use support::{cli, magento};
use synckit::SyncError;
use synckit::testing::test_databases;

const CUSTOMERS: u32 = 8;

#[tokio::test]
async fn the_cli_adds_an_integration_and_runs_its_forward_and_reverse_syncs() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let sim = magento(&db, 5, CUSTOMERS, 1).await;
        // A customer of a group Magento does not have: skipped with a warning.
        let mut skipped_email = String::new();
        sim.state().edit_customer(2, |c| {
            c.group_id = 999;
            skipped_email = c.email.clone();
        });

        let unknown = cli(
            &db,
            &[
                "integrations",
                "add",
                "--name",
                "shop",
                "--backend",
                "sim",
                "--connector",
                "orders",
            ],
        )
        .await;
        assert!(
            matches!(&unknown, Err(SyncError::Failed(m)) if m.contains("no connector named `orders`") && m.contains("customer")),
            "{unknown:?}"
        );
        let added = cli(
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
                "--two-way",
                "local",
            ],
        )
        .await
        .unwrap();
        assert!(
            added.contains("shop") && added.contains("two-way (conflicts: local_wins)"),
            "{name}: {added}"
        );

        let synced = cli(&db, &["integrations", "sync", "shop"]).await.unwrap();
        assert!(
            synced.contains("customer: completed (execution #"),
            "{name}: {synced}"
        );
        assert!(
            synced.contains(&format!(
                "[IMPORT] Stats: read {CUSTOMERS}, processed {}, updated 0, added {}, deleted 0, invalid 1",
                CUSTOMERS - 1,
                CUSTOMERS - 1
            )),
            "{name}: {synced}"
        );
        assert!(
            synced.contains("Some entities were skipped due to warnings:")
                && synced.contains("999"),
            "{name}: {synced}"
        );

        // The back office changes a customer behind Synckit's back; the reverse sync of it
        // (and of an id that does not exist) sends the change.
        sqlx::query("UPDATE customers SET lastname = 'From-The-Back-Office' WHERE id = 1")
            .execute(db.storage.pool())
            .await
            .unwrap();
        let (email,): (String,) = sqlx::query_as("SELECT email FROM customers WHERE id = 1")
            .fetch_one(db.storage.pool())
            .await
            .unwrap();
        let reversed = cli(
            &db,
            &[
                "integrations",
                "reverse",
                "shop",
                "--connector",
                "customer",
                "--id",
                "1",
                "--id",
                "9999",
            ],
        )
        .await
        .unwrap();
        assert!(
            reversed.contains(
                "[EXPORT] Stats: read 2, processed 1, updated 1, added 0, deleted 0, invalid 1"
            ),
            "{name}: {reversed}"
        );
        assert_eq!(
            sim.state().customer_by_email(&email).unwrap().lastname,
            "From-The-Back-Office",
            "{name}"
        );

        let executions = cli(&db, &["integrations", "executions", "shop"])
            .await
            .unwrap();
        let import = format!(
            "step import: completed read {CUSTOMERS}, processed {}, added {}, updated 0, deleted 0, skipped 1, errors 1",
            CUSTOMERS - 1,
            CUSTOMERS - 1
        );
        assert!(executions.contains(&import), "{name}: {executions}");
        assert!(
            executions.contains(
                "step export: completed read 2, processed 1, added 0, updated 1, deleted 0, skipped 1, errors 1"
            ),
            "{name}: {executions}"
        );
        assert!(
            executions.contains("magento_customer_import (import)")
                && executions.contains("magento_customer_export (export)"),
            "{name}: {executions}"
        );
        let warnings: Vec<&str> = executions
            .lines()
            .filter(|l| l.trim_start().starts_with("warning:"))
            .collect();
        assert_eq!(warnings.len(), 2, "{name}: {executions}");
        assert!(
            warnings.iter().any(|w| w.contains("999")),
            "{name}: {executions}"
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("9999") && w.contains("no such record")),
            "{name}: {executions}"
        );
        // A warning names the record and the field, never its data: the skipped customer's
        // e-mail is nowhere in the executions.
        assert!(
            !executions.contains(&skipped_email),
            "{name}: a warning shows the record: {executions}"
        );

        let statuses = cli(&db, &["integrations", "statuses", "shop"])
            .await
            .unwrap();
        assert!(
            statuses.contains("customer export completed")
                && statuses.contains("\"import_cursor\""),
            "{name}: {statuses}"
        );
        assert!(
            !statuses.contains(&skipped_email),
            "{name}: a status shows the record: {statuses}"
        );
        sim.shutdown().await;
        db.cleanup().await;
    }
}
