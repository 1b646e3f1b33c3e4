//! Components shared by the batch tests.
#![allow(dead_code)]

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::AnyConnection;
use sync_core::batch::{ItemProcessor, ItemWriter, StepContext};
use sync_core::local::LocalRepository;
use sync_core::testing::DocumentRepository;
use sync_core::values::Values;
use sync_core::{SyncError, SyncResult};

/// A JSON object as `Values` (tests build them from `json!`).
pub fn object(value: Value) -> Values {
    match value {
        Value::Object(map) => map,
        _ => Values::new(),
    }
}

/// Filters items with `skip`, rejects items with `invalid` (record-level), passes the rest.
pub struct Rules;

#[async_trait]
impl ItemProcessor for Rules {
    async fn process(&self, _step: &mut StepContext, item: Value) -> SyncResult<Option<Value>> {
        if item.get("skip").is_some() {
            return Ok(None);
        }
        if let Some(reason) = item.get("invalid").and_then(Value::as_str) {
            let id = item.get("id").cloned().unwrap_or(Value::Null);
            return Err(SyncError::invalid_data(
                format!("customer {id}"),
                "email",
                reason,
            ));
        }
        Ok(Some(item))
    }
}

/// Copies items into the `mirror` documents on the chunk's transaction, counting each as
/// added; a `poison` item fails the chunk (record-level) after the others were written, a
/// `fatal` one fails the step.
pub struct MirrorWriter {
    pub mirror: Arc<DocumentRepository>,
}

#[async_trait]
impl ItemWriter for MirrorWriter {
    async fn write(
        &self,
        step: &mut StepContext,
        conn: &mut AnyConnection,
        items: &[Value],
    ) -> SyncResult<()> {
        for item in items {
            if item.get("fatal").is_some() {
                return Err(SyncError::Failed("remote is down".into()));
            }
            self.mirror.create(conn, &object(item.clone())).await?;
            step.counters_mut().added += 1;
        }
        if let Some(item) = items.iter().find(|i| i.get("poison").is_some()) {
            let id = item.get("id").cloned().unwrap_or(Value::Null);
            return Err(SyncError::invalid_data(
                format!("customer {id}"),
                "poison",
                "refused by the remote side",
            ));
        }
        Ok(())
    }
}
