//! Two-way customers: changes on both sides merged field by field, conflicts settled by each
//! policy, unsettled ones left as checkpoints; local changes delayed as export jobs in the
//! writer's transaction; on SQLite and PostgreSQL.

mod support;

use magento_sim::{ApiVersion, Simulator};
use serde_json::{Value, json};
use sync_core::local::LocalRepository;
use sync_core::queue::{JobFilter, JobRegistry, Worker};
use sync_core::registry::ComponentRegistry;
use sync_core::storage::{CheckpointFilter, CheckpointState};
use sync_core::sync::{
    ImportOutcome, RECORD_IMPORTER, RecordImporter, binder_for, register_sync_jobs,
};
use sync_core::testing::{DocumentRepository, TestDatabase, test_databases};
use sync_core::values::Values;
use sync_core::{App, ExternalId, LocalId, Origin, WorkContext};

const REMOTE_ID: u32 = 4;

struct Shop {
    db: TestDatabase,
    sim: Simulator,
    app: App,
    customers: DocumentRepository,
    ctx: WorkContext,
}

async fn shop(db: TestDatabase, policy: &str) -> Shop {
    let sim = support::simulator(21, 8, 1, 0, ApiVersion::V2_4).await;
    let mut registry = ComponentRegistry::new();
    sync_magento::register(&mut registry);
    let customers = support::documents(
        &db.storage,
        &mut registry,
        &["customer", "customer.group", "website"],
    )
    .await
    .into_iter()
    .next();
    let backend =
        support::backend(&db.storage, &sim, "2.4", json!({"conflict_policy": policy})).await;
    let app = App::new(registry, db.storage.clone()).await.unwrap();
    let ctx = app.context(backend, "magento.customer");
    Shop {
        db,
        sim,
        app,
        customers: customers.unwrap(),
        ctx,
    }
}

impl Shop {
    async fn import(&self) -> ImportOutcome {
        let importer = self
            .ctx
            .component::<dyn RecordImporter>(RECORD_IMPORTER)
            .unwrap();
        importer
            .run(&self.ctx, &ExternalId::from(i64::from(REMOTE_ID)), false)
            .await
            .unwrap()
    }

    async fn local_id(&self) -> LocalId {
        let mut conn = self.db.storage.pool().acquire().await.unwrap();
        binder_for(&self.ctx)
            .unwrap()
            .to_internal(&mut conn, &ExternalId::from(i64::from(REMOTE_ID)))
            .await
            .unwrap()
            .unwrap()
    }

    async fn local(&self) -> Values {
        let id = self.local_id().await;
        let mut conn = self.db.storage.pool().acquire().await.unwrap();
        self.customers.get(&mut conn, id).await.unwrap().unwrap()
    }

