//! A database that cannot be opened is reported at once, naming the file or the server and
//! the cause, never the URL's password; on SQLite and PostgreSQL.

use std::time::{Duration, Instant};

use sync_core::storage::{Storage, StorageOptions};
use sync_core::testing::test_databases;

/// Opens `url`, expecting a failure within a few seconds; returns its message.
async fn open_error(url: &str) -> String {
    let started = Instant::now();
    let result = Storage::open(url).await;
    let took = started.elapsed();
    let error = match result {
        Ok(_) => panic!("{url} opened"),
        Err(error) => error.to_string(),
    };
    assert!(
        took < Duration::from_secs(4),
        "{url}: the error took {took:?}: {error}"
    );
    error
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_named_with_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(&path, garbage).unwrap();
    let error = open_error(&format!("sqlite://{}", path.display())).await;
    assert_eq!(
        error,
        format!(
            "failed: cannot open the SQLite database {}: file is not a database",
            path.display()
        )
    );
}

#[tokio::test]
async fn a_database_in_a_missing_directory_names_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir");
    let path = missing.join("shop.db");
    let error = open_error(&format!("sqlite://{}", path.display())).await;
    assert!(
        error.contains(&format!(
            "cannot open the SQLite database {}: unable to open database file",
            path.display()
        )),
        "{error}"
    );
    assert!(
        error.contains(&format!(
            "the directory {} does not exist",
            missing.display()
        )),
        "{error}"
    );
}

#[tokio::test]
async fn a_closed_port_is_named_with_host_and_port_and_no_password() {
    // A port that was free a moment ago: nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let error = open_error(&format!("postgres://bob:hunter2@127.0.0.1:{port}/shop")).await;
    assert_eq!(
        error,
        format!(
            "failed: cannot connect to PostgreSQL at 127.0.0.1:{port} (database shop): connection refused"
        )
    );
    assert!(!error.contains("hunter2"));
}

#[tokio::test]
async fn a_missing_postgres_database_is_named_and_a_good_url_still_connects() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        // The same URL opens a second handle without delay.
        let other = Storage::connect(&db.url, StorageOptions::default())
            .await
            .unwrap();
        other.ping().await.unwrap();
        other.close().await;
        if name == "postgres" {
            // The test database's URL with another database name.
            let base = db.url.split('?').next().unwrap_or_default();
            let (server, _) = base.rsplit_once('/').unwrap();
            let error = open_error(&format!("{server}/synckit_no_such_database")).await;
            assert!(
                error.contains("cannot connect to PostgreSQL at")
                    && error.contains("(database synckit_no_such_database)")
                    && error.ends_with("database \"synckit_no_such_database\" does not exist"),
                "{name}: {error}"
            );
        }
        db.cleanup().await;
    }
}
