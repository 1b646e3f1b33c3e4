//! Named locks with short leases renewed by their holder, on SQLite and PostgreSQL: a live
//! holder keeps its lock past the lease, a killed one loses it within the lease, a holder
//! whose renewals fail is told so, and operators list and release locks.

use std::time::Duration;

use sync_core::storage::Storage;
use sync_core::testing::test_databases;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_holder_keeps_its_lock_past_the_lease() {
    for db in test_databases().await.unwrap() {
        let other = Storage::connect(&db.url, Default::default()).await.unwrap();
        let held = db
            .storage
            .try_lock("batch:reverse:1:customer", Duration::from_millis(900))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let taken = other
            .try_lock("batch:reverse:1:customer", Duration::from_secs(60))
            .await;
        assert!(
            taken.is_err(),
            "{}: a live holder's lock was taken over",
            db.name
        );
        held.release().await.unwrap();
        other
            .try_lock("batch:reverse:1:customer", Duration::from_secs(60))
            .await
            .unwrap()
            .release()
            .await
            .unwrap();
        other.close().await;
        db.cleanup().await;
    }
}

/// Takes `key` in a runtime of its own that then goes away without releasing it, as a
/// killed process does: its renewer stops and nothing deletes its row. On PostgreSQL its
/// session stays open (the connection is leaked), as a hung process's would, until the
/// test ends it.
fn take_and_die(url: &str, key: &str, lease: Duration) {
    let (url, key) = (url.to_owned(), key.to_owned());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let storage = Storage::connect(&url, Default::default()).await.unwrap();
            std::mem::forget(storage.try_lock(&key, lease).await.unwrap());
        });
        drop(runtime);
    })
    .join()
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_holders_lock_is_free_again_within_its_lease() {
    for db in test_databases().await.unwrap() {
        let key = "batch:reverse:1:customer";
        take_and_die(&db.url, key, Duration::from_secs(1));
        assert!(
            db.storage
                .try_lock(key, Duration::from_secs(60))
                .await
                .is_err()
        );
        let listed = db.storage.list_locks().await.unwrap();
        assert_eq!(listed.len(), 1, "{}: {listed:?}", db.name);
        assert!(listed[0].alive, "{}: {listed:?}", db.name);
        assert!(
            listed[0]
                .holder
                .contains(&format!(":{}:", std::process::id())),
            "{}: the holder names its process: {listed:?}",
            db.name
        );
        assert!(listed[0].acquired_at.is_some());
        if let Some(pid) = listed[0].session_pid {
            // PostgreSQL: the process dies, its connection with it.
            sqlx::query("SELECT pg_terminate_backend($1)")
                .bind(pid)
                .execute(db.storage.pool())
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
        } else {
            tokio::time::sleep(Duration::from_millis(1200)).await;
        }
        let listed = db.storage.list_locks().await.unwrap();
        assert!(!listed[0].alive, "{}: {listed:?}", db.name);
        // The next holder takes it without anyone's help…
        let next = db
            .storage
            .try_lock(key, Duration::from_secs(60))
            .await
            .unwrap();
        next.release().await.unwrap();
        assert!(db.storage.list_locks().await.unwrap().is_empty());
        // …and a dead holder's row is tidied without force.
        take_and_die(&db.url, "k2", Duration::from_millis(300));
        if let Some(pid) = db.storage.list_locks().await.unwrap()[0].session_pid {
            sqlx::query("SELECT pg_terminate_backend($1)")
                .bind(pid)
                .execute(db.storage.pool())
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            db.storage.release_lock("k2", false).await.unwrap(),
            sync_core::storage::LockRelease::Tidied,
            "{}",
            db.name
        );
        assert!(db.storage.release_lock("k2", false).await.is_err());
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_holders_lock_is_released_only_by_force_and_its_work_stops() {
    for db in test_databases().await.unwrap() {
        let other = Storage::connect(&db.url, Default::default()).await.unwrap();
        let key = "export:1:customer:42";
        let guard = db
            .storage
            .try_lock(key, Duration::from_millis(900))
            .await
            .unwrap();
        let refused = other.release_lock(key, false).await.unwrap_err();
        assert!(
            refused.to_string().contains("alive"),
            "{}: {refused}",
            db.name
        );
        assert!(!guard.is_lost());
        let work = guard.while_held(async {
            tokio::time::sleep(Duration::from_secs(20)).await;
            Ok("finished")
        });
        let release = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            other.release_lock(key, true).await
        };
        let started = std::time::Instant::now();
        let (worked, released) = tokio::join!(work, release);
        assert_eq!(
            released.unwrap(),
            sync_core::storage::LockRelease::TakenAway
        );
        let stopped = worked.unwrap_err();
        assert!(
            stopped.is_retryable() && stopped.to_string().contains("was lost"),
            "{}: {stopped}",
            db.name
        );
        assert!(started.elapsed() < Duration::from_secs(5), "{}", db.name);
        assert!(guard.is_lost());
        // Another holder has it now; the lost guard's release leaves that alone.
        let next = other.try_lock(key, Duration::from_secs(60)).await.unwrap();
        guard.release().await.unwrap();
        assert!(
            db.storage
                .try_lock(key, Duration::from_secs(60))
                .await
                .is_err()
        );
        next.release().await.unwrap();
        other.close().await;
        db.cleanup().await;
    }
}

/// SQLite: a holder that cannot renew its lease (another writer keeps the database) gives
/// the lock up before its lease runs out, rather than working on as if it still had it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_that_cannot_renew_its_lease_is_told_before_it_expires() {
    let db = sync_core::testing::sqlite().await.unwrap();
    let guard = db
        .storage
        .try_lock("k", Duration::from_millis(1500))
        .await
        .unwrap();
    // BEGIN IMMEDIATE: the blocker holds the write lock until it rolls back.
    let blocker = Storage::connect(&db.url, Default::default()).await.unwrap();
    let tx = blocker.begin().await.unwrap();
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(3), guard.lost())
        .await
        .expect("the guard noticed it could not renew");
    assert!(started.elapsed() < Duration::from_millis(1500));
    tx.rollback().await.unwrap();
    guard.release().await.unwrap();
    blocker.close().await;
    db.cleanup().await;
}
