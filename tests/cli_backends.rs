//! `synckit backends …` on SQLite and PostgreSQL: add, list, update, disable; secrets come
//! from the environment and are never printed.

use synckit::SyncError;
use synckit::cli::run_args;
use synckit::testing::{TestDatabase, test_databases};

/// Runs one command of the plain command line (no connector) on `db`.
async fn cli(db: &TestDatabase, args: &[&str]) -> synckit::SyncResult<String> {
    let mut all = vec!["synckit", "--database-url", db.url.as_str()];
    all.extend_from_slice(args);
    run_args(all, async |_: &mut synckit::cli::Setup<'_>| Ok(())).await
}

#[tokio::test]
async fn backends_are_added_listed_updated_and_disabled_without_showing_secrets() {
    // A variable every environment has stands in for the token's.
    let secret = std::env::var("PATH").expect("PATH is set");
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let added = cli(
            &db,
            &[
                "backends",
                "add",
                "--name",
                "shop",
                "--kind",
                "magento",
                "--version",
                "2.4",
                "--settings",
                r#"{"base_url": "https://shop.example"}"#,
                "--secret-env",
                "token=PATH",
                // No SYNCKIT_SECRET_KEY here: plain text is allowed explicitly.
                "--plaintext-secrets",
            ],
        )
        .await
        .unwrap();
        assert!(added.contains("backend shop added"), "{name}: {added}");
        let stored = db
            .storage
            .backends()
            .by_name("shop")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stored.secrets.get("token").map(|s| s.expose().to_owned()),
            Some(secret.clone())
        );

        let list = cli(&db, &["backends", "list"]).await.unwrap();
        assert!(
            list.contains("shop") && list.contains("magento 2.4") && list.contains("enabled"),
            "{name}: {list}"
        );
        assert!(
            !list.contains(&secret),
            "{name}: the secret is never printed"
        );

        cli(
            &db,
            &[
                "backends",
                "update",
                "shop",
                "--settings",
                r#"{"base_url": "https://other.example"}"#,
            ],
        )
        .await
        .unwrap();
        cli(&db, &["backends", "disable", "shop"]).await.unwrap();
        let list = cli(&db, &["backends", "list"]).await.unwrap();
        assert!(
            list.contains("other.example") && list.contains("disabled"),
            "{name}: {list}"
        );

        // Bad input: clear errors naming what is wrong, never a secret's value.
        let missing = cli(
            &db,
            &[
                "backends",
                "add",
                "--name",
                "x",
                "--kind",
                "magento",
                "--secret-env",
                "token=SYNCKIT_NO_SUCH_VARIABLE",
            ],
        )
        .await;
        assert!(
            matches!(&missing, Err(SyncError::Failed(m)) if m.contains("SYNCKIT_NO_SUCH_VARIABLE")),
            "{name}: {missing:?}"
        );
        let not_object = cli(
            &db,
            &[
                "backends",
                "add",
                "--name",
                "x",
                "--kind",
                "magento",
                "--settings",
                "[1]",
            ],
        )
        .await;
        assert!(
            matches!(&not_object, Err(SyncError::Failed(m)) if m.contains("JSON object")),
            "{name}: {not_object:?}"
        );
        db.cleanup().await;
    }
}
