//! The HTTP client of one Magento shop: authentication, rate limit, retries of reads, error
//! mapping, and the request metrics (status classes, retries, rate-limit waits) when it was
//! given the app's [`HttpMetrics`].

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sync_core::backend::Secret;
use sync_core::metrics::{HttpMetrics, WaitReason};
use sync_core::{SyncError, SyncResult};
use tokio::sync::Mutex;

use crate::errors::{RequestTarget, map_status, map_transport, parse_retry_after};
use crate::settings::{Credentials, MagentoSettings};

/// The longest a `Retry-After` is waited in place; longer ones go back to the job queue.
const MAX_IN_PLACE_WAIT: Duration = Duration::from_secs(10);

/// One shop's REST client. Create one per sync run and share it (it pools connections):
/// the connector puts it in the work context's extras.
#[derive(Debug)]
pub struct MagentoClient {
    http: reqwest::Client,
    settings: MagentoSettings,
    /// The admin token obtained with the admin credentials, renewed on 401.
    admin_token: Mutex<Option<Secret>>,
    /// When the next request may start, for the per-shop rate limit.
    next_slot: Mutex<Instant>,
    /// Where requests, retries and waits are counted, if anywhere.
    metrics: Option<HttpMetrics>,
}

impl MagentoClient {
    /// A client for these settings.
    pub fn new(settings: MagentoSettings) -> SyncResult<Self> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(16)
            .tls_danger_accept_invalid_certs(!settings.verify_tls)
            .user_agent(concat!("synckit-magento/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SyncError::Failed(format!("cannot build the HTTP client: {e}")))?;
        Ok(MagentoClient {
            http,
            settings,
            admin_token: Mutex::new(None),
            next_slot: Mutex::new(Instant::now()),
            metrics: None,
        })
    }

    /// The client counting its requests, retries and waits into `metrics` (the app's, for
    /// the backend: `ctx.queue().metrics().http(&backend.name)`).
    pub fn with_metrics(mut self, metrics: HttpMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The settings.
    pub fn settings(&self) -> &MagentoSettings {
        &self.settings
    }

    /// The URL of a route (`/customers/search`) in the configured store view.
    pub fn url(&self, route: &str) -> String {
        self.store_url(&self.settings.store_code, route)
    }

    /// The URL of a route in a given store view (`all` for the global scope of writes).
    pub fn store_url(&self, store_code: &str, route: &str) -> String {
        format!("{}/rest/{store_code}/V1{route}", self.settings.base_url)
    }

    /// GETs a route and decodes its JSON answer; retried in place on network errors, 429 and
    /// 5xx (reads are idempotent), honouring `Retry-After`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        url: &str,
        query: &[(String, String)],
        target: &RequestTarget,
    ) -> SyncResult<T> {
        let mut attempt = 0;
        loop {
            let answer = self.send(Method::GET, url, query, None, target).await;
            match answer.and_then(|text| decode(&text, target)) {
                Err(error) if error.is_retryable() && attempt < self.settings.read_retries => {
                    let wait = error
                        .retry_after()
                        .unwrap_or_else(|| Duration::from_millis(200 << attempt.min(5)));
                    if wait > MAX_IN_PLACE_WAIT {
                        return Err(error);
                    }
                    attempt += 1;
                    tracing::debug!(%error, attempt, "retrying a Magento read");
                    if let Some(metrics) = &self.metrics {
                        metrics.retry();
                        metrics.wait(WaitReason::RetryAfter, wait);
                    }
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    /// Sends a write (POST, PUT, DELETE) with a JSON body and decodes the answer. Writes are
    /// not retried in place: the job retries them, after checking what already happened.
    pub async fn write<T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        target: &RequestTarget,
    ) -> SyncResult<T> {
        let text = self.send(method, url, &[], body, target).await?;
        decode(&text, target)
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        query: &[(String, String)],
        body: Option<&Value>,
        target: &RequestTarget,
    ) -> SyncResult<String> {
        let mut renewed = false;
        loop {
            self.wait_for_slot().await;
            let token = self.token(target).await?;
            let mut request = self
                .http
                .request(method.clone(), url)
                .bearer_auth(token.expose())
                .header("Accept", "application/json");
            if !query.is_empty() {
                request = request.query(query);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            tracing::debug!(%method, url, "magento request");
            let sent = Instant::now();
            let response = match request.send().await {
                Ok(response) => response,
                Err(error) => {
                    self.count_transport_error(sent);
                    return Err(map_transport(error, target));
                }
            };
            let status = response.status();
            let retry_after = parse_retry_after(
                response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok()),
            );
            let text = match response.text().await {
                Ok(text) => text,
                Err(error) => {
                    self.count_transport_error(sent);
                    return Err(map_transport(error, target));
                }
            };
            if let Some(metrics) = &self.metrics {
                metrics.response(status.as_u16(), sent.elapsed());
            }
            if status.is_success() {
                return Ok(text);
            }
            // An admin token expires (4 hours by default): get a new one, once.
            if status == StatusCode::UNAUTHORIZED
                && !renewed
                && matches!(self.settings.credentials, Credentials::Admin { .. })
            {
                renewed = true;
                *self.admin_token.lock().await = None;
                continue;
            }
            return Err(map_status(status, &text, retry_after, target));
        }
    }

    async fn token(&self, target: &RequestTarget) -> SyncResult<Secret> {
        match &self.settings.credentials {
            Credentials::Token(token) => Ok(token.clone()),
            Credentials::Admin { username, password } => {
                let mut cached = self.admin_token.lock().await;
                if let Some(token) = cached.as_ref() {
                    return Ok(token.clone());
                }
                self.wait_for_slot().await;
                let url = format!("{}/rest/V1/integration/admin/token", self.settings.base_url);
                let sent = Instant::now();
                let response = self
                    .http
                    .post(&url)
                    .json(&json!({"username": username, "password": password.expose()}))
                    .send()
                    .await
                    .map_err(|e| {
                        self.count_transport_error(sent);
                        map_transport(e, target)
                    })?;
                let status = response.status();
                if let Some(metrics) = &self.metrics {
                    metrics.response(status.as_u16(), sent.elapsed());
                }
                let text = response
                    .text()
                    .await
                    .map_err(|e| map_transport(e, target))?;
                if !status.is_success() {
                    // The body is Magento's message; it never echoes the password.
                    return Err(map_status(
                        status,
                        &text,
                        None,
                        &RequestTarget::model("admin token"),
                    ));
                }
                let token: String = serde_json::from_str(&text).map_err(|_| {
                    SyncError::Failed("the admin token answer is not a JSON string".into())
                })?;
                let token = Secret::new(token);
                *cached = Some(token.clone());
                Ok(token)
            }
        }
    }

    async fn wait_for_slot(&self) {
        let rate = self.settings.requests_per_second;
        if rate == 0 {
            return;
        }
        let interval = Duration::from_secs(1) / rate;
        let wait = {
            let mut next = self.next_slot.lock().await;
            let now = Instant::now();
            let start = (*next).max(now);
            *next = start + interval;
            start - now
        };
        if !wait.is_zero() {
            if let Some(metrics) = &self.metrics {
                metrics.wait(WaitReason::Throttle, wait);
            }
            tokio::time::sleep(wait).await;
        }
    }

    fn count_transport_error(&self, sent: Instant) {
        if let Some(metrics) = &self.metrics {
            metrics.transport_error(sent.elapsed());
        }
    }
}

fn describe(target: &RequestTarget) -> String {
    match &target.id {
        Some(id) => format!("{} {id}", target.model),
        None => target.model.clone(),
    }
}

/// Decodes a successful answer straight into `T` (no intermediate JSON tree: a search page
/// is decoded once). An answer that is not JSON, e.g. cut short, is a network error worth
/// retrying; JSON of the wrong shape is invalid data.
fn decode<T: DeserializeOwned>(text: &str, target: &RequestTarget) -> SyncResult<T> {
    serde_json::from_str(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => SyncError::invalid_data(
            describe(target),
            "<answer>",
            format!("unexpected answer: {e}"),
        ),
        _ => SyncError::Network {
            message: format!("{}: unreadable answer: {e}", describe(target)),
            after: None,
        },
    })
}
