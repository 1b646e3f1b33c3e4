//! Channels: a tree of capacities, configured by a string.
//!
//! `root:4,root.magento:2,root.magento.orders:1:sequential,root.slow:1:throttle=2` declares
//! four channels. A job runs in one channel and needs a free slot in that channel **and in
//! every ancestor**, so the effective concurrency of a channel is the smallest capacity on
//! its path to `root`. A job whose channel is not configured runs under its nearest
//! configured ancestor. Capacities are global: they count the jobs running on every worker
//! process sharing the database, not only this one.
//!
//! Options per channel (queue_job's grammar, plus two):
//! - `sequential`: one job at a time, in order; a failed job stops the channel until it is
//!   requeued, set done or cancelled (requires capacity 1);
//! - `throttle=<seconds>`: at most one start per this many seconds;
//! - `retention=<days>`: how long done and cancelled jobs are kept before a purge (default 30;
//!   `0` deletes a done job as soon as it is stored, unless another job depends on it);
//! - `timeout=<seconds>`: the timeout of jobs that do not set their own.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::error::SyncError;

/// The options a channel entry accepts after its capacity.
const OPTIONS: [&str; 4] = [
    "sequential",
    "throttle=<seconds>",
    "retention=<days>",
    "timeout=<seconds>",
];

/// The root of every channel tree.
pub const ROOT: &str = "root";

/// How long done and cancelled jobs are kept by default (queue_job's `removal_interval`).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// The configuration of one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSpec {
    /// The full dotted name, starting with `root`.
    pub name: String,
    /// How many jobs may run at once in this channel's subtree; `None` is unbounded.
    pub capacity: Option<u32>,
    /// One job at a time, in order, stopped by a failed job.
    pub sequential: bool,
    /// The minimum spacing between two starts.
    pub throttle: Option<Duration>,
    /// How long done and cancelled jobs are kept.
    pub retention: Option<Duration>,
    /// The default timeout of the channel's jobs.
    pub timeout: Option<Duration>,
}

impl ChannelSpec {
    fn unbounded(name: &str) -> Self {
        ChannelSpec {
            name: name.to_owned(),
            capacity: None,
            sequential: false,
            throttle: None,
            retention: None,
            timeout: None,
        }
    }
}

/// A parsed channel tree.
///
/// ```
/// use sync_core::queue::ChannelConfig;
///
/// let config: ChannelConfig =
///     "root:4,root.magento:2,root.magento.orders:1:sequential,root.slow:1:throttle=2".parse()?;
/// // An unknown channel falls back to its nearest configured ancestor.
/// assert_eq!(config.resolve("root.magento.products").name, "root.magento");
/// assert_eq!(config.path("root.magento.orders.x"), vec![
///     "root.magento.orders".to_string(), "root.magento".into(), "root".into(),
/// ]);
/// # Ok::<(), sync_core::SyncError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelConfig {
    channels: BTreeMap<String, ChannelSpec>,
}

impl Default for ChannelConfig {
    /// A single unbounded `root`: each worker is bounded by its own concurrency only.
    fn default() -> Self {
        let mut channels = BTreeMap::new();
        channels.insert(ROOT.to_owned(), ChannelSpec::unbounded(ROOT));
        ChannelConfig { channels }
    }
}

/// The full name of a channel: `magento` and `root.magento` are the same channel.
pub fn normalize_channel(name: &str) -> String {
    let name = name.trim().trim_matches('.');
    if name.is_empty() || name == ROOT {
        ROOT.to_owned()
    } else if name.starts_with("root.") {
        name.to_owned()
    } else {
        format!("root.{name}")
    }
}

impl ChannelConfig {
    /// The spec of a configured channel.
    pub fn get(&self, name: &str) -> Option<&ChannelSpec> {
        self.channels.get(&normalize_channel(name))
    }

    /// Every configured channel, by name.
    pub fn iter(&self) -> impl Iterator<Item = &ChannelSpec> {
        self.channels.values()
    }

    /// The configured channel a job of channel `name` runs under: itself when configured,
    /// else its nearest configured ancestor (at worst `root`).
    pub fn resolve(&self, name: &str) -> &ChannelSpec {
        let mut name = normalize_channel(name);
        loop {
            if let Some(spec) = self.channels.get(&name) {
                return spec;
            }
            match name.rfind('.') {
                Some(dot) => name.truncate(dot),
                None => break,
            }
        }
        // `root` is always configured (the parser adds it), so this is only reached for a
        // config built by hand without it: treat it as unbounded.
        self.channels
            .get(ROOT)
            .unwrap_or_else(|| unreachable_root())
    }

