//! Writes: customers, products, stock, invoices, shipments; updated_at maintenance, counters,
//! and the admin edit endpoint.

mod common;

use common::*;
use magento_sim::ApiVersion;
use serde_json::json;

#[tokio::test]
async fn customer_lifecycle_and_counters() {
    let sim = sim(ApiVersion::V2_4).await;
    let v1 = sim.rest_url(Some("default"));
    let r = call("POST", &format!("{v1}/customers"), json!({"customer": {"email": "new@example.com", "firstname": "New", "lastname": "Person", "addresses": [{"firstname": "New", "lastname": "Person", "street": ["1 A St"], "city": "Austin", "postcode": "73301", "telephone": "555", "country_id": "US", "region_id": 57, "default_billing": true}]}, "password": "Secret1234"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let c = r.json();
    assert_eq!(c["id"], 61);
    assert_eq!(c["default_billing"], c["addresses"][0]["id"].to_string());
    assert!(c.get("default_shipping").is_none());
    assert_eq!(sim.state().request_count("POST /V1/customers"), 1);
    let before = c["updated_at"].as_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = call("PUT", &format!("{v1}/customers/61"), json!({"customer": {"email": "new@example.com", "firstname": "Renamed", "lastname": "Person"}})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["firstname"], "Renamed");
    assert!(r.json()["updated_at"].as_str().unwrap() > before.as_str());
    // Addresses are kept when the update does not send them.
    assert_eq!(r.json()["addresses"].as_array().unwrap().len(), 1);
    let r = send(
        "DELETE",
        &format!("{v1}/customers/61"),
        &[("authorization", &format!("Bearer {TOKEN}"))],
        None,
    )
    .await
    .unwrap();
    assert_eq!((r.status, r.text.as_str()), (200, "true"));
    assert_eq!(get(&format!("{v1}/customers/61")).await.status, 404);
    // Ids are never reused.
    let r = call(
        "POST",
        &format!("{v1}/customers"),
        json!({"customer": {"email": "next@example.com", "firstname": "N", "lastname": "P"}}),
    )
    .await;
    assert_eq!(r.json()["id"], 62);
    let stats = sim.state().request_stats();
    assert_eq!(stats.by_route["POST /V1/customers"], 2);
    assert_eq!(stats.by_route["PUT /V1/customers/{customerId}"], 1);
    // The same counters over HTTP.
    let r = send(
        "GET",
        &format!("{}/__sim/requests", sim.base_url()),
        &[],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.json()["by_route"]["DELETE /V1/customers/{customerId}"], 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn admin_edit_bumps_updated_at() {
    let sim = sim(ApiVersion::V2_4).await;
    let base = sim.base_url().to_string();
    let old = sim.state().customer(4).unwrap();
    let r = send(
        "POST",
        &format!("{base}/__sim/customers/4"),
        &[("content-type", "application/json")],
        Some(json!({"lastname": "Edited", "city": "Paris"}).to_string()),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text);
    let c = get(&format!("{base}/rest/V1/customers/4")).await.json();
    assert_eq!(c["lastname"], "Edited");
    assert!(sim.state().customer(4).unwrap().updated_at > old.updated_at);
    // Found by an incremental import that filters on updated_at.
    let since = magento_sim::data::time::format_datetime(old.updated_at + 1);
    let r = get(&format!(
        "{base}/rest/V1/customers/search?{}",
        sc(&[(0, "updated_at", &since, Some("gteq"))], "")
    ))
    .await
    .json();
    assert!(r["items"].as_array().unwrap().iter().any(|i| i["id"] == 4));
    // Product and order edits.
    let sku = sim
        .state()
        .read()
        .live_products()
        .next()
        .unwrap()
        .sku
        .clone();
    let r = send(
        "PATCH",
        &format!("{base}/__sim/products/{}", enc(&sku)),
        &[("content-type", "application/json")],
        Some(json!({"price": 99.5, "qty": 3}).to_string()),
    )
    .await
    .unwrap();
    assert_eq!(r.json()["price"], 99.5);
    let r = send(
        "POST",
        &format!("{base}/__sim/orders/1"),
        &[("content-type", "application/json")],
        Some(json!({"status": "fraud", "comment": "checked"}).to_string()),
    )
    .await
    .unwrap();
    assert_eq!(r.json()["status"], "fraud");
    assert_eq!(r.json()["status_histories"][0]["comment"], "checked");
    let r = send(
        "POST",
        &format!("{base}/__sim/customers/4"),
        &[("content-type", "application/json")],
        Some(json!({"shoe": 1}).to_string()),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 400);
    sim.shutdown().await;
}

#[tokio::test]
async fn product_and_stock_writes() {
    let sim = sim(ApiVersion::V2_4).await;
    let v1 = sim.rest_url(None);
    let r = call("POST", &format!("{v1}/products"), json!({"product": {"sku": "NEW-1", "name": "New Thing", "price": 10, "custom_attributes": [{"attribute_code": "category_ids", "value": ["20", "19"]}], "extension_attributes": {"stock_item": {"qty": 8}}}})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let p = r.json();
    assert_eq!(p["extension_attributes"]["stock_item"]["qty"], 8);
    assert_eq!(p["extension_attributes"]["stock_item"]["is_in_stock"], true);
    assert_eq!(
        p["extension_attributes"]["category_links"][0]["category_id"],
        "20"
    );
    // PUT creates an unknown SKU, POST on an existing SKU updates it.
    let r = call(
        "PUT",
        &format!("{v1}/products/NEW-2"),
        json!({"product": {"name": "Second", "price": 1}}),
    )
    .await;
    assert_eq!(r.json()["sku"], "NEW-2");
    let r = call(
        "POST",
        &format!("{v1}/products"),
        json!({"product": {"sku": "NEW-1", "price": 11}}),
    )
    .await;
    assert_eq!(
        (r.json()["price"].clone(), r.json()["name"].clone()),
        (json!(11), json!("New Thing"))
    );
    let r = call(
        "POST",
        &format!("{v1}/products"),
        json!({"product": {"sku": "NEW-3", "price": 1}}),
    )
    .await;
    assert_eq!(
        r.json()["message"],
        "The \"name\" attribute value is empty. Set the attribute and try again."
    );
    // Legacy stock and MSI stay in step.
    let r = call(
        "PUT",
        &format!("{v1}/products/NEW-1/stockItems/1"),
        json!({"stockItem": {"qty": 0, "is_in_stock": false}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let si = get(&format!(
        "{v1}/inventory/source-items?{}",
        sc(&[(0, "sku", "NEW-1", None)], "")
    ))
    .await
    .json();
    assert_eq!(si["items"][0]["quantity"], 0);
    assert_eq!(si["items"][0]["status"], 0);
    let r = call("POST", &format!("{v1}/inventory/source-items"), json!({"sourceItems": [{"sku": "NEW-1", "source_code": "default", "quantity": 5, "status": 1}]})).await;
    assert_eq!(r.text, "[]");
    assert_eq!(
        get(&format!("{v1}/stockItems/NEW-1")).await.json()["qty"],
        5
    );
    // List items carry no stock_item; the single GET does.
    let l = get(&format!(
        "{v1}/products?{}",
        sc(&[(0, "sku", "NEW-1", None)], "")
    ))
    .await
    .json();
    assert!(
        l["items"][0]["extension_attributes"]
            .get("stock_item")
            .is_none()
    );
    let r = send(
        "DELETE",
        &format!("{v1}/products/NEW-1"),
        &[("authorization", &format!("Bearer {TOKEN}"))],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.text, "true");
    assert_eq!(get(&format!("{v1}/products/NEW-1")).await.status, 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn invoice_and_ship_flow() {
    let sim = sim(ApiVersion::V2_4).await;
    let v1 = sim.rest_url(None);
    let order = sim
        .state()
        .read()
        .orders
        .iter()
        .find(|o| {
            o.state == "new"
                && !o.is_virtual()
                && o.items.iter().any(|i| i.parent_item_id.is_some())
        })
        .unwrap()
        .clone();
    let parent = order
        .items
        .iter()
        .find(|i| i.product_type == "configurable")
        .unwrap();
    let before = order.updated_at;
    // Too much quantity: a document validation error naming the SKU.
    let r = call(
        "POST",
        &format!("{v1}/order/{}/invoice", order.entity_id),
        json!({"items": [{"order_item_id": parent.item_id, "qty": 99}]}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        format!(
            "Invoice Document Validation Error(s):\nThe quantity to invoice must not be greater than the uninvoiced quantity for product SKU \"{}\".",
            parent.sku
        )
    );
    let r = call(
        "POST",
        &format!("{v1}/order/{}/invoice", order.entity_id),
        json!({"items": [{"order_item_id": 999999, "qty": 1}]}),
    )
    .await;
    assert_eq!(
        r.json()["message"],
        "Invoice Document Validation Error(s):\nThe invoice contains one or more items that are not part of the original order."
    );
    // Invoice everything: the answer is the invoice id as a JSON string.
    let r = call(
        "POST",
        &format!("{v1}/order/{}/invoice", order.entity_id),
        json!({"capture": true, "notify": false}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let invoice_id: u32 = r.json().as_str().unwrap().parse().unwrap();
    let inv = get(&format!("{v1}/invoices/{invoice_id}")).await.json();
    assert_eq!(inv["state"], 2);
    assert_eq!(inv["order_id"], order.entity_id);
    let o = get(&format!("{v1}/orders/{}", order.entity_id))
        .await
        .json();
    assert_eq!(
        (o["state"].clone(), o["status"].clone()),
        (json!("processing"), json!("processing"))
    );
    assert_eq!(o["total_due"], 0);
    assert!(sim.state().order(order.entity_id).unwrap().updated_at >= before);
    let r = call(
        "POST",
        &format!("{v1}/order/{}/invoice", order.entity_id),
        json!({}),
    )
    .await;
    assert_eq!(
        r.json()["message"],
        "Invoice Document Validation Error(s):\nThe order does not allow an invoice to be created."
    );
    // Ship with a track: complete.
    let r = call(
        "POST",
        &format!("{v1}/order/{}/ship", order.entity_id),
        json!({"tracks": [{"track_number": "1Z1", "title": "UPS", "carrier_code": "ups"}]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let o = get(&format!("{v1}/orders/{}", order.entity_id))
        .await
        .json();
    assert_eq!(o["state"], "complete");
    let child = o["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["parent_item_id"].is_number())
        .unwrap();
    assert_eq!(child["qty_shipped"], child["qty_ordered"]);
    assert_eq!(child["parent_item"]["product_type"], "configurable");
    let r = call(
        "POST",
        &format!("{v1}/order/{}/invoice", order.entity_id),
        json!({}),
    )
    .await;
    assert_eq!(
        r.json()["message"],
        "Invoice Document Validation Error(s):\nAn invoice cannot be created when an order has a status of complete"
    );
    let shipments = get(&format!(
        "{v1}/shipments?{}",
        sc(&[(0, "order_id", &order.entity_id.to_string(), None)], "")
    ))
    .await
    .json();
    assert_eq!(shipments["total_count"], 1);
    let track = shipments["items"][0]["tracks"][0]["entity_id"]
        .as_i64()
        .unwrap();
    let r = send(
        "DELETE",
        &format!("{v1}/shipment/track/{track}"),
        &[("authorization", &format!("Bearer {TOKEN}"))],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.text, "true");
    // Invoice increment ids run on their own sequence.
    let invs = get(&format!(
        "{v1}/invoices?{}",
        sc(&[(0, "order_id", &order.entity_id.to_string(), None)], "")
    ))
    .await
    .json();
    assert!(invs["items"][0]["increment_id"].as_str().unwrap().len() >= 9);
    sim.shutdown().await;
}

#[tokio::test]
async fn deterministic_by_seed_and_realistic() {
    let a = sim(ApiVersion::V2_4).await;
    let b = sim(ApiVersion::V2_4).await;
    let ra = get(&format!(
        "{}/orders?searchCriteria[pageSize]=5",
        a.rest_url(None)
    ))
    .await
    .json();
    let rb = get(&format!(
        "{}/orders?searchCriteria[pageSize]=5",
        b.rest_url(None)
    ))
    .await
    .json();
    assert_eq!(ra, rb);
    {
        let db = a.state().read();
        assert!(
            db.orders.iter().any(|o| o.customer_id.is_none()),
            "guest orders"
        );
        assert!(
            db.orders.iter().any(|o| o.store_id == 2)
                && db.orders.iter().any(|o| o.increment_id.starts_with('2'))
        );
        assert!(
            db.live_products()
                .any(|p| p.type_id == "configurable" && !p.configurable_links.is_empty())
        );
        assert!(db.live_customers().any(|c| c.addresses.len() == 2));
    }
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn large_data_generates_quickly() {
    let started = std::time::Instant::now();
    let sim = magento_sim::Simulator::builder()
        .customers(100_000)
        .products(20_000)
        .orders(50_000)
        .start()
        .await
        .unwrap();
    let took = started.elapsed();
    eprintln!("generated 100k customers, 20k products, 50k orders in {took:.2?}");
    assert_eq!(sim.state().customers_count(), 100_000);
    assert_eq!(sim.state().orders_count(), 50_000);
    // Debug builds are several times slower than release; the release figure is in the README.
    assert!(took.as_secs() < 60, "{took:?}");
    sim.shutdown().await;
}
