use sync_core::SyncResult;
use sync_derive::job;

fn key(id: u32) -> String {
    format!("import:{id}")
}

#[job(identity_key = key)]
async fn import_customer(external_id: String) -> SyncResult<()> {
    let _ = external_id;
    Ok(())
}

fn main() {}
