//! Connectors and integration types: what a connector crate declares.
//!
//! A connector (Oro's `ConnectorInterface`) syncs one model: it has a name unique in its
//! backend kind, a label, its import job and, when two-way, its export job; optionally an
//! order, an `is_allowed` gate that sees the statuses of the connectors already run, and
//! support for a forced full re-sync. An [`IntegrationType`] gathers a kind's connectors
//! with the job file they use, and is registered after the components, which checks
//! everything at once:
//!
//! ```
//! use std::sync::Arc;
//! use sync_core::batch::{Connector, IntegrationType, JobCatalog, register_builtins};
//! use sync_core::prelude::*;
//!
//! # fn demo(mut registry: ComponentRegistry) -> SyncResult<()> {
//! let jobs = JobCatalog::parse("shop-connector/jobs.toml", r#"
//!     [jobs.shop_customer_import]
//!     type = "import"
//!     [[jobs.shop_customer_import.steps]]
//!     name = "import"
//!     reader = "remote_paging"
//!     processor = "pass_through"
//!     writer = "customer.local_writer"
//! "#)?;
//! register_builtins(&mut registry);
//! // ... register the `customer.local_writer` ItemWriter for kind `shop` ...
//! IntegrationType::new("shop", jobs)
//!     .connector(
//!         Connector::new("customer", "Customers", "customer", "shop_customer_import")
//!             .order(10)
//!             .supports_force_sync(),
//!     )
//!     .register(&mut registry)?;
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::definition::{DefinitionError, JobCatalog, JobType};
use super::integration::Integration;
use super::status::ConnectorStatus;
use crate::error::{SyncError, SyncResult};
use crate::registry::{ApplyOn, ComponentRegistry};

/// The usage an [`IntegrationType`] is registered under.
pub const INTEGRATION_TYPE_USAGE: &str = "batch.integration_type";

/// The statuses of the connectors already run in this sync, by connector name.
pub type ProcessedStatuses = BTreeMap<String, ConnectorStatus>;

type AllowedFn = Arc<dyn Fn(&Integration, &ProcessedStatuses) -> bool + Send + Sync>;

/// One connector: a model synced by an import job and, when two-way, an export job.
#[derive(Clone)]
pub struct Connector {
    name: String,
    label: String,
    model: String,
    local_model: Option<String>,
    import_job: String,
    export_job: Option<String>,
    order: i32,
    force_sync: bool,
    allowed: Option<AllowedFn>,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("name", &self.name)
            .field("model", &self.model)
            .field("local_model", &self.local_model)
            .field("import_job", &self.import_job)
            .field("export_job", &self.export_job)
            .field("order", &self.order)
            .field("force_sync", &self.force_sync)
            .field("gated", &self.allowed.is_some())
            .finish()
    }
}

impl Connector {
    /// A one-way connector named `name` (unique in its kind) syncing `model` with the
    /// import job `import_job`.
    pub fn new(name: &str, label: &str, model: &str, import_job: &str) -> Self {
        Connector {
            name: name.to_owned(),
            label: label.to_owned(),
            model: model.to_owned(),
            local_model: None,
            import_job: import_job.to_owned(),
            export_job: None,
            order: 0,
            force_sync: false,
            allowed: None,
        }
    }

    /// Makes it two-way with this export job (Oro's `TwoWaySyncConnectorInterface`).
    pub fn two_way(mut self, export_job: &str) -> Self {
        self.export_job = Some(export_job.to_owned());
        self
    }

    /// Names the local model its records live in, when it is not its model: a connector
    /// whose model is a binding model (`magento.customer`, the model of its adapter and
    /// bindings) syncs records of a local model (`customer`). Local changes of that model
    /// schedule its reverse sync, and the built-in readers and writers read and write it.
    pub fn local_model(mut self, local_model: &str) -> Self {
        self.local_model = Some(local_model.to_owned());
        self
    }

    /// Sets its order: lower runs first, ties keep the integration's order (default 0).
    pub fn order(mut self, order: i32) -> Self {
        self.order = order;
        self
    }

    /// Declares that it can do a full re-sync ignoring its cursor when asked (`force`).
    pub fn supports_force_sync(mut self) -> Self {
        self.force_sync = true;
        self
    }

    /// Runs it only when `gate` says so, given the statuses of the connectors already run in
    /// this sync (e.g. "only after `customer` completed").
    pub fn allowed_if(
        mut self,
        gate: impl Fn(&Integration, &ProcessedStatuses) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.allowed = Some(Arc::new(gate));
        self
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The model it syncs.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The local model its records live in: the one set with [`Connector::local_model`],
    /// else its model.
    pub fn local_model_name(&self) -> &str {
        self.local_model.as_deref().unwrap_or(&self.model)
    }

    /// Whether its local model was set apart from its model.
    pub(crate) fn explicit_local_model(&self) -> Option<&str> {
        self.local_model.as_deref()
    }

    /// Its import job.
    pub fn import_job(&self) -> &str {
        &self.import_job
    }

    /// Its export job, when two-way.
    pub fn export_job(&self) -> Option<&str> {
        self.export_job.as_deref()
    }

    /// Its order.
    pub fn order_value(&self) -> i32 {
        self.order
    }

    /// Whether it can do a forced full re-sync.
    pub fn force_sync_supported(&self) -> bool {
        self.force_sync
    }

    /// Whether it may run now.
    pub fn is_allowed(&self, integration: &Integration, processed: &ProcessedStatuses) -> bool {
        self.allowed
            .as_ref()
            .is_none_or(|gate| gate(integration, processed))
    }
}

/// A backend kind's connectors and the job file they use.
#[derive(Debug, Clone)]
pub struct IntegrationType {
    kind: String,
    jobs: JobCatalog,
    connectors: Vec<Connector>,
}

impl IntegrationType {
    /// The integration type of backend kind `kind`, with its jobs.
    pub fn new(kind: &str, jobs: JobCatalog) -> Self {
        IntegrationType {
            kind: kind.to_owned(),
            jobs,
            connectors: Vec::new(),
        }
    }

