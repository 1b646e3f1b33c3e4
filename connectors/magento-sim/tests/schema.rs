//! Every response shape the simulator serves is checked against the official Magento schemas
//! (Swagger 2.0, read from the shared fixtures, never copied into the project): `$ref`s are
//! resolved, every served field must be declared with a compatible JSON type, and required
//! fields must be present.
//!
//! Documented deviations of real Magento from its own schema, allowed here on purpose:
//! - `custom_attributes[].value` is declared `string` but Magento does not cast it: arrays
//!   (such as `category_ids`) are served as they are.
//! - Scalar "created id" answers (`POST /V1/order/{id}/invoice`, `/ship`) are declared
//!   `integer`; Magento passes the DB value through uncast, so a numeric string is served.
//! - Error `parameters` is declared as an array of objects; Magento serves an object for named
//!   placeholders and an array of scalars for positional ones.
//! - `null` is allowed for a field the schema lists as required (required getters returning
//!   null are written as null); optional nulls must be omitted, so they are errors here.

mod common;

use common::*;
use magento_sim::ApiVersion;
use serde_json::{Value, json};

struct Checker<'a> {
    defs: &'a Value,
    errors: Vec<String>,
}

impl Checker<'_> {
    fn resolve<'s>(&'s self, mut s: &'s Value) -> &'s Value {
        while let Some(r) = s.get("$ref").and_then(Value::as_str) {
            let name = r.trim_start_matches("#/definitions/");
            s = &self.defs[name];
            if s.is_null() {
                break;
            }
        }
        s
    }

    fn def_name(s: &Value) -> &str {
        s.get("$ref")
            .and_then(Value::as_str)
            .map_or("", |r| r.trim_start_matches("#/definitions/"))
    }

    fn check(&mut self, schema: &Value, v: &Value, path: &str) {
        let name = Self::def_name(schema).to_string();
        let s = self.resolve(schema).clone();
        if s.is_null() {
            self.errors
                .push(format!("{path}: unresolvable schema {schema}"));
            return;
        }
        let ty =
            s.get("type")
                .and_then(Value::as_str)
                .unwrap_or(if s.get("properties").is_some() {
                    "object"
                } else {
                    ""
                });
        match (ty, v) {
            ("object", Value::Object(m)) => {
                let props = s.get("properties").cloned().unwrap_or(json!({}));
                for (k, val) in m {
                    let p = format!("{path}.{k}");
                    let Some(ps) = props.get(k) else {
                        self.errors.push(format!("{p}: not declared in {name}"));
                        continue;
                    };
                    if val.is_null() {
                        let required = s
                            .get("required")
                            .and_then(Value::as_array)
                            .is_some_and(|r| r.iter().any(|x| x == k));
                        if !required {
                            self.errors.push(format!(
                                "{p}: null for an optional field (Magento omits it)"
                            ));
                        }
                        continue;
                    }
                    if name == "framework-attribute-interface" && k == "value" {
                        if !(val.is_string() || val.is_array()) {
                            self.errors
                                .push(format!("{p}: custom attribute value {val}"));
                        }
                        continue;
                    }
                    self.check(ps, val, &p);
                }
                for r in s
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(r) = r.as_str()
                        && !m.contains_key(r)
                    {
                        self.errors
                            .push(format!("{path}: required field {r} missing ({name})"));
                    }
                }
            }
            ("array", Value::Array(items)) => {
                let item_schema = s.get("items").cloned().unwrap_or(json!({}));
                for (i, it) in items.iter().enumerate() {
                    self.check(&item_schema, it, &format!("{path}[{i}]"));
                }
            }
            ("string", Value::String(_)) | ("boolean", Value::Bool(_)) => {}
            ("integer", Value::Number(n)) if n.is_i64() || n.is_u64() => {}
            ("number", Value::Number(_)) => {}
            ("", _) => {}
            _ => self.errors.push(format!("{path}: expected {ty}, got {v}")),
        }
    }
}

fn response_schema<'a>(schema: &'a Value, method: &str, template: &str, status: &str) -> &'a Value {
    let op = &schema["paths"][template][method];
    assert!(!op.is_null(), "{method} {template} is not in the schema");
    let r = &op["responses"][status]["schema"];
    if r.is_null() {
        &op["responses"]["default"]["schema"]
    } else {
        r
    }
}

