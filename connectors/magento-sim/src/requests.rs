//! Request counters and a bounded request log, so connector tests can assert things like
//! "the customer was created exactly once".

use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// One logged `/rest` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    /// Milliseconds since the Unix epoch when the request arrived.
    pub at_ms: u64,
    /// HTTP method.
    pub method: String,
    /// Path (without the query string).
    pub path: String,
    /// The matched route, e.g. `POST /V1/customers`, or `unmatched`.
    pub route: String,
    /// The answered status; 0 when the connection was dropped or hung by a fault.
    pub status: u16,
    /// The injected fault, if any: `error_500`, `error_503`, `rate_limited`, `hang`, `drop`.
    pub fault: Option<String>,
}

#[derive(Debug, Default)]
struct Inner {
    total: u64,
    by_route: BTreeMap<String, u64>,
    faults: BTreeMap<String, u64>,
    log: VecDeque<RequestRecord>,
}

/// Counters per route and the most recent requests.
#[derive(Debug)]
pub struct RequestLog {
    inner: Mutex<Inner>,
    capacity: usize,
}

/// A snapshot of the counters (the body of `GET /__sim/requests`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct RequestStats {
    /// All `/rest` requests received.
    pub total: u64,
    /// Requests the simulator served (not swallowed by a fault), per route.
    pub by_route: BTreeMap<String, u64>,
    /// Injected faults per kind.
    pub faults: BTreeMap<String, u64>,
    /// The most recent requests, oldest first.
    pub log: Vec<RequestRecord>,
}

impl RequestLog {
    /// A log keeping the last `capacity` requests.
    pub fn new(capacity: usize) -> Self {
        RequestLog {
            inner: Mutex::new(Inner::default()),
            capacity,
        }
    }

    /// Records one request.
    pub fn record(&self, method: &str, path: &str, route: &str, status: u16, fault: Option<&str>) {
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let Ok(mut g) = self.inner.lock() else { return };
        g.total += 1;
        match fault {
            Some(f) => *g.faults.entry(f.to_string()).or_insert(0) += 1,
            None => {
                if let Some(c) = g.by_route.get_mut(route) {
                    *c += 1;
                } else {
                    g.by_route.insert(route.to_string(), 1);
                }
            }
        }
        if self.capacity > 0 {
            if g.log.len() >= self.capacity {
                g.log.pop_front();
            }
            g.log.push_back(RequestRecord {
                at_ms,
                method: method.to_string(),
                path: path.to_string(),
                route: route.to_string(),
                status,
                fault: fault.map(str::to_string),
            });
        }
    }

    /// The served count of one route key (e.g. `POST /V1/customers`).
    pub fn count(&self, route: &str) -> u64 {
        self.inner
            .lock()
            .map(|g| g.by_route.get(route).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// A snapshot of everything.
    pub fn stats(&self) -> RequestStats {
        self.inner
            .lock()
            .map(|g| RequestStats {
                total: g.total,
                by_route: g.by_route.clone(),
                faults: g.faults.clone(),
                log: g.log.iter().cloned().collect(),
            })
            .unwrap_or_default()
    }

    /// Clears counters and log.
    pub fn reset(&self) {
        if let Ok(mut g) = self.inner.lock() {
            *g = Inner::default();
        }
    }
}
