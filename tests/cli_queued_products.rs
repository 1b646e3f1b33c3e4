//! Products imported as queued `synckit.import_record` jobs through the command line, into the
//! example's back office (typed columns), on SQLite and PostgreSQL.

mod support;

use support::{cli, magento};
use synckit::testing::test_databases;

/// On a fresh PostgreSQL database, one worker at concurrency 1 once failed 56 of 444 product
/// import jobs with `incorrect binary data format in bind parameter 4` (the product's
/// weight): a product without a weight was bound as a NULL `REAL` (4 bytes) where the
/// connection had prepared the insert, and the next product's 8-byte weight no longer fit.
#[tokio::test]
async fn queued_product_imports_all_go_through_a_single_worker() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let sim = magento(&db, 17, 0, 444).await;
        let run = cli(
            &db,
            &[
                "imports",
                "run",
                "--backend",
                "sim",
                "--model",
                "magento.product",
            ],
        )
        .await
        .unwrap();
        assert!(run.contains("0 failed"), "{name}: {run}");

        // The first product created has no weight: the connection prepares the insert with
        // that NULL, and the products after it carry one.
        let jobs: Vec<(String,)> = sqlx::query_as("SELECT args FROM queue_jobs ORDER BY id")
            .fetch_all(db.storage.pool())
            .await
            .unwrap();
        let first_created = jobs
            .iter()
            .filter_map(|(args,)| {
                let args: serde_json::Value = serde_json::from_str(args).ok()?;
                Some(args["external_id"].as_str()?.to_owned())
            })
            .find(|sku| {
                sim.state()
                    .product(sku)
                    .is_some_and(|p| p.type_id != "configurable")
            })
            .expect("a simple product");
        assert!(
            sim.state()
                .edit_product(&first_created, |p| p.weight = None)
        );
        let worker = cli(&db, &["worker", "--until-idle", "--concurrency", "1"])
            .await
            .unwrap();
        let failed: Vec<(Option<String>,)> =
            sqlx::query_as("SELECT exc_message FROM queue_jobs WHERE state = 'failed'")
                .fetch_all(db.storage.pool())
                .await
                .unwrap();
        assert!(
            failed.is_empty(),
            "{name}: {} failed, e.g. {:?}",
            failed.len(),
            failed.first()
        );
        assert!(worker.contains("444 done"), "{name}: {worker}");
        // Both kinds of product arrived: with a weight and without one.
        let (weighed, unweighed): (i64, i64) =
            sqlx::query_as("SELECT COUNT(weight), COUNT(*) - COUNT(weight) FROM products")
                .fetch_one(db.storage.pool())
                .await
                .unwrap();
        assert!(
            weighed > 0 && unweighed > 0,
            "{name}: {weighed} with a weight, {unweighed} without"
        );
        // Each created product has its checkpoint, written in its job's transaction.
        let (checkpoints,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sync_checkpoints")
            .fetch_one(db.storage.pool())
            .await
            .unwrap();
        assert_eq!(checkpoints, weighed + unweighed, "{name}");
        sim.shutdown().await;
        db.cleanup().await;
    }
}
