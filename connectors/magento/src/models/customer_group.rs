//! Customer groups.

use serde::{Deserialize, Serialize};
use sync_core::WorkContext;
use sync_core::mapper::DerivedMapper;
use sync_core::sync::ImportSpec;
use sync_derive::{Binding, Mapper};

/// A customer group as `GET /V1/customerGroups/search` returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct RemoteCustomerGroup {
    /// The id (0 is `NOT LOGGED IN`).
    pub id: i64,
    /// The code, e.g. `Wholesale`.
    pub code: String,
}

/// The binding of customer groups.
#[derive(Debug, Clone, PartialEq, Binding)]
#[binding(kind = "magento", model = "magento.customer.group", local = "customer.group", external_id = i64)]
pub struct CustomerGroupBinding;

/// A customer group's local values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Mapper)]
#[mapper(source = RemoteCustomerGroup, id = id)]
pub struct CustomerGroupValues {
    /// The group's name.
    #[map(from = code)]
    pub name: String,
}

/// Imports customer groups (all of them: Magento gives them no update date).
#[derive(Debug, Default)]
pub struct CustomerGroupImport(DerivedMapper<CustomerGroupValues>);

impl ImportSpec for CustomerGroupImport {
    type Remote = RemoteCustomerGroup;
    type Mapper = DerivedMapper<CustomerGroupValues>;
    type Target = CustomerGroupValues;
    fn mapper(&self) -> &Self::Mapper {
        &self.0
    }
    fn local_model<'a>(&'a self, _: &'a WorkContext) -> &'a str {
        "customer.group"
    }
}
