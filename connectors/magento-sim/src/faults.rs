//! Fault injection: latency, random 500/503, 429 with `Retry-After`, hanging requests and
//! dropped connections, applied to `/rest` requests only (never to the `/__sim` admin routes).
//!
//! Decisions come from a counter mixed with the seed, so a run with the same seed and the same
//! request order sees the same faults.

use crate::data::rng::mix;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The fault settings. Every probability is in `[0, 1]`; all zero means no fault.
///
/// It is also the JSON body of `GET/PUT /__sim/faults` (missing keys take their default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Latency added to every request, in milliseconds.
    pub latency_ms: u64,
    /// Extra random latency, uniformly in `0..=latency_jitter_ms`.
    pub latency_jitter_ms: u64,
    /// Probability of a 500 Magento "Internal Error" answer.
    pub error_500_rate: f64,
    /// Probability of a 503 answer.
    pub error_503_rate: f64,
    /// Probability of a 429 `Too Many Requests` answer.
    pub rate_limit_rate: f64,
    /// The `Retry-After` seconds sent with 429 (and 503).
    pub retry_after_secs: u64,
    /// Probability that a request hangs for `hang_ms` and then loses its connection.
    pub hang_rate: f64,
    /// How long a hanging request hangs, in milliseconds.
    pub hang_ms: u64,
    /// Probability that the connection is closed without any answer.
    pub drop_rate: f64,
    /// Probability that the request is carried out and the connection then closed before
    /// the answer: the client cannot tell whether a write happened (the case that makes
    /// naive retries create duplicates).
    pub lost_answer_rate: f64,
    /// The next `fail_next` matching requests fail with `fail_next_status` (deterministic
    /// failures for retry tests); it counts down.
    pub fail_next: u32,
    /// Status of `fail_next` failures: 429, 500, 503, or 0 for a dropped connection.
    pub fail_next_status: u16,
    /// Only requests whose path contains this string are affected.
    pub path_contains: Option<String>,
    /// Only requests with one of these methods (upper case) are affected.
    pub methods: Option<Vec<String>>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            latency_ms: 0,
            latency_jitter_ms: 0,
            error_500_rate: 0.0,
            error_503_rate: 0.0,
            rate_limit_rate: 0.0,
            retry_after_secs: 1,
            hang_rate: 0.0,
            hang_ms: 30_000,
            drop_rate: 0.0,
            lost_answer_rate: 0.0,
            fail_next: 0,
            fail_next_status: 503,
            path_contains: None,
            methods: None,
        }
    }
}

impl Faults {
    /// No fault at all.
    pub fn none() -> Self {
        Self::default()
    }

    /// Adds a fixed latency.
    pub fn with_latency(mut self, ms: u64) -> Self {
        self.latency_ms = ms;
        self
    }

    /// Sets the probability of a 500.
    pub fn with_error_500_rate(mut self, p: f64) -> Self {
        self.error_500_rate = p;
        self
    }

    /// Sets the probability of a 503.
    pub fn with_error_503_rate(mut self, p: f64) -> Self {
        self.error_503_rate = p;
        self
    }

    /// Sets the probability of a 429 and its `Retry-After`.
    pub fn with_rate_limit(mut self, p: f64, retry_after_secs: u64) -> Self {
        self.rate_limit_rate = p;
        self.retry_after_secs = retry_after_secs;
        self
    }

    /// Sets the probability and duration of hanging requests.
    pub fn with_hang(mut self, p: f64, hang_ms: u64) -> Self {
        self.hang_rate = p;
        self.hang_ms = hang_ms;
        self
    }

    /// Sets the probability of dropped connections.
    pub fn with_drop_rate(mut self, p: f64) -> Self {
        self.drop_rate = p;
        self
    }

    /// Makes the next `n` matching requests fail with `status` (0 drops the connection).
    pub fn fail_next(mut self, n: u32, status: u16) -> Self {
        self.fail_next = n;
        self.fail_next_status = status;
        self
    }

    /// Restricts the faults to paths containing `s`.
    pub fn on_paths_containing(mut self, s: impl Into<String>) -> Self {
        self.path_contains = Some(s.into());
        self
    }

    /// Whether any fault can fire.
    pub fn is_active(&self) -> bool {
        self.latency_ms > 0
            || self.latency_jitter_ms > 0
            || self.error_500_rate > 0.0
            || self.error_503_rate > 0.0
            || self.rate_limit_rate > 0.0
            || self.hang_rate > 0.0
            || self.drop_rate > 0.0
            || self.lost_answer_rate > 0.0
            || self.fail_next > 0
    }

    /// Checks the ranges; the message is for the admin endpoint's 400 answer.
    pub fn validate(&self) -> Result<(), String> {
        for (name, p) in [
            ("error_500_rate", self.error_500_rate),
            ("error_503_rate", self.error_503_rate),
            ("rate_limit_rate", self.rate_limit_rate),
            ("hang_rate", self.hang_rate),
            ("drop_rate", self.drop_rate),
            ("lost_answer_rate", self.lost_answer_rate),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name} must be between 0 and 1"));
            }
        }
        if !matches!(self.fail_next_status, 0 | 429 | 500 | 503) {
            return Err("fail_next_status must be 0, 429, 500 or 503".to_string());
        }
        Ok(())
    }
}