    /// The configured channels a job of channel `name` needs capacity in, from its own
    /// (resolved) channel up to `root`.
    pub fn path(&self, name: &str) -> Vec<String> {
        let mut path = Vec::new();
        let mut current = self.resolve(name).name.clone();
        loop {
            if self.channels.contains_key(&current) {
                path.push(current.clone());
            }
            match current.rfind('.') {
                Some(dot) => current.truncate(dot),
                None => break,
            }
        }
        path
    }

    /// Whether no channel limits anything: claims can then skip the capacity bookkeeping.
    pub fn is_unconstrained(&self) -> bool {
        self.channels
            .values()
            .all(|c| c.capacity.is_none() && !c.sequential && c.throttle.is_none())
    }

    /// The retention of done and cancelled jobs of channel `name`.
    pub fn retention(&self, name: &str) -> Duration {
        self.inherited(name, |c| c.retention)
            .unwrap_or(DEFAULT_RETENTION)
    }

    /// The default timeout of jobs of channel `name`, if a channel on its path sets one.
    pub fn timeout(&self, name: &str) -> Option<Duration> {
        self.inherited(name, |c| c.timeout)
    }

    fn inherited<T>(&self, name: &str, get: impl Fn(&ChannelSpec) -> Option<T>) -> Option<T> {
        self.path(name)
            .iter()
            .filter_map(|n| self.channels.get(n))
            .find_map(get)
    }
}

fn unreachable_root() -> &'static ChannelSpec {
    static ROOT_SPEC: std::sync::OnceLock<ChannelSpec> = std::sync::OnceLock::new();
    ROOT_SPEC.get_or_init(|| ChannelSpec::unbounded(ROOT))
}

impl FromStr for ChannelConfig {
    type Err = SyncError;

    /// Parses `name(:capacity(:key(=value)?)*)?` entries separated by commas or newlines.
    /// Omitting the capacity means 1; `*` means unbounded; `sub:2` is `root.sub:2`. An
    /// entry without a name (`:4`), with an empty capacity (`root:`) or with an unknown
    /// option is an error naming the entry.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |entry: &str, why: String| {
            SyncError::Failed(format!("invalid channel configuration `{entry}`: {why}"))
        };
        let mut config = ChannelConfig::default();
        let mut root_configured = false;
        for entry in s
            .split([',', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let mut parts = entry.split(':').map(str::trim);
            // `:4` would otherwise normalize to `root`: a missing name is a typo, not root.
            let raw_name = parts.next().unwrap_or_default();
            if raw_name.is_empty() {
                return Err(bad(entry, "the channel name is missing".into()));
            }
            let name = normalize_channel(raw_name);
            if name.split('.').any(str::is_empty) {
                return Err(bad(entry, "empty channel name segment".into()));
            }
            let mut spec = ChannelSpec::unbounded(&name);
            spec.capacity = match parts.next() {
                None => Some(1),
                Some("") => {
                    return Err(bad(
                        entry,
                        "the capacity after `:` is empty: give a number, or `*` for unbounded"
                            .into(),
                    ));
                }
                Some("*") => None,
                Some(n) => Some(
                    n.parse()
                        .map_err(|_| bad(entry, format!("capacity `{n}` is not a number")))?,
                ),
            };
            let mut seen = Vec::new();
            for option in parts {
                let (key, value) = match option.split_once('=') {
                    Some((k, v)) => (k.trim(), Some(v.trim())),
                    None => (option, None),
                };
                if seen.contains(&key) {
                    return Err(bad(entry, format!("duplicate key `{key}`")));
                }
                seen.push(key);
                let seconds = |v: Option<&str>| -> Result<Duration, SyncError> {
                    let v = v.ok_or_else(|| bad(entry, format!("`{key}` needs a value")))?;
                    let secs: f64 = v
                        .parse()
                        .map_err(|_| bad(entry, format!("`{key}={v}` is not a number")))?;
                    if !(secs.is_finite() && secs >= 0.0) {
                        return Err(bad(entry, format!("`{key}={v}` must be positive")));
                    }
                    Ok(Duration::from_secs_f64(secs))
                };
                match key {
                    "sequential" => spec.sequential = true,
                    "throttle" => spec.throttle = Some(seconds(value)?),
                    "timeout" => spec.timeout = Some(seconds(value)?),
                    "retention" => spec.retention = Some(seconds(value)? * 86_400),
                    other => {
                        return Err(bad(
                            entry,
                            format!(
                                "unknown option `{other}`: expected one of {}",
                                OPTIONS.join(", ")
                            ),
                        ));
                    }
                }
            }
            if spec.sequential && spec.capacity != Some(1) {
                return Err(bad(entry, "a sequential channel needs capacity 1".into()));
            }
            if name == ROOT {
                if root_configured {
                    return Err(bad(entry, "root is configured twice".into()));
                }
                root_configured = true;
            } else if config.channels.contains_key(&name) {
                return Err(bad(entry, format!("channel `{name}` is configured twice")));
            }
            config.channels.insert(name, spec);
        }
        Ok(config)
    }
}

