//! Customers with their addresses: imported, exported, two-way.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::AnyConnection;
use sync_core::adapter::{BackendAdapter, Condition, PageRequest, SearchQuery};
use sync_core::local::LocalRepository;
use sync_core::mapper::{DerivedMapper, MapRecord};
use sync_core::sync::{ConflictPolicy, Dependency, ExportSpec, ImportSpec};
use sync_core::values::Values;
use sync_core::{ExternalId, LocalId, SyncError, SyncResult, WorkContext};
use sync_derive::{Binding, Mapper};

use super::customer_group::CustomerGroupBinding;
use super::store::WebsiteBinding;
use crate::time::parse_magento_time;

/// A region of an address.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RemoteRegion {
    /// The region's code, e.g. `MI`.
    #[serde(default)]
    pub region_code: Option<String>,
    /// The region's name.
    #[serde(default)]
    pub region: Option<String>,
}

/// A customer's address.
#[derive(Debug, Clone, Deserialize)]
pub struct RemoteAddress {
    /// The address id.
    #[serde(default)]
    pub id: Option<i64>,
    /// Street lines.
    #[serde(default)]
    pub street: Vec<String>,
    /// The city.
    #[serde(default)]
    pub city: String,
    /// The postcode.
    #[serde(default)]
    pub postcode: Option<String>,
    /// The ISO country code.
    #[serde(default)]
    pub country_id: String,
    /// The region.
    #[serde(default)]
    pub region: RemoteRegion,
    /// The phone number.
    #[serde(default)]
    pub telephone: Option<String>,
    /// Whether it is the default billing address (present only when true).
    #[serde(default)]
    pub default_billing: bool,
    /// Whether it is the default shipping address.
    #[serde(default)]
    pub default_shipping: bool,
}

/// A customer as `GET /V1/customers/{id}` returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct RemoteCustomer {
    /// The id.
    pub id: i64,
    /// The customer group.
    pub group_id: i64,
    /// The e-mail address (unique per website).
    pub email: String,
    /// First name.
    pub firstname: String,
    /// Last name.
    pub lastname: String,
    /// The website.
    #[serde(default)]
    pub website_id: i64,
    /// When the customer was created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// When the customer was last changed.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Addresses.
    #[serde(default)]
    pub addresses: Vec<RemoteAddress>,
}

/// The binding of customers, with Magento's creation date.
#[derive(Debug, Clone, PartialEq, Binding)]
#[binding(kind = "magento", model = "magento.customer", local = "customer", external_id = i64)]
pub struct CustomerBinding {
    /// When Magento created the customer.
    pub created_at: Option<String>,
}

/// An address's local values (a sub-mapping of the customer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Mapper)]
#[mapper(source = RemoteAddress, parent = RemoteCustomer)]
pub struct AddressValues {
    /// Street lines joined with newlines.
    #[map(method = Self::street, changed_by(street))]
    pub street: String,
    /// The city.
    #[map(from)]
    pub city: String,
    /// The postcode.
    #[map(from, default)]
    pub postcode: Option<String>,
    /// The country code.
    #[map(from = country_id)]
    pub country: String,
    /// The region code.
    #[map(from = "region.region_code", default)]
    pub region: Option<String>,
    /// The phone number.
    #[map(from, default)]
    pub telephone: Option<String>,
    /// `billing`, `shipping`, `both` or `other`.
    #[map(method = Self::kind, changed_by(default_billing, default_shipping))]
    pub kind: String,
}

impl AddressValues {
    fn street(
        r: &MapRecord<'_, RemoteAddress, RemoteCustomer>,
        _: &WorkContext,
    ) -> SyncResult<String> {
        Ok(r.street.join("\n"))
    }

    fn kind(
        r: &MapRecord<'_, RemoteAddress, RemoteCustomer>,
        _: &WorkContext,
    ) -> SyncResult<String> {
        Ok(match (r.default_billing, r.default_shipping) {
            (true, true) => "both",
            (true, false) => "billing",
            (false, true) => "shipping",
            (false, false) => "other",
        }
        .to_owned())
    }
}

/// A customer's local values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Mapper)]
#[mapper(source = RemoteCustomer, id = id)]
pub struct CustomerValues {
    /// The e-mail address.
    #[map(from)]
    pub email: String,
    /// First name.
    #[map(from)]
    pub firstname: String,
    /// Last name.
    #[map(from)]
    pub lastname: String,
    /// The local customer group.
    #[map(from = group_id, external_to_local = CustomerGroupBinding)]
    pub group_id: LocalId,
    /// The local website.
    #[map(from = website_id, external_to_local = WebsiteBinding)]
    pub website_id: LocalId,
    /// The addresses.
    #[map(items = addresses)]
    pub addresses: Vec<AddressValues>,
}

/// A local customer, as the export reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct LocalCustomer {
    /// The e-mail address.
    pub email: String,
    /// First name.
    pub firstname: String,
    /// Last name.
    pub lastname: String,
    /// The local customer group.
    #[serde(default)]
    pub group_id: Option<LocalId>,
    /// The local website.
    #[serde(default)]
    pub website_id: Option<LocalId>,
}

