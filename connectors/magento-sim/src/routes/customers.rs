//! Customer routes: search, get, create, update, delete, and address get.

use super::Ctx;
use super::input::{Obj, body, path_int};
use crate::data::Db;
use crate::data::customer::{Address, Customer, Region};
use crate::data::stores::store_by_id;
use crate::data::time::{now, parse_date};
use crate::errors::{ApiError, ApiResult};
use crate::json_out::JsonOut;
use crate::search_criteria::SearchCriteria;

const CUSTOMER_FIELDS: &[&str] = &[
    "id",
    "group_id",
    "default_billing",
    "default_shipping",
    "confirmation",
    "created_at",
    "updated_at",
    "created_in",
    "dob",
    "email",
    "firstname",
    "lastname",
    "middlename",
    "prefix",
    "suffix",
    "gender",
    "store_id",
    "taxvat",
    "website_id",
    "addresses",
    "disable_auto_group_change",
    "extension_attributes",
    "custom_attributes",
];

const ADDRESS_FIELDS: &[&str] = &[
    "id",
    "customer_id",
    "region",
    "region_id",
    "country_id",
    "street",
    "company",
    "telephone",
    "fax",
    "postcode",
    "city",
    "firstname",
    "lastname",
    "middlename",
    "prefix",
    "suffix",
    "vat_id",
    "default_shipping",
    "default_billing",
    "extension_attributes",
    "custom_attributes",
];

fn customer_json(c: &Customer) -> String {
    let mut o = JsonOut::with_capacity(1024);
    c.write_json(&mut o);
    o.finish()
}

/// `GET /V1/customers/search`.
pub fn search(ctx: &Ctx<'_>) -> ApiResult<String> {
    let sc = SearchCriteria::from_query(&ctx.query, true)?;
    let db = ctx.state.db.read().unwrap_or_else(|e| e.into_inner());
    let page = sc.apply(db.live_customers(), |c, f| c.field(f), ctx.version())?;
    Ok(sc.write_results(&page, |o, c| c.write_json(o)))
}

fn customer_id(ctx: &Ctx<'_>) -> ApiResult<u32> {
    let id = path_int(ctx.seg(1))?;
    u32::try_from(id).map_err(|_| ApiError::no_such_entity("customerId", id))
}

/// `GET /V1/customers/{customerId}`.
pub fn get(ctx: &Ctx<'_>) -> ApiResult<String> {
    let id = customer_id(ctx)?;
    let db = ctx.state.db.read().unwrap_or_else(|e| e.into_inner());
    let c = db
        .customer(id)
        .ok_or_else(|| ApiError::no_such_entity("customerId", i64::from(id)))?;
    Ok(customer_json(c))
}

/// `GET /V1/customers/addresses/{addressId}`.
pub fn address(ctx: &Ctx<'_>) -> ApiResult<String> {
    let id = path_int(ctx.seg(2))?;
    let db = ctx.state.db.read().unwrap_or_else(|e| e.into_inner());
    for c in db.live_customers() {
        if let Some(a) = c.addresses.iter().find(|a| i64::from(a.id) == id) {
            let mut o = JsonOut::with_capacity(512);
            c.write_address(&mut o, a);
            return Ok(o.finish());
        }
    }
    Err(ApiError::no_such_entity("addressId", id))
}

fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.contains(char::is_whitespace)
}

