//! What the components of a step see: [`StepContext`], and the run's [`JobParameters`].

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::execution::{Counters, Warning};
use super::integration::Integration;
use crate::context::WorkContext;
use crate::error::{SyncError, SyncResult};
use crate::ids::LocalId;
use crate::storage::Storage;
use crate::values::Values;

/// The parameter holding one entity id (or a list), as Oro's `EntityReaderById::ID_FILTER`.
pub const ID_PARAMETER: &str = "id";
/// The parameter holding a list of entity ids, merged with [`ID_PARAMETER`].
pub const IDS_PARAMETER: &str = "ids";
/// The parameter asking a connector for a full re-sync that ignores its cursor.
pub const FORCE_PARAMETER: &str = "force";

/// The parameters of one job run (Oro's job configuration): entity ids, `force`, anything a
/// connector's components read. They override the steps' own parameters.
///
/// They are stored with the execution, so never put a secret here: components read secrets
/// from the backend.
///
/// ```
/// use sync_core::batch::JobParameters;
/// use sync_core::LocalId;
/// let params = JobParameters::new().ids([LocalId(3), LocalId(5)]).force(true);
/// assert_eq!(params.values()["ids"], serde_json::json!([3, 5]));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobParameters(Values);

impl JobParameters {
    /// No parameters.
    pub fn new() -> Self {
        JobParameters::default()
    }

    /// Sets a parameter.
    pub fn set(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.0.insert(name.to_owned(), value.into());
        self
    }

    /// Sets the entity ids read by the `entity_by_id` reader.
    pub fn ids(self, ids: impl IntoIterator<Item = LocalId>) -> Self {
        let ids: Vec<Value> = ids.into_iter().map(|id| Value::from(id.0)).collect();
        self.set(IDS_PARAMETER, Value::Array(ids))
    }

    /// Asks for a full re-sync (connectors that support it ignore their cursor).
    pub fn force(self, force: bool) -> Self {
        self.set(FORCE_PARAMETER, force)
    }

    /// The parameters as JSON.
    pub fn values(&self) -> &Values {
        &self.0
    }

    /// From a JSON object.
    pub fn from_values(values: Values) -> Self {
        JobParameters(values)
    }
}

/// The state of one step run, handed to its reader, processor and writer: the work context,
/// the merged parameters, the counters, the warnings, and the data shared with the job's
/// other steps and with the next run (the connector's cursor).
#[derive(Debug)]
pub struct StepContext {
    work: WorkContext,
    job_execution_id: i64,
    job_name: String,
    step_name: String,
    parameters: Values,
    integration: Option<Integration>,
    connector: Option<String>,
    local_model: Option<String>,
    started_at: DateTime<Utc>,
    pub(crate) counters: Counters,
    pub(crate) warnings: Vec<Warning>,
    pub(crate) job_data: Values,
    pub(crate) status_data: Values,
    pub(crate) previous_status_data: Values,
}

/// Where a step runs: what [`StepContext`] is built from.
#[derive(Debug, Clone)]
pub(crate) struct StepScope {
    pub work: WorkContext,
    pub job_name: String,
    pub integration: Option<Integration>,
    pub connector: Option<String>,
    /// The connector's local model when it differs from the work context's model.
    pub local_model: Option<String>,
    /// Told of each entity of an export step as it settles (a reverse-sync job's rows).
    pub settlements: Option<std::sync::Arc<dyn super::settlement::ItemSettlements>>,
}

impl StepContext {
    pub(crate) fn new(
        scope: &StepScope,
        job_execution_id: i64,
        step_name: &str,
        parameters: Values,
    ) -> Self {
        StepContext {
            work: scope.work.clone(),
            job_execution_id,
            job_name: scope.job_name.clone(),
            step_name: step_name.to_owned(),
            parameters,
            integration: scope.integration.clone(),
            connector: scope.connector.clone(),
            local_model: scope.local_model.clone(),
            started_at: Utc::now(),
            counters: Counters::default(),
            warnings: Vec::new(),
            job_data: Values::new(),
            status_data: Values::new(),
            previous_status_data: Values::new(),
        }
    }