/// The payload of a customer export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Mapper)]
#[mapper(source = LocalCustomer)]
pub struct CustomerPayload {
    /// The e-mail address.
    #[map(from)]
    pub email: String,
    /// First name.
    #[map(from)]
    pub firstname: String,
    /// Last name.
    #[map(from)]
    pub lastname: String,
    /// Magento's customer group.
    #[map(from = group_id, local_to_external = CustomerGroupBinding)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<i64>,
    /// Magento's website (the main website when the customer has none).
    #[map(method = Self::website, async, changed_by(website_id))]
    pub website_id: i64,
}

impl CustomerPayload {
    async fn website(r: &MapRecord<'_, LocalCustomer>, ctx: &WorkContext) -> SyncResult<i64> {
        let Some(local) = r.website_id else {
            return Ok(1);
        };
        let binder = <WebsiteBinding as sync_core::binding_model::BindingModel>::binder_in(
            &ctx.work_on("magento.website"),
        );
        let mut conn = ctx.storage().pool().acquire().await?;
        binder
            .external_id_of(&mut conn, local)
            .await?
            .ok_or_else(|| {
                SyncError::mapping(
                    format!("customer {}", r.email),
                    "website_id",
                    format!("website {local} is not bound to Magento"),
                )
            })
    }
}

/// The two-way customer synchronization: import and export, with conflicts settled by the
/// backend's `conflict_policy` setting (`field_merge` by default).
#[derive(Debug, Default)]
pub struct CustomerSync {
    import: DerivedMapper<CustomerValues>,
    export: DerivedMapper<CustomerPayload>,
}

/// The backend's policy; settings that do not parse were already reported by the adapter,
/// so the safest policy (a checkpoint for every conflict) applies here.
fn conflict_policy(ctx: &WorkContext) -> ConflictPolicy {
    crate::backend::client_for(ctx)
        .map(|client| client.settings().conflict_policy)
        .unwrap_or_default()
}

#[async_trait]
impl ImportSpec for CustomerSync {
    type Remote = RemoteCustomer;
    type Mapper = DerivedMapper<CustomerValues>;
    type Target = CustomerValues;

    fn mapper(&self) -> &Self::Mapper {
        &self.import
    }

    fn local_model<'a>(&'a self, _: &'a WorkContext) -> &'a str {
        "customer"
    }

    fn remote_updated_at(&self, remote: &RemoteCustomer) -> Option<DateTime<Utc>> {
        remote.updated_at.as_deref().and_then(parse_magento_time)
    }

    fn local_updated_at(&self, local: &Values) -> Option<DateTime<Utc>> {
        local
            .get("updated_at")
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.to_utc())
    }

    fn two_way(&self, ctx: &WorkContext) -> Option<ConflictPolicy> {
        Some(conflict_policy(ctx))
    }

    async fn dependencies(
        &self,
        _: &WorkContext,
        remote: &RemoteCustomer,
    ) -> SyncResult<Vec<Dependency>> {
        Ok(vec![
            Dependency::new("magento.customer.group", remote.group_id),
            Dependency::new("magento.website", remote.website_id),
        ])
    }

    async fn existing_local(
        &self,
        _: &WorkContext,
        conn: &mut AnyConnection,
        repository: &dyn LocalRepository,
        remote: &RemoteCustomer,
    ) -> SyncResult<Option<LocalId>> {
        // A customer the back office already knows is bound, not duplicated.
        repository
            .find_by(conn, "email", &Value::from(remote.email.clone()))
            .await
    }

    async fn existing_locals(
        &self,
        _: &WorkContext,
        conn: &mut AnyConnection,
        repository: &dyn LocalRepository,
        remotes: &[&RemoteCustomer],
    ) -> SyncResult<Vec<Option<LocalId>>> {
        let emails: Vec<Value> = remotes
            .iter()
            .map(|remote| Value::from(remote.email.clone()))
            .collect();
        repository.find_many_by(conn, "email", &emails).await
    }
}

#[async_trait]
impl ExportSpec for CustomerSync {
    type Local = LocalCustomer;
    type Mapper = DerivedMapper<CustomerPayload>;
    type Target = CustomerPayload;

    fn mapper(&self) -> &Self::Mapper {
        &self.export
    }

    fn refresh_before_update(&self, ctx: &WorkContext) -> bool {
        // Customers are two-way: an admin's edit not imported yet is merged, not overwritten.
        ImportSpec::two_way(self, ctx).is_some()
    }

    fn local_model<'a>(&'a self, _: &'a WorkContext) -> &'a str {
        "customer"
    }

    async fn find_remote(
        &self,
        _: &WorkContext,
        adapter: &dyn BackendAdapter,
        payload: &Values,
    ) -> SyncResult<Option<ExternalId>> {
        // The e-mail address is the customer's natural key.
        let Some(email) = payload.get("email").cloned() else {
            return Ok(None);
        };
        let query = SearchQuery::new().filter("email", Condition::Eq, email.clone());
        let found = adapter.search(&query, PageRequest::first(2)).await?;
        match found.items.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one.clone())),
            many => Err(SyncError::ManyIdsInBackend {
                model: "magento.customer".into(),
                key: format!("email = {email}"),
                ids: many.iter().map(ToString::to_string).collect(),
            }),
        }
    }
}
