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

#[derive(Serialize, Deserialize, Mapper)]
#[mapper(source = Remote)]
struct Values {
    #[map(from = name, parse, to_bool)]
    active: bool,
}
fn main() {}
