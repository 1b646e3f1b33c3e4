//! What a trial found: records lost, records duplicated, jobs stuck — each named by ids only.

use serde::Serialize;

/// The defects one or more trials found; every entry names ids, never personal data.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Findings {
    /// A remote record without its binding or local record, a change that did not reach the
    /// other side.
    pub lost: Vec<String>,
    /// A record present twice on one side.
    pub duplicated: Vec<String>,
    /// A job not done after the drain (with its error), a reverse-sync request left over.
    pub stuck: Vec<String>,
}

impl Findings {
    /// Whether nothing was found.
    pub fn is_clean(&self) -> bool {
        self.lost.is_empty() && self.duplicated.is_empty() && self.stuck.is_empty()
    }

    /// Adds `other`'s entries, each prefixed with `label` (e.g. the trial).
    pub fn absorb(&mut self, label: &str, other: Findings) {
        let tag = |list: Vec<String>| list.into_iter().map(move |e| format!("{label}: {e}"));
        self.lost.extend(tag(other.lost));
        self.duplicated.extend(tag(other.duplicated));
        self.stuck.extend(tag(other.stuck));
    }
}

/// An error message without e-mail addresses (the only personal data the messages of this
/// flow can carry), cut to its first line.
pub fn redact(message: &str) -> String {
    let first = message.lines().next().unwrap_or_default();
    first
        .split(' ')
        .map(|word| if word.contains('@') { "<e-mail>" } else { word })
        .collect::<Vec<_>>()
        .join(" ")
}
