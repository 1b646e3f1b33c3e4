//! Shared helpers of the integration tests: a tiny HTTP client over hyper and simulator setup.
#![allow(dead_code)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderMap;
use magento_sim::{ApiVersion, Simulator};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// The fixed integration token of the test simulators.
pub const TOKEN: &str = "test-token";

/// An HTTP answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    /// The body as JSON (panics with the body when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

/// Starts a simulator with the test token and small data.
pub async fn sim(version: ApiVersion) -> Simulator {
    Simulator::builder()
        .seed(42)
        .customers(60)
        .products(60)
        .orders(120)
        .version(version)
        .token(TOKEN)
        .admin_credentials("admin", "admin123")
        .start()
        .await
        .expect("simulator starts")
}

/// Sends one request on a fresh connection; `Err` when the connection fails or closes early.
pub async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> Result<Resp, String> {
    let rest = url.strip_prefix("http://").ok_or("http only")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let stream = tokio::net::TcpStream::connect(host)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", host);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| e.to_string())?;
    let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(Resp {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// An authorized GET.
pub async fn get(url: &str) -> Resp {
    send(
        "GET",
        url,
        &[("authorization", &format!("Bearer {TOKEN}"))],
        None,
    )
    .await
    .expect("request succeeds")
}

/// An authorized request with a JSON body.
pub async fn call(method: &str, url: &str, body: Value) -> Resp {
    send(
        method,
        url,
        &[
            ("authorization", &format!("Bearer {TOKEN}")),
            ("content-type", "application/json"),
        ],
        Some(body.to_string()),
    )
    .await
    .expect("request succeeds")
}

/// A GET with a timeout; `Err` on connection failure or timeout.
pub async fn get_timeout(url: &str, t: Duration) -> Result<Resp, String> {
    match tokio::time::timeout(
        t,
        send(
            "GET",
            url,
            &[("authorization", &format!("Bearer {TOKEN}"))],
            None,
        ),
    )
    .await
    {
        Ok(r) => r,
        Err(_) => Err("timeout".into()),
    }
}

/// Where the official schemas live, relative to the workspace root.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/magento"
    ))
}

/// Loads a fixture schema; `None` (after a visible SKIPPED message) when absent outside CI.
pub fn load_schema(name: &str) -> Option<Value> {
    let path = fixtures_dir().join(name);
    match std::fs::read_to_string(&path) {
        Ok(s) => Some(serde_json::from_str(&s).expect("the schema fixture is JSON")),
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("schema fixture {} is missing in CI: {e}", path.display());
            }
            eprintln!("SKIPPED: schema fixture {} not found ({e})", path.display());
            None
        }
    }
}

/// `searchCriteria` query builder: `sc(&[(group, field, value, condition)], extra)`.
pub fn sc(filters: &[(usize, &str, &str, Option<&str>)], extra: &str) -> String {
    let mut q = String::new();
    let mut per_group = std::collections::HashMap::<usize, usize>::new();
    for (g, field, value, cond) in filters {
        let i = per_group.entry(*g).or_insert(0);
        let base = format!("searchCriteria[filter_groups][{g}][filters][{i}]");
        q.push_str(&format!(
            "&{base}[field]={field}&{base}[value]={}",
            enc(value)
        ));
        if let Some(c) = cond {
            q.push_str(&format!("&{base}[condition_type]={c}"));
        }
        *i += 1;
    }
    q.push_str(extra);
    if q.is_empty() {
        "searchCriteria=".to_string()
    } else {
        q.trim_start_matches('&').to_string()
    }
}

/// Percent-encodes a query value.
pub fn enc(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b',' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