fn validate(schema: &Value, method: &str, template: &str, resp: &Resp, errors: &mut Vec<String>) {
    let status = resp.status.to_string();
    let s = response_schema(
        schema,
        method,
        template,
        if resp.status == 200 { "200" } else { &status },
    );
    let body = resp.json();
    let mut c = Checker {
        defs: &schema["definitions"],
        errors: vec![],
    };
    if resp.status != 200 {
        // Error bodies: `parameters` deviates from the schema (see the module doc).
        let mut b = body.clone();
        if let Some(obj) = b.as_object_mut()
            && let Some(p) = obj.remove("parameters")
        {
            let item = &schema["definitions"]["error-parameters-item"]["properties"];
            match p {
                Value::Object(m) => {
                    for k in m.keys() {
                        if item.get(k).is_none() {
                            c.errors
                                .push(format!("{template}: error parameter {k} not declared"));
                        }
                    }
                }
                Value::Array(a) => assert!(a.iter().all(|x| !x.is_object() && !x.is_array())),
                other => c.errors.push(format!("{template}: parameters {other}")),
            }
        }
        c.check(s, &b, &format!("{method} {template} {status}"));
    } else if s.get("type").and_then(Value::as_str) == Some("integer") && body.is_string() {
        // Scalar created ids are served uncast (see the module doc).
        assert!(
            body.as_str().is_some_and(|x| x.parse::<i64>().is_ok()),
            "{body}"
        );
    } else {
        c.check(s, &body, &format!("{method} {template}"));
    }
    errors.extend(c.errors);
}

