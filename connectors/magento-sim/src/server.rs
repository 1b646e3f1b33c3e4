//! The HTTP server: our own accept loop over hyper (so a fault can drop a connection without an
//! answer, and shutdown is prompt), the `/rest` handler with fault injection, and the
//! [`Simulator`] handle.

use crate::config::{SimBuilder, SimConfig};
use crate::errors::ApiError;
use crate::faults::{FaultAction, Faults};
use crate::routes::{self, Resolved};
use crate::state::SimState;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

/// Why a simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Binding the listener failed.
    #[error("cannot bind the simulator: {0}")]
    Io(#[from] std::io::Error),
    /// Generating the data failed.
    #[error("cannot generate the data: {0}")]
    Generate(String),
}

/// Lets a handler close its own connection without answering (dropped-connection faults).
#[derive(Debug, Clone)]
struct ConnControl(Arc<Notify>);

/// A running simulator. Dropping it without [`Simulator::shutdown`] also stops the server.
#[derive(Debug)]
pub struct Simulator {
    state: SimState,
    addr: SocketAddr,
    base_url: String,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Simulator {
    /// A builder with the default configuration.
    pub fn builder() -> SimBuilder {
        SimBuilder::new()
    }

    pub(crate) async fn start(config: SimConfig) -> Result<Simulator, SimError> {
        let listen = config.listen;
        let gen_config = config.clone();
        let db = tokio::task::spawn_blocking(move || crate::data::generate::generate(&gen_config))
            .await
            .map_err(|e| SimError::Generate(e.to_string()))?;
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        let state = SimState::new(config, db);
        let _ = state.inner.base_url.set(base_url.clone());
        let app = crate::admin::router(state.clone());
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(serve(listener, app, rx));
        tracing::info!(%base_url, "magento-sim listening");
        Ok(Simulator {
            state,
            addr,
            base_url,
            shutdown: tx,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT` (append `/rest/<store>/V1/...`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The REST root of a store code, e.g. `http://127.0.0.1:PORT/rest/default/V1`
    /// (`None` for `/rest/V1`).
    pub fn rest_url(&self, store_code: Option<&str>) -> String {
        match store_code {
            Some(code) => format!("{}/rest/{code}/V1", self.base_url),
            None => format!("{}/rest/V1", self.base_url),
        }
    }

    /// The handle to the data, faults and counters.
    pub fn state(&self) -> &SimState {
        &self.state
    }

    /// Replaces the faults at run time.
    pub fn set_faults(&self, faults: Faults) {
        self.state.set_faults(faults);
    }

    /// Stops accepting, lets in-flight requests finish briefly, and closes every connection.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

async fn serve(listener: TcpListener, app: Router, mut stop: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of file descriptors or similar: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                conns.spawn(serve_conn(stream, app.clone(), stop.clone()));
            }
            _ = stop.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let drain = async { while conns.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
    conns.abort_all();
}

async fn serve_conn(stream: tokio::net::TcpStream, app: Router, mut stop: watch::Receiver<bool>) {
    let kill = Arc::new(Notify::new());
    let control = ConnControl(kill.clone());
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(control.clone());
        app.clone().oneshot(req)
    });
    let conn = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        // Dropping the connection future closes the socket without an answer.
        _ = kill.notified() => {}
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_millis(500), conn).await;
        }
    }
}

fn json_response(status: u16, body: String) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

fn error_response(e: &ApiError) -> Response<Body> {
    json_response(e.status, e.body())
}

fn report_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0x5EED);
    crate::data::rng::mix(N.fetch_add(1, Ordering::Relaxed)) >> 12
}

/// The `/rest` front controller (the axum fallback).
pub(crate) async fn rest(State(state): State<SimState>, req: Request) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let inner = &state.inner;
    let method = parts.method.as_str();
    let path = parts.uri.path();
    let resolved = routes::resolve(method, path, inner.config.version);
    let route_key = match &resolved {
        Resolved::Route { route, .. } => route.key(),
        Resolved::NoRoute => "unmatched",
    };
    let mut lose_answer = None;
    if let Some(decision) = inner.faults.decide(method, path) {
        if !decision.delay.is_zero() {
            tokio::time::sleep(decision.delay).await;
        }
        let control = parts.extensions.get::<ConnControl>().cloned();
        match decision.action {
            FaultAction::Pass => {}
            FaultAction::LoseAnswer => lose_answer = control,
            FaultAction::Error500 => {
                inner
                    .requests
                    .record(method, path, route_key, 500, Some("error_500"));
                return error_response(&ApiError::internal(report_id()));
            }
            FaultAction::Error503 { retry_after } => {
                inner
                    .requests
                    .record(method, path, route_key, 503, Some("error_503"));
                let mut r = error_response(&ApiError::service_unavailable());
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                return r;
            }
            FaultAction::RateLimited { retry_after } => {
                inner
                    .requests
                    .record(method, path, route_key, 429, Some("rate_limited"));
                let mut r = error_response(&ApiError::too_many_requests());
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                return r;
            }
            FaultAction::Hang(d) => {
                inner
                    .requests
                    .record(method, path, route_key, 0, Some("hang"));
                tokio::time::sleep(d).await;
                if let Some(c) = control {
                    c.0.notify_one();
                    std::future::pending::<()>().await;
                }
                return json_response(504, "{\"message\":\"Gateway Timeout\"}".into());
            }
            FaultAction::Drop => {
                inner
                    .requests
                    .record(method, path, route_key, 0, Some("drop"));
                if let Some(c) = control {
                    c.0.notify_one();
                    std::future::pending::<()>().await;
                }
                return json_response(502, "{\"message\":\"Bad Gateway\"}".into());
            }
        }
    }
    let Resolved::Route { route, store, segs } = resolved else {
        inner.requests.record(method, path, route_key, 404, None);
        return error_response(&ApiError::no_route());
    };
    let auth = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let mut result = routes::authorize(inner, route, auth);
    if result.is_ok() && store.id == 0 && method == "GET" {
        result = Err(ApiError::get_on_all());
    }
    let mut json_body = serde_json::Value::Null;
    if result.is_ok() && (method == "POST" || method == "PUT") {
        let ct = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        match axum::body::to_bytes(body, 64 << 20).await {
            Ok(bytes) => match routes::parse_body(ct, &bytes) {
                Ok(v) => json_body = v,
                Err(e) => result = Err(e),
            },
            Err(_) => result = Err(ApiError::new(400, "Decoding error.")),
        }
    }
    let outcome = match result {
        Err(e) => Err(e),
        Ok(()) => {
            let ctx = routes::make_ctx(inner, store, &segs, parts.uri.query(), json_body);
            // No request may take the server down: a bug becomes Magento's masked 500.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                routes::dispatch(route, &ctx)
            }))
            .unwrap_or_else(|_| Err(ApiError::internal(report_id())))
        }
    };
    if let Some(control) = lose_answer {
        let status = outcome.as_ref().map_or_else(|e| e.status, |_| 200);
        inner
            .requests
            .record(method, path, route_key, status, Some("lost_answer"));
        control.0.notify_one();
        std::future::pending::<()>().await;
    }
    match outcome {
        Ok(body) => {
            inner.requests.record(method, path, route_key, 200, None);
            json_response(200, body)
        }
        Err(e) => {
            inner
                .requests
                .record(method, path, route_key, e.status, None);
            error_response(&e)
        }
    }
}
