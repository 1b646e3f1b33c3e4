//! What the console's checkpoint tests share: a two-way shop (customers in a memory
//! backend, local documents, field-by-field merge), a console over its app, and the login
//! helpers.
#![allow(dead_code)]

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use synckit::adapter::BackendAdapter;
use synckit::backend::{Backend, BackendKind, NewBackend};
use synckit::console::{ConsoleConfig, Tokens, serve};
use synckit::local::LocalRepository;
use synckit::mapper::{MapOptions, MapOutput, Mapper};
use synckit::queue::Queue;
use synckit::registry::{ApplyOn, ComponentRegistry};
use synckit::sync::{
    ConflictPolicy, ExportSpec, ImportOutcome, ImportSpec, RECORD_EXPORTER, RECORD_IMPORTER,
    RecordExporter, RecordImporter, SpecExporter, SpecImporter, binder_for,
};
use synckit::testing::{DocumentRepository, MemoryBackend, TestDatabase};
use synckit::values::Values;
use synckit::{App, ExternalId, LocalId, Origin, SyncResult, WorkContext};

pub const ADMIN: &str = "admin-token-for-tests";
pub const READER: &str = "read-token-for-tests";

/// A JSON object as `Values`.
pub fn object(value: Value) -> Values {
    match value {
        Value::Object(map) => map,
        _ => Values::new(),
    }
}

/// The customer fields, the same on both sides.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Customer {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

const FIELDS: &[&str] = &["name", "city", "phone"];

/// Copies the three fields both ways.
pub struct CopyFields;

#[async_trait]
impl Mapper for CopyFields {
    type Source = Customer;
    type Target = Customer;

    async fn map(
        &self,
        source: &Customer,
        options: &MapOptions,
        _: &WorkContext,
    ) -> SyncResult<MapOutput<Customer>> {
        Ok(match options.changed_fields {
            None => MapOutput::Full(source.clone()),
            Some(_) => MapOutput::Partial(
                [
                    ("name", &source.name),
                    ("city", &source.city),
                    ("phone", &source.phone),
                ]
                .into_iter()
                .filter(|(field, _)| options.runs_for(&[field]))
                .map(|(field, value)| (field.to_owned(), Value::from(value.clone())))
                .collect(),
            ),
        })
    }

    fn changed_by_fields(&self) -> &'static [&'static str] {
        FIELDS
    }
}

/// Two-way customers, conflicts left for a human.
pub struct Customers;

#[async_trait]
impl ImportSpec for Customers {
    type Remote = Customer;
    type Mapper = CopyFields;
    type Target = Customer;

    fn mapper(&self) -> &CopyFields {
        &CopyFields
    }

    fn two_way(&self, _: &WorkContext) -> Option<ConflictPolicy> {
        Some(ConflictPolicy::FieldMerge)
    }
}

#[async_trait]
impl ExportSpec for Customers {
    type Local = Customer;
    type Mapper = CopyFields;
    type Target = Customer;

    fn mapper(&self) -> &CopyFields {
        &CopyFields
    }
}

/// The shop: an app over the test database with the customer flows.
pub struct Shop {
    pub app: App,
    pub backend: Backend,
    pub remote: MemoryBackend,
    pub customers: Arc<DocumentRepository>,
}

