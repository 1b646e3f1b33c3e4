//! Bindings as the console shows them: found by local id, external id or a natural key of
//! the last synced state ([`Storage::search_bindings`](sync_core::storage::Storage)), each
//! with its sync date and the values last synced (secret-looking fields redacted), and the
//! link from a job about one record to its binding.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sync_core::BackendId;
use sync_core::storage::{Binding, BindingQuery, Storage};
use sync_core::sync::{OPEN_CONFLICTS, open_conflicts};
use utoipa::{IntoParams, ToSchema};

use super::audit::rfc3339;
use super::error::{ConsoleError, ConsoleResult};
use super::jobs_view::percent_encode;
use super::redact::redact;

/// How many bindings a search shows.
const SEARCH_LIMIT: u32 = 50;

/// The binding search's query; one of `local_id`, `external_id` or `key` is needed.
#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams, ToSchema)]
pub struct BindingSearchParams {
    /// Only this backend.
    pub backend: Option<String>,
    /// Only this binding model, e.g. `magento.customer`.
    pub model: Option<String>,
    /// The local record's id.
    pub local_id: Option<String>,
    /// The external record's id.
    pub external_id: Option<String>,
    /// A natural key as `field=value`, e.g. `email=ada@example.com`.
    pub key: Option<String>,
}

/// Trims a form field; an empty one is absent.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl BindingSearchParams {
    /// Whether anything to search for was given (an empty form shows no result).
    pub fn is_empty(&self) -> bool {
        given(&self.local_id).is_none()
            && given(&self.external_id).is_none()
            && given(&self.key).is_none()
    }

    /// The storage query.
    ///
    /// # Errors
    /// 400 naming the field that is not readable.
    pub fn query(&self) -> ConsoleResult<BindingQuery> {
        let number = |field: &str, value: &Option<String>| -> ConsoleResult<Option<i64>> {
            given(value)
                .map(|text| {
                    text.parse::<i64>().map_err(|_| {
                        ConsoleError::bad_request(format!(
                            "field `{field}`: `{text}` is not a number"
                        ))
                    })
                })
                .transpose()
        };
        let natural_key = given(&self.key)
            .map(|text| {
                text.split_once('=')
                    .map(|(f, v)| (f.trim().to_owned(), v.trim().to_owned()))
                    .ok_or_else(|| {
                        ConsoleError::bad_request(format!(
                            "field `key`: `{text}` is not `field=value`"
                        ))
                    })
            })
            .transpose()?;
        Ok(BindingQuery {
            backend_id: number("backend", &self.backend)?.map(BackendId),
            model: given(&self.model).map(str::to_owned),
            local_id: number("local_id", &self.local_id)?,
            external_id: given(&self.external_id).map(str::to_owned),
            natural_key,
        })
    }
}

/// A binding.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BindingView {
    /// The row id.
    pub id: i64,
    /// The backend.
    pub backend_id: i64,
    /// The binding model.
    pub model: String,
    /// The local record.
    pub local_id: i64,
    /// The external record; absent while an export's create is in flight.
    pub external_id: Option<String>,
    /// The last sync (RFC 3339).
    pub sync_date: Option<String>,
    /// An export's create in flight since (RFC 3339).
    pub export_intent_at: Option<String>,
    /// The values last synced (secret-looking fields redacted).
    #[schema(value_type = Object)]
    pub synced: Option<Value>,
    /// The fields left in conflict.
    pub open_conflicts: Vec<String>,
}

impl From<Binding> for BindingView {
    fn from(b: Binding) -> Self {
        let open_conflicts = b
            .synced
            .as_ref()
            .map(|s| open_conflicts(&s.values))
            .unwrap_or_default();
        BindingView {
            id: b.id,
            backend_id: b.backend_id.0,
            model: b.model,
            local_id: b.local_id.0,
            external_id: b.external_id.map(|e| e.0),
            sync_date: b.sync_date.map(rfc3339),
            export_intent_at: b.export_intent_at.map(rfc3339),
            synced: b.synced.map(|s| {
                let mut values = s.values;
                values.remove(OPEN_CONFLICTS);
                redact(&Value::Object(values))
            }),
            open_conflicts,
        }
    }
}

/// Searches bindings; an empty search finds nothing.
///
/// # Errors
/// 400 for an unreadable field.
pub async fn binding_search(
    storage: &Storage,
    params: &BindingSearchParams,
) -> ConsoleResult<Vec<BindingView>> {
    if params.is_empty() {
        return Ok(Vec::new());
    }
    let query = params.query()?;
    Ok(storage
        .search_bindings(&query, SEARCH_LIMIT)
        .await?
        .into_iter()
        .map(BindingView::from)
        .collect())
}

/// The binding search of the record a job is about, when its arguments name a backend, a
/// model and a local or external id (the synchronizers' jobs do).
pub fn binding_link(args: &Value) -> Option<String> {
    let backend = args.get("backend_id")?.as_i64()?;
    let model = args.get("model")?.as_str()?;
    let model = percent_encode(model);
    if let Some(local) = args.get("local_id").and_then(Value::as_i64) {
        return Some(format!(
            "/bindings?backend={backend}&model={model}&local_id={local}"
        ));
    }
    let external = match args.get("external_id")? {
        Value::String(text) => text.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Some(format!(
        "/bindings?backend={backend}&model={model}&external_id={}",
        percent_encode(&external)
    ))
}