    async fn write_local(&self, values: Value) {
        let Value::Object(values) = values else {
            unreachable!()
        };
        let id = self.local_id().await;
        let mut tx = self.db.storage.begin().await.unwrap();
        self.app
            .session(&mut tx, Origin::Local)
            .write(&self.customers, id, &values)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    fn edit_remote(&self, firstname: Option<&str>, lastname: Option<&str>) {
        self.sim.state().edit_customer(REMOTE_ID, |c| {
            if let Some(f) = firstname {
                c.firstname = f.to_owned();
            }
            if let Some(l) = lastname {
                c.lastname = l.to_owned();
            }
        });
    }

    async fn run_workers(&self) {
        let mut jobs = JobRegistry::new();
        register_sync_jobs(&mut jobs);
        Worker::builder(self.app.queue().clone(), jobs)
            .data(self.app.clone())
            .build()
            .run_until_idle()
            .await
            .unwrap();
    }

    async fn finish(self) {
        self.sim.shutdown().await;
        self.db.cleanup().await;
    }
}

#[tokio::test]
async fn one_sided_changes_merge_both_ways_and_the_import_does_not_echo() {
    for db in test_databases().await.unwrap() {
        let shop = shop(db, "field_merge").await;
        shop.import().await;
        // Importing wrote the customer locally without delaying any export (no echo).
        assert!(
            shop.app
                .queue()
                .list_jobs(&JobFilter::default())
                .await
                .unwrap()
                .is_empty(),
            "{}",
            shop.db.name
        );

        // The back office changes the last name; the shop admin changes the first name.
        shop.write_local(json!({"lastname": "Local-Last"})).await;
        assert_eq!(
            shop.app
                .queue()
                .list_jobs(&JobFilter::default())
                .await
                .unwrap()
                .len(),
            1,
            "export delayed"
        );
        shop.edit_remote(Some("Remote-First"), None);

        let outcome = shop.import().await;
        assert!(
            matches!(&outcome, ImportOutcome::Updated { pending_export, conflicts, .. }
            if pending_export == &["lastname"] && conflicts.is_empty()),
            "{outcome:?}"
        );
        let local = shop.local().await;
        assert_eq!(
            local["firstname"],
            json!("Remote-First"),
            "the remote change came in"
        );
        assert_eq!(
            local["lastname"],
            json!("Local-Last"),
            "the local change was kept"
        );

        // The export job sends the local change.
        shop.run_workers().await;
        let remote = shop.sim.state().customer(REMOTE_ID).unwrap();
        assert_eq!(
            (remote.firstname.as_str(), remote.lastname.as_str()),
            ("Remote-First", "Local-Last")
        );
        // Magento stamped our export; importing it back finds nothing new on either side.
        let again = shop.import().await;
        assert!(
            matches!(again, ImportOutcome::UpToDate(_)),
            "{}: {again:?}",
            shop.db.name
        );
        shop.finish().await;
    }
}

async fn conflict(policy: &str, db: TestDatabase, local_newer: bool) -> (Shop, Values) {
    let shop = shop(db, policy).await;
    shop.import().await;
    let stamp = if local_newer {
        "2999-01-01T00:00:00Z"
    } else {
        "2000-01-01T00:00:00Z"
    };
    shop.write_local(json!({"firstname": "Local-First", "updated_at": stamp}))
        .await;
    shop.edit_remote(Some("Remote-First"), None);
    shop.import().await;
    let local = shop.local().await;
    (shop, local)
}

#[tokio::test]
async fn conflicts_follow_each_policy() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let (shop, local) = conflict("remote_wins", db, true).await;
        assert_eq!(
            local["firstname"],
            json!("Remote-First"),
            "{name}: remote wins"
        );
        shop.finish().await;
    }
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let (shop, local) = conflict("local_wins", db, false).await;
        assert_eq!(
            local["firstname"],
            json!("Local-First"),
            "{name}: local wins"
        );
        shop.run_workers().await;
        assert_eq!(
            shop.sim.state().customer(REMOTE_ID).unwrap().firstname,
            "Local-First",
            "{name}: and is exported"
        );
        shop.finish().await;
    }
    for (local_newer, expected) in [(true, "Local-First"), (false, "Remote-First")] {
        for db in test_databases().await.unwrap() {
            let name = db.name;
            let (shop, local) = conflict("newest_wins", db, local_newer).await;
            assert_eq!(
                local["firstname"],
                json!(expected),
                "{name}: newest wins (local newer: {local_newer})"
            );
            shop.finish().await;
        }
    }
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let (shop, local) = conflict("field_merge", db, true).await;
        assert_eq!(
            local["firstname"],
            json!("Local-First"),
            "{name}: neither side overwritten"
        );
        let checkpoints = shop
            .db
            .storage
            .checkpoints()
            .list(&CheckpointFilter {
                state: Some(CheckpointState::NeedReview),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(checkpoints.len(), 1, "{name}");
        assert!(
            checkpoints[0].message.contains("firstname"),
            "{}",
            checkpoints[0].message
        );
        // The queued export of the local change does not overwrite the admin's value either.
        shop.run_workers().await;
        let remote = shop.sim.state().customer(REMOTE_ID).unwrap();
        assert_eq!(remote.firstname, "Remote-First", "{name}");
        shop.finish().await;
    }
}

#[tokio::test]
async fn an_export_that_runs_before_the_import_merges_the_remote_change_first() {
    for (policy, expected) in [
        ("remote_wins", "Remote-First"),
        ("local_wins", "Local-First"),
    ] {
        for db in test_databases().await.unwrap() {
            let name = db.name;
            let shop = shop(db, policy).await;
            shop.import().await;
            // Both sides change the first name; only the admin changes the last name. No
            // import runs before the queued export does.
            shop.write_local(json!({"firstname": "Local-First"})).await;
            shop.edit_remote(Some("Remote-First"), Some("Remote-Last"));
            shop.run_workers().await;

            let remote = shop.sim.state().customer(REMOTE_ID).unwrap();
            assert_eq!(
                remote.firstname, expected,
                "{name} {policy}: the policy settled it"
            );
            assert_eq!(
                remote.lastname, "Remote-Last",
                "{name} {policy}: the admin's change was not overwritten"
            );
            let local = shop.local().await;
            assert_eq!(local["firstname"], json!(expected), "{name} {policy}");
            assert_eq!(
                local["lastname"],
                json!("Remote-Last"),
                "{name} {policy}: the admin's change came in"
            );
            shop.finish().await;
        }
    }
}