impl Shop {
    /// Builds the shop on `db`, its queue opened from the URL.
    pub async fn new(db: &TestDatabase) -> Shop {
        let customers = Arc::new(
            DocumentRepository::create(&db.storage, "customer")
                .await
                .unwrap(),
        );
        let remote = MemoryBackend::new();
        let mut registry = ComponentRegistry::new();
        registry.add_kind(BackendKind::root("shop"));
        let on = ApplyOn::kind("shop").model("customer");
        registry.register::<dyn BackendAdapter>(
            on.clone(),
            "backend.adapter",
            Arc::new(remote.adapter("customer")),
        );
        registry.register::<dyn LocalRepository>(
            ApplyOn::any().model("customer"),
            "local.repository",
            customers.clone(),
        );
        registry.register::<dyn RecordImporter>(
            on.clone(),
            RECORD_IMPORTER,
            Arc::new(SpecImporter(Customers)),
        );
        registry.register::<dyn RecordExporter>(
            on,
            RECORD_EXPORTER,
            Arc::new(SpecExporter(Customers)),
        );
        let backend = db
            .storage
            .backends()
            .create(NewBackend::new("shop", "shop-1"))
            .await
            .unwrap();
        let queue = Queue::with_url(db.storage.clone(), &db.url);
        let app = App::with_queue(registry, queue).await.unwrap();
        Shop {
            app,
            backend,
            remote,
            customers,
        }
    }

    pub fn ctx(&self) -> WorkContext {
        self.app.context(self.backend.clone(), "customer")
    }

    pub async fn import(&self, id: u64) -> ImportOutcome {
        let ctx = self.ctx();
        let importer = ctx
            .component::<dyn RecordImporter>(RECORD_IMPORTER)
            .unwrap();
        importer
            .run(&ctx, &ExternalId::from(id as i64), false)
            .await
            .unwrap()
    }

    pub async fn local_id(&self, id: u64) -> LocalId {
        let mut conn = self.app.storage().pool().acquire().await.unwrap();
        binder_for(&self.ctx())
            .unwrap()
            .to_internal(&mut conn, &ExternalId::from(id as i64))
            .await
            .unwrap()
            .unwrap()
    }

    pub async fn local(&self, id: LocalId) -> Value {
        let mut conn = self.app.storage().pool().acquire().await.unwrap();
        Value::Object(self.customers.get(&mut conn, id).await.unwrap().unwrap())
    }

    pub async fn write_local(&self, id: LocalId, values: Value) {
        let mut tx = self.app.storage().begin().await.unwrap();
        self.app
            .session(&mut tx, Origin::Local)
            .write(self.customers.as_ref(), id, &object(values))
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// A customer imported, then changed on both sides in city and phone and imported
    /// again: a conflict checkpoint. Returns the remote id, the local id and the checkpoint.
    pub async fn conflict(&self, name: &str) -> (u64, LocalId, i64) {
        let id = self.remote.put(
            "customer",
            None,
            object(json!({"name": name, "city": "Paris", "phone": "1"})),
        );
        self.import(id).await;
        let local_id = self.local_id(id).await;
        self.write_local(local_id, json!({"city": "Lyon", "phone": "2"}))
            .await;
        self.remote.put(
            "customer",
            Some(id),
            object(json!({"name": name, "city": "Nice", "phone": "3"})),
        );
        self.import(id).await;
        let (checkpoint,): (i64,) = sqlx::query_as(
            "SELECT MAX(id) FROM sync_checkpoints WHERE record_id = $1 AND state = 'need_review'",
        )
        .bind(local_id.0)
        .fetch_one(self.app.storage().pool())
        .await
        .unwrap();
        (id, local_id, checkpoint)
    }

    /// Serves the console of the shop's app on a free loopback port; returns its base URL.
    pub async fn console(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let config = ConsoleConfig {
            tokens: Tokens::new(Some(ADMIN.into()), Some(READER.into())),
            insecure_local: false,
        };
        tokio::spawn(serve(
            listener,
            self.app.clone(),
            config,
            std::future::pending(),
        ));
        base
    }
}

/// A client that does not follow redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in through the login form; returns the `Cookie` header value.
pub async fn sign_in(http: &reqwest::Client, base: &str, token: &str) -> String {
    let answer = http
        .post(format!("{base}/login"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let cookie = answer.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    cookie.split(';').next().unwrap().to_owned()
}

/// The value of the first hidden `csrf` field of a page.
pub fn csrf_of(page: &str) -> String {
    let at = page
        .find(r#"name="csrf" value=""#)
        .expect("the page has a CSRF field");
    let rest = &page[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}
