//! Listeners subscribe to custom events sent with `ctx.notify("on_…", payload)`: the jobs
//! they delay commit with the sender's transaction, and the origin rule applies. On SQLite
//! and PostgreSQL.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::json;
use sqlx::AnyConnection;
use sync_core::backend::{BackendKind, NewBackend};
use sync_core::local::{CustomEvent, Listener};
use sync_core::queue::JobFilter;
use sync_core::queue::JobFunction;
use sync_core::registry::{ApplyOn, ComponentRegistry};
use sync_core::sync::{ExportRecordArgs, ExportRecordJob};
use sync_core::testing::test_databases;
use sync_core::{App, LocalId, Origin, SyncResult, WorkContext};

/// Delays an export of the paid order when `on_order_paid` arrives; records what it saw.
#[derive(Default)]
struct PaidOrders(Mutex<Vec<String>>);

#[async_trait]
impl Listener for PaidOrders {
    async fn on_event(
        &self,
        ctx: &WorkContext,
        conn: &mut AnyConnection,
        event: &CustomEvent,
    ) -> SyncResult<()> {
        self.0.lock().unwrap().push(format!(
            "{} {} {}",
            ctx.backend().name,
            event.name,
            event.payload
        ));
        if event.name != "on_order_paid" {
            return Ok(());
        }
        let job = ExportRecordJob::with_args(ExportRecordArgs {
            backend_id: ctx.backend().id,
            model: "sale.order".into(),
            local_id: LocalId(event.payload["order_id"].as_i64().unwrap_or_default()),
            fields: None,
        })?;
        ctx.queue().delay(conn, job).await?;
        Ok(())
    }
}

async fn export_jobs(app: &App) -> usize {
    app.queue()
        .list_jobs(&JobFilter {
            name: Some("synckit.export_record".into()),
            ..JobFilter::default()
        })
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn listeners_receive_custom_events_in_the_senders_transaction() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let listener = Arc::new(PaidOrders::default());
        let mut registry = ComponentRegistry::new();
        registry.add_kind(BackendKind::root("memory"));
        registry.register::<dyn Listener>(
            ApplyOn::kind("memory").model("sale.order"),
            "event.listener",
            listener.clone() as Arc<dyn Listener>,
        );
        let backends = db.storage.backends();
        let shop = backends
            .create(NewBackend::new("memory", "shop"))
            .await
            .unwrap();
        let market = backends
            .create(NewBackend::new("memory", "market"))
            .await
            .unwrap();
        let app = App::new(registry, db.storage.clone()).await.unwrap();
        // Sent by the local application (e.g. a payment recorded by a user): every backend's
        // listeners hear it.
        let ctx = app
            .context(shop.clone(), "sale.order")
            .with_origin(Origin::Local);

        // Rolled back with the sender's transaction: no job.
        let mut tx = db.storage.begin().await.unwrap();
        ctx.notify_in(&mut tx, "on_order_paid", json!({"order_id": 7}))
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(export_jobs(&app).await, 0, "{name}");
        assert_eq!(
            listener.0.lock().unwrap().len(),
            2,
            "{name}: both backends heard it"
        );

        // Committed: one job per backend.
        let mut tx = db.storage.begin().await.unwrap();
        ctx.notify_in(&mut tx, "on_order_paid", json!({"order_id": 7}))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(export_jobs(&app).await, 2, "{name}");

        // Without a transaction, notify commits its own.
        ctx.notify("on_order_paid", json!({"order_id": 8}))
            .await
            .unwrap();
        assert_eq!(export_jobs(&app).await, 4, "{name}");

        // The origin rule: an event sent by the shop's own sync (a context's default origin
        // is its backend) does not go back to the shop.
        listener.0.lock().unwrap().clear();
        app.context(shop.clone(), "sale.order")
            .notify("on_order_shipped", json!({"order_id": 9}))
            .await
            .unwrap();
        let heard = listener.0.lock().unwrap().clone();
        assert_eq!(
            heard,
            vec![format!(
                "{} on_order_shipped {{\"order_id\":9}}",
                market.name
            )],
            "{name}"
        );

        // Names are checked: custom events are `on_…` and not the record events.
        for bad in ["order_paid", "on_", "on_record_write"] {
            let refused = ctx.notify(bad, json!({})).await;
            assert!(
                matches!(&refused, Err(e) if e.to_string().contains(bad)),
                "{name}: {bad}: {refused:?}"
            );
        }
        db.cleanup().await;
    }
}
