use sync_core::SyncResult;
use sync_derive::job;

#[job(identity_key = 42)]
async fn import_customer(external_id: String) -> SyncResult<()> {
    let _ = external_id;
    Ok(())
}

fn main() {}
