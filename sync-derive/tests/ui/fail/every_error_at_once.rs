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
#[mapper(source = Remote, finalise = Self::done)]
struct Values {
    #[map(from = name, convert, parse)]
    name: i64,
    #[map(from = email, empty_to_none)]
    email: String,
    city: String,
    #[map(fro = id)]
    id: i64,
}

// The stub impl keeps this use free of secondary errors.
fn mapper() -> DerivedMapper<Values> {
    DerivedMapper::new()
}
fn main() {}
