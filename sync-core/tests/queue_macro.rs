//! `#[job]`: declaring job functions, delaying them with typed arguments, running them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sync_core::queue::{JobContext, JobFunction, JobRegistry, JobState, Queue, Worker};
use sync_core::testing::test_databases;
use sync_core::{SyncError, SyncResult};
use sync_derive::job;

#[derive(Default)]
struct Seen(Mutex<Vec<String>>);

/// Import one customer from the backend.
#[job(
    channel = "magento.customers",
    max_retries = 7,
    retry_pattern = "1:10,5:20-60"
)]
async fn import_customer(ctx: JobContext, backend_id: i64, external_id: String) -> SyncResult<()> {
    ctx.data::<Arc<Seen>>()?
        .0
        .lock()
        .unwrap()
        .push(format!("{backend_id}:{external_id}"));
    Ok(())
}

#[job(
    name = "export.stock",
    priority = 3,
    description = "Push stock",
    timeout = 30
)]
async fn export_stock(ctx: &JobContext, sku: String, qty: f64) -> SyncResult<String> {
    let _ = ctx.job().id;
    if qty < 0.0 {
        return Err(SyncError::invalid_data(
            format!("sku {sku}"),
            "qty",
            "negative",
        ));
    }
    Ok(format!("{sku} = {qty}"))
}

#[job]
async fn no_context(n: u32) -> SyncResult<()> {
    if n == 0 {
        return Err(SyncError::NothingToDo("zero".into()));
    }
    Ok(())
}

#[test]
fn defaults_come_from_the_attribute() {
    let d = import_customer::defaults();
    assert_eq!(d.channel, "magento.customers");
    assert_eq!(d.max_retries, 7);
    assert_eq!(
        d.description.as_deref(),
        Some("Import one customer from the backend.")
    );
    assert_eq!(d.retry_pattern.to_string(), "1:10,5:20-60");
    let d = export_stock::defaults();
    assert_eq!((d.priority, d.timeout), (3, Some(Duration::from_secs(30))));
    assert_eq!(export_stock::NAME, "export.stock");
    assert_eq!(no_context::NAME, "no_context");

    let job = import_customer::call(1, "42".into()).unwrap().priority(2);
    assert_eq!(job.name(), "import_customer");
    assert_eq!(job.args_json(), r#"{"backend_id":1,"external_id":"42"}"#);
    assert_eq!(job.options().channel, "root.magento.customers");
    assert_eq!(job.options().priority, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_jobs_run_on_a_worker() {
    for db in test_databases().await.unwrap() {
        let queue = Queue::with_url(db.storage.clone(), &db.url);
        let seen = Arc::new(Seen::default());
        let mut tx = db.storage.begin().await.unwrap();
        let a = queue
            .delay(&mut tx, import_customer::call(1, "42".into()).unwrap())
            .await
            .unwrap();
        let b = queue
            .delay(&mut tx, export_stock::call("SKU-1".into(), 5.0).unwrap())
            .await
            .unwrap();
        let c = queue
            .delay(&mut tx, export_stock::call("SKU-2".into(), -1.0).unwrap())
            .await
            .unwrap();
        let d = queue
            .delay(&mut tx, no_context::call(0).unwrap())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let registry = JobRegistry::new()
            .register::<import_customer>()
            .register::<export_stock>()
            .register::<no_context>();
        Worker::builder(queue.clone(), registry)
            .data(seen.clone())
            .build()
            .run_until_idle()
            .await
            .unwrap();
        assert_eq!(*seen.0.lock().unwrap(), ["1:42"], "{}", db.name);
        assert_eq!(queue.job(a).await.unwrap().state, JobState::Done);
        let b = queue.job(b).await.unwrap();
        assert_eq!(b.result.as_deref(), Some("SKU-1 = 5"));
        assert_eq!(b.description.as_deref(), Some("Push stock"));
        let c = queue.job(c).await.unwrap();
        assert_eq!(c.state, JobState::Failed);
        assert!(c.exc_message.unwrap().contains("field `qty`"));
        let d = queue.job(d).await.unwrap();
        assert_eq!(
            (d.state, d.result.as_deref()),
            (JobState::Done, Some("zero"))
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_trap_records_and_the_synchronous_mode_performs() {
    let db = sync_core::testing::sqlite().await.unwrap();
    let queue = Queue::new(db.storage.clone());
    let trap = queue.trap();
    let mut conn = db.storage.pool().acquire().await.unwrap();
    queue
        .delay(&mut conn, import_customer::call(1, "7".into()).unwrap())
        .await
        .unwrap();
    queue
        .delay(
            &mut conn,
            import_customer::call(1, "8".into())
                .unwrap()
                .identity_key("k"),
        )
        .await
        .unwrap();
    queue
        .delay(
            &mut conn,
            import_customer::call(1, "9".into())
                .unwrap()
                .identity_key("k"),
        )
        .await
        .unwrap();
    trap.assert_jobs_count(2, Some("import_customer"));
    trap.assert_enqueued(
        "import_customer",
        serde_json::json!({"backend_id": 1, "external_id": "7"}),
    );
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM queue_jobs")
        .fetch_one(db.storage.pool())
        .await
        .unwrap();
    assert_eq!(n, 0, "trapped jobs are not stored");

    let seen = Arc::new(Seen::default());
    let registry = JobRegistry::new().register::<import_customer>();
    let mut data = sync_core::context::Extras::default();
    data.insert(seen.clone());
    assert_eq!(
        trap.perform_all(&queue, &registry, data.clone())
            .await
            .unwrap(),
        2
    );
    assert_eq!(*seen.0.lock().unwrap(), ["1:7", "1:8"]);

    queue.run_synchronously(registry, data);
    queue
        .delay(&mut conn, import_customer::call(2, "1".into()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        seen.0.lock().unwrap().last().map(String::as_str),
        Some("2:1")
    );
    queue.store_jobs();
    queue
        .delay(&mut conn, import_customer::call(3, "1".into()).unwrap())
        .await
        .unwrap();
    assert_eq!(seen.0.lock().unwrap().len(), 3, "stored, not performed");
    drop(conn);
    db.cleanup().await;
}
