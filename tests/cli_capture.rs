//! `synckit capture …` on SQLite and PostgreSQL: add, list, remove; a missing column is
//! refused by name.

use synckit::cli::run_args;
use synckit::testing::{TestDatabase, test_databases};

async fn cli(db: &TestDatabase, args: &[&str]) -> synckit::SyncResult<String> {
    let mut all = vec!["synckit", "--database-url", db.url.as_str()];
    all.extend_from_slice(args);
    run_args(all, async |_: &mut synckit::cli::Setup<'_>| Ok(())).await
}

#[tokio::test]
async fn tables_are_declared_listed_and_removed() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        sqlx::query("CREATE TABLE customers (id BIGINT PRIMARY KEY, email TEXT, lastname TEXT)")
            .execute(db.storage.pool())
            .await
            .unwrap();
        let refused = cli(
            &db,
            &[
                "capture",
                "add",
                "customer",
                "--table",
                "customers",
                "--columns",
                "email,phone",
            ],
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(refused.contains("no column `phone`"), "{name}: {refused}");
        assert_eq!(
            cli(&db, &["capture", "list"]).await.unwrap(),
            "no captured tables"
        );

        let added = cli(
            &db,
            &[
                "capture",
                "add",
                "customer",
                "--table",
                "customers",
                "--columns",
                "email,lastname",
            ],
        )
        .await
        .unwrap();
        assert!(
            added.contains("capturing table customers as model customer"),
            "{name}: {added}"
        );
        let list = cli(&db, &["capture", "list"]).await.unwrap();
        assert!(
            list.contains("customer\ttable customers\tkey id\tcolumns email,lastname"),
            "{name}: {list}"
        );
        sqlx::query("INSERT INTO customers (id, email) VALUES (1, 'ada@example.com')")
            .execute(db.storage.pool())
            .await
            .unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM synckit_capture_outbox")
            .fetch_one(db.storage.pool())
            .await
            .unwrap();
        assert_eq!(n, 1, "{name}: the insert was captured");

        let removed = cli(&db, &["capture", "remove", "customer"]).await.unwrap();
        assert!(removed.contains("no longer captured"), "{name}: {removed}");
        let again = cli(&db, &["capture", "remove", "customer"])
            .await
            .unwrap_err();
        assert!(
            again.to_string().contains("not captured"),
            "{name}: {again}"
        );
        db.cleanup().await;
    }
}
