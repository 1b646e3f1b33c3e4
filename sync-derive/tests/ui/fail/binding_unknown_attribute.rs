#![allow(unused_imports)]
use serde::{Deserialize, Serialize};
use sync_core::prelude::*;
use sync_derive::Mapper;

struct Remote {
    id: i64,
    email: String,
    name: String,
    billing: Billing,
    items: Vec<RemoteItem>,
}

struct Billing {
    city: String,
}

struct RemoteItem {
    sku: String,
}

use sync_derive::Binding;

#[derive(Binding)]
#[binding(kind = "magento", model = "magento customer", local = "customer", table = "x")]
struct CustomerBinding {
    #[binding(column = "created")]
    created_at: Option<String>,
}
fn main() {}
