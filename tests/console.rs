//! The operator console on SQLite and PostgreSQL: tokens and roles, the login form's
//! session and its CSRF token, security headers, JSON errors, the job API and pages,
//! actions on one job and on a filter, redacted arguments and the audit log.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use synckit::SyncError;
use synckit::console::{ConsoleConfig, Tokens, check_config, serve};
use synckit::queue::{
    BoxFuture, JobContext, JobFunction, JobId, JobOutput, JobRegistry, JobState, Queue, Worker,
};
use synckit::storage::ScheduledWork;
use synckit::testing::{TestDatabase, test_databases};

const ADMIN: &str = "admin-token-for-tests";
const READER: &str = "read-token-for-tests";
const SECRET: &str = "s3cr3t-api-token-value";

#[derive(Serialize, Deserialize)]
struct FailingArgs {
    tag: String,
    api_token: String,
}

/// Fails for good, naming a record and a field.
struct FailingJob;

impl JobFunction for FailingJob {
    const NAME: &'static str = "failing";
    type Args = FailingArgs;
    fn perform(_: JobContext, args: FailingArgs) -> BoxFuture<synckit::SyncResult<JobOutput>> {
        Box::pin(async move {
            Err(SyncError::invalid_data(
                format!("customer {}", args.tag),
                "email",
                "not an address",
            ))
        })
    }
}

fn failing(tag: &str) -> synckit::queue::Delayable {
    FailingJob::with_args(FailingArgs {
        tag: tag.into(),
        api_token: SECRET.into(),
    })
    .unwrap()
}

/// Enqueues `tags` as failing jobs and runs them until they failed.
async fn failed_jobs(queue: &Queue, tags: &[&str]) -> Vec<JobId> {
    let mut ids = Vec::new();
    for tag in tags {
        ids.push(queue.enqueue(failing(tag)).await.unwrap());
    }
    Worker::builder(queue.clone(), JobRegistry::new().register::<FailingJob>())
        .poll_interval(Duration::from_millis(50))
        .build()
        .run_until_idle()
        .await
        .unwrap();
    for &id in &ids {
        assert_eq!(queue.job(id).await.unwrap().state, JobState::Failed);
    }
    ids
}

/// A console on a free loopback port; returns its base URL and the queue.
async fn console(db: &TestDatabase, tokens: Tokens) -> (String, Queue) {
    let queue = Queue::with_url(db.storage.clone(), &db.url);
    let app = synckit::App::with_queue(synckit::registry::ComponentRegistry::new(), queue.clone())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = ConsoleConfig {
        tokens,
        insecure_local: false,
    };
    tokio::spawn(serve(listener, app, config, std::future::pending()));
    (base, queue)
}

