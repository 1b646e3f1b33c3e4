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
    #[map(items = items)]
    lines: Vec<Line>,
}

#[derive(Serialize, Deserialize, Mapper)]
#[mapper(source = RemoteItem, parent = Billing)]
struct Line {
    #[map(from = sku)]
    sku: String,
}
fn main() {}
