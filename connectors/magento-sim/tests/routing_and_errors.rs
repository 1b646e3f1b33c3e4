//! Store-code routing, authentication, and the exact Magento error answers.

mod common;

use common::*;
use magento_sim::ApiVersion;
use serde_json::json;

#[tokio::test]
async fn store_code_routing() {
    let sim = sim(ApiVersion::V2_4).await;
    let base = sim.base_url().to_string();
    for prefix in [
        "/rest/V1",
        "/rest/default/V1",
        "/rest/fr/V1",
        "/rest/de/V1",
        "/index.php/rest/V1",
    ] {
        let r = get(&format!("{base}{prefix}/store/storeViews")).await;
        assert_eq!(r.status, 200, "{prefix}");
    }
    // Unknown store code: no route.
    let r = get(&format!("{base}/rest/nope/V1/store/storeViews")).await;
    assert_eq!(
        (r.status, r.json()),
        (404, json!({"message": "Request does not match any route."}))
    );
    // GET with "all" is refused; writes there are fine.
    let r = get(&format!("{base}/rest/all/V1/orders/1")).await;
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({"message": "Cannot perform GET operation with store code 'all'"})
        )
    );
    let r = call("POST", &format!("{base}/rest/all/V1/orders/1/comments"), json!({"statusHistory": {"comment": "x", "is_customer_notified": 0, "is_visible_on_front": 0}})).await;
    assert_eq!((r.status, r.text.as_str()), (200, "true"));
    // Store view values: a product name differs in the French view when translated.
    let sku = sim
        .state()
        .read()
        .live_products()
        .find(|p| !p.store_names.is_empty())
        .unwrap()
        .sku
        .clone();
    let en = get(&format!("{base}/rest/default/V1/products/{}", enc(&sku)))
        .await
        .json();
    let fr = get(&format!("{base}/rest/fr/V1/products/{}", enc(&sku)))
        .await
        .json();
    assert_ne!(en["name"], fr["name"]);
    // A customer created through the German view belongs to store 3.
    let r = call(
        "POST",
        &format!("{base}/rest/de/V1/customers"),
        json!({"customer": {"email": "de@example.com", "firstname": "Jonas", "lastname": "Weber"}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["store_id"], 3);
    assert_eq!(r.json()["created_in"], "German Store View");
    // Orders are not filtered by store code.
    let a = get(&format!("{base}/rest/fr/V1/orders?searchCriteria="))
        .await
        .json();
    assert_eq!(a["total_count"], 120);
    // Store configs exclude admin; storeCodes[] filters.
    let r = get(&format!(
        "{base}/rest/V1/store/storeConfigs?storeCodes[]=fr"
    ))
    .await
    .json();
    assert_eq!(r.as_array().unwrap().len(), 1);
    assert_eq!(r[0]["locale"], "fr_FR");
    sim.shutdown().await;
}

#[tokio::test]
async fn routes_and_methods() {
    let sim = sim(ApiVersion::V2_4).await;
    let v1 = sim.rest_url(None);
    let no_route = json!({"message": "Request does not match any route."});
    let r = get(&format!("{v1}/nothing/here")).await;
    assert_eq!((r.status, r.json()), (404, no_route.clone()));
    // A wrong method is 404, not 405, and is checked before the token.
    let r = send("PATCH", &format!("{v1}/customers/1"), &[], None)
        .await
        .unwrap();
    assert_eq!((r.status, r.json()), (404, no_route.clone()));
    // Literal segments beat parameters.
    assert_eq!(
        get(&format!("{v1}/customers/search?searchCriteria="))
            .await
            .status,
        200
    );
    assert_eq!(
        get(&format!("{v1}/orders/items?searchCriteria="))
            .await
            .status,
        200
    );
    // MSI routes exist in 2.4 only.
    assert_eq!(
        get(&format!("{v1}/inventory/source-items?searchCriteria="))
            .await
            .status,
        200
    );
    sim.shutdown().await;
    let old = common::sim(ApiVersion::V2_3).await;
    let r = get(&format!(
        "{}/inventory/source-items?searchCriteria=",
        old.rest_url(None)
    ))
    .await;
    assert_eq!((r.status, r.json()), (404, no_route));
    old.shutdown().await;
}

#[tokio::test]
async fn authentication() {
    let sim = sim(ApiVersion::V2_4).await;
    let v1 = sim.rest_url(None);
    let unauthorized = json!({"message": "The consumer isn't authorized to access %resources.", "parameters": {"resources": "Magento_Sales::actions_view"}});
    let r = send("GET", &format!("{v1}/orders/1"), &[], None)
        .await
        .unwrap();
    assert_eq!((r.status, r.json()), (401, unauthorized.clone()));
    let r = send(
        "GET",
        &format!("{v1}/orders/1"),
        &[("authorization", "Bearer wrong")],
        None,
    )
    .await
    .unwrap();
    assert_eq!((r.status, r.json()), (401, unauthorized));
    // Admin token: a JSON string, then usable as a bearer token.
    let r = send(
        "POST",
        &format!("{v1}/integration/admin/token"),
        &[("content-type", "application/json")],
        Some(json!({"username": "admin", "password": "admin123"}).to_string()),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    let token = r.json().as_str().unwrap().to_string();
    assert!(token.starts_with("eyJ"));
    let r = send(
        "GET",
        &format!("{v1}/orders/1"),
        &[("authorization", &format!("Bearer {token}"))],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    // Revoked tokens stop working.
    sim.state().revoke_admin_tokens();
    let r = send(
        "GET",
        &format!("{v1}/orders/1"),
        &[("authorization", &format!("Bearer {token}"))],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 401);
    let r = send(
        "POST",
        &format!("{v1}/integration/admin/token"),
        &[("content-type", "application/json")],
        Some(json!({"username": "admin", "password": "bad"}).to_string()),
    )
    .await
    .unwrap();
    assert_eq!(
        (r.status, r.json()),
        (
            401,
            json!({"message": "The account sign-in was incorrect or your account is disabled temporarily. Please wait and try again later."})
        )
    );
    let r = send(
        "POST",
        &format!("{v1}/integration/admin/token"),
        &[("content-type", "application/json")],
        Some(json!({"username": "admin", "password": ""}).to_string()),
    )
    .await
    .unwrap();
    assert_eq!(
        (r.status, r.json()["parameters"]["fieldName"].clone()),
        (400, json!("password"))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn input_errors() {
    let sim = sim(ApiVersion::V2_4).await;
    let v1 = sim.rest_url(None);
    let auth = format!("Bearer {TOKEN}");
    // Content-Type checks and decoding.
    let r = send(
        "POST",
        &format!("{v1}/customers"),
        &[("authorization", &auth)],
        Some("{}".into()),
    )
    .await
    .unwrap();
    assert_eq!(
        (r.status, r.json()),
        (400, json!({"message": "Content-Type header is empty."}))
    );
    let r = send(
        "POST",
        &format!("{v1}/customers"),
        &[("authorization", &auth), ("content-type", "text/plain")],
        Some("{}".into()),
    )
    .await
    .unwrap();
    assert_eq!(r.json()["message"], "Content-Type header is invalid.");
    let r = send(
        "POST",
        &format!("{v1}/customers"),
        &[
            ("authorization", &auth),
            ("content-type", "application/json; charset=latin1"),
        ],
        Some("{}".into()),
    )
    .await
    .unwrap();
    assert_eq!(r.json()["message"], "UTF-8 is the only supported charset.");
    let r = send(
        "POST",
        &format!("{v1}/customers"),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        Some("{nope".into()),
    )
    .await
    .unwrap();
    assert_eq!(
        (r.status, r.json()),
        (400, json!({"message": "Decoding error."}))
    );
    // Missing argument, unknown field, wrong type.
    let r = call("POST", &format!("{v1}/customers"), json!({})).await;
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({"message": "\"%fieldName\" is required. Enter and try again.", "parameters": {"fieldName": "customer"}})
        )
    );
    let r = call("POST", &format!("{v1}/customers"), json!({"customer": {"email": "x@example.com", "firstname": "A", "lastname": "B", "shoe_size": 9}})).await;
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({"message": "\"%fieldName\" is not supported. Correct the field name and try again.", "parameters": {"fieldName": "shoe_size"}})
        )
    );
    let r = call("POST", &format!("{v1}/customers"), json!({"customer": {"email": "x@example.com", "firstname": "A", "lastname": "B", "group_id": "abc"}})).await;
    assert_eq!(
        r.json()["message"],
        "The \"abc\" value's type is invalid. The \"int\" type was expected. Verify and try again."
    );
    let r = call(
        "POST",
        &format!("{v1}/customers"),
        json!({"customer": {"email": "x@example.com", "firstname": "A"}}),
    )
    .await;
    assert_eq!(r.json()["parameters"]["fieldName"], "lastname");
    let existing = sim.state().customer(1).unwrap().email;
    let r = call(
        "POST",
        &format!("{v1}/customers"),
        json!({"customer": {"email": existing, "firstname": "A", "lastname": "B"}}),
    )
    .await;
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({"message": "A customer with the same email address already exists in an associated website."})
        )
    );
    // Typed path parameters and not-found shapes.
    let r = get(&format!("{v1}/customers/abc")).await;
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({"message": "The \"abc\" value's type is invalid. The \"int\" type was expected. Verify and try again."})
        )
    );
    let r = get(&format!("{v1}/customers/999")).await;
    assert_eq!(
        (r.status, r.json()),
        (
            404,
            json!({"message": "No such entity with %fieldName = %fieldValue", "parameters": {"fieldName": "customerId", "fieldValue": 999}})
        )
    );
    let r = get(&format!("{v1}/orders/0")).await;
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({"message": "An ID is needed. Set the ID and try again."})
        )
    );
    let r = get(&format!("{v1}/orders/9999")).await;
    assert_eq!(
        (r.status, r.json()),
        (
            404,
            json!({"message": "The entity that was requested doesn't exist. Verify the entity and try again."})
        )
    );
    let r = get(&format!("{v1}/invoices/9999")).await;
    assert_eq!(r.status, 404);
    let r = get(&format!("{v1}/products/NO-SUCH-SKU")).await;
    assert_eq!(
        (r.status, r.json()),
        (
            404,
            json!({"message": "The product that was requested doesn't exist. Verify the product and try again."})
        )
    );
    let r = get(&format!("{v1}/categories/999")).await;
    assert_eq!(
        (r.status, r.json()),
        (
            404,
            json!({"message": "No such entity with %fieldName = %fieldValue", "parameters": {"fieldName": "id", "fieldValue": 999}})
        )
    );
    // Nothing panics on odd input.
    for path in [
        "/products/%FF%FE",
        "/orders/-1",
        "/customers/99999999999999999999",
        "/categories?depth=x",
        "/orders?searchCriteria[filter_groups]=x",
    ] {
        let r = get(&format!("{v1}{path}")).await;
        assert!(
            r.status < 500 || r.status == 500 && r.json()["message"].is_string(),
            "{path}: {}",
            r.status
        );
    }
    sim.shutdown().await;
}
