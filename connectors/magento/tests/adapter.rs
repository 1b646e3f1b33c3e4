//! The REST adapter against the Magento simulator: paging, reads, errors, authentication
//! and retries.

use std::sync::Arc;
use std::time::Duration;

use magento_sim::{ApiVersion, Faults, Simulator};
use serde_json::json;
use sync_core::adapter::{BackendAdapter, Condition, PageRequest, SearchQuery};
use sync_core::backend::Secret;
use sync_core::{ExternalId, SyncError};
use sync_magento::resources::{CUSTOMERS, PRODUCTS, WEBSITES};
use sync_magento::{Credentials, MagentoAdapter, MagentoClient, MagentoSettings};

const TOKEN: &str = "integration-token-for-tests";

fn settings(sim: &Simulator, credentials: Credentials) -> MagentoSettings {
    MagentoSettings {
        base_url: sim.base_url().to_owned(),
        store_code: "default".into(),
        store_codes: vec!["default".into()],
        credentials,
        verify_tls: true,
        timeout: Duration::from_secs(5),
        requests_per_second: 0,
        page_size: 100,
        read_retries: 3,
        conflict_policy: Default::default(),
        order_import_rules: Default::default(),
    }
}

async fn sim(version: ApiVersion) -> Simulator {
    Simulator::builder()
        .seed(7)
        .customers(45)
        .products(12)
        .orders(10)
        .version(version)
        .token(TOKEN)
        .admin_credentials("admin", "admin123")
        .start()
        .await
        .unwrap()
}

fn adapter(sim: &Simulator, resource: sync_magento::resources::Resource) -> MagentoAdapter {
    let client = MagentoClient::new(settings(sim, Credentials::Token(Secret::new(TOKEN)))).unwrap();
    MagentoAdapter::new(Arc::new(client), resource)
}

#[tokio::test]
async fn paging_ends_on_the_total_on_both_versions() {
    for version in [ApiVersion::V2_4, ApiVersion::V2_3] {
        let sim = sim(version).await;
        let customers = adapter(&sim, CUSTOMERS);
        let query = SearchQuery::new().sort_by("id", true);
        let mut page = Some(PageRequest::first(20));
        let mut ids = Vec::new();
        while let Some(request) = page {
            let found = customers.search(&query, request).await.unwrap();
            assert_eq!(found.total, Some(45));
            ids.extend(found.items);
            page = found.next;
        }
        assert_eq!(ids.len(), 45, "{version:?}: every customer once");
        let mut unique = ids.clone();
        unique.dedup();
        assert_eq!(unique.len(), 45);
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn reads_filters_and_missing_records() {
    let sim = sim(ApiVersion::V2_4).await;
    let customers = adapter(&sim, CUSTOMERS);
    let one = customers.read(&ExternalId::from("3")).await.unwrap();
    assert_eq!(one["id"], json!(3));
    let email = one["email"].as_str().unwrap().to_owned();
    let query = SearchQuery::new().filter("email", Condition::Eq, email.clone());
    let found = customers
        .search_read(&query, PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.items[0]["email"], json!(email));

    let err = customers
        .read(&ExternalId::from("999999"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, SyncError::IdMissingInBackend { .. }),
        "{err:?}"
    );

    let products = adapter(&sim, PRODUCTS);
    let page = products
        .search(&SearchQuery::new(), PageRequest::first(5))
        .await
        .unwrap();
    let sku = page.items[0].clone();
    let product = products.read(&sku).await.unwrap();
    assert_eq!(product["sku"], json!(sku.as_str()));

    let websites = adapter(&sim, WEBSITES);
    let all = websites
        .search_read(&SearchQuery::new(), PageRequest::first(100))
        .await
        .unwrap();
    assert!(all.items.iter().any(|w| w["code"] == json!("base")));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_bad_token_fails_and_admin_credentials_get_a_token() {
    let sim = sim(ApiVersion::V2_4).await;
    let wrong =
        MagentoClient::new(settings(&sim, Credentials::Token(Secret::new("nope")))).unwrap();
    let err = MagentoAdapter::new(Arc::new(wrong), CUSTOMERS)
        .read(&ExternalId::from("1"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, SyncError::Failed(_)) && !err.is_retryable(),
        "{err:?}"
    );
    assert!(
        !err.to_string().contains("nope"),
        "the token never shows: {err}"
    );

    let admin = Credentials::Admin {
        username: "admin".into(),
        password: Secret::new("admin123"),
    };
    let client = Arc::new(MagentoClient::new(settings(&sim, admin)).unwrap());
    let customers = MagentoAdapter::new(client.clone(), CUSTOMERS);
    customers.read(&ExternalId::from("1")).await.unwrap();
    // The token is renewed when Magento stops accepting it.
    sim.state().revoke_admin_tokens();
    customers.read(&ExternalId::from("2")).await.unwrap();

    let bad = Credentials::Admin {
        username: "admin".into(),
        password: Secret::new("wrong-pass"),
    };
    let err = MagentoAdapter::new(
        Arc::new(MagentoClient::new(settings(&sim, bad)).unwrap()),
        CUSTOMERS,
    )
    .read(&ExternalId::from("1"))
    .await
    .unwrap_err();
    assert!(!err.to_string().contains("wrong-pass"), "{err}");
    sim.shutdown().await;
}

#[tokio::test]
async fn reads_are_retried_through_429_and_503_and_writes_map_400() {
    let sim = sim(ApiVersion::V2_4).await;
    let customers = adapter(&sim, CUSTOMERS);
    sim.set_faults(Faults {
        fail_next: 2,
        fail_next_status: 503,
        retry_after_secs: 0,
        ..Faults::none()
    });
    customers.read(&ExternalId::from("1")).await.unwrap();
    sim.set_faults(Faults {
        fail_next: 1,
        fail_next_status: 429,
        retry_after_secs: 1,
        ..Faults::none()
    });
    customers.read(&ExternalId::from("1")).await.unwrap();

    // More failures than retries: a retryable network error for the job queue.
    sim.set_faults(Faults {
        fail_next: 10,
        fail_next_status: 500,
        retry_after_secs: 0,
        ..Faults::none()
    });
    let err = customers.read(&ExternalId::from("1")).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    sim.set_faults(Faults::none());

    // Invalid input: 400 with Magento's message, naming the field.
    let mut payload = sync_core::values::Values::new();
    payload.insert("firstname".into(), json!("No"));
    let err = customers.create(&payload).await.unwrap_err();
    assert!(matches!(err, SyncError::InvalidData { .. }), "{err:?}");
    sim.shutdown().await;
}
