//! A generic export writer for two-way connectors: a per-field three-way merge against what
//! was last synced, settled by the integration's sync priority.
//!
//! Oro leaves the merge to each connector (its Magento connector diffs both sides against a
//! base rebuilt from the local change set). Here the base is the binding's last-synced
//! values, kept by every sync, and the merge is [`merge_three_way`]: a field changed on one
//! side takes that side's value, a field changed on both sides to different values goes to
//! the side the priority names (`remote` or `local`). The writer then sends the local
//! winners to the backend, writes the remote winners locally **with the backend as origin**
//! (so they do not trigger another reverse sync), and stores the new base.

use async_trait::async_trait;
use chrono::Utc;
use serde_json::Value;
use sqlx::AnyConnection;

use super::components::ItemWriter;
use super::context::StepContext;
use super::reader::{BACKEND_ADAPTER_USAGE, LOCAL_REPOSITORY_USAGE};
use crate::adapter::BackendAdapter;
use crate::context::Origin;
use crate::error::{SyncError, SyncResult};
use crate::ids::{ExternalId, LocalId};
use crate::local::LocalRepository;
use crate::storage::SyncedState;
use crate::sync::{Side, merge_three_way};
use crate::values::Values;

/// The usage [`register_builtins`](super::register_builtins) registers [`TwoWayWriter`] under.
pub const TWO_WAY_WRITER: &str = "two_way_writer";

/// Exports local records (items from `entity_by_id`: fields plus `id`) whose field names are
/// the same on both sides, merging with the remote record when it exists.
///
/// Step parameter `fields` (a list) limits the synced fields; without it, the item's fields
/// are synced. Counts a created remote record as added, a record with a change on either
/// side as updated.
#[derive(Debug, Clone, Copy, Default)]
pub struct TwoWayWriter;

#[async_trait]
impl ItemWriter for TwoWayWriter {
    async fn write(
        &self,
        step: &mut StepContext,
        conn: &mut AnyConnection,
        items: &[Value],
    ) -> SyncResult<()> {
        let work = step.work().clone();
        let adapter = work.component::<dyn BackendAdapter>(BACKEND_ADAPTER_USAGE)?;
        let repository =
            work.component_for::<dyn LocalRepository>(step.local_model(), LOCAL_REPOSITORY_USAGE)?;
        let fields: Option<Vec<String>> = step.parameter("fields").and_then(|v| {
            v.as_array().map(|list| {
                list.iter()
                    .filter_map(|f| f.as_str().map(str::to_owned))
                    .collect()
            })
        });
        let policy = step
            .integration()
            .map(|i| i.settings.sync_priority)
            .unwrap_or_default()
            .policy();
        let bindings = work.storage().bindings();
        for item in items {
            let id = item
                .get("id")
                .and_then(Value::as_i64)
                .map(LocalId)
                .ok_or_else(|| {
                    SyncError::invalid_data(format!("{} item", work.model()), "id", "missing")
                })?;
            let record = format!("{} {id}", work.model());
            let Value::Object(all) = item else {
                return Err(SyncError::invalid_data(record, "<record>", "not an object"));
            };
            let names: Vec<String> = match &fields {
                Some(fields) => fields.clone(),
                None => all.keys().filter(|k| *k != "id").cloned().collect(),
            };
            let local = pick(all, &names);
            let binding = bindings.by_local(conn, work.binding_scope(), id).await?;
            let external = binding.as_ref().and_then(|b| b.external_id.clone());
            let Some(external) = external else {
                let external: ExternalId = adapter.create(&local).await?;
                let bound = bindings
                    .bind(conn, work.binding_scope(), &external, id, Utc::now())
                    .await?;
                bindings
                    .set_synced_state(conn, bound.id, &SyncedState::of(local))
                    .await?;
                step.counters_mut().added += 1;
                continue;
            };
            let remote = match adapter.read(&external).await? {
                Value::Object(remote) => pick(&remote, &names),
                _ => {
                    return Err(SyncError::invalid_data(
                        record,
                        "<remote record>",
                        "not an object",
                    ));
                }
            };
            let base = binding
                .as_ref()
                .and_then(|b| b.synced.as_ref())
                .map(|s| s.values.clone())
                .unwrap_or_default();
            let merge = merge_three_way(&base, &local, &remote, policy, Side::Remote);
            if !merge.to_remote.is_empty() {
                adapter.write(&external, &merge.to_remote).await?;
            }
            if !merge.to_local.is_empty() {
                let origin = Origin::Backend(work.backend().id);
                let mut session = work.app().session(&mut *conn, origin);
                session
                    .write(repository.as_ref(), id, &merge.to_local)
                    .await?;
            }
            let mut synced = merge.base.clone();
            for (field, value) in &merge.to_remote {
                synced.insert(field.clone(), value.clone());
            }
            let bound = bindings
                .bind(conn, work.binding_scope(), &external, id, Utc::now())
                .await?;
            bindings
                .set_synced_state(conn, bound.id, &SyncedState::of(synced))
                .await?;
            if !merge.to_remote.is_empty() || !merge.to_local.is_empty() {
                step.counters_mut().updated += 1;
            }
        }
        Ok(())
    }
}

/// The named fields of a record; a missing one is `null`, so both sides compare alike.
fn pick(record: &Values, names: &[String]) -> Values {
    names
        .iter()
        .map(|name| {
            (
                name.clone(),
                record.get(name).cloned().unwrap_or(Value::Null),
            )
        })
        .collect()
}
