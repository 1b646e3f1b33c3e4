//! `#[job]`: declaring job functions, delaying them with typed arguments, running them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sync_core::queue::{
    IdentityKey, JobContext, JobFunction, JobRegistry, JobState, Queue, Worker,
};
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

/// Import one order.
#[job(identity_key = "import:{backend_id}:order:{external_id}")]
async fn import_order(backend_id: i64, external_id: String) -> SyncResult<()> {
    let _ = (backend_id, external_id);
    Ok(())
}

fn stock_key(sku: &str, qty: &f64) -> String {
    let _ = qty;
    format!("stock:{sku}")
}

#[job(identity_key = stock_key)]
async fn push_stock(ctx: JobContext, sku: String, qty: f64) -> SyncResult<()> {
    let _ = (ctx, sku, qty);
    Ok(())
}

#[job(identity_exact)]
async fn refresh(n: u32) -> SyncResult<()> {
    let _ = n;
    Ok(())
}

/// Issue #11, point 11: without a doc comment, the description is the function's name
/// (queue_job's rule).
#[test]
fn a_job_without_a_doc_comment_is_described_by_its_name() {
    assert_eq!(
        no_context::defaults().description.as_deref(),
        Some("no_context")
    );
    let job = no_context::call(1).unwrap();
    assert_eq!(job.options().description.as_deref(), Some("no_context"));
    assert_eq!(
        import_order::defaults().description.as_deref(),
        Some("Import one order.")
    );
}

/// Issue #11, point 11: `#[job]` declares a default identity key, computed from the
/// arguments; a delay may still set its own.
#[test]
fn the_attribute_declares_a_default_identity_key() {
    let job = import_order::call(3, "100000042".into()).unwrap();
    assert_eq!(
        job.options().identity_key,
        Some(IdentityKey::Key("import:3:order:100000042".into()))
    );
    let job = push_stock::call("SKU-1".into(), 4.0).unwrap();
    assert_eq!(
        job.options().identity_key,
        Some(IdentityKey::Key("stock:SKU-1".into()))
    );
    assert_eq!(
        refresh::call(1).unwrap().options().identity_key,
        Some(IdentityKey::Exact)
    );
    assert_eq!(no_context::call(1).unwrap().options().identity_key, None);
    let own = import_order::call(3, "7".into())
        .unwrap()
        .identity_key("mine");
    assert_eq!(
        own.options().identity_key,
        Some(IdentityKey::Key("mine".into()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_default_identity_key_merges_duplicates_when_stored() {
    for db in test_databases().await.unwrap() {
        let queue = Queue::with_url(db.storage.clone(), &db.url);
        let first = queue
            .enqueue(import_order::call(3, "42".into()).unwrap())
            .await
            .unwrap();
        let again = queue
            .enqueue(import_order::call(3, "42".into()).unwrap())
            .await
            .unwrap();
        let other = queue
            .enqueue(import_order::call(3, "43".into()).unwrap())
            .await
            .unwrap();
        assert_eq!(first, again, "{}", db.name);
        assert_ne!(first, other, "{}", db.name);
        assert_eq!(
            queue.job(first).await.unwrap().identity_key.as_deref(),
            Some("import:3:order:42")
        );
        db.cleanup().await;
    }
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
