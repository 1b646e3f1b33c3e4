//! searchCriteria semantics over HTTP: OR inside a group, AND across groups, condition types,
//! sorting, paging edges of 2.4 and 2.3, the echo, and the key spellings.

mod common;

use common::*;
use magento_sim::ApiVersion;
use serde_json::Value;

fn ids(v: &Value, key: &str) -> Vec<i64> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[key].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn filters_or_within_group_and_across_groups() {
    let sim = sim(ApiVersion::V2_4).await;
    let v1 = sim.rest_url(None);
    let (a, b) = {
        let s = sim.state();
        (s.customer(3).unwrap(), s.customer(5).unwrap())
    };
    // OR: two e-mails in one group.
    let q = sc(
        &[
            (0, "email", &a.email, None),
            (0, "email", &b.email, Some("eq")),
        ],
        "",
    );
    let r = get(&format!("{v1}/customers/search?{q}")).await.json();
    assert_eq!(ids(&r, "id"), vec![3, 5]);
    assert_eq!(r["total_count"], 2);
    // AND: the same two e-mails, and id = 5 in another group.
    let q = sc(
        &[
            (0, "email", &a.email, None),
            (0, "email", &b.email, None),
            (1, "id", "5", None),
        ],
        "",
    );
    let r = get(&format!("{v1}/customers/search?{q}")).await.json();
    assert_eq!(ids(&r, "id"), vec![5]);
    // Case-insensitive equality, like MySQL collation.
    let q = sc(&[(0, "email", &a.email.to_uppercase(), None)], "");
    assert_eq!(
        ids(
            &get(&format!("{v1}/customers/search?{q}")).await.json(),
            "id"
        ),
        vec![3]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn condition_types() {
    let sim = sim(ApiVersion::V2_4).await;
    let v1 = sim.rest_url(None);
    let count = |q: String| {
        let url = format!("{v1}/orders?{q}");
        async move {
            let r = get(&url).await;
            assert_eq!(r.status, 200, "{url}: {}", r.text);
            r.json()["total_count"].as_i64().unwrap()
        }
    };
    let total = count(sc(&[], "")).await;
    assert_eq!(total, 120);
    let f = |field: &'static str, value: &'static str, cond: &'static str| {
        sc(&[(0, field, value, Some(cond))], "")
    };
    assert_eq!(count(f("entity_id", "10", "eq")).await, 1);
    assert_eq!(count(f("entity_id", "10", "neq")).await, 119);
    assert_eq!(count(f("entity_id", "10", "gt")).await, 110);
    assert_eq!(count(f("entity_id", "10", "gteq")).await, 111);
    assert_eq!(count(f("entity_id", "10", "lt")).await, 9);
    assert_eq!(count(f("entity_id", "10", "lteq")).await, 10);
    assert_eq!(count(f("entity_id", "10", "from")).await, 111);
    assert_eq!(count(f("entity_id", "10", "to")).await, 10);
    assert_eq!(count(f("entity_id", "10", "moreq")).await, 111);
    assert_eq!(count(f("entity_id", "1,2,3,999", "in")).await, 3);
    assert_eq!(count(f("entity_id", "1,2,3", "nin")).await, 117);
    // An unknown condition type is equality (the AdobeDocs tutorial's "gte" included).
    assert_eq!(count(f("entity_id", "10", "gte")).await, 1);
    let guests = count(f("customer_id", "", "null")).await;
    assert!(guests > 0);
    assert_eq!(count(f("customer_id", "", "notnull")).await, total - guests);
    // NULL never matches neq (SQL three-valued logic).
    assert_eq!(count(f("customer_id", "0", "neq")).await, total - guests);
    let like = count(f("customer_email", "%@example.net", "like")).await;
    assert!(like >= guests);
    assert_eq!(
        count(f("customer_email", "%@example.net", "nlike")).await,
        total - like
    );
    assert_eq!(
        count(f("customer_email", "EXAMPLE.NET", "fulltext")).await,
        like
    );
    assert_eq!(
        count(f("increment_id", "^2[0-9]+$", "regexp")).await
            + count(f("increment_id", "^2[0-9]+$", "nregexp")).await,
        total
    );
    assert_eq!(count(f("status", "pending,complete", "finset")).await, 0);
    assert_eq!(count(f("created_at", "2023-01-01", "gteq")).await, total);
    assert_eq!(count(f("created_at", "2030-01-01 00:00:00", "gt")).await, 0);
    // Products: finset over a comma list attribute, category filter through the links.
    let r = get(&format!(
        "{v1}/products?{}",
        sc(&[(0, "category_id", "19", Some("eq"))], "")
    ))
    .await
    .json();
    assert!(r["total_count"].as_i64().unwrap() > 0);
    // Unknown column: MySQL fails, Magento masks it as a 500.
    let r = get(&format!("{v1}/orders?{}", f("no_such_column", "1", "eq"))).await;
    assert_eq!(r.status, 500);
    assert!(r.json()["message"].as_str().unwrap().starts_with(
        "Internal Error. Details are available in Magento log file. Report ID: webapi-"
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn sorting() {
    let sim = sim(ApiVersion::V2_4).await;
    let v1 = sim.rest_url(None);
    let r = get(&format!("{v1}/orders?searchCriteria[sortOrders][0][field]=entity_id&searchCriteria[sortOrders][0][direction]=ASC&searchCriteria[pageSize]=3")).await.json();
    assert_eq!(ids(&r, "entity_id"), vec![1, 2, 3]);
    // Case-insensitive direction; omitted direction sorts DESC.
    let r = get(&format!("{v1}/orders?searchCriteria[sort_orders][0][field]=entity_id&searchCriteria[sort_orders][0][direction]=desc&searchCriteria[page_size]=2")).await.json();
    assert_eq!(ids(&r, "entity_id"), vec![120, 119]);
    let r = get(&format!(
        "{v1}/orders?searchCriteria[sortOrders][0][field]=entity_id&searchCriteria[pageSize]=2"
    ))
    .await
    .json();
    assert_eq!(ids(&r, "entity_id"), vec![120, 119]);
    assert!(r["search_criteria"]["sort_orders"][0]["direction"].is_null());
    // Two keys: updated_at then entity_id ascending, as an incremental import does.
    let r = get(&format!("{v1}/orders?searchCriteria[sortOrders][0][field]=updated_at&searchCriteria[sortOrders][0][direction]=ASC&searchCriteria[sortOrders][1][field]=entity_id&searchCriteria[sortOrders][1][direction]=ASC")).await.json();
    let items = r["items"].as_array().unwrap();
    for w in items.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let ka = (
            a["updated_at"].as_str().unwrap(),
            a["entity_id"].as_i64().unwrap(),
        );
        let kb = (
            b["updated_at"].as_str().unwrap(),
            b["entity_id"].as_i64().unwrap(),
        );
        assert!(ka <= kb, "{ka:?} > {kb:?}");
    }
    let r = get(&format!("{v1}/orders?searchCriteria[sortOrders][0][field]=entity_id&searchCriteria[sortOrders][0][direction]=sideways")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["parameters"], serde_json::json!(["ASC", "DESC"]));
    sim.shutdown().await;
}

async fn paging(version: ApiVersion) -> (Value, Value, Value) {
    let sim = sim(version).await;
    let v1 = sim.rest_url(Some("default"));
    let page = |p: i64| {
        format!(
            "{v1}/customers/search?searchCriteria[sortOrders][0][field]=id&searchCriteria[sortOrders][0][direction]=ASC&searchCriteria[pageSize]=25&searchCriteria[currentPage]={p}"
        )
    };
    let last = get(&page(3)).await.json();
    let past = get(&page(4)).await.json();
    let zero = get(&page(0)).await.json();
    sim.shutdown().await;
    (last, past, zero)
}

#[tokio::test]
async fn paging_edges_2_4() {
    let (last, past, zero) = paging(ApiVersion::V2_4).await;
    assert_eq!(ids(&last, "id"), (51..=60).collect::<Vec<_>>());
    assert_eq!(past["items"], serde_json::json!([]));
    assert_eq!(past["total_count"], 60);
    assert_eq!(past["search_criteria"]["current_page"], 4);
    // currentPage < 1 is page 1.
    assert_eq!(ids(&zero, "id")[0], 1);
}

#[tokio::test]
async fn paging_edges_2_3_repeat_the_last_page() {
    let (last, past, _) = paging(ApiVersion::V2_3).await;
    assert_eq!(past["items"], last["items"]);
    assert_eq!(past["total_count"], 60);
    assert_eq!(past["search_criteria"]["current_page"], 4);
}

#[tokio::test]
async fn echo_envelope_and_key_spellings() {
    let sim = sim(ApiVersion::V2_4).await;
    let v1 = sim.rest_url(None);
    // No pageSize: every row; searchCriteria= means everything; echo has filter_groups only.
    let r = get(&format!("{v1}/customers/search?searchCriteria="))
        .await
        .json();
    assert_eq!(r["items"].as_array().unwrap().len(), 60);
    assert_eq!(
        r["search_criteria"],
        serde_json::json!({"filter_groups": []})
    );
    // camelCase in, snake_case out; condition_type only when sent.
    let r = get(&format!("{v1}/customers/search?searchCriteria[filterGroups][0][filters][0][field]=website_id&searchCriteria[filterGroups][0][filters][0][value]=1&searchCriteria[currentPage]=1")).await.json();
    assert_eq!(
        r["search_criteria"],
        serde_json::json!({"filter_groups": [{"filters": [{"field": "website_id", "value": "1"}]}], "current_page": 1})
    );
    // Missing searchCriteria: 400 "is required".
    let r = get(&format!("{v1}/customers/search")).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        serde_json::json!({"message": "\"%fieldName\" is required. Enter and try again.", "parameters": {"fieldName": "searchCriteria"}})
    );
    // Unknown key: 400 "is not supported".
    let r = get(&format!("{v1}/customers/search?searchCriteria[pageSise]=3")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["parameters"]["fieldName"], "pageSise");
    // Non-integer pageSize: pre-rendered type error.
    let r = get(&format!(
        "{v1}/customers/search?searchCriteria[pageSize]=ten"
    ))
    .await;
    assert_eq!(
        r.json()["message"],
        "The \"ten\" value's type is invalid. The \"int\" type was expected. Verify and try again."
    );
    // Encoded brackets are the same keys.
    let r = get(&format!(
        "{v1}/customers/search?searchCriteria%5BpageSize%5D=2"
    ))
    .await
    .json();
    assert_eq!(r["items"].as_array().unwrap().len(), 2);
    sim.shutdown().await;
}
