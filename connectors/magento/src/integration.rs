//! The Magento connector as an Oro-style integration: the customer sync as a two-way
//! connector of the `magento` integration type, with its batch jobs in `jobs.toml`.
//!
//! This is the second way to run the connector, next to the per-record jobs that
//! [`register`](crate::register) sets up, and both can run on one backend: the jobs here
//! run the same record flows (the same [`CustomerSync`] spec, mapper, bindings and locks),
//! so a customer imported or exported by one style is bound, not duplicated, by the other.
//!
//! | job | steps |
//! |---|---|
//! | `magento_customer_import` | `remote_paging` (customers changed since the cursor) → [`RecordImportProcessor`](sync_core::batch::RecordImportProcessor) → [`FlowOutcomes`] |
//! | `magento_customer_export` | `entity_by_id` (the local customers to send) → [`TwoWayExportProcessor`](sync_core::batch::TwoWayExportProcessor) → [`FlowOutcomes`] |
//!
//! The processors and the writer are sync-core's record-flow bridges
//! ([`sync_core::batch::register_record_flows`]) over the connector's [`CustomerSync`] spec.
//!
//! Conflicts follow the integration's conflict policy (Oro's sync priority: `remote` is
//! `remote_wins`, `local` is `local_wins`; `newest_wins` and `field_merge` work too): both
//! jobs merge each customer field by field against what was last synced, and a field changed
//! on both sides goes to the side the policy names, or, with `field_merge`, is left as a
//! checkpoint as the per-record jobs leave it. The backend's own `conflict_policy` setting
//! applies to the per-record jobs, and to these jobs when they run outside an integration.
//!
//! Both styles also share the import cursor of `magento.customer` on the backend
//! ([`sync_core::storage::ImportCursors`]) and the one table of schedules
//! ([`sync_core::scheduler`]): a customer window imported by one style is not read again by
//! the other.
//!
//! ```no_run
//! use sync_core::batch::{NewIntegration, SyncOptions, forward_sync};
//! use sync_core::sync::ConflictPolicy;
//! use sync_core::prelude::*;
//!
//! # async fn demo(storage: Storage, backend: Backend) -> SyncResult<()> {
//! let mut registry = ComponentRegistry::new();
//! sync_magento::register(&mut registry);
//! sync_magento::register_integration(&mut registry)?;
//! // ... register the local repositories of `customer`, `customer.group` and `website` ...
//! let app = App::new(registry, storage.clone()).await?;
//! let integration = storage
//!     .integrations()
//!     .create(NewIntegration::new(backend.id, "shop", ["customer"]).two_way(ConflictPolicy::RemoteWins))
//!     .await?;
//! let report = forward_sync(&app, integration.id, SyncOptions::default()).await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use sync_core::SyncResult;
use sync_core::app::LISTENER_USAGE;
use sync_core::batch::{
    Connector, ENTITY_BY_ID, EntityByIdReader, FLOW_OUTCOMES, FlowOutcomes, IntegrationType,
    ItemReader, ItemWriter, JobCatalog, REMOTE_PAGING, RemotePagingReader, ReverseSyncListener,
    register_record_flows,
};
use sync_core::local::Listener;
use sync_core::registry::{ApplyOn, ComponentRegistry};

use crate::backend::MAGENTO;
use crate::models::customer::CustomerSync;

/// The job file, as shipped in the crate.
pub const JOBS_TOML: &str = include_str!("../jobs.toml");
/// The name the job file goes by in error messages.
pub const JOBS_FILE: &str = "sync-magento/jobs.toml";
/// The customer import job.
pub const CUSTOMER_IMPORT_JOB: &str = "magento_customer_import";
/// The customer export job (the reverse sync of the customer connector).
pub const CUSTOMER_EXPORT_JOB: &str = "magento_customer_export";
/// The name of the two-way customer connector, as integrations enable it.
pub const CUSTOMER_CONNECTOR: &str = "customer";
/// The connector's job definitions, parsed from [`JOBS_TOML`].
///
/// # Errors
/// A mistake in the shipped file, naming the job and the step (a unit test keeps it from
/// shipping).
pub fn jobs() -> SyncResult<JobCatalog> {
    Ok(JobCatalog::parse(JOBS_FILE, JOBS_TOML)?)
}

