//! `synckit imports …` embedded with the Magento connector and the example's back office:
//! run an import, show its cursor, schedule it (a row of `schedules`) and let a worker run it; on SQLite and
//! PostgreSQL.

mod support;

use support::{cli, magento};
use synckit::SyncError;
use synckit::testing::{TestDatabase, test_databases};

async fn count(db: &TestDatabase, table: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(db.storage.pool())
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn the_cli_runs_queues_and_schedules_batch_imports_from_their_cursor() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let sim = magento(&db, 9, 12, 3).await;
        let target = ["--backend", "sim", "--model", "magento.customer"];
        let with = |verb: &'static str, extra: &[&'static str]| {
            let mut args = vec!["imports", verb];
            args.extend_from_slice(&target);
            args.extend_from_slice(extra);
            args
        };

        let cursor = cli(&db, &with("cursor", &[])).await.unwrap();
        assert!(cursor.contains("no cursor"), "{name}: {cursor}");

        // Customer groups first (customers depend on them), then the customers, directly.
        let groups = cli(
            &db,
            &[
                "imports",
                "run",
                "--backend",
                "sim",
                "--model",
                "magento.customer.group",
                "--direct",
            ],
        )
        .await
        .unwrap();
        assert!(groups.contains("0 failed"), "{name}: {groups}");
        let run = cli(&db, &with("run", &["--direct"])).await.unwrap();
        assert!(
            run.contains("12 records") && run.contains("0 failed"),
            "{name}: {run}"
        );
        assert_eq!(count(&db, "customers").await, 12, "{name}");
        let cursor = cli(&db, &with("cursor", &[])).await.unwrap();
        assert!(cursor.contains("resumes from"), "{name}: {cursor}");

        // A change in Magento, then a scheduled run through a worker.
        sim.state()
            .edit_customer(3, |c| c.lastname = "Scheduled".into());
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let scheduled = cli(&db, &with("schedule", &["--every", "3600"]))
            .await
            .unwrap();
        assert!(scheduled.contains("every 3600 s"), "{name}: {scheduled}");
        let worker = cli(&db, &["worker", "--until-idle", "--concurrency", "2"])
            .await
            .unwrap();
        assert!(worker.contains("0 failed"), "{name}: {worker}");
        let (renamed,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM customers WHERE lastname = 'Scheduled'")
                .fetch_one(db.storage.pool())
                .await
                .unwrap();
        assert_eq!(
            renamed, 1,
            "{name}: the scheduled import brought the change in"
        );
        assert_eq!(
            count(&db, "customers").await,
            12,
            "{name}: nothing duplicated"
        );

        // Queued by hand: one job, whatever the number of requests.
        let queued = cli(&db, &with("queue", &[])).await.unwrap();
        assert!(queued.starts_with("queued job"), "{name}: {queued}");
        let unknown = cli(
            &db,
            &[
                "imports",
                "run",
                "--backend",
                "nope",
                "--model",
                "magento.customer",
            ],
        )
        .await;
        assert!(
            matches!(&unknown, Err(SyncError::Failed(m)) if m.contains("no backend named `nope`")),
            "{name}: {unknown:?}"
        );
        // `imports schedule` is a schedule of the one table `schedules` manages.
        let listed = cli(&db, &["schedules", "list"]).await.unwrap();
        assert!(
            listed.contains("import of magento.customer from backend")
                && listed.contains("every 3600 s"),
            "{name}: {listed}"
        );
        let added = cli(
            &db,
            &[
                "schedules",
                "add",
                "import",
                "--backend",
                "sim",
                "--model",
                "magento.product",
                "--every",
                "60",
            ],
        )
        .await
        .unwrap();
        let id = added
            .strip_prefix("schedule #")
            .and_then(|rest| rest.split(':').next())
            .unwrap_or_else(|| panic!("{name}: {added}"))
            .to_owned();
        let removed = cli(&db, &["schedules", "remove", &id]).await.unwrap();
        assert!(removed.contains("removed"), "{name}: {removed}");
        let unscheduled = cli(&db, &with("unschedule", &[])).await.unwrap();
        assert!(unscheduled.contains("unscheduled"), "{name}: {unscheduled}");
        let listed = cli(&db, &["schedules", "list"]).await.unwrap();
        assert!(listed.contains("no schedules"), "{name}: {listed}");
        sim.shutdown().await;
        db.cleanup().await;
    }
}
