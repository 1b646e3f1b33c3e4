//! Retry patterns: how long to wait before the next try.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::SyncError;

/// The delay used when neither the error nor a pattern gives one (queue_job's 10 minutes).
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(600);

/// One step of a [`RetryPattern`]: a fixed number of seconds or a random range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RetryDelay {
    /// Wait exactly this many seconds.
    Fixed(u64),
    /// Wait a random number of seconds in `[min, max]`, to spread a thundering herd.
    Range(u64, u64),
}

/// `{tries → delay}`: after `n` counted tries, wait the delay of the greatest key `≤ n`.
///
/// ```
/// use std::time::Duration;
/// use sync_core::queue::RetryPattern;
///
/// let pattern: RetryPattern = "1:10,5:20,10:30-60".parse()?;
/// assert_eq!(pattern.delay_after(1), Some(Duration::from_secs(10)));
/// assert_eq!(pattern.delay_after(7), Some(Duration::from_secs(20)));
/// let d = pattern.delay_after(12).unwrap().as_secs();
/// assert!((30..=60).contains(&d));
/// # Ok::<(), sync_core::SyncError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RetryPattern {
    steps: BTreeMap<u32, RetryDelay>,
}

impl RetryPattern {
    /// An empty pattern (the error's delay, else [`DEFAULT_RETRY_DELAY`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a step: from `tries` counted tries on, wait `delay`.
    pub fn step(mut self, tries: u32, delay: RetryDelay) -> Self {
        self.steps.insert(tries, delay);
        self
    }

    /// Whether the pattern has no step.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The delay after `tries` counted tries, if a step applies.
    pub fn delay_after(&self, tries: u32) -> Option<Duration> {
        let (_, delay) = self.steps.range(..=tries).next_back()?;
        let seconds = match *delay {
            RetryDelay::Fixed(s) => s,
            RetryDelay::Range(min, max) => {
                let (lo, hi) = if min <= max { (min, max) } else { (max, min) };
                lo + rand::random_range(0..=hi - lo)
            }
        };
        Some(Duration::from_secs(seconds))
    }

    /// The delay before the next try: the error's own delay wins, then the pattern, then
    /// [`DEFAULT_RETRY_DELAY`].
    pub fn next_delay(&self, explicit: Option<Duration>, tries: u32) -> Duration {
        explicit
            .or_else(|| self.delay_after(tries))
            .unwrap_or(DEFAULT_RETRY_DELAY)
    }
}

impl FromStr for RetryPattern {
    type Err = SyncError;

    /// Parses `tries:seconds` or `tries:min-max` steps separated by commas.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |part: &str, why: &str| {
            SyncError::Failed(format!("invalid retry pattern step `{part}`: {why}"))
        };
        let mut pattern = RetryPattern::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (tries, delay) = part
                .split_once(':')
                .ok_or_else(|| bad(part, "expected tries:seconds"))?;
            let tries: u32 = tries
                .trim()
                .parse()
                .map_err(|_| bad(part, "tries is not a number"))?;
            let delay = match delay.split_once('-') {
                Some((min, max)) => RetryDelay::Range(
                    min.trim().parse().map_err(|_| bad(part, "bad minimum"))?,
                    max.trim().parse().map_err(|_| bad(part, "bad maximum"))?,
                ),
                None => RetryDelay::Fixed(
                    delay
                        .trim()
                        .parse()
                        .map_err(|_| bad(part, "seconds is not a number"))?,
                ),
            };
            pattern.steps.insert(tries, delay);
        }
        Ok(pattern)
    }
}

impl fmt::Display for RetryPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (tries, delay) in &self.steps {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            match delay {
                RetryDelay::Fixed(s) => write!(f, "{tries}:{s}")?,
                RetryDelay::Range(a, b) => write!(f, "{tries}:{a}-{b}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greatest_key_at_most_tries_applies() {
        let p: RetryPattern = "1:10, 5:20".parse().unwrap();
        assert_eq!(p.delay_after(0), None);
        assert_eq!(p.delay_after(4), Some(Duration::from_secs(10)));
        assert_eq!(p.delay_after(5), Some(Duration::from_secs(20)));
        assert_eq!(
            p.next_delay(Some(Duration::from_secs(3)), 5),
            Duration::from_secs(3)
        );
        assert_eq!(RetryPattern::new().next_delay(None, 1), DEFAULT_RETRY_DELAY);
    }

    #[test]
    fn json_round_trip() {
        let p = RetryPattern::new()
            .step(1, RetryDelay::Fixed(10))
            .step(3, RetryDelay::Range(5, 9));
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, r#"{"1":10,"3":[5,9]}"#);
        assert_eq!(serde_json::from_str::<RetryPattern>(&json).unwrap(), p);
        assert_eq!(p.to_string(), "1:10,3:5-9");
    }

    #[test]
    fn bad_steps_are_errors() {
        assert!("x:1".parse::<RetryPattern>().is_err());
        assert!("1".parse::<RetryPattern>().is_err());
    }
}