/// Applies the input customer onto `c`. `db` issues address ids.
fn apply_customer(db: &mut Db, c: &mut Customer, input: Obj<'_>) -> ApiResult<()> {
    input.check_known(CUSTOMER_FIELDS)?;
    if let Some(v) = input.id("group_id")? {
        if !crate::data::stores::CUSTOMER_GROUPS
            .iter()
            .any(|g| g.id == v)
        {
            return Err(ApiError::no_such_entity("id", i64::from(v)));
        }
        c.group_id = v;
    }
    if let Some(v) = input.str("email")? {
        c.email = v.trim().to_string();
    }
    if let Some(v) = input.str("firstname")? {
        c.firstname = v;
    }
    if let Some(v) = input.str("lastname")? {
        c.lastname = v;
    }
    if input.has("middlename") {
        c.middlename = input.str("middlename")?;
    }
    if input.has("prefix") {
        c.prefix = input.str("prefix")?;
    }
    if input.has("suffix") {
        c.suffix = input.str("suffix")?;
    }
    if input.has("taxvat") {
        c.taxvat = input.str("taxvat")?;
    }
    if input.has("dob") {
        c.dob = match input.str("dob")? {
            None => None,
            Some(s) if s.is_empty() => None,
            Some(s) => Some(parse_date(&s).ok_or_else(|| ApiError::invalid_value("dob", &s))?),
        };
    }
    if input.has("gender") {
        c.gender = match input.int("gender")? {
            None | Some(0) => None,
            Some(g @ 1..=3) => Some(g as u8),
            Some(g) => return Err(ApiError::invalid_value("gender", &g.to_string())),
        };
    }
    if let Some(v) = input.int("store_id")? {
        let s = u16::try_from(v)
            .ok()
            .and_then(store_by_id)
            .ok_or_else(|| ApiError::no_such_entity("storeId", v))?;
        c.store_id = s.id;
    }
    if let Some(v) = input.int("website_id")? {
        if v != 1 {
            return Err(ApiError::no_such_entity("websiteId", v));
        }
        c.website_id = 1;
    }
    if let Some(v) = input.int("disable_auto_group_change")? {
        c.disable_auto_group_change = u8::from(v != 0);
    }
    if let Some(ext) = input.obj("extension_attributes", "extension_attributes")? {
        ext.check_known(&[
            "is_subscribed",
            "assistance_allowed",
            "company_attributes",
            "all_company_attributes",
        ])?;
        if let Some(s) = ext.bool("is_subscribed")? {
            c.is_subscribed = s;
        }
    }
    if let Some(list) = input.arr("addresses")? {
        let mut addresses = Vec::with_capacity(list.len());
        let mut default_billing = None;
        let mut default_shipping = None;
        for v in list {
            let a = Obj::of(v, "customer-data-address-interface")?;
            let (addr, is_billing, is_shipping) = parse_address(db, c, a)?;
            if is_billing {
                default_billing = Some(addr.id);
            }
            if is_shipping {
                default_shipping = Some(addr.id);
            }
            addresses.push(addr);
        }
        c.default_billing = default_billing;
        c.default_shipping = default_shipping;
        c.addresses = addresses;
    }
    Ok(())
}

fn parse_address(db: &mut Db, c: &Customer, a: Obj<'_>) -> ApiResult<(Address, bool, bool)> {
    a.check_known(ADDRESS_FIELDS)?;
    // An id of one of this customer's addresses updates it; anything else is a new address.
    let existing = a
        .id("id")?
        .and_then(|id| c.addresses.iter().find(|x| x.id == id).cloned());
    let mut addr = existing.unwrap_or_else(|| {
        db.seq.address += 1;
        Address {
            id: db.seq.address,
            ..Address::default()
        }
    });
    addr.customer_id = c.id;
    if let Some(v) = a.str("firstname")? {
        addr.firstname = v;
    }
    if let Some(v) = a.str("lastname")? {
        addr.lastname = v;
    }
    if let Some(v) = a.str("city")? {
        addr.city = v;
    }
    if let Some(v) = a.str("postcode")? {
        addr.postcode = v;
    }
    if let Some(v) = a.str("telephone")? {
        addr.telephone = v;
    }
    if let Some(v) = a.str("country_id")? {
        addr.country_id = v;
    }
    if a.has("company") {
        addr.company = a.str("company")?;
    }
    if a.has("vat_id") {
        addr.vat_id = a.str("vat_id")?;
    }
    if let Some(v) = a.str_list("street")? {
        addr.street = v;
    }
    if let Some(r) = a.obj("region", "customer-data-region-interface")? {
        r.check_known(&["region_code", "region", "region_id", "extension_attributes"])?;
        addr.region = Region {
            code: r.str("region_code")?.unwrap_or_default(),
            name: r.str("region")?.unwrap_or_default(),
            id: r.id("region_id")?.unwrap_or(0),
        };
    }
    if let Some(rid) = a.id("region_id")? {
        addr.region.id = rid;
    }
    // Magento validates the address before saving the customer.
    for (field, value) in [
        ("firstname", &addr.firstname),
        ("lastname", &addr.lastname),
        ("city", &addr.city),
        ("telephone", &addr.telephone),
        ("countryId", &addr.country_id),
    ] {
        if value.trim().is_empty() {
            return Err(ApiError::required(field));
        }
    }
    if addr.street.iter().all(|s| s.trim().is_empty()) {
        return Err(ApiError::required("street"));
    }
    let billing = a
        .bool("default_billing")?
        .unwrap_or(c.default_billing == Some(addr.id) && c.default_billing.is_some());
    let shipping = a
        .bool("default_shipping")?
        .unwrap_or(c.default_shipping == Some(addr.id) && c.default_shipping.is_some());
    Ok((addr, billing, shipping))
}

