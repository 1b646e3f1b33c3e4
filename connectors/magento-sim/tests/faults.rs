//! Fault injection: latency, 500/503, 429 with Retry-After, hangs, dropped connections, set
//! from the builder, the library handle and the `/__sim/faults` endpoint.

mod common;

use common::*;
use magento_sim::{ApiVersion, Faults, Simulator};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn fail_next_gives_deterministic_errors_then_recovers() {
    let sim = sim(ApiVersion::V2_4).await;
    let url = format!("{}/customers/1", sim.rest_url(None));
    sim.set_faults(Faults::none().fail_next(2, 503));
    let r = get(&url).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.headers["retry-after"], "1");
    assert_eq!(get(&url).await.status, 503);
    assert_eq!(get(&url).await.status, 200);
    sim.set_faults(Faults::none().fail_next(1, 500));
    let r = get(&url).await;
    assert_eq!(r.status, 500);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("Internal Error.")
    );
    sim.set_faults(Faults::none().with_rate_limit(1.0, 7));
    let r = get(&url).await;
    assert_eq!(
        (r.status, r.json()),
        (429, json!({"message": "Too Many Requests", "trace": null}))
    );
    assert_eq!(r.headers["retry-after"], "7");
    // Faulted requests are counted apart from served ones.
    let stats = sim.state().request_stats();
    assert_eq!(stats.by_route["GET /V1/customers/{customerId}"], 1);
    assert_eq!(stats.faults["error_503"], 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn latency_hang_and_drop() {
    let sim = Simulator::builder()
        .token(TOKEN)
        .customers(5)
        .faults(Faults::none().with_latency(150))
        .start()
        .await
        .unwrap();
    let url = format!("{}/customers/1", sim.rest_url(None));
    let t = Instant::now();
    assert_eq!(get(&url).await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(150));
    // A hanging request outlives the client's timeout.
    sim.set_faults(Faults::none().with_hang(1.0, 5_000));
    let r = get_timeout(&url, Duration::from_millis(300)).await;
    assert_eq!(r.unwrap_err(), "timeout");
    // A dropped connection: no answer at all.
    sim.set_faults(Faults::none().with_drop_rate(1.0));
    let r = get_timeout(&url, Duration::from_secs(5)).await;
    assert!(r.is_err() && r.unwrap_err() != "timeout");
    // Faults only touch /rest: the admin API still answers, and clears them.
    let r = send(
        "DELETE",
        &format!("{}/__sim/faults", sim.base_url()),
        &[],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(get(&url).await.status, 200);
    // Shutdown stays prompt even with a request hanging.
    sim.set_faults(Faults::none().with_hang(1.0, 60_000));
    let hang_url = url.clone();
    let hung = tokio::spawn(async move { get_timeout(&hang_url, Duration::from_secs(30)).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t = Instant::now();
    sim.shutdown().await;
    assert!(t.elapsed() < Duration::from_secs(5));
    let _ = hung.await;
}

#[tokio::test]
async fn faults_endpoint_and_rates() {
    let sim = sim(ApiVersion::V2_4).await;
    let base = sim.base_url().to_string();
    let r = send(
        "PUT",
        &format!("{base}/__sim/faults"),
        &[("content-type", "application/json")],
        Some(json!({"error_500_rate": 0.5, "path_contains": "/orders"}).to_string()),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text);
    let r = send("GET", &format!("{base}/__sim/faults"), &[], None)
        .await
        .unwrap();
    assert_eq!(r.json()["error_500_rate"], 0.5);
    let mut errors = 0;
    for i in 1..=200 {
        if get(&format!("{base}/rest/V1/orders/{}", 1 + i % 100))
            .await
            .status
            == 500
        {
            errors += 1;
        }
    }
    assert!((60..140).contains(&errors), "{errors}");
    // Other paths are not affected.
    for _ in 0..20 {
        assert_eq!(
            get(&format!("{base}/rest/V1/customers/1")).await.status,
            200
        );
    }
    let r = send(
        "PUT",
        &format!("{base}/__sim/faults"),
        &[("content-type", "application/json")],
        Some(json!({"drop_rate": 2}).to_string()),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 400);
    let r = send(
        "PUT",
        &format!("{base}/__sim/faults"),
        &[("content-type", "application/json")],
        Some(json!({"bogus": 1}).to_string()),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 400);
    sim.shutdown().await;
}
