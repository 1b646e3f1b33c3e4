use sync_core::SyncResult;
use sync_derive::job;

#[job(identity_key = "import:{backend}:customer:{external_id}")]
async fn import_customer(backend_id: i64, external_id: String) -> SyncResult<()> {
    let _ = (backend_id, external_id);
    Ok(())
}

fn main() {}