    /// The work context: backend, model, storage, components.
    pub fn work(&self) -> &WorkContext {
        &self.work
    }

    /// The storage.
    pub fn storage(&self) -> &Storage {
        self.work.storage()
    }

    /// The local model the step's records live in: the connector's local model (see
    /// [`Connector::local_model`](super::Connector::local_model)), else the work context's
    /// model. The built-in readers and writers find their local repository by it.
    pub fn local_model(&self) -> &str {
        self.local_model
            .as_deref()
            .unwrap_or_else(|| self.work.model())
    }

    /// When the step started, before it read anything: a safe "read at" time for the
    /// records it reads (a remote change made after it is newer, so the next run sees it).
    pub fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }

    /// The running job's execution id (e.g. to ask it to stop).
    pub fn job_execution_id(&self) -> i64 {
        self.job_execution_id
    }

    /// The running job's name.
    pub fn job_name(&self) -> &str {
        &self.job_name
    }

    /// The running step's name.
    pub fn step_name(&self) -> &str {
        &self.step_name
    }

    /// The integration the job runs for, if any.
    pub fn integration(&self) -> Option<&Integration> {
        self.integration.as_ref()
    }

    /// The connector the job runs for, if any.
    pub fn connector(&self) -> Option<&str> {
        self.connector.as_deref()
    }

    /// A parameter: the run's, else the step's.
    pub fn parameter(&self, name: &str) -> Option<&Value> {
        self.parameters.get(name)
    }

    /// Every parameter.
    pub fn parameters(&self) -> &Values {
        &self.parameters
    }

    /// Whether a full re-sync was asked for.
    pub fn is_forced(&self) -> bool {
        self.parameter(FORCE_PARAMETER)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// The entity ids of the run: `id` (one or a list) and `ids`, de-duplicated, in order.
    ///
    /// # Errors
    /// An id that is not an integer (only single integer ids are supported, as in Oro).
    pub fn entity_ids(&self) -> SyncResult<Vec<LocalId>> {
        let mut ids: Vec<LocalId> = Vec::new();
        for name in [IDS_PARAMETER, ID_PARAMETER] {
            let values: Vec<&Value> = match self.parameter(name) {
                None | Some(Value::Null) => continue,
                Some(Value::Array(items)) => items.iter().collect(),
                Some(one) => vec![one],
            };
            for value in values {
                let id = value
                    .as_i64()
                    .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
                    .ok_or_else(|| {
                        SyncError::Failed(format!(
                            "job `{}`: parameter `{name}` holds {value}, not an integer id",
                            self.job_name
                        ))
                    })?;
                if !ids.contains(&LocalId(id)) {
                    ids.push(LocalId(id));
                }
            }
        }
        Ok(ids)
    }

    /// The counters so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The counters, for writers to count added, updated and deleted items.
    pub fn counters_mut(&mut self) -> &mut Counters {
        &mut self.counters
    }

    /// Records a warning about an item: it is stored with the step execution.
    pub fn warn(&mut self, item: Value, reason: impl Into<String>) {
        self.warnings.push(Warning {
            reason: reason.into(),
            item,
        });
    }

    /// Data shared by the steps of this job run (e.g. a merged record for a later step).
    pub fn job_data(&self) -> &Values {
        &self.job_data
    }

    /// Data shared by the steps of this job run, to change.
    pub fn job_data_mut(&mut self) -> &mut Values {
        &mut self.job_data
    }

    /// A value the connector stored for its next run (e.g. `last_sync_at`), read from the
    /// last **completed** run of this connector on this integration.
    pub fn previous_status_data(&self, key: &str) -> Option<&Value> {
        self.previous_status_data.get(key)
    }

    /// Stores a value for this connector's next run (Oro's `addStatusData`); it is saved
    /// with the connector's status row when the run completes.
    pub fn set_status_data(&mut self, key: &str, value: impl Into<Value>) {
        self.status_data.insert(key.to_owned(), value.into());
    }

    /// The value stored so far in this run for the next one.
    pub fn status_data(&self, key: &str) -> Option<&Value> {
        self.status_data.get(key)
    }
}