/// The `magento` integration type: its job file and the two-way customer connector.
///
/// # Errors
/// A mistake in the shipped job file.
pub fn integration_type() -> SyncResult<IntegrationType> {
    Ok(IntegrationType::new(MAGENTO, jobs()?).connector(
        Connector::new(
            CUSTOMER_CONNECTOR,
            "Customers",
            "magento.customer",
            CUSTOMER_IMPORT_JOB,
        )
        .two_way(CUSTOMER_EXPORT_JOB)
        .local_model("customer")
        .supports_force_sync(),
    ))
}

/// Registers the components the job file names (for the Magento kinds only, so that a
/// program may also call [`sync_core::batch::register_builtins`]), the listener that turns a
/// local customer change into a reverse sync, and the [`integration_type`], checking every
/// name of the job file against the registry.
///
/// Call it after [`register`](crate::register), which registers the adapters, binders and
/// per-record flows the jobs use. Add the batch queue jobs to the workers with
/// [`sync_core::batch::register_jobs`].
///
/// # Errors
/// A job file component that does not resolve, naming the file, job and step.
pub fn register_integration(registry: &mut ComponentRegistry) -> SyncResult<()> {
    let magento = || ApplyOn::kind(MAGENTO);
    registry.register::<dyn ItemReader>(magento(), ENTITY_BY_ID, Arc::new(EntityByIdReader));
    registry.register::<dyn ItemReader>(magento(), REMOTE_PAGING, Arc::new(RemotePagingReader));
    register_record_flows(
        registry,
        magento().model("magento.customer"),
        Arc::new(CustomerSync::default()),
    );
    registry.register::<dyn ItemWriter>(magento(), FLOW_OUTCOMES, Arc::new(FlowOutcomes));
    registry.register::<dyn Listener>(
        magento().model("customer"),
        LISTENER_USAGE,
        Arc::new(ReverseSyncListener),
    );
    integration_type()?.register(registry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> ComponentRegistry {
        let mut registry = ComponentRegistry::new();
        crate::register(&mut registry);
        registry
    }

    #[test]
    fn the_shipped_job_file_loads_and_resolves_against_the_registry() {
        let mut registry = registry();
        register_integration(&mut registry).expect("the shipped job file resolves");
        let catalog = jobs().expect("the shipped job file parses");
        catalog
            .validate(&registry, MAGENTO)
            .expect("every job names registered components");
        let itype = integration_type().expect("the integration type builds");
        let customer = itype
            .get(CUSTOMER_CONNECTOR)
            .expect("the customer connector");
        assert_eq!(customer.import_job(), CUSTOMER_IMPORT_JOB);
        assert_eq!(customer.export_job(), Some(CUSTOMER_EXPORT_JOB));
        assert_eq!(
            itype.two_way_for_model("customer").map(Connector::name),
            Some(CUSTOMER_CONNECTOR)
        );
        // The versions inherit the connector: a 2.4 backend resolves the same components.
        catalog
            .validate(&registry, crate::MAGENTO_2_4)
            .expect("resolves on magento-2.4 too");
    }

    #[test]
    fn a_wrong_component_name_is_refused_at_load_time() {
        let registry = {
            let mut registry = registry();
            register_integration(&mut registry).expect("registers");
            registry
        };
        let wrong = JOBS_TOML.replace("\"two_way_export\"", "\"two_way_exprot\"");
        let catalog = JobCatalog::parse(JOBS_FILE, &wrong).expect("still parses");
        let error = IntegrationType::new(MAGENTO, catalog)
            .connector(
                Connector::new(
                    CUSTOMER_CONNECTOR,
                    "Customers",
                    "magento.customer",
                    CUSTOMER_IMPORT_JOB,
                )
                .two_way(CUSTOMER_EXPORT_JOB),
            )
            .validate(&registry)
            .expect_err("the misspelt processor is found");
        let message = error.to_string();
        assert!(
            message.contains(JOBS_FILE)
                && message.contains(CUSTOMER_EXPORT_JOB)
                && message.contains("two_way_exprot"),
            "{message}"
        );
    }
}