impl fmt::Display for ChannelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for spec in self.channels.values() {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            match spec.capacity {
                Some(n) => write!(f, "{}:{n}", spec.name)?,
                None => write!(f, "{}:*", spec.name)?,
            }
            if spec.sequential {
                f.write_str(":sequential")?;
            }
            if let Some(t) = spec.throttle {
                write!(f, ":throttle={}", t.as_secs_f64())?;
            }
            if let Some(t) = spec.timeout {
                write!(f, ":timeout={}", t.as_secs_f64())?;
            }
            if let Some(t) = spec.retention {
                write!(f, ":retention={}", t.as_secs_f64() / 86_400.0)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let c: ChannelConfig =
            "root:4,root.magento:2,root.magento.orders:1:sequential,root.slow:1:throttle=2"
                .parse()
                .unwrap();
        assert_eq!(c.get("root").unwrap().capacity, Some(4));
        assert!(c.get("magento.orders").unwrap().sequential);
        assert_eq!(
            c.get("root.slow").unwrap().throttle,
            Some(Duration::from_secs(2))
        );
        assert_eq!(c.resolve("root.unknown.deep").name, "root");
        assert_eq!(
            c.path("root.magento.orders"),
            ["root.magento.orders", "root.magento", "root"]
        );
        assert!(!c.is_unconstrained());
        assert!(ChannelConfig::default().is_unconstrained());
        let again: ChannelConfig = c.to_string().parse().unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn rejects_bad_entries() {
        assert!("root:x".parse::<ChannelConfig>().is_err());
        assert!("a:2:sequential".parse::<ChannelConfig>().is_err());
        assert!("a:1:throttle".parse::<ChannelConfig>().is_err());
        assert!(
            "a:1:sequential:sequential"
                .parse::<ChannelConfig>()
                .is_err()
        );
        assert!("a:1:colour=red".parse::<ChannelConfig>().is_err());
    }

    fn error_of(config: &str) -> String {
        match config.parse::<ChannelConfig>() {
            Ok(parsed) => panic!("`{config}` was accepted as {parsed}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn an_entry_without_a_name_is_refused() {
        let message = error_of("root:8,:4");
        assert!(message.contains("`:4`"), "{message}");
        assert!(message.contains("name is missing"), "{message}");
    }

    #[test]
    fn an_empty_capacity_is_refused() {
        let message = error_of("root:");
        assert!(message.contains("`root:`"), "{message}");
        assert!(message.contains("capacity"), "{message}");
        // Without the colon, the capacity is 1 (queue_job's rule).
        let c: ChannelConfig = "root,root.a".parse().unwrap();
        assert_eq!(c.get("root.a").unwrap().capacity, Some(1));
    }

    #[test]
    fn an_unknown_option_lists_the_valid_ones() {
        let message = error_of("root.a:1:colour=red");
        assert!(message.contains("`root.a:1:colour=red`"), "{message}");
        for option in ["sequential", "throttle", "retention", "timeout"] {
            assert!(message.contains(option), "{message}");
        }
    }

    #[test]
    fn retention_and_timeout_inherit() {
        let c: ChannelConfig = "root:*:retention=7,root.a:2:timeout=3".parse().unwrap();
        assert_eq!(c.retention("root.a.b"), Duration::from_secs(7 * 86_400));
        assert_eq!(c.timeout("root.a.b"), Some(Duration::from_secs(3)));
        assert_eq!(c.timeout("root.b"), None);
        assert_eq!(ChannelConfig::default().retention("x"), DEFAULT_RETENTION);
    }
}
