//! `synckit locks list|release` on SQLite and PostgreSQL: a live holder's lock is listed
//! and released only with `--force`, which stops the holder's work.

use std::time::Duration;

use synckit::cli::run_args;
use synckit::testing::{TestDatabase, test_databases};

async fn cli(db: &TestDatabase, args: &[&str]) -> synckit::SyncResult<String> {
    let mut all = vec!["synckit", "--database-url", db.url.as_str()];
    all.extend_from_slice(args);
    run_args(all, async |_: &mut synckit::cli::Setup<'_>| Ok(())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locks_are_listed_and_a_live_holders_lock_is_released_only_by_force() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        assert_eq!(cli(&db, &["locks", "list"]).await.unwrap(), "no locks\n");
        let key = "batch:reverse:1:customer";
        let guard = db
            .storage
            .try_lock(key, Duration::from_millis(900))
            .await
            .unwrap();
        let list = cli(&db, &["locks", "list"]).await.unwrap();
        assert!(
            list.contains(key) && list.contains("alive") && list.contains("held by"),
            "{name}: {list}"
        );
        let refused = cli(&db, &["locks", "release", key]).await.unwrap_err();
        assert!(refused.to_string().contains("alive"), "{name}: {refused}");
        assert!(!guard.is_lost());
        let forced = cli(&db, &["locks", "release", key, "--force"])
            .await
            .unwrap();
        assert!(forced.contains("taken away"), "{name}: {forced}");
        tokio::time::timeout(Duration::from_secs(5), guard.lost())
            .await
            .expect("the holder learns it lost the lock");
        guard.release().await.unwrap();
        assert_eq!(cli(&db, &["locks", "list"]).await.unwrap(), "no locks\n");
        let missing = cli(&db, &["locks", "release", key]).await.unwrap_err();
        assert!(missing.to_string().contains("no lock"), "{name}: {missing}");
        db.cleanup().await;
    }
}
