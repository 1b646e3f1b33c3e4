use sync_core::SyncResult;
use sync_core::queue::{JobContext, JobFunction};
use sync_derive::job;

fn order_key(backend_id: &i64, external_id: &str) -> String {
    format!("import:{backend_id}:order:{external_id}")
}

/// Import one customer.
///
/// More about it.
#[job(
    name = "import.customer",
    channel = "magento.customers",
    priority = 5,
    max_retries = 0,
    retry_pattern = "1:10,5:20-60",
    timeout = 30,
    identity_key = "import:{backend_id}:customer:{external_id:?}:{{literal}}"
)]
async fn import_customer(ctx: &JobContext, backend_id: i64, external_id: String) -> SyncResult<()> {
    let _ = (ctx, backend_id, external_id);
    Ok(())
}

#[job(description = "Import one order", identity_key = order_key)]
async fn import_order(backend_id: i64, external_id: String) -> SyncResult<String> {
    Ok(format!("{backend_id}:{external_id}"))
}

#[job(identity_exact)]
async fn refresh() -> SyncResult<()> {
    Ok(())
}

fn main() {
    let job = import_customer::call(1, "42".into()).unwrap();
    assert_eq!(job.name(), "import.customer");
    assert_eq!(job.options().description.as_deref(), Some("Import one customer."));
    assert_eq!(
        job.options().identity_key,
        Some(sync_core::queue::IdentityKey::Key("import:1:customer:\"42\":{literal}".into()))
    );
    let _ = import_order::call(1, "7".into()).unwrap();
    let _ = refresh::call().unwrap();
    let _ = <refresh as JobFunction>::defaults();
}