fn check_required(c: &Customer) -> ApiResult<()> {
    for (field, value) in [
        ("firstname", &c.firstname),
        ("lastname", &c.lastname),
        ("email", &c.email),
    ] {
        if value.trim().is_empty() {
            return Err(ApiError::required(field));
        }
    }
    if !valid_email(&c.email) {
        return Err(
            ApiError::new(400, "\"%fieldName\" is not a valid email address.")
                .named(vec![("fieldName", "email".into())]),
        );
    }
    Ok(())
}

/// `POST /V1/customers` `{"customer": {...}, "password": "..."}`.
pub fn create(ctx: &Ctx<'_>) -> ApiResult<String> {
    let b = body(&ctx.body)?;
    let input = b
        .obj("customer", "customer-data-customer-interface")?
        .ok_or_else(|| ApiError::required("customer"))?;
    if let Some(p) = b.str("password")?
        && p.len() < 8
    {
        return Err(ApiError::new(
            400,
            "The password needs at least %1 characters. Create a new password and try again.",
        )
        .positional(vec!["8".into()]));
    }
    let mut db = ctx.state.db.write().unwrap_or_else(|e| e.into_inner());
    let store = if ctx.store.id == 0 { 1 } else { ctx.store.id };
    let t = now();
    let mut c = Customer {
        id: db.seq.customer + 1,
        group_id: 1,
        created_at: t,
        updated_at: t,
        store_id: store,
        website_id: 1,
        ..Customer::default()
    };
    apply_customer(&mut db, &mut c, input)?;
    c.created_in = store_by_id(c.store_id)
        .map_or("Default Store View", |s| s.name)
        .to_string();
    check_required(&c)?;
    if db.customer_by_email(c.website_id, &c.email).is_some() {
        return Err(ApiError::new(
            400,
            "A customer with the same email address already exists in an associated website.",
        ));
    }
    let json = customer_json(&c);
    db.put_customer(c);
    Ok(json)
}

/// `PUT /V1/customers/{customerId}` `{"customer": {...}}`.
pub fn update(ctx: &Ctx<'_>) -> ApiResult<String> {
    let id = customer_id(ctx)?;
    let b = body(&ctx.body)?;
    let input = b
        .obj("customer", "customer-data-customer-interface")?
        .ok_or_else(|| ApiError::required("customer"))?;
    let mut db = ctx.state.db.write().unwrap_or_else(|e| e.into_inner());
    let mut c = db
        .customer(id)
        .cloned()
        .ok_or_else(|| ApiError::no_such_entity("customerId", i64::from(id)))?;
    apply_customer(&mut db, &mut c, input)?;
    check_required(&c)?;
    if let Some(other) = db.customer_by_email(c.website_id, &c.email)
        && other != id
    {
        return Err(ApiError::new(
            400,
            "A customer with the same email address already exists in an associated website.",
        ));
    }
    c.updated_at = now().max(c.updated_at);
    let json = customer_json(&c);
    db.put_customer(c);
    Ok(json)
}

/// `DELETE /V1/customers/{customerId}` → `true`.
pub fn delete(ctx: &Ctx<'_>) -> ApiResult<String> {
    let id = customer_id(ctx)?;
    let mut db = ctx.state.db.write().unwrap_or_else(|e| e.into_inner());
    if db.delete_customer(id) {
        Ok("true".into())
    } else {
        Err(ApiError::no_such_entity("customerId", i64::from(id)))
    }
}