fn both_tokens() -> Tokens {
    Tokens::new(Some(ADMIN.into()), Some(READER.into()))
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn assert_security_headers(headers: &HeaderMap, what: &str) {
    for (name, expected) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("cache-control", "no-store"),
        ("referrer-policy", "no-referrer"),
    ] {
        assert_eq!(
            headers.get(name).and_then(|v| v.to_str().ok()),
            Some(expected),
            "{what}: {name}"
        );
    }
    let csp = headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_a_valid_token_are_refused_with_a_json_message() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let (base, _) = console(&db, both_tokens()).await;
        let http = client();
        for path in ["/api/jobs", "/api/overview", "/api/openapi.json"] {
            let answer = http.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "{name}: {path}");
            assert_security_headers(answer.headers(), path);
            let body: Value = answer.json().await.unwrap();
            assert!(
                body["error"].as_str().unwrap().contains("token"),
                "{name}: {body}"
            );
        }
        let wrong = http
            .get(format!("{base}/api/jobs"))
            .bearer_auth("not-a-token")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "{name}");
        // A page sends the browser to the login form, which anyone may see.
        let page = http.get(format!("{base}/jobs")).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::SEE_OTHER, "{name}");
        assert_eq!(page.headers()[LOCATION], "/login");
        let login = http.get(format!("{base}/login")).send().await.unwrap();
        assert_eq!(login.status(), StatusCode::OK, "{name}");
        assert_security_headers(login.headers(), "/login");
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_only_token_looks_but_an_action_is_forbidden() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let (base, queue) = console(&db, both_tokens()).await;
        let ids = failed_jobs(&queue, &["1"]).await;
        let http = client();
        let list: Value = http
            .get(format!("{base}/api/jobs?state=failed"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(list["jobs"][0]["id"], json!(ids[0].0), "{name}: {list}");
        let action = http
            .post(format!("{base}/api/jobs/actions"))
            .bearer_auth(READER)
            .json(&json!({"action": "requeue", "ids": [ids[0].0]}))
            .send()
            .await
            .unwrap();
        assert_eq!(action.status(), StatusCode::FORBIDDEN, "{name}");
        let body: Value = action.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("admin"),
            "{name}: {body}"
        );
        assert_eq!(queue.job(ids[0]).await.unwrap().state, JobState::Failed);
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_token_requeues_jobs_one_by_one_and_on_a_filter_and_each_action_is_audited() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let (base, queue) = console(&db, both_tokens()).await;
        let ids = failed_jobs(&queue, &["1", "2", "3"]).await;
        let pending = queue.enqueue(failing("4")).await.unwrap();
        let http = client();
        let one: Value = http
            .post(format!("{base}/api/jobs/actions"))
            .bearer_auth(ADMIN)
            .json(&json!({"action": "cancel", "ids": [ids[0].0]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(one["changed"], json!(1), "{name}: {one}");
        assert_eq!(queue.job(ids[0]).await.unwrap().state, JobState::Cancelled);

        let bulk: Value = http
            .post(format!("{base}/api/jobs/actions"))
            .bearer_auth(ADMIN)
            .json(&json!({"action": "requeue", "filter": {"state": "failed"}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(bulk["changed"], json!(2), "{name}: {bulk}");
        for id in [ids[1], ids[2], pending] {
            assert_eq!(
                queue.job(id).await.unwrap().state,
                JobState::Pending,
                "{name}"
            );
        }

        let bad = http
            .post(format!("{base}/api/jobs/actions"))
            .bearer_auth(ADMIN)
            .json(&json!({"action": "requeue", "filter": {"state": "broken"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST, "{name}");
        let body: Value = bad.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("`state`"),
            "{name}: the field is named: {body}"
        );

        let audit: Value = http
            .get(format!("{base}/api/audit"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let entries = audit.as_array().unwrap();
        assert_eq!(entries.len(), 2, "{name}: {audit}");
        assert_eq!(entries[0]["action"], "jobs.requeue");
        assert_eq!(entries[0]["target"], "jobs matching state=failed");
        assert_eq!(entries[0]["outcome"], "2 changed");
        assert_eq!(entries[0]["actor"], "admin (bearer token)");
        assert_eq!(entries[1]["action"], "jobs.cancel");
        assert_eq!(entries[1]["target"], format!("jobs {}", ids[0].0));
        assert!(!audit.to_string().contains(ADMIN), "{name}: no token");
        db.cleanup().await;
    }
}

/// Signs in through the login form; returns the `Cookie` header value.
async fn sign_in(http: &reqwest::Client, base: &str, token: &str) -> String {
    let answer = http
        .post(format!("{base}/login"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let cookie = answer.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    cookie.split(';').next().unwrap().to_owned()
}

/// The value of the first hidden `csrf` field of a page.
fn csrf_of(page: &str) -> String {
    let at = page
        .find(r#"name="csrf" value=""#)
        .expect("the page has a CSRF field");
    let rest = &page[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_browser_acts_only_with_its_csrf_token() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let (base, queue) = console(&db, both_tokens()).await;
        let ids = failed_jobs(&queue, &["1"]).await;
        let http = client();

        let refused = http
            .post(format!("{base}/login"))
            .form(&[("token", "guess")])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{name}");
        assert!(refused.headers().get(SET_COOKIE).is_none());

        let cookie = sign_in(&http, &base, ADMIN).await;
        let page = http
            .get(format!("{base}/jobs?state=failed"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{name}");
        assert_security_headers(page.headers(), "/jobs");
        let page = page.text().await.unwrap();
        assert!(page.contains(&format!("/jobs/{}", ids[0].0)), "{name}");
        let csrf = csrf_of(&page);

        let id = ids[0].0.to_string();
        let without = http
            .post(format!("{base}/jobs/actions"))
            .header("cookie", &cookie)
            .form(&[("action", "requeue"), ("id", id.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(without.status(), StatusCode::FORBIDDEN, "{name}");
        let wrong = http
            .post(format!("{base}/api/jobs/actions"))
            .header("cookie", &cookie)
            .header("x-csrf-token", "forged")
            .json(&json!({"action": "requeue", "ids": [ids[0].0]}))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::FORBIDDEN, "{name}");
        assert_eq!(queue.job(ids[0]).await.unwrap().state, JobState::Failed);

        let with = http
            .post(format!("{base}/jobs/actions"))
            .header("cookie", &cookie)
            .form(&[
                ("action", "requeue"),
                ("id", id.as_str()),
                ("csrf", csrf.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(with.status(), StatusCode::SEE_OTHER, "{name}");
        assert_eq!(with.headers()[LOCATION], format!("/jobs/{id}"));
        assert_eq!(queue.job(ids[0]).await.unwrap().state, JobState::Pending);

        // The read-only session sees the pages without action forms.
        let reader = sign_in(&http, &base, READER).await;
        let page = http
            .get(format!("{base}/jobs/{id}"))
            .header("cookie", &reader)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("requeued by an operator"), "{name}");
        assert!(!page.contains(r#"id="requeue""#), "{name}");
        let audit = http
            .get(format!("{base}/audit"))
            .header("cookie", &reader)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(audit.contains("admin (signed-in session)"), "{name}");
        assert!(audit.contains("jobs.requeue"), "{name}");
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_details_show_the_error_and_history_but_never_a_secret_argument() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let (base, queue) = console(&db, both_tokens()).await;
        let ids = failed_jobs(&queue, &["7"]).await;
        let http = client();
        let detail = http
            .get(format!("{base}/api/jobs/{}", ids[0].0))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let parsed: Value = serde_json::from_str(&detail).unwrap();
        assert_eq!(parsed["args"]["tag"], "7", "{name}: {detail}");
        assert_eq!(parsed["args"]["api_token"], "[redacted]", "{name}");
        assert!(
            parsed["message"].as_str().unwrap().contains("email"),
            "{name}"
        );
        let attempt = parsed["history"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["state"] == "failed")
            .unwrap_or_else(|| panic!("{name}: no failed attempt in {detail}"));
        assert!(
            attempt["message"]
                .as_str()
                .unwrap()
                .starts_with("InvalidData: "),
            "{name}: the attempt keeps its error chain: {attempt}"
        );
        assert!(!detail.contains(SECRET), "{name}");
        let page = http
            .get(format!("{base}/jobs/{}", ids[0].0))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("[redacted]") && !page.contains(SECRET),
            "{name}"
        );

        let missing = http
            .get(format!("{base}/api/jobs/999999"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND, "{name}");
        let body: Value = missing.json().await.unwrap();
        assert!(body["error"].is_string(), "{name}: {body}");
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_list_pages_by_keyset_and_the_api_is_documented() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let (base, queue) = console(&db, both_tokens()).await;
        let mut ids = Vec::new();
        for tag in ["a", "b", "c"] {
            ids.push(queue.enqueue(failing(tag)).await.unwrap().0);
        }
        let http = client();
        let first: Value = http
            .get(format!("{base}/api/jobs?limit=2"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let page_ids: Vec<i64> = first["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["id"].as_i64().unwrap())
            .collect();
        assert_eq!(page_ids, vec![ids[2], ids[1]], "{name}: {first}");
        let before = first["next_before"].as_i64().unwrap();
        let second: Value = http
            .get(format!("{base}/api/jobs?limit=2&before={before}"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(second["jobs"][0]["id"], json!(ids[0]), "{name}");
        assert!(second["next_before"].is_null(), "{name}");

        let doc: Value = http
            .get(format!("{base}/api/openapi.json"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for path in [
            "/api/jobs",
            "/api/jobs/{id}",
            "/api/jobs/actions",
            "/api/audit",
        ] {
            assert!(doc["paths"][path].is_object(), "{name}: {path} documented");
        }
        db.cleanup().await;
    }
}

#[test]
fn the_console_refuses_to_start_without_a_token_unless_insecure_local_on_loopback() {
    let loopback = "127.0.0.1:8080".parse().unwrap();
    let everywhere = "0.0.0.0:8080".parse().unwrap();
    let none = ConsoleConfig::default();
    let error = check_config(&none, loopback).unwrap_err().to_string();
    assert!(error.contains("SYNCKIT_CONSOLE_TOKEN"), "{error}");
    let insecure = ConsoleConfig {
        insecure_local: true,
        ..ConsoleConfig::default()
    };
    assert!(check_config(&insecure, loopback).is_ok());
    let error = check_config(&insecure, everywhere).unwrap_err().to_string();
    assert!(error.contains("loopback"), "{error}");
    let tokens = ConsoleConfig {
        tokens: Tokens::new(None, Some(READER.into())),
        insecure_local: false,
    };
    assert!(check_config(&tokens, everywhere).is_ok());
}

#[tokio::test]
async fn synckit_serve_refuses_to_start_without_a_token() {
    let db = synckit::testing::sqlite().await.unwrap();
    // The test process sets neither token variable.
    assert!(std::env::var(Tokens::ADMIN_ENV).is_err());
    assert!(std::env::var(Tokens::READ_ONLY_ENV).is_err());
    let error = synckit::cli::run_args(
        [
            "synckit",
            "--database-url",
            db.url.as_str(),
            "serve",
            "--listen",
            "127.0.0.1:0",
        ],
        async |_: &mut synckit::cli::Setup<'_>| Ok(()),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(error.contains("--insecure-local"), "{error}");
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_counts_jobs_per_state_and_channel_and_names_the_oldest_pending_job() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let (base, queue) = console(&db, both_tokens()).await;
        failed_jobs(&queue, &["1"]).await;
        let oldest = queue
            .enqueue(failing("2").channel("root.magento"))
            .await
            .unwrap();
        queue.enqueue(failing("3")).await.unwrap();
        let http = client();
        let overview: Value = http
            .get(format!("{base}/api/overview"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            overview["states"],
            json!([{"state": "failed", "jobs": 1}, {"state": "pending", "jobs": 2}]),
            "{name}: {overview}"
        );
        assert_eq!(
            overview["channels"],
            json!([
                {"channel": "root", "state": "failed", "jobs": 1},
                {"channel": "root", "state": "pending", "jobs": 1},
                {"channel": "root.magento", "state": "pending", "jobs": 1},
            ]),
            "{name}"
        );
        assert_eq!(overview["oldest_pending"]["id"], json!(oldest.0), "{name}");
        assert_eq!(overview["workers"], json!([]), "{name}");
        let page = http
            .get(format!("{base}/"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("root.magento"), "{name}");
        assert!(page.contains(&format!("/jobs/{}", oldest.0)), "{name}");
        assert!(
            page.contains("not an address"),
            "{name}: the failure's error"
        );
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_changes_priority_eta_and_channel_and_a_missing_value_is_named() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let (base, queue) = console(&db, both_tokens()).await;
        let id = queue.enqueue(failing("1")).await.unwrap();
        let http = client();
        let act = |body: Value| {
            let http = http.clone();
            let url = format!("{base}/api/jobs/actions");
            async move {
                http.post(url)
                    .bearer_auth(ADMIN)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let answer = act(json!({"action": "set_priority", "ids": [id.0], "priority": 2})).await;
        assert_eq!(answer.status(), StatusCode::OK, "{name}");
        assert_eq!(queue.job(id).await.unwrap().priority, 2, "{name}");
        act(json!({"action": "set_eta", "ids": [id.0], "eta": "2030-01-01T00:00:00Z"})).await;
        assert_eq!(
            queue.job(id).await.unwrap().eta.map(|e| e.to_rfc3339()),
            Some("2030-01-01T00:00:00+00:00".to_owned()),
            "{name}"
        );
        act(
            json!({"action": "set_channel", "filter": {"name": "failing"}, "channel": "root.slow"}),
        )
        .await;
        assert_eq!(queue.job(id).await.unwrap().channel, "root.slow", "{name}");

        let missing = act(json!({"action": "set_priority", "ids": [id.0]})).await;
        assert_eq!(missing.status(), StatusCode::BAD_REQUEST, "{name}");
        let body: Value = missing.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("`priority`"),
            "{name}"
        );
        let bad = act(json!({"action": "set_eta", "ids": [id.0], "eta": "tomorrow"})).await;
        let body: Value = bad.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("`eta`"), "{name}");

        let audit: Value = http
            .get(format!("{base}/api/audit"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(audit[0]["action"], "jobs.set_channel", "{name}: {audit}");
        assert_eq!(audit[0]["outcome"], "1 changed (channel root.slow)");
        assert_eq!(audit[2]["outcome"], "1 changed (priority 2)");
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_is_streamed_as_server_sent_events_for_live_updates() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let (base, queue) = console(&db, both_tokens()).await;
        queue.enqueue(failing("1")).await.unwrap();
        let http = client();
        let unauthorized = http.get(format!("{base}/api/events")).send().await.unwrap();
        assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED, "{name}");
        let mut stream = http
            .get(format!("{base}/api/events"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap();
        assert_eq!(
            stream.headers()["content-type"].to_str().unwrap(),
            "text/event-stream",
            "{name}"
        );
        let mut received = String::new();
        while !received.contains("\n\n") {
            let chunk = tokio::time::timeout(Duration::from_secs(5), stream.chunk())
                .await
                .expect("an event within 5 s")
                .unwrap()
                .expect("the stream stays open");
            received.push_str(&String::from_utf8_lossy(&chunk));
        }
        assert!(
            received.starts_with("event: overview\n"),
            "{name}: {received}"
        );
        let data = received
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .unwrap();
        let overview: Value = serde_json::from_str(data).unwrap();
        assert_eq!(
            overview["states"],
            json!([{"state": "pending", "jobs": 1}]),
            "{name}"
        );
        let script = http
            .get(format!("{base}/assets/overview.js"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap();
        assert_eq!(script.status(), StatusCode::OK, "{name}");
        assert!(
            script.text().await.unwrap().contains("/api/events"),
            "{name}"
        );
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_a_token_and_count_jobs_per_channel_and_state() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let (base, queue) = console(&db, both_tokens()).await;
        failed_jobs(&queue, &["1"]).await;
        queue
            .enqueue(failing("2").channel("root.magento"))
            .await
            .unwrap();
        let http = client();
        let refused = http.get(format!("{base}/metrics")).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{name}");
        let answer = http
            .get(format!("{base}/metrics"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{name}");
        assert!(
            answer.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/openmetrics-text"),
            "{name}"
        );
        let text = answer.text().await.unwrap();
        for line in [
            r#"synckit_jobs{channel="root",state="failed"} 1"#,
            r#"synckit_jobs{channel="root.magento",state="pending"} 1"#,
            "synckit_workers_live 0",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "{name}: {line} in\n{text}");
        }
        assert!(
            text.contains("synckit_oldest_pending_age_seconds "),
            "{name}: {text}"
        );
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backends_show_their_cursors_and_never_their_secrets() {
    use synckit::backend::{NewBackend, Secrets};
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let (base, _) = console(&db, both_tokens()).await;
        let backend = db
            .storage
            .backends()
            .create(NewBackend {
                version: Some("2.4".into()),
                settings: json!({"base_url": "https://shop.example", "api_password": SECRET}),
                secrets: Secrets::new().with("token", SECRET),
                ..NewBackend::new("magento", "shop")
            })
            .await
            .unwrap();
        let since = "2026-01-02T03:04:05Z".parse().unwrap();
        let cursors = db.storage.import_cursors();
        cursors
            .advance(backend.id, "customer", Some(since))
            .await
            .unwrap();
        db.storage
            .schedules()
            .set(
                &ScheduledWork::Import {
                    backend_id: backend.id,
                    model: "product".into(),
                },
                Duration::from_secs(600),
            )
            .await
            .unwrap();
        let http = client();
        let answer = http
            .get(format!("{base}/api/backends"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!answer.contains(SECRET), "{name}: {answer}");
        let list: Value = serde_json::from_str(&answer).unwrap();
        let shop = &list[0];
        assert_eq!(
            (&shop["name"], &shop["version"], &shop["enabled"]),
            (&json!("shop"), &json!("2.4"), &json!(true)),
            "{name}"
        );
        assert_eq!(shop["settings"]["api_password"], "[redacted]", "{name}");
        assert_eq!(shop["cursors"][0]["model"], "customer", "{name}");
        assert_eq!(
            shop["cursors"][0]["next_window_since"], "2026-01-02T03:04:05Z",
            "{name}"
        );
        assert_eq!(shop["cursors"][1]["every_secs"], json!(600), "{name}");
        let page = http
            .get(format!("{base}/backends"))
            .bearer_auth(READER)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("2026-01-02T03:04:05Z") && page.contains("600 s"),
            "{name}"
        );
        assert!(!page.contains(SECRET), "{name}");
        db.cleanup().await;
    }
}
