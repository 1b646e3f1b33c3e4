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
