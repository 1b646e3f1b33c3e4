//! Change capture on both databases: raw SQL from any writer is exported, declared columns
//! only; an import's own writes are not echoed; a `LocalSession` write yields one event; a
//! rolled-back transaction leaves none; bad declarations are refused whole; per-record order
//! holds under concurrent writers.

mod capture_support;

use capture_support::{Customers, customers_declaration, events, fixture, outbox_len};
use sqlx::AssertSqlSafe;
use sync_core::Origin;
use sync_core::capture::{CaptureDeclaration, Captures, Dispatcher};
use sync_core::storage::Dialect;
use sync_core::testing::test_databases;
use sync_core::values::Values;

fn row(backend: i64, id: i64, kind: &str, fields: &str) -> (i64, i64, String, String, String) {
    (backend, id, kind.into(), fields.into(), "Local".into())
}

#[tokio::test]
async fn raw_sql_insert_update_and_delete_are_exported_with_declared_columns_only() {
    for db in test_databases().await.unwrap() {
        let (app, a, b) = fixture(&db).await;
        let pool = db.storage.pool();
        sqlx::query("INSERT INTO customers (email, lastname) VALUES ('ada@example.com', 'Byron')")
            .execute(pool)
            .await
            .unwrap();
        let dispatcher = Dispatcher::new(app.clone());
        dispatcher.dispatch_pending().await.unwrap();
        let all = "email,firstname,lastname,version";
        assert_eq!(
            events(&db.storage).await,
            vec![row(a.0, 1, "create", all), row(b.0, 1, "create", all)],
            "{}",
            db.name
        );

        // Not a declared column: nothing. The same value again: nothing.
        sqlx::query("UPDATE customers SET note = 'vip' WHERE id = 1")
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("UPDATE customers SET lastname = 'Byron' WHERE id = 1")
            .execute(pool)
            .await
            .unwrap();
        assert_eq!(outbox_len(&db.storage).await, 0, "{}", db.name);

        sqlx::query("UPDATE customers SET lastname = 'Lovelace', note = 'x' WHERE id = 1")
            .execute(pool)
            .await
            .unwrap();
        let (changes,): (String,) = sqlx::query_as("SELECT changes FROM synckit_capture_outbox")
            .fetch_one(pool)
            .await
            .unwrap();
        let changes: serde_json::Value = serde_json::from_str(&changes).unwrap();
        assert_eq!(
            changes,
            serde_json::json!({"lastname": {"old": "Byron", "new": "Lovelace"}}),
            "{}",
            db.name
        );
        dispatcher.dispatch_pending().await.unwrap();
        sqlx::query("DELETE FROM customers WHERE id = 1")
            .execute(pool)
            .await
            .unwrap();
        dispatcher.dispatch_pending().await.unwrap();
        assert_eq!(
            events(&db.storage).await[2..],
            [
                row(a.0, 1, "write", "lastname"),
                row(b.0, 1, "write", "lastname"),
                row(a.0, 1, "unlink", ""),
                row(b.0, 1, "unlink", ""),
            ],
            "{}",
            db.name
        );
        assert_eq!(outbox_len(&db.storage).await, 0, "{}", db.name);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn changes_waiting_together_merge_into_one_event_with_the_union_of_fields() {
    for db in test_databases().await.unwrap() {
        let (app, a, _b) = fixture(&db).await;
        let pool = db.storage.pool();
        sqlx::query("INSERT INTO customers (email) VALUES ('ada@example.com')")
            .execute(pool)
            .await
            .unwrap();
        Dispatcher::new(app.clone())
            .dispatch_pending()
            .await
            .unwrap();
        for sql in [
            "UPDATE customers SET lastname = 'Lovelace' WHERE id = 1",
            "UPDATE customers SET firstname = 'Ada' WHERE id = 1",
            "UPDATE customers SET lastname = 'King' WHERE id = 1",
        ] {
            sqlx::query(sql).execute(pool).await.unwrap();
        }
        Dispatcher::new(app).dispatch_pending().await.unwrap();
        let writes: Vec<_> = events(&db.storage)
            .await
            .into_iter()
            .filter(|e| e.0 == a.0 && e.2 == "write")
            .collect();
        assert_eq!(
            writes,
            [row(a.0, 1, "write", "firstname,lastname")],
            "{}",
            db.name
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_imports_own_writes_are_not_echoed_and_a_session_write_is_one_event() {
    for db in test_databases().await.unwrap() {
        let (app, a, b) = fixture(&db).await;
        // An import from backend a writes through a session with origin a.
        let mut tx = db.storage.begin().await.unwrap();
        let mut session = app.session(&mut tx, Origin::Backend(a));
        let mut values = Values::new();
        values.insert("email".into(), "ada@example.com".into());
        let id = session.create(&Customers, &values).await.unwrap();
        let mut values = Values::new();
        values.insert("lastname".into(), "Lovelace".into());
        session.write(&Customers, id, &values).await.unwrap();
        tx.commit().await.unwrap();
        // The trigger's rows were left to the session: nothing more to dispatch.
        assert_eq!(outbox_len(&db.storage).await, 0, "{}", db.name);
        Dispatcher::new(app.clone())
            .dispatch_pending()
            .await
            .unwrap();
        let seen = events(&db.storage).await;
        let origin = format!("{:?}", Origin::Backend(a));
        assert_eq!(
            seen,
            [
                (b.0, id.0, "create".into(), "email".into(), origin.clone()),
                (b.0, id.0, "write".into(), "lastname".into(), origin),
            ],
            "{}: only b hears of a's import, once per change",
            db.name
        );

        // After the import's transaction, a plain write is local again: both hear it.
        sqlx::query("UPDATE customers SET firstname = 'Ada'")
            .execute(db.storage.pool())
            .await
            .unwrap();
        Dispatcher::new(app.clone())
            .dispatch_pending()
            .await
            .unwrap();
        let seen = events(&db.storage).await;
        assert_eq!(
            seen[2..],
            [
                row(a.0, id.0, "write", "firstname"),
                row(b.0, id.0, "write", "firstname"),
            ],
            "{}",
            db.name
        );

        // A local session write: one event per backend, not two.
        let mut tx = db.storage.begin().await.unwrap();
        let mut session = app.session(&mut tx, Origin::Local);
        session.unlink(&Customers, id).await.unwrap();
        tx.commit().await.unwrap();
        Dispatcher::new(app).dispatch_pending().await.unwrap();
        assert_eq!(
            events(&db.storage).await[4..],
            [row(a.0, id.0, "unlink", ""), row(b.0, id.0, "unlink", "")],
            "{}",
            db.name
        );
        assert_eq!(outbox_len(&db.storage).await, 0, "{}", db.name);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_rolled_back_transaction_leaves_no_event() {
    for db in test_databases().await.unwrap() {
        let (app, _a, _b) = fixture(&db).await;
        let mut tx = db.storage.begin().await.unwrap();
        sqlx::query("INSERT INTO customers (email) VALUES ('ada@example.com')")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        let stats = Dispatcher::new(app).dispatch_pending().await.unwrap();
        assert_eq!(stats.rows, 0, "{}", db.name);
        assert!(events(&db.storage).await.is_empty(), "{}", db.name);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_record_waiting_after_a_listener_error_keeps_its_later_changes_behind() {
    for db in test_databases().await.unwrap() {
        let (app, a, _b) = fixture(&db).await;
        let pool = db.storage.pool();
        for email in ["ada@example.com", "bob@example.com"] {
            sqlx::query("INSERT INTO customers (email) VALUES ($1)")
                .bind(email)
                .execute(pool)
                .await
                .unwrap();
        }
        let dispatcher = Dispatcher::new(app);
        dispatcher.dispatch_pending().await.unwrap();
        // The outbox is empty now: on SQLite its next ids start again from the lowest.
        assert_eq!(outbox_len(&db.storage).await, 0, "{}", db.name);
        let run = |sql: &'static str| async move {
            sqlx::query(sql).execute(pool).await.unwrap();
        };

        // Customer 1's export fails: its change waits with the error.
        run("UPDATE customers SET note = 'fail' WHERE id = 1").await;
        run("UPDATE customers SET lastname = 'Lovelace' WHERE id = 1").await;
        let stats = dispatcher.dispatch_pending().await.unwrap();
        assert_eq!((stats.rows, stats.failed), (0, 1), "{}", db.name);
        let (waiting, attempts): (i64, i64) =
            sqlx::query_as("SELECT id, attempts FROM synckit_capture_outbox WHERE retry_at > 0")
                .fetch_one(pool)
                .await
                .unwrap();
        assert_eq!(attempts, 1, "{}", db.name);

        // The remote is back, customer 1 changes again and so does customer 2: customer 2
        // goes out, customer 1's later change stays behind its waiting one.
        run("UPDATE customers SET note = NULL WHERE id = 1").await;
        run("UPDATE customers SET firstname = 'Ada' WHERE id = 1").await;
        run("UPDATE customers SET lastname = 'Brown' WHERE id = 2").await;
        let stats = dispatcher.dispatch_pending().await.unwrap();
        assert_eq!(stats.rows, 1, "{}", db.name);
        let later: Vec<(i64,)> =
            sqlx::query_as("SELECT id FROM synckit_capture_outbox WHERE retry_at = 0")
                .fetch_all(pool)
                .await
                .unwrap();
        assert_eq!(later.len(), 1, "{}", db.name);
        assert!(later[0].0 > waiting, "{}: ids in commit order", db.name);
        let writes = |all: Vec<(i64, i64, String, String, String)>| -> Vec<_> {
            all.into_iter()
                .filter(|e| e.0 == a.0 && e.2 == "write")
                .collect()
        };
        assert_eq!(
            writes(events(&db.storage).await),
            [row(a.0, 2, "write", "lastname")],
            "{}",
            db.name
        );

        // Its retry comes due: both changes go out as one write, the waiting one first.
        run("UPDATE synckit_capture_outbox SET retry_at = 1 WHERE retry_at > 0").await;
        let stats = dispatcher.dispatch_pending().await.unwrap();
        assert_eq!((stats.rows, stats.events), (2, 1), "{}", db.name);
        assert_eq!(
            writes(events(&db.storage).await),
            [
                row(a.0, 2, "write", "lastname"),
                row(a.0, 1, "write", "firstname,lastname"),
            ],
            "{}",
            db.name
        );
        assert_eq!(outbox_len(&db.storage).await, 0, "{}", db.name);
        db.cleanup().await;
    }
}

async fn installed_triggers(db: &sync_core::testing::TestDatabase) -> i64 {
    let sql = match db.dialect() {
        Dialect::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'synckit_capture%'"
        }
        Dialect::Postgres => {
            "SELECT COUNT(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND t.tgname LIKE 'synckit_capture%'"
        }
    };
    let (n,): (i64,) = sqlx::query_as(AssertSqlSafe(sql))
        .fetch_one(db.storage.pool())
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn bad_declarations_are_refused_by_name_and_install_nothing() {
    for db in test_databases().await.unwrap() {
        capture_support::create_tables(&db.storage).await;
        let captures = Captures::new(&db.storage);
        let cases = [
            (
                CaptureDeclaration::new("customer", "clients", "id").columns(["email"]),
                "table `clients` does not exist",
            ),
            (
                CaptureDeclaration::new("customer", "customers", "customer_id").columns(["email"]),
                "no key column `customer_id`",
            ),
            (
                CaptureDeclaration::new("customer", "customers", "id").columns(["email", "phone"]),
                "no column `phone`",
            ),
            (
                CaptureDeclaration::new("customer", "customers", "email").columns(["lastname"]),
                "key column `email` of table `customers` is of type",
            ),
            (
                CaptureDeclaration::new("customer", "customers", "id").columns(["email; --"]),
                "column `email; --`",
            ),
        ];
        for (declaration, expected) in cases {
            let error = captures.add(&declaration).await.unwrap_err().to_string();
            assert!(error.contains(expected), "{}: {error}", db.name);
            assert!(error.contains("model `customer`"), "{}: {error}", db.name);
        }
        assert!(captures.list().await.unwrap().is_empty(), "{}", db.name);
        assert_eq!(installed_triggers(&db).await, 0, "{}", db.name);

        // A good one installs; removing it drops the triggers and stops the capture.
        captures.add(&customers_declaration()).await.unwrap();
        assert!(installed_triggers(&db).await > 0, "{}", db.name);
        // Declaring the same again (as a program does at each start) installs nothing anew.
        let installed_at = || async {
            let (at,): (i64,) =
                sqlx::query_as("SELECT installed_at FROM synckit_capture_declarations")
                    .fetch_one(db.storage.pool())
                    .await
                    .unwrap();
            at
        };
        let first = installed_at().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        captures.add(&customers_declaration()).await.unwrap();
        assert_eq!(installed_at().await, first, "{}", db.name);
        let listed = captures.list().await.unwrap();
        assert_eq!(
            listed[0].declaration,
            customers_declaration(),
            "{}",
            db.name
        );
        assert!(captures.remove("customer").await.unwrap(), "{}", db.name);
        assert!(!captures.remove("customer").await.unwrap(), "{}", db.name);
        assert_eq!(installed_triggers(&db).await, 0, "{}", db.name);
        sqlx::query("INSERT INTO customers (email) VALUES ('ada@example.com')")
            .execute(db.storage.pool())
            .await
            .unwrap();
        assert_eq!(outbox_len(&db.storage).await, 0, "{}", db.name);
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_record_order_holds_under_concurrent_writers() {
    for db in test_databases().await.unwrap() {
        let (app, a, _b) = fixture(&db).await;
        let pool = db.storage.pool().clone();
        for _ in 0..3 {
            sqlx::query("INSERT INTO customers (email) VALUES ('x@example.com')")
                .execute(&pool)
                .await
                .unwrap();
        }
        // Four writers bump the version of the same three records, each in its own
        // transaction, while a dispatcher runs with small batches.
        let stop = std::sync::Arc::new(tokio::sync::Notify::new());
        let dispatcher = {
            let stop = stop.clone();
            let d = Dispatcher::new(app.clone())
                .batch_size(3)
                .poll_interval(std::time::Duration::from_millis(5));
            tokio::spawn(async move { d.run_until(stop.notified()).await })
        };
        let mut writers = Vec::new();
        for _ in 0..4 {
            let storage = db.storage.clone();
            writers.push(tokio::spawn(async move {
                for i in 0..30 {
                    let mut tx = storage.begin().await.unwrap();
                    sqlx::query("UPDATE customers SET version = version + 1 WHERE id = $1")
                        .bind(i % 3 + 1)
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                    tx.commit().await.unwrap();
                }
            }));
        }
        for writer in writers {
            writer.await.unwrap();
        }
        // The outbox rows of each record, in id order, carry versions in commit order.
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT record_key, changes FROM synckit_capture_outbox ORDER BY id")
                .fetch_all(&pool)
                .await
                .unwrap();
        let mut last = std::collections::HashMap::<String, i64>::new();
        for (key, changes) in rows {
            let changes: serde_json::Value = serde_json::from_str(&changes).unwrap();
            let version = changes["version"]["new"].as_i64().unwrap();
            let previous = last.insert(key.clone(), version).unwrap_or(0);
            assert!(
                version > previous,
                "{}: record {key} v{version} after v{previous}",
                db.name
            );
        }
        stop.notify_one();
        dispatcher.await.unwrap().unwrap();
        Dispatcher::new(app).dispatch_pending().await.unwrap();
        // Every record: its create first, then writes only.
        let seen: Vec<_> = events(&db.storage)
            .await
            .into_iter()
            .filter(|e| e.0 == a.0)
            .collect();
        for id in 1..=3 {
            let kinds: Vec<&str> = seen
                .iter()
                .filter(|e| e.1 == id)
                .map(|e| e.2.as_str())
                .collect();
            assert_eq!(kinds.first(), Some(&"create"), "{}: {kinds:?}", db.name);
            assert!(kinds[1..].iter().all(|k| *k == "write"), "{}", db.name);
            assert!(kinds.len() >= 2, "{}: {kinds:?}", db.name);
        }
        assert_eq!(outbox_len(&db.storage).await, 0, "{}", db.name);
        db.cleanup().await;
    }
}
