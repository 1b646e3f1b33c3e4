//! The Grafana dashboard in `docs/grafana/synckit.json` uses exactly the metrics Synckit
//! exposes: every name in its queries is a sample of the exposition, and every family of
//! the exposition has a panel. On SQLite and PostgreSQL (the gauges come from the database).

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use synckit::LocalId;
use synckit::backend::NewBackend;
use synckit::metrics::{Direction, JobEnd, Metrics, RecordOutcome, WaitReason};
use synckit::queue::{Delayable, Queue};
use synckit::testing::test_databases;

const DASHBOARD: &str = include_str!("../docs/grafana/synckit.json");

/// Every `synckit_…` name in the dashboard's queries.
fn dashboard_names() -> BTreeSet<String> {
    let dashboard: Value = serde_json::from_str(DASHBOARD).expect("the dashboard is JSON");
    let mut names = BTreeSet::new();
    let panels = dashboard["panels"]
        .as_array()
        .expect("the dashboard has panels");
    for panel in panels {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"]
                .as_str()
                .expect("each query has an expression");
            let mut rest = expr;
            while let Some(at) = rest.find("synckit_") {
                let tail = &rest[at..];
                let end = tail
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(tail.len());
                names.insert(tail[..end].to_owned());
                rest = &tail[end..];
            }
        }
    }
    names
}

/// The sample names of an exposition, and its families (`# TYPE` lines).
fn exposition(text: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut samples = BTreeSet::new();
    let mut families = BTreeSet::new();
    for line in text.lines() {
        if let Some(family) = line.strip_prefix("# TYPE ") {
            families.insert(family.split(' ').next().unwrap_or_default().to_owned());
        } else if !line.starts_with('#') && !line.is_empty() {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            samples.insert(line[..end].to_owned());
        }
    }
    (samples, families)
}

#[tokio::test]
async fn the_dashboard_uses_exactly_the_exposed_metrics() {
    let used = dashboard_names();
    assert!(!used.is_empty());
    for db in test_databases().await.unwrap() {
        let name = db.name;
        // One of everything, so that every family has samples.
        let queue = Queue::new(db.storage.clone());
        queue
            .enqueue(Delayable::from_parts("synckit.noop", serde_json::json!({})).unwrap())
            .await
            .unwrap();
        let backend = db
            .storage
            .backends()
            .create(NewBackend::new("shop", "shop"))
            .await
            .unwrap();
        let mut conn = db.storage.pool().acquire().await.unwrap();
        db.storage
            .checkpoints()
            .add(
                &mut conn,
                backend.id,
                "res.partner",
                LocalId(1),
                "a conflict",
            )
            .await
            .unwrap();
        drop(conn);
        let metrics = Metrics::new();
        let took = Duration::from_millis(5);
        metrics.job_started("f", "root", took);
        metrics.job_finished("f", "root", took, JobEnd::Retried);
        metrics.job_finished("f", "root", took, JobEnd::Failed);
        let http = metrics.http("shop");
        http.response(200, took);
        http.retry();
        http.wait(WaitReason::Throttle, took);
        metrics.record(Direction::Import, "m", RecordOutcome::Done);
        metrics.conflict("m");

        let text = metrics.render(&db.storage).await.unwrap();
        let (samples, families) = exposition(&text);
        for used in &used {
            assert!(
                samples.contains(used),
                "{name}: the dashboard uses {used}, which the exposition does not have:\n{text}"
            );
        }
        for family in &families {
            assert!(
                used.iter().any(|u| u.starts_with(family.as_str())),
                "{name}: no panel shows {family}"
            );
        }
        db.cleanup().await;
    }
}
