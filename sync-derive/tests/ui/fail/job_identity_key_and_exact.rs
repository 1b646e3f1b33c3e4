use sync_core::SyncResult;
use sync_derive::job;

#[job(identity_key = "import:{external_id}", identity_exact)]
async fn import_customer(external_id: String) -> SyncResult<()> {
    let _ = external_id;
    Ok(())
}

fn main() {}
