//! Order statuses exported as order comments (`POST /V1/orders/{id}/comments`).

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Value, json};
use sync_core::binding_model::BindingModel;
use sync_core::storage::SyncedState;
use sync_core::sync::{ExportOutcome, RecordExporter, binder_for, repository_for};
use sync_core::{LocalId, SyncResult, WorkContext};

use super::order::OrderBinding;
use crate::backend::client_for;
use crate::errors::RequestTarget;

/// Exports a local order's `status` (and its optional `status_comment`) as a status history
/// entry on the Magento order. A status equal to the last one exported is not sent again.
#[derive(Debug, Default)]
pub struct OrderStatusExporter;

#[async_trait]
impl RecordExporter for OrderStatusExporter {
    async fn run(
        &self,
        ctx: &WorkContext,
        local_id: LocalId,
        _fields: Option<&[String]>,
    ) -> SyncResult<ExportOutcome> {
        let orders = repository_for(ctx, OrderBinding::LOCAL_MODEL)?;
        let binder = binder_for(ctx)?;
        let (order, binding) = {
            let mut conn = ctx.storage().pool().acquire().await?;
            let Some(order) = orders.get(&mut conn, local_id).await? else {
                return Ok(ExportOutcome::NothingToDo(format!(
                    "sale.order {local_id} no longer exists"
                )));
            };
            (order, binder.binding_of_local(&mut conn, local_id).await?)
        };
        let Some((binding, external_id)) =
            binding.and_then(|b| b.external_id.clone().map(|e| (b, e)))
        else {
            return Ok(ExportOutcome::Skipped(format!(
                "sale.order {local_id} does not come from Magento"
            )));
        };
        let status = order.get("status").cloned().unwrap_or(Value::Null);
        let last = binding.synced.as_ref().and_then(|s| s.values.get("status"));
        if last == Some(&status) {
            return Ok(ExportOutcome::NothingToDo(format!(
                "sale.order {local_id}: status already exported"
            )));
        }
        let comment = order
            .get("status_comment")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let body = json!({"statusHistory": {
            "comment": comment,
            "is_customer_notified": 0,
            "is_visible_on_front": 0,
            "status": status,
        }});
        let client = client_for(ctx)?;
        let url = client.url(&format!("/orders/{external_id}/comments"));
        let _: Value = client
            .write(
                Method::POST,
                &url,
                Some(&body),
                &RequestTarget::record(OrderBinding::MODEL, &external_id),
            )
            .await?;
        let mut values = binding
            .synced
            .as_ref()
            .map(|s| s.values.clone())
            .unwrap_or_default();
        values.insert("status".into(), status);
        let mut conn = ctx.storage().pool().acquire().await?;
        binder
            .set_synced_state(&mut conn, &binding, &SyncedState::of(values))
            .await?;
        Ok(ExportOutcome::Updated {
            external_id,
            fields: vec!["status".into()],
        })
    }
}
