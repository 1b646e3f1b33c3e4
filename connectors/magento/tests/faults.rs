//! With the simulator's faults on (errors, latency, dropped connections, lost answers), every
//! record is synchronized exactly once on the remote side and nothing is lost.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use magento_sim::{ApiVersion, Faults};
use serde_json::{Value, json};
use sync_core::registry::ComponentRegistry;
use sync_core::sync::{
    BatchFields, ExportOutcome, ImportDirectly, ImportWindow, RECORD_EXPORTER, RecordExporter,
    binder_for, import_batch,
};
use sync_core::testing::test_databases;
use sync_core::{App, Origin};

/// What a job runner does with a retryable error: try again, up to a bound.
const MAX_TRIES: usize = 40;

#[tokio::test]
async fn exports_under_faults_create_each_customer_exactly_once() {
    for db in test_databases().await.unwrap() {
        let sim = support::simulator(3, 0, 1, 0, ApiVersion::V2_4).await;
        let mut registry = ComponentRegistry::new();
        sync_magento::register(&mut registry);
        let customers = support::documents(&db.storage, &mut registry, &["customer"])
            .await
            .remove(0);
        let backend = support::backend(
            &db.storage,
            &sim,
            "2.4",
            json!({"timeout_secs": 2, "read_retries": 0}),
        )
        .await;
        let app = App::new(registry, db.storage.clone()).await.unwrap();
        let ctx = app.context(backend, "magento.customer");

        let mut ids = Vec::new();
        for i in 0..30 {
            let Value::Object(values) = json!({"email": format!("f{i}@example.com"), "firstname": "F", "lastname": format!("{i}")})
            else {
                unreachable!()
            };
            let mut tx = db.storage.begin().await.unwrap();
            ids.push(
                app.session(&mut tx, Origin::Local)
                    .create(&customers, &values)
                    .await
                    .unwrap(),
            );
            tx.commit().await.unwrap();
        }

        sim.set_faults(Faults {
            latency_ms: 1,
            latency_jitter_ms: 3,
            error_503_rate: 0.15,
            drop_rate: 0.1,
            lost_answer_rate: 0.2,
            retry_after_secs: 0,
            path_contains: Some("/customers".into()),
            ..Faults::none()
        });
        let exporter = ctx
            .component::<dyn RecordExporter>(RECORD_EXPORTER)
            .unwrap();
        let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
        for id in &ids {
            let mut tries = 0;
            let outcome = loop {
                tries += 1;
                match exporter.run(&ctx, *id, None).await {
                    Ok(outcome) => break outcome,
                    Err(e) if e.is_retryable() && tries < MAX_TRIES => continue,
                    Err(e) => panic!("{}: customer {id}: {e}", db.name),
                }
            };
            let kind = match outcome {
                ExportOutcome::Created(_) => "created",
                ExportOutcome::Adopted(_) => "adopted after a lost answer",
                other => panic!("{other:?}"),
            };
            *outcomes.entry(kind).or_default() += 1;
        }
        sim.set_faults(Faults::none());

        // Exactly once: one remote customer per local one, each bound to it.
        assert_eq!(
            sim.state().customers_count(),
            ids.len(),
            "{}: {outcomes:?}",
            db.name
        );
        let mut conn = db.storage.pool().acquire().await.unwrap();
        let binder = binder_for(&ctx).unwrap();
        for (i, id) in ids.iter().enumerate() {
            let external = binder
                .to_external(&mut conn, *id)
                .await
                .unwrap()
                .expect("bound");
            let remote = sim
                .state()
                .customer(external.as_str().parse().unwrap())
                .unwrap();
            assert_eq!(remote.email, format!("f{i}@example.com"));
        }
        drop(conn);
        assert!(
            outcomes.contains_key("adopted after a lost answer"),
            "the faults hit creates: {outcomes:?}"
        );
        sim.shutdown().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn imports_under_faults_lose_nothing() {
    for db in test_databases().await.unwrap() {
        let sim = support::simulator(9, 150, 1, 0, ApiVersion::V2_4).await;
        let mut registry = ComponentRegistry::new();
        sync_magento::register(&mut registry);
        support::documents(
            &db.storage,
            &mut registry,
            &["customer", "customer.group", "website"],
        )
        .await;
        let backend = support::backend(
            &db.storage,
            &sim,
            "2.4",
            json!({"timeout_secs": 2, "page_size": 25}),
        )
        .await;
        let app = App::new(registry, db.storage.clone()).await.unwrap();
        let ctx = app.context(backend, "magento.customer");
        sim.set_faults(Faults {
            latency_ms: 1,
            error_503_rate: 0.1,
            rate_limit_rate: 0.05,
            drop_rate: 0.05,
            retry_after_secs: 0,
            ..Faults::none()
        });
        // A run that meets too many faults reports them and keeps its window start; the next
        // run picks up what was missed.
        let mut since = None;
        let mut runs = 0;
        loop {
            runs += 1;
            let window = ImportWindow::since(since);
            match import_batch(
                &ctx,
                window,
                &BatchFields::default(),
                25,
                Duration::from_secs(60),
                &ImportDirectly,
            )
            .await
            {
                Ok(report) if report.errors.is_empty() => break,
                Ok(report) => since = report.next_since,
                Err(e) if e.is_retryable() => {}
                Err(e) => panic!("{e}"),
            }
            assert!(runs < 20, "{}: too many runs", db.name);
        }
        sim.set_faults(Faults::none());
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM doc_customer")
            .fetch_one(db.storage.pool())
            .await
            .unwrap();
        assert_eq!(n, 150, "{}: every customer once", db.name);
        let mut conn = db.storage.pool().acquire().await.unwrap();
        assert_eq!(
            db.storage
                .bindings()
                .count(&mut conn, ctx.binding_scope())
                .await
                .unwrap(),
            150
        );
        drop(conn);
        sim.shutdown().await;
        db.cleanup().await;
    }
}