    /// Adds a connector.
    pub fn connector(mut self, connector: Connector) -> Self {
        self.connectors.push(connector);
        self
    }

    /// The backend kind.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The jobs.
    pub fn jobs(&self) -> &JobCatalog {
        &self.jobs
    }

    /// Every connector, as declared.
    pub fn connectors(&self) -> &[Connector] {
        &self.connectors
    }

    /// A connector by name.
    pub fn get(&self, name: &str) -> Option<&Connector> {
        self.connectors.iter().find(|c| c.name == name)
    }

    /// The two-way connector whose records live in the local model `model` (see
    /// [`Connector::local_model_name`]), if any: the one a local change of `model` asks to
    /// reverse-sync.
    pub fn two_way_for_model(&self, model: &str) -> Option<&Connector> {
        self.connectors
            .iter()
            .find(|c| c.local_model_name() == model && c.export_job.is_some())
    }

    /// Checks the connectors against the job file and the registry, then registers the type
    /// for its kind. Call it after registering the components the jobs name.
    ///
    /// # Errors
    /// Two connectors of one name; a job that is missing or of the wrong type; a reader,
    /// processor or writer that does not resolve (naming the file, job and step).
    pub fn register(self, registry: &mut ComponentRegistry) -> SyncResult<()> {
        self.validate(registry)?;
        let kind = self.kind.clone();
        registry.register::<IntegrationType>(
            ApplyOn::kind(&kind),
            INTEGRATION_TYPE_USAGE,
            Arc::new(self),
        );
        Ok(())
    }

    /// The checks of [`IntegrationType::register`], without registering.
    pub fn validate(&self, registry: &ComponentRegistry) -> SyncResult<()> {
        for (i, connector) in self.connectors.iter().enumerate() {
            if self.connectors[..i]
                .iter()
                .any(|c| c.name == connector.name)
            {
                return Err(SyncError::Failed(format!(
                    "integration type `{}`: connector `{}` is declared twice",
                    self.kind, connector.name
                )));
            }
        }
        for connector in &self.connectors {
            let mut jobs = vec![(JobType::Import, connector.import_job.as_str())];
            if let Some(export) = &connector.export_job {
                jobs.push((JobType::Export, export.as_str()));
            }
            for (expected, job) in jobs {
                let Some(definition) = self.jobs.get(job) else {
                    return Err(SyncError::Failed(format!(
                        "integration type `{}`: connector `{}` names the {expected} job `{job}`, which no job file declares",
                        self.kind, connector.name
                    )));
                };
                if definition.job_type != expected {
                    return Err(DefinitionError {
                        file: definition.file.to_string(),
                        job: Some(job.to_owned()),
                        step: None,
                        message: format!(
                            "connector `{}` uses it as its {expected} job, but it is declared as {}",
                            connector.name, definition.job_type
                        ),
                    }
                    .into());
                }
                self.jobs
                    .validate_job(registry, &self.kind, job, &connector.model)?;
            }
        }
        Ok(())
    }

    /// The connectors enabled on `integration`, in run order: by `order`, ties keeping the
    /// integration's order (a stable sort, as Oro's). Names no connector declares are
    /// returned apart, so the sync can report them.
    pub fn ordered<'a>(&'a self, enabled: &'a [String]) -> (Vec<&'a Connector>, Vec<&'a str>) {
        let mut found = Vec::new();
        let mut unknown = Vec::new();
        for name in enabled {
            match self.get(name) {
                Some(connector) => found.push(connector),
                None => unknown.push(name.as_str()),
            }
        }
        found.sort_by_key(|c| c.order);
        (found, unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_change_finds_the_connector_of_its_local_model() {
        let itype = IntegrationType::new("shop", JobCatalog::new())
            .connector(
                Connector::new("customer", "Customers", "shop.customer", "import")
                    .two_way("export")
                    .local_model("customer"),
            )
            .connector(Connector::new("order", "Orders", "order", "import").two_way("export"));
        let customer = itype.two_way_for_model("customer").map(Connector::name);
        assert_eq!(customer, Some("customer"));
        // The binding model is not a local model: its records never change locally.
        assert!(itype.two_way_for_model("shop.customer").is_none());
        // Without a local model, the connector's model is its local model.
        assert_eq!(
            itype
                .two_way_for_model("order")
                .map(Connector::local_model_name),
            Some("order")
        );
    }
}