async fn run(schema_file: &str) {
    let Some(schema) = load_schema(schema_file) else {
        return;
    };
    let sim = sim(ApiVersion::V2_4).await;
    let v1 = sim.rest_url(Some("default"));
    let state = sim.state().clone();
    let mut errors = Vec::new();
    let mut checked = 0;
    // One of each kind of record, so that every branch of every shape is served.
    let (simple_sku, conf_sku, guest_order, conf_order, complete_order, address_id) = {
        let db = state.read();
        let simple = db
            .live_products()
            .find(|p| p.type_id == "simple" && p.parent_id.is_none())
            .unwrap()
            .sku
            .clone();
        let conf = db
            .live_products()
            .find(|p| p.type_id == "configurable")
            .unwrap()
            .sku
            .clone();
        let guest = db
            .orders
            .iter()
            .find(|o| o.customer_id.is_none())
            .unwrap()
            .entity_id;
        let confo = db
            .orders
            .iter()
            .find(|o| o.items.iter().any(|i| i.parent_item_id.is_some()))
            .unwrap()
            .entity_id;
        let complete = db
            .orders
            .iter()
            .find(|o| o.state == "complete" && !o.status_histories.is_empty())
            .unwrap()
            .entity_id;
        let addr = db
            .live_customers()
            .find_map(|c| c.addresses.first())
            .unwrap()
            .id;
        (simple, conf, guest, confo, complete, addr)
    };
    let all = "searchCriteria=";
    let gets: Vec<(&str, String)> = vec![
        ("/V1/store/websites", format!("{v1}/store/websites")),
        ("/V1/store/storeGroups", format!("{v1}/store/storeGroups")),
        ("/V1/store/storeViews", format!("{v1}/store/storeViews")),
        ("/V1/store/storeConfigs", format!("{v1}/store/storeConfigs")),
        (
            "/V1/customerGroups/search",
            format!("{v1}/customerGroups/search?{all}"),
        ),
        ("/V1/customerGroups/{id}", format!("{v1}/customerGroups/1")),
        (
            "/V1/customers/search",
            format!("{v1}/customers/search?{all}"),
        ),
        ("/V1/customers/{customerId}", format!("{v1}/customers/1")),
        (
            "/V1/customers/addresses/{addressId}",
            format!("{v1}/customers/addresses/{address_id}"),
        ),
        ("/V1/categories", format!("{v1}/categories")),
        ("/V1/categories/{categoryId}", format!("{v1}/categories/11")),
        ("/V1/categories/list", format!("{v1}/categories/list?{all}")),
        (
            "/V1/categories/{categoryId}/products",
            format!("{v1}/categories/19/products"),
        ),
        ("/V1/products", format!("{v1}/products?{all}")),
        (
            "/V1/products/{sku}",
            format!("{v1}/products/{}", enc(&simple_sku)),
        ),
        (
            "/V1/products/{sku}",
            format!("{v1}/products/{}", enc(&conf_sku)),
        ),
        (
            "/V1/configurable-products/{sku}/children",
            format!("{v1}/configurable-products/{}/children", enc(&conf_sku)),
        ),
        (
            "/V1/stockItems/{productSku}",
            format!("{v1}/stockItems/{}", enc(&simple_sku)),
        ),
        (
            "/V1/inventory/source-items",
            format!("{v1}/inventory/source-items?{all}"),
        ),
        ("/V1/inventory/sources", format!("{v1}/inventory/sources")),
        ("/V1/orders", format!("{v1}/orders?{all}")),
        ("/V1/orders/{id}", format!("{v1}/orders/{guest_order}")),
        ("/V1/orders/{id}", format!("{v1}/orders/{conf_order}")),
        ("/V1/orders/{id}", format!("{v1}/orders/{complete_order}")),
        ("/V1/orders/items", format!("{v1}/orders/items?{all}")),
        ("/V1/orders/items/{id}", format!("{v1}/orders/items/2")),
        (
            "/V1/orders/{id}/comments",
            format!("{v1}/orders/{complete_order}/comments"),
        ),
        (
            "/V1/orders/{id}/statuses",
            format!("{v1}/orders/{complete_order}/statuses"),
        ),
        ("/V1/invoices", format!("{v1}/invoices?{all}")),
        ("/V1/invoices/{id}", format!("{v1}/invoices/1")),
        ("/V1/shipments", format!("{v1}/shipments?{all}")),
        ("/V1/shipment/{id}", format!("{v1}/shipment/1")),
        // Echo of every searchCriteria key, including a filter without condition type and a
        // sort without direction (required getters answer null).
        (
            "/V1/customers/search",
            format!(
                "{v1}/customers/search?{}",
                sc(
                    &[
                        (0, "website_id", "1", None),
                        (0, "email", "%a%", Some("like"))
                    ],
                    "&searchCriteria[sortOrders][0][field]=email&searchCriteria[pageSize]=3&searchCriteria[currentPage]=2"
                )
            ),
        ),
    ];
    for (template, url) in &gets {
        let r = get(url).await;
        assert_eq!(r.status, 200, "{url}: {}", r.text);
        validate(&schema, "get", template, &r, &mut errors);
        checked += 1;
    }
    // Writes and their answers.
    let writes: Vec<(&str, &str, String, Value)> = vec![
        (
            "post",
            "/V1/customers",
            format!("{v1}/customers"),
            json!({"customer": {"email": "schema@example.com", "firstname": "Ann", "lastname": "Lee", "dob": "1980-02-03", "gender": 2, "addresses": [{"firstname": "Ann", "lastname": "Lee", "street": ["1 Main St"], "city": "Austin", "postcode": "73301", "telephone": "555", "country_id": "US", "region": {"region_code": "TX", "region": "Texas", "region_id": 57}, "default_billing": true, "default_shipping": true}]}, "password": "Secret1234"}),
        ),
        (
            "put",
            "/V1/customers/{customerId}",
            format!("{v1}/customers/2"),
            json!({"customer": {"email": state.customer(2).unwrap().email, "firstname": "Renamed", "lastname": "Person"}}),
        ),
        (
            "post",
            "/V1/products",
            format!("{v1}/products"),
            json!({"product": {"sku": "SCHEMA-1", "name": "Schema Product", "price": 12.5, "type_id": "simple", "attribute_set_id": 4, "extension_attributes": {"stock_item": {"qty": 5, "is_in_stock": true}, "category_links": [{"position": 0, "category_id": "20"}]}, "custom_attributes": [{"attribute_code": "color", "value": "49"}]}}),
        ),
        (
            "put",
            "/V1/products/{sku}",
            format!("{v1}/products/SCHEMA-1"),
            json!({"product": {"price": 13}}),
        ),
        (
            "post",
            "/V1/orders/{id}/comments",
            format!("{v1}/orders/{guest_order}/comments"),
            json!({"statusHistory": {"comment": "hello", "is_customer_notified": 0, "is_visible_on_front": 0}}),
        ),
        (
            "put",
            "/V1/products/{productSku}/stockItems/{itemId}",
            format!("{v1}/products/{}/stockItems/1", enc(&simple_sku)),
            json!({"stockItem": {"qty": 42, "is_in_stock": true}}),
        ),
        (
            "post",
            "/V1/integration/admin/token",
            format!("{v1}/integration/admin/token"),
            json!({"username": "admin", "password": "admin123"}),
        ),
    ];
    for (method, template, url, body) in &writes {
        let r = call(&method.to_uppercase(), url, body.clone()).await;
        assert_eq!(r.status, 200, "{method} {url}: {}", r.text);
        validate(&schema, method, template, &r, &mut errors);
        checked += 1;
    }
    // Invoice and ship a fresh order, then a track.
    let new_order = state
        .read()
        .orders
        .iter()
        .find(|o| o.state == "new" && !o.is_virtual())
        .map(|o| o.entity_id)
        .unwrap();
    let r = call(
        "POST",
        &format!("{v1}/order/{new_order}/invoice"),
        json!({"capture": true}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    validate(
        &schema,
        "post",
        "/V1/order/{orderId}/invoice",
        &r,
        &mut errors,
    );
    let r = call(
        "POST",
        &format!("{v1}/order/{new_order}/ship"),
        json!({"tracks": [{"track_number": "1Z999", "title": "UPS", "carrier_code": "ups"}]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    validate(&schema, "post", "/V1/order/{orderId}/ship", &r, &mut errors);
    let shipment: u32 = r.json().as_str().unwrap().parse().unwrap();
    let r = call("POST", &format!("{v1}/shipment/track"), json!({"entity": {"order_id": new_order, "parent_id": shipment, "track_number": "T2", "title": "DHL", "carrier_code": "dhl", "weight": 1, "qty": 1, "description": "box"}})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    validate(&schema, "post", "/V1/shipment/track", &r, &mut errors);
    let r = get(&format!("{v1}/shipment/{shipment}")).await;
    validate(&schema, "get", "/V1/shipment/{id}", &r, &mut errors);
    let r = call("POST", &format!("{v1}/inventory/source-items"), json!({"sourceItems": [{"sku": simple_sku, "source_code": "default", "quantity": 7, "status": 1}]})).await;
    assert_eq!((r.status, r.text.as_str()), (200, "[]"));
    let r = send(
        "DELETE",
        &format!("{v1}/customers/3"),
        &[("authorization", &format!("Bearer {TOKEN}"))],
        None,
    )
    .await
    .unwrap();
    validate(
        &schema,
        "delete",
        "/V1/customers/{customerId}",
        &r,
        &mut errors,
    );
    checked += 6;
    // Error shapes.
    let r = send("GET", &format!("{v1}/customers/1"), &[], None)
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    validate(
        &schema,
        "get",
        "/V1/customers/{customerId}",
        &r,
        &mut errors,
    );
    let r = get(&format!("{v1}/customers/99999")).await;
    assert_eq!(r.status, 404);
    validate(
        &schema,
        "get",
        "/V1/customers/{customerId}",
        &r,
        &mut errors,
    );
    let r = get(&format!(
        "{v1}/orders?{}",
        "searchCriteria[sortOrders][0][field]=entity_id&searchCriteria[sortOrders][0][direction]=up"
    ))
    .await;
    assert_eq!(r.status, 400);
    validate(&schema, "get", "/V1/orders", &r, &mut errors);
    checked += 3;
    assert!(
        errors.is_empty(),
        "{schema_file}: {} schema violations:\n{}",
        errors.len(),
        errors.join("\n")
    );
    eprintln!("{schema_file}: {checked} responses match the schema");
    sim.shutdown().await;
}

#[tokio::test]
async fn responses_match_schema_2_4_9() {
    run("admin-schema-2.4.9.swagger.json").await;
}

#[tokio::test]
async fn responses_match_schema_2_4_6() {
    run("admin-schema-2.4.6.swagger.json").await;
}

#[test]
fn checker_flags_violations() {
    let Some(schema) = load_schema("admin-schema-2.4.9.swagger.json") else {
        return;
    };
    let mut c = Checker {
        defs: &schema["definitions"],
        errors: vec![],
    };
    let customer = json!({"$ref": "#/definitions/customer-data-customer-interface"});
    c.check(
        &customer,
        &json!({"email": "a@b.c", "firstname": "A", "lastname": "B"}),
        "ok",
    );
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    c.check(
        &customer,
        &json!({"email": "a@b.c", "firstname": "A", "lastname": "B", "bogus": 1}),
        "undeclared",
    );
    c.check(
        &customer,
        &json!({"email": "a@b.c", "firstname": "A", "lastname": "B", "id": "7"}),
        "type",
    );
    c.check(
        &customer,
        &json!({"email": "a@b.c", "firstname": "A"}),
        "required",
    );
    c.check(
        &customer,
        &json!({"email": "a@b.c", "firstname": "A", "lastname": "B", "middlename": null}),
        "null",
    );
    c.check(&customer, &json!({"email": "a@b.c", "firstname": "A", "lastname": "B", "addresses": [{"region": {"region_code": "X"}}]}), "nested");
    assert_eq!(c.errors.len(), 6, "{:#?}", c.errors);
}
