//! `synckit worker --metrics-listen ADDR`: while the worker runs Magento import jobs, a
//! scrape of `/metrics` shows its counters move (jobs, records, HTTP requests, a retry
//! after a 429 and its wait) and the
//! gauges read from the database; on SQLite and PostgreSQL.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use magento_sim::Faults;
use support::{cli, magento};
use synckit::LocalId;
use synckit::queue::{Delayable, Queue};
use synckit::testing::test_databases;

const CUSTOMERS: u32 = 12;

/// The value of the first sample of `name` whose labels include every one of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|line| {
            labels
                .iter()
                .all(|(k, v)| line.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_worker_serves_metrics_that_follow_its_jobs() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let sim = magento(&db, 21, CUSTOMERS, 1).await;
        // The customers' groups first (a customer depends on its group).
        cli(
            &db,
            &[
                "imports",
                "run",
                "--backend",
                "sim",
                "--model",
                "magento.customer.group",
                "--direct",
            ],
        )
        .await
        .unwrap();
        let queue = Queue::with_url(db.storage.clone(), &db.url);
        queue
            .enqueue(
                Delayable::from_parts("test.not_registered", serde_json::json!({}))
                    .unwrap()
                    .max_retries(1),
            )
            .await
            .unwrap();
        let backend = db.storage.backends().by_name("sim").await.unwrap().unwrap();
        let mut conn = db.storage.pool().acquire().await.unwrap();
        db.storage
            .checkpoints()
            .add(
                &mut conn,
                backend.id,
                "res.partner",
                LocalId(1),
                "to review",
            )
            .await
            .unwrap();
        drop(conn);

        let addr = format!("127.0.0.1:{}", free_port());
        let db = Arc::new(db);
        let worker = {
            let db = db.clone();
            let addr = addr.clone();
            tokio::spawn(async move {
                cli(
                    &db,
                    &["worker", "--metrics-listen", &addr, "--poll-ms", "50"],
                )
                .await
            })
        };
        // The first customer search is rate limited (429, Retry-After: 1 s): the client
        // waits and retries it in place.
        sim.set_faults(
            Faults::none()
                .fail_next(1, 429)
                .on_paths_containing("customers/search"),
        );
        // The batch import delays one import job per customer, which the worker runs.
        cli(
            &db,
            &[
                "imports",
                "queue",
                "--backend",
                "sim",
                "--model",
                "magento.customer",
            ],
        )
        .await
        .unwrap();

        let client = reqwest::Client::new();
        let url = format!("http://{addr}/metrics");
        let deadline = Instant::now() + Duration::from_secs(60);
        let text = loop {
            let scraped = match client.get(&url).send().await {
                Ok(answer) => {
                    assert_eq!(answer.status(), 200, "{name}");
                    let content_type = answer.headers()["content-type"].to_str().unwrap();
                    assert!(content_type.starts_with("application/openmetrics-text"));
                    answer.text().await.unwrap()
                }
                Err(_) => String::new(), // not listening yet
            };
            let imported = sample(
                &scraped,
                "synckit_records_total",
                &[
                    ("direction", "import"),
                    ("model", "magento.customer"),
                    ("outcome", "done"),
                ],
            );
            if imported == Some(f64::from(CUSTOMERS)) {
                break scraped;
            }
            assert!(
                Instant::now() < deadline,
                "{name}: the customers' imports were not counted:\n{scraped}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };

        let requests = sample(
            &text,
            "synckit_http_requests_total",
            &[("backend", "sim"), ("status_class", "2xx")],
        );
        assert!(requests.is_some_and(|n| n >= 2.0), "{name}:\n{text}");
        let limited = sample(
            &text,
            "synckit_http_requests_total",
            &[("backend", "sim"), ("status_class", "4xx")],
        );
        assert_eq!(limited, Some(1.0), "{name}:\n{text}");
        let retries = sample(&text, "synckit_http_retries_total", &[("backend", "sim")]);
        assert_eq!(retries, Some(1.0), "{name}:\n{text}");
        let waited = sample(
            &text,
            "synckit_http_wait_seconds_total",
            &[("backend", "sim"), ("reason", "retry_after")],
        );
        assert!(waited.is_some_and(|s| s >= 1.0), "{name}:\n{text}");
        let runs = sample(
            &text,
            "synckit_job_duration_seconds_count",
            &[("function", "synckit.import_record")],
        );
        // At least one try each (on PostgreSQL concurrent jobs importing the same missing
        // dependency may retry).
        assert!(
            runs.is_some_and(|n| n >= f64::from(CUSTOMERS)),
            "{name}:\n{text}"
        );
        let started = sample(
            &text,
            "synckit_job_latency_seconds_count",
            &[("function", "synckit.import_batch")],
        );
        assert_eq!(started, Some(1.0), "{name}:\n{text}");
        let failures = sample(
            &text,
            "synckit_job_failures_total",
            &[("function", "test.not_registered")],
        );
        assert_eq!(failures, Some(1.0), "{name}:\n{text}");
        let failed_jobs = sample(&text, "synckit_jobs", &[("state", "failed")]);
        assert_eq!(failed_jobs, Some(1.0), "{name}:\n{text}");
        let open = sample(
            &text,
            "synckit_checkpoints_open",
            &[("backend", "sim"), ("model", "res.partner")],
        );
        assert_eq!(open, Some(1.0), "{name}:\n{text}");

        // Stopping the worker task stops its server.
        worker.abort();
        let _ = worker.await;
        assert!(
            client.get(&url).send().await.is_err(),
            "{name}: the metrics server outlived its worker"
        );
        sim.shutdown().await;
        Arc::into_inner(db)
            .expect("the worker task let go of the database")
            .cleanup()
            .await;
    }
}