/// What to do to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Serve normally.
    Pass,
    /// Answer 500 with Magento's masked internal error.
    Error500,
    /// Answer 503.
    Error503 {
        /// `Retry-After` seconds.
        retry_after: u64,
    },
    /// Answer 429 with `Retry-After`.
    RateLimited {
        /// `Retry-After` seconds.
        retry_after: u64,
    },
    /// Hang this long, then drop the connection.
    Hang(Duration),
    /// Close the connection without an answer.
    Drop,
    /// Carry the request out, then close the connection without an answer.
    LoseAnswer,
}

/// The decision for one request: a delay first, then an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultDecision {
    /// Added latency.
    pub delay: Duration,
    /// The action after the delay.
    pub action: FaultAction,
}

/// The live fault settings of a running simulator.
#[derive(Debug)]
pub struct FaultState {
    active: AtomicBool,
    faults: Mutex<Faults>,
    counter: AtomicU64,
    seed: u64,
}

impl FaultState {
    /// Holds `faults`, deciding with `seed`.
    pub fn new(faults: Faults, seed: u64) -> Self {
        FaultState {
            active: AtomicBool::new(faults.is_active()),
            faults: Mutex::new(faults),
            counter: AtomicU64::new(0),
            seed,
        }
    }

    /// The current settings.
    pub fn get(&self) -> Faults {
        self.faults.lock().map(|f| f.clone()).unwrap_or_default()
    }

    /// Replaces the settings.
    pub fn set(&self, faults: Faults) {
        if let Ok(mut f) = self.faults.lock() {
            self.active.store(faults.is_active(), Ordering::Release);
            *f = faults;
        }
    }

    /// Decides the fate of one `/rest` request.
    pub fn decide(&self, method: &str, path: &str) -> Option<FaultDecision> {
        // Fast path: no lock at all while no fault is configured (the benchmark case).
        if !self.active.load(Ordering::Acquire) {
            return None;
        }
        let mut f = self.faults.lock().ok()?;
        if let Some(p) = &f.path_contains
            && !path.contains(p.as_str())
        {
            return None;
        }
        if let Some(ms) = &f.methods
            && !ms.iter().any(|m| m.eq_ignore_ascii_case(method))
        {
            return None;
        }
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut r = mix(self.seed ^ mix(n.wrapping_add(1)));
        let mut unit = || {
            r = mix(r);
            (r >> 11) as f64 / (1u64 << 53) as f64
        };
        let jitter = if f.latency_jitter_ms > 0 {
            (unit() * (f.latency_jitter_ms + 1) as f64) as u64
        } else {
            0
        };
        let delay = Duration::from_millis(f.latency_ms + jitter);
        let retry_after = f.retry_after_secs;
        let action = if f.fail_next > 0 {
            f.fail_next -= 1;
            if f.fail_next == 0 && !f.is_active() {
                self.active.store(false, Ordering::Release);
            }
            match f.fail_next_status {
                0 => FaultAction::Drop,
                429 => FaultAction::RateLimited { retry_after },
                500 => FaultAction::Error500,
                _ => FaultAction::Error503 { retry_after },
            }
        } else {
            let x = unit();
            let mut acc = f.drop_rate;
            if x < acc {
                FaultAction::Drop
            } else if x < {
                acc += f.hang_rate;
                acc
            } {
                FaultAction::Hang(Duration::from_millis(f.hang_ms))
            } else if x < {
                acc += f.rate_limit_rate;
                acc
            } {
                FaultAction::RateLimited { retry_after }
            } else if x < {
                acc += f.error_503_rate;
                acc
            } {
                FaultAction::Error503 { retry_after }
            } else if x < {
                acc += f.error_500_rate;
                acc
            } {
                FaultAction::Error500
            } else if x < acc + f.lost_answer_rate {
                FaultAction::LoseAnswer
            } else {
                FaultAction::Pass
            }
        };
        Some(FaultDecision { delay, action })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_next_counts_down_then_passes() {
        let s = FaultState::new(Faults::none().fail_next(2, 429), 1);
        assert_eq!(
            s.decide("GET", "/rest/V1/x").map(|d| d.action),
            Some(FaultAction::RateLimited { retry_after: 1 })
        );
        assert!(s.decide("GET", "/rest/V1/x").is_some());
        assert_eq!(s.decide("GET", "/rest/V1/x"), None);
    }

    #[test]
    fn rates_are_roughly_respected() {
        let s = FaultState::new(Faults::none().with_error_500_rate(0.3), 9);
        let n = (0..10_000)
            .filter(|_| s.decide("GET", "/x").map(|d| d.action) == Some(FaultAction::Error500))
            .count();
        assert!((2_500..3_500).contains(&n), "{n}");
    }
}
