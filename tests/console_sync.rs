//! The console's Sync pages on SQLite and PostgreSQL. Checkpoints: a conflict listed with
//! base / local / remote per field, settled field by field from the page's form (remote
//! values written locally, local ones exported by a job), refused for the read-only token
//! and without the CSRF token, wrong sides named; a plain checkpoint marked reviewed; every
//! review in the audit log. Bindings: found by local id, external id and natural key with
//! their last synced state, linked from the job about the record. Integrations: status rows
//! and executions with counters and warning reasons, never the warned record.

mod console_support;

use console_support::{ADMIN, READER, Shop, client, csrf_of, sign_in};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION};
use serde_json::{Value, json};
use synckit::storage::CheckpointState;
use synckit::testing::test_databases;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_is_settled_field_by_field_from_the_page_and_audited() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let shop = Shop::new(&db).await;
        let (_, local_id, checkpoint) = shop.conflict("Ada").await;
        let base = shop.console().await;
        let http = client();

        // The list and the detail, read-only.
        let list: Value = http
            .get(format!("{base}/api/checkpoints"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let listed = &list["checkpoints"][0];
        assert_eq!(listed["id"], json!(checkpoint), "{name}: {list}");
        assert_eq!(
            listed["conflicts"],
            json!([
                {"field": "city", "base": "Paris", "local": "Lyon", "remote": "Nice"},
                {"field": "phone", "base": "1", "local": "2", "remote": "3"}
            ]),
            "{name}"
        );
        let page = http
            .get(format!("{base}/checkpoints/{checkpoint}"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for text in ["Paris", "Lyon", "Nice", "phone"] {
            assert!(page.contains(text), "{name}: {text} missing from {page}");
        }
        assert!(
            !page.contains(r#"type="radio""#),
            "{name}: no choice offered to the read-only token"
        );

        // Refused: read-only, a session without its CSRF token, a side that is neither.
        let refused = http
            .post(format!("{base}/api/checkpoints/{checkpoint}/review"))
            .bearer_auth(READER)
            .json(&json!({"choices": []}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{name}");
        let cookie = sign_in(&http, &base, ADMIN).await;
        let no_csrf = http
            .post(format!("{base}/checkpoints/{checkpoint}/review"))
            .header(COOKIE, &cookie)
            .form(&[("side:city", "remote"), ("side:phone", "local")])
            .send()
            .await
            .unwrap();
        assert_eq!(no_csrf.status(), StatusCode::FORBIDDEN, "{name}");
        let wrong = http
            .post(format!("{base}/api/checkpoints/{checkpoint}/review"))
            .bearer_auth(ADMIN)
            .json(&json!({"choices": [
                {"field": "city", "side": "both"},
                {"field": "phone", "side": "local"}
            ]}))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::BAD_REQUEST, "{name}");
        let body: Value = wrong.json().await.unwrap();
        let message = body["error"].as_str().unwrap();
        assert!(
            message.contains("city") && message.contains("both"),
            "{name}: {message}"
        );
        let missing = http
            .post(format!("{base}/api/checkpoints/{checkpoint}/review"))
            .bearer_auth(ADMIN)
            .json(&json!({"choices": [{"field": "city", "side": "remote"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), StatusCode::BAD_REQUEST, "{name}");
        let body: Value = missing.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("phone"),
            "{name}: {body}"
        );
        assert_eq!(
            shop.local(local_id).await["city"],
            json!("Lyon"),
            "{name}: a refused review changes nothing"
        );

        // Settled from the page: city from the remote side, phone from the local one.
        let page = http
            .get(format!("{base}/checkpoints/{checkpoint}"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains(r#"id="remote-city""#), "{name}: {page}");
        let csrf = csrf_of(&page);
        let settled = http
            .post(format!("{base}/checkpoints/{checkpoint}/review"))
            .header(COOKIE, &cookie)
            .form(&[
                ("csrf", csrf.as_str()),
                ("side:city", "remote"),
                ("side:phone", "local"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(settled.status(), StatusCode::SEE_OTHER, "{name}");
        assert_eq!(
            settled.headers()[LOCATION],
            format!("/checkpoints/{checkpoint}").as_str()
        );
        let local = shop.local(local_id).await;
        assert_eq!(
            (&local["city"], &local["phone"]),
            (&json!("Nice"), &json!("2")),
            "{name}"
        );
        let stored = db
            .storage
            .checkpoints()
            .get(checkpoint)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.state, CheckpointState::Reviewed, "{name}");
        let (exports,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM queue_jobs WHERE name = 'synckit.export_record' AND state = 'pending'",
        )
        .fetch_one(db.storage.pool())
        .await
        .unwrap();
        assert_eq!(exports, 1, "{name}: the local phone is exported by a job");

        let audit: Value = http
            .get(format!("{base}/api/audit"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let entry = audit
            .as_array()
            .and_then(|entries| {
                entries
                    .iter()
                    .find(|e| e["action"] == "checkpoints.resolve")
                    .cloned()
            })
            .unwrap_or_else(|| panic!("{name}: no resolve entry in {audit}"));
        let outcome = entry["outcome"].as_str().unwrap();
        assert!(
            outcome.contains("city=remote") && outcome.contains("phone=local"),
            "{name}: {outcome}"
        );
        assert!(
            entry["actor"].as_str().unwrap().contains("session"),
            "{name}: {entry}"
        );

        // Twice is refused.
        let again = http
            .post(format!("{base}/api/checkpoints/{checkpoint}/review"))
            .bearer_auth(ADMIN)
            .json(&json!({"choices": [
                {"field": "city", "side": "remote"},
                {"field": "phone", "side": "local"}
            ]}))
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::BAD_REQUEST, "{name}");
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_checkpoint_is_marked_reviewed_and_lists_page_by_state() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let shop = Shop::new(&db).await;
        let mut conn = db.storage.pool().acquire().await.unwrap();
        let note = db
            .storage
            .checkpoints()
            .add(
                &mut conn,
                shop.backend.id,
                "customer",
                synckit::LocalId(7),
                "customer 7 needs a price",
            )
            .await
            .unwrap();
        drop(conn);
        let base = shop.console().await;
        let http = client();
        let with_choices = http
            .post(format!("{base}/api/checkpoints/{note}/review"))
            .bearer_auth(ADMIN)
            .json(&json!({"choices": [{"field": "city", "side": "remote"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(with_choices.status(), StatusCode::BAD_REQUEST, "{name}");
        let reviewed: Value = http
            .post(format!("{base}/api/checkpoints/{note}/review"))
            .bearer_auth(ADMIN)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(reviewed["reviewed"], json!([note]), "{name}: {reviewed}");
        let open: Value = http
            .get(format!("{base}/api/checkpoints"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(open["checkpoints"], json!([]), "{name}");
        let done: Value = http
            .get(format!("{base}/api/checkpoints?state=reviewed"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(done["checkpoints"][0]["id"], json!(note), "{name}");
        let bad = http
            .get(format!("{base}/api/checkpoints?state=later"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST, "{name}");
        let missing = http
            .get(format!("{base}/api/checkpoints/999999"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND, "{name}");
        let page = http
            .get(format!("{base}/checkpoints?state=reviewed"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("needs a price"), "{name}: {page}");
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bindings_are_searched_with_their_synced_state_and_linked_from_their_jobs() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let shop = Shop::new(&db).await;
        let (remote_id, local_id, checkpoint) = shop.conflict("Ada").await;
        let base = shop.console().await;
        let http = client();
        let search = |query: String| {
            let http = http.clone();
            let url = format!("{base}/api/bindings?{query}");
            async move {
                let answer = http.get(url).bearer_auth(READER).send().await.unwrap();
                let status = answer.status();
                (status, answer.json::<Value>().await.unwrap())
            }
        };
        for query in [
            format!("local_id={}", local_id.0),
            format!("model=customer&external_id={remote_id}"),
            "model=customer&key=name%3DAda".to_owned(),
        ] {
            let (status, found) = search(query.clone()).await;
            assert_eq!(status, StatusCode::OK, "{name} {query}: {found}");
            assert_eq!(found[0]["local_id"], json!(local_id.0), "{name} {query}");
            assert_eq!(found[0]["synced"]["city"], json!("Paris"), "{name}");
            assert_eq!(
                found[0]["open_conflicts"],
                json!(["city", "phone"]),
                "{name}"
            );
        }
        let (status, none) = search("key=name%3DNobody".to_owned()).await;
        assert_eq!((status, none), (StatusCode::OK, json!([])), "{name}");
        let (status, bad) = search("local_id=seven".to_owned()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}");
        assert!(
            bad["error"].as_str().unwrap().contains("local_id"),
            "{name}: {bad}"
        );
        let (status, bad) = search("key=nameAda".to_owned()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {bad}");

        // The export job that settling delays is about the record: its page links there.
        let settled: Value = http
            .post(format!("{base}/api/checkpoints/{checkpoint}/review"))
            .bearer_auth(ADMIN)
            .json(&json!({"choices": [
                {"field": "city", "side": "local"},
                {"field": "phone", "side": "remote"}
            ]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let job = settled["export_job"].as_i64().unwrap();
        let detail: Value = http
            .get(format!("{base}/api/jobs/{job}"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let link = detail["record_link"].as_str().unwrap().to_owned();
        assert_eq!(
            link,
            format!(
                "/bindings?backend={}&model=customer&local_id={}",
                shop.backend.id.0, local_id.0
            ),
            "{name}"
        );
        let page = http
            .get(format!("{base}{link}"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains(r#"id="bindings""#), "{name}: {page}");
        assert!(
            page.contains("Nice") && !page.contains("In conflict"),
            "{name}: the settled state, nothing left in conflict: {page}"
        );
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integrations_show_their_status_rows_and_executions_with_counters_and_warnings() {
    use synckit::batch::{
        BatchStatus, Counters, JobType, NewIntegration, NewStatus, StatusCode as SyncStatus,
        Warning,
    };
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let shop = Shop::new(&db).await;
        let integration = db
            .storage
            .integrations()
            .create(NewIntegration::new(
                shop.backend.id,
                "shop-sync",
                ["customer"],
            ))
            .await
            .unwrap();
        let executions = db.storage.batch_executions();
        let mut job = executions
            .create_job(
                "customer_import",
                JobType::Import,
                Some(integration.id),
                Some("customer"),
                &json!({}),
            )
            .await
            .unwrap();
        let mut step = executions.create_step(job.id, 0, "import").await.unwrap();
        step.status = BatchStatus::Completed;
        step.counters = Counters {
            read: 5,
            processed: 4,
            added: 3,
            updated: 1,
            skipped: 1,
            ..Counters::default()
        };
        executions.update_step(&step).await.unwrap();
        executions
            .add_warnings(
                step.id,
                &[Warning {
                    reason: "customer 9, field email: not an address".into(),
                    item: json!({"email": "ada-at-example", "street": "1 Private Road"}),
                }],
            )
            .await
            .unwrap();
        job.status = BatchStatus::Completed;
        executions.update_job(&job).await.unwrap();
        db.storage
            .integration_statuses()
            .add(NewStatus {
                integration_id: integration.id,
                connector: "customer",
                direction: JobType::Import,
                code: SyncStatus::Completed,
                message:
                    "[IMPORT] Stats: read 5, processed 4, updated 1, added 3, deleted 0, invalid 0"
                        .into(),
                data: Default::default(),
                job_execution_id: Some(job.id),
            })
            .await
            .unwrap();

        let base = shop.console().await;
        let http = client();
        let listed: Value = http
            .get(format!("{base}/api/integrations"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let shown = &listed[0];
        assert_eq!(shown["name"], json!("shop-sync"), "{name}: {listed}");
        assert_eq!(shown["connectors"], json!(["customer"]), "{name}");
        assert_eq!(shown["statuses"][0]["code"], json!("completed"), "{name}");
        let execution = &shown["executions"][0];
        assert_eq!(execution["counters"]["added"], json!(3), "{name}");
        assert_eq!(execution["counters"]["skipped"], json!(1), "{name}");
        assert_eq!(
            execution["steps"][0]["warnings"],
            json!(["customer 9, field email: not an address"]),
            "{name}"
        );
        let page = http
            .get(format!("{base}/integrations"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("shop-sync") && page.contains("not an address"),
            "{name}: {page}"
        );
        assert!(
            !page.contains("Private Road") && !listed.to_string().contains("Private Road"),
            "{name}: a warning's record is never shown"
        );
        db.cleanup().await;
    }
}
